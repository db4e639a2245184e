"""The world's airports as a point index: "is this aircraft at an airport, and how high above it?"

Air detectors must not mistake aerodrome traffic for what they look for: aircraft
taxiing are not orbiting, a training circuit is not a loiter, a light aircraft on
final is not a drone. The airports come from the `airportsdata` package (MIT,
~28,000 airports and landing strips with ICAO codes, elevation in feet). They are
loaded once per process, lazily, into a KD-tree on unit vectors, so a whole batch
of positions is looked up in one vectorised query.

The default radius is the aerodrome traffic zone (ATZ) of UK practice: 2.5 NM
(4,630 m) around an aerodrome whose longest runway exceeds 1,850 m (2 NM for
shorter ones), up to 2,000 ft above aerodrome level (UK CAA, ANO 2016 and CAP 393;
ICAO Annex 11 leaves ATZ dimensions to states). Taxiways, runways and the
traffic circuit (flown at 1,000-1,500 ft above the field, FAA AIM 4-3-3) lie inside it.

Airports with an IATA code (airline or commercial service) also have a terminal area
(`served_within`, 60 km by default): air.loitering reads a racetrack there as ATC holding.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from picket.model.world import World

logger = logging.getLogger(__name__)

FT = 0.3048
EARTH_R = 6_371_008.8
ATZ_RADIUS_M = 4630.0  # 2.5 NM: UK ATZ for a longest runway over 1,850 m (CAP 393)
ATZ_HEIGHT_M = 610.0  # 2,000 ft above aerodrome level (CAP 393)
# a terminal control area (TMA) around an airport with airline service: holding fixes lie in it
TERMINAL_RADIUS_M = 60_000.0


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


_CORNERS = np.array([(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)])


class _Grid:
    """Unit vectors hashed to cubes twice `chord` wide: a point within `chord` of a query
    is in one of the 8 cubes around the corner nearest the query. Answers as
    `cKDTree.query(k=1, distance_upper_bound=chord)` does (the squared distance summed in
    the same order, strictly under the bound squared)."""

    def __init__(self, unit: np.ndarray, chord: float) -> None:
        self.unit, self.chord = unit, float(chord)
        self.h = 2.0 * self.chord * (1.0 + 1e-9)  # the margin outweighs rounding
        self.dims = int(np.ceil(2.0 / self.h)) + 4  # cells per axis, with a margin
        key = self._key(np.floor(unit / self.h).astype(np.int64))
        self.order = np.argsort(key, kind="stable")
        ks = key[self.order]
        first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if len(ks) else ks
        self.cubes, self.lo = ks[first], first  # each occupied cube once, its first row
        self.hi = np.r_[first[1:], len(ks)]

    def _key(self, c: np.ndarray) -> np.ndarray:
        c = c + (self.dims // 2)
        return (c[..., 0] * self.dims + c[..., 1]) * self.dims + c[..., 2]

    def nearest(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of the nearest point within the bound or -1, its chord or inf) per query."""
        m = len(q)
        idx, dist = np.full(m, -1, np.int64), np.full(m, np.inf)
        if not m or not len(self.cubes):
            return idx, dist
        f = q / self.h
        c = np.floor(f)
        step = np.where(f - c < 0.5, -1, 1).astype(np.int64)  # towards the nearer face
        k = self._key(c.astype(np.int64)[:, None, :] + _CORNERS[None] * step[:, None, :])
        k = k.ravel()
        at = np.minimum(np.searchsorted(self.cubes, k), len(self.cubes) - 1)
        found = self.cubes[at] == k
        lo = np.where(found, self.lo[at], 0)
        cnt = np.where(found, self.hi[at], 0) - lo
        total = int(cnt.sum())
        if not total:
            return idx, dist
        qi = np.repeat(np.arange(len(k)) // len(_CORNERS), cnt)
        cand = self.order[np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(total)]
        d = q[qi] - self.unit[cand]
        s = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]
        inside = s < self.chord * self.chord
        qi, cand, s = qi[inside], cand[inside], s[inside]
        if not len(qi):
            return idx, dist
        # candidates come grouped by query: per query the least distance, then the first row
        starts = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        group = np.cumsum(np.r_[False, qi[1:] != qi[:-1]])
        low = np.minimum.reduceat(s, starts)
        pick = np.minimum.reduceat(np.where(s == low[group], cand, len(self.unit)), starts)
        idx[qi[starts]] = pick
        dist[qi[starts]] = np.sqrt(low)
        return idx, dist


