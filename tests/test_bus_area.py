"""The area stage keyed by H3 cell (`picket.bus.area`): reports routed to the partitions
owning their cell and its halo, and each alert passed on by exactly one partition.

Real components throughout: the in-process bus, the publisher and area workers of
`picket.bus.stages`, the real detectors; the reference is one plain pipeline fed the same
reports. A synthetic encounter and an AIS gap are placed across a border between two
resolution-3 cells of different partitions.
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import h3
import numpy as np
import pytest

from picket.bus import InProcessBus
from picket.bus.area import HALO_M, RES, AreaMap, Router
from picket.bus.stages import AREA_STAGE, Publisher, Worker
from picket.config import Config, build_detectors
from picket.geo.geodesy import KNOT, destination
from picket.geo.zones import LineSet, ZoneSet
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink

M = 2


def border_point(lat0: float = 59.6, lon0: float = 19.0) -> tuple[float, float, float]:
    """A point on the border (within 20 m) of two resolution-3 cells owned by different
    partitions, walking east from (lat0, lon0); and the bearing across it (90)."""
    amap = AreaMap(M)
    cell = lambda a, b: h3.latlng_to_cell(a, b, RES)  # noqa: E731
    part = lambda a, b: amap._part(a, b)  # noqa: E731
    lon = lon0
    while lon < lon0 + 10:
        nxt = lon + 0.001
        if cell(lat0, lon) != cell(lat0, nxt) and part(lat0, lon) != part(lat0, nxt):
            return lat0, (lon + nxt) / 2, 90.0
        lon = nxt
    raise AssertionError("no partition border found")


def ship(mmsi: int, t: np.ndarray, lat: Any, lon: Any, sog_kn: float, cog: float) -> Reports:
    return Reports.build(len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
                         subject=key(Namespace.MMSI, mmsi), lat=lat, lon=lon,
                         speed=np.full(len(t), sog_kn * KNOT), course=cog, heading=cog,
                         nav_status=0, msg=1)  # fmt: skip


def pipeline(sinks: list) -> Pipeline:
    zones = ZoneSet.from_features([("Far port", "port", [(10.0, 54.0), (10.1, 54.0),
                                   (10.1, 54.1), (10.0, 54.0)], {})])  # fmt: skip
    return Pipeline(build_detectors(Config()), sinks, World(zones=zones, lines=LineSet([])))


def cuts_of(reports: list[Reports], step: float = 60.0) -> list[tuple[Decoded, float]]:
    r = Reports.concat(reports).sorted_by_time()
    edges = np.floor(r.time / step)
    ix = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(r)]
    return [(Decoded(r.take(slice(a, b))), float(r.time[b - 1])) for a, b in itertools.pairwise(ix)]


def copy(d: Decoded) -> Decoded:
    return Decoded(Reports({c: v.copy() for c, v in d.reports.cols.items()}), list(d.statics))


def key_of(a: Any) -> tuple:
    return (a.id, a.kind, a.subject, round(a.time, 6), round(a.last_time or a.time, 6),
            a.status, None if a.closed_time is None else round(a.closed_time, 6))  # fmt: skip


def one_process(cuts: list) -> list[tuple]:
    mem = MemorySink()
    p = pipeline([mem])
    for d, hi in cuts:
        p.process(copy(d), now=hi)
    p.finish()
    return sorted(key_of(a) for a in mem.alerts.values())


def area_partitions(cuts: list) -> tuple[dict[int, list[tuple]], list[Any]]:
    """The area stage on M partitions: each worker's stored alerts, and the workers."""
    bus = InProcessBus()
    pub = Publisher(bus, 1, "synthetic", area_parts=M)
    last = float("nan")
    for d, hi in cuts:
        pub.publish(copy(d), hi)
        last = hi
    pub.publish(Decoded.empty(), last, eof=True)
    got, workers = {}, []
    for k in range(M):
        mem = MemorySink()
        asm = SimpleNamespace(pipeline=pipeline([mem]), store=None, rejects=None,
                              close=lambda: None)  # fmt: skip
        w = Worker(asm, bus, k, M, AREA_STAGE)
        w.run(lambda: False, until_eof=True)
        got[k] = sorted(key_of(a) for a in mem.alerts.values())
        workers.append(w)
    return got, workers


