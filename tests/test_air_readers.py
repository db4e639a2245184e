"""Air readers on real files and on hostile bytes: values land in SI columns, nothing escapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.codec import modes_encode
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.beast import split_frames
from picket.sources.registry import detect, get_format, read_file

FT, KT, FPM = 0.3048, 1852 / 3600, 0.3048 / 60
AIR = "air"


def _read(path: Path, fmt: str = "auto", **kw) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    outs = list(read_file(path, rej, fmt, **kw))
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rej


@pytest.mark.parametrize(
    ("name", "fmt", "n_subjects"),
    [
        # (2: the third aircraft's one reply precedes its first all-call: unknown address)
        ("dump1090_sample.beast", "beast", 2),
        ("beast_capture_gulf_of_finland_20180403_61s.bin", "beast", 11),
        ("beast_capture_gulf_of_finland_20180403_61s.sbs", "sbs", 11),
        ("pymodes_sample_adsb.csv", "modes-csv", 1),
        ("readsb_trace_full_ac671b.json", "readsb-json", 1),
        ("opensky_plane_states_sample.csv", "opensky", 84),
        ("border_control_channel_20200417.json.gz", "opensky", 1),
    ],
)
def test_real_files_detect_and_read(shared_data, name, fmt, n_subjects):
    path = shared_data / AIR / name
    assert detect(path).name == fmt
    # Beast carries no date: without a start time its frames are rejected (docs/time.md)
    rep, _, rej = _read(path, **({"start_time": 1522782148.0} if fmt == "beast" else {}))
    assert rej.accepted > 0
    assert len(np.unique(rep.subject)) == n_subjects
    pos = rep.where(rep.has_position())
    assert np.all(np.abs(pos.lat) <= 90) and np.all(np.abs(pos.lon) <= 180)
    assert np.all(np.isfinite(rep.time))


def test_readsb_trace_values(shared_data):
    rep, statics, rej = _read(shared_data / AIR / "readsb_trace_full_ac671b.json")
    assert rej.rejected == 0 and len(rep) == 2500
    # first point: [0.00, 16.777359, -88.036868, 32000, 478.6, 327.8, ...], t0 1738703622.619
    r = rep.row(0)
    assert r["time"] == pytest.approx(1738703622.619)
    assert (r["lat"], r["lon"]) == (16.777359, -88.036868)
    assert r["alt"] == pytest.approx(32000 * FT, abs=0.01)
    assert r["speed"] == pytest.approx(478.6 * KT, rel=1e-6)
    assert r["subject"] == key(Namespace.ICAO, 0xAC671B)
    assert r["msg"] == 1  # adsb_icao
    # the fourth point carries details: nic 8, nac_p 10, sil 3, version 2, squawk 4637
    r = rep.row(3)
    assert (r["nic"], r["nacp"], r["sil"], r["version"], r["squawk"]) == (8, 10, 3, 2, 4637)
    assert statics[0].fields["callsign"] == "DAL1812"


def test_opensky_csv_values(shared_data):
    rep, statics, _ = _read(shared_data / AIR / "opensky_plane_states_sample.csv")
    # 1626098400,3c4591,51.4689...,-0.4407...,254.65...,99.65...,0.0,BOX413,...,1174.0,
    # 10668.0,10843.26,1626098398.996,...
    r = rep.row(0)
    assert r["subject"] == key(Namespace.ICAO, 0x3C4591)
    assert r["time"] == pytest.approx(1626098398.996)
    assert r["lat"] == pytest.approx(51.46894551939883)
    assert r["alt"] == pytest.approx(10668.0)
    assert r["speed"] == pytest.approx(254.65393708930063, rel=1e-6)
    assert r["squawk"] == 1174
    assert statics[0].fields["callsign"] == "BOX413"


def test_traffic_records_json_values(shared_data):
    rep, statics, _ = _read(shared_data / AIR / "border_control_channel_20200417.json.gz")
    # {"timestamp":1587094850000,"icao24":"407918","latitude":50.953583,...,
    #  "groundspeed":36.0,"track":41.0,"vertical_rate":960.0,"callsign":"GTEKV",
    #  "squawk":"7000","altitude":125.0}
    r = rep.row(0)
    assert r["time"] == 1587094850.0 and r["lat"] == 50.953583
    assert r["speed"] == pytest.approx(36 * KT, rel=1e-6)
    assert r["vrate"] == pytest.approx(960 * FPM, rel=1e-6)
    assert r["alt"] == pytest.approx(125 * FT, rel=1e-6)
    assert r["squawk"] == 7000
    assert statics[0].fields["callsign"] == "GTEKV"


def test_avr_with_and_without_mlat_ticks(tmp_path):
    icao = np.array([0x4CA7B5] * 4)
    f = np.concatenate([
        modes_encode.airborne_position(icao[:2], 59.7, 30.1, 10000.0, np.array([0, 1])),
        modes_encode.velocity(icao[:1], 200.0, 45.0, 0.0),
        modes_encode.identification(icao[:1], ["FIN7"]),
    ])  # fmt: skip
    ticks = [12_000_000 * k for k in range(1, 5)]
    text = "".join(f"@{t:012X}{bytes(r).hex().upper()};\r\n" for t, r in zip(ticks, f, strict=True))
    text += "*" + bytes(f[2]).hex() + ";\nnot a frame\n*8D4CA7B5ZZ;\n"
    p = tmp_path / "feed.avr"
    p.write_text(text)
    rep, statics, rej = _read(p, base_time=1000.0)
    assert detect(p).name == "avr"
    assert rej.counts["avr.bad_line"] == 1 and rej.counts["avr.bad_hex"] == 1
    assert list(rep.time[:3]) == [1001.0, 1002.0, 1003.0]
    assert rep.has_position().sum() == 1
    pos = rep.where(rep.has_position())
    assert abs(pos.lat[0] - 59.7) < 1e-4 and abs(pos.lon[0] - 30.1) < 1e-4
    assert (rep.kind == Kind.VELOCITY).sum() == 2
    assert statics[0].fields["callsign"] == "FIN7"


def test_sbs_lines_and_rejects(tmp_path):
    p = tmp_path / "x.sbs"
    p.write_text(
        "MSG,3,1,1,4CA7B5,1,2024/01/02,03:04:05.500,2024/01/02,03:04:05.500,,35000,,,60.1,24.9"
        ",,,,,,0\r\n"
        "MSG,4,1,1,4CA7B5,1,2024/01/02,03:04:06.000,2024/01/02,03:04:06.000,,,450,90,,,-640"
        ",,,,,0\n"
        "MSG,1,1,1,4CA7B5,1,2024/01/02,03:04:07.000,2024/01/02,03:04:07.000,FIN7,,,,,,,,,,,0\n"
        "MSG,3,1,1,4CA7B5,1,2024/13/45,03:04:05.500,,,,35000,,,60.1,24.9,,,,,,0\n"
        "garbage line\n"
    )
    rep, statics, rej = _read(p)
    assert rej.counts["sbs.bad_line"] == 1 and rej.counts["sbs.bad_time"] == 1
    assert len(rep) == 2
    r = rep.row(0)
    assert r["time"] == 1704164645.5 and r["alt"] == pytest.approx(35000 * FT)
    assert (r["lat"], r["lon"]) == (60.1, 24.9)
    r = rep.row(1)
    assert r["speed"] == pytest.approx(450 * KT) and r["vrate"] == pytest.approx(-640 * FPM)
    assert statics[0].fields["callsign"] == "FIN7"


# fuzzing: no input bytes may raise; every rejected byte is counted somewhere ---------
_VALID_BEAST = modes_encode.beast_stream(
    modes_encode.airborne_position(np.arange(1, 9), 10.0, 20.0, 1000.0, np.arange(8) & 1),
    np.arange(8.0),
    signal=0x1A,
)

_BOUNDS = np.r_[split_frames(_VALID_BEAST)[0], len(_VALID_BEAST)]

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _drive(fmt: str, data: bytes, cuts: list[int]) -> Rejects:
    rej = Rejects()
    clockless = fmt in ("beast", "avr")  # no date of their own: given a start (docs/time.md)
    dec = get_format(fmt).decoder(rej, "fuzz", **({"start_time": 1.7e9} if clockless else {}))
    pos = 0
    for c in sorted(set(cuts)):
        dec.feed(data[pos:c])
        pos = c
    dec.feed(data[pos:])
    dec.flush()
    return rej


@FUZZ
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=6))
@pytest.mark.parametrize("fmt", ["beast", "avr", "modes-csv", "sbs", "readsb-json", "opensky"])
def test_random_bytes_never_raise(fmt, data, cuts):
    rej = _drive(fmt, data, cuts)
    assert rej.accepted >= 0


@FUZZ
@given(cut=st.integers(0, len(_VALID_BEAST)), flips=st.lists(st.integers(0, 10**6), max_size=5))
def test_damaged_beast_is_counted(cut, flips):
    data = bytearray(_VALID_BEAST[:cut])
    for f in flips:
        if data:
            data[f % len(data)] ^= 0x5A
    rej = _drive("beast", bytes(data), [cut // 2])
    if not flips and cut == len(_VALID_BEAST):
        assert rej.rejected == 0 and rej.accepted == 8
    if not flips:  # a cut frame is reported, not lost; whole frames all decode
        whole = int(np.searchsorted(_BOUNDS, cut, side="right")) - 1
        assert rej.accepted == whole
        assert (rej.rejected > 0) == (cut not in _BOUNDS)


@FUZZ
@given(data=st.text(max_size=400))
def test_json_fragments_never_raise(data):
    for fmt in ("readsb-json", "opensky"):
        _drive(fmt, ('{"now": 1, "aircraft": [' + data).encode(), [])
        _drive(fmt, ('{"time": 1, "states": [[' + data).encode(), [])
