"""Harbours and anchorages learned from the traffic: moored vessels raise nothing there.

Known truth: a harbour of moored vessels (one pair side by side among them) against a
two-ship rendezvous in open sea, the learning timeline, batching, the store table, and
the Solent day that raised 153 alerts from ships moored in Portsmouth.
"""

from __future__ import annotations

import itertools
import sqlite3

import numpy as np
import pytest

from picket.config import Config, build_detectors
from picket.detect.harbours import HarbourLearner, HarbourThresholds
from picket.geo.geodesy import destination
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink
from picket.store import harbours as store_harbours

KNOT = 1852 / 3600
HARBOUR = (59.40, 19.50)
SEA = (59.60, 20.10)  # 38 km away


def ship(mmsi, t, lat, lon, sog_kn, cog=0.0) -> Reports:
    return Reports.build(len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
                         subject=key(Namespace.MMSI, mmsi), lat=lat, lon=lon,
                         speed=np.full(len(t), sog_kn * KNOT), course=cog, heading=cog,
                         msg=1)  # fmt: skip


def moored(mmsi, t, lat, lon, rng) -> Reports:
    """A ship at a berth: GPS noise of a few metres, 0-0.3 kn."""
    la = lat + rng.normal(0, 0.00002, len(t))
    lo = lon + rng.normal(0, 0.00004, len(t))
    return ship(mmsi, t, la, lo, 0.2)


def scene(t):
    rng = np.random.default_rng(7)
    parts = []
    for k, off in enumerate((0.0, 40.0, 190.0, 340.0, 490.0)):  # along a quay; two abreast
        la, lo = destination(HARBOUR[0], HARBOUR[1], 90.0, off)
        parts.append(moored(230_100_000 + k, t, float(la), float(lo), rng))
    # a rendezvous at sea: two ships drifting together at 0.8 kn, 200 m apart, nobody else
    la, lo = destination(np.full(len(t), SEA[0]), np.full(len(t), SEA[1]), 45.0,
                         0.8 * KNOT * (t - t[0]))  # fmt: skip
    la2, lo2 = destination(la, lo, 90.0, 200.0)
    parts += [ship(230_200_000, t, la, lo, 0.8, 45.0), ship(230_200_001, t, la2, lo2, 0.8, 45.0)]
    # traffic passing by both places: reception is good there
    for i in range(6):
        for lat0, lon0 in (HARBOUR, SEA):
            la, lo = destination(np.full(len(t), lat0 + 0.02 * (i - 3)),
                                 np.full(len(t), lon0 - 0.3), 90.0,
                                 12.0 * KNOT * (t - t[0]))  # fmt: skip
            parts.append(ship(230_300_000 + 10 * i + (lat0 == SEA[0]), t, la, lo, 12.0, 90.0))
    return parts


def run(parts, step=10.0, env=None):
    mem = MemorySink()
    p = Pipeline(build_detectors(Config()), [mem], World(**(env or {})))
    r = Reports.concat(parts).sorted_by_time()
    edges = np.floor(r.time / step)
    cuts = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(r)]
    for a, b in itertools.pairwise(cuts):
        p.process(Decoded(r.take(slice(a, b))), now=float(r.time[b - 1]))
    p.finish()
    return mem, p.world


def test_moored_ships_raise_nothing_and_a_rendezvous_at_sea_still_does():
    t = np.arange(0.0, 3 * 3600.0, 30.0)
    mem, env = run(scene(t))
    by = {(a.subject, a.kind) for a in mem.alerts.values()}
    harbour = {s for s, _ in by if s.startswith("mmsi:2301")}
    assert harbour == set(), sorted(by)
    assert ("mmsi:230200000", "maritime.encounter") in by
    assert {("mmsi:230200000", "maritime.loitering"),
            ("mmsi:230200001", "maritime.loitering")} <= by  # fmt: skip
    h = env.harbours
    inside = h.contains(np.array([HARBOUR[0]]), np.array([HARBOUR[1]]), t[-1])
    at_sea = h.contains(np.array([SEA[0]]), np.array([SEA[1]]), t[-1])
    assert inside[0] and not at_sea[0]  # two ships never make a harbour
    # learned once the third ship had been still for min_still_s (warm-up before that)
    since = h.contains(np.array([HARBOUR[0]] * 2), np.array([HARBOUR[1]] * 2),
                       np.array([HarbourThresholds().min_still_s - 60.0, 1200.0]))  # fmt: skip
    assert since.tolist() == [False, True]


def test_harbour_alerts_do_not_depend_on_batching():
    t = np.arange(0.0, 3 * 3600.0, 30.0)

    def alerts(step):
        mem, _ = run(scene(t), step=step)
        return {(a.kind, a.subject, round(a.time, 3), a.status) for a in mem.alerts.values()}

    assert alerts(10.0) == alerts(3600.0)


def test_a_zone_of_kind_port_still_works_and_the_store_keeps_what_was_learned():
    h = HarbourLearner()
    h._settle(1, 100.0, 59.4, 19.5)
    h._settle(2, 200.0, 59.401, 19.502)
    assert not h.cells  # two vessels: no harbour yet
    h._settle(3, 300.0, 59.402, 19.499)
    assert h.cells and min(h.cells.values()) == 300.0
    h._settle(4, 400.0, 59.40, 19.56)  # 3.4 km east, alone: joins the learned harbour
    assert h.contains(np.array([59.40]), np.array([19.56]), 400.0)[0]
    conn = sqlite3.connect(":memory:")
    assert store_harbours.save(conn, h) == len(h.cells)
    back = store_harbours.load(conn)
    assert back.cells == h.cells
    gj = store_harbours.harbours_geojson(conn)
    assert len(gj["features"]) == len(h.cells)
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    lon_span = ring[1][0] - ring[0][0]
    assert 0.008 < lon_span < 0.011  # ~0.5 km at 59.4 N


@pytest.mark.realdata
def test_solent_day_raises_no_alerts_from_portsmouth_harbour(shared_data):
    """153 alerts before (82 encounters, 52 loitering, 19 gaps), nearly all from moored
    ships in Portsmouth harbour; docs/maritime.md justifies each of the few that remain."""
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import merge, run_stream
    from picket.sources.registry import read_file

    asm = assemble(Config(store_path=None), console=False, store=False)
    mem = MemorySink()
    asm.pipeline.sinks.append(mem)
    f = shared_data / "ais" / "solent_ais_20160112.csv"
    run_stream(asm.pipeline, merge([read_file(f, asm.rejects)]), 60.0, 0.0, None, 20_000,
               3600.0)  # fmt: skip
    alerts = list(mem.alerts.values())
    kinds = [a.kind for a in alerts]
    assert kinds.count("maritime.encounter") == 0
    assert len(alerts) <= 10, [a.summary for a in alerts]
    h = asm.pipeline.world.harbours
    assert h.contains(np.array([50.795]), np.array([-1.11]), 1452609000.0)[0]  # Portsmouth
    inner = [a for a in alerts if 50.78 < a.lat < 50.815 and -1.125 < a.lon < -1.09]
    assert inner == [], [a.summary for a in inner]
