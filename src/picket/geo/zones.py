"""Zones (polygons) and protected lines (cables, pipelines) with vectorised spatial queries.

`ZoneSet` answers "which zone is this point in" for whole arrays at once through a shapely
STRtree. Polygon edges are straight in lon/lat, as GeoJSON (RFC 7946) defines them;
`distance_to_boundary_m` follows those same edges (segmentized to 0.1° steps, about 1 m from
the lon/lat edge) so "inside" and "how far to the edge" agree. Cut edges lying on lon = ±180,
made when a zone was split at the antimeridian, are not boundaries and are ignored.

`LineSet` explodes every line into great-circle segments and indexes the segments' true
envelopes (an arc bulges poleward of its endpoints; the envelope includes that). A query
around a point with radius r uses the lat/lon box that holds the whole spherical cap of radius
r, so no segment within r can be missed at any latitude; exact spherical distances are then
computed for the candidates only. Distances are on the IUGG mean sphere (`geodesy`), which is
what `haversine_m` uses; `along_m` is measured along the feature's parts in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from picket.geo.geodesy import EARTH_RADIUS_M, haversine_m
from picket.geo.near_grid import NearGrid
from picket.geo.zone_io import (
    DEFAULT_CORRIDOR_M,
    BadFeature,
    Feature,
    checked_lines,
    checked_polygon,
    feature_corridor,
    feature_kind,
    positions,
    read_features,
)
from picket.model.rejects import Rejects

I8 = NDArray[np.int64]
F8 = NDArray[np.float64]
BOUNDARY_STEP_DEG = 0.1  # zone edges are followed to about 1 m
_PAIR_CHUNK = 200_000  # points per STRtree query batch, bounds memory


# ---------------------------------------------------------------- spherical arc maths


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> F8:
    p, lam = np.radians(lat), np.radians(lon)
    cp = np.cos(p)
    return np.stack([cp * np.cos(lam), cp * np.sin(lam), np.sin(p)], axis=-1)


def _dot(u: F8, v: F8) -> F8:
    return np.einsum("...i,...i->...", u, v)


def _angle(u: F8, v: F8) -> F8:
    """Angle between unit vectors, accurate at small and large separations."""
    return np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), _dot(u, v))


def _normals(a: F8, b: F8) -> tuple[F8, NDArray[np.bool_]]:
    n = np.cross(a, b)
    nn = np.linalg.norm(n, axis=-1)
    ok = nn > 1e-15
    return n / np.where(ok, nn, 1.0)[..., None], ok


def _between(x: F8, a: F8, b: F8, n: F8) -> NDArray[np.bool_]:
    """Whether x (on the circle with normal n) lies on the minor arc from a to b."""
    return (_dot(np.cross(a, x), n) >= 0) & (_dot(np.cross(x, b), n) >= 0)


def point_arc(p: F8, a: F8, b: F8, n: F8, ok: NDArray[np.bool_]) -> tuple[F8, F8]:
    """Angular distance from p to the arc a-b (clamped to its ends) and the foot's angle from a."""
    s = _dot(p, n)
    f = p - s[..., None] * n
    fn = np.linalg.norm(f, axis=-1)
    fh = f / np.where(fn > 0, fn, 1.0)[..., None]
    inside = ok & (fn > 1e-15) & _between(fh, a, b, n)
    da, db = _angle(p, a), _angle(p, b)
    seg = _angle(a, b)
    dist = np.where(inside, np.arctan2(np.abs(s), fn), np.minimum(da, db))
    along = np.where(inside, _angle(a, fh), np.where(da <= db, 0.0, seg))
    return dist, along


