"""Slot recycling for the air, GNSS and space detectors: after `forget(slots)`, the next
subject given a forgotten slot inherits nothing from the one before.

Each scenario feeds subject A, forgets A's slot, then feeds subject B, which takes that
slot; B's signals must be those of a pipeline that never saw A. Synthetic flights with
known truth.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import h3
import numpy as np
import pytest

from picket.detect.air_loiter import AirLoitering
from picket.detect.air_loss import TransponderLoss
from picket.detect.air_rules import UNSEEN, AirspaceEntry, Emergency, LowSlow
from picket.detect.base import NO_BUCKET
from picket.detect.gnss import GnssInterference, GnssSpoofing, GnssSpoofingArea
from picket.detect.space_conjunction import CdmFollower, SpaceConjunction
from picket.detect.space_manoeuvre import SpaceManoeuvre
from picket.geo.geodesy import destination
from picket.geo.zones import ZoneSet
from picket.model.alerts import Signal
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from tests.test_air_detectors import traffic_grid

SEA = (56.0, 19.0)  # the Baltic between Gotland and Latvia: no airport within 30 km
BORDER = [(24.0, 54.0), (26.0, 54.0), (26.0, 56.0), (24.0, 56.0), (24.0, 54.0)]
V = 230.0  # m/s, an airliner in cruise


def flight(icao, t, lat, lon, alt=10_000.0, gs=V, trk=90.0, ns=Namespace.ICAO, **cols):
    return Reports.build(len(t), time=t, domain=Domain.AIR, kind=Kind.POSITION,
                         subject=key(ns, icao), lat=lat, lon=lon, alt=alt, speed=gs,
                         course=trk, **cols)  # fmt: skip


def straight(icao, t, lat0, lon0, v=V, brg=90.0, **kw) -> Reports:
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), brg, v * (t - t[0]))
    return flight(icao, t, lat, lon, gs=v, trk=brg, **kw)


def orbit(icao, t, lat0, lon0, radius_m, v=120.0, **kw) -> Reports:
    ang = np.degrees(v * (t - t[0]) / radius_m)
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), ang, radius_m)
    return flight(icao, t, lat, lon, gs=v, trk=(ang + 90) % 360, **kw)


@dataclass
class Scenario:
    """A's reports, then (A's slot forgotten at `t_forget`) B's; `others` fly throughout."""

    detectors: Callable[[], list[Any]]
    a: list[Reports]
    b: list[Reports]
    others: list[Reports] = field(default_factory=list)
    world: Callable[[], World] = World
    kinds: tuple[str, ...] = ()  # the signals compared (all of the detectors' by default)


def forget(p: Pipeline, slots: np.ndarray) -> None:
    if hasattr(p, "forget_slots"):
        p.forget_slots(slots)
    else:  # before the pipeline's side lands: detectors first, then the track table
        for d in p.detectors:
            d.forget(slots)
        p.tracks.forget(slots)


def replay(sc: Scenario, with_a: bool = True, forget_a: bool = True,
           check: Callable[[Pipeline, int], None] | None = None,
           step: float = 10.0) -> tuple[list[Signal], float]:  # fmt: skip
    """Signals of the detectors after A's slot was forgotten (all of them without A), and
    when it was."""
    p = Pipeline(sc.detectors(), [], sc.world())
    taps = [_tap(d) for d in p.detectors]
    a = Reports.concat(sc.a)
    b = Reports.concat(sc.b)
    t_forget = (float(a.time.max()) + float(b.time.min())) / 2
    parts = ([a] if with_a else []) + [b, *sc.others]
    r = Reports.concat(parts).sorted_by_time()
    edges = np.floor(r.time / step)
    cuts = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(r)]
    done = False
    a_subject = int(a.subject[0])
    b_subject = int(b.subject[0])
    k = -1
    for lo, hi in itertools.pairwise(cuts):
        if with_a and not done and r.time[lo] > t_forget:
            done = True
            k = p.tracks.slot(a_subject)
            assert k is not None
            if forget_a:
                forget(p, np.array([k], np.int64))
                if check is not None:
                    check(p, k)
            else:  # the track table alone: detectors that would keep A's state
                p.tracks.forget(np.array([k], np.int64))
            for tap in taps:
                tap.clear()
        p.process(Decoded(r.take(slice(lo, hi))), now=float(r.time[hi - 1]))
    if with_a:
        assert p.tracks.slot(b_subject) == k  # B took A's slot
    out = [s for tap in taps for s in tap if not sc.kinds or s.kind in sc.kinds]
    return sorted(out, key=_key), t_forget


