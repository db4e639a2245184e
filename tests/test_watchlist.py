"""Watchlists: listed subjects and identities raise `watchlist.hit` when they appear, enter
a zone, go dark and come back; on a real AIS capture and on synthetic known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from picket.cli.main import main
from picket.config import ConfigError, build_detectors, from_dict
from picket.detect.watchlist import WatchlistHits, WatchlistThresholds, load_watchlist
from picket.geo.zones import ZoneSet
from picket.model.decoded import Decoded, Static
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink

AIS = "ais/dma_danish_waters_20131112_5min.nmea.gz"
T0 = 1_700_000_000.0
BOX = [(11.0, 55.0), (11.2, 55.0), (11.2, 55.2), (11.0, 55.2), (11.0, 55.0)]


def _csv(tmp_path, rows: str):
    p = tmp_path / "watch.csv"
    p.write_text("match,label,severity,note\n" + rows)
    return p


def test_a_listed_vessel_appears_enters_goes_dark_and_returns(tmp_path):
    wl = load_watchlist([_csv(tmp_path, "mmsi:273412345,shadow fleet,critical,case 17\n")])
    det = WatchlistHits(WatchlistThresholds(), wl)
    mem = MemorySink()
    zones = ZoneSet.from_features([("Anchorage B", "anchorage", BOX, {})])
    p = Pipeline([det], [mem], World(zones=zones))
    other = key(Namespace.MMSI, 219000001)
    me = key(Namespace.MMSI, 273412345)
    # minutes 0-20 west of the box, 20-30 inside; silent 30-70; back at 70
    t = np.r_[np.arange(0, 1800, 60.0), np.arange(4200, 4500, 60.0)] + T0
    lon = np.where(t - T0 < 1200, 10.9, 11.1)
    lon[t - T0 >= 4200] = 11.1
    ev = []
    for k in range(0, len(t), 5):
        sl = slice(k, k + 5)
        r = Reports.build(len(t[sl]), time=t[sl], domain=Domain.MARITIME, kind=Kind.POSITION,
                          subject=me, lat=55.1, lon=lon[sl])  # fmt: skip
        bg = Reports.build(1, time=t[sl][-1], domain=Domain.MARITIME, kind=Kind.POSITION,
                           subject=other, lat=54.0, lon=10.0)  # fmt: skip
        ev += p.process(Decoded(Reports.concat([r, bg]).sorted_by_time()))
        if k == 25:  # time passes for the others while the listed vessel is silent
            for q in np.arange(1800, 4200, 600.0) + T0:
                bg = Reports.build(1, time=q, domain=Domain.MARITIME, kind=Kind.POSITION,
                                   subject=other, lat=54.0, lon=10.0)  # fmt: skip
                ev += p.process(Decoded(bg))
    events = [a.evidence["event"] for _, a in ev]
    assert events == ["appeared", "entered_zone", "went_dark", "reappeared"]
    a = mem.alerts[next(iter(mem.alerts))]
    assert a.severity == "critical" and "shadow fleet" in a.summary
    dark = next(x for x in ev if x[1].evidence.get("event") == "went_dark")[1]
    assert dark.last_time == pytest.approx(T0 + 1740 + 1800)  # last report + 30 min
    assert all(x[1].subject == "mmsi:273412345" for x in ev)  # nothing on the other vessel


def test_identity_entries_match_when_the_identity_arrives(tmp_path):
    wl = load_watchlist([_csv(tmp_path, "name:*STAR*,,warning,\nship_type:80-89,tankers,info,\n"
                                        "callsign:oz?1,,info,\n")])  # fmt: skip
    det = WatchlistHits(WatchlistThresholds(), wl)
    p = Pipeline([det], [])
    subs = [key(Namespace.MMSI, m) for m in (1, 2, 3, 4)]
    ident = [{"name": "NORDIC STAR"}, {"ship_type": 84}, {"callsign": "OZA1"}, {"name": "X"}]
    r = Reports.build(4, time=T0, domain=Domain.MARITIME, kind=Kind.POSITION,
                      subject=np.array(subs), lat=55.0, lon=11.0)  # fmt: skip
    ev = p.process(Decoded(r, [Static(T0, s, f) for s, f in zip(subs, ident, strict=True)]))
    assert sorted(a.subject for _, a in ev) == ["mmsi:000000001", "mmsi:000000002",
                                                 "mmsi:000000003"]  # fmt: skip


def test_bad_lists_are_one_line_errors(tmp_path):
    for rows, msg in (("mmsi:12x,,,\n", "watch.csv:2"), ("mmsi:1,,loud,\n", "severity 'loud'"),
                      ("nonsense,,,\n", "expected KIND:VALUE")):  # fmt: skip
        with pytest.raises(ConfigError, match=msg):
            build_detectors(from_dict({"watchlist": {"files": [str(_csv(tmp_path, rows))]}}))


@pytest.mark.realdata
def test_real_capture_tankers_and_one_vessel(shared_data, tmp_path, capsys):
    from picket.model.rejects import Rejects
    from picket.sources.registry import read_file

    statics = {}
    seen = set()
    for d in read_file(shared_data / AIS, Rejects()):
        seen.update(d.reports.subject[d.reports.kind == Kind.POSITION].tolist())
        for s in d.statics:
            statics.setdefault(s.subject, {}).update(s.fields)
    tankers = {s for s, f in statics.items() if 80 <= (f.get("ship_type") or 0) <= 89 and s in seen}
    one = next(iter(sorted(seen - tankers)))
    wl = _csv(tmp_path, f"ship_type:80-89,tanker,info,\nmmsi:{one & ((1 << 48) - 1)},,warning,\n")
    cfg = tmp_path / "picket.toml"
    cfg.write_text(f'[watchlist]\nfiles = ["{wl}"]\n')
    out = tmp_path / "a.jsonl"
    assert main(["replay", str(shared_data / AIS), "--config", str(cfg), "--no-store",
                 "--quiet", "--no-progress", "--alerts-out", str(out)]) == 0  # fmt: skip
    hits = [a for a in map(json.loads, out.read_text().splitlines())
            if a["kind"] == "watchlist.hit"]  # fmt: skip
    from picket.model.subjects import format_subject

    want = {format_subject(s) for s in tankers | {one}}
    assert len(tankers) >= 3 and {a["subject"] for a in hits} == want
