"""The OpenSky CSV reader's compiled path (`OpenSkyCsv._compiled`: field bounds and plain
decimals in numba, `float` for every other number) gives the reports the string path gives,
bit for bit, on real samples and on numbers written every way `float` reads or refuses."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.sources import air_json
from picket.sources.air_json import OpenSkyCsv

pytest.importorskip("numba")

HEAD = (b"time,icao24,lat,lon,velocity,heading,vertrate,callsign,onground,alert,spi,squawk,"
        b"baroaltitude,geoaltitude,lastposupdate,lastcontact")  # fmt: skip
ODD = ["1e5", "-0", "-0.0", ".5", "5.", ".", "-", "+1", " 1", "1_0", "nan", "inf", "-inf",
       "1e400", "-1e39", "3.5e38", "9007199254740991", "9007199254740992", "9007199254740993",
       "123456789012345678901234", "0.1234567890123456789012345", "00001.5000", "1.5.2",
       "0.0000000000000000000001", "0.00000000000000000000001", "47.45623779296875",
       "1600000011.9870002", "-180", "x", "1", "0x10", "", "", "2e-3"]  # fmt: skip


def _decode(data: bytes, chunk: int, compiled: bool, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(air_json, "KERNEL_ROWS", 1 if compiled else 1 << 60)
    rejects = Rejects()
    dec = OpenSkyCsv(rejects, "sample")
    outs = [dec.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    outs.append(dec.flush())
    reps = Reports.concat([o.reports for o in outs])
    return reps, [(s.time, s.subject, s.fields) for o in outs for s in o.statics], rejects


def _same(data: bytes, chunk: int, monkeypatch: pytest.MonkeyPatch) -> Reports:
    a, sa, ra = _decode(data, chunk, False, monkeypatch)
    b, sb, rb = _decode(data, chunk, True, monkeypatch)
    assert len(a) > 0
    for c, v in a.cols.items():
        np.testing.assert_array_equal(b.cols[c], v, err_msg=c)
        assert v.tobytes() == b.cols[c].tobytes(), c  # -0.0 and NaN bits too
    assert sa == sb
    assert ra.as_dict() == rb.as_dict()
    return b


def test_compiled_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = OpenSkyCsv._compiled

    def spy(self, *a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(OpenSkyCsv, "_compiled", spy)
    data = HEAD + b"\n1600000000,4b1805,47.1,8.2,200,90,0,SWR1,False,False,False,1000,10000,,,\n"
    out, _, _ = _decode(data, 1 << 20, True, monkeypatch)
    assert calls and out.lat.tolist() == [47.1]


def test_real_samples(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted((shared_data / "air" / "traffic_samples").glob("*.csv.gz"))[:8]
    body: list[bytes] = []
    for f in files:
        lines = gzip.decompress(f.read_bytes()).splitlines()
        if lines[0] == HEAD:
            body += lines[1:]
    data = b"\n".join([HEAD, *body]) + b"\n"
    for chunk in (1 << 20, 50_000):
        out = _same(data, chunk, monkeypatch)
    assert len(out) > 10_000 and np.isfinite(out.lat).any()


def test_numbers_written_every_way(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(6)
    rows = []
    for k in range(3000):
        v = [rng.choice(ODD) if rng.random() < 0.3 else repr(round(rng.uniform(-200, 200), 5))
             for _ in range(8)]  # fmt: skip
        cs = rng.choice(["SWR12 ", "", "EZY9", " A", "LONGCALLSIGN1234567"])
        ground = rng.choice(["True", "False", "", "true", " 1", "yes", "0"])
        icao = rng.choice(["4b1805", "4B1806", "3c6444", " 3c6445"])
        t = 1_600_000_000 + k
        rows.append(",".join([str(t), icao, v[0], v[1], v[2], v[3], v[4], cs, ground, "False",
                              "False", v[5], v[6], "", v[7] if k % 3 else "", str(t)]))  # fmt: skip
    data = (HEAD.decode() + "\n" + "\n".join(rows) + "\n").encode()
    for chunk in (1 << 20, 4096):
        out = _same(data, chunk, monkeypatch)
    assert np.isinf(out.lat).any() and np.isnan(out.lat).any()
    assert (np.signbit(out.lat) & (out.lat == 0)).any()  # a -0 kept its sign


def test_broken_numba_costs_no_rows(monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    """numba importable but failing (a broken LLVM): logged once, the string path reads."""
    from picket.sources import opensky_kernels

    def boom(*a: object) -> None:
        raise RuntimeError("no LLVM")

    rows = [f"{1_600_000_000 + k},4b18{k % 100:02d},47.{k},8.5,200,90,0,SWR{k % 7},False,"
            f"False,False,1000,10000,,,1" for k in range(300)]  # fmt: skip
    data = (HEAD.decode() + "\n" + "\n".join(rows) + "\n").encode()
    want, ws, _ = _decode(data, 1 << 20, False, monkeypatch)
    monkeypatch.setattr(air_json, "_BROKEN", [])
    monkeypatch.setattr(opensky_kernels, "bounds", boom)
    got, gs, rej = _decode(data, 1 << 20, True, monkeypatch)
    assert len(got) == len(want) == 300 and rej.rejected == 0 and gs == ws
    np.testing.assert_array_equal(got.lat, want.lat)
    assert air_json._BROKEN and "no LLVM" in caplog.text
    assert air_json._kernels() is None
