"""picket.fusion."""
