"""picket.serve."""
