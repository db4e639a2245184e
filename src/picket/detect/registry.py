"""Every detector, once: its kind, thresholds, description, stage and place in the pipeline.

`config.DETECTORS`, `model.alerts.KINDS`, `picket config` and `/api/kinds` are all read
from here, so a new detector is one module in `detect/` that registers itself:

    @register("air.thing", description="what an analyst reads", thresholds=ThingThresholds)
    class Thing: ...

The detectors written before the registry are listed in `BUILTIN` below (their files
are not touched): the thresholds class comes from the `th` argument of `__init__`, the
stage from the class's `stage` attribute ("area": needs neighbours or all traffic;
otherwise "subject"). Modules in `picket.detect` are imported on first use, never when
`config` or `model.alerts` is imported, so the CLI starts without them.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# modules of picket.detect that hold no detector
# (air_loiter_kernels: numba, ~110 MB of RSS, loaded by air.loitering on first use only)
HELPERS = frozenset({"base", "registry", "sustained", "air_loiter_kernels", "sustain_kernels"})


@dataclass(frozen=True)
class DetectorSpec:
    """One detector as config, the CLI, the API and the picture see it.

    kind: the alert kind it raises (or its config name where it raises none).
    cls: the class the pipeline makes, `cls(th)` (or `cls.from_config(cfg, th)`).
    thresholds: its `Thresholds` dataclass, None where it has no settings.
    description: one line for analysts; None where it raises no alerts of its own.
    stage: "subject" (one track at a time) or "area" (neighbours or all traffic).
    in_pipeline: built by `config.build_detectors`; False where another driver runs it
        (`picket space` screens conjunctions), so only its kind is listed.
    order: place among the pipeline's detectors (lower first).
    behaviour: an open alert of this kind makes its track suspect (picture, CoT).
    """

    kind: str
    cls: type
    thresholds: type | None
    description: str | None
    stage: str = "subject"
    in_pipeline: bool = True
    order: int = 1000
    behaviour: bool = False


# The detectors that predate the registry, in pipeline order (module, class, kind,
# description). Harbours first: the maritime rules ask it about the same batch.
# `behaviour`: an open alert of the kind makes its track suspect on the picture and in CoT
# (distress, safety and area alerts do not); `in_pipeline` False: run by another driver.
@dataclass(frozen=True)
class Builtin:
    module: str
    cls: str
    kind: str
    description: str | None
    behaviour: bool = False
    in_pipeline: bool = True


BUILTIN: tuple[Builtin, ...] = (
    Builtin("harbours", "HarbourLearning", "maritime.harbours", None),
    Builtin("maritime_motion", "Loitering", "maritime.loitering",
            "vessel lingering at low speed away from port", behaviour=True),
    Builtin("maritime_motion", "Drift", "maritime.drift",
            "vessel drifting: course and heading disagree at low speed, or NUC"),
    Builtin("maritime_motion", "AnchorDrag", "maritime.anchor_drag",
            "at anchor yet moving, or crawling along a protected line", behaviour=True),
    Builtin("maritime_gap", "AisGap", "maritime.ais_gap",
            "vessel silent for longer than it should be where reception is good",
            behaviour=True),
    Builtin("maritime_identity", "IdentityConflict", "maritime.identity_conflict",
            "one MMSI in two places, invalid MMSI, or identity change", behaviour=True),
    Builtin("maritime_encounter", "Encounter", "maritime.encounter",
            "two vessels close together at low speed for a long time", behaviour=True),
    Builtin("air_rules", "Emergency", "air.emergency",
            "emergency squawk 7500/7600/7700 or ADS-B emergency state"),
    Builtin("air_rules", "AirspaceEntry", "air.airspace_entry",
            "track entering (or about to enter) a watched airspace", behaviour=True),
    Builtin("air_rules", "LowSlow", "air.low_slow",
            "drone-like profile: low and slow outside airports", behaviour=True),
    Builtin("air_loss", "TransponderLoss", "air.transponder_loss",
            "track stopped reporting inside good coverage", behaviour=True),
    Builtin("air_loiter", "AirLoitering", "air.loitering", "orbit or racetrack holding",
            behaviour=True),
    Builtin("gnss", "GnssInterference", "gnss.interference",
            "area where many aircraft report degraded GNSS integrity"),
    Builtin("gnss", "GnssSpoofing", "gnss.spoofing",
            "track whose reported positions are kinematically impossible", behaviour=True),
    Builtin("gnss", "GnssSpoofingArea", "gnss.spoofing_area",
            "H3 cell where aircraft were spoofed, and where they were displaced to"),
    Builtin("space_conjunction", "SpaceConjunction", "space.conjunction",
            "close approach between two space objects", in_pipeline=False),
    Builtin("space_manoeuvre", "SpaceManoeuvre", "space.manoeuvre",
            "element-set change beyond drag and noise", behaviour=True),
    Builtin("watchlist", "WatchlistHits", "watchlist.hit",
            "a watchlisted subject appeared, entered a zone, or went dark"),
)

_REGISTERED: dict[str, DetectorSpec] = {}  # filled by @register as detector modules load
_ALL: dict[str, DetectorSpec] | None = None


def register(
    kind: str | None = None,
    *,
    description: str | None,
    thresholds: type | None = None,
    stage: str | None = None,
    in_pipeline: bool = True,
    order: int = 1000,
    behaviour: bool = False,
) -> Callable[[type], type]:
    """Class decorator: put a detector in the registry (kind defaults to `cls.kind`)."""

    def put(cls: type) -> type:
        k = kind or cls.kind  # type: ignore[attr-defined]
        if k in _REGISTERED and _REGISTERED[k].cls is not cls:
            raise ValueError(f"detector kind {k!r} registered twice")
        th_cls = thresholds if thresholds is not None else thresholds_of(cls)
        _REGISTERED[k] = DetectorSpec(k, cls, th_cls, description,
                                      stage or getattr(cls, "stage", "subject"),
                                      in_pipeline, order, behaviour)  # fmt: skip
        global _ALL
        _ALL = None
        return cls

    return put


def thresholds_of(cls: type) -> type | None:
    """The `Thresholds` subclass a detector's `__init__(self, th)` takes, if any."""
    from picket.detect.base import Thresholds

    if "th" not in inspect.signature(cls.__init__).parameters:  # type: ignore[misc]
        return None
    hint = typing.get_type_hints(cls.__init__).get("th")  # type: ignore[misc]
    for t in typing.get_args(hint) or (hint,):
        if isinstance(t, type) and issubclass(t, Thresholds):
            return t
    return None


