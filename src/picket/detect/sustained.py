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
        self.firing: set[int] = set()
        self.last_signal: dict[int, float] = {}
        self.closest: dict[int, dict[str, Any]] = {}  # slot -> nearest infrastructure this run
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
        t0, lat0, lon0, last_true = self.sus.update(s, t, lat, lon, cond)
        dur = t - t0
        moved = np.where(np.isfinite(t0), haversine_m(lat0, lon0, lat, lon), 0.0)
        fire = cond & (dur >= self.min_duration_s()) & (moved >= self.min_distance_m())
        self._track_closest(ctx, s, t, lat, lon, fire | np.isin(s, list(self.firing)))
        out: list[Signal] = []
        last = last_per_slot(s, np.ones(len(s), bool))
        over = last[~np.isfinite(t0[last])]  # runs that have lapsed for longer than the grace
        for j in over.tolist():
            sl = int(s[j])
            self.closest.pop(sl, None)
            if sl in self.firing:
                self.firing.discard(sl)
                self.last_signal.pop(sl, None)
                ended = float(last_true[j]) if np.isfinite(last_true[j]) else float(t[j])
                out.append(make_signal(ctx, self.kind, sl, int(rows[j]), "info", "",
                                       {"ended": iso(ended)}, ended=True))  # fmt: skip
        due = []
        for j in last_per_slot(s, fire).tolist():
            sl = int(s[j])
            if sl in self.firing and t[j] - self.last_signal.get(sl, -np.inf) < self.resignal_s:
                continue
            if not np.isfinite(t0[last[np.searchsorted(s[last], sl)]]):
                continue  # fired earlier in the batch but has lapsed since
            due.append(j)
        # the corridor of every row about to be described (looked up once per batch)
        due_rows = rows[np.array(due, dtype=np.int64)]
        line, dist = (a[due_rows] for a in ctx.corridor())
        self._corridor = {
            int(row): infrastructure_evidence(ctx, int(ln), float(d))
            for row, ln, d in zip(due_rows.tolist(), line.tolist(), dist.tolist(), strict=True)
            if ln >= 0
        }
        for j in due:
            sl = int(s[j])
            row = int(rows[j])
            sev, summary, extra = self.describe(ctx, sl, row, float(dur[j]), float(moved[j]))
            best = self.closest.get(sl)
            if best is not None:
                extra["infrastructure"] = best
                sev = "critical"
                if best["name"] not in summary:
                    summary += f"; passed {best['distance_m']:.0f} m from {best['name']}"
            ev = {
                "since": iso(float(t0[j])),
                "duration_s": round(float(dur[j]), 1),
                "start": {"lat": float(lat0[j]), "lon": float(lon0[j])},
                "moved_m": round(float(moved[j]), 1),
                "thresholds": {k: v for k, v in vars(self.th).items() if not k.startswith("_")},
                **extra,
            }
            self.firing.add(sl)
            self.last_signal[sl] = float(t[j])
            out.append(make_signal(ctx, self.kind, sl, row, sev, summary, ev))
        return out

    def _track_closest(self, ctx: BatchContext, s, t, lat, lon, live) -> None:
        """Closest approach to protected infrastructure during each track's current run."""
        idx = np.flatnonzero(live)
        if not len(idx) or not ctx.env.get("lines"):
            return
        line, dist = (a[self._rows[idx]] for a in ctx.corridor())
        hit = line >= 0
        if not hit.any():
            return
        idx, line, dist = idx[hit], line[hit], dist[hit]
        order = np.lexsort((dist, s[idx]))
        idx, line, dist = idx[order], line[order], dist[order]
        first = np.ones(len(idx), bool)
        first[1:] = s[idx][1:] != s[idx][:-1]
        for i, ln, d in zip(idx[first].tolist(), line[first].tolist(), dist[first].tolist(),
                            strict=True):  # fmt: skip
            sl = int(s[i])
            best = self.closest.get(sl)
            if best is None or d < best["distance_m"]:
                self.closest[sl] = {**infrastructure_evidence(ctx, ln, d),
                                    "time": iso(float(t[i]))}  # fmt: skip

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
