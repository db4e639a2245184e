"""Radar plots: a small drone crossing from Belarus into Lithuania, plus clutter.

Two rotating radars near Vilnius see it; each plot's time is the moment the beam
crossed its azimuth (scan start + azimuth/360 * period), so plots from one scan
are spread over the scan, as real ones are. Clutter is Poisson per scan, uniform
over each radar's coverage disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from picket.geo.geodesy import destination, enu_to_geodetic, geodetic_to_enu, initial_bearing_deg
from picket.sim.tables import Table, concat, sort_by


@dataclass(frozen=True)
class Radar:
    name: str
    lon: float
    lat: float
    sigma_m: float
    pd: float
    scan_s: float
    range_m: float
    clutter_per_scan: float
    phase_s: float


RADARS = (
    Radar("radar-lt-1", 25.45, 54.95, 30.0, 0.9, 4.0, 70_000.0, 3.0, 0.7),
    Radar("radar-lt-2", 25.60, 54.55, 50.0, 0.8, 5.0, 60_000.0, 2.5, 2.1),
)
ALT_SIGMA_M = 60.0
SPEED_MS = 32.0


def crossing_point() -> tuple[float, float]:
    """Midpoint of the Belarus-Lithuania border leg east of Vilnius (lon, lat)."""
    a, b = (25.73, 54.60), (25.80, 54.88)
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def drone_truth(t0: float, t_launch: float, t_cross: float, t_end: float) -> Table:
    """The drone on a 1 s grid: 25-40 m/s, 100-500 m, heading roughly west past Vilnius."""
    lon_c, lat_c = crossing_point()
    t = np.arange(t_launch, t_end + 1.0)
    speed = SPEED_MS + 5.0 * np.sin(2 * np.pi * (t - t0) / 500.0)
    course = 265.0 + 10.0 * np.sin(2 * np.pi * (t - t0) / 700.0)
    dt = np.diff(t, prepend=t[0])
    e = np.cumsum(speed * np.sin(np.radians(course)) * dt)
    n = np.cumsum(speed * np.cos(np.radians(course)) * dt)
    i = int(t_cross - t_launch)
    e, n = e - e[i], n - n[i]
    alt = 300.0 + 150.0 * np.sin(2 * np.pi * (t - t0) / 900.0)
    lat, lon, _ = enu_to_geodetic(e, n, np.zeros_like(e), lat_c, lon_c)
    return {"time": t, "lat": lat, "lon": lon, "alt": alt, "speed": speed}


def _radar_plots(rng: np.random.Generator, r: Radar, drone: Table, t0: float, t1: float) -> Table:
    scans = np.arange(t0 + r.phase_s, t1, r.scan_s)
    # the drone: one chance per scan, at the time the beam sweeps its azimuth
    az_d = initial_bearing_deg(r.lat, r.lon, drone["lat"], drone["lon"])
    e_d, n_d, _ = geodetic_to_enu(drone["lat"], drone["lon"], 0.0 * drone["alt"], r.lat, r.lon)
    rng_d = np.hypot(e_d, n_d)
    td = drone["time"]
    k = np.searchsorted(scans, td[0]) + np.arange(0, int((td[-1] - td[0]) / r.scan_s) + 1)
    k = k[k < len(scans)]
    az_at = np.interp(scans[k], td, az_d)
    t_det = scans[k] + az_at / 360.0 * r.scan_s
    ok = (t_det >= td[0]) & (t_det <= td[-1])
    t_det = t_det[ok]
    rr = np.interp(t_det, td, rng_d)
    seen = (rr <= r.range_m) & (rng.random(len(t_det)) < r.pd)
    t_det = t_det[seen]
    m = len(t_det)
    e = np.interp(t_det, td, e_d) + rng.normal(0, r.sigma_m, m)
    n = np.interp(t_det, td, n_d) + rng.normal(0, r.sigma_m, m)
    lat, lon, _ = enu_to_geodetic(e, n, np.zeros(m), r.lat, r.lon)
    alt = np.interp(t_det, td, drone["alt"]) + rng.normal(0, ALT_SIGMA_M, m)
    target = {"time": t_det, "lat": lat, "lon": lon, "alt": alt, "truth": np.zeros(m, np.int64)}
    # clutter: Poisson per scan, uniform over the coverage disk
    nc = rng.poisson(r.clutter_per_scan, len(scans))
    scan_of = np.repeat(np.arange(len(scans)), nc)
    c = len(scan_of)
    az = rng.uniform(0, 360, c)
    dist = r.range_m * np.sqrt(rng.random(c))
    clat, clon = destination(np.full(c, r.lat), np.full(c, r.lon), az, dist)
    clutter = {
        "time": scans[scan_of] + az / 360.0 * r.scan_s,
        "lat": clat,
        "lon": clon,
        "alt": rng.uniform(0.0, 800.0, c),
        "truth": np.full(c, -1, np.int64),
    }
    out = concat([target, clutter])
    out = {k_: v[out["time"] < t1] for k_, v in out.items()}
    out["sensor"] = np.full(len(out["time"]), RADARS.index(r), np.int8)
    return out


def generate(rng: np.random.Generator, drone: Table, t0: float, t1: float) -> Table:
    """All plots from all radars, time-ordered; `truth` 0 = the drone, -1 = clutter."""
    return sort_by(concat([_radar_plots(rng, r, drone, t0, t1) for r in RADARS]), "time")


def sensor_names() -> list[str]:
    return [r.name for r in RADARS]
