"""maritime.ais_gap: a vessel silent for longer than it should be where others are heard.

Class A transponders report every 2-10 s under way and every 3 min at anchor
(ITU-R M.1371), so ten minutes of silence from a vessel under way means
dozens of missed reports. Reception is learned from the picture itself (`ReceptionMap`):
a gap counts only where others kept being heard around the vessel's last
position throughout its silence (a coverage hole or a feed outage silences
everyone; a transponder switched off silences one). Gaps that begin in a
port or anchorage zone are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    in_zone_kinds,
    infrastructure_evidence,
    infrastructure_near,
    label,
    make_signal,
    th,
)
from picket.detect.reception import ReceptionMap
from picket.fusion.context import BatchContext
from picket.geo.geodesy import haversine_m
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain

KNOT = 1852 / 3600


@dataclass
class AisGapThresholds(Thresholds):
    underway_gap_s: float = th(
        600.0,
        "silence that counts as a gap for a vessel under way",
        "ITU-R M.1371: class A reports every 2-10 s under way (>=60 missed)",
    )
    stationary_gap_s: float = th(
        1800.0,
        "silence that counts for a vessel at anchor or moored",
        "ITU-R M.1371: every 3 min at anchor (10 missed)",
    )
    min_heard_per_bucket: float = th(
        120.0,
        "reports heard per 10 min around the gap (3 x 3 cells of 0.25 x 0.5 deg), on average "
        "over the silence, for reception to count as good",
        "picket: two class-A vessels under way (one report per 10 s each)",
    )
    check_every_s: float = th(30.0, "how often silence is checked (event time)", "picket")


class AisGap:
    kind = "maritime.ais_gap"

    def __init__(self, th: AisGapThresholds | None = None):
        self.th = th or AisGapThresholds()
        self.open: dict[int, dict[str, Any]] = {}  # slot -> gap start
        self._next_check = -np.inf
        self.reception = ReceptionMap()

    def _limit(self, ctx: BatchContext, slots: np.ndarray) -> np.ndarray:
        tc = ctx.tracks.cols
        st = tc["nav_status"][slots]
        still = (st == 1) | (st == 5) | (tc["speed"][slots] < 0.5 * KNOT)
        return np.where(still, self.th.stationary_gap_s, self.th.underway_gap_s)

    def _covered(self, lat, lon, t0, t1) -> np.ndarray:
        """Whether others were heard around each place during the silence."""
        return self.reception.heard(lat, lon, t0, t1) >= self.th.min_heard_per_bucket

    def _severity_and_infra(self, ctx: BatchContext, lat, lon) -> tuple[str, dict | None]:
        line, dist = infrastructure_near(ctx, np.atleast_1d(lat), np.atleast_1d(lon))
        if line[0] >= 0:
            return "critical", infrastructure_evidence(ctx, int(line[0]), float(dist[0]))
        return "warning", None

    def update(self, ctx: BatchContext) -> list[Signal]:
        out: list[Signal] = []
        now = ctx.env.get("now_by_domain", {}).get(int(Domain.MARITIME), ctx.now)
        r = ctx.reports
        tc = ctx.tracks.cols
        # 1. gaps that end in this batch (vessel heard again, or a gap seen only in hindsight)
        mrows = np.flatnonzero(ctx.has_pos & (r.domain == Domain.MARITIME))
        self.reception.add(r.lat[mrows], r.lon[mrows], r.time[mrows])
        if len(mrows):
            s = ctx.slots[mrows]
            dt = r.time[mrows] - ctx.prev_t[mrows]
            lim = self._limit(ctx, s)
            ends = np.flatnonzero((dt > lim) | np.isin(s, list(self.open)))
            first_of = {}
            for j in ends.tolist():
                first_of.setdefault(int(s[j]), j)
            for sl, j in first_of.items():
                row = int(mrows[j])
                gap = self.open.pop(sl, None)
                if gap is None:
                    if not dt[j] > lim[j]:
                        continue
                    gap = {"t": float(ctx.prev_t[row]), "lat": float(ctx.prev_lat[row]),
                           "lon": float(ctx.prev_lon[row])}  # fmt: skip
                    if in_zone_kinds(ctx, gap["lat"], gap["lon"], ("port", "anchorage"))[0]:
                        continue
                    if not self._covered(gap["lat"], gap["lon"], gap["t"], r.time[row])[0]:
                        continue
                    sev, infra = self._severity_and_infra(ctx, gap["lat"], gap["lon"])
                    ev0 = {"start": {"time": iso(gap["t"]), "lat": gap["lat"], "lon": gap["lon"]}}
                    if infra:
                        ev0["infrastructure"] = infra
                    out.append(make_signal(ctx, self.kind, sl, None, sev,
                                           f"{label(ctx, sl)} went silent (AIS gap)", ev0,
                                           t=gap["t"], lat=gap["lat"], lon=gap["lon"]))  # fmt: skip
                out.append(self._end_signal(ctx, sl, row, gap))
        # 2. vessels silent right now
        if now >= self._next_check:
            self._next_check = now + self.th.check_every_s
            n = ctx.tracks.n
            cand = np.flatnonzero(
                (tc["domain"][:n] == Domain.MARITIME) & np.isfinite(tc["pos_time"][:n])
            )
            cand = cand[[c not in self.open for c in cand.tolist()]] if self.open else cand
            if len(cand):
                silent = cand[(now - tc["last_time"][cand]) > self._limit(ctx, cand)]
                if len(silent):
                    silent = silent[~in_zone_kinds(ctx, tc["lat"][silent], tc["lon"][silent],
                                                   ("port", "anchorage"))]  # fmt: skip
                if len(silent):
                    t_last = tc["last_time"][silent]
                    ok = self._covered(tc["lat"][silent], tc["lon"][silent], t_last,
                                       np.full(len(silent), now))  # fmt: skip
                    silent = silent[ok]
                for sl in silent.tolist():
                    out.append(self._start_signal(ctx, sl, now))
            for sl, gap in self.open.items():  # still silent: keep the alert alive, say how long
                ev = {"silent_s": round(now - gap["t"], 1)}
                s = make_signal(ctx, self.kind, sl, None, "info", "", ev, t=now,
                                lat=gap["lat"], lon=gap["lon"])  # fmt: skip
                out.append(s)
        return out

    def _start_signal(self, ctx: BatchContext, sl: int, now: float) -> Signal:
        tc = ctx.tracks.cols
        lat, lon, t = float(tc["lat"][sl]), float(tc["lon"][sl]), float(tc["last_time"][sl])
        self.open[sl] = {"t": t, "lat": lat, "lon": lon}
        sev, infra = self._severity_and_infra(ctx, lat, lon)
        ev: dict[str, Any] = {
            "start": {"time": iso(t), "lat": lat, "lon": lon},
            "silent_s": round(now - t, 1),
            "expected_max_gap_s": float(self._limit(ctx, np.array([sl]))[0]),
            "thresholds": vars(self.th),
        }
        where = ""
        if infra:
            ev["infrastructure"] = infra
            where = f" inside the {infra['name']} corridor"
        summary = f"{label(ctx, sl)} silent for {(now - t) / 60:.0f} min{where}"
        return make_signal(ctx, self.kind, sl, None, sev, summary, ev, t=now, lat=lat, lon=lon)

    def _end_signal(self, ctx: BatchContext, sl: int, row: int, gap: dict) -> Signal:
        r = ctx.reports
        lat, lon, t = float(r.lat[row]), float(r.lon[row]), float(r.time[row])
        dist = float(haversine_m(gap["lat"], gap["lon"], lat, lon))
        ev: dict[str, Any] = {
            "start": {"time": iso(gap["t"]), "lat": gap["lat"], "lon": gap["lon"]},
            "end": {"time": iso(t), "lat": lat, "lon": lon},
            "gap_s": round(t - gap["t"], 1),
            "distance_m": round(dist, 1),
            "implied_speed_kn": round(dist / max(t - gap["t"], 1.0) / KNOT, 2),
        }
        sev, infra = self._severity_and_infra(ctx, gap["lat"], gap["lon"])
        if infra is None:
            sev, infra = self._severity_and_infra(ctx, lat, lon)
        lines = ctx.env.get("lines")
        if infra is None and lines is not None and len(lines):
            crossed = lines.crosses(
                np.array([gap["lat"]]), np.array([gap["lon"]]), np.array([lat]), np.array([lon])
            )
            if crossed[0] >= 0:
                sev = "critical"
                infra = {**infrastructure_evidence(ctx, int(crossed[0]), 0.0), "path_crosses": True}
        if infra:
            ev["infrastructure"] = infra
        summary = (f"{label(ctx, sl)} reappeared after {(t - gap['t']) / 60:.0f} min of silence, "
                   f"{dist / 1000:.1f} km away")  # fmt: skip
        s = make_signal(ctx, self.kind, sl, row, sev, summary, ev, ended=True)
        return s
