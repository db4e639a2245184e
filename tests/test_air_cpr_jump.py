"""CPR pairs that straddle a position jump (GNSS spoofing) must not decode to garbage.

Before the fix, an even half from before a 60 km jump and an odd half from
after it decoded globally to a point ~1,400-1,900 km away. Now such pairs are
set aside and each frame decodes locally, so the real (spoofed) positions stay.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.codec import modes_cpr, modes_encode
from picket.codec.modes_cpr_track import DISAGREES, STRADDLES_JUMP, CprTracker
from picket.geo.geodesy import destination, haversine_m
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.beast import BeastDecoder

BASE = 1_700_000_000.0
ICAO = 0x3D1188


def _flight(jump_m: float, bearing: float = 100.0, lat0: float = 58.5, lon0: float = 20.4):
    """One aircraft east-bound at 240 m/s, a position every 2 s; reports jump between 60-120 s."""
    t = np.arange(0.0, 180.0, 2.0)
    true_lat, true_lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), 90.0, 240.0 * t)
    spoof = (t >= 61.0) & (t < 121.0)
    rlat, rlon = true_lat.copy(), true_lon.copy()
    rlat[spoof], rlon[spoof] = destination(true_lat[spoof], true_lon[spoof], bearing, jump_m)
    odd = (np.arange(len(t)) % 2).astype(np.int64)
    return t, rlat, rlon, odd


def _decode(t, lat, lon, odd, chunk: int | None = None):
    frames = modes_encode.airborne_position(np.full(len(t), ICAO), lat, lon, 10_000.0, odd, 8)
    stream = modes_encode.beast_stream(frames, t)
    rej = Rejects()
    dec = BeastDecoder(rej, "sim", base_time=BASE)
    step = chunk or len(stream)
    outs = [dec.feed(stream[i : i + step]) for i in range(0, len(stream), step)]
    outs.append(dec.flush())
    rep = Reports.concat([o.reports for o in outs])
    return rep, rej, dec.modes.cpr


@pytest.mark.parametrize("jump_m", [40_000.0, 60_000.0, 80_000.0])
@pytest.mark.parametrize("chunk", [None, 97])
def test_jump_keeps_every_real_position_and_no_garbage(jump_m, chunk):
    t, lat, lon, odd = _flight(jump_m)
    rep, rej, cpr = _decode(t, lat, lon, odd, chunk)
    assert rej.rejected == 0 and rej.accepted == len(t)
    pos = rep.where(rep.kind == Kind.POSITION)
    assert np.all(pos.subject == key(Namespace.ICAO, ICAO))
    has = pos.has_position()
    # only the very first frame lacks a partner; every other frame, spoofed or not, decodes
    assert has.sum() == len(t) - 1
    err = haversine_m(pos.lat[has], pos.lon[has], lat[1:], lon[1:])
    assert err.max() < 20.0  # CPR airborne resolution is ~5 m
    # both edges of the spoofed stretch straddle the jump
    assert cpr.pairs_straddling_jump == 2


def test_unfixed_global_decode_of_the_straddling_pair_is_garbage():
    """The failure the checks exist for, shown on the raw CPR maths."""
    t, lat, lon, odd = _flight(60_000.0)
    i = int(np.flatnonzero(t >= 61.0)[0])  # first spoofed frame; its partner is the frame before
    ye, xe = modes_cpr.encode(lat[i - 1 : i], lon[i - 1 : i], odd[i - 1 : i])
    yo, xo = modes_cpr.encode(lat[i : i + 1], lon[i : i + 1], odd[i : i + 1])
    if odd[i] == 0:
        ye, xe, yo, xo = yo, xo, ye, xe
    g_lat, g_lon, ok = modes_cpr.decode_global(ye, xe, yo, xo, odd[i : i + 1])
    assert ok[0]  # the NL-zone check alone does not catch it
    assert haversine_m(g_lat, g_lon, lat[i], lon[i])[0] > 500_000.0


def test_small_moves_are_not_taken_for_jumps():
    """A fast jet (600 m/s) with 10 s between halves is still a valid pair."""
    t = np.arange(0.0, 100.0, 10.0)
    lat, lon = destination(np.full(len(t), 47.0), np.full(len(t), 8.0), 45.0, 600.0 * t)
    odd = (np.arange(len(t)) % 2).astype(np.int64)
    rep, rej, cpr = _decode(t - 0.001 * np.arange(len(t)), lat, lon, odd)
    assert cpr.pairs_straddling_jump == 0 and rej.rejected == 0
    assert rep.has_position().sum() == len(t) - 1


def test_pair_disagreeing_with_a_recent_position_is_dropped_and_counted():
    """A valid pair decoded against a wrong recent position: neither is trusted blindly."""
    cpr = CprTracker()
    lat = np.array([50.0, 50.001])
    lon = np.array([10.0, 10.002])
    odd = np.array([0, 1])
    yz, xz = modes_cpr.encode(lat, lon, odd)
    icao = np.array([ICAO, ICAO])
    la, _lo, why = cpr.decode(icao, np.array([0.0, 1.0]), odd, yz, xz, np.zeros(2, bool))
    assert np.isfinite(la[1]) and why.tolist() == [0, 0]
    # the aircraft's carried last position is now put 8 degrees (> one zone) away
    cpr.state["lat"][:] = 58.0
    lat2, lon2 = np.array([50.002, 50.003]), np.array([10.004, 10.006])
    yz, xz = modes_cpr.encode(lat2, lon2, odd)
    la, _lo, why = cpr.decode(icao, np.array([2.0, 3.0]), odd, yz, xz, np.zeros(2, bool))
    # the first frame pairs with the earlier half and is checked against the wrong position
    assert why[0] == DISAGREES and np.isnan(la[0])
    # the second pairs with the first; the dropped decode is not its reference
    assert why[1] == DISAGREES and np.isnan(la[1])
    assert cpr.pairs_disagreeing == 2
    assert STRADDLES_JUMP not in why.tolist()


def test_baltic_demo_spoofed_aircraft_has_no_garbage_positions():
    from picket.sim import emit, scenario

    scn = scenario.build(seed=7)
    inc = next(i for i in scn.incidents if i.kind == "gnss.spoofing")
    k = int(inc.subject.split(":")[1], 16)
    rej = Rejects()
    dec = BeastDecoder(rej, "sim", base_time=scn.start)
    w = emit.beast_wire(scn)
    sel = np.flatnonzero(w.frames[:, 1:4] @ np.array([1 << 16, 1 << 8, 1]) == k)
    stream = modes_encode.beast_stream(w.frames[sel], w.times[sel] - scn.start)
    rep = Reports.concat([dec.feed(stream).reports, dec.flush().reports])
    pos = rep.where((rep.kind == Kind.POSITION) & rep.has_position())
    a = scn.aircraft
    mine = a["icao"] == k
    # every decoded position is one the aircraft reported (true or spoofed), to CPR resolution
    ti = np.searchsorted(a["time"][mine], pos.time - 1e-3)
    ti = np.clip(ti, 0, mine.sum() - 1)
    err = haversine_m(pos.lat, pos.lon, a["rep_lat"][mine][ti], a["rep_lon"][mine][ti])
    assert err.max() < 50.0
    spoofed = haversine_m(pos.lat, pos.lon, a["lat"][mine][ti], a["lon"][mine][ti]) > 50_000
    assert spoofed.sum() >= 100  # the spoofed stretch is all there for the detectors
    assert dec.modes.cpr.pairs_straddling_jump == 2
