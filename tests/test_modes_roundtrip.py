"""Encoder -> Beast stream -> Beast decoder returns the truth it was given."""

from __future__ import annotations

import numpy as np
import pytest

from picket.codec import modes_encode
from picket.geo.geodesy import haversine_m as distance
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.beast import BeastDecoder

FT = 0.3048
BASE = 1_700_000_000.0


def _scenario(seed: int = 3, n_ac: int = 25, steps: int = 12):
    rng = np.random.default_rng(seed)
    icao = rng.choice(np.arange(1, 1 << 24), n_ac, replace=False)
    lat0 = rng.uniform(-80, 80, n_ac)
    lon0 = rng.uniform(-180, 180, n_ac)
    rows = []  # (t, icao, lat, lon, alt, odd)
    for s in range(steps):
        t = 0.5 * s + rng.uniform(0, 0.4, n_ac)
        lat = lat0 + 0.002 * s
        lon = (lon0 + 0.003 * s + 180) % 360 - 180
        rows.append((t, icao, lat, lon, rng.uniform(-300, 13000, n_ac), np.full(n_ac, s % 2)))
    t, ic, la, lo, al, od = (np.concatenate(c) for c in zip(*rows, strict=True))
    o = np.argsort(t, kind="stable")
    return icao, t[o], ic[o], la[o], lo[o], al[o], od[o]


def _decode(stream: bytes, chunks: list[int] | None = None) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    dec = BeastDecoder(rej, "sim", base_time=BASE)
    outs, pos = [], 0
    for c in chunks or [len(stream)]:
        outs.append(dec.feed(stream[pos : pos + c]))
        pos += c
    outs.append(dec.feed(stream[pos:]))
    outs.append(dec.flush())
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rej


def test_positions_and_altitudes_round_trip():
    icao, t, ic, lat, lon, alt, odd = _scenario()
    nic = (ic % 12).astype(np.int64)
    frames = modes_encode.airborne_position(ic, lat, lon, alt, odd, nic)
    rep, _, rej = _decode(modes_encode.beast_stream(frames, t, signal=0x1A))
    assert rej.rejected == 0 and rej.accepted == len(t)
    assert len(rep) == len(t)
    assert np.allclose(rep.time, BASE + t, atol=1e-6)
    assert np.array_equal(rep.subject, key(Namespace.ICAO, ic))
    assert np.array_equal(rep.nic, nic)
    assert np.all(np.abs(rep.alt / FT - alt / FT) <= 12.5 + 1e-3)
    has = rep.has_position()
    # only each aircraft's first message lacks a partner
    assert has.sum() == len(t) - len(icao)
    err = distance(rep.lat[has], rep.lon[has], lat[has], lon[has])
    assert err.max() < 6.0


def test_chunking_does_not_change_the_result():
    _, t, ic, lat, lon, alt, odd = _scenario(seed=5, n_ac=10, steps=6)
    stream = modes_encode.beast_stream(
        modes_encode.airborne_position(ic, lat, lon, alt, odd), t, signal=0x1A
    )
    whole, _, _ = _decode(stream)
    rng = np.random.default_rng(1)
    chunks = list(rng.integers(1, 40, len(stream) // 10))
    pieces, _, rej = _decode(stream, chunks)
    assert rej.rejected == 0
    for c in ("time", "subject", "lat", "lon", "alt", "raw"):
        assert np.array_equal(whole[c], pieces[c], equal_nan=True), c


def test_velocity_identity_status_emergency_round_trip():
    rng = np.random.default_rng(11)
    n = 40
    icao = np.arange(0x3C0000, 0x3C0000 + n)
    gs, trk, vr = rng.uniform(30, 500, n), rng.uniform(0, 360, n), rng.uniform(-40, 40, n)
    calls = [f"DLH{k}X" for k in range(n)]
    nacp, emerg = rng.integers(0, 12, n), rng.integers(0, 7, n)
    squawk = rng.integers(0, 8, (n, 4)) @ np.array([1000, 100, 10, 1])
    frames = np.concatenate([
        modes_encode.velocity(icao, gs, trk, vr),
        modes_encode.identification(icao, calls, category=5),
        modes_encode.operational_status(icao, nacp, sil=3, version=2),
        modes_encode.emergency_status(icao, emerg, squawk),
    ])  # fmt: skip
    t = np.arange(len(frames)) * 0.01
    rep, statics, rej = _decode(modes_encode.beast_stream(frames, t))
    assert rej.rejected == 0
    v = rep.where(rep.kind == Kind.VELOCITY)
    assert np.array_equal(v.subject, key(Namespace.ICAO, icao))
    assert np.all(np.abs(v.speed - gs) < 0.52)  # 1 kt steps on each axis
    assert np.all(np.abs((v.course - trk + 180) % 360 - 180) < 0.5)
    assert np.all(np.abs(v.vrate - vr) <= 32 * FT / 60 + 1e-6)
    assert [s.fields["callsign"] for s in statics] == calls
    assert {s.fields["category"] for s in statics} == {"A5"}
    st = rep.where((rep.kind == Kind.STATUS) & (rep.msg == 31))
    assert np.array_equal(st.nacp, nacp) and set(st.sil) == {3} and set(st.version) == {2}
    em = rep.where((rep.kind == Kind.STATUS) & (rep.msg == 28))
    assert np.array_equal(em.emergency, emerg) and np.array_equal(em.squawk, squawk)


def test_counter_wraps_are_unwrapped():
    f = modes_encode.velocity(np.array([0xABCDEF] * 3), 100.0, 90.0, 0.0)
    t = np.array([2.0**48 / 12e6 - 1.0, 2.0**48 / 12e6 + 1.0, 2.0**48 / 12e6 + 2.0])
    rep, _, _ = _decode(modes_encode.beast_stream(f, t))
    assert np.allclose(rep.time - BASE, t, atol=1e-6)


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_truncated_final_frame_is_rejected(cut):
    f = modes_encode.velocity(np.array([0xABCDEF, 0xABCDEF]), 100.0, 90.0, 0.0)
    stream = modes_encode.beast_stream(f, np.array([1.0, 2.0]))
    rep, _, rej = _decode(stream[:-cut])
    assert len(rep) == 1
    assert rej.counts["beast.truncated"] == 1