def point_arc_distance(p: F8, a: F8, b: F8, n: F8, ok: NDArray[np.bool_]) -> F8:
    """`point_arc`'s distance alone, on coordinate columns: the same operations in the same
    order (so the same bits; `_dot`'s einsum adds x, z, then y), without the along-arc angle
    or NumPy's per-call stacking (the corridor lookup runs it on every nearby position)."""
    px, py, pz = p[:, 0], p[:, 1], p[:, 2]
    ax, ay, az = a[:, 0], a[:, 1], a[:, 2]
    bx, by, bz = b[:, 0], b[:, 1], b[:, 2]
    nx, ny, nz = n[:, 0], n[:, 1], n[:, 2]
    s = px * nx + pz * nz + py * ny
    fx, fy, fz = px - s * nx, py - s * ny, pz - s * nz
    fn = np.sqrt(fx * fx + fy * fy + fz * fz)
    q = np.where(fn > 0, fn, 1.0)
    hx, hy, hz = fx / q, fy / q, fz / q
    inside = ok & (fn > 1e-15)
    # x on the minor arc a-b: (a x x) . n >= 0 and (x x b) . n >= 0
    inside &= (ay * hz - az * hy) * nx + (ax * hy - ay * hx) * nz + (az * hx - ax * hz) * ny >= 0
    inside &= (hy * bz - hz * by) * nx + (hx * by - hy * bx) * nz + (hz * bx - hx * bz) * ny >= 0

    def angle(ux: F8, uy: F8, uz: F8, vx: F8, vy: F8, vz: F8) -> F8:
        cx, cy, cz = uy * vz - uz * vy, uz * vx - ux * vz, ux * vy - uy * vx
        return np.arctan2(np.sqrt(cx * cx + cy * cy + cz * cz), ux * vx + uz * vz + uy * vy)

    da, db = angle(px, py, pz, ax, ay, az), angle(px, py, pz, bx, by, bz)
    return np.where(inside, np.arctan2(np.abs(s), fn), np.minimum(da, db))


def arc_arc(a1: F8, b1: F8, a2: F8, b2: F8) -> F8:
    """Exact angular distance between two minor arcs: 0 if they cross, else the least of the
    four endpoint-to-arc distances (off a crossing the minimum is always at an endpoint)."""
    n1, ok1 = _normals(a1, b1)
    n2, ok2 = _normals(a2, b2)
    c = np.cross(n1, n2)
    cn = np.linalg.norm(c, axis=-1)
    good = ok1 & ok2 & (cn > 1e-15)
    ch = c / np.where(good, cn, 1.0)[..., None]
    hit = np.zeros(cn.shape, bool)
    for x in (ch, -ch):
        hit |= good & _between(x, a1, b1, n1) & _between(x, a2, b2, n2)
    d = np.minimum.reduce(
        [
            point_arc(a1, a2, b2, n2, ok2)[0],
            point_arc(b1, a2, b2, n2, ok2)[0],
            point_arc(a2, a1, b1, n1, ok1)[0],
            point_arc(b2, a1, b1, n1, ok1)[0],
        ]
    )
    return np.where(hit, 0.0, d)


def arc_lat_range(a: F8, b: F8, n: F8, ok: NDArray[np.bool_]) -> tuple[F8, F8]:
    """Least and greatest latitude (degrees) on each arc, including the poleward bulge."""
    za, zb = a[..., 2], b[..., 2]
    lo, hi = np.minimum(za, zb), np.maximum(za, zb)
    nz = n[..., 2]
    zmax = np.sqrt(np.clip(1 - nz * nz, 0.0, 1.0))
    v = np.stack([-nz * n[..., 0], -nz * n[..., 1], 1 - nz * nz], axis=-1)
    v = v / np.where(zmax > 1e-15, zmax, 1.0)[..., None]
    top = ok & (zmax > 1e-15) & _between(v, a, b, n)
    bottom = ok & (zmax > 1e-15) & _between(-v, a, b, n)
    hi = np.where(top, zmax, hi)
    lo = np.where(bottom, -zmax, lo)
    return np.degrees(np.arcsin(np.clip(lo, -1, 1))), np.degrees(np.arcsin(np.clip(hi, -1, 1)))