def test_halo_reaches_the_owner_of_every_point_within_it():
    lat, lon, _ = border_point()
    amap = AreaMap(M)
    la, lo = destination(np.full(400, lat), np.full(400, lon), np.linspace(0, 360, 400),
                         np.linspace(0, HALO_M * 0.9, 400))  # fmt: skip
    masks = amap.masks(la, lo)
    for a, b, m in zip(la.tolist(), lo.tolist(), masks.tolist(), strict=True):
        # every point within the halo of the border point sees the border point's owner
        assert m >> amap.owner_of(lat, lon) & 1
        assert m >> amap.owner_of(a, b) & 1
    assert {amap.owner_of(a, b) for a, b in zip(la.tolist(), lo.tolist(), strict=True)} == {0, 1}
    # far from any border of another partition, one partition only
    assert (np.bitwise_count(amap.masks(la, lo)) <= M).all()


def test_reports_without_a_position_follow_their_subject():
    lat, lon, _ = border_point()
    r = Router(AreaMap(M))
    s = np.array([1, 2], np.int64)
    west, east = destination(lat, lon, 270.0, 40_000.0), destination(lat, lon, 90.0, 40_000.0)
    m1 = r.masks(s, np.array([west[0], east[0]]), np.array([west[1], east[1]]),
                 np.array([0.0, 0.0]), np.array([2, 2]))  # fmt: skip
    assert m1[0] != m1[1] and np.bitwise_count(m1).max() == 1  # 40 km out: no halo
    m2 = r.masks(np.array([1, 2, 3]), np.full(3, np.nan), np.full(3, np.nan),
                 np.zeros(3), np.full(3, 2))  # fmt: skip
    assert m2.tolist() == [m1[0], m1[1], 1]  # unknown subject: partition 0
    air = r.masks(np.array([9]), np.array([east[0]]), np.array([east[1]]), np.zeros(1),
                  np.array([int(Domain.AIR)]))  # fmt: skip
    assert air.tolist() == [1]  # aircraft: partition 0, whole


def pair_across_border() -> list:
    """Two vessels 240 m apart drifting north along a partition border, one on each side:
    an encounter whose reports fall in two partitions."""
    lat, lon, _ = border_point()
    t = np.arange(0.0, 3000, 10)
    la, lo = destination(np.full(len(t), lat), np.full(len(t), lon), 0.0, 0.3 * KNOT * t)
    wa, wo = destination(la, lo, 270.0, 120.0)
    ea, eo = destination(la, lo, 90.0, 120.0)
    return cuts_of([ship(230_444_000, t, wa, wo, 0.3, 0.0),
                    ship(230_444_001, t, ea, eo, 0.3, 0.0)])  # fmt: skip


def test_encounter_across_a_partition_border_is_stored_once():
    cuts = pair_across_border()
    ref = one_process(cuts)
    assert [a[1] for a in ref] == ["maritime.encounter"]
    got, workers = area_partitions(cuts)
    assert sorted(got[0] + got[1]) == ref  # once, as one process stores it
    (owner,) = [k for k in got if got[k]]
    # the other partition saw the pair too (its halo) and held its copy back
    assert workers[1 - owner].pipe.sinks[0].dropped >= 1


