"""The vectorised AIS path against pyais, message by message, on every real NMEA file."""

from __future__ import annotations

import gzip
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyais.decode import decode_nmea_and_ais

from picket.codec.ais_decode import OK, decode_payloads
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import number
from picket.sources.registry import read_file
from tests.ais_files import NMEA_FILES

KNOT = 1852.0 / 3600.0
POSITION_TYPES = {1, 2, 3, 18, 19, 27}


def _lines(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.split(b"\n")


def _pyais_positions(path: Path) -> dict[int, dict]:
    """Line number -> pyais's decode of every single-sentence position message."""
    out = {}
    for no, line in enumerate(_lines(path), start=1):
        line = line.strip()
        if b"VDM," not in line and b"VDO," not in line:
            continue
        body = line[line.find(b"\\", 1) + 1 :] if line.startswith(b"\\") else line
        if body.split(b",")[1:2] != [b"1"]:
            continue
        try:
            _, m = decode_nmea_and_ais(line, error_if_checksum_invalid=True)
        except Exception:
            continue
        if m.msg_type in POSITION_TYPES:
            out[no] = m.asdict(enum_as_int=True)
    return out


def _na(v, *sentinels) -> float:
    """pyais keeps sentinels and out-of-range codes as numbers; picket makes them missing."""
    return math.nan if v is None or any(v >= s for s in sentinels) else float(v)


def _same(a: float, b: float, tol: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


@pytest.mark.realdata
@pytest.mark.parametrize("name", NMEA_FILES)
def test_fast_path_matches_pyais_on_every_position_message(shared_data, name):
    path = shared_data / "ais" / name
    ref = _pyais_positions(path)
    assert len(ref) > 40
    rj = Rejects()
    r = Reports.concat([d.reports for d in read_file(path, rj, fmt="ais-nmea")])
    pos = r.where(r.kind == Kind.POSITION)
    by_line = {int(x): i for i, x in enumerate(pos.raw)}
    missing = [no for no in ref if no not in by_line]
    assert missing == [], f"pyais decoded lines picket did not: {missing[:5]}"
    bad = []
    for no, m in ref.items():
        i = by_line[no]
        t = m["msg_type"]
        mine = {
            "type": int(pos.msg[i]),
            "mmsi": int(number(int(pos.subject[i]))),
            "lat": float(pos.lat[i]),
            "lon": float(pos.lon[i]),
            "sog": float(pos.speed[i]) / KNOT,
            "cog": float(pos.course[i]),
            "heading": float(pos.heading[i]),
            "status": int(pos.nav_status[i]),
        }
        lat = _na(abs(m["lat"]), 91) if m["lat"] is not None else math.nan
        lon = _na(abs(m["lon"]), 181) if m["lon"] is not None else math.nan
        sog_na = 63 if t == 27 else 102.3
        cog_na = 360 if t == 27 else 360.0
        ok = (
            mine["type"] == t
            and mine["mmsi"] == m["mmsi"]
            and _same(abs(mine["lat"]), lat, 1e-6)
            and _same(abs(mine["lon"]), lon, 1e-6)
            and (math.isnan(lat) or np.sign(mine["lat"]) == np.sign(m["lat"]) or lat == 0)
            and (math.isnan(lon) or np.sign(mine["lon"]) == np.sign(m["lon"]) or lon == 0)
            and _same(mine["sog"], _na(m["speed"], sog_na), 1e-3)
            and _same(mine["cog"], _na(m["course"], cog_na), 1e-3)
            and _same(mine["heading"], _na(m.get("heading"), 360), 0)
            and mine["status"] == (m["status"] if t in (1, 2, 3, 27) else -1)
        )
        if not ok:
            bad.append((no, mine, m))
    assert bad == [], f"{len(bad)} of {len(ref)} differ, first: {bad[0]}"


def _text6(s: str | None) -> str | None:
    """AIS text ends at the first '@' pad; pyais only strips trailing ones."""
    return (s or "").partition("@")[0].strip() or None


@pytest.mark.realdata
def test_identity_and_station_messages_match_pyais(shared_data):
    """Types 4, 21 and 24 (one sentence each) through the batch codec, field by field."""
    payloads, fills, refs = [], [], []
    for name in ("aislib_stream_example_20100611.nmea", "aisdb_global_20211101_1min.nm4"):
        for line in _lines(shared_data / "ais" / name):
            line = line.strip()
            body = line[line.find(b"\\", 1) + 1 :] if line.startswith(b"\\") else line
            f = body.split(b",")
            if len(f) != 7 or f[1] != b"1" or f[5][:1] not in (b"4", b"C", b"E", b"H"):
                continue
            try:
                _, m = decode_nmea_and_ais(line, error_if_checksum_invalid=True)
            except Exception:
                continue
            payloads.append(f[5])
            fills.append(int(f[6][:1]))
            refs.append(m)
    counts = Counter(m.msg_type for m in refs)
    assert counts[4] > 50 and counts[21] > 20 and counts[24] > 50
    buf = np.frombuffer(b"".join(payloads), np.uint8)
    length = np.array([len(p) for p in payloads])
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    res = decode_payloads(buf, start, length, np.array(fills))
    statics = {j: (subject, fields) for j, subject, fields in res.statics}
    row_of = {int(j): i for i, j in enumerate(res.rows)}
    for j, m in enumerate(refs):
        assert res.status[j] == OK
        subject, fields = statics[j]
        assert number(subject) == m.mmsi
        if m.msg_type in (4, 19, 21):
            i = row_of[j]
            lat = math.nan if abs(m.lat) > 90 else m.lat
            lon = math.nan if abs(m.lon) > 180 else m.lon
            assert _same(float(res.cols["lat"][i]), lat, 1e-6)
            assert _same(float(res.cols["lon"][i]), lon, 1e-6)
        if m.msg_type == 4:
            assert fields == {"base_station": True}
        elif m.msg_type == 19:
            assert fields.get("name") == _text6(m.shipname)
            assert fields.get("ship_type") == (int(m.ship_type) or None)
            assert fields.get("to_stern") == (m.to_stern or None)
        elif m.msg_type == 21:
            assert fields.get("name") == _text6(m.full_name)
            assert fields["aid_type"] == int(m.aid_type)
        elif m.partno == 0:
            assert fields.get("name") == _text6(m.shipname)
        else:
            assert fields.get("callsign") == _text6(m.callsign)
            assert fields.get("ship_type") == (int(m.ship_type) or None)
            if m.mmsi // 10_000_000 != 98:
                assert fields.get("to_bow") == (m.to_bow or None)
                assert fields.get("to_starboard") == (m.to_starboard or None)
