"""Progress along protected lines, and the slow-transit-along-a-line anchor-drag rule.

An anchor dragged by a ship under way ploughs a furrow in the direction the
ship goes; over a cable or pipeline that runs the same way, the furrow follows
the asset for kilometres (Eagle S, Yi Peng 3 and Newnew Polar Bear left trails
of 100-180 km). What matters is how far the vessel went *along* the asset, not
how far it went: a ship crossing a corridor square-on goes 2 km and makes no
progress along the line. `AlongAsset` keeps, per track, a signed odometer of
that progress: each position inside a corridor is projected onto the line
(spherical foot of the perpendicular, `LineSet.nearest`) and consecutive feet
on the same line add their difference. Rules read the odometer at the start
and end of their runs, so every rule measures along-asset distance the same way.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from picket.detect.base import (
    Sustain,
    drop_slots,
    forget_rows,
    group_ends,
    group_starts,
    grown,
    in_zone_kinds,
    infrastructure_evidence,
    label,
    last_per_slot,
    subject_name,
)
from picket.detect.sustained import SustainedDetector
from picket.fusion.context import BatchContext
from picket.geo.geodesy import KNOT, haversine_m
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain

PORT_KINDS = ("port", "anchorage")
# a step between two feet on the line counts only if it is no longer than this multiple of the
# step over the ground (plus slack): a longer one jumped between the parts of a multi-part line
STEP_STRETCH, STEP_SLACK_M = 1.5, 50.0
MAX_STEP_S = 600.0  # feet further apart in time than this are not linked


def shifted(a: np.ndarray) -> np.ndarray:
    """Each row's predecessor (the first row's is whatever the caller puts there)."""
    out = np.empty_like(a)
    out[1:] = a[:-1]
    if len(a):
        out[0] = False if a.dtype == bool else (-1 if a.dtype.kind == "i" else np.nan)
    return out


class View:
    """What every anchor-drag rule reads per batch, computed once: the maritime position
    rows, and per report row its speed in knots and the corridor it lies in."""

    KEY = "_anchor_drag_view"

    def __init__(self, ctx: BatchContext):
        r = ctx.reports
        self.ctx = ctx
        self.rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier & (r.domain == Domain.MARITIME))
        self.speed_kn = np.full(len(r), np.nan)
        if len(self.rows):
            self.speed_kn[self.rows] = SustainedDetector.speed_kn(ctx, self.rows)
        self.line, self.dist = ctx.corridor()

    @classmethod
    def of(cls, ctx: BatchContext) -> View:
        v = ctx.memo.get(cls.KEY)
        if v is None:
            v = ctx.memo[cls.KEY] = cls(ctx)
        return v

    def tracks_of(self, rows: np.ndarray, mask: np.ndarray, live: np.ndarray) -> np.ndarray:
        """`rows` (sorted by slot) of the tracks with a `mask` row or a live run (per slot)."""
        s = self.ctx.slots[rows]
        pick = np.zeros(int(s.max()) + 1 if len(s) else 0, bool)
        pick[s[mask]] = True
        n = min(len(live), len(pick))
        pick[:n] |= live[:n]
        return rows[pick[s]]


class AlongAsset:
    """Per-track odometers: signed progress along protected lines (m), reports in corridors.

    `update` gives every row both running totals; a rule subtracts the totals at
    its run's start to get the run's progress along the asset and whether the run
    has been inside a corridor at all. State is a few numbers per track slot.
    """

    def __init__(self) -> None:
        self.odo = np.zeros((0, 2))
        self.line = np.zeros(0, np.int64)  # line of the last measured foot
        self.along = np.zeros(0)
        self.t = np.zeros(0)
        self.lat = np.zeros(0)
        self.lon = np.zeros(0)

    def _grow(self, n: int) -> None:
        if n > len(self.odo):
            odo = np.zeros((max(n, 2 * len(self.odo), 1024), 2))
            odo[: len(self.odo)] = self.odo
            self.odo = odo
        self.line = grown(self.line, n, -1)
        for name in ("along", "t", "lat", "lon"):
            setattr(self, name, grown(getattr(self, name), n, np.nan))

    def forget(self, slots: np.ndarray) -> None:
        forget_rows(self.odo, slots, 0.0)
        forget_rows(self.line, slots, -1)
        for name in ("along", "t", "lat", "lon"):
            forget_rows(getattr(self, name), slots, np.nan)

    def update(self, ctx: BatchContext, rows: np.ndarray, want: np.ndarray) -> np.ndarray:
        """(n, 2) running totals per row of `rows` (sorted by slot, time): metres along
        protected lines and reports inside corridors. Only `want` rows (slow enough to
        matter) are projected onto their line; the others pass the odometer on."""
        if not len(rows):
            return np.zeros((0, 2))
        s = ctx.slots[rows]
        self._grow(int(s.max()) + 1)
        line = ctx.corridor()[0][rows]
        inc = np.zeros((len(rows), 2))
        inc[:, 1] = line >= 0
        q = np.flatnonzero(want & (line >= 0))
        if len(q):
            inc[q, 0] = self._steps(ctx, rows[q], s[q], line[q])
        # running sums per slot, seeded with each slot's totals
        cs = np.cumsum(inc, axis=0)
        first = np.maximum.accumulate(np.where(group_starts(s), np.arange(len(s)), 0))
        out = self.odo[s] + cs - (cs[first] - inc[first])
        last = group_ends(s)
        self.odo[s[last]] = out[last]
        return out

    def _steps(self, ctx: BatchContext, rows: np.ndarray, s: np.ndarray, ln: np.ndarray):
        """Along-line difference between each measured foot and the track's previous one."""
        lines, r = ctx.world.lines, ctx.reports
        lat, lon, t = r.lat[rows], r.lon[rows], r.time[rows]
        near, _, al = lines.nearest(lat, lon, lines.corridor_m[ln])
        al = np.where(near == ln, al, np.nan)
        first = group_starts(s)
        p_line, p_al, p_t, p_lat, p_lon = (shifted(a) for a in (ln, al, t, lat, lon))
        f = s[first]  # the previous foot of a slot's first row is in the state
        p_line[first], p_al[first], p_t[first] = self.line[f], self.along[f], self.t[f]
        p_lat[first], p_lon[first] = self.lat[f], self.lon[f]
        d_al = al - p_al
        step = haversine_m(p_lat, p_lon, lat, lon)
        ok = (
            (p_line == ln) & np.isfinite(d_al) & (t - p_t <= MAX_STEP_S)
            & (np.abs(d_al) <= STEP_STRETCH * step + STEP_SLACK_M)
        )  # fmt: skip
        last = group_ends(s)
        ls = s[last]
        self.line[ls], self.along[ls], self.t[ls] = ln[last], al[last], t[last]
        self.lat[ls], self.lon[ls] = lat[last], lon[last]
        return np.where(ok, d_al, 0.0)


