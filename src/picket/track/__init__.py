"""Kinematic multi-target tracking of anonymous plots (radar, drone detectors)."""

from picket.track.config import SensorModel, TrackerConfig
from picket.track.core import CartesianTracker
from picket.track.tracker import PlotTracker

__all__ = ["CartesianTracker", "PlotTracker", "SensorModel", "TrackerConfig"]
