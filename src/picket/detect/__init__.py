"""picket.detect."""
