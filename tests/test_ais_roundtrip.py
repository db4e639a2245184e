"""Encoder -> decoder round trips on random data with known truth, checked by pyais too."""

from __future__ import annotations

import numpy as np
import pyais
import pytest
from pyais.constants import ShipType
from pyais.decode import decode_nmea_and_ais

from picket.codec.ais_encode import encode_positions, encode_statics
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind
from picket.model.subjects import Namespace, key, number
from picket.sources.ais_nmea import AisNmeaDecoder

KNOT = 1852.0 / 3600.0


def _decode(lines: list[bytes]):
    rj = Rejects()
    dec = AisNmeaDecoder(rj, "roundtrip")
    out = dec.feed(b"\n".join(lines) + b"\n")
    tail = dec.flush()
    assert len(tail.reports) == 0 and not tail.statics
    return out, rj


def _random_positions(n: int, seed: int):
    rng = np.random.default_rng(seed)
    t = 1_712_345_678 + np.sort(rng.uniform(0, 3600, n))
    t[::3] = np.round(t[::3])  # whole seconds and milliseconds both occur
    mmsi = rng.integers(200_000_000, 800_000_000, n)
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-180, 180, n)
    sog = rng.uniform(0, 102.2, n)
    cog = rng.uniform(0, 359.9, n)
    hdg = rng.integers(0, 360, n).astype(float)
    nav = rng.integers(0, 16, n)
    for a in (lat, sog, cog, hdg):
        a[rng.random(n) < 0.1] = np.nan
    lon[np.isnan(lat)] = np.nan
    return t, mmsi, lat, lon, sog, cog, hdg, nav


def test_positions_round_trip_through_picket_within_ais_resolution():
    t, mmsi, lat, lon, sog, cog, hdg, nav = _random_positions(500, 1)
    lines = encode_positions(t, mmsi, lat, lon, sog, cog, hdg, nav, station="sim-a")
    out, rj = _decode(lines)
    r = out.reports
    assert rj.accepted == 500 and rj.rejected == 0
    assert len(r) == 500
    np.testing.assert_allclose(r.time, np.round(t, 3), atol=1e-6)
    assert np.all(r.subject == key(Namespace.MMSI, mmsi))
    assert np.all(r.domain == Domain.MARITIME) and np.all(r.kind == Kind.POSITION)
    assert np.all(r.msg == 1) and np.all(r.nav_status == nav)
    assert np.all(r.source == SOURCES.code("sim-a"))
    assert np.array_equal(r.raw, np.arange(1, 501))
    half_lsb = 0.5 / 600_000 + 1e-12
    np.testing.assert_array_equal(np.isnan(r.lat), np.isnan(lat))
    ok = ~np.isnan(lat)
    assert np.max(np.abs(r.lat[ok] - lat[ok])) <= half_lsb
    assert np.max(np.abs(r.lon[ok] - lon[ok])) <= half_lsb
    np.testing.assert_array_equal(np.isnan(r.speed), np.isnan(sog))
    ok = ~np.isnan(sog)
    assert np.max(np.abs(r.speed[ok] / KNOT - sog[ok])) <= 0.05 + 1e-4
    np.testing.assert_array_equal(np.isnan(r.course), np.isnan(cog))
    ok = ~np.isnan(cog)
    dc = np.abs((r.course[ok] - cog[ok] + 180) % 360 - 180)
    assert dc.max() <= 0.05 + 1e-4
    np.testing.assert_array_equal(np.isnan(r.heading), np.isnan(hdg))
    ok = ~np.isnan(hdg)
    assert np.array_equal(r.heading[ok], hdg[ok])


def test_pyais_reads_the_same_positions_and_tag_blocks():
    t, mmsi, lat, lon, sog, cog, hdg, nav = _random_positions(200, 2)
    lines = encode_positions(t, mmsi, lat, lon, sog, cog, hdg, nav)
    r = _decode(lines)[0].reports
    for i, line in enumerate(lines):
        nmea, m = decode_nmea_and_ais(line, error_if_checksum_invalid=True)
        nmea.tag_block.init()
        assert nmea.tag_block.source_station == "picket-sim"
        c = int(nmea.tag_block.receiver_timestamp)
        assert (c if c < 1e11 else c / 1000) == pytest.approx(r.time[i])
        assert m.msg_type == 1 and m.mmsi == mmsi[i] and int(m.status) == nav[i]
        if np.isnan(lat[i]):
            assert (m.lat, m.lon) == (91.0, 181.0)
        else:
            assert m.lat == pytest.approx(r.lat[i], abs=1e-6)
            assert m.lon == pytest.approx(r.lon[i], abs=1e-6)
        assert m.speed == (
            102.3 if np.isnan(sog[i]) else pytest.approx(r.speed[i] / KNOT, abs=1e-3)
        )
        assert m.course == (360.0 if np.isnan(cog[i]) else pytest.approx(r.course[i], abs=1e-3))
        assert m.heading == (511 if np.isnan(hdg[i]) else hdg[i])
        assert m.second == int(np.floor(t[i])) % 60


