"""picket.pipeline."""