def _tap(det: Any) -> list[Signal]:
    got: list[Signal] = []
    inner = type(det).update

    def update(ctx):
        out = inner(det, ctx)
        got.extend(out)
        return out

    det.update = update
    return got


def _key(s: Signal) -> tuple:
    return (s.time, s.kind, s.subject, s.ended, s.severity)


def same_as_fresh(sc: Scenario, after: Callable[[Signal], Any] = _key) -> list[Signal]:
    """B's signals once A was forgotten equal those of a pipeline that never saw A."""
    got, t_f = replay(sc)
    fresh, _ = replay(sc, with_a=False)
    fresh = [s for s in fresh if s.time > t_f]
    assert [after(s) for s in got] == [after(s) for s in fresh]
    return got


# air.emergency ---------------------------------------------------------------------------


def emergency() -> Scenario:
    t = np.arange(0.0, 100.0, 5.0)
    a = straight(0x4B0001, t, 57.0, 18.0, squawk=7700)  # declares, then is never heard again
    tb = np.arange(200.0, 400.0, 5.0)
    b = straight(0x4B0002, tb, 57.5, 18.0, squawk=np.where(tb < 300, 2000, 7700))
    return Scenario(lambda: [Emergency()], [a], [b])


def test_emergency_of_the_slots_last_subject_is_not_ended_by_the_next():
    got = same_as_fresh(emergency())
    assert got[0].time == 300.0 and {(s.subject, s.ended) for s in got} == {("icao:4b0002", False)}


# air.airspace_entry ----------------------------------------------------------------------


def _zones() -> World:
    return World(zones=ZoneSet.from_features([("Lithuania", "airspace", BORDER, {})]))


def airspace(b_inside: bool) -> Scenario:
    # A heads for the border at 24E (predicted inside 5 min), silent while still outside
    a = straight(0x4B0011, np.arange(0.0, 60.0, 4.0), 54.5, 23.5)
    tb = np.arange(200.0, 600.0, 4.0)
    # B: its first position inside (no entry), or heading in from where A was (a prediction)
    b = straight(0x4B0012, tb, 54.5, 25.0 if b_inside else 23.5)
    return Scenario(lambda: [AirspaceEntry()], [a], [b], world=_zones)


@pytest.mark.parametrize("b_inside", [True, False])
def test_airspace_entry_judges_the_next_subject_from_scratch(b_inside):
    got = same_as_fresh(airspace(b_inside))
    if b_inside:
        assert got == []  # first seen inside: no entry
    else:
        assert len(got) == 2 and "heading into" in got[0].summary  # predicted, then entered


# air.low_slow (SustainedDetector's forget) ------------------------------------------------


def low_slow() -> Scenario:
    # a non-cooperative track low and slow for 40 s of the 60 s needed, then gone
    a = straight(1, np.arange(0.0, 40.0, 2.0), *SEA, v=30.0, alt=300.0, ns=Namespace.TRACK)
    b = straight(2, np.arange(100.0, 300.0, 2.0), *SEA, v=30.0, alt=300.0, ns=Namespace.TRACK)
    return Scenario(lambda: [LowSlow()], [a], [b])


def test_low_slow_run_does_not_carry_over_to_the_next_track():
    got = same_as_fresh(low_slow())
    assert got[0].subject == "track:2" and got[0].time >= 160.0  # after B's own 60 s


# air.transponder_loss --------------------------------------------------------------------


def transponder_loss() -> Scenario:
    # A is followed for 5 min far from the traffic (its silence there is no loss)
    a = straight(0x4B0021, np.arange(0.0, 300.0, 2.0), 60.0, 10.0)
    # B is heard for 90 s, less than the 120 s a track must be followed, then goes silent
    # inside good coverage
    tb = np.arange(400.0, 490.0, 2.0)
    b = straight(0x4B0022, tb, 55.0, 20.0)
    lat_q, lon_q = destination(55.0, 20.0, 90.0, V * 90.0)
    grid = traffic_grid(np.arange(0.0, 1200.0, 2.0), float(lat_q), float(lon_q), 520.0)
    return Scenario(lambda: [TransponderLoss()], [a], [b], grid)


