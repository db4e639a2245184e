"""air.transponder_loss and air.loitering on synthetic tracks with known truth."""

from __future__ import annotations

import itertools

import numpy as np

from picket.detect.air_loiter import AirLoitering
from picket.detect.air_loss import TransponderLoss
from picket.geo.geodesy import destination
from picket.geo.zones import ZoneSet
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink

BORDER = [(24.0, 54.0), (26.0, 54.0), (26.0, 56.0), (24.0, 56.0), (24.0, 54.0)]
AIRPORT = [(18.0, 57.0), (18.3, 57.0), (18.3, 57.2), (18.0, 57.2), (18.0, 57.0)]


def run(reports: list[Reports], step: float = 10.0):
    zones = ZoneSet.from_features([("Lithuania", "airspace", BORDER, {}),
                                   ("Visby", "airport", AIRPORT, {})])  # fmt: skip
    mem = MemorySink()
    p = Pipeline([TransponderLoss(), AirLoitering()], [mem], World(zones=zones))
    r = Reports.concat(reports).sorted_by_time()
    edges = np.floor(r.time / step)
    cuts = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(r)]
    for a, b in itertools.pairwise(cuts):
        p.process(Decoded(r.take(slice(a, b))), now=float(r.time[b - 1]))
    p.finish()
    return {(a.subject, a.kind): a for a in mem.alerts.values()}


def flight(icao, t, lat, lon, alt=10_000.0, gs=230.0, trk=90.0) -> Reports:
    return Reports.build(len(t), time=t, domain=Domain.AIR, kind=Kind.POSITION,
                         subject=key(Namespace.ICAO, icao), lat=lat, lon=lon, alt=alt, speed=gs,
                         course=trk)  # fmt: skip


def traffic_grid(t, lat0, lon0, t_mid, n=12, spacing_m=40_000.0, first=0x500000):
    """Aircraft passing through spots around (lat0, lon0) at t_mid: good coverage there."""
    out = []
    for i in range(n):
        la, lo = destination(lat0, lon0, (i * 360 / n), spacing_m + 10_000 * (i % 3))
        trk = 0.0 if i % 2 == 0 else 180.0
        lat, lon = destination(np.full(len(t), la), np.full(len(t), lo), trk, 150.0 * (t - t_mid))
        out.append(flight(first + i, t, lat, lon, gs=150.0, trk=trk))
    return out


def test_transponder_off_near_the_border_is_critical_and_closes_when_heard_again():
    t = np.arange(0.0, 1800, 2.0)
    lat, lon = destination(54.9, 23.0, 90.0, 200.0 * t)  # heading for Lithuania at 24E
    silent = (t >= 300) & (t < 600)  # from 5 km before the border
    target = flight(0x4B0001, t[~silent], lat[~silent], lon[~silent])
    lat_q, lon_q = destination(54.9, 23.0, 90.0, 200.0 * 300)
    alerts = run([target, *traffic_grid(t, float(lat_q), float(lon_q), 360.0)])
    a = alerts[("icao:4b0001", "air.transponder_loss")]
    assert a.severity == "critical" and a.evidence["border"]["zone"] == "Lithuania"
    assert a.evidence["border"]["distance_m"] < 6000 and not a.evidence["border"]["inside"]
    assert 360 <= a.time <= 390  # 60 s of silence, checked every 15 s
    assert a.status == "closed" and 600 <= a.closed_time < 620
    assert a.evidence["coverage"]["widest_empty_sector_deg"] <= 120
    # nobody else went silent
    assert [k for k in alerts if k[1] == "air.transponder_loss"] == [
        ("icao:4b0001", "air.transponder_loss")
    ]


def test_silence_at_the_edge_of_coverage_is_not_a_loss():
    t = np.arange(0.0, 1200, 2.0)
    # the target flies east out of the traffic and goes quiet 70 km east of its centre
    lat, lon = destination(57.0, 13.0, 90.0, 230.0 * t)
    gone = t >= 500
    lat_c, lon_c = destination(lat[gone][0], lon[gone][0], 270.0, 70_000.0)
    grid = traffic_grid(t, float(lat_c), float(lon_c), 560.0, spacing_m=20_000.0)
    alerts = run([flight(0x4B0002, t[~gone], lat[~gone], lon[~gone]), *grid])
    assert not [k for k in alerts if k[1] == "air.transponder_loss"]


def test_landing_aircraft_going_quiet_low_is_not_a_loss():
    t = np.arange(0.0, 900, 2.0)
    lat, lon = destination(55.5, 20.0, 90.0, 120.0 * t)
    alt = np.maximum(3000.0 - 5.0 * t, 200.0)
    gone = t >= 700
    alerts = run([flight(0x4B0003, t[~gone], lat[~gone], lon[~gone], alt=alt[~gone]),
                  *traffic_grid(t, float(lat[gone][0]), float(lon[gone][0]), 760.0)])  # fmt: skip
    assert not [k for k in alerts if k[1] == "air.transponder_loss"]


