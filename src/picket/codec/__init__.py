"""picket.codec."""
