"""Background air traffic: airliners on direct routes, cruising, climbing and descending.

Routes are great circles between Baltic airports and gateways on the edge of
the covered region, bent around Kaliningrad and Belarus the way current traffic
avoids them. Each flight has a closed-form profile (climb at 12 m/s from the
origin airport, cruise at FL300-FL400 and 430-480 kn, descend at 8 m/s into
the destination), so positions at any message time are evaluated in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from picket.geo.geodesy import FOOT, KNOT, haversine_m
from picket.sim import geography, identities
from picket.sim.paths import Polyline, along, polyline
from picket.sim.tables import Table, concat

POSITION_PERIOD_S = 4.0
IDENT_PERIOD_S = 30.0
V_LOW = 80.0  # m/s at lift-off / touchdown
CLIMB_MS = 12.0
DESCENT_MS = 8.0

GATEWAYS: dict[str, tuple[float, float]] = {
    "GW-HAMBURG": (9.5, 53.8),
    "GW-JUTLAND": (9.5, 56.6),
    "GW-NORWAY": (9.5, 59.6),
    "GW-BERLIN": (13.4, 53.0),
    "GW-WARSAW": (21.0, 53.0),
    "GW-LAPLAND": (25.5, 61.5),
    "GW-NORRLAND": (17.5, 61.5),
}

ROUTES: tuple[tuple[str, str, float], ...] = (
    ("EFHK", "GW-BERLIN", 3.0),
    ("EFHK", "GW-HAMBURG", 2.0),
    ("EFHK", "GW-WARSAW", 2.0),
    ("EFHK", "EKCH", 2.0),
    ("EFHK", "ESSA", 2.0),
    ("EFHK", "EVRA", 1.5),
    ("EFHK", "EYVI", 1.0),
    ("EFHK", "GW-JUTLAND", 1.5),
    ("EFHK", "GW-NORWAY", 1.0),
    ("EETN", "ESSA", 1.0),
    ("EETN", "GW-WARSAW", 1.0),
    ("EETN", "EKCH", 1.0),
    ("EVRA", "ESSA", 1.5),
    ("EVRA", "EKCH", 1.5),
    ("EVRA", "GW-WARSAW", 1.5),
    ("EVRA", "GW-BERLIN", 1.5),
    ("EVRA", "GW-HAMBURG", 1.0),
    ("EVRA", "GW-NORWAY", 0.7),
    ("EYVI", "EKCH", 1.5),
    ("EYVI", "GW-BERLIN", 1.5),
    ("EYVI", "GW-HAMBURG", 1.0),
    ("EYVI", "ESSA", 1.0),
    ("EYKA", "GW-BERLIN", 0.5),
    ("EYPA", "EKCH", 0.4),
    ("EPGD", "ESSA", 1.0),
    ("EPGD", "GW-NORWAY", 1.0),
    ("EPGD", "EKCH", 0.7),
    ("EPGD", "EVRA", 0.6),
    ("EPGD", "EFHK", 0.6),
    ("ESSA", "GW-WARSAW", 2.0),
    ("ESSA", "GW-BERLIN", 1.5),
    ("ESSA", "GW-LAPLAND", 0.5),
    ("EKCH", "ESSA", 1.0),
    ("EKCH", "GW-LAPLAND", 0.5),
    ("GW-NORRLAND", "GW-WARSAW", 1.0),
    ("GW-LAPLAND", "GW-WARSAW", 1.0),
    ("GW-JUTLAND", "EETN", 0.8),
    ("GW-HAMBURG", "EYVI", 0.6),
    ("EFTU", "ESSA", 0.4),
)

# waypoints that take a route around Kaliningrad (sea to the west/north, Suwalki gap)
DETOURS: tuple[tuple[float, float], ...] = (
    (19.25, 54.60),
    (20.30, 55.62),
    (22.00, 55.45),
    (23.10, 54.25),
)


def endpoint(name: str) -> tuple[tuple[float, float], bool]:
    """(lon, lat) and whether it is an airport (a flight starts or ends on the ground)."""
    if name in geography.AIRPORTS:
        return geography.AIRPORTS[name][1], True
    return GATEWAYS[name], False


@cache
def _avoid() -> shapely.Geometry:
    return shapely.union_all([Polygon(geography.KALININGRAD), Polygon(geography.BELARUS)]).buffer(
        0.15
    )


def route_points(a: str, b: str) -> list[tuple[float, float]]:
    """A route from a to b: direct, or via the shortest detour that clears avoided airspace."""
    pa, pb = endpoint(a)[0], endpoint(b)[0]
    if not LineString([pa, pb]).intersects(_avoid()):
        return [pa, pb]
    best: list[tuple[float, float]] | None = None
    best_len = np.inf
    for w in DETOURS:
        pts = [pa, w, pb]
        if LineString(pts).intersects(_avoid()):
            continue
        length = polyline(pts).length
        if length < best_len:
            best, best_len = pts, length
    if best is None:  # two detours (e.g. round Kaliningrad to the south-east and north)
        for w1 in DETOURS:
            for w2 in DETOURS:
                pts = [pa, w1, w2, pb]
                if w1 != w2 and not LineString(pts).intersects(_avoid()):
                    length = polyline(pts).length
                    if length < best_len:
                        best, best_len = pts, length
    return best if best is not None else [pa, pb]


@dataclass
class Flight:
    origin: str
    dest: str
    path: Polyline
    h_c: float  # cruise altitude, m
    v_c: float  # cruise ground speed, m/s
    t_c: float  # climb duration, s (0 when entering at cruise)
    t_d: float  # descent duration, s
    duration: float  # s from start of route to its end
    t_start: float  # unix s at the start of the route

    def profile(self, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """(s along path, alt m, ground speed m/s, vrate m/s) at unix times t."""
        tau = np.asarray(t, dtype=float) - self.t_start
        L = self.path.length
        kc = (self.v_c - V_LOW) / self.t_c if self.t_c > 0 else 0.0
        kd = (self.v_c - V_LOW) / self.t_d if self.t_d > 0 else 0.0
        d_c = (V_LOW + self.v_c) / 2 * self.t_c
        s = d_c + self.v_c * (tau - self.t_c)
        alt = np.full_like(tau, self.h_c)
        gs = np.full_like(tau, self.v_c)
        vr = np.zeros_like(tau)
        climb = tau < self.t_c
        s = np.where(climb, V_LOW * tau + kc * tau**2 / 2, s)
        alt = np.where(climb, CLIMB_MS * tau, alt)
        gs = np.where(climb, V_LOW + kc * tau, gs)
        vr = np.where(climb, CLIMB_MS, vr)
        togo = self.duration - tau
        desc = togo < self.t_d
        s = np.where(desc, L - (V_LOW * togo + kd * togo**2 / 2), s)
        alt = np.where(desc, DESCENT_MS * togo, alt)
        gs = np.where(desc, V_LOW + kd * togo, gs)
        vr = np.where(desc, -DESCENT_MS, vr)
        return s, alt, gs, vr


def make_flight(
    rng: np.random.Generator,
    origin: str,
    dest: str,
    fl: int | None = None,
    v_kn: float | None = None,
) -> Flight:
    path = polyline(route_points(origin, dest))
    L = path.length
    from_ground, to_ground = endpoint(origin)[1], endpoint(dest)[1]
    h_c = (fl if fl is not None else int(rng.integers(30, 41)) * 10) * 100 * FOOT
    v_c = (v_kn if v_kn is not None else float(rng.uniform(430, 480))) * KNOT
    for _ in range(3):  # short hops fly lower and slower
        per_m = (V_LOW + v_c) / 2 * (from_ground / CLIMB_MS + to_ground / DESCENT_MS)
        if per_m * h_c > 0.85 * L:
            h_c = max(0.85 * L / per_m, 1500.0)
            v_c = min(v_c, V_LOW + (v_c - V_LOW) * min(1.0, h_c / 9000.0))
    t_c = h_c / CLIMB_MS if from_ground else 0.0
    t_d = h_c / DESCENT_MS if to_ground else 0.0
    d = (V_LOW + v_c) / 2 * (t_c + t_d)
    duration = t_c + t_d + max(L - d, 0.0) / v_c
    return Flight(origin, dest, path, h_c, v_c, t_c, t_d, duration, 0.0)


def time_at(f: Flight, s: float) -> float:
    """Seconds after route start at which the flight is `s` metres along (by table lookup)."""
    tau = np.linspace(0.0, f.duration, 2000)
    f0 = Flight(f.origin, f.dest, f.path, f.h_c, f.v_c, f.t_c, f.t_d, f.duration, 0.0)
    return float(np.interp(s, f0.profile(tau)[0], tau))


def closest_approach(path: Polyline, lat: float, lon: float) -> tuple[float, float]:
    """(s along path, distance m) of the point of the path nearest (lat, lon), 1 km sampling."""
    s = np.arange(0.0, path.length, 1000.0)
    la, lo, _ = along(path, s)
    d = haversine_m(la, lo, lat, lon)
    i = int(np.argmin(d))
    return float(s[i]), float(d[i])


def plan(rng: np.random.Generator, n: int, t0: float, duration: float) -> list[Flight]:
    """n flights, each airborne inside the region at some time within the hour.

    Flights on routes passing near Kaliningrad are mostly timed to be close to it
    during the hour, so the jamming area always has traffic to degrade.
    """
    lon_j, lat_j = geography.KALININGRAD_JAMMER
    w = np.array([r[2] for r in ROUTES])
    flights: list[Flight] = []
    for _ in range(n):
        a, b, _w = ROUTES[int(rng.choice(len(ROUTES), p=w / w.sum()))]
        if rng.random() < 0.5:
            a, b = b, a
        f = make_flight(rng, a, b)
        s_near, d_near = closest_approach(f.path, lat_j, lon_j)
        t_ref = t0 + float(rng.uniform(0.05, 0.95)) * duration
        if d_near < 0.8 * geography.JAMMING_RADIUS_M and rng.random() < 0.85:
            tau_ref = time_at(f, s_near) + float(rng.uniform(-300, 300))
        else:
            tau_ref = float(rng.uniform(0.0, f.duration))
        f.t_start = t_ref - float(np.clip(tau_ref, 0.0, f.duration))
        flights.append(f)
    return flights


def generate(
    rng: np.random.Generator,
    flights: list[Flight],
    icao: np.ndarray,
    t0: float,
    duration: float,
) -> Table:
    """One row per airborne position message (every 4 s, even/odd CPR alternating)."""
    lon0, lat0, lon1, lat1 = geography.AIR_REGION
    rows: list[Table] = []
    for k, f in enumerate(flights):
        phase = float(rng.uniform(0.0, POSITION_PERIOD_S))
        lo_t = max(t0, f.t_start)
        hi_t = min(t0 + duration, f.t_start + f.duration)
        if hi_t <= lo_t:
            continue
        i0 = int(np.ceil((lo_t - t0 - phase) / POSITION_PERIOD_S))
        i1 = int(np.floor((hi_t - t0 - phase) / POSITION_PERIOD_S))
        idx = np.arange(max(i0, 0), i1 + 1)
        t = t0 + phase + POSITION_PERIOD_S * idx
        t = t[t < t0 + duration]
        idx = idx[: len(t)]
        s, alt, gs, vr = f.profile(t)
        lat, lon, trk = along(f.path, s)
        keep = (alt > 30.0) & (lat > lat0) & (lat < lat1) & (lon > lon0) & (lon < lon1)
        n = int(keep.sum())
        id_phase = float(rng.uniform(0.0, IDENT_PERIOD_S))
        slot = np.floor((t - t0 - id_phase) / IDENT_PERIOD_S)
        ident = np.concatenate([[True], slot[1:] != slot[:-1]]) if len(t) else slot.astype(bool)
        rows.append(
            {
                "time": t[keep],
                "aircraft": np.full(n, k, dtype=np.int64),
                "icao": np.full(n, icao[k], dtype=np.int64),
                "lat": lat[keep],
                "lon": lon[keep],
                "rep_lat": lat[keep].copy(),
                "rep_lon": lon[keep].copy(),
                "alt_m": alt[keep],
                "gs_ms": gs[keep],
                "track": trk[keep],
                "vrate": vr[keep],
                "odd": (idx[keep] % 2).astype(bool),
                "ident": ident[keep],
            }
        )
    out = concat(rows)
    n = len(out["time"])
    ac = out["aircraft"]
    nacp = rng.integers(9, 11, len(flights))
    out["nic"] = np.full(n, 8, dtype=np.int8)
    out["nacp"] = nacp[ac].astype(np.int8)
    out["squawk"] = identities.squawks(rng, len(flights))[ac]
    out["emergency"] = np.zeros(n, dtype=np.int8)
    return out
