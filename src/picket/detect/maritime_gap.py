"""maritime.ais_gap: a vessel silent for longer than it should be where others are heard.

Class A transponders report every 2-10 s under way and every 3 min at anchor
(ITU-R M.1371), so ten minutes of silence from a vessel under way means
dozens of missed reports. Reception is learned from the picture itself (`ReceptionMap`):
a gap counts only where others kept being heard around the vessel's last
position throughout its silence (a coverage hole or a feed outage silences
everyone; a transponder switched off silences one). Gaps that begin in a
port or anchorage zone, or in a harbour learned from the traffic
(`picket.detect.harbours`), are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    group_ends,
    grown,
    in_zone_kinds,
    infrastructure_evidence,
    infrastructure_near,
    label,
    make_signal,
    th,
)
from picket.detect.harbours import harbour_at
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
        "over the whole 5-min buckets of the silence, for reception to count as good",
        "picket: two class-A vessels under way (one report per 10 s each)",
    )
    check_every_s: float = th(30.0, "how often silence is checked (event time)", "picket")


class AisGap:
    kind = "maritime.ais_gap"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)

    def __init__(self, th: AisGapThresholds | None = None):
        self.th = th or AisGapThresholds()
        self.open: dict[int, dict[str, Any]] = {}  # slot -> gap start
        self._next_check = -np.inf
        self.reception = ReceptionMap(bucket_s=300.0)
        self.last_speed = np.full(0, np.nan)  # per slot: speed and status of its last report
        self.last_status = np.full(0, -1, np.int64)

    def _limit(self, ctx: BatchContext, slots: np.ndarray, speed: np.ndarray | None = None,
               status: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Silence allowed per vessel, from its status and speed (the track's latest, or the
        ones it had when it went silent, given)."""
        tc = ctx.tracks.cols
        st = tc["nav_status"][slots] if status is None else status
        v = tc["speed"][slots] if speed is None else speed
        still = (st == 1) | (st == 5) | (v < 0.5 * KNOT)
        # no status given (decoded CSV feeds carry none): below 1 kn a vessel is not making
        # way (the harbour learner's `still_kn`): at anchor or moored, it reports every 3 min
        still |= (st < 0) & (v < 1.0 * KNOT)
        return np.where(still, self.th.stationary_gap_s, self.th.underway_gap_s)

    def _covered(self, lat, lon, t0, t1) -> np.ndarray:
        """Whether others were heard around each place while the vessel was silent.

        Only whole buckets after the one holding the vessel's last report and
        ended by `t1` count: the vessel's own reports stay out, a feed outage
        leaves them empty, and the answer is the same whenever it is asked
        (a bucket still filling is never judged).
        """
        b = self.reception.bucket_s
        first = np.floor(np.asarray(t0, float) / b) + 1
        last = np.floor(np.asarray(t1, float) / b) - 1
        rate = self.reception.heard(lat, lon, first * b, last * b) * (600.0 / b)
        return (last >= first) & (rate >= self.th.min_heard_per_bucket)

    def update(self, ctx: BatchContext) -> list[Signal]:
        out: list[Signal] = []
        now = ctx.env.get("now_by_domain", {}).get(int(Domain.MARITIME), ctx.now)
        r = ctx.reports
        tc = ctx.tracks.cols
        mrows = np.flatnonzero(ctx.has_pos & (r.domain == Domain.MARITIME))
        self.reception.add(r.lat[mrows], r.lon[mrows], r.time[mrows])
        if len(mrows):
            out.extend(self._ended(ctx, mrows))
        # 2. vessels silent right now
        if now >= self._next_check:
            self._next_check = now + self.th.check_every_s
            n = ctx.tracks.n
            cand = np.flatnonzero(
                (tc["domain"][:n] == Domain.MARITIME) & np.isfinite(tc["pos_time"][:n])
            )
            if self.open:
                cand = cand[~np.isin(cand, np.fromiter(self.open, np.int64, len(self.open)))]
            if len(cand):
                quiet = now - tc["last_time"][cand]
                # vessels silent longer than the reception map remembers have left the picture;
                # if they come back, the gap is judged in hindsight
                silent = cand[(quiet > self._limit(ctx, cand)) & (quiet < self.reception.keep_s)]
                if len(silent):
                    silent = silent[~in_zone_kinds(ctx, tc["lat"][silent], tc["lon"][silent],
                                                   ("port", "anchorage"))]  # fmt: skip
                if len(silent):
                    # the gap fires when the silence passed its limit, judged on what was heard
                    # until then: the same alert whichever batch or check first sees it
                    t0 = tc["last_time"][silent]
                    fire = t0 + self._limit(ctx, silent)
                    ok = self._covered(tc["lat"][silent], tc["lon"][silent], t0, fire)
                    ok &= ~harbour_at(ctx, tc["lat"][silent], tc["lon"][silent], fire)
                    silent, fire = silent[ok], fire[ok]
                if len(silent):
                    line, dist = infrastructure_near(ctx, tc["lat"][silent], tc["lon"][silent])
                    for k, sl in enumerate(silent.tolist()):
                        infra = (infrastructure_evidence(ctx, int(line[k]), float(dist[k]))
                                 if line[k] >= 0 else None)  # fmt: skip
                        out.append(self._start_signal(ctx, sl, float(fire[k]), infra))
            for sl, gap in self.open.items():  # still silent: keep the alert alive, say how long
                ev = {"silent_s": round(now - gap["t"], 1)}
                s = make_signal(ctx, self.kind, sl, None, "info", "", ev, t=now,
                                lat=gap["lat"], lon=gap["lon"])  # fmt: skip
                out.append(s)
        return out

    def _ended(self, ctx: BatchContext, mrows: np.ndarray) -> list[Signal]:
        """Gaps that end in this batch: live ones heard again, and ones seen only in hindsight.

        Every geographic question is asked once for the whole batch.
        """
        r = ctx.reports
        s = ctx.slots[mrows]
        dt = r.time[mrows] - ctx.prev_t[mrows]
        # judged as the vessel was when it went silent: its report before the gap (in this
        # batch, or the last one of the batches before), not the track after the whole batch
        v, st = r.speed[mrows].astype(float), r.nav_status[mrows].astype(np.int64)
        same = np.r_[False, s[1:] == s[:-1]]
        self.last_speed = grown(self.last_speed, int(s.max()) + 1, np.nan)
        self.last_status = grown(self.last_status, int(s.max()) + 1, -1)
        pv = np.where(same, np.r_[np.nan, v[:-1]], self.last_speed[s])
        pst = np.where(same, np.r_[-1, st[:-1]], self.last_status[s])
        pv = np.where(np.isfinite(pv), pv, v)
        lim = self._limit(ctx, s, pv, np.where(pst >= 0, pst, st))
        ends = group_ends(s)
        self.last_speed[s[ends]] = np.where(np.isfinite(v[ends]), v[ends], self.last_speed[s[ends]])
        self.last_status[s[ends]] = np.where(st[ends] >= 0, st[ends], self.last_status[s[ends]])
        is_open = np.isin(s, np.fromiter(self.open, np.int64, len(self.open)))
        cand = np.flatnonzero((dt > lim) | is_open)
        if not len(cand):
            return []
        first = np.ones(len(cand), bool)
        first[1:] = s[cand][1:] != s[cand][:-1]  # rows are sorted by slot: first row per slot
        j = cand[first]
        rows = mrows[j]
        slots = s[j]
        live = is_open[j]
        # hindsight gaps: start where the previous fix was, if reception stayed good meanwhile
        hind = ~live & (dt[j] > lim[j])
        if hind.any():
            h = np.flatnonzero(hind)
            la, lo = ctx.prev_lat[rows[h]], ctx.prev_lon[rows[h]]
            ok = ~in_zone_kinds(ctx, la, lo, ("port", "anchorage"))
            t0 = ctx.prev_t[rows[h]]
            ok &= self._covered(la, lo, t0, t0 + lim[j][h])  # as the live check would have
            ok &= ~harbour_at(ctx, la, lo, t0 + lim[j][h])
            hind[h[~ok]] = False
        keep = live | hind
        rows, slots, live = rows[keep], slots[keep], live[keep]
        if not len(rows):
            return []
        gaps = []
        fire = (ctx.prev_t[mrows[j]] + lim[j])[keep].tolist()
        for k, (sl, row, lv) in enumerate(zip(slots.tolist(), rows.tolist(), live.tolist(),
                                              strict=True)):  # fmt: skip
            if lv:
                gaps.append(self.open.pop(sl))
            else:
                gaps.append({"t": float(ctx.prev_t[row]), "lat": float(ctx.prev_lat[row]),
                             "lon": float(ctx.prev_lon[row]), "fire": fire[k]})  # fmt: skip
        g_lat = np.array([g["lat"] for g in gaps])
        g_lon = np.array([g["lon"] for g in gaps])
        e_lat, e_lon = r.lat[rows], r.lon[rows]
        line0, d0 = infrastructure_near(ctx, g_lat, g_lon)
        line1, d1 = (a[rows] for a in ctx.corridor())
        lines = ctx.env.get("lines")
        crossed = (lines.crosses(g_lat, g_lon, e_lat, e_lon) if lines is not None and len(lines)
                   else np.full(len(rows), -1))  # fmt: skip
        out = []
        for k, (sl, row, lv) in enumerate(zip(slots.tolist(), rows.tolist(), live.tolist(),
                                              strict=True)):  # fmt: skip
            gap = gaps[k]
            if line0[k] >= 0:
                infra = infrastructure_evidence(ctx, int(line0[k]), float(d0[k]))
            elif line1[k] >= 0:
                infra = infrastructure_evidence(ctx, int(line1[k]), float(d1[k]))
            elif crossed[k] >= 0:
                infra = {**infrastructure_evidence(ctx, int(crossed[k]), 0.0), "path_crosses": True}
            else:
                infra = None
            if not lv:  # opened and closed at once: the silence was only seen in hindsight
                ev0: dict[str, Any] = {
                    "start": {"time": iso(gap["t"]), "lat": gap["lat"], "lon": gap["lon"]}
                }
                if infra:
                    ev0["infrastructure"] = infra
                out.append(make_signal(ctx, self.kind, sl, None,
                                       "critical" if infra else "warning",
                                       f"{label(ctx, sl)} went silent (AIS gap)", ev0,
                                       t=gap["fire"], lat=gap["lat"], lon=gap["lon"]))  # fmt: skip
            out.append(self._end_signal(ctx, sl, row, gap, infra))
        return out

    def _start_signal(self, ctx: BatchContext, sl: int, now: float, infra: dict | None) -> Signal:
        """`now` is when the silence passed its limit (last heard + limit)."""
        tc = ctx.tracks.cols
        lat, lon, t = float(tc["lat"][sl]), float(tc["lon"][sl]), float(tc["last_time"][sl])
        self.open[sl] = {"t": t, "lat": lat, "lon": lon}
        sev = "critical" if infra else "warning"
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

    def _end_signal(
        self, ctx: BatchContext, sl: int, row: int, gap: dict, infra: dict | None
    ) -> Signal:
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
        if infra:
            ev["infrastructure"] = infra
        summary = (f"{label(ctx, sl)} reappeared after {(t - gap['t']) / 60:.0f} min of silence, "
                   f"{dist / 1000:.1f} km away")  # fmt: skip
        sev = "critical" if infra else "warning"
        return make_signal(ctx, self.kind, sl, row, sev, summary, ev, ended=True)
