"""maritime.ais_gap: a vessel silent for longer than it should be where others are heard.

Class A transponders report every 2-10 s under way and every 3 min at anchor
(ITU-R M.1371), so ten minutes of silence from a vessel under way means
dozens of missed reports. Reception is learned from the picture itself (`ReceptionMap`):
a gap counts only where others kept being heard around the vessel's last
position throughout its silence (a coverage hole or a feed outage silences
everyone; a transponder switched off silences one). Gaps that begin in a
port or anchorage zone, or in a harbour learned from the traffic
(`picket.detect.harbours`), are ignored.

Where reception is patchy a silence is not a gap: each H3 cell learns how many of the
reports its vessels should send are heard (`ReliabilityMap`), and a silence counts only when
it is long enough that the place would normally have delivered `min_missed` of this vessel's
reports (its ITU-R M.1371 interval for its class, speed and status), and no shorter than the
under-way or at-anchor limit. Where the reliability is unknown, no gap is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    drop_slots,
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
from picket.detect.harbours import harbour_at
from picket.detect.reception import ReceptionMap, ReliabilityMap
from picket.fusion.context import BatchContext
from picket.geo.geodesy import haversine_m
from picket.model import domains
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
    cell_res: int = th(
        6,
        "H3 resolution of the reception-reliability cells (~36 km^2, edge ~3.7 km)",
        "fine enough to tell a shadowed river mouth (Southampton Water is 2 km wide) from "
        "the open water beside it; GFW and gpsjam grid the world the same way",
    )
    history_s: float = th(
        86_400.0,
        "a cell's reliability is learned over this much history before the silence",
        "GFW: an area's usual reception; one day covers the daily traffic cycle",
    )
    min_heard: float = th(
        50.0,
        "reports a cell must have heard for its reliability to count (else its neighbours "
        "answer: its H3 parent, then grandparent; none: reception unknown, no gap judged)",
        "picket: a reliability from 50 pairs is within ~+-0.15 (binomial); GFW judges gaps "
        "only in areas of known good reception",
    )
    min_missed: float = th(
        10.0,
        "a silence counts when the vessel's reports the place normally delivers in it reach "
        "this many (silence / the vessel's ITU-R interval x the cell's reliability)",
        "if reports arrived at random, missing 10 expected ones has a chance of e^-10 (5e-5); "
        "GFW's published gap events are far longer (12 h, satellite AIS)",
    )
    good_reliability: float = th(
        0.5,
        "gaps are judged only where at least this share of the vessel's due reports is "
        "heard (its own record, the cell as a prior): inside coverage, not at its edge",
        "GFW counts AIS gaps only in areas of good reception; at the edge of coverage AIS "
        "fades in bursts (terrain shadow, SOTDMA slot collisions in dense traffic, ITU-R "
        "M.2287), so a vessel heard less than half the time goes quiet for long stretches",
    )
    own_tau_s: float = th(
        1800.0,
        "a vessel's own reception (reports heard over reports due) is remembered with this "
        "time constant (exponential, in event time)",
        "picket: the last half hour tells how this vessel is heard here now (its antenna, "
        "class, the shadow it sails in); the cell tells how the place is heard",
    )
    prior_due: float = th(
        30.0,
        "the cell's reliability weighs as much as this many of the vessel's own reports due",
        "picket: a vessel under way owes 180 reports in 30 min, so its own record decides; "
        "one at anchor owes 10, so the place counts as much",
    )
    keep_open_s: float = th(
        domains.BY_CODE[Domain.MARITIME].forget_s,
        "a live gap's alert is kept open while the vessel stays silent, up to this long; "
        "then it is left to close (the book closes alerts quiet for 30 min) and the vessel "
        "has left the picture",
        "picket: the maritime limit after which a silent vessel is forgotten "
        "(model/domains.py forget_s, 7 days): a vessel that never returns must not hold an alert, "
        "and its track, for ever",
    )
    pair_cap_s: float = th(
        1800.0,
        "a pair of reports further apart than this adds only this much to a cell's reports due",
        "longer silences are gaps, departures or a vessel leaving coverage, not the place's "
        "usual reception (the stationary limit)",
    )


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
        self.last_msg = np.full(0, 0, np.int64)  # AIS message type: 18/19 is class B
        # per slot, its own reception: reports heard and due, decayed, as of its last report
        self.own_h = np.zeros(0)
        self.own_d = np.zeros(0)
        self.own_t = np.full(0, np.nan)
        self.reliability = ReliabilityMap(res=int(self.th.cell_res), bucket_s=300.0,
                                          keep_s=self.th.history_s)  # fmt: skip
        self._memo: dict[int, tuple[float, float, float]] = {}  # slot -> (t0, need, p)

    def forget(self, slots: np.ndarray) -> None:
        """Open gaps, judged silences and each vessel's last report and own reception record
        go; the reception and reliability maps count places, not vessels, and stay."""
        slots = np.asarray(slots, np.int64)
        drop_slots(self.open, slots)
        drop_slots(self._memo, slots)
        forget_rows(self.last_speed, slots, np.nan)
        forget_rows(self.last_status, slots, -1)
        forget_rows(self.last_msg, slots, 0)
        forget_rows(self.own_h, slots, 0.0)
        forget_rows(self.own_d, slots, 0.0)
        forget_rows(self.own_t, slots, np.nan)

    def _still(self, speed: np.ndarray, status: np.ndarray) -> np.ndarray:
        """At anchor or moored: by status, or below 0.5 kn, or below 1 kn with no status given
        (decoded CSV feeds carry none; the harbour learner's `still_kn`)."""
        return ((status == 1) | (status == 5) | (speed < 0.5 * KNOT)
                | ((status < 0) & (speed < 1.0 * KNOT)))  # fmt: skip

    def interval(self, speed: np.ndarray, status: np.ndarray, msg: np.ndarray) -> np.ndarray:
        """Seconds between a vessel's position reports (ITU-R M.1371-5, Table 1): class A
        every 3 min at anchor or moored, 10 s under way to 14 kn, 6 s to 23 kn, 2 s faster;
        class B (messages 18, 19) every 3 min to 2 kn, 30 s faster. Unknown class: A."""
        speed = np.asarray(speed, float)
        return self._interval(speed, self._still(speed, status), msg)

    @staticmethod
    def _interval(speed: np.ndarray, still: np.ndarray, msg: np.ndarray) -> np.ndarray:
        """`interval`, given whether each vessel is still (computed once per batch)."""
        kn = speed / KNOT
        a = np.where(kn > 23, 2.0, np.where(kn > 14, 6.0, 10.0))
        b = np.where(kn > 2, 30.0, 180.0)
        cls_b = (msg == 18) | (msg == 19)
        return np.where(cls_b, b, np.where(still, 180.0, a))

    def _need(self, lat: np.ndarray, lon: np.ndarray, t0: np.ndarray, base: np.ndarray,
              interval: np.ndarray, own_h: np.ndarray,
              own_d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Silence each vessel needs before it is a gap here, and the reliability it was
        judged on: its own record of reports heard over due, with the cell's reliability as a
        prior worth `prior_due` reports; the place must normally have delivered `min_missed`
        of its reports in the silence (inf where reception is unknown)."""
        cell, _ = self.reliability.reliability(lat, lon, t0, self.th.min_heard)
        m = self.th.prior_due
        p = np.where(np.isfinite(cell), (own_h + m * np.nan_to_num(cell)) / (own_d + m),
                     np.where(own_d >= m, own_h / np.maximum(own_d, 1e-9), np.nan))  # fmt: skip
        p = np.minimum(p, 1.0)
        good = np.isfinite(p) & (p >= self.th.good_reliability)
        need = np.where(good,
                        self.th.min_missed * interval / np.maximum(p, 1e-9), np.inf)  # fmt: skip
        return np.maximum(need, base), p

    def _limit(self, ctx: BatchContext, slots: np.ndarray, speed: np.ndarray | None = None,
               status: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Silence allowed per vessel, from its status and speed (the track's latest, or the
        ones it had when it went silent, given)."""
        tc = ctx.tracks.cols
        st = tc["nav_status"][slots] if status is None else status
        v = tc["speed"][slots] if speed is None else speed
        return self._allowed(self._still(v, st))

    def _allowed(self, still: np.ndarray) -> np.ndarray:
        """Silence allowed per vessel, given whether it is at anchor or moored."""
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

    def _judge(self, ctx: BatchContext, ok: np.ndarray, lat: np.ndarray, lon: np.ndarray,
               t0: np.ndarray, fire: np.ndarray) -> None:  # fmt: skip
        """Clear `ok` (in place) where others were not heard around the silence until it
        fired, or where it began in a learned harbour. Asked only of the rows still `ok`:
        the others are out whatever the answer (their silence is judged empty), and each
        answer is per point."""
        k = np.flatnonzero(ok)
        if len(k):
            ok[k] = self._covered(lat[k], lon[k], t0[k], fire[k])
        k = np.flatnonzero(ok)
        ok[k] = ~harbour_at(ctx, lat[k], lon[k], fire[k])  # asked even if empty: it learns

    def update(self, ctx: BatchContext) -> list[Signal]:
        out: list[Signal] = []
        now = ctx.world.now_of(Domain.MARITIME, ctx.now)
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
            # vessels silent longer than the reception map remembers have left the picture;
            # if they come back, the gap is judged in hindsight. Vessels not quiet for the
            # shorter limit pass neither: their own limit is looked up only for the rest
            quiet = now - tc["last_time"][cand]
            low = min(self.th.stationary_gap_s, self.th.underway_gap_s)
            maybe = (quiet > low) & (quiet < min(self.reception.keep_s, self.th.keep_open_s))
            cand, quiet = cand[maybe], quiet[maybe]
            if self.open and len(cand):
                shut = ~np.isin(cand, np.fromiter(self.open, np.int64, len(self.open)))
                cand, quiet = cand[shut], quiet[shut]
            if len(cand):
                silent = cand[quiet > self._limit(ctx, cand)]
                if len(silent):
                    silent = silent[~in_zone_kinds(ctx, tc["lat"][silent], tc["lon"][silent],
                                                   ("port", "anchorage"))]  # fmt: skip
                if len(silent):
                    # the gap fires when the silence passed what this vessel needs here,
                    # judged on what was heard until then: the same alert whichever batch or
                    # check first sees it
                    t0 = tc["last_time"][silent]
                    la, lo = tc["lat"][silent], tc["lon"][silent]
                    iv = self.interval(tc["speed"][silent], tc["nav_status"][silent],
                                       self._msg(silent))  # fmt: skip
                    need, p = self._need_live(ctx, silent, la, lo, t0, iv)
                    fire = t0 + need
                    ok = np.isfinite(need) & (now >= fire)
                    self._judge(ctx, ok, la, lo, t0, fire)
                    silent, fire, need, p, iv = silent[ok], fire[ok], need[ok], p[ok], iv[ok]
                if len(silent):
                    line, dist = infrastructure_near(ctx, tc["lat"][silent], tc["lon"][silent])
                    for k, sl in enumerate(silent.tolist()):
                        infra = (infrastructure_evidence(ctx, int(line[k]), float(dist[k]))
                                 if line[k] >= 0 else None)  # fmt: skip
                        out.append(self._start_signal(ctx, sl, float(fire[k]), infra,
                                                      float(need[k]), float(p[k]),
                                                      float(iv[k])))  # fmt: skip
            for sl, gap in list(self.open.items()):  # still silent: keep the alert alive
                if now - gap["t"] > self.th.keep_open_s:
                    del self.open[sl]  # gone for good: the alert goes quiet and closes
                    continue
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
        t = r.time[mrows]
        dt = t - ctx.prev_t[mrows]
        n_slots = int(s.max()) + 1
        ends = group_ends(s)
        # judged as the vessel was when it went silent: its report before the gap (in this
        # batch, or the last one of the batches before), not the track after the whole batch
        v, st = r.speed[mrows].astype(float), r.nav_status[mrows].astype(np.int64)
        self.last_speed = grown(self.last_speed, n_slots, np.nan)
        self.last_status = grown(self.last_status, n_slots, -1)
        pv, pst = self.last_speed[s], self.last_status[s]
        same = np.flatnonzero(~ends[:-1]) + 1  # rows after one of the same slot
        pv[same], pst[same] = v[same - 1], st[same - 1]
        pv = np.where(np.isfinite(pv), pv, v)
        pst = np.where(pst >= 0, pst, st)
        still = self._still(pv, pst)  # once for both: the silence allowed, the interval
        lim = self._allowed(still)
        msg = r.msg[mrows].astype(np.int64)
        iv = self._interval(pv, still, msg)
        # every pair of reports tells the place where it began how much it hears
        paired = np.isfinite(dt) & (dt > 0.5)
        due = np.where(paired, np.minimum(np.where(paired, dt, 0.0), self.th.pair_cap_s) / iv, 0.0)
        if paired.any():
            rp = mrows[paired]
            self.reliability.add(ctx.prev_lat[rp], ctx.prev_lon[rp], r.time[rp], due[paired])
        h_before, d_before = self._own_update(s, t, paired.astype(float), due, ends)
        e, ve, ste, me = s[ends], v[ends], st[ends], msg[ends]
        self.last_speed[e] = np.where(np.isfinite(ve), ve, self.last_speed[e])
        self.last_status[e] = np.where(ste >= 0, ste, self.last_status[e])
        self.last_msg = grown(self.last_msg, n_slots, 0)
        self.last_msg[e] = np.where(me > 0, me, self.last_msg[e])
        is_open = (np.isin(s, np.fromiter(self.open, np.int64, len(self.open))) if self.open
                   else np.zeros(len(s), bool))  # fmt: skip
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
        need = lim[j].astype(float)
        rel = np.full(len(j), np.nan)
        if hind.any():
            h = np.flatnonzero(hind)
            la, lo = ctx.prev_lat[rows[h]], ctx.prev_lon[rows[h]]
            ok = ~in_zone_kinds(ctx, la, lo, ("port", "anchorage"))
            t0 = ctx.prev_t[rows[h]]
            q = h[ok]  # as the live check would have judged them
            need[q], rel[q] = self._need(la[ok], lo[ok], t0[ok], lim[j][q], iv[j][q],
                                         h_before[j][q], d_before[j][q])  # fmt: skip
            ok &= dt[j][h] > need[h]
            self._judge(ctx, ok, la, lo, t0, t0 + need[h])
            hind[h[~ok]] = False
        keep = live | hind
        rows, slots, live = rows[keep], slots[keep], live[keep]
        if not len(rows):
            return []
        gaps = []
        fire = (ctx.prev_t[mrows[j]] + need)[keep].tolist()
        judged = [(round(float(a), 1), round(float(b), 3), float(c))
                  for a, b, c in zip(need[keep], rel[keep], iv[j][keep], strict=True)]  # fmt: skip
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
        lines = ctx.world.lines
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
                    "start": {"time": iso(gap["t"]), "lat": gap["lat"], "lon": gap["lon"]},
                    "expected_max_gap_s": judged[k][0],
                    "reception_reliability": judged[k][1],
                    "report_interval_s": judged[k][2],
                }
                if infra:
                    ev0["infrastructure"] = infra
                out.append(make_signal(ctx, self.kind, sl, None,
                                       "critical" if infra else "warning",
                                       f"{label(ctx, sl)} went silent (AIS gap)", ev0,
                                       t=gap["fire"], lat=gap["lat"], lon=gap["lon"]))  # fmt: skip
            out.append(self._end_signal(ctx, sl, row, gap, infra))
        return out

    def _need_live(self, ctx: BatchContext, silent: np.ndarray, la: np.ndarray, lo: np.ndarray,
                   t0: np.ndarray, iv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """`_need` for silent vessels, each judged once per silence (it depends only on what
        was heard before the silence began): a vessel gone for hours is not re-judged every
        check."""
        need, p = np.empty(len(silent)), np.empty(len(silent))
        memo = self._memo
        fresh = []
        for k, (sl, t) in enumerate(zip(silent.tolist(), t0.tolist(), strict=True)):
            m = memo.get(sl)
            if m is not None and m[0] == t:
                need[k], p[k] = m[1], m[2]
            else:
                fresh.append(k)
        if fresh:
            f = np.array(fresh)
            oh, od = self._own(silent[f])
            need[f], p[f] = self._need(la[f], lo[f], t0[f], self._limit(ctx, silent[f]), iv[f],
                                       oh, od)  # fmt: skip
            for k in fresh:
                memo[int(silent[k])] = (float(t0[k]), float(need[k]), float(p[k]))
        return need, p

    def _own_update(self, s: np.ndarray, t: np.ndarray, x_h: np.ndarray, x_d: np.ndarray,
                    ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Fold a batch's rows (sorted by slot, then time) into each vessel's decayed record of
        reports heard and due; return the record each row found before it (as of the report
        before it), which is what a silence ending at that row is judged on."""
        n = int(s.max()) + 1
        self.own_h = grown(self.own_h, n, 0.0)
        self.own_d = grown(self.own_d, n, 0.0)
        self.own_t = grown(self.own_t, n, np.nan)
        tau = self.th.own_tau_s
        first = np.empty(len(s), bool)  # first row of each run of equal slots
        first[0] = True
        first[1:] = ends[:-1]
        g = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))  # its run's first row
        prev = np.maximum(g - 1, 0)  # (s[g] is s: a run is one slot)
        tg = t[g]
        up = np.exp(np.clip((t - tg) / tau, -50.0, 600.0))
        down = 1.0 / up
        t_old = self.own_t[s]
        keep = np.where(np.isfinite(t_old), np.exp(-np.clip((tg - t_old) / tau, 0.0, 50.0)), 0.0)

        def fold(x: np.ndarray, old: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            c = np.cumsum(x * up)
            in_group = c - np.where(g > 0, c[prev], 0.0)
            o = old[s]
            after = down * (o * keep + in_group)
            before = np.empty(len(s))
            before[1:] = after[:-1]
            before[first] = o[first]
            return after, before

        h_after, h_before = fold(x_h, self.own_h)
        d_after, d_before = fold(x_d, self.own_d)
        e = s[ends]
        self.own_h[e], self.own_d[e], self.own_t[e] = h_after[ends], d_after[ends], t[ends]
        return h_before, d_before

    def _own(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each vessel's own reports heard and due, as of its last report (0 if none)."""
        h, d = np.zeros(len(slots)), np.zeros(len(slots))
        known = slots < len(self.own_h)
        h[known], d[known] = self.own_h[slots[known]], self.own_d[slots[known]]
        return h, d

    def _msg(self, slots: np.ndarray) -> np.ndarray:
        """Each vessel's last AIS message type (0 unknown)."""
        out = np.zeros(len(slots), np.int64)
        known = slots < len(self.last_msg)
        out[known] = self.last_msg[slots[known]]
        return out

    def _start_signal(self, ctx: BatchContext, sl: int, now: float, infra: dict | None,
                      need: float, p: float, interval: float) -> Signal:  # fmt: skip
        """`now` is when the silence passed what it needs here (last heard + need)."""
        tc = ctx.tracks.cols
        lat, lon, t = float(tc["lat"][sl]), float(tc["lon"][sl]), float(tc["last_time"][sl])
        self.open[sl] = {"t": t, "lat": lat, "lon": lon}
        sev = "critical" if infra else "warning"
        ev: dict[str, Any] = {
            "start": {"time": iso(t), "lat": lat, "lon": lon},
            "silent_s": round(now - t, 1),
            "expected_max_gap_s": round(need, 1),
            "report_interval_s": interval,
            "reception_reliability": round(p, 3),
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
