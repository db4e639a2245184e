"""picket.geo."""
