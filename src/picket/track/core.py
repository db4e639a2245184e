"""The multi-target tracker in a Cartesian frame: one call per scan, all tracks at once.

Per scan: predict every track to the scan time; associate confirmed (and coasting)
tracks first, then tentative tracks with the plots left over, then start tentative
tracks on what is still unused. That order keeps clutter-born tentative tracks from
stealing plots from established ones (Stone Soup's multi-measurement initiator works
the same way, which keeps the benchmark comparison like for like).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from picket.track import kalman
from picket.track.assign import gnn_assign
from picket.track.config import TrackerConfig
from picket.track.gating import gate_pairs
from picket.track.kalman import CVState

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]

TENTATIVE, CONFIRMED, COASTING = 0, 1, 2


@dataclass(slots=True)
class TrackSet:
    """Confirmed tracks at one scan (the tracker's output), arrays of equal length."""

    time: float
    ids: NDArray[np.int64]
    state: CVState
    status: NDArray[np.uint8]


class CartesianTracker:
    """GNN tracker over plots already in a local Cartesian frame (metres, seconds)."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        k = self.config.dims
        self.k = k
        self.state = CVState.empty(k)
        self.ids = np.zeros(0, np.int64)
        self.hits = np.zeros(0, np.int32)
        self.age = np.zeros(0, np.int32)
        self.misses = np.zeros(0, np.int32)
        self.status = np.zeros(0, np.uint8)
        self.time = -np.inf  # time of the last processed scan (all tracks sit there)
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.ids)

    # one scan ------------------------------------------------------------------------
    def step(self, t: float, z: F8, r: F8, pd: float | None = None) -> None:
        """Process one scan: plots z (m, k) with per-axis variances r (m, k) at time t."""
        cfg = self.config
        pd = cfg.detection_probability if pd is None else pd
        z = np.asarray(z, float).reshape(-1, self.k)
        r = np.asarray(r, float).reshape(-1, self.k)
        if len(self.ids):
            dt = max(0.0, t - self.time) if np.isfinite(self.time) else 0.0
            self.state = kalman.predict(self.state, np.full(len(self.ids), dt), cfg.process_noise)
        self.time = t
        used = np.zeros(len(z), bool)
        lam = self._clutter_density(z) if cfg.cost == "likelihood" else 0.0

        firm = np.flatnonzero(self.status != TENTATIVE)
        hit_t, hit_p = self._associate(firm, np.arange(len(z)), z, r, pd, lam)
        used[hit_p] = True
        self.misses[firm] += 1
        self.misses[hit_t] = 0
        self.status[firm] = COASTING
        self.status[hit_t] = CONFIRMED
        self.hits[hit_t] += 1

        tent = np.flatnonzero(self.status == TENTATIVE)
        free = np.flatnonzero(~used)
        hit_t, hit_p = self._associate(tent, free, z, r, pd, lam)
        used[hit_p] = True
        self.hits[hit_t] += 1
        self.age[tent] += 1
        m, n = cfg.confirm
        promote = tent[self.hits[tent] >= m]
        self.status[promote] = CONFIRMED
        self.misses[tent] = 0

        dead = (self.status != TENTATIVE) & (self.misses >= cfg.delete_after)
        dead |= (self.status == TENTATIVE) & (self.hits + (n - self.age) < m)
        if dead.any():
            self._keep(~dead)
        self._birth(z[~used], r[~used])

    def _associate(
        self, tracks: I8, plots: I8, z: F8, r: F8, pd: float, lam: float
    ) -> tuple[I8, I8]:
        """Gate, assign and update `tracks` against `plots`; returns global indices."""
        cfg = self.config
        if len(tracks) == 0 or len(plots) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        pred = self.state.take(tracks)
        zp, rp = z[plots], r[plots]
        ti, pj, d2 = gate_pairs(pred, zp, rp, cfg.gate_sigma, cfg.max_neighbours)
        if cfg.cost == "distance":
            cost, miss = np.sqrt(d2), cfg.gate_sigma
        else:
            s = pred.pxx[ti] + rp[pj]
            cost = 0.5 * d2 + 0.5 * np.sum(np.log(2 * np.pi * s), axis=1) - np.log(pd)
            cost += np.log(lam)
            miss = -np.log(max(1.0 - pd, 1e-12))
        at, ap = gnn_assign(ti, pj, cost, miss, len(tracks), len(plots))
        if len(at):
            self.state.put(tracks[at], kalman.update(pred.take(at), zp[ap], rp[ap]))
        return tracks[at], plots[ap]

    def _clutter_density(self, z: F8) -> float:
        """Clutter plots per m² over the scan's extent (at least 1 km²)."""
        if len(z) == 0:
            return 1e-12
        span = np.ptp(z[:, :2], axis=0) if len(z) > 1 else np.zeros(2)
        area = max(float(np.prod(np.maximum(span, 1.0))), 1e6)
        return max(self.config.clutter_rate, 1e-3) / area

    def _keep(self, keep: NDArray[np.bool_]) -> None:
        idx = np.flatnonzero(keep)
        self.state = self.state.take(idx)
        self.ids, self.hits, self.age = self.ids[idx], self.hits[idx], self.age[idx]
        self.misses, self.status = self.misses[idx], self.status[idx]

    def _birth(self, z: F8, r: F8) -> None:
        n = len(z)
        if n == 0:
            return
        born = kalman.initiate(z, r, self.config.initial_velocity_sigma)
        self.state = CVState.concat(self.state, born)
        self.ids = np.concatenate([self.ids, np.arange(self.next_id, self.next_id + n)])
        self.next_id += n
        one = np.ones(n, np.int32)
        self.hits = np.concatenate([self.hits, one])
        self.age = np.concatenate([self.age, one])
        self.misses = np.concatenate([self.misses, np.zeros(n, np.int32)])
        m = self.config.confirm[0]
        status = np.full(n, CONFIRMED if m <= 1 else TENTATIVE, np.uint8)
        self.status = np.concatenate([self.status, status])

    # output --------------------------------------------------------------------------
    def confirmed(self) -> TrackSet:
        """Confirmed and coasting tracks as they stand after the last scan."""
        idx = np.flatnonzero(self.status != TENTATIVE)
        return TrackSet(self.time, self.ids[idx], self.state.take(idx), self.status[idx])
