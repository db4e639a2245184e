"""picket.track."""