class StartValueSustain(Sustain):
    """`Sustain` that also remembers per-row values (the odometers) at each run's first row.

    Set `value` ((n, k), aligned with the rows) before each `update`; afterwards `v0`
    holds, per row, the values where its run began, and `start` the row its run began
    at in this batch (the slot's first row for a run carried from an earlier batch).
    """

    def __init__(self, grace_s: float = 0.0, max_gap_s: float = 1800.0, k: int = 2) -> None:
        super().__init__(grace_s, max_gap_s)
        self.k = k
        self.v0_state = np.zeros((0, k))
        self.value = np.zeros((0, k))
        self.v0 = np.zeros((0, k))
        self.start = np.zeros(0, np.int64)
        self.carried = np.zeros(0, bool)

    def update(self, slots, t, lat, lon, cond):  # type: ignore[override]
        n = len(slots)
        if n == 0:
            self.v0, self.start = np.zeros((0, self.k)), np.zeros(0, np.int64)
            self.carried = np.zeros(0, bool)
            return super().update(slots, t, lat, lon, cond)
        self._grow(int(slots.max()) + 1)
        if len(self.v0_state) < len(self.t0):
            grown = np.full((len(self.t0), self.k), np.nan)
            grown[: len(self.v0_state)] = self.v0_state
            self.v0_state = grown
        old_t0 = self.t0[slots].copy()
        t0, lat0, lon0, last_true = super().update(slots, t, lat, lon, cond)
        live = np.isfinite(t0)
        gs = group_starts(slots)
        idx = np.arange(n)
        prev_live = shifted(live) & ~gs
        prev_t0 = shifted(t0)
        opens = live & (gs | ~prev_live | (prev_t0 != t0))
        start = np.maximum.accumulate(np.where(opens, idx, 0))
        carried = live & gs[start] & np.isfinite(old_t0) & (t0 == old_t0)
        v = np.asarray(self.value, float).reshape(n, self.k)
        v0 = np.where(carried[:, None], self.v0_state[slots], v[start])
        v0[~live] = np.nan
        last = group_ends(slots)
        self.v0_state[slots[last]] = v0[last]
        self.v0, self.start, self.carried = v0, start, carried
        return t0, lat0, lon0, last_true

    def forget(self, slots: np.ndarray) -> None:
        """The run's start values too (`value`, `v0`, `start`, `carried` are this batch's
        rows, not slots)."""
        super().forget(slots)
        forget_rows(self.v0_state, slots, np.nan)

    def since_start(self, j: int) -> tuple[float, int]:
        """(metres along protected lines, reports inside corridors) since row j's run began."""
        d = self.value[j] - self.v0[j]
        return float(d[0]), int(np.rint(d[1]))


