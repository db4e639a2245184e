"""The multi-target tracker in a Cartesian frame: one call per scan, all tracks at once.

Per scan: predict every track to the scan time; associate confirmed (and coasting)
tracks first, then tentative tracks with the plots left over, then start tentative
tracks on what is still unused. That order keeps clutter-born tentative tracks from
stealing plots from established ones (Stone Soup's multi-measurement initiator works
the same way, which keeps the benchmark comparison like for like).

Plots may carry their own times within a scan (a rotating radar stamps each at its
azimuth): tracks are predicted to the scan's latest plot and every plot is compared
with where the track was at that plot's own time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from picket.track.assign import gnn_assign
from picket.track.config import TrackerConfig
from picket.track.gating import gate_pairs
from picket.track.imm import IMMState
from picket.track.kalman import CVState
from picket.track.motion import motion_for

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]

TENTATIVE, CONFIRMED, COASTING = 0, 1, 2


@dataclass(slots=True)
class TrackSet:
    """Confirmed tracks at one scan (the tracker's output), arrays of equal length."""

    time: float
    ids: NDArray[np.int64]
    state: CVState | IMMState
    status: NDArray[np.uint8]


class CartesianTracker:
    """GNN tracker over plots already in a local Cartesian frame (metres, seconds)."""

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.k = self.config.dims
        self.motion = motion_for(self.config)
        self.state: CVState | IMMState = self.motion.empty()
        self.ids = np.zeros(0, np.int64)
        self.hits = np.zeros(0, np.int32)
        self.born = np.zeros(0, np.int64)  # scan index of the first plot
        self.last_hit = np.zeros(0, np.int64)  # scan index of the latest plot
        self.status = np.zeros(0, np.uint8)
        self.time = -np.inf  # time of the last processed scan (all tracks sit there)
        self.steps = 0
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.ids)

    def scan_index(self, t: float) -> int:
        """Scans counted by call, or on the `scan_quantum` clock (see TrackerConfig)."""
        q = self.config.scan_quantum
        return int(np.floor(t / q)) if q > 0 else self.steps

    # one scan ------------------------------------------------------------------------
    def step(self, t: float, z: F8, r: F8, pd: float | None = None, tz: F8 | None = None) -> None:
        """Process one scan: plots z (m, k) with per-axis variances r (m, k) at time t,
        or each at its own time tz (m,) (then t is at least the latest of them)."""
        cfg = self.config
        pd = cfg.detection_probability if pd is None else pd
        z = np.asarray(z, float).reshape(-1, self.k)
        r = np.asarray(r, float).reshape(-1, self.k)
        delta = None
        if tz is not None and len(z):
            tz = np.asarray(tz, float).reshape(-1)
            # Tracks never go back in time: a scan stamped before the last one (another
            # sensor's, same clock period) is compared through its plots' offsets.
            t = max(t, float(tz.max()), self.time)
            delta = tz - t
            if not delta.any():
                delta = None
        if len(self.ids):
            dt = max(0.0, t - self.time) if np.isfinite(self.time) else 0.0
            self.state = self.motion.predict(self.state, np.full(len(self.ids), dt))
        self.time = max(t, self.time)
        scan = self.scan_index(t)
        self.steps += 1
        used = np.zeros(len(z), bool)
        lam = self._clutter_density(z) if cfg.cost == "likelihood" else 0.0

        firm = np.flatnonzero(self.status != TENTATIVE)
        hit_t, hit_p = self._associate(firm, np.arange(len(z)), z, r, delta, pd, lam)
        used[hit_p] = True
        self.last_hit[hit_t] = scan
        self.hits[hit_t] += 1
        self.status[firm] = np.where(self.last_hit[firm] == scan, CONFIRMED, COASTING)

        tent = np.flatnonzero(self.status == TENTATIVE)
        free = np.flatnonzero(~used)
        hit_t, hit_p = self._associate(tent, free, z, r, delta, pd, lam)
        used[hit_p] = True
        self.hits[hit_t] += 1
        self.last_hit[hit_t] = scan
        m, n = cfg.confirm
        promote = tent[self.hits[tent] >= m]
        self.status[promote] = CONFIRMED

        # On the scan clock other sensors may still report in this scan: it is not over.
        age = scan - self.born + (0 if cfg.scan_quantum > 0 else 1)
        dead = (self.status != TENTATIVE) & (scan - self.last_hit >= cfg.delete_after)
        dead |= (self.status == TENTATIVE) & (self.hits + (n - age) < m)
        if dead.any():
            self._keep(~dead)
        new = ~used
        self._birth(z[new], r[new], scan)

    def _associate(
        self, tracks: I8, plots: I8, z: F8, r: F8, delta: F8 | None, pd: float, lam: float
    ) -> tuple[I8, I8]:
        """Gate, assign and update `tracks` against `plots`; returns global indices."""
        cfg, mo = self.config, self.motion
        if len(tracks) == 0 or len(plots) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        pred = self.state.take(tracks)
        zp, rp = z[plots], r[plots]
        dp = None if delta is None else delta[plots]
        if dp is None and isinstance(pred, CVState):
            d2_fn, bound, shift = None, None, 0.0  # the plain per-axis test, fastest
        else:
            dmax = 0.0 if dp is None else float(-dp.min())
            h = min(2, self.k)
            shift = dmax * float(np.max(np.hypot(*pred.vel[:, :h].T))) if dmax else 0.0
            bound = mo.var_bound(pred, dmax)

            def d2_fn(ti: I8, pj: I8) -> F8:
                return mo.mahalanobis2(
                    pred.take(ti), zp[pj], rp[pj], None if dp is None else dp[pj]
                )

        ti, pj, d2 = gate_pairs(
            pred, zp, rp, cfg.gate_sigma, cfg.max_neighbours, d2_fn, bound, shift
        )
        if cfg.cost == "distance":
            cost, miss = np.sqrt(d2), cfg.gate_sigma
        else:
            logdet = mo.log_det(pred.take(ti), zp[pj], rp[pj], None if dp is None else dp[pj])
            cost = 0.5 * d2 + 0.5 * logdet - np.log(pd) + np.log(lam)
            miss = -np.log(max(1.0 - pd, 1e-12))
        at, ap = gnn_assign(ti, pj, cost, miss, len(tracks), len(plots))
        if len(at):
            da = None if dp is None else dp[ap]
            self.state.put(tracks[at], mo.update(pred.take(at), zp[ap], rp[ap], da))
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
        self.ids, self.hits, self.born = self.ids[idx], self.hits[idx], self.born[idx]
        self.last_hit, self.status = self.last_hit[idx], self.status[idx]

    def _birth(self, z: F8, r: F8, scan: int) -> None:
        n = len(z)
        if n == 0:
            return
        born = self.motion.initiate(z, r)
        self.state = type(self.state).concat(self.state, born)
        self.ids = np.concatenate([self.ids, np.arange(self.next_id, self.next_id + n)])
        self.next_id += n
        self.hits = np.concatenate([self.hits, np.ones(n, np.int32)])
        self.born = np.concatenate([self.born, np.full(n, scan, np.int64)])
        self.last_hit = np.concatenate([self.last_hit, np.full(n, scan, np.int64)])
        m = self.config.confirm[0]
        status = np.full(n, CONFIRMED if m <= 1 else TENTATIVE, np.uint8)
        self.status = np.concatenate([self.status, status])

    # output --------------------------------------------------------------------------
    def confirmed(self) -> TrackSet:
        """Confirmed and coasting tracks as they stand after the last scan."""
        idx = np.flatnonzero(self.status != TENTATIVE)
        return TrackSet(self.time, self.ids[idx], self.state.take(idx), self.status[idx])