def orbit(icao, t, lat0, lon0, radius_m, v=120.0, right=True):
    ang = (1 if right else -1) * np.degrees(v * (t - t[0]) / radius_m)
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), ang, radius_m)
    return flight(icao, t, lat, lon, gs=v, trk=(ang + (90 if right else -90)) % 360)


def racetrack(icao, t, lat0, lon0, leg_m=60_000.0, r_m=8_000.0, v=150.0):
    """Two straight legs joined by right-hand half circles, flown clockwise."""
    circ = 2 * leg_m + 2 * np.pi * r_m
    s = (v * (t - t[0])) % circ
    x = np.empty(len(t))
    y = np.empty(len(t))
    a = s < leg_m  # north leg, flying east
    x[a], y[a] = s[a], r_m
    b = (s >= leg_m) & (s < leg_m + np.pi * r_m)
    th = (s[b] - leg_m) / r_m
    x[b], y[b] = leg_m + r_m * np.sin(th), r_m * np.cos(th)
    c = (s >= leg_m + np.pi * r_m) & (s < 2 * leg_m + np.pi * r_m)
    x[c], y[c] = leg_m - (s[c] - leg_m - np.pi * r_m), -r_m
    d = s >= 2 * leg_m + np.pi * r_m
    th = (s[d] - 2 * leg_m - np.pi * r_m) / r_m
    x[d], y[d] = -r_m * np.sin(th), -r_m * np.cos(th)
    brg = np.degrees(np.arctan2(x, y))
    lat, lon = destination(np.full(len(t), lat0), np.full(len(t), lon0), brg, np.hypot(x, y))
    return flight(icao, t, lat, lon, gs=v)


def test_orbit_and_racetrack_loiter_but_transit_and_s_turns_do_not():
    t = np.arange(0.0, 5400, 4.0)
    orb = orbit(0x4B1001, t, 56.0, 20.0, 10_000.0)  # 63 km circuit: ~9 min per turn
    # 170 km circuit: ~19 min; over open sea (an ISR track): 75 km from Ventspils, whose
    # terminal area would make a racetrack ATC holding (tests/test_holding_racetrack.py)
    rt = racetrack(0x4B1002, t, 57.5, 19.8)
    lat, lon = destination(55.0, 15.0, 80.0, 230.0 * t)
    transit = flight(0x4B1003, t, lat, lon, trk=80.0)
    # S-turns: heading swings +-60 deg, net zero
    hdg = 90.0 + 60.0 * np.sin(2 * np.pi * t / 600.0)
    step = 200.0 * 4.0
    la, lo = [58.5], [14.0]
    for h in hdg[1:]:
        a, b = destination(la[-1], lo[-1], h, step)
        la.append(float(a))
        lo.append(float(b))
    s_turns = flight(0x4B1004, t, np.array(la), np.array(lo), gs=200.0, trk=hdg)
    holding = orbit(0x4B1005, t, 57.1, 18.15, 3_000.0)  # an airport holding stack
    alerts = run([orb, rt, transit, s_turns, holding])
    got = {s for s, k in alerts if k == "air.loitering"}
    assert got == {"icao:4b1001", "icao:4b1002"}
    a = alerts[("icao:4b1001", "air.loitering")]
    t_full = 2 * np.pi * 10_000 / 120.0  # one full circle
    assert t_full <= a.time <= t_full + 120.0
    assert abs(a.evidence["centre"]["lat"] - 56.0) < 0.05 and a.evidence["radius_m"] < 11_000
    assert a.evidence["direction"].startswith("right")
    b = alerts[("icao:4b1002", "air.loitering")]
    assert b.evidence["net_turn_deg"] >= 360.0


def test_left_orbit_counts_and_hovering_noise_does_not():
    t = np.arange(0.0, 3600, 4.0)
    left = orbit(0x4B2001, t, 56.0, 22.0, 6_000.0, right=False)
    rng = np.random.default_rng(1)
    lat = 56.5 + rng.normal(0, 0.0003, len(t))  # ~30 m noise around a fixed point
    lon = 22.0 + rng.normal(0, 0.0005, len(t))
    hover = flight(0x4B2002, t, lat, lon, alt=100.0, gs=0.5)
    alerts = run([left, hover])
    got = {s for s, k in alerts if k == "air.loitering"}
    assert got == {"icao:4b2001"}
    assert alerts[("icao:4b2001", "air.loitering")].evidence["net_turn_deg"] <= -360.0
