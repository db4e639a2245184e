"""picket.detect: the detectors, one module each, listed once in `detect/registry.py`.

A detector reads a `BatchContext` (`ctx.world` holds zones, lines, airports, harbours and
the per-domain clock) and returns `Signal`s; `registry.specs()` gives every detector's
kind, thresholds, description and stage. Importing this package loads no detector.
"""
