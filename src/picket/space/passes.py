"""Overflights: which satellites see an area (polygon) and when.

"Sees" means the satellite stands at least `min_elevation_deg` above the
horizon of some point of the area, i.e. the area meets the satellite's
visibility footprint: a spherical cap around the sub-satellite point of
Earth-central angle lambda = acos(Re cos(e) / (Re + h)) - e. Sub-satellite
points come from SGP4 (TEME rotated by GMST, then WGS84 geodetic), at
`step_s`; a pass runs over consecutive steps in view, so its start and end are
good to a step. Cheap prefilter: the great-circle distance from the area's
centre must be within its radius plus the footprint; the few left are tested
against the polygon itself (inside, or distance to its edge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from picket.geo.geodesy import haversine_m
from picket.geo.zones import ZoneSet
from picket.space.propagate import Propagator, subpoints

RE_M = 6371008.8  # mean Earth radius for the footprint cap (sphere)


@dataclass
class Passes:
    sat: np.ndarray  # index into the propagator's catalogue
    zone: np.ndarray
    start: np.ndarray  # unix s, first step in view
    end: np.ndarray  # unix s, last step in view
    max_elevation_deg: np.ndarray
    min_ground_km: np.ndarray  # closest sub-satellite point to the area (0 inside)

    def __len__(self) -> int:
        return len(self.sat)


def footprint_angle(alt_m: np.ndarray, min_elev_deg: float) -> np.ndarray:
    """Earth-central angle (rad) of the cap from which the satellite is above the elevation."""
    e = np.radians(min_elev_deg)
    ratio = RE_M * np.cos(e) / (RE_M + np.maximum(alt_m, 0.0))
    return np.arccos(np.clip(ratio, -1.0, 1.0)) - e


def elevation_deg(ground_m: np.ndarray, alt_m: np.ndarray) -> np.ndarray:
    """Elevation of a satellite at altitude h seen from a point `ground_m` from its subpoint."""
    g = ground_m / RE_M
    return np.degrees(np.arctan2(np.cos(g) - RE_M / (RE_M + alt_m), np.sin(g)))


def _zone_circles(zones: ZoneSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre (lat, lon) and radius (m) of a circle holding each zone."""
    lat0, lon0, rad = [], [], []
    for g in zones.geoms:
        c = shapely.centroid(g)
        xy = shapely.get_coordinates(g)
        lat0.append(c.y)
        lon0.append(c.x)
        rad.append(float(haversine_m(c.y, c.x, xy[:, 1], xy[:, 0]).max()) if len(xy) else 0.0)
    return np.array(lat0), np.array(lon0), np.array(rad)


def pass_steps(duration_s: float, step_s: float = 30.0) -> int:
    """How many time steps `find_passes` takes (the progress total)."""
    return len(np.arange(0.0, duration_s + step_s / 2, step_s))


def find_passes(
    prop: Propagator,
    zones: ZoneSet,
    start: float,
    duration_s: float,
    step_s: float = 30.0,
    min_elevation_deg: float = 10.0,
    block: int = 40,
    progress: Callable[[int], None] | None = None,
) -> Passes:
    # progress(n): n more of the len(times) time steps done (`pass_steps` gives the total)
    times = start + np.arange(0.0, duration_s + step_s / 2, step_s)
    zlat, zlon, zrad = _zone_circles(zones)
    hits_s, hits_z, hits_k, hits_g, hits_e = [], [], [], [], []
    for b0 in range(0, len(times), block):
        tb = times[b0 : b0 + block]
        r, _, err = prop.states(tb)
        lat, lon, alt = subpoints(r, tb[None, :])
        ok = (err == 0) & np.isfinite(lat)
        reach = footprint_angle(np.nan_to_num(alt), min_elevation_deg) * RE_M
        for z in range(len(zones)):
            d = haversine_m(lat, lon, zlat[z], zlon[z])
            s_i, k_i = np.nonzero(ok & (d <= zrad[z] + reach))
            if not len(s_i):
                continue
            la, lo, rr, dd = lat[s_i, k_i], lon[s_i, k_i], reach[s_i, k_i], d[s_i, k_i]
            # exact polygon tests only where the circle bound cannot decide
            g = np.maximum(dd - zrad[z], 0.0)
            undecided = np.flatnonzero((dd + zrad[z] > rr) | (dd <= zrad[z]))
            if len(undecided):
                u = undecided
                inside = zones.contains(la[u], lo[u]) == z
                gu = np.zeros(len(u))
                if (~inside).any():
                    gu[~inside] = zones.distance_to_boundary_m(la[u][~inside], lo[u][~inside], z)
                g[u] = gu
            seen = g <= rr
            hits_s.append(s_i[seen])
            hits_z.append(np.full(int(seen.sum()), z))
            hits_k.append(b0 + k_i[seen])
            hits_g.append(g[seen])
            hits_e.append(elevation_deg(g[seen], alt[s_i, k_i][seen]))
        if progress is not None:
            progress(len(tb))
    if not hits_s:
        z = np.zeros(0)
        return Passes(z.astype(int), z.astype(int), z, z, z, z)
    s, zz, k, g, el = (np.concatenate(x) for x in (hits_s, hits_z, hits_k, hits_g, hits_e))
    order = np.lexsort((k, zz, s))
    s, zz, k, g, el = s[order], zz[order], k[order], g[order], el[order]
    new = np.ones(len(s), bool)
    new[1:] = (s[1:] != s[:-1]) | (zz[1:] != zz[:-1]) | (k[1:] != k[:-1] + 1)
    pid = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(s)) - 1
    return Passes(
        sat=s[first], zone=zz[first], start=times[k[first]], end=times[k[last]],
        max_elevation_deg=np.maximum.reduceat(el, first),
        min_ground_km=np.minimum.reduceat(g, first) / 1000.0,
    ) if len(pid) else Passes(*(np.zeros(0),) * 6)  # fmt: skip


def point_passes(lat: float, lon: float, t: np.ndarray, sub_lat: np.ndarray,
                 sub_lon: np.ndarray, alt_m: np.ndarray,
                 min_elevation_deg: float = 10.0
                 ) -> list[tuple[int, float, float, float]]:  # fmt: skip
    """Overflights of one place from sub-satellite tracks already propagated (n objects x
    m steps at times `t`): (object index, first step in view, last step in view, highest
    elevation deg) per pass, as `find_passes` defines "in view"."""
    ok = np.isfinite(sub_lat) & np.isfinite(alt_m)
    d = haversine_m(np.nan_to_num(sub_lat), np.nan_to_num(sub_lon), lat, lon)
    seen = ok & (d <= footprint_angle(np.nan_to_num(alt_m), min_elevation_deg) * RE_M)
    out = []
    for s in np.flatnonzero(seen.any(axis=1)).tolist():
        row = seen[s].astype(np.int8)
        edges = np.diff(np.r_[0, row, 0])
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True):
            el = elevation_deg(d[s, a : b + 1], alt_m[s, a : b + 1])
            out.append((s, float(t[a]), float(t[b]), float(np.max(el))))
    return sorted(out, key=lambda p: (p[1], p[0]))