def _random_statics(n: int, seed: int):
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -"))

    def words(k: int) -> list[str]:
        return [
            "".join(rng.choice(alphabet, rng.integers(1, k + 1))).strip() or "X" for _ in range(n)
        ]

    return dict(
        time=1_712_345_678.0 + np.arange(n) * 7.0,
        mmsi=rng.integers(200_000_000, 800_000_000, n),
        name=words(20),
        callsign=words(7),
        imo=rng.integers(1_000_000, 9_999_999, n),
        ship_type=rng.integers(20, 100, n),
        to_bow=rng.integers(1, 512, n),
        to_stern=rng.integers(1, 512, n),
        to_port=rng.integers(1, 64, n),
        to_starboard=rng.integers(1, 64, n),
        destination=words(20),
        draught_m=np.round(rng.uniform(0.1, 25.5, n), 1),
    )


def test_statics_round_trip_through_picket_and_pyais():
    s = _random_statics(120, 3)
    lines = encode_statics(**s)
    assert len(lines) == 240
    out, rj = _decode(lines)
    assert rj.accepted == 240 and rj.rejected == 0
    ident = out.reports
    assert len(ident) == 120 and np.all(ident.kind == Kind.IDENTITY) and np.all(ident.msg == 5)
    assert np.all(np.isnan(ident.lat))
    assert np.array_equal(ident.raw, np.arange(2, 241, 2))  # line of the last fragment
    assert len(out.statics) == 120
    for i, st in enumerate(out.statics):
        assert number(st.subject) == s["mmsi"][i]
        assert st.time == s["time"][i]
        f = st.fields
        assert f["name"] == s["name"][i] and f["callsign"] == s["callsign"][i]
        assert f["destination"] == s["destination"][i]
        assert f["imo"] == s["imo"][i] and f["ship_type"] == s["ship_type"][i]
        for k in ("to_bow", "to_stern", "to_port", "to_starboard"):
            assert f[k] == s[k][i]
        assert f["draught"] == pytest.approx(s["draught_m"][i])
        m = pyais.decode(lines[2 * i], lines[2 * i + 1], error_if_checksum_invalid=True)
        assert m.msg_type == 5 and m.mmsi == s["mmsi"][i]
        assert (m.shipname, m.callsign, m.destination) == (
            f["name"],
            f["callsign"],
            f["destination"],
        )
        # pyais folds reserved ship types into one enum member; compare through its enum
        assert m.ship_type == ShipType(f["ship_type"])
        assert (m.imo, m.to_bow, m.to_stern) == (f["imo"], f["to_bow"], f["to_stern"])
        assert (m.to_port, m.to_starboard) == (f["to_port"], f["to_starboard"])
        assert m.draught == pytest.approx(f["draught"])


def test_encoder_clips_and_marks_unavailable_values():
    lines = encode_positions(
        np.array([np.nan, 10.0]),
        np.array([1, 999_999_999]),
        np.array([95.0, -90.0]),
        np.array([0.0, 180.0]),
        np.array([500.0, -3.0]),
        np.array([-0.04, 720.0]),
        np.array([359.6, np.nan]),
        np.array([99, 3]),
    )
    assert b"c:" not in lines[0]  # no time to give
    m0, m1 = (pyais.decode(x) for x in lines)
    assert (m0.lat, m0.lon, m0.speed, m0.course, m0.heading, int(m0.status)) == (
        91.0, 181.0, 102.2, 0.0, 0, 15
    )  # fmt: skip
    assert (m1.lat, m1.lon, m1.speed, m1.course, m1.heading, m1.mmsi) == (
        -90.0, 180.0, 0.0, 0.0, 511, 999_999_999
    )  # fmt: skip
