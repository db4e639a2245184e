"""Remote ID: the Wi-Fi and Bluetooth samples, a hand-built message, bad input."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import rid_key
from picket.sources.registry import detect, read_file
from picket.sources.remoteid import RemoteIdDecoder


def _read(path):
    rj = Rejects()
    parts = list(read_file(path, rj))
    return Reports.concat([p.reports for p in parts]), [s for p in parts for s in p.statics], rj


def test_wifi_beacon_sample(shared_data):
    path = shared_data / "air" / "remoteid_wifi_beacon.pcap"
    assert detect(path).name == "remoteid"
    rep, statics, rj = _read(path)
    assert len(rep) == 21 and rj.rejected == 0
    assert set(rep.subject.tolist()) == {rid_key("MFG1A0123456789")}
    assert set(rep.kind.tolist()) == {Kind.POSITION}
    assert np.all(np.abs(rep.lat - 45.5457) < 0.01) and np.all(np.abs(rep.lon + 122.968) < 0.01)
    assert rep.speed[0] == 20.5 and rep.alt[0] == 237.0 and np.isnan(rep.vrate[0])
    last = statics[-1].fields
    assert last["operator_id"] == "GBR-OP-123ABCD" and last["description"] == "Recreational"
    assert last["operator_lat"] == pytest.approx(45.5443876)
    assert last["operator_lon"] == pytest.approx(-122.9726866)


def test_bluetooth5_sample(shared_data):
    rep, statics, rj = _read(shared_data / "air" / "remoteid_bt5.pcapng")
    # an indoor demo: the drone never has a fix, so identity only
    assert len(rep) == 0 and rj.counts["remoteid.no_fix"] > 100
    assert rj.counts["remoteid.bad_crc"] > 0
    ids = {s.fields.get("serial") for s in statics} - {None}
    assert ids == {"SSEVTFG93700070"}
    assert any(s.fields.get("operator_id") == "FIN87astrdge12kxyz8" for s in statics)


def _location(lat, lon, tenths, speed_raw=40, direction=10, ew=True):
    m = bytes([0x12, 0x20 | (0x02 if ew else 0), direction, speed_raw]) + struct.pack("<b", -6)
    m += struct.pack("<ii", int(lat * 1e7), int(lon * 1e7))
    m += struct.pack("<HHH", (120 + 1000) * 2, (130 + 1000) * 2, 0)
    m += bytes([0x0B, 0x00]) + struct.pack("<H", tenths) + b"\x00\x00"
    return m


def _basic(serial):
    return bytes([0x02, 0x12]) + serial.encode().ljust(20, b"\0") + b"\0\0\0"


def _bt_frame(msgs, counter=1):
    pack = bytes([0xF2, 25, len(msgs)]) + b"".join(msgs)
    ad = bytes([1 + 2 + 1 + 1 + len(pack), 0x16, 0xFA, 0xFF, 0x0D, counter]) + pack
    return b"\x00" * 13 + ad


def _pcap(frames, t, link=251):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link)
    for f in frames:
        out += struct.pack("<IIII", int(t), 0, len(f), len(f)) + f
    return out


def test_hand_built_message_pack():
    t = 1_700_000_000  # 22:13:20 UTC: 800 s into the hour
    data = _pcap([_bt_frame([_basic("ABC123"), _location(60.1, 24.9, 7995)])], t)
    rj = Rejects()
    dec = RemoteIdDecoder(rj, "hand.pcap")
    rep = Reports.concat([dec.feed(data[:30]).reports, dec.feed(data[30:]).reports])
    assert len(rep) == 1 and rj.rejected == 0
    assert rep.subject[0] == rid_key("ABC123")
    assert rep.time[0] == pytest.approx(t - 800 + 799.5)
    assert rep.lat[0] == pytest.approx(60.1) and rep.lon[0] == pytest.approx(24.9)
    assert rep.course[0] == 190 and rep.speed[0] == 10.0 and rep.vrate[0] == -3.0
    assert rep.alt[0] == 120.0  # pressure altitude preferred
    assert rep.accuracy[0] == pytest.approx(3 / 2.45, rel=1e-5)


def test_truncated_packets_are_counted():
    good = _bt_frame([_basic("ABC123"), _location(60.1, 24.9, 10)])
    data = _pcap([good[:-30], good[:20], b"\x00" * 40], 1_700_000_000)
    rj = Rejects()
    dec = RemoteIdDecoder(rj, "bad.pcap")
    dec.feed(data)
    dec.feed(b"\x01\x02\x03")  # a record header cut short
    dec.flush()
    assert rj.counts["remoteid.truncated"] == 2  # both cut frames still hold the marker
    assert rj.counts["remoteid.no_remote_id"] == 1
    assert rj.counts["remoteid.truncated_capture"] == 1