def cap_boxes(
    lat: F8, lon: F8, radius_m: F8, lat_lo: F8 | None = None, lat_hi: F8 | None = None
) -> tuple[I8, F8, F8, F8, F8]:
    """Lon/lat boxes (owner, xmin, ymin, xmax, ymax) that hold every point within `radius_m`
    of each owner: a point (lat, lon), or with `lat_lo`/`lat_hi` and an (n, 2) unwrapped lon
    range, a path's envelope. The longitude margin is the spherical cap's true half-width,
    asin(sin(d) / cos(lat)), taken at the envelope's most poleward latitude; a cap reaching a
    pole takes all longitudes. Boxes crossing ±180 are split into in-range pieces."""
    lat_lo = lat if lat_lo is None else lat_lo
    lat_hi = lat if lat_hi is None else lat_hi
    d = np.asarray(radius_m, float) / EARTH_RADIUS_M
    dlat = np.degrees(d)
    ymin, ymax = lat_lo - dlat, lat_hi + dlat
    worst = np.radians(np.maximum(np.abs(lat_lo), np.abs(lat_hi)))
    s = np.sin(np.minimum(d, np.pi / 2)) / np.maximum(np.cos(worst), 1e-300)
    polar = (ymax >= 90.0) | (ymin <= -90.0) | (s >= 1.0) | (d >= np.pi / 2)
    dlon = np.where(polar, 180.0, np.degrees(np.arcsin(np.clip(s, 0.0, 1.0))) * (1 + 1e-9))
    if lon.ndim == 2:  # (n, 2): an unwrapped lon range per owner
        xmin, xmax = lon[:, 0] - dlon, lon[:, 1] + dlon
    else:
        xmin, xmax = lon - dlon, lon + dlon
    pad = 1e-9
    xmin, xmax = np.where(polar, -180.0, xmin - pad), np.where(polar, 180.0, xmax + pad)
    ymin, ymax = np.clip(ymin - pad, -90, 90), np.clip(ymax + pad, -90, 90)
    owner = np.arange(len(xmin))
    parts = [(owner, np.maximum(xmin, -180.0), ymin, np.minimum(xmax, 180.0), ymax)]
    west = xmin < -180.0
    parts.append(
        (owner[west], xmin[west] + 360.0, ymin[west], np.full(west.sum(), 180.0), ymax[west])
    )
    east = xmax > 180.0
    parts.append(
        (owner[east], np.full(east.sum(), -180.0), ymin[east], xmax[east] - 360.0, ymax[east])
    )
    o, x0, y0, x1, y1 = (np.concatenate(c) for c in zip(*parts, strict=True))
    return o, x0, y0, x1, y1


def distinct_points(lat: F8, lon: F8) -> tuple[I8, I8]:
    """(index of one row per distinct exact position, each row's position among those)."""
    a, b = lat.view(np.int64), lon.view(np.int64)
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    back = np.empty(len(order), np.int64)
    back[order] = np.cumsum(first) - 1
    return order[first], back


class PointMemo:
    """A direct-mapped cache of per-point answers, keyed by the exact coordinates.

    Fixed size (2**bits entries, ~2 MB at 16 bits), so a long run never grows it; a
    colliding position simply replaces the older one. A hit needs both coordinates
    equal, so an answer is only ever reused for the very point it was computed for.
    """

    def __init__(self, bits: int = 16):
        self.shift = np.uint64(64 - bits)
        self.lat = np.full(1 << bits, np.nan)  # NaN never equals a query: empty entries miss
        self.lon = np.full(1 << bits, np.nan)
        self.line = np.full(1 << bits, -1, np.int64)
        self.dist = np.full(1 << bits, np.inf)

    def slots(self, lat: F8, lon: F8) -> I8:
        a = np.ascontiguousarray(lat, np.float64).view(np.uint64)
        b = np.ascontiguousarray(lon, np.float64).view(np.uint64)
        h = a * np.uint64(0x9E3779B97F4A7C15) ^ b * np.uint64(0xC2B2AE3D27D4EB4F)
        h ^= h >> np.uint64(31)
        return ((h * np.uint64(0x94D049BB133111EB)) >> self.shift).astype(np.int64)

    def find(self, lat: F8, lon: F8) -> tuple[I8, NDArray[np.bool_]]:
        """(slot, whether it holds this exact point) per point."""
        slot = self.slots(lat, lon)
        return slot, (self.lat[slot] == lat) & (self.lon[slot] == lon)

    def store(self, lat: F8, lon: F8, line: I8, dist: F8) -> None:
        """Remember distinct points' answers (one per slot when several collide)."""
        slot, first = np.unique(self.slots(lat, lon), return_index=True)
        self.lat[slot], self.lon[slot] = lat[first], lon[first]
        self.line[slot], self.dist[slot] = line[first], dist[first]


def _first_per_owner(owner: I8, value: F8) -> I8:
    """Positions (into owner/value) of the least value for each distinct owner."""
    if owner.size == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((value, owner))
    o = owner[order]
    first = np.ones(o.size, bool)
    first[1:] = o[1:] != o[:-1]
    return order[first]


def _as_points(lat: ArrayLike, lon: ArrayLike) -> tuple[F8, F8, NDArray[np.bool_]]:
    lat = np.atleast_1d(np.asarray(lat, float))
    lon = np.atleast_1d(np.asarray(lon, float))
    lat, lon = np.broadcast_arrays(lat, lon)
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
    lon = np.where(np.abs(lon) <= 180.0, lon, (lon + 180.0) % 360.0 - 180.0)
    return lat.astype(float), lon, ok