def along_km(progress_m: float) -> float:
    return round(abs(float(progress_m)) / 1000.0, 3)


class SlowTransit(SustainedDetector):
    """A slow vessel whose track follows a protected line: anchor drag along the asset.

    A run is a stretch of reports inside corridors at `min_speed_kn`-`max_speed_kn`,
    away from ports and anchorages, with lapses no longer than `grace_s`; the rule
    fires once the run's net progress along the asset reaches `min_along_m`, and
    holds until the run ends. The base run lives in `self.base`; the inherited
    machinery only sees "has gone the distance" and does the signalling.
    """

    kind = "maritime.anchor_drag"
    domain = Domain.MARITIME

    def __init__(self, th: SimpleNamespace):
        # the inherited run only mirrors the base run once it qualifies: no grace of its own
        super().__init__(SimpleNamespace(**vars(th), min_duration_s=0.0, min_distance_m=0.0))
        self.sus = Sustain(grace_s=0.0)
        self.base = StartValueSustain(grace_s=float(th.grace_s))
        self.fired_t0 = np.zeros(0)  # base-run start of a run that has qualified, per slot
        self.odo = np.zeros((0, 2))  # odometers per batch row, set by the caller before update
        self.latest: dict[int, dict[str, Any]] = {}  # slot -> its qualified run's latest figures
        self._cand = np.zeros(0, bool)
        self._ref_c = self._ref_i = np.zeros(0, np.int64)
        self._line = self._dist = self._v = np.zeros(0)
        self._b: dict[str, np.ndarray] = {}

    def forget(self, slots: np.ndarray) -> None:
        """The base run, its qualified start and latest figures too (`odo`, `_cand`, `_ref_*`,
        `_line`, `_dist`, `_v`, `_b` are this batch's rows)."""
        super().forget(slots)
        self.base.forget(slots)
        forget_rows(self.fired_t0, slots, np.nan)
        drop_slots(self.latest, slots)

    def candidates(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        view = View.of(ctx)
        v = view.speed_kn[rows]
        c = (view.line[rows] >= 0) & (v >= self.th.min_speed_kn) & (v <= self.th.max_speed_kn)
        idx = np.flatnonzero(c)
        if len(idx):
            r = ctx.reports
            c[idx[in_zone_kinds(ctx, r.lat[rows[idx]], r.lon[rows[idx]], PORT_KINDS)]] = False
        return c

    def rows(self, ctx: BatchContext) -> np.ndarray:
        """Only tracks with a candidate report or a run under way need the run machinery."""
        view = View.of(ctx)
        rows = view.tracks_of(view.rows, self.candidates(ctx, view.rows), np.isfinite(self.base.t0))
        self._cand = self.candidates(ctx, rows)
        return rows

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        s, t = ctx.slots[rows], r.time[rows]
        b = self.base
        b.value = self.odo[rows]
        t0, lat0, lon0, _ = b.update(s, t, r.lat[rows], r.lon[rows], self._cand)
        progress = b.value[:, 0] - b.v0[:, 0]
        self.fired_t0 = grown(self.fired_t0, len(b.t0), np.nan)
        idx = np.arange(len(rows))
        live = np.isfinite(t0)
        hit = live & (np.abs(progress) >= self.th.min_along_m)
        last_hit = np.maximum.accumulate(np.where(hit, idx, -1))
        earlier = b.carried & (self.fired_t0[s] == t0)  # qualified in an earlier batch
        ok = live & ((last_hit >= b.start) | earlier)
        last = group_ends(s)
        self.fired_t0[s[last]] = np.where(ok[last], t0[last], np.nan)
        # the reports evidence describes: the run's latest true one so far (in this batch),
        # else its latest one inside a corridor (a run that qualified on a slower step)
        view = View.of(ctx)
        line, dist = view.line[rows], view.dist[rows]
        inside = line >= 0
        ref_c = np.maximum.accumulate(np.where(self._cand, idx, -1))
        ref_i = np.maximum.accumulate(np.where(inside, idx, -1))
        self._ref_c = np.where(live & (ref_c >= b.start), ref_c, -1)
        self._ref_i = np.where(live & (ref_i >= b.start), ref_i, -1)
        self._b = {"rows": rows, "t0": t0, "lat0": lat0, "lon0": lon0, "progress": progress}
        self._line, self._dist, self._v = line, dist, view.speed_kn[rows]
        for j in last_per_slot(s, ok & self._cand).tolist():
            self.latest[int(s[j])] = self._figures(ctx, j)
        for j in last_per_slot(s, ok & inside).tolist():
            if self.latest.get(int(s[j]), {}).get("run") != t0[j]:
                self.latest[int(s[j])] = self._figures(ctx, j)
        return ok

    def _figures(self, ctx: BatchContext, j: int) -> dict[str, Any]:
        """The evidence figures of the run at position j of this batch's rows."""
        row = int(self._b["rows"][j])
        t0, progress = float(self._b["t0"][j]), float(self._b["progress"][j])
        lat0, lon0 = float(self._b["lat0"][j]), float(self._b["lon0"][j])
        r = ctx.reports
        dur = float(r.time[row]) - t0
        return {
            "run": t0,
            "along_km": along_km(progress),
            "since": iso(t0),
            "duration_s": round(dur, 1),
            "start": {"lat": lat0, "lon": lon0},
            "moved_m": round(float(haversine_m(lat0, lon0, r.lat[row], r.lon[row])), 1),
            "speed_kn": round(float(self._v[j]), 2),
            "mean_along_speed_kn": round(abs(progress) / max(dur, 1.0) / KNOT, 2),
            "nav_status": int(r.nav_status[row]),
            "infrastructure": infrastructure_evidence(
                ctx, int(self._line[j]), float(self._dist[j])
            ),
        }

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        j = int(np.searchsorted(self._b["rows"], row))
        kept = self.latest.get(slot, {})
        if self._ref_c[j] >= 0:
            ev = self._figures(ctx, int(self._ref_c[j]))
        elif kept.get("run") == self._b["t0"][j]:  # no true report yet in this batch
            ev = dict(kept)
        elif self._ref_i[j] >= 0:
            ev = self._figures(ctx, int(self._ref_i[j]))
        else:
            ev = {}
        ev.pop("run", None)
        name = ev.get("infrastructure", {}).get("name", "a protected line")
        ev["behaviour"] = f"slow transit along {name}"
        summary = (f"{label(ctx, slot)} has followed {name} for {ev.get('along_km', 0):.1f} km "
                   f"in {ev.get('duration_s', duration) / 60:.0f} min")  # fmt: skip
        return "critical", summary, ev

    def update(self, ctx: BatchContext) -> list[Signal]:
        out = super().update(ctx)
        if any(sig.ended for sig in out):
            final = {subject_name(ctx, sl): sl for sl in self.latest}
            for sig in out:
                sl = final.get(sig.subject)
                if not sig.ended or sl is None or self.latest[sl]["run"] == self.fired_t0[sl]:
                    continue  # (the figures of a run that has qualified since stay)
                ev = self.latest.pop(sl)  # the ended run's final distance along the asset
                sig.evidence.update(along_km=ev["along_km"], duration_s=ev["duration_s"])
        return out
