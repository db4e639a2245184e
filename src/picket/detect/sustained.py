"""Rules of the form "condition held for at least T and moved at least D".

Subclasses say which rows count (`condition`) and how to word the alert
(`describe`); this class does the bookkeeping, vectorised per batch: run
starts, durations, displacement, one signal per firing track, and an `ended`
signal when the condition stops for a track that was firing.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from picket.detect.base import (
    Sustain,
    drop_slots,
    group_starts,
    infrastructure_evidence,
    last_per_slot,
    make_signal,
)
from picket.fusion.context import BatchContext
from picket.geo.geodesy import haversine_m
from picket.model.alerts import Signal, iso


class SustainedDetector:
    kind: ClassVar[str]
    domain: ClassVar[int]

    grace_s: ClassVar[float] = 600.0  # lapses shorter than this do not end a run
    # a firing track's evidence is refreshed at most this often (event time); the alert is
    # already open, so this only bounds work, never delays a first warning
    resignal_s: ClassVar[float] = 300.0

    def __init__(self, th: Any):
        self.th = th
        self.sus = Sustain(grace_s=float(getattr(th, "grace_s", self.grace_s)))
        self.firing: dict[int, float] = {}  # slot -> start time of its firing run
        self.fire_last: dict[int, float] = {}  # slot -> last true time of its firing run
        self.last_signal: dict[int, float] = {}
        # (slot, start of its run) -> nearest infrastructure during that run
        # (slot, run start) -> (distance m as reported, line, distance m, time): the evidence
        # dict is built only when a signal carries it (most runs improve many times first)
        self.closest: dict[tuple[int, float], tuple[float, int, float, float]] = {}
        self._corridor: dict[int, dict[str, Any]] = {}  # row -> corridor, for this batch

    # to override ---------------------------------------------------------------
    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def min_duration_s(self) -> float:
        return float(self.th.min_duration_s)

    def min_distance_m(self) -> float:
        return float(getattr(self.th, "min_distance_m", 0.0))

    def describe(
        self, ctx: BatchContext, slot: int, row: int, duration: float, moved: float
    ) -> tuple[str, str, dict[str, Any]]:
        """(severity, summary, extra evidence) for a firing track."""
        raise NotImplementedError

    # machinery -----------------------------------------------------------------
    def rows(self, ctx: BatchContext) -> np.ndarray:
        r = ctx.reports
        return np.flatnonzero(ctx.has_pos & ~ctx.outlier & (r.domain == self.domain))

    def update(self, ctx: BatchContext) -> list[Signal]:
        rows = self.rows(ctx)
        if not len(rows):
            return []
        r = ctx.reports
        s = ctx.slots[rows]
        t, lat, lon = r.time[rows], r.lat[rows], r.lon[rows]
        cond = self.condition(ctx, rows)
        self._rows = rows
        t0, lat0, lon0, _ = self.sus.update(s, t, lat, lon, cond)
        dur = t - t0
        # the distance moved is read only where a run is long enough to fire: measured there
        long = np.flatnonzero(cond & (dur >= self.min_duration_s()) & np.isfinite(t0))
        moved = np.zeros(len(t))
        moved[long] = haversine_m(lat0[long], lon0[long], lat[long], lon[long])
        fire = cond & (dur >= self.min_duration_s()) & (moved >= self.min_distance_m())
        self._track_closest(ctx, s, t, t0)
        return self._signals(ctx, rows, s, t, t0, lat0, lon0, dur, moved, cond, fire)

    def _signals(self, ctx, rows, s, t, t0, lat0, lon0, dur, moved, cond, fire):
        """Start, refresh and end signals, timed by the reports themselves.

        A run is a slot's stretch of rows sharing one start time. A run fires at
        its first qualifying row and ends at its last true row once it lapses,
        wherever the batch boundaries fall: the same input gives the same alerts
        whether it arrives in one batch or in many.
        """
        out: list[Signal] = []
        ended: list[Signal] = []  # after the refreshes: an end may share its time with one
        n = len(s)
        # runs that were firing before this batch: rows that go on with them, and where they end
        going = np.zeros(n, bool)
        if self.firing:
            keys = np.fromiter(self.firing.keys(), np.int64, len(self.firing))
            vals = np.fromiter(self.firing.values(), float, len(self.firing))
            order = np.argsort(keys)
            keys, vals = keys[order], vals[order]
            pos = np.minimum(np.searchsorted(keys, s), len(keys) - 1)
            known = keys[pos] == s
            going = known & (t0 == vals[pos])
            for j in last_per_slot(s, going & cond).tolist():
                self.fire_last[int(s[j])] = float(t[j])
            broke = known & ~going
            first_broke = np.flatnonzero(broke & ~np.r_[False, (s[1:] == s[:-1]) & broke[:-1]])
            for j in first_broke.tolist():
                sl = int(s[j])
                ended.append(self._ended(ctx, sl, int(rows[j]), self.fire_last.get(sl, t[j])))
                self._stop(sl)
        fr = np.flatnonzero(fire)
        if len(fr):
            run_start = group_starts(s)
            run_start[1:] |= ~(t0[1:] == t0[:-1])  # rows outside any run (NaN) stand alone
            run_id = np.cumsum(run_start) - 1
            run_last = np.r_[np.flatnonzero(run_start)[1:] - 1, n - 1]
            runs, first = np.unique(run_id[fr], return_index=True)
            plan = []  # (first qualifying row, refresh row or -1, last row if the run ends here)
            for k, run in enumerate(runs.tolist()):
                a = int(fr[first[k]])
                b = int(fr[first[k + 1] - 1]) if k + 1 < len(runs) else int(fr[-1])
                sl = int(s[a])
                since = self.last_signal.get(sl, t[a]) if going[a] else t[a]
                refresh = b if (b != a or going[a]) and t[b] - since >= self.resignal_s else -1
                e = int(run_last[run])
                ends = not going[a] and e + 1 < n and s[e + 1] == sl
                plan.append((a, refresh, e if ends else -1))
            due = [a for a, _, _ in plan if not going[a]] + [b for _, b, _ in plan if b >= 0]
            self._describe_corridors(ctx, rows[np.array(due, dtype=np.int64)])
            for a, b, e in plan:
                sl = int(s[a])
                for j in ([] if going[a] else [a]) + ([b] if b >= 0 else []):
                    out.append(self._fire(ctx, sl, int(rows[j]), t[j], t0[j], lat0[j], lon0[j],
                                          dur[j], moved[j]))  # fmt: skip
                if e >= 0:  # started and lapsed within this batch
                    seg = slice(a, e + 1)
                    true_t = t[seg][cond[seg]]
                    end_t = float(true_t.max()) if len(true_t) else float(t[a])
                    out.append(self._ended(ctx, sl, int(rows[e]), end_t))
                    self._stop(sl)
        self._forget(s, t0)
        return out + ended

    def forget(self, slots: np.ndarray) -> None:
        """Runs, firing flags and closest approaches of `slots` go (`_rows` and `_corridor`
        hold this batch's rows, not slots). Subclasses with more per-slot state extend it."""
        self.sus.forget(slots)
        if not len(slots):
            return
        for d in (self.firing, self.fire_last, self.last_signal):
            drop_slots(d, slots)
        if self.closest:
            keys = list(self.closest)
            ks = np.fromiter((k[0] for k in keys), np.int64, len(keys))
            for k in np.flatnonzero(np.isin(ks, slots)).tolist():
                del self.closest[keys[k]]

    def _stop(self, sl: int) -> None:
        self.firing.pop(sl, None)
        self.fire_last.pop(sl, None)
        self.last_signal.pop(sl, None)

    def _forget(self, s, t0) -> None:
        """Closest-approach memory lives only as long as a slot's current run."""
        if not self.closest:
            return
        last = last_per_slot(s, np.ones(len(s), bool))
        sl, cur = s[last], t0[last]  # slots ascending (rows are sorted by slot)
        keys = list(self.closest)
        ks = np.fromiter((k[0] for k in keys), np.int64, len(keys))
        kt = np.fromiter((k[1] for k in keys), float, len(keys))
        pos = np.minimum(np.searchsorted(sl, ks), len(sl) - 1)
        stale = (sl[pos] == ks) & ~(kt == cur[pos])  # a NaN start (no run now) is stale too
        for k in np.flatnonzero(stale).tolist():
            del self.closest[keys[k]]

    def _describe_corridors(self, ctx: BatchContext, due_rows: np.ndarray) -> None:
        """The corridor of every row about to be described (looked up once per batch)."""
        line, dist = (a[due_rows] for a in ctx.corridor())
        self._corridor = {
            int(row): infrastructure_evidence(ctx, int(ln), float(d))
            for row, ln, d in zip(due_rows.tolist(), line.tolist(), dist.tolist(), strict=True)
            if ln >= 0
        }

    def _ended(self, ctx: BatchContext, sl: int, row: int, end_t: float) -> Signal:
        return make_signal(ctx, self.kind, sl, row, "info", "", {"ended": iso(end_t)},
                           ended=True, t=end_t)  # fmt: skip

    def _fire(self, ctx, sl, row, t, t0, lat0, lon0, dur, moved) -> Signal:
        sev, summary, extra = self.describe(ctx, sl, row, float(dur), float(moved))
        near = self.closest.get((sl, float(t0)))
        if near is not None:
            _, ln, d, when = near
            best = {**infrastructure_evidence(ctx, ln, d), "time": iso(when)}
            extra["infrastructure"] = best
            sev = "critical"
            if best["name"] not in summary:
                summary += f"; passed {best['distance_m']:.0f} m from {best['name']}"
        ev = {
            "since": iso(float(t0)),
            "duration_s": round(float(dur), 1),
            "start": {"lat": float(lat0), "lon": float(lon0)},
            "moved_m": round(float(moved), 1),
            "thresholds": {k: v for k, v in vars(self.th).items() if not k.startswith("_")},
            **extra,
        }
        self.firing[sl] = float(t0)
        self.last_signal[sl] = float(t)
        self.fire_last[sl] = float(t)
        return make_signal(ctx, self.kind, sl, row, sev, summary, ev)

    def _track_closest(self, ctx: BatchContext, s, t, t0) -> None:
        """Closest approach to protected infrastructure during each track's current run
        (every row of the run, before and after it qualifies)."""
        idx = np.flatnonzero(np.isfinite(t0))
        if not len(idx) or not ctx.world.lines:
            return
        line, dist = (a[self._rows[idx]] for a in ctx.corridor())
        hit = line >= 0
        if not hit.any():
            return
        idx, line, dist = idx[hit], line[hit], dist[hit]
        order = np.lexsort((dist, t0[idx], s[idx]))
        idx, line, dist = idx[order], line[order], dist[order]
        first = np.ones(len(idx), bool)
        first[1:] = (s[idx][1:] != s[idx][:-1]) | (t0[idx][1:] != t0[idx][:-1])
        for i, ln, d in zip(idx[first].tolist(), line[first].tolist(), dist[first].tolist(),
                            strict=True):  # fmt: skip
            key = (int(s[i]), float(t0[i]))
            best = self.closest.get(key)
            if best is None or d < best[0]:  # against the distance as reported (0.1 m)
                self.closest[key] = (round(float(d), 1), ln, d, float(t[i]))

    # helpers for subclasses -----------------------------------------------------------
    def corridor(self, ctx: BatchContext, row: int) -> dict[str, Any] | None:
        """The protected corridor a row being described lies in (looked up per batch)."""
        return self._corridor.get(row)

    @staticmethod
    def speed_kn(ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        """Reported speed in knots, falling back to the track's last known speed."""
        v = ctx.reports.speed[rows].astype(float)
        miss = ~np.isfinite(v)
        if miss.any():
            v[miss] = ctx.tracks.cols["speed"][ctx.slots[rows][miss]]
        return v / (1852 / 3600)
