"""Tracking quality metrics."""

from picket.metrics.ospa import Gospa, gospa, optimal_pairs, ospa

__all__ = ["Gospa", "gospa", "optimal_pairs", "ospa"]
