"""Slot recycling: `watchlist.hit` lists a new subject in a forgotten slot by its own key
and identity, never by the entry, times and zone of the subject the slot held before."""

from __future__ import annotations

import numpy as np

from picket.detect.watchlist import WatchlistHits, WatchlistThresholds, load_watchlist
from picket.geo.zones import ZoneSet
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from tests.test_forget_maritime_motion import differs

T0 = 1_700_000_000.0
BOX = [(11.0, 55.0), (11.2, 55.0), (11.2, 55.2), (11.0, 55.2), (11.0, 55.0)]
A, B, OTHER = 273_412_345, 273_412_346, 219_000_001


def detector(tmp_path) -> WatchlistHits:
    p = tmp_path / "watch.csv"
    p.write_text("match,label,severity,note\nmmsi:273412345,shadow fleet,critical,case 17\n"
                 "mmsi:273412346,tanker of interest,warning,case 18\n")  # fmt: skip
    return WatchlistHits(WatchlistThresholds(), load_watchlist([p]))


def pos(mmsi: int, t: float, lon: float) -> Reports:
    return Reports.build(1, time=T0 + t, domain=Domain.MARITIME, kind=Kind.POSITION,
                         subject=key(Namespace.MMSI, mmsi), lat=55.1, lon=lon)  # fmt: skip


def run(det: WatchlistHits, with_a: bool) -> list:
    """A (listed) enters the box and leaves it silent; B (listed too) comes later, outside
    it, then enters it. `with_a=False`: a pipeline that never saw A."""
    p = Pipeline([det], [], World(zones=ZoneSet.from_features([("Box", "anchorage", BOX, {})])))
    p.process(Decoded(pos(OTHER, 0, 10.0)))
    if with_a:
        p.process(Decoded(Reports.concat([pos(A, 60, 10.9), pos(A, 120, 11.1)])))
        k = p.tracks.slot(key(Namespace.MMSI, A))
        p.forget_slots(np.array([k], np.int64))
    ev = []
    for t, lon in ((180, 10.9), (240, 10.9), (300, 11.1)):
        ev += p.process(Decoded(pos(B, t, lon)))
    if with_a:
        assert p.tracks.slot(key(Namespace.MMSI, B)) == k
    return ev


def said(events: list) -> list[tuple]:
    return [(a.subject, a.severity, a.summary, a.evidence["event"],
             a.evidence["watchlist"]["label"]) for _, a in events]  # fmt: skip


def test_a_listed_subject_in_a_forgotten_slot_is_listed_by_its_own_entry(tmp_path):
    got = run(detector(tmp_path), with_a=True)
    want = run(detector(tmp_path), with_a=False)
    assert [x[3] for x in said(want)] == ["appeared", "entered_zone"]
    assert said(got) == said(want)
    assert all(x[4] == "tanker of interest" for x in said(got))


def test_an_unlisted_subject_in_a_listed_subjects_slot_raises_nothing(tmp_path):
    p = tmp_path / "watch.csv"
    p.write_text("match,label,severity,note\nmmsi:273412345,shadow fleet,critical,\n")
    det = WatchlistHits(WatchlistThresholds(), load_watchlist([p]))
    got = run(det, with_a=True)
    assert got == []  # B is not listed: no zone entry, no went-dark for it
    assert not det.entry


def test_forget_leaves_a_never_used_slot(tmp_path):
    det = detector(tmp_path)
    p = Pipeline([det], [], World(zones=ZoneSet.from_features([("Box", "anchorage", BOX, {})])))
    p.process(Decoded(Reports.concat([pos(OTHER, 0, 10.0), pos(A, 0, 11.1)])))
    p.process(Decoded(pos(OTHER, 3600, 10.0)))  # A went dark meanwhile
    k = p.tracks.slot(key(Namespace.MMSI, A))
    assert det.dark[k] and det.zone[k] == 0 and k in det.entry
    assert sorted(differs(det, k)) == ["det.dark", "det.entry", "det.last", "det.zone"]
    det.forget(np.array([k, 5000], np.int64))
    assert differs(det, k) == []
