"""Background shipping: vessels on lanes and at anchor, as AIS would report them.

Quiet on purpose: every vessel keeps to starboard of its lane centre at 10-18 kn
or lies at anchor inside an anchorage; none dawdles at sea, goes dark or
loiters beside another (pairs closer than 600 m for 3 minutes are redrawn).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from picket.geo.geodesy import KNOT, destination, geodetic_to_ecef, haversine_m
from picket.sim import geography, identities
from picket.sim.paths import Polyline, along, offset, polyline
from picket.sim.tables import Table, concat

POSITION_PERIOD_S = 10.0  # class A, 0-14 kn (and faster, close enough)
ANCHORED_PERIOD_S = 180.0  # class A at anchor, not moving
STATIC_PERIOD_S = 360.0  # type 5
CHECK_STEP_S = 60.0
CLOSE_M = 600.0
CLOSE_STEPS = 3  # 3 minutes within CLOSE_M = too close for background traffic


@dataclass
class Voyage:
    lane: str
    forward: bool
    path: Polyline
    s0: float  # m along the path at t0
    v_ms: float
    drift_deg: float  # heading - course (leeway), constant per ship


@dataclass
class Mooring:
    anchorage: str
    lat: float
    lon: float
    heading0: float


def report_times(t0: float, t1: float, period: float, phase: float) -> np.ndarray:
    return np.arange(t0 + phase, t1, period)


def _draw_voyage(rng: np.random.Generator, duration: float) -> Voyage:
    names = list(geography.LANES)
    w = np.array([geography.LANES[n][1] for n in names])
    lane = names[int(rng.choice(len(names), p=w / w.sum()))]
    pts = list(geography.LANES[lane][0])
    forward = bool(rng.random() < 0.5)
    if not forward:
        pts = pts[::-1]
    path = polyline(offset(pts, float(rng.uniform(400.0, 2800.0))))
    v = float(rng.uniform(10.0, 18.0)) * KNOT
    room = path.length - v * duration
    s0 = float(rng.uniform(0.0, max(room, 1.0)))
    return Voyage(lane, forward, path, s0, v, float(rng.normal(0.0, 1.5)))


def _draw_mooring(rng: np.random.Generator, taken: list[tuple[float, float]]) -> Mooring:
    anchorages = [
        (n, c, r) for n, (k, c, r) in geography.port_centres().items() if k == "anchorage"
    ]
    for _ in range(200):
        name, (lon, lat), r = anchorages[int(rng.integers(len(anchorages)))]
        la, lo = destination(lat, lon, rng.uniform(0, 360), r * 0.7 * np.sqrt(rng.random()))
        la, lo = float(la), float(lo)
        if all(haversine_ok(la, lo, a, b) for a, b in taken):
            return Mooring(name, la, lo, float(rng.uniform(0, 360)))
    return Mooring(name, la, lo, float(rng.uniform(0, 360)))


def haversine_ok(lat1: float, lon1: float, lat2: float, lon2: float, min_m: float = 700.0) -> bool:
    return bool(haversine_m(lat1, lon1, lat2, lon2) >= min_m)


def _grid_positions(
    voyages: list[Voyage | Mooring], grid: np.ndarray, t0: float
) -> tuple[np.ndarray, np.ndarray]:
    lat = np.empty((len(voyages), len(grid)))
    lon = np.empty_like(lat)
    for i, v in enumerate(voyages):
        if isinstance(v, Voyage):
            lat[i], lon[i], _ = along(v.path, v.s0 + v.v_ms * (grid - t0))
        else:
            lat[i], lon[i] = v.lat, v.lon
    return lat, lon


def close_pairs(lat: np.ndarray, lon: np.ndarray, radius_m: float = CLOSE_M) -> Counter:
    """How many grid steps each pair of rows spends within `radius_m` (ECEF chords)."""
    x, y, z = geodetic_to_ecef(lat, lon, 0.0)
    counts: Counter = Counter()
    for k in range(lat.shape[1]):
        ok = np.isfinite(x[:, k])
        idx = np.flatnonzero(ok)
        tree = cKDTree(np.column_stack([x[idx, k], y[idx, k], z[idx, k]]))
        for i, j in tree.query_pairs(radius_m):
            counts[(int(idx[i]), int(idx[j]))] += 1
    return counts


def plan(
    rng: np.random.Generator,
    n: int,
    t0: float,
    duration: float,
    obstacles: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[Voyage | Mooring]:
    """Draw voyages and moorings, then redraw any that loiter beside another or an obstacle.

    `obstacles` are (lat, lon) arrays on the CHECK_STEP_S grid of vessels that must
    not be disturbed (the scripted incidents), NaN where absent.
    """
    n_anchored = max(1, round(n * 0.1))
    plans: list[Voyage | Mooring] = []
    spots: list[tuple[float, float]] = []
    for _ in range(n_anchored):
        m = _draw_mooring(rng, spots)
        spots.append((m.lat, m.lon))
        plans.append(m)
    plans += [_draw_voyage(rng, duration) for _ in range(n - n_anchored)]
    grid = np.arange(t0, t0 + duration + 1, CHECK_STEP_S)
    obs_lat, obs_lon = obstacles if obstacles is not None else (np.empty((0, len(grid))),) * 2
    for _ in range(40):
        lat, lon = _grid_positions(plans, grid, t0)
        counts = close_pairs(np.vstack([lat, obs_lat]), np.vstack([lon, obs_lon]))
        # one of each pair is redrawn: the later one, or the background one beside an obstacle
        bad = {
            min(i, j) if max(i, j) >= n else max(i, j)
            for (i, j), c in counts.items()
            if c >= CLOSE_STEPS and min(i, j) < n
        }
        if not bad:
            break
        for b in sorted(bad):
            if isinstance(plans[b], Mooring):
                others = [
                    (p.lat, p.lon) for p in plans if isinstance(p, Mooring) and p is not plans[b]
                ]
                plans[b] = _draw_mooring(rng, others)
            else:
                plans[b] = _draw_voyage(rng, duration)
    return plans


def _dims(rng: np.random.Generator, ship_type: int) -> tuple[int, int, int, int, float]:
    if 60 <= ship_type < 70:
        length, beam, draught = rng.uniform(170, 215), rng.uniform(27, 32), rng.uniform(6.5, 7.5)
    elif 80 <= ship_type < 90:
        length, beam, draught = rng.uniform(100, 250), rng.uniform(16, 44), rng.uniform(7, 14.5)
    else:
        length, beam, draught = rng.uniform(85, 200), rng.uniform(13, 32), rng.uniform(5, 11)
    bow = round(length * rng.uniform(0.75, 0.85))
    port = round(beam / 2)
    return bow, round(length) - bow, port, round(beam) - port, round(float(draught), 1)


def info_rows(
    rng: np.random.Generator,
    vessel: np.ndarray,
    mmsi: np.ndarray,
    ship_type: np.ndarray,
    destination_: list[str],
    role: list[str],
    names: list[str] | None = None,
) -> Table:
    """Identity (AIS type 5 fields) for each vessel."""
    n = len(vessel)
    dims = [_dims(rng, int(t)) for t in ship_type]
    return {
        "vessel": np.asarray(vessel, dtype=np.int64),
        "mmsi": np.asarray(mmsi, dtype=np.int64),
        "name": names if names is not None else identities.ship_names(rng, n),
        "callsign": [identities.callsign(rng, int(m)) for m in mmsi],
        "imo": identities.imo_numbers(rng, n),
        "ship_type": np.asarray(ship_type, dtype=np.int16),
        "to_bow": np.array([d[0] for d in dims], dtype=np.int16),
        "to_stern": np.array([d[1] for d in dims], dtype=np.int16),
        "to_port": np.array([d[2] for d in dims], dtype=np.int16),
        "to_starboard": np.array([d[3] for d in dims], dtype=np.int16),
        "destination": list(destination_),
        "draught_m": np.array([d[4] for d in dims]),
        "role": list(role),
    }


def track_rows(
    vessel: int,
    mmsi: int,
    time: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    sog_kn: np.ndarray,
    cog: np.ndarray,
    heading: np.ndarray,
    nav_status: int | np.ndarray,
    transmitted: bool | np.ndarray = True,
) -> Table:
    """Position reports as transmitted (rounded to what AIS carries)."""
    n = len(time)
    return {
        "time": np.asarray(time, dtype=float),
        "vessel": np.full(n, vessel, dtype=np.int64),
        "mmsi": np.full(n, mmsi, dtype=np.int64),
        "lat": np.asarray(lat, dtype=float),
        "lon": np.asarray(lon, dtype=float),
        "sog_kn": np.round(np.clip(sog_kn, 0.0, 102.2), 1),
        "cog": np.round(np.asarray(cog, dtype=float) % 360.0, 1) % 360.0,
        "heading": np.asarray(np.round(heading) % 360, dtype=float),
        "nav_status": np.broadcast_to(np.asarray(nav_status, dtype=np.int8), (n,)).copy(),
        "transmitted": np.broadcast_to(np.asarray(transmitted, dtype=bool), (n,)).copy(),
    }


def static_rows(rng: np.random.Generator, vessel: int, times: np.ndarray, on: np.ndarray) -> Table:
    """Type 5 every STATIC_PERIOD_S while the transponder is on (`on` masks `times`)."""
    if len(times) == 0:
        return {"time": np.empty(0), "vessel": np.empty(0, dtype=np.int64)}
    phase = rng.uniform(0, STATIC_PERIOD_S)
    ticks = np.arange(times[0] + phase, times[-1], STATIC_PERIOD_S)
    idx = np.clip(np.searchsorted(times, ticks), 0, len(times) - 1)
    keep = on[idx]
    t = np.unique(times[idx[keep]])
    return {"time": t, "vessel": np.full(len(t), vessel, dtype=np.int64)}


def generate(
    rng: np.random.Generator,
    plans: list[Voyage | Mooring],
    first_vessel: int,
    mmsi: np.ndarray,
    t0: float,
    duration: float,
) -> tuple[Table, Table, Table]:
    """(info, tracks, statics) for planned background vessels."""
    t1 = t0 + duration
    tracks: list[Table] = []
    statics: list[Table] = []
    types: list[int] = []
    dests: list[str] = []
    roles: list[str] = []
    for k, p in enumerate(plans):
        v = first_vessel + k
        if isinstance(p, Voyage):
            t = report_times(t0, t1, POSITION_PERIOD_S, float(rng.integers(0, 10)))
            lat, lon, course = along(p.path, p.s0 + p.v_ms * (t - t0))
            sog = p.v_ms / KNOT + rng.normal(0.0, 0.08, len(t))
            cog = course + rng.normal(0.0, 0.3, len(t))
            hdg = course + p.drift_deg + rng.normal(0.0, 0.8, len(t))
            tracks.append(track_rows(v, int(mmsi[k]), t, lat, lon, sog, cog, hdg, 0))
            ferry = p.lane == "helsinki-tallinn"
            tanker = p.lane.startswith("baltic-") and rng.random() < 0.6
            types.append(
                69
                if ferry
                else int(rng.integers(80, 85))
                if tanker
                else int(rng.choice([70, 70, 71, 79]))
            )
            lane = geography.LANES[p.lane]
            dests.append(lane[2] if p.forward else lane[3])
            roles.append("underway")
        else:
            t = report_times(t0, t1, ANCHORED_PERIOD_S, float(rng.integers(0, 180)))
            n = len(t)
            jitter_m = rng.normal(0.0, 3.0, n)
            la, lo = destination(
                np.full(n, p.lat), np.full(n, p.lon), rng.uniform(0, 360, n), jitter_m
            )
            sog = np.abs(rng.normal(0.0, 0.04, n))
            cog = rng.uniform(0.0, 360.0, n)
            hdg = p.heading0 + 15.0 * np.sin(2 * np.pi * (t - t0) / 2400.0 + rng.uniform(0, 6.3))
            tracks.append(track_rows(v, int(mmsi[k]), t, la, lo, sog, cog, hdg, 1))
            types.append(int(rng.choice([70, 79, 80, 82])))
            dests.append(
                {"Muuga anchorage": "EEMUG", "Helsinki east anchorage": "FIHEL"}.get(
                    p.anchorage, "ORDERS"
                )
            )
            roles.append("anchored")
        statics.append(static_rows(rng, v, t, np.ones(len(t), dtype=bool)))
    vessels = np.arange(first_vessel, first_vessel + len(plans))
    info = info_rows(rng, vessels, mmsi, np.array(types), dests, roles)
    return info, concat(tracks), concat(statics)
