"""Slot recycling: a maritime rule's state for a forgotten slot is a never-used slot's.

Each behaviour test puts subject A in slot k close to firing, forgets k
(`Pipeline.forget_slots`), and brings subject B, who takes slot k, where A left off
(so no silence breaks A's run for it): B must raise exactly what it raises in a pipeline
that never saw A. The state test checks every per-slot array and dict of each detector.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from picket.detect.harbours import HarbourLearning
from picket.detect.maritime_identity import IdentityConflict
from picket.detect.maritime_motion import AnchorDrag, Drift, Loitering
from picket.geo.geodesy import destination
from picket.geo.zones import LineSet, ZoneSet
from picket.model.decoded import Decoded
from picket.model.reports import Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from tests.test_detectors_synthetic import CABLE, ship, straight

A, B, C = 273_700_001, 273_700_002, 273_700_003
OTHER = 230_700_000  # a vessel far away, so A's slot is not slot 0 alone


def world() -> World:
    lines = LineSet.from_features([("Test cable", "cable", CABLE, {"corridor_m": 1000})])
    return World(lines=lines, zones=ZoneSet([]))


def feed(pipe: Pipeline, reports: list[Reports], step: float = 60.0) -> list:
    """Batches of `step` seconds of event time; the alert events they gave."""
    r = Reports.concat(reports).sorted_by_time()
    cuts = np.r_[0, np.flatnonzero(np.diff(np.floor(r.time / step))) + 1, len(r)]
    out = []
    for a, b in itertools.pairwise(cuts):
        out += pipe.process(Decoded(r.take(slice(a, b))), now=float(r.time[b - 1]))
    return out


def slot_of(pipe: Pipeline, mmsi: int) -> int:
    sl = pipe.tracks.slot(key(Namespace.MMSI, mmsi))
    assert sl is not None
    return sl


def seen(events: list, mmsi: int) -> list[tuple]:
    """What a subject's alert events say (everything but the alert id)."""
    name = f"mmsi:{mmsi:09d}"
    return [(what, a.kind, a.time, a.last_time, a.status, a.severity, a.summary, a.evidence,
             a.lat, a.lon) for what, a in events if a.subject == name]  # fmt: skip


def background(t: np.ndarray) -> Reports:
    lat, lon = straight(58.0, 18.0, 90.0, 12.0, t)
    return ship(OTHER, t, lat, lon, 12.0, 90.0)


def recycled(make: Callable[[], Any], before: list[Reports], after: list[Reports],
             t_before: np.ndarray) -> tuple[list, Pipeline, Any]:  # fmt: skip
    """A (`before`) in slot k, forgotten, then B (`after`) in slot k: B's alert events."""
    det = make()
    pipe = Pipeline([det], [], world())
    feed(pipe, [background(t_before), *before])
    k = slot_of(pipe, A)
    pipe.forget_slots(np.array([k], np.int64))
    ev = feed(pipe, after) + pipe.finish()
    assert slot_of(pipe, B) == k  # B took A's slot
    return ev, pipe, det


def fresh(make: Callable[[], Any], after: list[Reports], t_before: np.ndarray) -> list:
    """B in a pipeline that never saw A (the same other traffic before it)."""
    pipe = Pipeline([make()], [], world())
    feed(pipe, [background(t_before)])
    return feed(pipe, after) + pipe.finish()


# ------------------------------------------------------------ sustained rules


def _run_then_handover(mmsi_a, mmsi_b, minutes_a, minutes_b, sog, cog, hdg, status, lat0, lon0):
    """A on a straight course for `minutes_a`, B going on from where A stopped, 10 s later."""
    ta = np.arange(0.0, minutes_a * 60 + 1, 10)
    la, lo = straight(lat0, lon0, cog, sog, ta)
    tb = np.arange(ta[-1] + 10, ta[-1] + 10 + minutes_b * 60 + 1, 10)
    lb, ob = straight(la[-1], lo[-1], cog, sog, tb - ta[-1])
    a = ship(mmsi_a, ta, la, lo, sog, cog, hdg=hdg, status=status)
    b = ship(mmsi_b, tb, lb, ob, sog, cog, hdg=hdg, status=status)
    return a, b, ta


