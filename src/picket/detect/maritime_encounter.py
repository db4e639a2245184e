"""maritime.encounter: two vessels side by side at low speed for a long time.

Global Fishing Watch defines an encounter as two vessels within 500 m for at
least 2 h at a median speed below 2 kn, away from ports. That is a forensic
definition; for warning picket raises at a shorter live threshold (30 min by
default) and marks in the evidence when the GFW definition is met. "Away from ports":
vessels inside `port`/`anchorage` zones or harbours learned from the traffic
(`picket.detect.harbours`) are never paired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    Ticker,
    forget_rows,
    group_ends,
    grown,
    in_zone_kinds,
    infrastructure_evidence,
    infrastructure_near,
    label,
    make_signal,
    th,
)
from picket.detect.harbours import harbour_at, learner_of
from picket.fusion.context import BatchContext
from picket.geo.geodesy import geodetic_to_ecef, haversine_m
from picket.geo.near_grid import close_pairs
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain

KNOT = 1852 / 3600


@dataclass
class EncounterThresholds(Thresholds):
    max_distance_m: float = th(500.0, "vessels within this distance", "Global Fishing Watch")
    max_speed_kn: float = th(2.0, "both slower than this", "Global Fishing Watch (median < 2 kn)")
    live_min_duration_s: float = th(
        1800.0,
        "raise after this long (early warning)",
        "picket: a quarter of GFW's 2 h, for live warning",
    )
    gfw_min_duration_s: float = th(
        7200.0, "GFW's own minimum; flagged in the evidence", "Global Fishing Watch (2 h)"
    )
    max_report_age_s: float = th(600.0, "positions older than this are not compared", "picket")
    check_every_s: float = th(
        120.0,
        "how often pairs are looked for (event time)",
        "picket: 2-min sampling of a >= 30-min condition",
    )


PAIR_KEY = 1 << 31  # pair (a, b) of track slots, a < b, as one int64
N_SPEEDS = 60  # checks kept for the median speed (the last 2 h at 2 min: GFW's duration)


def _no_pairs() -> dict[str, np.ndarray]:
    """An empty pair table, holding one key that matches no pair (so lookups need no guard)."""
    e = np.full(1, -np.inf)
    return {"key": np.full(1, -1, np.int64), "t0": e, "seen": e, "min_d": e,
            "fired": np.zeros(1, bool), "signalled": e,
            "speeds": np.full((1, N_SPEEDS), np.nan, np.float32)}  # fmt: skip


class Encounter:
    """Pairs are looked for at fixed event-time ticks (every `check_every_s`), on each
    vessel's last report at or before the tick, however the reports were batched."""

    kind = "maritime.encounter"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)
    # a firing pair's evidence is refreshed at most this often (the alert stays open)
    resignal_s = 600.0

    def __init__(self, th: EncounterThresholds | None = None):
        self.th = th or EncounterThresholds()
        self.state = _no_pairs()  # the pairs being followed, sorted by key
        self.ticker = Ticker(self.th.check_every_s, self.th.max_report_age_s)
        self._newest = -np.inf  # newest report applied to the state
        # each vessel's last position, its time, and last reported speed, as of the last tick
        self.t = np.full(0, np.nan)
        self.lat = np.full(0, np.nan)
        self.lon = np.full(0, np.nan)
        self.speed = np.full(0, np.nan)

    def _grow(self, n: int) -> None:
        for name in ("t", "lat", "lon", "speed"):
            setattr(self, name, grown(getattr(self, name), n, np.nan))

    def forget(self, slots: np.ndarray) -> None:
        """Each vessel's last position and speed go, and every followed pair with one of
        `slots` in it (a fired pair goes without an end signal: its alert, on the other
        vessel, closes when quiet). The ticker and the newest report time are not per slot."""
        slots = np.asarray(slots, np.int64)
        for name in ("t", "lat", "lon", "speed"):
            forget_rows(getattr(self, name), slots, np.nan)
        if self._idle() or not len(slots):
            return
        key = self.state["key"]
        keep = ~(np.isin(key // PAIR_KEY, slots) | np.isin(key % PAIR_KEY, slots))
        if keep.all():
            return
        self.state = ({k: v[keep] for k, v in self.state.items()} if keep.any()
                      else _no_pairs())  # fmt: skip

    def _apply(self, ctx: BatchContext, rows: np.ndarray) -> None:
        """Move each vessel's state to its last report among `rows` (sorted by slot, time)."""
        if not len(rows):
            return
        r, s = ctx.reports, ctx.slots[rows]
        last = group_ends(s)
        sl, j = s[last], rows[last]
        self.t[sl], self.lat[sl], self.lon[sl] = r.time[j], r.lat[j], r.lon[j]
        v = np.isfinite(r.speed[rows])
        if v.any():
            sv, jv = s[v], rows[v]
            lv = group_ends(sv)
            self.speed[sv[lv]] = r.speed[jv[lv]]
        self._newest = max(self._newest, float(r.time[rows].max()))

    def _ticks(self, t: np.ndarray, now: float) -> np.ndarray:
        """Ticks due up to `now` at which some vessel has a fresh enough report."""
        known = np.concatenate((t, [self._newest])) if np.isfinite(self._newest) else t
        known = np.sort(known)
        ticks = self.ticker.due(float(t.min()), now, known)
        if not len(ticks):
            return ticks
        i = np.searchsorted(known, ticks, side="right") - 1
        fresh = (i >= 0) & (known[np.maximum(i, 0)] >= ticks - self.th.max_report_age_s)
        return ticks[fresh]

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier & (r.domain == Domain.MARITIME))
        self._grow(ctx.tracks.n)
        if not len(rows):
            return []
        learner_of(ctx)  # harbours learn from every batch, whether or not a tick asks them
        now = ctx.world.now_of(Domain.MARITIME, ctx.now)
        t = r.time[rows]
        ticks = self._ticks(t, now)
        out: list[Signal] = []
        if len(ticks):  # the vessels any of this batch's ticks can look at
            n = ctx.tracks.n
            recent = self.t[:n] >= ticks[0] - self.th.max_report_age_s
            recent[ctx.slots[rows]] = True
            pool = np.flatnonzero(recent & (ctx.tracks.cols["domain"][:n] == Domain.MARITIME))
            if self._idle() and self._slow_bound(ctx, rows, pool) < 2:
                ticks = ticks[:0]  # no tick can pair anyone: the state just moves on
        # rows in time order: each tick applies the next stretch (back in slot order)
        o = np.argsort(t, kind="stable")
        by_time, ends = rows[o], np.searchsorted(t[o], ticks, side="right").tolist()
        start = 0
        for tk, end in zip(ticks.tolist(), ends, strict=True):
            self._apply(ctx, np.sort(by_time[start:end]))
            start = max(start, end)
            out.extend(self._check(ctx, tk, pool))
        self._apply(ctx, np.sort(by_time[start:]))
        return out

    def _idle(self) -> bool:
        """No pair is being followed."""
        return len(self.state["key"]) == 1 and self.state["key"][0] < 0

    def _slow_bound(self, ctx: BatchContext, rows: np.ndarray, pool: np.ndarray) -> int:
        """How many vessels of `pool` could be slow at some tick of this batch (slow now, or
        slow in one of the batch's reports): below 2 no tick has a pair to look at."""
        slow = self.th.max_speed_kn * KNOT
        v = ctx.reports.speed[rows]
        now_slow = pool[self.speed[pool] < slow]
        return len(np.union1d(now_slow, ctx.slots[rows][v < slow]))

    def _check(self, ctx: BatchContext, now: float, pool: np.ndarray) -> list[Signal]:
        """One tick: the close slow pairs now against the pairs already being followed,
        as arrays (a harbour holds thousands of side-by-side pairs)."""
        n = ctx.tracks.n
        lat, lon, speed = self.lat[:n], self.lon[:n], self.speed[:n]
        cand = pool[
            (self.t[pool] >= now - self.th.max_report_age_s)
            & (speed[pool] < self.th.max_speed_kn * KNOT)
        ]
        st = self.state
        idle = self._idle()
        if len(cand) < 2 and idle:
            return []  # nobody to pair (before the zone lookups: most ticks stop here)
        if len(cand):
            cand = cand[~in_zone_kinds(ctx, lat[cand], lon[cand], ("port", "anchorage"))]
        if len(cand):
            cand = cand[~harbour_at(ctx, lat[cand], lon[cand], now)]
        if len(cand) < 2 and idle:
            return []  # nobody to pair, nobody being followed
        ij = np.zeros((0, 2), np.int64)
        if len(cand) >= 2:
            xyz = np.column_stack(geodetic_to_ecef(lat[cand], lon[cand], 0))
            ij = close_pairs(xyz, self.th.max_distance_m)
        ci, cj = cand[ij[:, 0]], cand[ij[:, 1]]
        keys = np.sort(np.minimum(ci, cj) * PAIR_KEY + np.maximum(ci, cj))  # unique pairs
        a_, b_ = keys // PAIR_KEY, keys % PAIR_KEY
        out: list[Signal] = []
        # pairs that came apart: close the ones that had fired (both key lists sorted)
        at = np.minimum(np.searchsorted(keys, st["key"]), max(len(keys) - 1, 0))
        gone = keys[at] != st["key"] if len(keys) else np.ones(len(st["key"]), bool)
        for k in np.flatnonzero(gone & st["fired"]).tolist():
            out.append(make_signal(ctx, self.kind, int(st["key"][k] // PAIR_KEY), None, "info",
                                   "", {"ended": iso(now)}, ended=True, t=now))  # fmt: skip
        pos = np.minimum(np.searchsorted(st["key"], keys), len(st["key"]) - 1)
        known = st["key"][pos] == keys
        # a pair not seen at the previous check (or after a silence) starts over
        goes_on = known & (now - st["seen"][pos] <= 2 * self.th.check_every_s + 1)
        dist = haversine_m(lat[a_], lon[a_], lat[b_], lon[b_])
        spd = np.fmax(speed[a_], speed[b_]) / KNOT
        hist = np.where(goes_on[:, None], st["speeds"].take(pos, axis=0), np.nan)  # take: rows
        hist = np.concatenate([hist[:, 1:], spd[:, None]], axis=1, dtype=np.float32)
        new = {
            "key": keys,
            "t0": np.where(goes_on, st["t0"][pos], now),
            "seen": np.full(len(keys), now),
            "min_d": np.where(goes_on, np.fmin(st["min_d"][pos], dist), dist),
            "fired": goes_on & st["fired"][pos],
            "signalled": np.where(goes_on, st["signalled"][pos], -np.inf),
            "speeds": hist,
        }
        self.state = new if len(keys) else _no_pairs()
        dur = now - new["t0"]
        due = (dur >= self.th.live_min_duration_s) & (
            ~new["fired"] | (now - new["signalled"] >= self.resignal_s)
        )
        f = np.flatnonzero(due)
        if not len(f):
            return out
        new["fired"][f] = True
        new["signalled"][f] = now
        mlat = (lat[a_[f]] + lat[b_[f]]) / 2
        mlon = (lon[a_[f]] + lon[b_[f]]) / 2
        line, ld = infrastructure_near(ctx, mlat, mlon)  # one vectorised lookup for all pairs
        med = np.nanmedian(hist[f], axis=1)
        for i, k in enumerate(f.tolist()):
            a, b = int(a_[k]), int(b_[k])
            d = float(dist[k])
            ev: dict[str, Any] = {
                "other": label(ctx, b),
                "since": iso(float(new["t0"][k])),
                "duration_s": round(float(dur[k]), 1),
                "distance_m": round(d, 1),
                "min_distance_m": round(float(new["min_d"][k]), 1),
                "median_speed_kn": round(float(med[i]), 2),
                "gfw_definition_met": bool(dur[k] >= self.th.gfw_min_duration_s),
                "thresholds": vars(self.th),
            }
            sev = "warning"
            if line[i] >= 0:
                ev["infrastructure"] = infrastructure_evidence(ctx, int(line[i]), float(ld[i]))
                sev = "critical"
            summary = (f"{label(ctx, a)} and {label(ctx, b)} side by side ({d:.0f} m) at low "
                       f"speed for {dur[k] / 60:.0f} min")  # fmt: skip
            out.append(make_signal(ctx, self.kind, a, None, sev, summary, ev, t=now,
                                   lat=float(mlat[i]), lon=float(mlon[i])))  # fmt: skip
        return out