def test_a_vessel_that_crosses_and_goes_dark_has_its_gap_stored_once():
    lat, lon, _ = border_point()
    t = np.arange(0.0, 5400, 10)
    start = destination(lat, lon, 270.0, 30_000.0)
    la, lo = destination(np.full(len(t), start[0]), np.full(len(t), start[1]), 90.0,
                         12.0 * KNOT * t)  # 12 kn east: over the border after ~80 min
    silent = (t > 4000) & (t < 4000 + 1200)
    dark = ship(276_222_000, t[~silent], la[~silent], lo[~silent], 12.0, 90.0)
    crowd = []
    for i in range(8):  # good reception all along: slow traffic around the route
        ba, bo = destination(np.full(len(t), lat), np.full(len(t), lon), 45.0 * i,
                             4_000.0 + 2_500.0 * (i % 3))  # fmt: skip
        ca, co = destination(ba, bo, 0.0, 5.0 * KNOT * t)
        crowd.append(ship(230_000_100 + i, t, ca, co, 5.0, 0.0))
    cuts = cuts_of([dark, *crowd])
    ref = one_process(cuts)
    gaps = [a for a in ref if a[1] == "maritime.ais_gap"]
    if not gaps:
        pytest.fail(f"the reference raised no gap: {ref}")
    got, _ = area_partitions(cuts)
    assert sorted(got[0] + got[1]) == ref
    amap = AreaMap(M)
    dark_end = la[t <= 4000][-1], lo[t <= 4000][-1]
    owner = amap.owner_of(float(dark_end[0]), float(dark_end[1]))
    assert [a for a in got[owner] if a[1] == "maritime.ais_gap"] == gaps


def test_an_area_partition_restarted_from_its_checkpoint_stores_the_same(tmp_path):
    """Each area partition stopped mid-stream and started again from its checkpoint in the
    store (pipeline state, position, and the owners of its alerts): what is stored is what
    one process stores."""
    from picket.pipeline.assemble import assemble
    from picket.store import open_store

    cuts = pair_across_border()
    ref = one_process(cuts)
    bus = InProcessBus()
    pub = Publisher(bus, 1, "synthetic", area_parts=M)
    for d, hi in cuts:
        pub.publish(copy(d), hi)
    pub.publish(Decoded.empty(), cuts[-1][1], eof=True)
    db = tmp_path / "store.db"

    def area_worker(k: int) -> Worker:
        asm = assemble(Config(store_path=str(db)), console=False)
        asm.pipeline.world.zones = pipeline([]).world.zones  # the reference's geography
        return Worker(asm, bus, k, M, AREA_STAGE, checkpoint_s=0.0)

    for k in range(M):
        w = area_worker(k)
        w.run(lambda w=w: w.stats.batches >= len(cuts) // 2)
        w.close()
        w = area_worker(k)
        assert w.last_seq > 0 and not w.finished  # resumed from its checkpoint
        w.run(lambda: False, until_eof=True)
        assert w.stats.batches <= len(cuts) - len(cuts) // 2 + 1
        w.close()
    st = open_store(str(db))
    try:
        assert sorted(key_of(a) for a in st.alert_objects()) == ref
    finally:
        st.close()


def test_the_owner_map_holds_open_alerts_only() -> None:
    """Ownership is kept while an alert is open and forgotten at its close, so a long run's
    checkpoint does not grow with every alert it ever raised; both partitions agree."""
    from picket.bus.stages import OwnedOnly
    from picket.model.alerts import Alert

    lat, lon, _ = border_point()
    amap = AreaMap(M)
    kept = [MemorySink() for _ in range(M)]
    owned = [OwnedOnly(kept[k], amap, k, {}) for k in range(M)]
    for i in range(50):
        a = Alert(id=f"a{i}", kind="maritime.encounter", severity="warning", time=float(i),
                  domain="maritime", subject=f"mmsi:{i}", lat=lat + i * 0.01, lon=lon,
                  summary="", evidence={})  # fmt: skip
        for o in owned:
            o.emit([("open", a)])
        if i % 2 == 0:
            for o in owned:
                o.emit([("close", a)])
    assert all(len(o.own) == 25 for o in owned)  # the 25 still open
    assert sum(o.dropped for o in owned) == 50 + 25  # each event held back by one partition
    assert sorted(i for k in kept for i in k.alerts) == sorted(f"a{i}" for i in range(50))