def test_transponder_loss_follows_the_next_subject_from_its_own_first_report():
    got = same_as_fresh(transponder_loss())
    assert got == []  # heard too briefly to be missed


# air.loitering ---------------------------------------------------------------------------


def loiter() -> Scenario:
    # A flies three quarters of an orbit (no full turn yet), then is gone
    a = orbit(0x4B0031, np.arange(0.0, 400.0, 4.0), *SEA, 10_000.0)
    b = orbit(0x4B0032, np.arange(500.0, 2000.0, 4.0), *SEA, 10_000.0)
    # C orbits wider throughout, beside them in the window: forgetting A's samples must
    # leave C's (sorted by slot, steps and turns paired per slot) as they were
    c = orbit(0x4B0030, np.arange(0.0, 2000.0, 4.0), SEA[0] + 0.5, SEA[1], 20_000.0)
    d = orbit(0x4B0039, np.arange(0.0, 2000.0, 4.0), SEA[0] - 0.5, SEA[1], 20_000.0)
    return Scenario(lambda: [AirLoitering()], [a], [b], [c, d])  # A's slot between theirs


def test_loitering_counts_only_the_next_subjects_own_turns():
    got = same_as_fresh(loiter())
    t_full = 2 * np.pi * 10_000 / 120.0  # B's first full circle
    mine = [s for s in got if s.subject == "icao:4b0032"]
    assert mine and mine[0].time >= 500.0 + t_full and not mine[0].ended
    assert {s.subject for s in got} == {"icao:4b0030", "icao:4b0032", "icao:4b0039"}


# gnss.interference -----------------------------------------------------------------------

CELL = h3.latlng_to_cell(54.5, 20.5, 4)
C_LAT, C_LON = h3.cell_to_latlng(CELL)


def _in_cell(icao, t, bearing, bad, **kw):
    """An aircraft orbiting 3 km from the cell's centre (it stays in the cell)."""
    la, lo = destination(C_LAT, C_LON, bearing, 3000.0)
    nic, nacp = (0, 1) if bad else (8, 9)
    return orbit(icao, t, float(la), float(lo), 3000.0, v=100.0, nic=nic, nacp=nacp,
                 version=2, **kw)  # fmt: skip


def interference() -> Scenario:
    t = np.arange(0.0, 1500.0, 5.0)
    others = [_in_cell(0x500000 + i, t, 72.0 * i, bad=i >= 3) for i in range(5)]  # 3 good, 2 bad
    a = _in_cell(0x4B0041, np.arange(0.0, 300.0, 5.0), 10.0, bad=True)
    b = _in_cell(0x4B0042, np.arange(320.0, 1500.0, 5.0), 10.0, bad=False)
    return Scenario(lambda: [GnssInterference()], [a], [b], others)


def _cells(s: Signal) -> tuple:
    ev = s.evidence
    return (*_key(s), ev.get("count_aircraft"), ev.get("count_bad_aircraft"),
            tuple(sorted(ev.get("bad_aircraft", []))))  # fmt: skip


def test_interference_counts_the_next_subject_by_its_own_integrity():
    got = same_as_fresh(interference(), _cells)
    assert got and all("icao:4b0042" not in s.evidence.get("bad_aircraft", []) for s in got)
    assert {s.evidence["count_bad_aircraft"] for s in got if not s.ended} == {2}


# gnss.spoofing and gnss.spoofing_area ----------------------------------------------------


def _displaced(icao, t, lat0, lon0, crs, spans, to=None):
    """Flying straight; positions in `spans` moved 60 km (or next to `to`, moving on)."""
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), crs, V * (t - t[0]))
    rlat, rlon = lat.copy(), lon.copy()
    for a, b in spans:
        m = (t >= a) & (t < b)
        if to is None:
            rlat[m], rlon[m] = destination(lat[m], lon[m], 100.0, 60_000.0)
        else:
            rlat[m], rlon[m] = destination(to[0], to[1], crs, V * (t[m] - a))
    return flight(icao, t, rlat, rlon, alt=11_000.0, trk=crs, nic=8, nacp=9, version=2, msg=11)


