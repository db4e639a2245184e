"""Space on the map: ground tracks and footprints of real catalogue satellites over the area,
and the overflights of an alert's or incident's place.

The demo's time is simulated (January 2025) while the shared catalogue is a CelesTrak
snapshot of 2024-11-01. Propagating every element set 75 days past its epoch would
draw orbits SGP4 no longer vouches for, so the layer shifts time by a whole number of
days (`offset_s`): the sky shown at demo time T is the real sky of T - offset, elements
used within days of their epoch; a whole day keeps the time of day, so the ground tracks
are those of that real day. The shift is in every answer (`sky_time`, `offset_days`).

Propagation is done once, lazily, for the window the layer serves (payloads in low
Earth orbit: debris and rocket bodies left out), and only objects whose footprint
reaches the area are kept, so each request is a slice of arrays.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from picket.geo.geodesy import destination, haversine_m
from picket.model.alerts import iso
from picket.space.passes import RE_M, footprint_angle, point_passes

log = logging.getLogger(__name__)
CATALOGUE_NAME = "celestrak_omm_catalog_20241101.csv"
MIN_LEO_REV_PER_DAY = 11.0  # below this, no longer low Earth orbit (period over ~2.2 h)
MAX_OBJECTS = 100
DAY_S = 86400.0


def find_catalogue() -> Path | None:
    """The shared catalogue: `PICKET_SPACE_CATALOG`, else `../shared/data/space/` beside the
    working directory or the checkout (the layout the tests use); None if absent."""
    env = os.environ.get("PICKET_SPACE_CATALOG")
    cands = [Path(env)] if env else []
    here = Path(__file__).resolve().parents[3]
    for root in (Path.cwd(), here):
        cands.append(root.parent / "shared" / "data" / "space" / CATALOGUE_NAME)
    return next((p for p in cands if p.is_file()), None)


class SkyLayer:
    """Sub-satellite tracks of the objects that can see `bbox` during [start, end]."""

    def __init__(self, path: str | Path, start: float, end: float,
                 bbox: tuple[float, float, float, float], step_s: float = 60.0,
                 min_elevation_deg: float = 10.0, margin_s: float = 1800.0) -> None:  # fmt: skip
        self.path = Path(path)
        self.start, self.end = float(start) - margin_s, float(end) + margin_s
        self.margin_s = float(margin_s)
        self.bbox = bbox
        self.step_s = step_s
        self.min_elevation_deg = min_elevation_deg
        self._lock = threading.Lock()
        self._ready = False
        self.offset_s = 0.0

    def _load(self) -> None:
        from picket.model.rejects import Rejects
        from picket.space.propagate import Propagator, subpoints
        from picket.space.read import read_elements

        es = read_elements(self.path, Rejects())
        # payloads only: no debris, rocket bodies or unidentified analyst objects
        payload = np.array([" DEB" not in str(n).upper() and "R/B" not in str(n).upper()
                            and str(n).upper() not in ("", "UNKNOWN") for n in es.name], bool)
        payload &= es.norad < 100_000
        keep = (es.mean_motion >= MIN_LEO_REV_PER_DAY) & payload
        es = es.take(np.flatnonzero(keep))
        days = round((0.5 * (self.start + self.end) - float(np.median(es.epoch))) / DAY_S)
        self.offset_s = days * DAY_S
        prop = Propagator(es)
        self.t = np.arange(self.start, self.end + self.step_s / 2, self.step_s)
        w, s, e, n = self.bbox
        clat, clon = 0.5 * (s + n), 0.5 * (w + e)
        rad = float(haversine_m(clat, clon, s, w))
        lat_p, lon_p, alt_p, idx = [], [], [], []
        block = 2000
        for b in range(0, len(prop), block):
            ix = np.arange(b, min(b + block, len(prop)))
            r, _, err = prop.states(self.t - self.offset_s, ix)
            la, lo, al = subpoints(r, (self.t - self.offset_s)[None, :])
            al = np.where(err == 0, al, np.nan)
            reach = footprint_angle(np.nan_to_num(al), self.min_elevation_deg) * RE_M
            near = (haversine_m(la, lo, clat, clon) <= rad + reach) & np.isfinite(al)
            hit = near.any(axis=1)
            lat_p.append(la[hit])
            lon_p.append(lo[hit])
            alt_p.append(al[hit])
            idx.append(ix[hit])
        ix = np.concatenate(idx)
        self.lat, self.lon, self.alt = (np.concatenate(x) for x in (lat_p, lon_p, alt_p))
        self.norad = prop.elements.norad[ix]
        self.name = [str(prop.elements.name[i]) for i in ix]
        self.area = (clat, clon, rad)
        log.info("sky layer: %d of %d payloads in LEO see the area (sky of %+d days)",
                 len(ix), len(prop), -days)  # fmt: skip

    def spec(self) -> dict[str, Any]:
        """What makes the same layer again (`from_spec`), as JSON: the live edge sends it
        over the bus (`picket.static`) so the server propagates its own copy."""
        return {"path": str(self.path), "start": self.start + self.margin_s,
                "end": self.end - self.margin_s, "bbox": list(self.bbox),
                "step_s": self.step_s, "min_elevation_deg": self.min_elevation_deg,
                "margin_s": self.margin_s}  # fmt: skip

    @classmethod
    def from_spec(cls, d: dict[str, Any]) -> SkyLayer:
        """The layer `spec` describes (KeyError, TypeError or ValueError if it does not)."""
        w, s, e, n = (float(x) for x in d["bbox"])
        return cls(str(d["path"]), float(d["start"]), float(d["end"]), (w, s, e, n),
                   float(d["step_s"]), float(d["min_elevation_deg"]), float(d["margin_s"]))

    def ensure(self) -> bool:
        with self._lock:
            if not self._ready:
                try:
                    self._load()
                except Exception:  # a broken catalogue must not take the picture down
                    log.exception("sky layer: the catalogue %s could not be used", self.path)
                    self.lat = np.zeros((0, len(getattr(self, "t", []))))
                    self.t = getattr(self, "t", np.zeros(0))
                    self.norad, self.name = np.zeros(0, np.int64), []
                self._ready = True
        return len(self.name) > 0

    def _steps(self, t0: float, t1: float) -> np.ndarray:
        return np.flatnonzero((self.t >= t0) & (self.t <= t1))

    def geojson(self, t: float, window_s: float = 600.0, limit: int = MAX_OBJECTS
                ) -> dict[str, Any]:  # fmt: skip
        """Objects whose footprint reaches the area within `t` ± `window_s`: a ground track
        (LineString over the window) and the footprint at `t` (Polygon) each."""
        meta = {"sky_time": iso(t - self.offset_s), "offset_days": round(self.offset_s / DAY_S),
                "min_elevation_deg": self.min_elevation_deg}  # fmt: skip
        if not self.ensure():
            return {"type": "FeatureCollection", "features": [], "properties": meta}
        k = self._steps(t - window_s, t + window_s)
        if not len(k):
            return {"type": "FeatureCollection", "features": [], "properties": meta}
        clat, clon, rad = self.area
        la, lo, al = self.lat[:, k], self.lon[:, k], self.alt[:, k]
        reach = footprint_angle(np.nan_to_num(al), self.min_elevation_deg) * RE_M
        gap = haversine_m(la, lo, clat, clon) - rad - reach
        best = np.nanmin(np.where(np.isfinite(al), gap, np.inf), axis=1)
        sel = np.flatnonzero(best <= 0)
        sel = sel[np.argsort(best[sel], kind="stable")][:limit]
        now = int(np.argmin(np.abs(self.t[k] - t)))
        feats = []
        for i in sel.tolist():
            props = {"norad": int(self.norad[i]), "name": self.name[i],
                     "alt_km": round(float(al[i, now]) / 1000.0, 1),
                     "time": iso(float(self.t[k][now]))}  # fmt: skip
            feats.append({"type": "Feature", "properties": {**props, "part": "track"},
                          "geometry": {"type": "MultiLineString",
                                       "coordinates": _split(lo[i], la[i])}})  # fmt: skip
            if np.isfinite(al[i, now]):
                ring = _circle(float(la[i, now]), float(lo[i, now]), float(reach[i, now]))
                feats.append({"type": "Feature", "properties": {**props, "part": "footprint"},
                              "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
        return {"type": "FeatureCollection", "features": feats, "properties": meta}

    def overflights(self, lat: float, lon: float, t0: float, t1: float,
                    limit: int = 25) -> list[dict[str, Any]]:  # fmt: skip
        """Which satellites could see (lat, lon) during [t0, t1], and when: the `limit`
        highest passes."""
        if not self.ensure():
            return []
        k = self._steps(t0, t1)
        if not len(k):
            return []
        got = point_passes(lat, lon, self.t[k], self.lat[:, k], self.lon[:, k], self.alt[:, k],
                           self.min_elevation_deg)  # fmt: skip
        # the highest passes (best seen from the place), then in time order
        got = sorted(sorted(got, key=lambda p: -p[3])[:limit], key=lambda p: (p[1], p[0]))
        return [{"norad": int(self.norad[s]), "name": self.name[s], "start": iso(a),
                 "end": iso(b), "max_elevation_deg": round(e, 1),
                 "sky_time": iso(a - self.offset_s)} for s, a, b, e in got]  # fmt: skip


def _split(lon: np.ndarray, lat: np.ndarray) -> list[list[list[float]]]:
    """A track as line parts, cut where it crosses the antimeridian or has no position."""
    parts: list[list[list[float]]] = [[]]
    prev = None
    for a, b in zip(lon.tolist(), lat.tolist(), strict=True):
        if not (np.isfinite(a) and np.isfinite(b)):
            prev = None
            parts.append([])
            continue
        if prev is not None and abs(a - prev) > 180:
            parts.append([])
        parts[-1].append([round(a, 4), round(b, 4)])
        prev = a
    return [p for p in parts if len(p) >= 2]


def _circle(lat: float, lon: float, r_m: float, n: int = 48) -> list[list[float]]:
    la, lo = destination(np.full(n, lat), np.full(n, lon), np.linspace(0, 360, n, False), r_m)
    ring = [[round(float(b), 4), round(float(a), 4)] for a, b in zip(la, lo, strict=True)]
    return [*ring, ring[0]]
