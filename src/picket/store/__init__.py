"""picket.store."""
