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
        from scipy.spatial import cKDTree  # here: SciPy's RSS only where airports are read

        self.tree = cKDTree(_unit(self.lat, self.lon)) if len(self.lat) else None
        s = np.zeros(len(self.lat), bool) if self.served is None else self.served
        self.served_idx = np.flatnonzero(s)
        self.served_tree = (cKDTree(_unit(self.lat[s], self.lon[s])) if len(self.served_idx)
                            else None)  # fmt: skip

    def __len__(self) -> int:
        return len(self.lat)

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index of the nearest airport within `radius_m` or -1, its distance m) per point."""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        n = len(lat)
        ok = np.isfinite(lat) & np.isfinite(lon)
        idx = np.full(n, -1, np.int64)
        dist = np.full(n, np.inf)
        if self.tree is None or not ok.any():
            return idx, dist
        chord = 2 * np.sin(self.radius_m / (2 * EARTH_R))
        d, i = self.tree.query(_unit(lat[ok], lon[ok]), k=1, distance_upper_bound=chord)
        hit = np.isfinite(d)
        sub_i = np.where(hit, i, -1)
        sub_d = np.where(hit, 2 * EARTH_R * np.arcsin(np.minimum(d, 2.0) / 2), np.inf)
        idx[ok], dist[ok] = sub_i, sub_d
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
        if self.served_tree is None or not ok.any():
            return idx, dist
        chord = 2 * np.sin(radius_m / (2 * EARTH_R))
        d, i = self.served_tree.query(_unit(lat[ok], lon[ok]), k=1, distance_upper_bound=chord)
        hit = np.isfinite(d)
        idx[ok] = np.where(hit, self.served_idx[np.minimum(i, len(self.served_idx) - 1)], -1)
        dist[ok] = np.where(hit, 2 * EARTH_R * np.arcsin(np.minimum(d, 2.0) / 2), np.inf)
        return idx, dist

    def in_zone(self, lat: np.ndarray, lon: np.ndarray, alt: np.ndarray) -> np.ndarray:
        """Inside an aerodrome traffic zone: within `radius_m` and below `height_m` above the
        field (an unknown altitude counts as low: a 2-D radar plot near a runway is its traffic)."""
        idx, _ = self.nearest(lat, lon)
        hit = idx >= 0
        alt = np.broadcast_to(np.asarray(alt, float), np.shape(idx))
        top = np.where(hit, self.elev_m[np.maximum(idx, 0)] + self.height_m, -np.inf)
        return hit & ~(alt > top)

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


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], np.ndarray]:
    """The airportsdata table as arrays (read once per process)."""
    try:
        import airportsdata
    except ImportError:  # a broken install must not stop the picture: no airport layer
        logger.warning("airportsdata is not installed: no airports layer")
        return np.empty(0), np.empty(0), np.empty(0), [], [], np.empty(0, bool)
    rows = list(airportsdata.load("ICAO").values())
    lat = np.array([float(r["lat"]) for r in rows])
    lon = np.array([float(r["lon"]) for r in rows])
    elev = np.array([float(r.get("elevation") or 0.0) for r in rows]) * FT
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    served = np.array([bool(str(r.get("iata") or "").strip()) for r in rows], bool)
    idx = np.flatnonzero(ok)
    return (lat[idx], lon[idx], elev[idx], [str(rows[i]["icao"]) for i in idx],
            [str(rows[i]["name"]) for i in idx], served[idx])  # fmt: skip


@functools.lru_cache(maxsize=8)
def load_airports(radius_m: float = ATZ_RADIUS_M, height_m: float = ATZ_HEIGHT_M) -> Airports:
    """The world airports, built once per process per (radius, height)."""
    lat, lon, elev, codes, names, served = _table()
    return Airports(lat, lon, elev, codes, names, float(radius_m), float(height_m), served)


def airports_of(world: World) -> Airports | None:
    """The airports layer of a pipeline's geography, loaded at first use (None: switched
    off); see `World.airports_layer`."""
    return world.airports_layer()
