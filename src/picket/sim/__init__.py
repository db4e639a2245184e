"""picket.sim."""
