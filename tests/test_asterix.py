"""ASTERIX CAT048/CAT034: a hand-built record with known values, the real sample, bad input."""

from __future__ import annotations

import itertools
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


# ---- CAT021, CAT062, sites from configuration --------------------------------------------
def _fspec(frns):
    n = max((f - 1) // 7 for f in frns) + 1
    b = bytearray(n)
    for f in frns:
        b[(f - 1) // 7] |= 0x80 >> ((f - 1) % 7)
    for i in range(n - 1):
        b[i] |= 1
    return bytes(b)


def _record(items):
    """A record from {FRN: item bytes}, FSPEC first."""
    return _fspec(items) + b"".join(items[f] for f in sorted(items))


def _block(cat, records):
    body = b"".join(records)
    return bytes([cat]) + struct.pack(">H", 3 + len(body)) + body


def _ident(text):
    chars = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
    bits = 0
    for ch in text.ljust(8):
        bits = bits << 6 | chars.index(ch)
    return bits.to_bytes(6, "big")


def _s(v, n):
    return round(v).to_bytes(n, "big", signed=True)


def _sq(octal):
    a, b, c, d = (int(ch) for ch in f"{octal:04d}")
    return struct.pack(">H", (a << 9) | (b << 6) | (c << 3) | d)


def _cat021_records():
    full = _record({
        1: bytes([5, 7]),
        2: bytes([0x01, 0x00]),  # ATP 0 (ICAO), extension: GBS 0 (airborne)
        7: _s(47.25 * (1 << 30) / 180, 4) + _s(8.5 * (1 << 30) / 180, 4),
        11: (0x4B1234).to_bytes(3, "big"),
        12: int(3600.9921875 * 128).to_bytes(3, "big"),
        13: ((1 << 30) | int(0.001 * (1 << 30))).to_bytes(4, "big"),  # FSI 1: the next second
        16: _s(1000, 2),  # geometric height: walked over
        17: bytes([(8 << 1) | 1, (3 << 5) | (10 << 1)]),  # NIC 8; SIL 3, NACp 10
        18: bytes([2 << 3]),  # DO-260B
        19: _sq(7500),
        21: _s(350.25 * 4, 2),
        23: bytes([5 << 2]),  # unlawful interference
        24: (-256 & 0x7FFF).to_bytes(2, "big"),  # -1600 ft/min
        26: struct.pack(">HH", 2048, 49152),  # 450 kt, 270 deg
        29: _ident("TEST12"),
        30: bytes([5]),  # heavy: A5
        31: bytes([0x80 | 0x10]) + b"\x00\x10" + b"\x01",  # met: wind speed, turbulence
        34: bytes([0x40, 1]) + bytes(15),  # intent: one TID point
        39: bytes([2]) + bytes(16),  # two Mode S MB registers
        42: bytes([0x81, 0x40]) + b"\x05\x06",  # data ages: 1st and 9th
        48: bytes([3, 0xAA, 0xBB]),  # RE: skipped by its length
    })  # fmt: skip
    anonymous = _record({1: bytes([5, 7]), 2: bytes([(3 << 5) | 1, 0x40]),  # ATP 3, on ground
                         6: _s(47.0 * (1 << 23) / 180, 3) + _s(8.0 * (1 << 23) / 180, 3),
                         11: b"\x12\x34\x56", 12: (3601 * 128).to_bytes(3, "big")})  # fmt: skip
    nothing = _record({1: bytes([5, 7]), 2: bytes([2 << 5]), 11: b"\x00\x00\x01",
                       12: (3602 * 128).to_bytes(3, "big")})  # fmt: skip
    return _block(21, [full, anonymous, nothing])


def test_cat021_hand_built_every_field():
    from picket.model.subjects import format_subject

    raw = _cat021_records()
    rj = Rejects()
    dec = AsterixDecoder(rj, "adsb.ast", start_time=DAY + 3000.0)
    out = [dec.feed(raw[i : i + 5]) for i in range(0, len(raw), 5)] + [dec.flush()]
    rep = Reports.concat([o.reports for o in out])
    statics = [s for o in out for s in o.statics]
    assert rj.counts == {"asterix.no_position": 1} and len(rep) == 2
    assert SOURCES.name(int(rep.source[0])) == "asterix:5/7"
    assert format_subject(int(rep.subject[0])) == "icao:4b1234" and rep.kind[0] == Kind.POSITION
    assert rep.time[0] == pytest.approx(DAY + 3601.001, abs=1e-6)
    assert rep.lat[0] == pytest.approx(47.25, abs=2e-7) and rep.lon[0] == pytest.approx(8.5)
    assert rep.alt[0] == pytest.approx(35025 * 0.3048, abs=0.01)
    assert rep.speed[0] == pytest.approx(450 * 1852 / 3600, rel=1e-6)
    assert rep.course[0] == pytest.approx(270.0)
    assert rep.vrate[0] == pytest.approx(-1600 * 0.3048 / 60, rel=1e-5)
    assert (rep.squawk[0], rep.emergency[0], rep.nic[0], rep.nacp[0], rep.sil[0],
            rep.version[0], rep.on_ground[0]) == (7500, 5, 8, 10, 3, 2, 0)  # fmt: skip
    assert [s.fields for s in statics] == [{"callsign": "TEST12", "category": "A5"}]
    # a non-ICAO (anonymous) address is no icao: subject: an anonymous plot, on the ground
    assert rep.subject[1] == -1 and rep.kind[1] == Kind.PLOT and rep.on_ground[1] == 1
    assert rep.lat[1] == pytest.approx(47.0, abs=1e-4)


def _cat062_records():
    with_adr = _record({
        1: bytes([25, 100]), 3: b"\x01", 4: int(45000.5 * 128).to_bytes(3, "big"),
        5: _s(45.5 * (1 << 25) / 180, 4) + _s(16.25 * (1 << 25) / 180, 4),
        7: _s(400, 2) + _s(-400, 2),  # vx 100, vy -100 m/s: south-east
        9: _sq(1234), 10: b"\x00" + _ident("ABC123"),
        # 380: ADR, ID, TID (rep 15), MB (rep 8)
        11: bytes([0xC1, 0x41, 0x01, 0x10]) + b"\x4c\xa7\xb5" + _ident("XYZ999")
        + b"\x01" + bytes(15) + b"\x01" + bytes(8),
        12: struct.pack(">H", 4321), 13: b"\x01\x00",
        14: bytes([0x88 | 1, 0x80]) + b"\x01\x00\x02\x03",  # 290: TRK, ADS (2), UAT
        16: b"\x80\x04", 17: _s(370 * 4, 2), 20: _s(100, 2),  # 295 MFL; FL 370; +625 ft/min
        21: bytes([0x40 | 1, 0x08]) + b"ABC123 " + b"\x01" + bytes(4),  # 390: CSN, TOD (rep 4)
        24: b"\x80\x00",  # 110: SUM
        26: b"\x01\x02\x03" + b"\x04\x05\x06",  # 510: two track numbers
        27: b"\x80" + bytes(4), 28: bytes([0xC0]) + bytes(6),  # 500 APC; 340 SID, POS
        35: b"\x02\x00",  # SP
    })  # fmt: skip
    no_adr = _record({1: bytes([25, 100]), 4: (45001 * 128).to_bytes(3, "big"),
                      5: _s(45.0 * (1 << 25) / 180, 4) + _s(16.0 * (1 << 25) / 180, 4),
                      12: struct.pack(">H", 77)})  # fmt: skip
    return _block(62, [with_adr, no_adr])


def test_cat062_hand_built_icao_and_system_track_subjects():
    from picket.model.subjects import format_subject, parse_subject

    data = _pcap([_cat062_records()], DAY + 45002)
    rj = Rejects()
    dec = AsterixDecoder(rj, "sdps.pcap")
    out = [dec.feed(data[:100]), dec.feed(data[100:]), dec.flush()]
    rep = Reports.concat([o.reports for o in out])
    statics = [s for o in out for s in o.statics]
    assert rj.rejected == 0 and len(rep) == 2
    assert format_subject(int(rep.subject[0])) == "icao:4ca7b5"
    assert rep.time.tolist() == [DAY + 45000.5, DAY + 45001]
    assert rep.lat[0] == pytest.approx(45.5, abs=6e-6) and rep.lon[0] == pytest.approx(16.25)
    assert rep.speed[0] == pytest.approx(100 * 2**0.5) and rep.course[0] == pytest.approx(135)
    assert rep.alt[0] == pytest.approx(37000 * 0.3048, abs=0.01)
    assert rep.vrate[0] == pytest.approx(625 * 0.3048 / 60, rel=1e-5)
    assert rep.squawk[0] == 1234 and np.isnan(rep.alt[1])
    # the track's own identification (I062/245) names it, before the aircraft's (380 ID)
    assert [(format_subject(s.subject), s.fields) for s in statics] == [
        ("icao:4ca7b5", {"callsign": "ABC123"})]
    name = format_subject(int(rep.subject[1]))
    assert name == "sdps:25/100/77" and parse_subject(name) == rep.subject[1]
    assert rep.kind[1] == Kind.POSITION and SOURCES.name(int(rep.source[1])) == "asterix:25/100"


def test_sdps_subjects_both_ways():
    from picket.model.subjects import format_subject, parse_subject

    for text in ("sdps:0/0/0", "sdps:255/255/65535", "sdps:25/12/1234"):
        assert format_subject(parse_subject(text)) == text
    for bad in ("sdps:256/1/1", "sdps:1/1/70000", "sdps:1/1", "sdps:a/b/c"):
        with pytest.raises(ValueError):
            parse_subject(bad)


def test_every_shared_sample_decodes(shared_data):
    """CAT021, CAT034/048, CAT062/065 and the mixed (CAT062 edition 0.17) captures."""
    sites = {(25, s): (44.0, 16.0, 100.0) for s in (11, 13, 14, 201, 204, 205)}
    want = {"asterix_cat021.ast": 2, "asterix_cat034_048.pcap": 126,
            "asterix_cat062_065.pcap": 2, "asterix_mixed.pcap": 100}  # fmt: skip
    for name, n in want.items():
        rj = Rejects()
        dec = AsterixDecoder(rj, name, start_time=1_462_433_756.0, sites=sites)
        rep = Reports.concat([dec.feed((shared_data / "air" / name).read_bytes()).reports,
                              dec.flush().reports])  # fmt: skip
        assert len(rep) == n, (name, rj.summary())
        assert set(rj.counts) <= {"asterix.no_position"}, (name, rj.counts)
        assert np.all(np.abs(rep.lat) <= 90) and np.all(np.isfinite(rep.time))


def test_cat062_edition_017_tracks_move_as_their_velocity_says(shared_data):
    """The mixed sample is CAT062 of edition 0.17 (6-octet position, polar velocity).
    No reference decodes it (CroatiaControl's ships 1.18 only), so physics checks it:
    each track's next position is where its speed and course put it."""
    from picket.geo.geodesy import destination
    from picket.model.subjects import format_subject

    parts = list(read_file(shared_data / "air" / "asterix_mixed.pcap", Rejects()))
    rep = Reports.concat([p.reports for p in parts]).sorted_by_time()
    assert len(rep) == 100
    assert all(format_subject(int(s)).startswith("sdps:25/100/") for s in rep.subject)
    # Croatia, Bosnia, Serbia and the Adriatic; airliner heights and speeds
    assert np.all((rep.lat > 40) & (rep.lat < 48) & (rep.lon > 12) & (rep.lon < 24))
    assert np.nanmedian(rep.alt) > 8000 and 150 < np.nanmedian(rep.speed) < 300
    checked = 0
    for s in np.unique(rep.subject):
        i = np.flatnonzero(rep.subject == s)
        for a, b in itertools.pairwise(i.tolist()):
            dt = rep.time[b] - rep.time[a]
            if not 1 < dt < 60:
                continue
            lat, lon = destination(rep.lat[a], rep.lon[a], float(rep.course[a]),
                                   float(rep.speed[a]) * dt)  # fmt: skip
            assert haversine_m(lat, lon, rep.lat[b], rep.lon[b]) < 0.05 * rep.speed[a] * dt + 300
            checked += 1
    assert checked >= 10
    callsigns = [s.fields["callsign"] for p in parts for s in p.statics]
    assert "BAW891" in callsigns and all(c.isalnum() for c in callsigns)


def test_sites_from_config_and_the_command_line(shared_data, tmp_path, capsys):
    from picket import config as cfgmod
    from picket.cli.main import main
    from picket.sources.asterix import parse_site

    data = (shared_data / "air" / "asterix_cat034_048.pcap").read_bytes()
    base = Rejects()
    AsterixDecoder(base, "x").feed(data)
    cfg = cfgmod.from_dict({"asterix": {"sites": [
        {"sac": 25, "sic": 13, "lat": 45.0, "lon": 15.0, "height_m": 900.0}]}})  # fmt: skip
    assert cfg.asterix_sites == {(25, 13): (45.0, 15.0, 900.0)}
    rj = Rejects()
    dec = AsterixDecoder(rj, "x", **cfg.decoder_args()["asterix"])
    rep = Reports.concat([dec.feed(data).reports, dec.flush().reports])
    r13 = np.array([SOURCES.name(int(s)) == "asterix:25/13" for s in rep.source])
    assert r13.sum() == 14  # 25/13's plots, placed around the configured site
    assert np.all(haversine_m(45.0, 15.0, rep.lat[r13], rep.lon[r13]) < 256 * 1852)
    assert rj.counts["asterix.unknown_site"] == 88 - 14  # the others still unlocated
    # the radar's service state from its CAT034 messages
    assert dec.radar_state[(25, 13)]["message"] == "sector crossing"
    assert 0 <= dec.radar_state[(25, 13)]["sector_deg"] < 360
    for bad in ({"sac": 25, "sic": 13, "lat": 95.0, "lon": 0.0, "height_m": 0.0},
                {"sac": 25, "sic": 13, "lat": 45.0, "lon": 15.0},
                {"sac": 256, "sic": 1, "lat": 45.0, "lon": 15.0, "height_m": 0.0}):
        with pytest.raises(cfgmod.ConfigError):
            cfgmod.from_dict({"asterix": {"sites": [bad]}})
    with pytest.raises(cfgmod.ConfigError):
        cfgmod.from_dict({"asterix": {"radars": []}})
    assert parse_site("25/14:44.5,16.5,120") == ((25, 14), (44.5, 16.5, 120.0))
    for bad in ("25:44,16,1", "25/14:44,16", "x/1:1,2,3", "25/14:91,16,1"):
        with pytest.raises(ValueError):
            parse_site(bad)
    # picket replay --radar-site, twice, over the config's sites
    toml = tmp_path / "picket.toml"
    toml.write_text("[asterix]\nsites = [{sac = 25, sic = 13, lat = 45.0, lon = 15.0, "
                    "height_m = 900.0}]\n")  # fmt: skip
    pcap = shared_data / "air" / "asterix_cat034_048.pcap"
    args = ["replay", str(pcap), "--config", str(toml), "--no-store", "--no-progress", "--quiet"]
    assert main([*args, "--radar-site", "25/201:45.5,16.0,300",
                 "--radar-site", "25/204:43.5,16.5,300"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"asterix.unknown_site ({88 - 14 - 28 - 28})" in out
    assert main([*args, "--radar-site", "25/13:95,1,1"]) == 2
    assert "--radar-site" in capsys.readouterr().err


def test_every_sample_any_chunking_same_result_and_damage_never_raises(shared_data):
    sites = {(25, s): (44.0, 16.0, 100.0) for s in (11, 13, 14, 201, 204, 205)}
    rng = np.random.default_rng(7)

    def run(data, step):
        rj = Rejects()
        dec = AsterixDecoder(rj, "s", start_time=1_462_433_756.0, sites=sites)
        outs = [dec.feed(data[i : i + step]) for i in range(0, len(data), step)]
        outs.append(dec.flush())
        rep = Reports.concat([o.reports for o in outs])
        facts = sorted((s.subject, s.fields["callsign"]) for o in outs for s in o.statics
                       if "callsign" in s.fields)  # fmt: skip
        order = np.argsort(rep.raw, kind="stable")
        return rep.take(order), facts, dict(rj.counts), rj.accepted

    for name in ("asterix_cat021.ast", "asterix_cat034_048.pcap", "asterix_cat062_065.pcap",
                 "asterix_mixed.pcap"):  # fmt: skip
        data = (shared_data / "air" / name).read_bytes()
        whole = run(data, len(data))
        for step in (1, 7, 64, 1000):
            got = run(data, step)
            assert got[1:] == whole[1:], (name, step)
            for col in ("time", "lat", "lon", "subject", "squawk", "raw"):
                np.testing.assert_array_equal(got[0][col], whole[0][col])
        for _ in range(15):
            b = bytearray(data[: rng.integers(1, len(data) + 1)])
            for _ in range(int(rng.integers(0, 8))):
                b[rng.integers(0, len(b))] = rng.integers(0, 256)
            run(bytes(b), int(rng.integers(1, 200)))


def test_impossible_times_and_positions_are_counted_not_decoded():
    """A time of day past midnight or a latitude past 90 (another edition, damage) is no
    time and no position: counted, never a report at a made-up place or day."""
    late = _record({1: bytes([5, 7]), 2: bytes([0]), 11: b"\x4b\x00\x01",
                    6: _s(47.0 * (1 << 23) / 180, 3) + _s(8.0 * (1 << 23) / 180, 3),
                    12: (90000 * 128).to_bytes(3, "big")})  # fmt: skip
    north = _record({1: bytes([5, 7]), 2: bytes([3 << 5]), 11: b"\x4b\x00\x02",
                     7: _s(100.0 * (1 << 30) / 180, 4) + _s(8.0 * (1 << 30) / 180, 4),
                     12: (3600 * 128).to_bytes(3, "big")})  # fmt: skip
    plot = _cat048_plot(7, 9, 3600.0, 10.0, 0.0, 1200, 10)
    plot = plot[:6] + (100000 * 128).to_bytes(3, "big") + plot[9:]  # I048/140 past midnight
    rj = Rejects()
    dec = AsterixDecoder(rj, "x", start_time=DAY, sites={(7, 9): (45.0, 15.0, 0.0)})
    rep = Reports.concat([dec.feed(_block(21, [late, north]) + plot).reports,
                          dec.flush().reports])  # fmt: skip
    assert len(rep) == 0
    assert rj.counts == {"asterix.no_time": 2, "asterix.no_position": 1}
