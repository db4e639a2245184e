"""air.loitering tells ATC holding from orbiting: a racetrack in a terminal area is holding.

Synthetic truth: an ICAO holding pattern (1 min legs, 180 deg rate-one turns) beside an
airport with airline service raises nothing; the same racetrack over open sea, and a
constant-radius navaid calibration orbit beside the same airport, are loitering. Real truth:
the Zurich ground sample (SWR5220 flies racetracks and boxes between its ground phases)
raises no air alert.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.detect.air_loiter import AirLoitering, AirLoiterThresholds
from picket.geo.airports import load_airports
from picket.geo.geodesy import destination
from tests.test_air_ground import SAMPLES, SEA, flight, loiters, replay_alerts, run

RIGA = (56.9236, 23.9711)  # EVRA / RIX: an airport with airline service


def holding(icao, t, lat0, lon0, v=110.0, leg_s=60.0, rate_dps=3.0, inbound=270.0):
    """A right-hand holding pattern: inbound leg to the fix, 180 deg turn, outbound leg,
    180 deg turn, each turn at `rate_dps` (rate one: 3 deg/s, ICAO Doc 8168)."""
    turn_s = 180.0 / rate_dps
    period = 2 * (leg_s + turn_s)
    dt = np.diff(t, prepend=t[0])
    ph = (t - t[0]) % period
    turn_in = inbound + rate_dps * (ph - leg_s)
    turn_out = inbound + 180.0 + rate_dps * (ph - 2 * leg_s - turn_s)
    hdg = np.select([ph < leg_s, ph < leg_s + turn_s, ph < 2 * leg_s + turn_s],
                    [np.full(len(t), inbound), turn_in, np.full(len(t), inbound + 180.0)],
                    turn_out)  # fmt: skip
    la, lo = [lat0], [lon0]
    for h, d in zip(hdg[1:], dt[1:], strict=True):
        a, b = destination(la[-1], lo[-1], float(h) % 360, v * float(d))
        la.append(float(a))
        lo.append(float(b))
    return flight(icao, t, np.array(la), np.array(lo), gs=v)


def orbit_at(icao, t, lat0, lon0, radius_m, v=100.0):
    ang = np.degrees(v * (t - t[0]) / radius_m)
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), ang, radius_m)
    return flight(icao, t, lat, lon, gs=v)


def test_the_airports_layer_knows_terminal_areas():
    ap = load_airports()
    near, dist = ap.served_within(np.array([RIGA[0] + 0.2, SEA[0]]), np.array([RIGA[1], SEA[1]]))
    assert near[0] >= 0 and 20_000 < dist[0] < 25_000
    assert near[1] == -1 and not np.isfinite(dist[1])


def test_holding_beside_an_airport_is_no_loiter_and_an_orbit_there_is():
    t = np.arange(0.0, 3 * 3600, 4.0)
    fix = destination(RIGA[0], RIGA[1], 60.0, 25_000.0)  # a holding fix 25 km out
    stack = holding(0x4B3001, t, float(fix[0]), float(fix[1]))
    at_sea = holding(0x4B3002, t, SEA[0], SEA[1])  # the same racetrack far from any airport
    # a navaid calibration orbit: 10 NM around the airport at 200 kt (0.31 deg/s)
    calib = orbit_at(0x4B3003, t, RIGA[0], RIGA[1], 18_520.0, v=103.0)
    # a helicopter working back and forth at 45 m/s beside the airport (a TV relay): loiter
    relay = holding(0x4B3006, t, float(fix[0]) - 0.3, float(fix[1]), v=45.0, leg_s=90.0)
    alerts = run([stack, at_sea, calib, relay])
    got = {a.subject for a in loiters(alerts)}
    assert got == {"icao:4b3002", "icao:4b3003", "icao:4b3006"}, got


def test_the_orbit_rule_sees_a_full_circle_and_not_a_racetrack():
    """The largest continuous turn of a holding is its 180 deg reversal; of a circle, the
    whole window."""
    t = np.arange(0.0, 1800, 10.0)
    det = AirLoitering()
    for r, want in [(holding(0x4B3004, t, *SEA), (150, 230)),
                    (orbit_at(0x4B3005, t, *SEA, 8_000.0), (1000, 1e9))]:  # fmt: skip
        det.slot, det.t = np.zeros(len(t), np.int64), r.time
        det.lat, det.lon, det.ground = r.lat, r.lon, np.zeros(len(t), bool)
        det._sort_and_pair()
        arc, _ = det.shape(det.turns(np.ones(len(t), bool)))
        assert want[0] <= arc[0] <= want[1], arc


def test_a_wide_calibration_arc_is_no_straight_leg():
    th = AirLoiterThresholds()
    # 25 NM DME arc at 250 kt turns 0.16 deg/s: above the straight-leg rate
    assert 128.6 / 46_300 * 180 / np.pi > th.straight_dps
    assert th.orbit_arc_deg > 210  # a holding's reversal with wind or a teardrop entry


@pytest.mark.realdata
def test_zurich_ground_sample_raises_no_air_alert(shared_data):
    """Nine aircraft taxi; SWR5220 flies racetracks and boxes between its ground phases,
    20-60 km from Karlsruhe/Baden-Baden, Strasbourg and Stuttgart: holding, no loiter."""
    alerts = replay_alerts(shared_data / SAMPLES / "onground__zurich_airport.csv.gz")
    air = [(a.subject, a.kind) for a in alerts if a.domain == "air" and a.kind != "air.emergency"]
    assert air == []


def test_window_sums_equal_a_plain_loop_over_each_aircraft():
    """Steps are measured once when samples arrive; a tick's sums must equal measuring the
    window's samples afresh, aircraft by aircraft."""
    from picket.geo.geodesy import angle_diff_deg, haversine_m, initial_bearing_deg

    rng = np.random.default_rng(5)
    det = AirLoitering()
    n = 3000
    det.slot = rng.integers(0, 12, n)
    det.t = rng.uniform(0, 7200, n).round(0)
    det.lat = 56 + np.cumsum(rng.normal(0, 0.004, n)) / 30
    det.lon = 19 + np.cumsum(rng.normal(0, 0.006, n)) / 30
    det.ground = np.zeros(n, bool)
    det._sort_and_pair()
    inside = (det.t >= 1800) & (det.t <= 5400)
    w = det.turns(inside)
    th = det.th
    for k, sl in enumerate(w["slots"].tolist()):
        m = inside & (det.slot == sl)
        o = np.flatnonzero(m)[np.argsort(det.t[m], kind="stable")]
        la, lo, t = det.lat[o], det.lon[o], det.t[o]
        step = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])
        ok = (step >= th.min_step_m) & (step / np.maximum(np.diff(t), 1e-3) >= th.min_speed_ms)
        b = np.flatnonzero(ok)
        brg = initial_bearing_deg(la[b], lo[b], la[b + 1], lo[b + 1])
        assert w["net"][k] == pytest.approx(angle_diff_deg(brg[1:], brg[:-1]).sum(), abs=1e-6)
        assert w["count"][k] == len(o)
        d = haversine_m(la, lo, w["mlat"][k], w["mlon"][k])
        assert w["radius"][k] == pytest.approx(d.max(), rel=1e-9)
