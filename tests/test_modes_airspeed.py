"""ADS-B airborne velocity, airspeed subtypes (BDS 0,9 subtypes 3 and 4): heading and
vertical rate are decoded, airspeed is not passed off as ground speed.

The shared captures hold no subtype-3/4 frames (all 2,465 BDS 0,9 messages in them are
ground-speed subtypes, checked with rs1090), so frames are built here from known fields,
wrapped with parity by `modes_encode.frames_df17`, sent through the Beast reader, and the
result compared with both the truth and rs1090's decode of the same frames.
"""

from __future__ import annotations

import numpy as np
import rs1090

from picket.codec import modes_encode
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.beast import BeastDecoder

FPM = 0.3048 / 60
BASE = 1_700_000_000.0


def _me(fields: list[tuple[np.ndarray, int, int]]) -> np.ndarray:
    """ME words from (value, first bit 1-based, width) fields."""
    me = np.zeros(len(fields[0][0]), np.uint64)
    for value, first, width in fields:
        v = np.asarray(value, np.int64).astype(np.uint64) & np.uint64((1 << width) - 1)
        me |= v << np.uint64(56 - first - width + 1)
    return me


def _airspeed_frames(n: int, seed: int = 4) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = {
        "icao": rng.integers(1, 1 << 24, n),
        "st": rng.choice([3, 4], n),
        "sh": rng.integers(0, 2, n),  # heading status: 0 = heading not available
        "hdg": rng.integers(0, 1024, n),
        "ast": rng.integers(0, 2, n),  # airspeed type: IAS / TAS
        "asp": rng.integers(0, 1024, n),
        "vsrc": rng.integers(0, 2, n),
        "vsign": rng.integers(0, 2, n),
        "vr": rng.integers(0, 512, n),  # 0 = vertical rate not available
    }
    t["vr"][:5] = 0
    t["sh"][:3] = 0
    me = _me([
        (np.full(n, 19), 1, 5), (t["st"], 6, 3), (np.zeros(n), 9, 1), (np.zeros(n), 10, 1),
        (np.ones(n), 11, 3), (t["sh"], 14, 1), (t["hdg"], 15, 10), (t["ast"], 25, 1),
        (t["asp"], 26, 10), (t["vsrc"], 36, 1), (t["vsign"], 37, 1), (t["vr"], 38, 9),
    ])  # fmt: skip
    return modes_encode.frames_df17(t["icao"], me), t


def _decode(frames: np.ndarray, times: np.ndarray) -> tuple[Reports, Rejects]:
    rej = Rejects()
    dec = BeastDecoder(rej, "sim", base_time=BASE)
    stream = modes_encode.beast_stream(frames, times)
    outs = [dec.feed(stream), dec.flush()]
    return Reports.concat([o.reports for o in outs]), rej


def test_airspeed_subtypes_give_heading_and_vertical_rate():
    n = 400
    frames, truth = _airspeed_frames(n)
    rep, rej = _decode(frames, np.arange(n) * 0.01)
    assert rej.rejected == 0 and rej.accepted == n and len(rep) == n
    assert np.array_equal(rep.subject, key(Namespace.ICAO, truth["icao"]))
    assert (rep.kind == Kind.VELOCITY).all() and (rep.msg == 19).all()
    want_hdg = np.where(truth["sh"] == 1, truth["hdg"] * 360.0 / 1024, np.nan)
    assert np.allclose(rep.heading, want_hdg, atol=1e-4, equal_nan=True)
    sign = np.where(truth["vsign"] == 1, -1.0, 1.0)
    want_vr = np.where(truth["vr"] > 0, sign * (truth["vr"] - 1) * 64 * FPM, np.nan)
    assert np.allclose(rep.vrate, want_vr, atol=1e-4, equal_nan=True)
    assert np.isnan(rep.heading).sum() == (truth["sh"] == 0).sum() >= 3
    # airspeed (IAS/TAS) is not ground speed, and heading is not track over ground
    assert np.isnan(rep.speed).all() and np.isnan(rep.course).all()


def test_airspeed_subtypes_agree_with_rs1090():
    n = 300
    frames, truth = _airspeed_frames(n, seed=9)
    rep, _ = _decode(frames, np.arange(n) * 0.01)
    ref = rs1090.decode([bytes(f).hex() for f in frames])
    checked = 0
    for i, m in enumerate(ref):
        assert int(m["icao24"], 16) == truth["icao"][i] and m["bds"] == "09"
        assert ("IAS" in m) or ("TAS" in m)  # rs1090 reads these as airspeed messages
        if m.get("heading") is None:
            assert np.isnan(rep.heading[i])
        else:
            assert abs(rep.heading[i] - m["heading"]) < 1e-4
            checked += 1
        if m.get("vertical_rate") is None:
            assert np.isnan(rep.vrate[i])
        else:
            assert round(float(rep.vrate[i]) / FPM) == m["vertical_rate"]
    assert checked == (truth["sh"] == 1).sum() > 100


def test_mixed_with_ground_speed_subtype_keeps_both_meanings():
    icao = np.array([0x4840D6])
    gs = modes_encode.velocity(icao, 200.0, 45.0, 5.0)
    one = np.ones(1)
    # subtype 3, heading available 180°, TAS 450 kt, climbing (11 - 1) * 64 ft/min
    me = _me([(19 * one, 1, 5), (3 * one, 6, 3), (one, 11, 3), (one, 14, 1), (512 * one, 15, 10),
              (one, 25, 1), (451 * one, 26, 10), (11 * one, 38, 9)])  # fmt: skip
    air = modes_encode.frames_df17(icao, me)
    rep, rej = _decode(np.vstack([gs, air]), np.array([0.0, 1.0]))
    assert rej.rejected == 0 and len(rep) == 2
    assert abs(rep.speed[0] - 200.0) < 0.6 and abs(rep.course[0] - 45.0) < 0.5
    assert np.isnan(rep.heading[0])
    assert rep.heading[1] == 180.0 and rep.vrate[1] == np.float32(640 * FPM)
    assert np.isnan(rep.speed[1]) and np.isnan(rep.course[1])
    m = rs1090.decode(bytes(air[0]).hex())
    assert (m["heading"], m["TAS"], m["vertical_rate"]) == (180.0, 450, 640)