def spoofing() -> Scenario:
    # A jumps away at 300 and is never heard back on its path: its episode stays open
    a = _displaced(0x4B0051, np.arange(0.0, 600.0, 2.0), 57.0, 18.0, 60.0, [(300.0, 600.0)])
    b = _displaced(0x4B0052, np.arange(700.0, 1800.0, 2.0), 57.0, 18.0, 60.0,
                   [(1000.0, 1300.0)])  # fmt: skip
    return Scenario(lambda: [GnssSpoofing(), GnssSpoofingArea()], [a], [b],
                    kinds=("gnss.spoofing",))  # fmt: skip


def test_spoofing_episode_of_the_slots_last_subject_is_not_the_next_ones():
    got = same_as_fresh(spoofing())
    opened = [s for s in got if not s.ended]
    assert opened[0].severity == "warning" and len(opened[0].evidence["jumps"]) == 1
    assert got[-1].ended


def spoofing_area() -> Scenario:
    target = destination(C_LAT, C_LON, 45.0, 150_000.0)  # where the spoofer puts them

    def victim(icao, t, brg, crs, t_over, spans):
        la0, lo0 = destination(C_LAT, C_LON, brg, 2000.0)
        start = destination(la0, lo0, crs, -V * (t_over - t[0]))  # over the centre at t_over
        return _displaced(icao, t, float(start[0]), float(start[1]), crs, spans, target)

    # A and C are displaced to one place while over the cell; A is then gone, C goes on
    a = victim(0x4B0061, np.arange(0.0, 600.0, 2.0), 0.0, 90.0, 300.0, [(300.0, 600.0)])
    c = victim(0x4B0063, np.arange(0.0, 1800.0, 2.0), 180.0, 270.0, 300.0, [(300.0, 1200.0)])
    # B flies over the cell later and is displaced there too
    b = victim(0x4B0062, np.arange(650.0, 1800.0, 2.0), 90.0, 0.0, 800.0, [(800.0, 1100.0)])
    return Scenario(lambda: [GnssSpoofing(), GnssSpoofingArea()], [a], [b], [c],
                    kinds=("gnss.spoofing_area",))  # fmt: skip


def _area(s: Signal) -> tuple:
    ev = s.evidence
    return (*_key(s), ev.get("count_spoofed_aircraft"),
            tuple(sorted(d["aircraft"] for d in ev.get("displaced_to", []))))  # fmt: skip


def test_spoofing_area_counts_a_forgotten_aircraft_no_more():
    got, t_f = replay(spoofing_area())
    fresh, _ = replay(spoofing_area(), with_a=False)
    # once A's slot is forgotten its cell holds C alone: the area A lit ends, and lights again
    # when B is displaced there, as in a pipeline that never saw A
    assert got[0].ended and got[0].time - t_f <= 120.0
    lit = [_area(s) for s in got if not s.ended]
    assert lit and lit == [_area(s) for s in fresh if not s.ended and s.time > t_f]
    assert all(x[-1] == ("icao:4b0062", "icao:4b0063") for x in lit)


# every behaviour test fails without `forget` -----------------------------------------------

