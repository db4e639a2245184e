"""Mode S decoding of real captures: against dump1090's decode and against rs1090."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import rs1090

from picket.geo.geodesy import haversine_m
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import number
from picket.sources.beast import split_frames, time_from_name
from picket.sources.registry import read_file

FT, KT, FPM = 0.3048, 1852 / 3600, 0.3048 / 60
CAPTURE = "air/beast_capture_gulf_of_finland_20180403_61s.bin"

pytestmark = pytest.mark.realdata


def _start_time(shared: Path, rel: str) -> float:
    """The capture's start: the unix time in its original file name (MANIFEST.tsv)."""
    with open(shared / "MANIFEST.tsv") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if row and row[0] == rel:
                t = time_from_name(row[-1])
                assert t is not None
                return t
    raise AssertionError(rel)


def _read(path: Path, **kw) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    outs = list(read_file(path, rej, **kw))
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rej


def test_capture_matches_dump1090_positions(shared_data):
    rep, statics, rej = _read(shared_data / CAPTURE, start_time=_start_time(shared_data, CAPTURE))
    assert len(np.unique(rep.subject)) == 11
    assert rej.accepted + rej.rejected + rej.unused.total() == 13954  # every frame counted
    assert rej.unused["Mode A/C replies"] == 5026
    # six replies at the start come before their aircraft's first squitter: no known address
    assert rej.counts == {"modes.unknown_address": 6}
    sbs, _, srej = _read(shared_data / CAPTURE.replace(".bin", ".sbs"))
    assert srej.counts["sbs.bad_line"] == 2  # dump1090's trailing summary lines
    mine = rep.where(rep.has_position())
    ref = sbs.where(sbs.has_position())
    assert len(mine) > 1400
    errs = []
    for s in np.unique(mine.subject):
        a, b = mine.where(mine.subject == s), ref.where(ref.subject == s)
        if not len(b):
            continue
        j = np.clip(np.searchsorted(b.time, a.time), 1, len(b) - 1)
        j = np.where(np.abs(b.time[j - 1] - a.time) < np.abs(b.time[j] - a.time), j - 1, j)
        close = np.abs(b.time[j] - a.time) <= 1.0
        errs.append(haversine_m(a.lat[close], a.lon[close], b.lat[j[close]], b.lon[j[close]]))
    err = np.concatenate(errs)
    assert len(err) > 0.95 * len(mine)
    assert np.mean(err < 50) >= 0.99
    cs = [s for s in statics if "callsign" in s.fields]  # (Comm-B statics besides)
    assert len({s.subject for s in cs}) == len(cs) == 11  # one callsign each


def _frames_by_offset(data: bytes) -> dict[int, str]:
    starts, ub, us, _, _ = split_frames(data)
    out = {}
    for s, u in zip(starts, us, strict=True):
        typ = ub[u + 1]
        n = {0x32: 7, 0x33: 14}.get(int(typ))
        if n:
            out[int(s)] = ub[u + 9 : u + 9 + n].tobytes().hex()
    return out


def _compare_with_rs1090(rep: Reports, statics: list, frames: dict[int, str]) -> int:
    offs = [o for o in rep.raw.tolist()]
    ref = rs1090.decode([frames[o] for o in offs])
    checked = 0
    for i, m in enumerate(ref):
        if "icao24" not in m:
            continue
        assert int(m["icao24"], 16) == number(int(rep.subject[i])), m
        kind, msg = int(rep.kind[i]), int(rep.msg[i])
        if msg < 100 and "tc" in m:
            assert m["tc"] == msg
        if kind == Kind.POSITION and m.get("altitude") is not None and msg < 19:
            assert round(float(rep.alt[i]) / FT) == m["altitude"], m
            checked += 1
        if kind == Kind.IDENTITY and msg in (104, 120) and m.get("altitude") is not None:
            assert round(float(rep.alt[i]) / FT) == m["altitude"], m
            checked += 1
        if kind == Kind.IDENTITY and msg in (105, 121):
            assert f"{int(rep.squawk[i]):04d}" == m["squawk"], m
            checked += 1
        if kind == Kind.VELOCITY and m.get("groundspeed") is not None:
            assert abs(rep.speed[i] / KT - m["groundspeed"]) < 1e-3
            assert abs((rep.course[i] - m["track"] + 180) % 360 - 180) < 1e-3
            if m.get("vertical_rate") is not None:
                assert round(float(rep.vrate[i]) / FPM) == m["vertical_rate"]
            checked += 1
    names = {m["callsign"] for m in rs1090.decode(list(frames.values())) if "callsign" in m}
    assert {s.fields["callsign"] for s in statics if "callsign" in s.fields} == {
        n.strip() for n in names}
    return checked


def test_capture_agrees_with_rs1090(shared_data):
    path = shared_data / CAPTURE
    rep, statics, _ = _read(path, start_time=_start_time(shared_data, CAPTURE))
    checked = _compare_with_rs1090(rep, statics, _frames_by_offset(path.read_bytes()))
    assert checked > 3000


def test_pymodes_csv_agrees_with_rs1090(shared_data):
    path = shared_data / "air/pymodes_sample_adsb.csv"
    rep, statics, rej = _read(path)
    assert rej.rejected == 0 and rej.accepted == 2000
    lines = path.read_text().splitlines()
    frames = {k + 1: ln.split(",")[1].strip('"') for k, ln in enumerate(lines)}
    assert _compare_with_rs1090(rep, statics, frames) > 1000
    # positions: rs1090 pairs messages itself (global decoding only); where it gives one,
    # ours is the same, and our local decoding adds the rest
    hexes = [frames[k] for k in sorted(frames)]
    times = [float(ln.split(",")[0]) for ln in lines]
    ref = rs1090.decode(hexes, times)
    row_of = {int(r): i for i, r in enumerate(rep.raw)}
    pairs = [(row_of[k + 1], m) for k, m in enumerate(ref) if "latitude" in m]
    assert len(pairs) > 700
    lat = np.array([rep.lat[i] for i, _ in pairs])
    lon = np.array([rep.lon[i] for i, _ in pairs])
    err = haversine_m(
        lat, lon, [m["latitude"] for _, m in pairs], [m["longitude"] for _, m in pairs]
    )
    assert np.all(err < 1.0)
    assert rep.has_position().sum() >= len(pairs)
