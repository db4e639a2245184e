"""picket.cli."""