def _load_modules() -> None:
    import picket.detect as pkg

    for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if m.name in HELPERS or m.name.startswith("_"):
            continue
        try:
            importlib.import_module(f"picket.detect.{m.name}")
        except ImportError as e:  # an optional dependency missing: its detectors are absent
            log.warning("detector module picket.detect.%s not loaded: %s", m.name, e)


def _builtin() -> dict[str, DetectorSpec]:
    out = {}
    for i, b in enumerate(BUILTIN):
        cls = getattr(importlib.import_module(f"picket.detect.{b.module}"), b.cls)
        out[b.kind] = DetectorSpec(b.kind, cls, thresholds_of(cls), b.description,
                                   getattr(cls, "stage", "subject"), b.in_pipeline, i,
                                   b.behaviour)  # fmt: skip
    return out


def specs() -> dict[str, DetectorSpec]:
    """Every detector by kind, in pipeline order."""
    global _ALL
    if _ALL is None:
        _load_modules()
        both = {**_builtin(), **_REGISTERED}
        _ALL = dict(sorted(both.items(), key=lambda kv: kv[1].order))
    return _ALL


def pipeline_specs() -> dict[str, DetectorSpec]:
    """The detectors `config.build_detectors` makes, in order."""
    return {k: s for k, s in specs().items() if s.in_pipeline}


def kinds() -> dict[str, str]:
    """Alert kind -> description: every kind a detector raises."""
    return {k: s.description for k, s in specs().items() if s.description is not None}


def suspect_kinds() -> frozenset[str]:
    """Kinds whose open alert makes a track suspect (behaviour, not distress or area)."""
    return frozenset(k for k, s in specs().items() if s.behaviour)


def describe() -> list[dict[str, Any]]:
    """One row per detector for `picket config` and docs (thresholds listed apart)."""
    return [{"kind": k, "class": f"{s.cls.__module__}.{s.cls.__qualname__}",
             "stage": s.stage, "in_pipeline": s.in_pipeline, "behaviour": s.behaviour,
             "thresholds": s.thresholds.__name__ if s.thresholds else None,
             "description": s.description} for k, s in specs().items()]  # fmt: skip