# ---------------------------------------------------------------- hand-authored features


def _coords_depth(c: Any) -> int:
    d = 0
    while isinstance(c, list | tuple | np.ndarray) and len(c) > 0:
        c, d = c[0], d + 1
    return d


def _hand_feature(
    i: int,
    item: tuple[Any, ...],
    polygonal: bool,
    rejects: Rejects,
    default_corridor_m: float,
) -> Feature | None:
    name, kind, coords = item[0], item[1], item[2]
    props = dict(item[3]) if len(item) > 3 and item[3] else {}
    where = f"from_features:feature[{i}]"
    try:
        if isinstance(coords, BaseGeometry):
            coords = shapely.geometry.mapping(coords)["coordinates"]
        depth = _coords_depth(coords)
        if polygonal:
            # ring -> [ring] -> [[ring]]: one polygon; depth 4: a multipolygon
            polys = {2: lambda c: [[c]], 3: lambda c: [c], 4: lambda c: c}[depth](coords)
            geom = checked_polygon([[positions(r) for r in p] for p in polys], rejects, where)
            corridor = float("nan")
        else:
            parts = {2: lambda c: [c], 3: lambda c: c}[depth](coords)
            geom = checked_lines([positions(p) for p in parts])
            corridor = feature_corridor(props, default_corridor_m, rejects, where)
    except BadFeature as e:
        rejects.reject(f"zones.{e.reason}", where, repr(item)[:4096])
        return None
    except (KeyError, TypeError, ValueError):
        rejects.reject("zones.bad_coordinates", where, repr(item)[:4096])
        return None
    kind = kind or feature_kind(props, polygonal)
    rejects.note_geography(1)  # geography, not accepted input
    return Feature(str(name), str(kind), geom, props, corridor, where)


# ---------------------------------------------------------------- zones


