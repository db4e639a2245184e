"""The ADS-B encoder: frames that rs1090 and picket's own field codecs read back."""

from __future__ import annotations

import numpy as np
import pytest
import rs1090

from picket.codec import modes_cpr, modes_encode
from picket.codec.modes_crc import syndrome
from picket.codec.modes_fields import FPM, FT, KT, ac12_ft, encode_ac12, encode_id13, id13_squawk

RNG = np.random.default_rng(7)


def _hex(frames: np.ndarray) -> list[str]:
    return [bytes(r).hex() for r in frames]


def test_frames_have_zero_crc_syndrome_and_single_bit_errors_show():
    icao = RNG.integers(0, 1 << 24, 200)
    f = modes_encode.airborne_position(
        icao, RNG.uniform(-80, 80, 200), RNG.uniform(-180, 180, 200), 3000.0, icao & 1
    )
    assert np.all(syndrome(f, 14) == 0)
    bad = f.copy()
    bad[np.arange(200), RNG.integers(0, 14, 200)] ^= np.uint8(1 << 3)
    assert np.all(syndrome(bad, 14) != 0)


def test_cpr_global_and_local_round_trip_within_resolution():
    n = 2000
    lat = RNG.uniform(-86, 86, n)
    lon = RNG.uniform(-180, 180, n)
    ye, xe = modes_cpr.encode(lat, lon, np.zeros(n, int))
    yo, xo = modes_cpr.encode(lat, lon, np.ones(n, int))
    for latest in (0, 1):
        la, lo, ok = modes_cpr.decode_global(ye, xe, yo, xo, np.full(n, latest))
        # rare: a point within a few metres of an NL boundary decodes inconsistent
        assert ok.mean() > 0.99
        assert np.all(np.abs(la[ok] - lat[ok]) < 6e-5)
        dlon = np.abs((lo[ok] - lon[ok] + 180) % 360 - 180) * np.cos(np.radians(lat[ok]))
        assert np.all(dlon < 1e-4)
    la, lo = modes_cpr.decode_local(yo, xo, np.ones(n), lat + 0.3, lon - 0.3)
    assert np.all(np.abs(la - lat) < 6e-5)
    assert np.all(np.abs((lo - lon + 180) % 360 - 180) < 1e-3)


def test_nl_matches_the_closed_form_away_from_boundaries():
    lat = np.linspace(-89.9, 89.9, 7777)
    a = 1 - np.cos(np.pi / 30)
    with np.errstate(invalid="ignore"):  # arccos is undefined above 87 degrees
        closed = np.floor(2 * np.pi / np.arccos(1 - a / np.cos(np.radians(lat)) ** 2))
    closed = np.where(np.abs(lat) >= 87, np.where(np.abs(lat) > 87, 1, 2), closed)
    assert np.array_equal(modes_cpr.nl(lat), closed.astype(int))
    assert modes_cpr.nl(np.array([0.0]))[0] == 59 and modes_cpr.nl(np.array([88.0]))[0] == 1


def test_altitude_and_squawk_codings_round_trip():
    alt_ft = np.arange(-1000, 50175, 25)
    back = ac12_ft(encode_ac12(alt_ft * FT))
    assert np.array_equal(back, alt_ft)
    sq = np.array([int(f"{a}{b}{c}{d}") for a in range(8) for b in range(8)
                   for c in range(8) for d in range(8)])  # fmt: skip
    assert np.array_equal(id13_squawk(encode_id13(sq)), sq)


def test_rs1090_reads_encoded_positions_pairwise():
    n = 50
    icao = np.arange(0x400000, 0x400000 + n)
    lat, lon = RNG.uniform(-70, 70, n), RNG.uniform(-179, 179, n)
    alt_m = RNG.uniform(0, 12000, n)
    nic = RNG.integers(0, 12, n)
    even = modes_encode.airborne_position(icao, lat, lon, alt_m, 0, nic)
    odd = modes_encode.airborne_position(icao, lat, lon, alt_m, 1, nic)
    msgs = _hex(np.concatenate([even, odd]))
    ts = [0.0] * n + [1.0] * n
    out = rs1090.decode(msgs, ts)
    expected_tc = np.array([9, 10, 11, 11, 12, 13, 14, 15, 16, 16, 17, 18])[::-1][nic]
    for k, m in enumerate(out[n:]):
        assert int(m["icao24"], 16) == icao[k]
        assert m["tc"] == expected_tc[k]
        assert abs(m["altitude"] - alt_m[k] / FT) <= 12.5 + 1e-6
        assert abs(m["latitude"] - lat[k]) < 6e-5
        assert abs(m["longitude"] - lon[k]) < 1e-4
    nicb = np.array([out[n + k]["NICb"] for k in range(n)])
    assert np.array_equal(nicb, np.isin(nic, (9, 3)).astype(int))


def test_rs1090_reads_velocity_identification_status_emergency():
    n = 30
    icao = np.arange(0xA00000, 0xA00000 + n)
    gs = RNG.uniform(40, 300, n)
    trk = RNG.uniform(0, 360, n)
    vr = RNG.uniform(-30, 30, n)
    vel = rs1090.decode(_hex(modes_encode.velocity(icao, gs, trk, vr)))
    for k, m in enumerate(vel):
        assert m["bds"] == "09"
        assert abs(m["groundspeed"] - gs[k] / KT) < 1.0
        assert abs((m["track"] - trk[k] + 180) % 360 - 180) < 0.5
        assert abs(m["vertical_rate"] - vr[k] / FPM) <= 32
    calls = [f"T{k:03d}AB" for k in range(n)]
    ident = rs1090.decode(_hex(modes_encode.identification(icao, calls, category=3)))
    assert [m["callsign"] for m in ident] == calls
    nacp = RNG.integers(0, 12, n)
    st = rs1090.decode(_hex(modes_encode.operational_status(icao, nacp, sil=2, version=2)))
    assert [m["NACp"] for m in st] == list(nacp)
    assert {m["SIL"] for m in st} == {2} and {m["version"] for m in st} == {2}
    em = rs1090.decode(_hex(modes_encode.emergency_status(icao[:3], [1, 2, 5], [7700, 7600, 7500])))
    assert [m["squawk"] for m in em] == ["7700", "7600", "7500"]
    assert [m["emergency_state"] for m in em] == ["general", "medical", "unlawful_interference"]


def _unescape_reference(data: bytes) -> list[tuple[int, int, bytes]]:
    """A plain sequential Beast parser, the obvious way, to check the vectorised writer."""
    out, i = [], 0
    while i < len(data):
        assert data[i] == 0x1A and data[i + 1] == ord("3")
        i += 2
        body = bytearray()
        while len(body) < 21:
            b = data[i]
            i += 1
            if b == 0x1A:
                assert data[i] == 0x1A
                i += 1
            body.append(b)
        out.append((int.from_bytes(body[:6], "big"), body[6], bytes(body[7:])))
    return out


@pytest.mark.parametrize("signal", [180, 0x1A])
def test_beast_stream_escapes_and_ticks(signal):
    f = modes_encode.identification(np.array([0x1A1A1A, 0x4CA7B5]), ["A", "B"])
    t = np.array([0x1A1A1A / 12e6, 2.0**48 / 12e6 + 1.0])  # the second wraps past 2**48
    parsed = _unescape_reference(modes_encode.beast_stream(f, t, signal))
    assert [p[0] for p in parsed] == [0x1A1A1A, 12_000_000]
    assert [p[1] for p in parsed] == [signal, signal]
    assert [p[2] for p in parsed] == [bytes(r) for r in f]