CASES = {
    # detector, A's minutes (short of the rule's time), B's, sog kn, cog, heading, status, start
    "loitering": (Loitering, 50, 80, 0.5, 0.0, 0.0, 0, (59.0, 19.0)),
    "drift": (Drift, 8, 15, 3.0, 90.0, 0.0, 0, (59.0, 19.0)),
    "anchor_drag status": (AnchorDrag, 4, 8, 2.0, 90.0, 90.0, 1, (59.0, 19.0)),
    "anchor_drag stopped engine": (AnchorDrag, 8, 15, 2.0, 0.0, 90.0, 0, (59.3, 20.0027)),
    "anchor_drag slow transit": (AnchorDrag, 25, 40, 3.0, 0.0, 0.0, 0, (59.3, 20.0027)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_new_subject_in_a_forgotten_slot_starts_its_own_run(case):
    make, ma, mb, sog, cog, hdg, status, (lat0, lon0) = CASES[case]
    a, b, ta = _run_then_handover(A, B, ma, mb, sog, cog, hdg, status, lat0, lon0)
    got, _, _ = recycled(make, [a], [b], ta)
    want = fresh(make, [b], ta)
    assert seen(want, B), "B must raise the alert on its own"
    assert seen(got, B) == seen(want, B)


def test_slow_transit_fires_after_the_new_vessels_own_3_km():
    """The numbers behind the case above: B has gone 3 km along the cable, not 3 km less
    the 2.3 km A went before it."""
    a, b, ta = _run_then_handover(A, B, 25, 40, 3.0, 0.0, 0.0, 0, 59.3, 20.0027)
    got, _, _ = recycled(AnchorDrag, [a], [b], ta)
    opened = [x for x in seen(got, B) if x[0] == "open"]
    assert len(opened) == 1
    t_b0 = ta[-1] + 10
    assert opened[0][2] - t_b0 == pytest.approx(3000 / (3.0 * 1852 / 3600), abs=30)


# ------------------------------------------------------------ harbours


def _moored(mmsi, t, lat, lon) -> Reports:
    rng = np.random.default_rng(mmsi % 1000)
    return ship(mmsi, t, lat + rng.normal(0, 2e-5, len(t)), lon + rng.normal(0, 4e-5, len(t)),
                0.2, 0.0)  # fmt: skip


def _harbour_scene():
    """A and C settle at a quay (20 min still); A leaves; B berths next to them 10 s later."""
    ta = np.arange(0.0, 1200 + 1, 10)
    la, lo = destination(59.4, 19.5, 90.0, 150.0)
    tb = np.arange(ta[-1] + 10, ta[-1] + 1800, 10)
    a = _moored(A, ta, 59.4, 19.5)
    c = _moored(C, np.r_[ta, tb], float(la), float(lo))
    b = _moored(B, tb, 59.4, 19.5)
    return ta, tb, a, c, b


def test_a_forgotten_vessels_harbour_visit_still_counts_but_not_as_the_next_ones():
    """Harbours are places: A's stay counts as one vessel after its slot is forgotten, but
    B, who takes A's slot, must settle on its own and count as another one (three vessels
    make a harbour): the learned cells are those of a run where B had a slot of its own."""
    ta, _, a, c, b = _harbour_scene()
    h = HarbourLearning()
    pipe = Pipeline([h], [], world())
    feed(pipe, [a, c.where(c.time <= ta[-1])])
    k = slot_of(pipe, A)
    assert k in h.learner.settled and not h.learner.cells  # two vessels: no harbour yet
    pipe.forget_slots(np.array([k], np.int64))
    feed(pipe, [b, c.where(c.time > ta[-1])])
    assert slot_of(pipe, B) == k
    ref = HarbourLearning()
    pipe2 = Pipeline([ref], [], world())
    feed(pipe2, [a, b, c])  # A, B and C in slots of their own
    assert ref.learner.cells
    assert h.learner.cells == ref.learner.cells
    a_ref = slot_of(pipe2, A)
    assert sorted(h.learner.settled.values()) == sorted(
        v for s, v in ref.learner.settled.items() if s != a_ref
    )


# ------------------------------------------------------------ identity conflict


def _two_places(mmsi, t0, n):
    """One MMSI heard alternately 150 km apart, `n` reports 10 s apart: n - 1 jumps."""
    t = t0 + np.arange(n) * 10.0
    lat = np.where(np.arange(n) % 2 == 0, 58.0, 59.35)
    return ship(mmsi, t, lat, np.full(n, 18.0), 12.0, 0.0)


def test_a_new_subject_does_not_inherit_impossible_jumps():
    """A jumped twice (three needed), B once within the window: no conflict for B."""
    a = _two_places(A, 0.0, 3)
    b = _two_places(B, 40.0, 3)
    ta = a.time
    got, _, _ = recycled(IdentityConflict, [a], [b], ta)
    want = fresh(IdentityConflict, [b], ta)
    assert seen(got, B) == seen(want, B) == []


# ------------------------------------------------------------ state


def per_slot(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every array and dict of a detector and of the helpers it owns (rules, Sustains,
    odometers, the harbour learner), with where it is."""
    for name, v in vars(obj).items():
        p = f"{path}.{name}"
        if name in ("th", "_corridor"):  # settings; this batch's rows -> corridor
            continue
        if isinstance(v, np.ndarray | dict):
            yield p, v
        elif isinstance(v, list) and v and type(v[0]).__module__.startswith("picket.detect"):
            for i, x in enumerate(v):
                if hasattr(x, "__dict__"):
                    yield from per_slot(x, f"{p}[{i}]")
        elif hasattr(v, "__dict__") and type(v).__module__.startswith("picket.detect"):
            yield from per_slot(v, p)


def differs(det: Any, k: int) -> list[str]:
    """Where slot k's state is not a never-used slot's (arrays of at least 1024 rows are
    per slot: the last row is never used here; per-row arrays of a batch are shorter)."""
    out = []
    for p, v in per_slot(det, "det"):
        if isinstance(v, np.ndarray):
            if len(v) >= 1024 and not np.array_equal(v[k], v[-1], equal_nan=True):
                out.append(p)
        elif any(x == k or (isinstance(x, tuple) and x[0] == k) for x in v):
            out.append(p)
    learner = getattr(det, "learner", None)
    if learner is not None and any(pt[3] == k for pt in learner.points):
        out.append("det.learner.points")
    return out


def _state_cases():
    # along the cable at 2.5 kn: not under command for 45 min (stopped engine from 10 min,
    # slow transit from 39 min), then at anchor (the status rule from 50 min): all three hold
    ta = np.arange(0.0, 3600 + 1, 10)
    la, lo = straight(59.3, 20.0027, 0.0, 2.5, ta)
    anchor = ship(A, ta, la, lo, 2.5, 0.0, hdg=0.0, status=np.where(ta < 2700, 2, 1))
    drift, _, _ = _run_then_handover(A, B, 30, 0, 3.0, 90.0, 0.0, 0, 59.0, 19.0)
    loiter, _, _ = _run_then_handover(A, B, 90, 0, 0.5, 0.0, 0.0, 0, 59.0, 19.0)
    t_h, _, moored, _, _ = _harbour_scene()
    return {
        "anchor_drag": (AnchorDrag, [anchor], ta),
        "drift": (Drift, [drift], ta),
        "loitering": (Loitering, [loiter], loiter.time),
        "harbours": (HarbourLearning, [moored], t_h),
        "identity": (IdentityConflict, [_two_places(A, 0.0, 3)], ta),
    }


@pytest.mark.parametrize("case", ["anchor_drag", "drift", "loitering", "harbours", "identity"])
def test_forget_leaves_a_never_used_slot(case):
    make, reports, t = _state_cases()[case]
    det = make()
    pipe = Pipeline([det], [], world())
    feed(pipe, [background(t), *reports])
    k = slot_of(pipe, A)
    assert differs(det, k), "the test must build some state for A"
    other = differs(det, slot_of(pipe, OTHER))
    det.forget(np.array([k, 5000], np.int64))  # a slot past every array's end is ignored
    assert differs(det, k) == []
    assert differs(det, slot_of(pipe, OTHER)) == other  # the other slot keeps its state
    det.forget(np.empty(0, np.int64))