class ZoneSet:
    """Polygonal zones with vectorised point-in-zone and distance-to-edge queries."""

    def __init__(self, features: Sequence[Feature]):
        feats = [f for f in features if f.is_polygonal]
        self.features = feats
        self.names = [f.name for f in feats]
        self.kinds = [f.kind for f in feats]
        self.properties = [f.properties for f in feats]
        self.geoms = np.array([f.geometry for f in feats], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        # area on the sphere, near enough to rank nested zones: deg² scaled at the centroid
        if len(feats):
            cy = shapely.get_y(shapely.centroid(self.geoms))
            k = (np.pi * EARTH_RADIUS_M / 180.0) ** 2
            self.area_m2 = shapely.area(self.geoms) * np.cos(np.radians(cy)) * k
        else:
            self.area_m2 = np.zeros(0)
        self._boundaries: dict[int, LineSet] = {}

    @classmethod
    def from_features(
        cls, items: Iterable[tuple[Any, ...]], rejects: Rejects | None = None
    ) -> ZoneSet:
        """Hand-authored zones: (name, kind, coords lon/lat, properties) tuples; coords is a
        ring, a list of rings (shell, holes), a list of polygons, or a shapely geometry."""
        rejects = rejects if rejects is not None else Rejects()
        feats = [
            _hand_feature(i, it, True, rejects, DEFAULT_CORRIDOR_M) for i, it in enumerate(items)
        ]
        return cls([f for f in feats if f is not None])

    def __len__(self) -> int:
        return len(self.features)

    def select(self, kind: str | None = None, names: Iterable[str] | None = None) -> ZoneSet:
        wanted = set(names) if names is not None else None
        return ZoneSet(
            [
                f
                for f in self.features
                if (kind is None or f.kind == kind) and (wanted is None or f.name in wanted)
            ]
        )

    def contains_pairs(self, lat: ArrayLike, lon: ArrayLike) -> tuple[I8, I8]:
        """Every (point index, zone index) with the point strictly inside the zone."""
        lat, lon, ok = _as_points(lat, lon)
        idx = np.flatnonzero(ok)
        if idx.size == 0 or len(self) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # a point on ±180 is asked from both sides: zones cut there have a seam on it
        seam = idx[np.abs(lon[idx]) == 180.0]
        owner = np.concatenate([idx, seam, seam])
        x = np.concatenate(
            [lon[idx], np.full(seam.size, 180.0 - 1e-9), np.full(seam.size, -180.0 + 1e-9)]
        )
        y = lat[owner]
        p, z = self.tree.query(shapely.points(x, y), predicate="within")
        p, z = owner[p].astype(np.int64), z.astype(np.int64)
        if seam.size:
            key = np.unique(p * len(self) + z)
            p, z = key // len(self), key % len(self)
        return p, z

    def contains(self, lat: ArrayLike, lon: ArrayLike) -> I8:
        """Index of the zone holding each point (the smallest when nested), -1 for none."""
        lat, lon, _ = _as_points(lat, lon)
        out = np.full(lat.shape, -1, np.int64)
        p, z = self.contains_pairs(lat, lon)
        best = _first_per_owner(p, self.area_m2[z] if z.size else np.zeros(0))
        out[p[best]] = z[best]
        return out

    def boundary(self, zone: int) -> LineSet:
        """One zone's edges as a line, segmentized to follow the lon/lat edges; cached."""
        if zone not in self._boundaries:
            f = self.features[zone]
            edges = shapely.segmentize(shapely.boundary(f.geometry), BOUNDARY_STEP_DEG)
            parts = []
            for ring in shapely.get_parts(edges):
                xy = shapely.get_coordinates(ring)
                a, b = xy[:-1], xy[1:]
                # cut edges on ±180 and edges along a pole are seams, not borders
                seam = ((np.abs(a[:, 0]) == 180.0) & (a[:, 0] == b[:, 0])) | (
                    (np.abs(a[:, 1]) == 90.0) & (a[:, 1] == b[:, 1])
                )
                for piece in np.split(np.arange(len(xy)), np.flatnonzero(seam) + 1):
                    if piece.size >= 2:
                        parts.append(xy[piece])
            geom = shapely.MultiLineString(parts) if parts else shapely.MultiLineString()
            self._boundaries[zone] = LineSet([Feature(f.name, "boundary", geom, {}, 0.0)])
        return self._boundaries[zone]

    def distance_to_boundary_m(
        self,
        lat: ArrayLike,
        lon: ArrayLike,
        zone_idx: ArrayLike,
        max_distance_m: float = np.inf,
    ) -> F8:
        """Great-circle metres from each point (inside or out) to the edge of a zone
        (`zone_idx` per point, or one for all); NaN where the index is -1 or the point invalid,
        inf beyond `max_distance_m` (a finite one makes far points cheap)."""
        lat, lon, ok = _as_points(lat, lon)
        z = np.broadcast_to(np.asarray(zone_idx, np.int64), lat.shape)
        guess = np.full(lat.shape, 2_000.0)
        sel = np.flatnonzero(ok & (z >= 0) & (z < len(self)))
        if sel.size and np.isinf(max_distance_m):
            # shapely's nearest edge point in lon/lat is on the edge, so its distance bounds
            # the true one (plus the ~1 m the great-circle pieces stray from the edge)
            edges = shapely.boundary(self.geoms[z[sel]])
            foot = shapely.get_point(
                shapely.shortest_line(edges, shapely.points(lon[sel], lat[sel])), 0
            )
            fx, fy = shapely.get_x(foot), shapely.get_y(foot)
            bound = haversine_m(lat[sel], lon[sel], fy, fx) * 1.001 + 10.0
            guess[sel] = np.where(np.isfinite(bound), bound, 2_000.0)
        out = np.full(lat.shape, np.nan)
        if sel.size == 0:
            return out
        sel = sel[np.argsort(z[sel], kind="stable")]
        zones, starts = np.unique(z[sel], return_index=True)
        for zone, pts in zip(zones, np.split(sel, starts[1:]), strict=True):
            edge = self.boundary(int(zone))
            out[pts] = edge.distance_to_line_m(lat[pts], lon[pts], 0, guess[pts], max_distance_m)
        return out


# ---------------------------------------------------------------- lines


class LineSet:
    """Cables and pipelines as great-circle segments in an STRtree over their envelopes."""

    def __init__(self, features: Sequence[Feature]):
        feats = [f for f in features if not f.is_polygonal]
        self.features = feats
        self.names = [f.name for f in feats]
        self.kinds = [f.kind for f in feats]
        self.properties = [f.properties for f in feats]
        self.corridor_m = np.array([f.corridor_m for f in feats], float)
        a_ll, b_ll, line = [], [], []
        for i, f in enumerate(feats):
            for part in shapely.get_parts(f.geometry):
                xy = shapely.get_coordinates(part)
                if len(xy) >= 2:
                    a_ll.append(xy[:-1])
                    b_ll.append(xy[1:])
                    line.append(np.full(len(xy) - 1, i))
        a_ll = np.concatenate(a_ll) if a_ll else np.zeros((0, 2))
        b_ll = np.concatenate(b_ll) if b_ll else np.zeros((0, 2))
        line = np.concatenate(line) if line else np.zeros(0, np.int64)
        a = unit_vectors(a_ll[:, 1], a_ll[:, 0])
        b = unit_vectors(b_ll[:, 1], b_ll[:, 0])
        seg_len = _angle(a, b) * EARTH_RADIUS_M
        # cumulative distance from each line's start to each segment's start
        csum = np.cumsum(seg_len) - seg_len
        starts = np.searchsorted(line, np.arange(len(feats)))
        first = csum[np.minimum(starts, max(len(csum) - 1, 0))] if len(csum) else np.zeros(0)
        self.length_m = np.bincount(line, seg_len, minlength=len(feats))
        keep = seg_len > 1e-6
        self.seg_line = line[keep].astype(np.int64)
        self.seg_along0 = (csum - first[line] if len(csum) else csum)[keep]
        self.seg_a, self.seg_b = a[keep], b[keep]
        self.seg_len_m = seg_len[keep]
        self.seg_n, self.seg_ok = _normals(self.seg_a, self.seg_b)
        lo, hi = arc_lat_range(self.seg_a, self.seg_b, self.seg_n, self.seg_ok)
        x0 = np.minimum(a_ll[keep, 0], b_ll[keep, 0])
        x1 = np.maximum(a_ll[keep, 0], b_ll[keep, 0])
        self.seg_boxes = shapely.box(x0, lo, x1, hi)
        self.tree = shapely.STRtree(self.seg_boxes)
        self._line_trees: dict[int, tuple[shapely.STRtree, int]] = {}
        self._near: NearGrid | None = None  # built at the first corridor query
        self._memo = PointMemo()  # corridor answers for positions already asked

    @classmethod
    def from_features(
        cls,
        items: Iterable[tuple[Any, ...]],
        rejects: Rejects | None = None,
        default_corridor_m: float = DEFAULT_CORRIDOR_M,
    ) -> LineSet:
        """Hand-authored lines: (name, kind, coords lon/lat, properties) tuples; coords is one
        polyline, a list of polylines, or a shapely geometry; properties may set corridor_m."""
        rejects = rejects if rejects is not None else Rejects()
        feats = [
            _hand_feature(i, it, False, rejects, default_corridor_m) for i, it in enumerate(items)
        ]
        return cls([f for f in feats if f is not None])

    def __len__(self) -> int:
        return len(self.features)

    def select(self, kind: str | None = None, names: Iterable[str] | None = None) -> LineSet:
        wanted = set(names) if names is not None else None
        return LineSet(
            [
                f
                for f in self.features
                if (kind is None or f.kind == kind) and (wanted is None or f.name in wanted)
            ]
        )

    def index(self, name: str) -> int:
        """Index of the first line called `name` (case-insensitive), -1 if none."""
        low = name.lower()
        return next((i for i, n in enumerate(self.names) if n.lower() == low), -1)

    # -- candidate pairs

    def _candidates(self, lat: F8, lon: F8, radius_m: F8) -> tuple[I8, I8]:
        """(point, segment) pairs whose segment envelope meets the point's cap box."""
        o, x0, y0, x1, y1 = cap_boxes(lat, lon, radius_m)
        b, s = self.tree.query(shapely.box(x0, y0, x1, y1))
        p = o[b]
        if p.size:
            key = np.unique(p * len(self.seg_line) + s)
            p, s = key // len(self.seg_line), key % len(self.seg_line)
        return p.astype(np.int64), s.astype(np.int64)

    def _pair_distance(self, lat: F8, lon: F8, p: I8, s: I8) -> tuple[F8, F8]:
        u = unit_vectors(lat[p], lon[p])
        d, along = point_arc(u, self.seg_a[s], self.seg_b[s], self.seg_n[s], self.seg_ok[s])
        return d * EARTH_RADIUS_M, self.seg_along0[s] + along * EARTH_RADIUS_M

    # -- queries

    def nearest(
        self, lat: ArrayLike, lon: ArrayLike, max_distance_m: ArrayLike
    ) -> tuple[I8, F8, F8]:
        """For every point: the nearest line within `max_distance_m` (else -1), the spherical
        cross-track distance to it (inf if none) and the distance along it to the foot (nan)."""
        lat, lon, ok = _as_points(lat, lon)
        r = np.broadcast_to(np.asarray(max_distance_m, float), lat.shape)
        line = np.full(lat.shape, -1, np.int64)
        dist = np.full(lat.shape, np.inf)
        along = np.full(lat.shape, np.nan)
        idx = np.flatnonzero(ok & (r >= 0))
        for chunk in np.array_split(idx, max(1, -(-idx.size // _PAIR_CHUNK))):
            if chunk.size == 0 or len(self.seg_line) == 0:
                continue
            p, s = self._candidates(lat[chunk], lon[chunk], r[chunk])
            d, al = self._pair_distance(lat[chunk], lon[chunk], p, s)
            within = d <= r[chunk][p]
            p, s, d, al = p[within], s[within], d[within], al[within]
            best = _first_per_owner(p, d)
            tgt = chunk[p[best]]
            line[tgt], dist[tgt], along[tgt] = self.seg_line[s[best]], d[best], al[best]
        return line, dist, along

    def grid(self) -> NearGrid:
        """The grid of segments near each cell, built once (a few tenths of a second for the
        world's cables): at the first corridor query, or at start by `pipeline.warm`."""
        if self._near is None:
            self._near = NearGrid(self.seg_a, self.seg_b, float(np.max(self.corridor_m)))
        return self._near

    def in_corridor(self, lat: ArrayLike, lon: ArrayLike) -> tuple[I8, F8]:
        """The nearest line whose own `corridor_m` holds each point (-1, inf if none).

        Called for every position of every batch, so candidates come from a grid of
        which segments come near each 0.1 deg cell (`NearGrid`), not geometry objects,
        and a position repeated in the batch (a moored ship) is measured once. A position
        asked in an earlier batch is answered from a small memo: near cables, ships at
        anchor or moored repeat the same coordinates batch after batch.
        """
        lat, lon, ok = _as_points(lat, lon)
        line = np.full(lat.shape, -1, np.int64)
        dist = np.full(lat.shape, np.inf)
        if len(self) == 0 or len(self.seg_line) == 0:
            return line, dist
        near = self.grid()
        idx = np.flatnonzero(ok)
        idx = idx[near.maybe_near(lat[idx], lon[idx])]  # most points are far from any
        if not idx.size:
            return line, dist
        slot, hit = self._memo.find(lat[idx], lon[idx])
        line[idx[hit]], dist[idx[hit]] = self._memo.line[slot[hit]], self._memo.dist[slot[hit]]
        idx = idx[~hit]
        if not idx.size:
            return line, dist
        uniq, back = distinct_points(lat[idx], lon[idx])
        li, di = np.full(len(uniq), -1, np.int64), np.full(len(uniq), np.inf)
        ulat, ulon = lat[idx][uniq], lon[idx][uniq]
        for chunk in np.array_split(np.arange(len(uniq)), -(-len(uniq) // _PAIR_CHUNK)):
            p, s = near.candidates(ulat[chunk], ulon[chunk])
            u = unit_vectors(ulat[chunk][p], ulon[chunk][p])
            d = point_arc_distance(u, self.seg_a[s], self.seg_b[s], self.seg_n[s], self.seg_ok[s])
            d *= EARTH_RADIUS_M
            within = d <= self.corridor_m[self.seg_line[s]]
            p, s, d = p[within], s[within], d[within]
            best = _first_per_owner(p, d)
            tgt = chunk[p[best]]
            li[tgt], di[tgt] = self.seg_line[s[best]], d[best]
        line[idx], dist[idx] = li[back], di[back]
        self._memo.store(ulat, ulon, li, di)
        return line, dist

    def crosses(self, lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> I8:
        """For each great-circle path 1→2, the line whose corridor it comes closest into
        (exact arc-to-arc distance against each line's `corridor_m`), -1 if it enters none."""
        lat1, lon1, ok1 = _as_points(lat1, lon1)
        lat2, lon2, ok2 = _as_points(lat2, lon2)
        lat1, lon1, lat2, lon2 = np.broadcast_arrays(lat1, lon1, lat2, lon2)
        out = np.full(lat1.shape, -1, np.int64)
        idx = np.flatnonzero(ok1 & ok2)
        if len(self) == 0 or len(self.seg_line) == 0 or idx.size == 0:
            return out
        rmax = float(np.max(self.corridor_m))
        for chunk in np.array_split(idx, max(1, -(-idx.size // _PAIR_CHUNK))):
            a = unit_vectors(lat1[chunk], lon1[chunk])
            b = unit_vectors(lat2[chunk], lon2[chunk])
            n, okn = _normals(a, b)
            lo, hi = arc_lat_range(a, b, n, okn)
            l1 = lon1[chunk]
            l2 = l1 + ((lon2[chunk] - l1 + 180.0) % 360.0 - 180.0)  # the short way, unwrapped
            lon_rng = np.stack([np.minimum(l1, l2), np.maximum(l1, l2)], axis=1)
            o, x0, y0, x1, y1 = cap_boxes(lo, lon_rng, np.full(chunk.size, rmax), lo, hi)
            bi, s = self.tree.query(shapely.box(x0, y0, x1, y1))
            p = o[bi]
            if p.size:
                key = np.unique(p * len(self.seg_line) + s)
                p, s = key // len(self.seg_line), key % len(self.seg_line)
            d = arc_arc(a[p], b[p], self.seg_a[s], self.seg_b[s]) * EARTH_RADIUS_M
            within = d <= self.corridor_m[self.seg_line[s]]
            p, s, d = p[within], s[within], d[within]
            best = _first_per_owner(p, d)
            out[chunk[p[best]]] = self.seg_line[s[best]]
        return out

    def _line_tree(self, line: int) -> tuple[shapely.STRtree, int]:
        """An STRtree over one line's segments (and its first segment's index), cached."""
        if line not in self._line_trees:
            s0, s1 = np.searchsorted(self.seg_line, [line, line + 1])
            self._line_trees[line] = (shapely.STRtree(self.seg_boxes[s0:s1]), int(s0))
        return self._line_trees[line]

    def distance_to_line_m(
        self,
        lat: ArrayLike,
        lon: ArrayLike,
        line_idx: ArrayLike,
        guess_m: ArrayLike = 2_000.0,
        max_distance_m: float = np.inf,
    ) -> F8:
        """Distance from each point to one given line (per point): NaN for an invalid point or
        index, inf beyond `max_distance_m`. The search radius starts at `guess_m` (an upper
        bound, if the caller has one, finishes in one pass) and grows 4× until the nearest
        segment lies inside it; points are grouped per line, so the loop is over lines."""
        lat, lon, ok = _as_points(lat, lon)
        want = np.broadcast_to(np.asarray(line_idx, np.int64), lat.shape)
        guess = np.broadcast_to(np.asarray(guess_m, float), lat.shape)
        out = np.full(lat.shape, np.nan)
        idx = np.flatnonzero(ok & (want >= 0) & (want < len(self)))
        if idx.size == 0:
            return out
        idx = idx[np.argsort(want[idx], kind="stable")]
        lines, starts = np.unique(want[idx], return_index=True)
        for line, pts in zip(lines, np.split(idx, starts[1:]), strict=True):
            tree, s0 = self._line_tree(int(line))
            r = np.minimum(np.maximum(guess[pts], 1.0), max_distance_m)
            while pts.size:
                o, x0, y0, x1, y1 = cap_boxes(lat[pts], lon[pts], r)
                b, s = tree.query(shapely.box(x0, y0, x1, y1))
                p = o[b]
                d, _ = self._pair_distance(lat[pts], lon[pts], p, s + s0)
                best = _first_per_owner(p, d)
                near = np.full(pts.size, np.inf)
                near[p[best]] = d[best]
                found = near <= r
                out[pts[found]] = near[found]
                done = found | (r >= max_distance_m) | (r >= np.pi * EARTH_RADIUS_M)
                out[pts[done & ~found]] = np.inf
                pts, r = pts[~done], np.minimum(r[~done] * 4.0, max_distance_m)
        return out


# ---------------------------------------------------------------- convenience


def load_zones(paths: str | Path | Iterable[str | Path], rejects: Rejects) -> ZoneSet:
    """All polygonal features of the files; lines in them are counted as zones.not_polygon."""
    return ZoneSet(read_features(paths, rejects, want="polygon"))


def load_lines(
    paths: str | Path | Iterable[str | Path],
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
) -> LineSet:
    """All linear features of the files; polygons in them are counted as zones.not_line."""
    return LineSet(read_features(paths, rejects, default_corridor_m, want="line"))
