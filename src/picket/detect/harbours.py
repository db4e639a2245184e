"""Harbours and anchorages learned from the traffic itself, as Global Fishing Watch does.

GFW's anchorages (globalfishingwatch.org, "Anchorages, Ports and Voyages") grid the
sea into S2 level-14 cells (~0.5 km a side), call a vessel stationary when it moves
less than 0.5 km over at least 12 h, and keep the cells where many distinct vessels
were stationary (years of AIS). picket learns on the fly, from the live picture, so
it scales the same idea to hours:

- a vessel is *settled* once it stayed within `max_move_m` (GFW's 0.5 km) below
  `still_kn` for `min_still_s`;
- a place is a harbour or anchorage once `min_vessels` distinct vessels settled
  within `cluster_m` of each other (GFW groups anchorage cells closer than 4 km
  into one port), and a vessel settling within `cluster_m` of a learned harbour
  joins it; the ~0.5 km grid cells (`CELL_DEG`, about GFW's level 14) around each
  of them, with their eight neighbours, are harbour from that event time on.

Two vessels alone never make a harbour (a rendezvous must not learn itself away).
Learning is on the fly with a warm-up: until a place is learned (`min_still_s`
after the third vessel settles), vessels there are judged as at sea; every query
is "harbour as of time t", so alerts never depend on how reports were batched.
Detectors ask `harbour_at(ctx, lat, lon, t)`; the learner lives in `ctx.world.harbours`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import Sustain, Thresholds, group_starts, th
from picket.fusion.context import BatchContext
from picket.geo.geodesy import haversine_m
from picket.model.reports import Domain

KNOT = 1852 / 3600
CELL_DEG = 0.005  # ~556 m of latitude: about GFW's S2 level-14 cells (~0.5 km a side)


@dataclass
class HarbourThresholds(Thresholds):
    still_kn: float = th(
        1.0, "a vessel slower than this is still", "picket: a ship swinging at anchor, < 1 kn"
    )
    max_move_m: float = th(
        500.0, "... and stays within this of where it stopped", "Global Fishing Watch (0.5 km)"
    )
    min_still_s: float = th(
        900.0,
        "settled after this long still",
        "GFW uses 12 h over years; live learning must decide before the first harbour alert "
        "(maritime.encounter at 30 min), so half of that",
    )
    min_vessels: int = th(
        3,
        "distinct settled vessels that make a place a harbour or anchorage",
        "GFW counts many over years; 3 so a two-ship rendezvous never learns itself away",
    )
    cluster_m: float = th(
        4000.0, "... settled within this of each other", "Global Fishing Watch (ports: 4 km)"
    )


def cell_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """~0.5 km cells: latitude rows of CELL_DEG, longitude widened by 1/cos(lat) per row."""
    i = np.floor(np.asarray(lat, float) / CELL_DEG).astype(np.int64)
    w = CELL_DEG / np.maximum(np.cos(np.radians((i + 0.5) * CELL_DEG)), 0.01)
    j = np.floor((np.asarray(lon, float) + 180.0) / w).astype(np.int64)
    return i * (1 << 24) + j


class HarbourLearner:
    """Settled vessels -> harbour cells with the event time each became harbour."""

    def __init__(self, th: HarbourThresholds | None = None):
        self.th = th or HarbourThresholds()
        self.sus = Sustain(grace_s=300.0, max_gap_s=3600.0)
        self.settled: dict[int, tuple[float, float, float]] = {}  # slot -> (t, lat, lon)
        self.cells: dict[int, float] = {}  # cell -> since (event time)
        # (t, lat, lon, slot) settled; the slot becomes a negative id once forgotten
        self.points: list[tuple[float, float, float, int]] = []
        self.harbour_points: set[int] = set()  # indices into points that lie in a harbour
        self._seen: Any = None

    def forget(self, slots: np.ndarray) -> None:
        """A forgotten slot's run and settled mark go. Its settled point stays (harbours are
        places, learned from every vessel that ever settled) but stops naming the slot: it
        gets an id of its own (negative: -1, -2, ...), still one distinct vessel, never the
        slot's next subject."""
        self.sus.forget(slots)
        if not self.settled or not len(slots):
            return
        keys = np.fromiter(self.settled, np.int64, len(self.settled))
        gone = keys[np.isin(keys, slots)].tolist()
        if not gone:
            return
        below = min(min(p[3] for p in self.points), 0)
        ids = {sl: below - 1 - k for k, sl in enumerate(gone)}
        for sl in gone:
            del self.settled[sl]
        self.points = [(t, la, lo, ids.get(sl, sl)) for t, la, lo, sl in self.points]

    def update(self, ctx: BatchContext) -> None:
        """Learn from one batch (once, whichever detector asks first)."""
        if self._seen is ctx.reports:
            return
        self._seen = ctx.reports
        r = ctx.reports
        rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier & (r.domain == Domain.MARITIME))
        if not len(rows):
            return
        s = ctx.slots[rows]
        v = r.speed[rows].astype(float)
        miss = ~np.isfinite(v)
        v[miss] = ctx.tracks.cols["speed"][s[miss]]
        still = v < self.th.still_kn * KNOT
        t, lat, lon = r.time[rows], r.lat[rows], r.lon[rows]
        t0, lat0, lon0, _ = self.sus.update(s, t, lat, lon, still)
        ok = still & (t - t0 >= self.th.min_still_s)
        ok &= haversine_m(lat0, lon0, lat, lon) <= self.th.max_move_m
        new = ok & ~np.isin(s, np.fromiter(self.settled, np.int64, len(self.settled)))
        idx = np.flatnonzero(new)
        if not len(idx):
            return
        first = idx[group_starts(s[idx])]  # first qualifying row per slot
        for j in sorted(first.tolist(), key=lambda j: t[j]):
            self._settle(int(s[j]), float(t[j]), float(lat[j]), float(lon[j]))

    def _settle(self, sl: int, t: float, lat: float, lon: float) -> None:
        self.settled[sl] = (t, lat, lon)
        self.points.append((t, lat, lon, sl))
        pts = np.array([p[:3] for p in self.points])
        near = np.flatnonzero(haversine_m(lat, lon, pts[:, 1], pts[:, 2]) <= self.th.cluster_m)
        group = [self.points[k] for k in near.tolist()]
        # a place of its own (3 vessels within 4 km), or next to one already learned: GFW
        # joins anchorages closer than 4 km into one port
        joins = any(k in self.harbour_points for k in near.tolist())
        if len({p[3] for p in group}) < self.th.min_vessels and not joins:
            return
        self.harbour_points.update(near.tolist())
        for _, la, lo, _ in group:
            for dla in (-CELL_DEG, 0.0, CELL_DEG):
                w = CELL_DEG / max(math.cos(math.radians(la)), 0.01)
                for dlo in (-w, 0.0, w):
                    c = int(cell_of(np.array([la + dla]), np.array([lo + dlo]))[0])
                    self.cells.setdefault(c, t)

    def contains(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """Per point: inside a harbour learned by time t."""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        if not self.cells or not len(lat):
            return np.zeros(len(lat), bool)
        keys = np.fromiter(self.cells.keys(), np.int64, len(self.cells))
        since = np.fromiter(self.cells.values(), float, len(self.cells))
        o = np.argsort(keys)
        keys, since = keys[o], since[o]
        c = cell_of(lat, lon)
        p = np.minimum(np.searchsorted(keys, c), len(keys) - 1)
        return (keys[p] == c) & (since[p] <= np.broadcast_to(np.asarray(t, float), c.shape))

    def geojson(self) -> dict[str, Any]:
        """Learned harbour cells as GeoJSON polygons (for the picture's harbour layer)."""
        feats = []
        for c, since in sorted(self.cells.items()):
            i, j = divmod(c, 1 << 24)
            w = CELL_DEG / max(math.cos(math.radians((i + 0.5) * CELL_DEG)), 0.01)
            s, n = i * CELL_DEG, (i + 1) * CELL_DEG
            west, east = j * w - 180.0, (j + 1) * w - 180.0
            ring = [[west, s], [east, s], [east, n], [west, n], [west, s]]
            geom = {"type": "Polygon", "coordinates": [ring]}
            props = {"kind": "harbour", "cell": c, "since": since}
            feats.append({"type": "Feature", "geometry": geom, "properties": props})
        return {"type": "FeatureCollection", "features": feats}


def learner_of(ctx: BatchContext) -> HarbourLearner:
    """The pipeline's harbour learner (made at first use), up to date with this batch."""
    h = ctx.world.harbours
    if h is None:
        h = ctx.world.harbours = HarbourLearner()
    h.update(ctx)
    return h


def harbour_at(ctx: BatchContext, lat: np.ndarray, lon: np.ndarray, t: np.ndarray | float):
    """True where a point lies in a learned harbour or anchorage as of time t."""
    return learner_of(ctx).contains(lat, lon, t)


class HarbourLearning:
    """The learner as a pipeline stage (`[detectors."maritime.harbours"]` sets its
    thresholds): it learns from every batch and raises no alert of its own. Registered first,
    so it has seen a batch before the maritime rules ask about it."""

    kind = "maritime.harbours"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)

    def __init__(self, th: HarbourThresholds | None = None):
        self.learner = HarbourLearner(th)

    def forget(self, slots: np.ndarray) -> None:
        self.learner.forget(slots)

    def update(self, ctx: BatchContext) -> list:
        if ctx.world.harbours is None:
            ctx.world.harbours = self.learner
        ctx.world.harbours.update(ctx)
        return []
