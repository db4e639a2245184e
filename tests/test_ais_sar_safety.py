"""AIS types 9 (SAR aircraft position) and 14 (safety-related broadcast) against pyais.

Sentences are encoded by pyais from known fields, then decoded by picket's real NMEA
decoder: the SAR aircraft must become an air track (altitude in metres, speed in whole
knots), the safety text a static fact of the sender, nothing rejected."""

from __future__ import annotations

import numpy as np
import pytest
from pyais import decode, encode_dict

from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind
from picket.model.subjects import Namespace, key
from picket.sources.registry import get_format

KNOT = 1852.0 / 3600.0
T0 = 1_700_000_000


def _tagged(lines: list[str], t: int) -> bytes:
    """NMEA 4.10 tag block with the receive time, checksummed as receivers write it."""
    body = f"c:{t}"
    cs = 0
    for ch in body.encode():
        cs ^= ch
    return b"".join(f"\\{body}*{cs:02X}\\{ln}\n".encode() for ln in lines)


def _decode(data: bytes):
    rej = Rejects()
    dec = get_format("ais-nmea").decoder(rej, "probe")
    out = dec.feed(data)
    tail = dec.flush()
    return out, tail, rej


SAR = [
    {"type": 9, "mmsi": 111232511, "alt": 303, "speed": 42, "accuracy": 1, "lon": 12.5,
     "lat": 55.75, "course": 154.5, "second": 15},
    {"type": 9, "mmsi": 111265004, "alt": 4095, "speed": 1023, "accuracy": 0, "lon": -4.25,
     "lat": 50.1, "course": 360.0, "second": 60},
]  # fmt: skip


@pytest.mark.parametrize("m", SAR, ids=["full", "not-available"])
def test_type9_sar_aircraft_is_an_air_track(m):
    lines = encode_dict(m, radio_channel="A", talker_id="AI", sentence_type="VDM")
    ref = decode(*lines).asdict()
    out, _, rej = _decode(_tagged(lines, T0))
    r = out.reports
    assert rej.rejected == 0 and len(r) == 1
    assert r.domain[0] == Domain.AIR and r.kind[0] == Kind.POSITION and r.msg[0] == 9
    assert r.subject[0] == key(Namespace.MMSI, m["mmsi"])
    assert r.lat[0] == pytest.approx(ref["lat"], abs=1e-5)
    assert r.lon[0] == pytest.approx(ref["lon"], abs=1e-5)
    if ref["alt"] == 4095:
        assert np.isnan(r.alt[0]) and np.isnan(r.speed[0]) and np.isnan(r.course[0])
    else:
        assert r.alt[0] == ref["alt"]
        assert r.speed[0] == pytest.approx(ref["speed"] * KNOT, rel=1e-6)
        assert r.course[0] == pytest.approx(ref["course"], abs=0.05)


def test_type14_safety_text_becomes_a_static():
    msg = {"type": 14, "mmsi": 351809000, "text": "MAYDAY FIRE ON BOARD NEED ASSISTANCE"}
    lines = encode_dict(msg, radio_channel="B", talker_id="AI", sentence_type="VDM")
    ref = decode(*lines).asdict()
    out, tail, rej = _decode(_tagged(lines, T0))
    statics = out.statics + tail.statics
    assert rej.rejected == 0
    mine = [s for s in statics if s.subject == key(Namespace.MMSI, 351809000)]
    assert [s.fields["safety_text"] for s in mine] == [ref["text"].strip()]
    assert out.reports.msg.tolist() == [14]
    assert out.reports.domain[0] == Domain.MARITIME


def test_position_reports_stay_maritime_beside_sar():
    pos = {"type": 1, "mmsi": 219165000, "lat": 55.5, "lon": 11.0, "speed": 12.3, "course": 90.0}
    a = encode_dict(pos, talker_id="AI", sentence_type="VDM")
    s = encode_dict(SAR[0], talker_id="AI", sentence_type="VDM")
    out, _, _ = _decode(_tagged(a, T0) + _tagged(s, T0 + 1))
    assert out.reports.domain.tolist() == [Domain.MARITIME, Domain.AIR]
