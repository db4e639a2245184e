"""The multi-target tracker in a Cartesian frame: one call per scan, all tracks at once.

Per scan: associate confirmed (and coasting) tracks first, then tentative tracks with
the plots left over, then start tentative tracks on what is still unused. That order
keeps clutter-born tentative tracks from stealing plots from established ones (Stone
Soup's multi-measurement initiator works the same way, which keeps the benchmark
comparison like for like).

Plots may carry their own times within a scan (a rotating radar stamps each at its
azimuth; a receiver network at each position's own time). Every candidate pair is then
judged at the plot's own time: the track is predicted from its time to the plot's
(per pair, as array maths), gated there and, if assigned, updated there. A track whose
plot is earlier than the track's time (another sensor's overlapping scan) takes it as
a retrodicted measurement instead. A track updated early in a long scan may take a
second, later plot of the same scan (an irregular revisit puts two plots of one target
in one window) before anything unused starts a new track. At the end of the scan every
track is predicted to the scan's latest time, so between calls all tracks sit at one
time. Plots all at one time take the plain path: one prediction, per-axis gating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from picket.track.assign import gnn_assign
from picket.track.config import TrackerConfig
from picket.track.gating import DENSE_LIMIT, gate_pairs, grid_neighbours
from picket.track.kalman import CVState
from picket.track.motion import motion_for

if TYPE_CHECKING:  # loaded with the first IMM tracker (picket.track.motion)
    from picket.track.imm import IMMState

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]

TENTATIVE, CONFIRMED, COASTING = 0, 1, 2
# Two confirmed tracks this close (Mahalanobis, position and velocity together) are one.
# Duplicates fed by one target's plots converge well inside it; real targets passing each
# other at a similar velocity rarely come this close (a 3-sigma test merged some of them
# in the benchmark's dense field; one sigma still merges every OpenSky duplicate).
MERGE_SIGMA = 1.0


@dataclass(slots=True)
class TrackSet:
    """Confirmed tracks at one scan (the tracker's output), arrays of equal length."""

    time: float
    ids: NDArray[np.int64]
    state: CVState | IMMState
    status: NDArray[np.uint8]


@dataclass(slots=True)
class TrackerCounts:
    """What the tracker saw and did, summed over its life: the reason behind "0 tracks"."""

    scans: int = 0  # calls of `step`
    plots: int = 0
    busiest_scan: int = 0  # most plots in one call
    gated: int = 0  # track-plot pairs inside a gate
    assigned: int = 0  # plots that updated a track
    second_plots: int = 0  # of those, a track's second (later) plot in one scan
    started: int = 0  # tentative tracks started
    dropped: int = 0  # tentative tracks dropped before M of N
    confirmed: int = 0  # tracks confirmed
    deleted: int = 0  # confirmed tracks deleted after `delete_after` missed scans
    merged: int = 0  # confirmed tracks dropped as duplicates of another (own-time plots)
    best_dropped: int = 0  # most plots any dropped tentative track had


class CartesianTracker:
    """GNN tracker over plots already in a local Cartesian frame (metres, seconds)."""

    # one-time CV scans through `_near` and `_plain` (False: the general `_associate`,
    # which the equivalence tests compare them with)
    fast_plain = True

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
        self.counts = TrackerCounts()
        # the track id each plot of the last `step` went to (-1: none), in its order
        self.plot_ids = np.zeros(0, np.int64)
        self._tt = np.zeros(0)  # per-track time while a scan with own-time plots runs
        self._tz: F8 | None = None
        # while such a scan runs: its start time, the tracks' state then (for `_refilter`)
        # and the track index each plot went to
        self._t0 = 0.0
        self._pre: CVState | IMMState = self.state
        self._own = np.zeros(0, np.intp)

    def __len__(self) -> int:
        return len(self.ids)

    def scan_index(self, t: float) -> int:
        """Scans counted by call, or on the `scan_quantum` clock (see TrackerConfig)."""
        q = self.config.scan_quantum
        return int(np.floor(t / q)) if q > 0 else self.steps

    # one scan ------------------------------------------------------------------------
    def step(
        self,
        t: float,
        z: F8,
        r: F8,
        pd: float | None = None,
        tz: F8 | None = None,
        scan: int | None = None,
    ) -> None:
        """Process one scan: plots z (m, k) with per-axis variances r (m, k) at time t,
        or each at its own time tz (m,) (then t is at least the latest of them).

        `scan` is the scan's index when the caller forms scans (PlotTracker: revolutions
        or `scan_quantum` windows per sensor); several calls may share one index, so a
        scan is only counted as missed once a later index arrives.
        """
        cfg = self.config
        pd = cfg.detection_probability if pd is None else pd
        z = np.asarray(z, float).reshape(-1, self.k)
        r = np.asarray(r, float).reshape(-1, self.k)
        t_end = max(t, self.time)
        if tz is not None and len(z):
            tz = np.asarray(tz, float).reshape(-1)
            t_end = max(t_end, float(tz.max()))
            if (tz == t_end).all():
                tz = None  # every plot at the scan's time: the plain path
        else:
            tz = None
        if tz is None and len(self.ids):
            dt = max(0.0, t_end - self.time) if np.isfinite(self.time) else 0.0
            self.state = self.motion.predict(self.state, np.full(len(self.ids), dt))
        if tz is not None:
            start = self.time if np.isfinite(self.time) else float(tz.min())
            self._tt = np.full(len(self.ids), start)
            self._t0 = start
            self._pre = self.state.take(np.arange(len(self.ids)))  # for `_refilter`
            self._own = np.full(len(z), -1, np.intp)
        self._tz = tz
        explicit = scan is not None
        scan = self.scan_index(t_end) if scan is None else int(scan)
        self.steps += 1
        c = self.counts
        c.scans += 1
        c.plots += len(z)
        c.busiest_scan = max(c.busiest_scan, len(z))
        used = np.zeros(len(z), bool)
        lam = self._clutter_density(z) if cfg.cost == "likelihood" else 0.0

        owner = np.full(len(z), -1, np.int64)  # the track id each plot went to
        firm = self.status != TENTATIVE
        rounds = (None, "other", "other") if tz is not None else (None,)
        # one time, constant velocity: every track's candidate plots found once a scan
        plain = self.fast_plain and tz is None and isinstance(self.state, CVState)
        near = self._near(z, r) if plain else None
        for group in (firm, ~firm):  # established tracks choose first
            tracks = group.nonzero()[0]
            for again in rounds:
                if near is not None:
                    hit_t, hit_p = self._plain(near, group, tracks, used, z, r, pd, lam)
                else:
                    # then a track's further plots in this scan, at other times than its own
                    if again:
                        tracks = tracks[self.last_hit[tracks] == scan]
                    free = np.flatnonzero(~used) if used.any() else np.arange(len(z))
                    if len(free) == 0:
                        break
                    hit_t, hit_p = self._associate(tracks, free, z, r, pd, lam, again)
                used[hit_p] = True
                owner[hit_p] = self.ids[hit_t]
                self.hits[hit_t] += 1
                self.last_hit[hit_t] = scan
                c.second_plots += len(hit_t) if again else 0
        self.status[firm] = np.where(self.last_hit[firm] == scan, CONFIRMED, COASTING)
        c.assigned += int(np.count_nonzero(used))

        m, n = cfg.confirm
        tent = (self.status == TENTATIVE).nonzero()[0]
        promote = tent[self.hits[tent] >= m]
        self.status[promote] = CONFIRMED
        c.confirmed += len(promote)

        # On the scan clock other sensors may still report in this scan: it is not over.
        clock = explicit or cfg.scan_quantum > 0
        age = scan - self.born + (0 if clock else 1)
        dead = (self.status != TENTATIVE) & (scan - self.last_hit >= cfg.delete_after)
        lost = (self.status == TENTATIVE) & (self.hits + (n - age) < m)
        gone = dead | lost
        if gone.any():
            if lost.any():
                c.dropped += int(lost.sum())
                c.best_dropped = max(c.best_dropped, int(self.hits[lost].max()))
            c.deleted += int(dead.sum())
            self._keep(~gone)
        new = (~used).nonzero()[0]
        if len(new):
            first = len(self.ids)
            self._birth(z.take(new, 0), r.take(new, 0), scan)
            owner[new] = self.ids[first:]
            if tz is not None:
                self._tt = np.concatenate([self._tt, tz[new]])
                owner[new] = self._chain(first, new, z, r, pd, lam)
            if m <= 1:
                c.confirmed += len(self.ids) - first
            else:
                c.started += len(self.ids) - first
                if tz is not None:  # chained plots may have confirmed a new track already
                    born = first + np.flatnonzero(self.hits[first:] >= m)
                    self.status[born] = CONFIRMED
                    c.confirmed += len(born)
        if tz is not None:
            if len(self.ids):  # everything to the scan's end: tracks share one time again
                self.state = self.motion.predict(self.state, t_end - self._tt)
            self._tt = np.zeros(0)
            self._merge(scan)
        self.time = t_end
        self.plot_ids = owner
        self._tz = None

    def _chain(self, first: int, plots: I8, z: F8, r: F8, pd: float, lam: float) -> I8:
        """Join this scan's new tracks when one target left several plots in it (a long
        window, an irregular revisit): each new track may take a later new plot, chains
        are followed from their first plot; returns the track id each plot went to."""
        nb = np.arange(first, len(self.ids))
        at, ap = self._match(self.state.take(nb), nb, plots, z, r, pd, lam, "later")
        ids = self.ids[nb].copy()
        if len(at) == 0:
            return ids
        nxt = np.full(len(nb), -1)
        nxt[at] = ap
        has_prev = np.zeros(len(nb), bool)
        has_prev[ap] = True
        heads = np.flatnonzero((nxt >= 0) & ~has_prev)
        cur = nxt[heads]
        gone = np.zeros(len(self.ids), bool)
        tp = self._tz[plots]  # type: ignore[index]
        while len(heads):
            tt = self._tt[nb]
            ps, delta = self._at_plot(self.state.take(nb), heads, tt, tp, cur)
            self.state.put(nb[heads], self.motion.update(ps, z[plots[cur]], r[plots[cur]], delta))
            self._tt[nb[heads]] = tp[cur]
            self.hits[nb[heads]] += 1
            ids[cur] = self.ids[nb[heads]]
            gone[nb[cur]] = True
            self.counts.second_plots += len(cur)
            cur = nxt[cur]
            heads, cur = heads[cur >= 0], cur[cur >= 0]
        self._keep(~gone)
        return ids

    def _merge(self, scan: int) -> None:
        """Drop the lesser of two confirmed tracks that have become one (position and
        velocity within MERGE_SIGMA of each other). With several plots of a target in one
        scan, a track that lost its own target can settle on another's plots and share
        them with that target's track for good, one plot each."""
        cand = np.flatnonzero((self.status != TENTATIVE) & (self.last_hit == scan))
        if len(cand) < 2:
            return
        from scipy.spatial import cKDTree  # here: only own-time scans merge

        s, h, g = self.state.take(cand), min(2, self.k), MERGE_SIGMA
        reach = g * np.sqrt(2.0 * float(np.max(s.pxx[:, :h])))
        pairs = cKDTree(s.pos[:, :h]).query_pairs(reach, output_type="ndarray")
        if len(pairs) == 0:
            return
        a, b = pairs[:, 0], pairs[:, 1]
        dp, dv = s.pos[a, :h] - s.pos[b, :h], s.vel[a, :h] - s.vel[b, :h]
        sp, sv = s.pxx[a, :h] + s.pxx[b, :h], s.pvv[a, :h] + s.pvv[b, :h]
        same = np.sum(dp * dp / sp + dv * dv / sv, axis=1) < g * g
        if not same.any():
            return
        a, b = cand[a[same]], cand[b[same]]
        # keep the track with more plots (then the older); a chain of merges keeps its best
        worse = np.where(
            (self.hits[a] > self.hits[b]) | ((self.hits[a] == self.hits[b]) & (a < b)), b, a
        )
        gone = np.zeros(len(self.ids), bool)
        gone[worse] = True
        self.counts.merged += int(gone.sum())
        self._keep(~gone)

    def _associate(
        self, tracks: I8, plots: I8, z: F8, r: F8, pd: float, lam: float, again: str | None = None
    ) -> tuple[I8, I8]:
        """Gate, assign and update `tracks` against `plots`; returns global indices."""
        if len(tracks) == 0 or len(plots) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        s = self.state.take(tracks)
        at, ap = self._match(s, tracks, plots, z, r, pd, lam, again)
        if len(at) == 0:
            return tracks[at], plots[ap]
        if self._tz is not None:
            self._own[plots[ap]] = tracks[at]
        if again:
            self._refilter(tracks[at], z, r)
            return tracks[at], plots[ap]
        zp, rp = z[plots], r[plots]
        if self._tz is None:
            ps, delta = s.take(at), None
        else:
            tt, tp = self._tt[tracks], self._tz[plots]
            ps, delta = self._at_plot(s, at, tt, tp, ap)
            self._tt[tracks[at]] = np.maximum(tt[at], tp[ap])
        self.state.put(tracks[at], self.motion.update(ps, zp[ap], rp[ap], delta))
        return tracks[at], plots[ap]

    def _near(self, z: F8, r: F8) -> tuple[I8, I8, F8, F8]:
        """Every (track, plot) pair of a one-time scan that any association round of it
        could gate: (track, plot, plot minus track over the horizontal axes, its squared
        length), tracks ascending. Found once a scan, in a strip of plots sorted by x (a
        grid when the strip holds too many), as far as the widest gate any round of the
        scan can have, or `max_distance` if nearer; each round then applies its own
        radius exactly (see `_plain`)."""
        s, cfg = self.state, self.config
        n, m, h = len(s.pos), len(z), min(2, self.k)
        if n == 0 or m == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros((0, h)), np.zeros(0)
        reach = cfg.gate_sigma * np.sqrt(float(s.pxx[:, :h].max()) + float(r[:, :h].max()))
        if cfg.max_distance > 0:
            reach = min(reach, cfg.max_distance)
        reach = float(reach) * (1 + 1e-6) + 1e-9  # only a bound: the rounds cut exactly
        if not np.isfinite(reach):
            ti, pj = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
        else:
            x = z[:, 0]
            o = x.argsort(kind="stable")
            xs = x.take(o)
            a = xs.searchsorted(s.pos[:, 0] - reach, "left")  # methods: no wrapper
            cnt = xs.searchsorted(s.pos[:, 0] + reach, "right") - a
            total = int(cnt.sum())
            if total <= 32 * (n + m) + DENSE_LIMIT:
                ti = np.arange(n).repeat(cnt)
                pj = o[(a - (cnt.cumsum() - cnt)).repeat(cnt) + np.arange(total)]
            else:  # plots strung out along x: cells instead
                ti, pj = grid_neighbours(s.pos[:, :h], z[:, :h], reach, m)
        d = z[:, :h].take(pj, 0) - s.pos[:, :h].take(ti, 0)
        e2 = _rowsum(d * d)
        keep = (e2 <= reach * reach).nonzero()[0]
        return ti[keep], pj[keep], d.take(keep, 0), e2[keep]

    def _plain(
        self,
        near: tuple[I8, I8, F8, F8],
        group: NDArray[np.bool_],
        tracks: I8,
        used: NDArray[np.bool_],
        z: F8,
        r: F8,
        pd: float,
        lam: float,
    ) -> tuple[I8, I8]:
        """`_associate` for one-time scans of the CV filter on the scan's candidate pairs
        (`_near`): the same pairs, costs and updates as `gate_pairs` and `_match` give
        (their dense and grid cases, the k nearest plots within the round's radius), in
        a few array operations a round; returns global indices."""
        cfg, s = self.config, self.state
        nt, m_free = len(tracks), len(z) - int(np.count_nonzero(used))
        ti, pj, d, e2 = near
        if nt == 0 or m_free == 0 or len(ti) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        sel = group[ti] & ~used[pj]
        h = min(2, self.k)
        grid = nt * m_free > DENSE_LIMIT
        if grid:  # gate_pairs' spatial index: within its radius, the k nearest plots
            s_max = float(s.pxx[:, :h].take(tracks, 0).max())
            s_max += float(r[:, :h].compress(~used, 0).max())
            radius = cfg.gate_sigma * np.sqrt(s_max) * (1 + 1e-9)
            sel &= e2 < radius * radius
        sel = sel.nonzero()[0]
        ti, pj, d, e2 = ti[sel], pj[sel], d.take(sel, 0), e2[sel]
        k = min(cfg.max_neighbours, m_free)
        if grid and len(ti) and np.bincount(ti).max() > k:
            o = np.lexsort((e2, ti))
            ti, pj, d, e2 = ti[o], pj[o], d.take(o, 0), e2[o]
            o = (np.arange(len(ti)) - ti.searchsorted(ti, "left") < k).nonzero()[0]
            ti, pj, d, e2 = ti[o], pj[o], d.take(o, 0), e2[o]
        v = d if self.k == h else z.take(pj, 0) - s.pos.take(ti, 0)
        sv = s.pxx.take(ti, 0) + r.take(pj, 0)
        d2 = _rowsum(v * v / sv)
        ok = d2 < cfg.gate_sigma * cfg.gate_sigma
        if cfg.max_distance > 0:
            ok &= e2 <= cfg.max_distance**2
        ok = ok.nonzero()[0]
        ti, pj, d2 = ti[ok], pj[ok], d2[ok]
        self.counts.gated += len(ti)
        if cfg.cost == "distance":
            cost, miss = np.sqrt(d2), cfg.gate_sigma
        else:
            logdet = np.sum(np.log(2 * np.pi * sv.take(ok, 0)), axis=1)
            cost = 0.5 * d2 + 0.5 * logdet - np.log(pd) + np.log(lam)
            miss = -np.log(max(1.0 - pd, 1e-12))
        at, ap = gnn_assign(ti, pj, cost, miss, len(s.pos), len(z))
        if len(at):
            s.put(at, self.motion.update(s.take(at), z.take(ap, 0), r.take(ap, 0), None))
        return at, ap

    def _refilter(self, tracks: I8, z: F8, r: F8) -> None:
        """Run `tracks` again from the scan's start over all their plots of this scan in
        time order: a second plot may be earlier than the one a track took first, and
        the filter stays the plain sequential one either way."""
        tz = self._tz
        assert tz is not None
        sel = np.flatnonzero(np.isin(self._own, tracks))
        sel = sel[np.lexsort((tz[sel], self._own[sel]))]
        own = self._own[sel]
        uniq, first = np.unique(own, return_index=True)
        rank = np.arange(len(sel)) - np.repeat(first, np.diff(np.r_[first, len(sel)]))
        row = np.searchsorted(uniq, own)
        st = self._pre.take(uniq)
        tt = np.full(len(uniq), self._t0)
        for j in range(int(rank.max()) + 1):
            m = rank == j
            rows, p = row[m], sel[m]
            ps, delta = self._at_plot(st, rows, tt, tz, p)
            st.put(rows, self.motion.update(ps, z[p], r[p], delta))
            tt[rows] = np.maximum(tt[rows], tz[p])
        self.state.put(uniq, st)
        self._tt[uniq] = tt

    def _match(
        self,
        s: CVState | IMMState,
        tracks: I8,
        plots: I8,
        z: F8,
        r: F8,
        pd: float,
        lam: float,
        again: str | None = None,
    ) -> tuple[I8, I8]:
        """Gate and assign `tracks` (their state `s`) against `plots`; returns indices
        into both.

        With own-time plots each pair is judged at the plot's time. For a track's second
        plot in one scan, `again` keeps only plots at an "other" time than the track's
        (an earlier one is a retrodicted measurement) or only "later" ones.
        """
        cfg, mo = self.config, self.motion
        zp, rp = z[plots], r[plots]
        tz = self._tz
        if tz is None:
            pred, d2_fn, bound, shift = s, None, None, 0.0
            if not isinstance(s, CVState):  # the IMM's combined estimate

                def d2_fn(ti: I8, pj: I8) -> F8:
                    return mo.mahalanobis2(s.take(ti), zp[pj], rp[pj], None)

                bound = mo.var_bound(s, 0.0)
        else:
            tp, tt = tz[plots], self._tt[tracks]
            # The tree looks around each track's place at the plots' middle time, as
            # far as the fastest track moves in half the plots' spread (CV: exact).
            mid = 0.5 * (float(tp.min()) + float(tp.max()))
            h = min(2, self.k)
            ref = s.pos + s.vel * (mid - tt)[:, None]
            pred = CVState(ref, s.vel, s.pxx, s.pxv, s.pvv)
            speed = float(np.max(np.hypot(*s.vel[:, :h].T)))
            shift = speed * 0.5 * float(np.ptp(tp))
            reach = max(float(tp.max() - tt.min()), float(tt.max() - tp.min()), 0.0)
            bound = mo.var_bound(s, reach)

            def d2_fn(ti: I8, pj: I8) -> F8:
                ps, delta = self._at_plot(s, ti, tt, tp, pj)
                d2 = mo.mahalanobis2(ps, zp[pj], rp[pj], delta)
                if again == "later":
                    d2 = np.where(tp[pj] > tt[ti], d2, np.inf)
                elif again:
                    d2 = np.where(tp[pj] != tt[ti], d2, np.inf)
                return d2

        ti, pj, d2 = gate_pairs(
            pred, zp, rp, cfg.gate_sigma, cfg.max_neighbours, d2_fn, bound, shift
        )
        if cfg.max_distance > 0 and len(ti):
            h = min(2, self.k)
            at = s.pos[ti] if tz is None else self._at_plot(s, ti, tt, tp, pj)[0].pos
            v = zp[pj, :h] - at[:, :h]
            near = np.sum(v * v, axis=1) <= cfg.max_distance**2
            ti, pj, d2 = ti[near], pj[near], d2[near]
        self.counts.gated += len(ti)
        if cfg.cost == "distance":
            cost, miss = np.sqrt(d2), cfg.gate_sigma
        else:
            if tz is None:
                ps, delta = s.take(ti), None
            else:
                ps, delta = self._at_plot(s, ti, tt, tp, pj)
            logdet = mo.log_det(ps, zp[pj], rp[pj], delta)
            cost = 0.5 * d2 + 0.5 * logdet - np.log(pd) + np.log(lam)
            miss = -np.log(max(1.0 - pd, 1e-12))
        return gnn_assign(ti, pj, cost, miss, len(tracks), len(plots))

    def _at_plot(
        self, s: CVState | IMMState, ti: I8, tt: F8, tp: F8, pj: I8
    ) -> tuple[CVState | IMMState, F8 | None]:
        """Tracks ti predicted to plots pj's times; an earlier plot is a retrodicted
        measurement instead (offset <= 0), so a track never moves back in time."""
        gap = tp[pj] - tt[ti]
        ps = self.motion.predict(s.take(ti), np.maximum(gap, 0.0))
        back = np.minimum(gap, 0.0)
        return ps, (back if back.any() else None)

    def _clutter_density(self, z: F8) -> float:
        """Clutter plots per m² over the scan's extent (at least 1 km²)."""
        if len(z) == 0:
            return 1e-12
        span = np.ptp(z[:, :2], axis=0) if len(z) > 1 else np.zeros(2)
        area = max(float(np.prod(np.maximum(span, 1.0))), 1e6)
        return max(self.config.clutter_rate, 1e-3) / area

    def _keep(self, keep: NDArray[np.bool_]) -> None:
        idx = keep.nonzero()[0]
        self.state = self.state.take(idx)
        self.ids, self.hits, self.born = self.ids[idx], self.hits[idx], self.born[idx]
        self.last_hit, self.status = self.last_hit[idx], self.status[idx]
        if len(self._tt):
            self._tt = self._tt[idx]

    def _birth(self, z: F8, r: F8, scan: int) -> None:
        """New tracks on unused plots (at the plots' own times until the scan ends)."""
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
        idx = (self.status != TENTATIVE).nonzero()[0]
        return TrackSet(self.time, self.ids[idx], self.state.take(idx), self.status[idx])


def _rowsum(x: F8) -> F8:
    """`np.sum(x, axis=1)` bit for bit; two columns are added directly (the reduction
    costs several times the addition on short rows)."""
    return x[:, 0] + x[:, 1] if x.shape[1] == 2 else np.sum(x, axis=1)
