"""Great-circle polylines: where a ship or aircraft is after travelling s metres.

Each leg is a great circle, so positions are exact on the sphere whatever the
leg length (lanes run for hundreds of kilometres; no flat-earth shortcut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from picket.geo.geodesy import angle_diff_deg, destination, haversine_m, initial_bearing_deg

F8 = NDArray[np.float64]


@dataclass(frozen=True)
class Polyline:
    lat: F8
    lon: F8
    cum: F8  # distance from the first vertex to each vertex, m
    bearing: F8  # initial bearing of each leg, deg

    @property
    def length(self) -> float:
        return float(self.cum[-1])


def polyline(points: Sequence[tuple[float, float]]) -> Polyline:
    """From (lon, lat) vertices (GeoJSON order)."""
    arr = np.asarray(points, dtype=float)
    lon, lat = arr[:, 0], arr[:, 1]
    legs = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    cum = np.concatenate([[0.0], np.cumsum(legs)])
    brg = initial_bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:])
    return Polyline(lat, lon, cum, brg)


def reverse(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return list(points)[::-1]


def along(path: Polyline, s: ArrayLike) -> tuple[F8, F8, F8]:
    """Position and course after `s` metres from the first vertex (clamped to the ends)."""
    s = np.clip(np.asarray(s, dtype=float), 0.0, path.length)
    nseg = len(path.bearing)
    seg = np.clip(np.searchsorted(path.cum, s, side="right") - 1, 0, nseg - 1)
    d = s - path.cum[seg]
    lat, lon = destination(path.lat[seg], path.lon[seg], path.bearing[seg], d)
    ahead = initial_bearing_deg(lat, lon, path.lat[seg + 1], path.lon[seg + 1])
    behind = (initial_bearing_deg(lat, lon, path.lat[seg], path.lon[seg]) + 180.0) % 360.0
    remaining = path.cum[seg + 1] - s
    course = np.where(remaining > 10.0, ahead, np.where(d > 10.0, behind, path.bearing[seg]))
    return lat, lon, course


def offset(points: Sequence[tuple[float, float]], d_m: float) -> list[tuple[float, float]]:
    """The polyline shifted `d_m` to starboard (right of travel; negative = port).

    Each vertex moves along the bisector of its two legs by d / cos(half the turn),
    so the shifted legs stay parallel to the originals.
    """
    arr = np.asarray(points, dtype=float)
    lon, lat = arr[:, 0], arr[:, 1]
    brg = initial_bearing_deg(lat[:-1], lon[:-1], lat[1:], lon[1:])
    # bearing of each leg as seen at its end vertex (great circles turn on the sphere)
    fin = (initial_bearing_deg(lat[1:], lon[1:], lat[:-1], lon[:-1]) + 180.0) % 360.0
    n = len(lon)
    into = np.concatenate([[brg[0]], fin])  # direction arriving at each vertex
    out = np.concatenate([brg, [fin[-1]]])  # direction leaving each vertex
    half = angle_diff_deg(out, into) / 2.0
    normal = (into + half + 90.0) % 360.0
    dist = d_m / np.maximum(np.cos(np.radians(half)), 0.3)
    la, lo = destination(lat, lon, normal, np.full(n, dist))
    return [(float(x), float(y)) for x, y in zip(lo, la, strict=True)]