SCENARIOS = {
    "emergency": emergency,
    "airspace_inside": lambda: airspace(True),
    "airspace_prediction": lambda: airspace(False),
    "low_slow": low_slow,
    "transponder_loss": transponder_loss,
    "loitering": loiter,
    "interference": interference,
    "spoofing": spoofing,
    "spoofing_area": spoofing_area,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_without_forget_the_next_subject_would_inherit(name):
    """The scenarios are sharp: A's state left in the slot changes what B's signals are."""
    sc = SCENARIOS[name]()
    kept, t_f = replay(sc, forget_a=False)
    fresh, _ = replay(sc, with_a=False)
    fresh = [s for s in fresh if s.time > t_f]
    if name == "interference":
        assert [_cells(s) for s in kept] != [_cells(s) for s in fresh]
    elif name == "spoofing_area":
        assert [_area(s) for s in kept if not s.ended] != [
            _area(s) for s in fresh if not s.ended]
    else:
        assert [_key(s) for s in kept] != [_key(s) for s in fresh]


# state: a forgotten slot is a never-used one -----------------------------------------------


def check_state(p: Pipeline, k: int) -> None:
    for d in p.detectors:
        if isinstance(d, Emergency):
            assert k not in d.active
        elif isinstance(d, AirspaceEntry):
            assert d.zone_of[k] == UNSEEN
            assert not [x for x in d.predicted if x[0] == k]
        elif isinstance(d, LowSlow):
            assert not np.isfinite([d.sus.t0[k], d.sus.last_t[k], d.sus.last_true[k]]).any()
            assert k not in d.firing
        elif isinstance(d, TransponderLoss):
            assert np.isnan(d.first_heard[k]) and not d.grounded[k] and k not in d.open
        elif isinstance(d, AirLoitering):
            assert k not in d.slot and k not in d.active and k not in d.cut
            assert d.sampler.last[k] == NO_BUCKET
            cols = [getattr(d, c) for c in d._SAMPLE_COLS]
            assert len({len(c) for c in cols}) == 1  # the window's columns stay aligned
            assert (np.diff(d.slot) >= 0).all()  # and sorted by slot
        elif isinstance(d, GnssInterference):
            assert k not in d.slot and d.sampler.last[k] == NO_BUCKET
            assert len(d.slot) == len(d.cell) == len(d.t) == len(d.bad)
        elif isinstance(d, GnssSpoofing):
            assert k not in d.jumps and k not in d.beat
        elif isinstance(d, GnssSpoofingArea):
            assert k not in d.home and k not in d.last_bucket
            assert all(x[2] != k for x in d.samples)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_forgotten_slot_holds_what_a_never_used_one_does(name):
    seen: list[int] = []

    def check(p: Pipeline, k: int) -> None:
        check_state(p, k)
        seen.append(k)

    replay(SCENARIOS[name](), check=check)
    assert seen


def test_the_scenarios_leave_state_in_the_slot_to_forget():
    """What the state test checks was there to forget (A's state in its slot)."""
    held: dict[str, bool] = {}

    def probe(name: str):
        def check(p: Pipeline, k: int) -> None:
            for d in p.detectors:
                if isinstance(d, Emergency):
                    held[name] = k in d.active
                elif isinstance(d, AirspaceEntry):
                    held[name] = d.zone_of[k] != UNSEEN and any(x[0] == k for x in d.predicted)
                elif isinstance(d, TransponderLoss):
                    held[name] = bool(np.isfinite(d.first_heard[k]))
                elif isinstance(d, AirLoitering):
                    held[name] = k in d.slot and d.sampler.last[k] != NO_BUCKET
                elif isinstance(d, GnssInterference):
                    held[name] = k in d.slot
                elif isinstance(d, GnssSpoofing):
                    held[name] = k in d.jumps and k in d.beat
                elif isinstance(d, GnssSpoofingArea):
                    held[name] = held.get(name, True) and k in d.home and any(
                        x[2] == k for x in d.samples)  # fmt: skip
        return check

    for name in ("emergency", "airspace_prediction", "transponder_loss", "loitering",
                 "interference", "spoofing_area"):  # fmt: skip
        sc = SCENARIOS[name]()
        p = Pipeline(sc.detectors(), [], sc.world())
        a = Reports.concat(sc.a + sc.others)
        a = a.where(a.time <= float(Reports.concat(sc.a).time.max())).sorted_by_time()
        edges = np.floor(a.time / 10.0)
        cuts = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(a)]
        for lo, hi in itertools.pairwise(cuts):
            p.process(Decoded(a.take(slice(lo, hi))), now=float(a.time[hi - 1]))
        k = p.tracks.slot(int(sc.a[0].subject[0]))
        probe(name)(p, k)
        assert held[name], name


def test_detectors_without_per_slot_state_forget_nothing():
    man, conj, cdm = SpaceManoeuvre(), SpaceConjunction(), CdmFollower([])
    cdm.sent["norad:25544"] = 1.0
    for d in (man, conj, cdm):
        before = {k: v for k, v in vars(d).items()}
        d.forget(np.array([0, 5, 10_000], np.int64))
        d.forget(np.empty(0, np.int64))
        assert vars(d) == before
