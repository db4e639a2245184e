"""ASTERIX CAT048/CAT034: a hand-built record with known values, the real sample, bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picket.geo.geodesy import haversine_m, initial_bearing_deg
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.asterix import AsterixDecoder
from picket.sources.registry import read_file

DAY = 1_700_000_000 // 86400 * 86400  # a midnight UTC


def _cat034_site(sac, sic, lat, lon, h):
    # FSPEC: FRN1 (010), FRN2 (000), FX | FRN11 (120)
    body = bytes([0x80 | 0x40 | 0x01, 0x10, sac, sic, 0x01])
    body += struct.pack(">h", h)
    body += round(lat * (1 << 23) / 180).to_bytes(3, "big", signed=True)
    body += round(lon * (1 << 23) / 180).to_bytes(3, "big", signed=True)
    return bytes([34]) + struct.pack(">H", 3 + len(body)) + body


def _cat048_plot(sac, sic, tod, rho_nm, theta_deg, squawk_oct, fl, addr=None):
    # FRN 1 010, 2 140, 4 040, 5 070, 6 090 ; FX ; FRN 8 220
    f1 = 0x80 | 0x40 | 0x10 | 0x08 | 0x04 | (1 if addr is not None else 0)
    fspec = bytes([f1]) + (bytes([0x80]) if addr is not None else b"")
    body = fspec + bytes([sac, sic]) + int(tod * 128).to_bytes(3, "big")
    body += struct.pack(">HH", int(rho_nm * 256), int(theta_deg / 360 * 65536))
    a, b, c, d = (int(ch) for ch in f"{squawk_oct:04d}")
    body += struct.pack(">H", (a << 9) | (b << 6) | (c << 3) | d)
    body += struct.pack(">h", int(fl * 4))
    if addr is not None:
        body += addr.to_bytes(3, "big")
    return bytes([48]) + struct.pack(">H", 3 + len(body)) + body


def _pcap(payloads, t):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for p in payloads:
        udp = struct.pack(">HHHH", 1000, 2000, 8 + len(p), 0) + p
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         b"\x0a\0\0\1", b"\xe8\0\0\1") + udp  # fmt: skip
        frame = b"\x01" * 12 + b"\x08\x00" + ip
        out += struct.pack("<IIII", int(t), 0, len(frame), len(frame)) + frame
    return out


def test_hand_built_plot():
    site = (45.0, 15.0, 500)
    data = _pcap(
        [_cat034_site(7, 9, *site), _cat048_plot(7, 9, 3600.5, 40.0, 90.0, 7700, 350, 0x4CA7B5)],
        DAY + 3601,
    )
    rj = Rejects()
    dec = AsterixDecoder(rj, "hand.pcap")
    out = [dec.feed(data[:50]), dec.feed(data[50:]), dec.flush()]
    rep = Reports.concat([o.reports for o in out])
    assert len(rep) == 1 and rj.rejected == 0
    assert rep.time[0] == DAY + 3600.5
    assert rep.squawk[0] == 7700
    assert rep.alt[0] == pytest.approx(350 * 100 * 0.3048, abs=0.01)
    assert rep.subject[0] == key(Namespace.ICAO, 0x4CA7B5) and rep.kind[0] == Kind.POSITION
    assert SOURCES.name(int(rep.source[0])) == "asterix:7/9"
    lat0, lon0 = site[0], site[1]
    assert initial_bearing_deg(lat0, lon0, rep.lat[0], rep.lon[0]) == pytest.approx(90, abs=0.01)
    # slant 40 NM, up 10 km: the ground distance is a little shorter than 74.08 km
    ground = haversine_m(lat0, lon0, rep.lat[0], rep.lon[0])
    assert 73_300 < ground < 74_080


def test_plot_before_its_site_waits_then_unknown_sites_are_rejected():
    late_site = _pcap([_cat048_plot(1, 2, 10.0, 5.0, 0.0, 1200, 10)], DAY + 11)
    rj = Rejects()
    dec = AsterixDecoder(rj, "x")
    assert len(dec.feed(late_site).reports) == 0
    more = _pcap([_cat034_site(1, 2, 60.0, 25.0, 0)], DAY + 12)[24:]
    rep = dec.feed(more).reports
    assert len(rep) == 1 and rep.kind[0] == Kind.PLOT and rep.subject[0] == -1
    assert rep.lat[0] > 60.0  # theta 0 = north
    rj2 = Rejects()
    dec2 = AsterixDecoder(rj2, "y")
    dec2.feed(_pcap([_cat048_plot(3, 4, 10.0, 5.0, 0.0, 1200, 10)], DAY + 11))
    assert len(dec2.flush().reports) == 0
    assert rj2.counts == {"asterix.unknown_site": 1}


def test_real_sample(shared_data):
    rj = Rejects()
    parts = list(read_file(shared_data / "air" / "asterix_cat034_048.pcap", rj))
    rep = Reports.concat([p.reports for p in parts])
    statics = [s for p in parts for s in p.statics]
    assert len(rep) > 30
    assert {SOURCES.name(int(s)) for s in rep.source} == {"asterix:25/12"}
    # capture of 2016-05-05 07:35:56 UTC; plots are from the same second or so
    assert np.all(np.abs(rep.time - 1462433756) < 5)
    assert np.all((rep.lat > 41) & (rep.lat < 47) & (rep.lon > 12) & (rep.lon < 20))
    assert np.all(haversine_m(43.57, 16.41, rep.lat, rep.lon) < 500_000)
    sq = rep.squawk[rep.squawk >= 0]
    assert len(sq) and all(set(f"{v:04d}") <= set("01234567") for v in sq.tolist())
    assert all(s.fields["callsign"].isalnum() for s in statics)
    assert rj.counts["asterix.unknown_site"] > 0  # radars 25/13 etc. never sent their site


def test_truncated_and_garbage_never_crash(shared_data):
    data = (shared_data / "air" / "asterix_cat034_048.pcap").read_bytes()
    rng = np.random.default_rng(0)
    for i in range(40):
        b = bytearray(data[: rng.integers(0, len(data))])
        for _ in range(i % 7):
            if b:
                b[rng.integers(0, len(b))] = rng.integers(0, 256)
        rj = Rejects()
        dec = AsterixDecoder(rj, "fuzz")
        step = int(rng.integers(1, 300))
        for j in range(0, len(b), step):
            dec.feed(bytes(b[j : j + step]))
        dec.flush()
    rj = Rejects()
    dec = AsterixDecoder(rj, "cut")
    dec.feed(data[:-7])
    dec.flush()
    assert rj.counts["asterix.truncated_capture"] == 1


def test_raw_stream_is_dated_by_its_clock_or_rejected():
    """A raw stream carries only the time of day: a clock (arrival live, start in replay)
    dates it, on the day nearest the clock; without one the plots are counted, not 1970."""
    from picket.sources.registry import Clock, get_format

    assert get_format("asterix").clockless
    raw = _cat034_site(7, 9, 45.0, 15.0, 500) + _cat048_plot(7, 9, 86399.0, 40.0, 90.0, 1200, 350)
    rj = Rejects()
    dec = AsterixDecoder(rj, "raw.ast")
    assert len(dec.feed(raw).reports) + len(dec.flush().reports) == 0
    assert rj.counts == {"asterix.no_time": 1}
    # live, a second after midnight: the plot of 23:59:59 is from the day before
    clock = Clock(live=True, now=DAY + 86400 + 1.0)
    rj = Rejects()
    dec = AsterixDecoder(rj, "raw.ast", clock=clock)
    rep = Reports.concat([dec.feed(raw[:7]).reports, dec.feed(raw[7:]).reports,
                          dec.flush().reports])  # fmt: skip
    assert rj.rejected == 0 and rep.time.tolist() == [DAY + 86399.0]
    rep = AsterixDecoder(Rejects(), "raw.ast", start_time=DAY + 80_000.0).feed(raw).reports
    assert rep.time.tolist() == [DAY + 86399.0]
