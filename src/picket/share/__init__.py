"""picket.share: the picture on partners' tools (CoT/TAK, KML/KMZ, GeoJSON, webhooks)."""