@dataclass
class Airports:
    """Airport reference points with elevation; `radius_m` is what "at the airport" means."""

    lat: np.ndarray
    lon: np.ndarray
    elev_m: np.ndarray
    codes: list[str]
    names: list[str]
    radius_m: float = ATZ_RADIUS_M
    height_m: float = ATZ_HEIGHT_M
    # airports with an IATA code (airline or commercial service): the ones with a terminal area
    served: np.ndarray | None = None

    def __post_init__(self) -> None:
        # cubes of unit vectors, built per search radius at first use (`_grid`): the same
        # answers as a KD-tree without SciPy's import (~0.2 s at start-up)
        self.unit = _unit(self.lat, self.lon)
        s = np.zeros(len(self.lat), bool) if self.served is None else self.served
        self.served_idx = np.flatnonzero(s)
        self._grids: dict[tuple[bool, float], _Grid] = {}

    def _grid(self, served: bool, chord: float) -> _Grid:
        g = self._grids.get((served, chord))
        if g is None:
            g = _Grid(self.unit[self.served_idx] if served else self.unit, chord)
            self._grids[(served, chord)] = g
        return g

    def __len__(self) -> int:
        return len(self.lat)

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the nearest airport within `radius_m` or -1, its distance m) per point."""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        n = len(lat)
        ok = np.isfinite(lat) & np.isfinite(lon)
        idx = np.full(n, -1, np.int64)
        dist = np.full(n, np.inf)
        if not len(self.lat) or not ok.any():
            return idx, dist
        chord = 2 * np.sin(self.radius_m / (2 * EARTH_R))
        i, d = self._grid(False, chord).nearest(_unit(lat[ok], lon[ok]))
        idx[ok] = i
        dist[ok] = np.where(i >= 0, 2 * EARTH_R * np.arcsin(np.minimum(d, 2.0) / 2), np.inf)
        return idx, dist

    def served_within(
        self, lat: np.ndarray, lon: np.ndarray, radius_m: float = TERMINAL_RADIUS_M
    ) -> tuple[np.ndarray, np.ndarray]:
        """(index of the nearest airport with airline service within `radius_m` or -1, its
        distance m) per point: is this point in an airport's terminal area?"""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        idx = np.full(len(lat), -1, np.int64)
        dist = np.full(len(lat), np.inf)
        ok = np.isfinite(lat) & np.isfinite(lon)
        if not len(self.served_idx) or not ok.any():
            return idx, dist
        chord = 2 * np.sin(radius_m / (2 * EARTH_R))
        i, d = self._grid(True, chord).nearest(_unit(lat[ok], lon[ok]))
        hit = i >= 0
        idx[ok] = np.where(hit, self.served_idx[np.maximum(i, 0)], -1)
        dist[ok] = np.where(hit, 2 * EARTH_R * np.arcsin(np.minimum(d, 2.0) / 2), np.inf)
        return idx, dist

    def in_zone(self, lat: np.ndarray, lon: np.ndarray, alt: np.ndarray) -> np.ndarray:
        """Inside an aerodrome traffic zone: within `radius_m` and below `height_m` above the
        field (an unknown altitude counts as low: a 2-D radar plot near a runway is its traffic).
        Points above every zone's top (cruising traffic: most of a feed) skip the search."""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        alt = np.broadcast_to(np.asarray(alt, float), np.shape(lat))
        out = np.zeros(len(lat), bool)
        if not len(self.lat):
            return out
        # max(elev) + h >= every elev + h as rounded; a NaN elevation keeps every point
        low = np.flatnonzero(~(alt > np.max(self.elev_m) + self.height_m))
        idx, _ = self.nearest(lat[low], lon[low])
        hit = idx >= 0
        top = np.where(hit, self.elev_m[np.maximum(idx, 0)] + self.height_m, -np.inf)
        out[low] = hit & ~(alt[low] > top)
        return out

    def elevation(self, idx: np.ndarray) -> np.ndarray:
        return np.where(idx >= 0, self.elev_m[np.maximum(idx, 0)], np.nan)

    def geojson(self, bbox: tuple[float, float, float, float] | None = None) -> dict[str, Any]:
        """Airports as GeoJSON points (optionally inside (west, south, east, north))."""
        keep = np.ones(len(self), bool)
        if bbox is not None:
            w, s, e, n = bbox
            keep = (self.lat >= s) & (self.lat <= n) & (self.lon >= w) & (self.lon <= e)
        feats = [
            {"type": "Feature",
             "geometry": {"type": "Point", "coordinates": [float(self.lon[i]), float(self.lat[i])]},
             "properties": {"code": self.codes[i], "name": self.names[i], "kind": "airport",
                            "elevation_m": round(float(self.elev_m[i]), 1),
                            "radius_m": self.radius_m}}
            for i in np.flatnonzero(keep).tolist()
        ]  # fmt: skip
        return {"type": "FeatureCollection", "features": feats}


CACHE_FORMAT = 1  # of the cached columns: bumped when _parse changes, so an old cache is not read
_Table = tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], np.ndarray]


def _parse(airportsdata: Any) -> tuple[dict[str, np.ndarray], list[str], list[str]]:
    """The package's table as columns (codes and names also as one NUL-separated UTF-8
    blob, for the cache) and the code and name lists."""
    rows = list(airportsdata.load("ICAO").values())
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    elev = np.array([float(r.get("elevation") or 0.0) for r in rows]) * FT
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    served = np.array([bool(str(r.get("iata") or "").strip()) for r in rows], bool)
    idx = np.flatnonzero(ok)
    codes, names = [str(rows[i]["icao"]) for i in idx], [str(rows[i]["name"]) for i in idx]
    text = "\0".join(codes + names)
    return {"lat": lat[idx], "lon": lon[idx], "elev": elev[idx], "served": served[idx],
            "text": np.frombuffer(text.encode("utf-8"), np.uint8)}, codes, names  # fmt: skip


def _columns(c: dict[str, np.ndarray]) -> _Table | None:
    """Arrays and code/name lists from cached or parsed columns; None if they disagree."""
    words = bytes(c["text"]).decode("utf-8").split("\0")
    n = len(c["lat"])
    if len(words) != 2 * n or not all(len(c[k]) == n for k in ("lon", "elev", "served")):
        return None
    return c["lat"], c["lon"], c["elev"], words[:n], words[n:], c["served"].astype(bool)


def _cached(airportsdata: Any) -> _Table:
    """The columns from the user cache (`gazetteer.cache_dir`) when there and whole, else
    parsed from the package (~0.1 s: a start-up cost of every run with aircraft) and cached
    for next time; a cache that cannot be read or written only costs the parse."""
    import zipfile

    from picket.geo.gazetteer import cache_dir, save_npz

    version = str(getattr(airportsdata, "__version__", "0"))
    path = cache_dir() / f"airports{CACHE_FORMAT}-airportsdata-{version}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            got = _columns({k: z[k] for k in ("lat", "lon", "elev", "served", "text")})
        if got is not None:
            return got
        logger.warning("airports cache %s inconsistent: parsing the package's table", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as e:
        logger.warning("airports cache %s unreadable (%s): parsing the package's table", path, e)
    cols, codes, names = _parse(airportsdata)
    table = cols["lat"], cols["lon"], cols["elev"], codes, names, cols["served"]
    back = _columns(cols)
    if back is None or back[3] != codes or back[4] != names:
        return table  # a NUL inside a code or name: not cached (it would split differently)
    save_npz(path, cols, "airports")
    return table


@functools.lru_cache(maxsize=1)
def _table() -> _Table:
    """The airportsdata table as arrays (read once per process, from the cache if there)."""
    try:
        import airportsdata
    except ImportError:  # a broken install must not stop the picture: no airport layer
        logger.warning("airportsdata is not installed: no airports layer")
        return np.empty(0), np.empty(0), np.empty(0), [], [], np.empty(0, bool)
    return _cached(airportsdata)


@functools.lru_cache(maxsize=8)
def load_airports(radius_m: float = ATZ_RADIUS_M, height_m: float = ATZ_HEIGHT_M) -> Airports:
    """The world airports, built once per process per (radius, height)."""
    lat, lon, elev, codes, names, served = _table()
    return Airports(lat, lon, elev, codes, names, float(radius_m), float(height_m), served)


def airports_of(world: World) -> Airports | None:
    """The airports layer of a pipeline's geography, loaded at first use (None: switched
    off); see `World.airports_layer`."""
    return world.airports_layer()
