"""air.loitering: orbits and racetracks, the holding pattern of ISR and AEW aircraft.

An aircraft in transit turns a little and then back; one holding over an area
keeps turning the same way. So the rule is the *net signed* turn of its ground
track: once it reaches a full 360 deg within `window_s` while every position of
that stretch stays within `max_radius_m` of their centre, the track is loitering.
Circles (orbits) and racetracks (two 180 deg turns the same way) both qualify,
S-turns and zig-zags cancel out. Tracks are sampled every `sample_s` per
aircraft, turns are the bearing changes between consecutive samples (so the
course field is not needed), and steps shorter than `min_step_m` or slower than
`min_speed_ms` are skipped: a hovering drone's position noise and a taxiing
aircraft's turns have no flight direction. The stretch must also spread at least
`min_radius_m` from its centre (a turn tighter than a standard-rate turn at the
slowest counted speed is no flight orbit).

Aerodrome traffic is no loiter: reports on the ground (`on_ground_rows`) end an
activity and start the next one afresh, positions inside an airport's traffic zone
(the airports layer) or an `airport` zone are ignored (circuits, holding stacks).

A racetrack is not an orbit: when the window's largest continuous turn (no straight leg,
`air_loiter_kernels.shapes`) stays under `orbit_arc_deg`, its net turn came from legs and
180 deg reversals; flown at airliner speed within `terminal_radius_m` of an airport with
airline service, that is ATC holding and opens nothing (docs/air_detectors.md, "Holding is
not loitering").

One orbiting activity is one alert: it opens at the first full turn, carries its
circuits and duration (updated every `resignal_s`), and closes only when the
aircraft lands, goes silent for `silence_s`, or holds no full turn for `quiet_s`.
Known-benign emitter categories (gliders thermalling, balloons, hang-gliders:
ADS-B category B1, B2, B4) are reported at `info`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.air_rules import in_aerodrome_traffic, on_ground_rows
from picket.detect.base import (
    Sampler,
    Thresholds,
    Ticker,
    drop_slots,
    group_ends,
    identity,
    in_zone_kinds,
    label,
    make_signal,
    th,
)
from picket.fusion.context import BatchContext
from picket.geo.airports import airports_of
from picket.geo.geodesy import EARTH_RADIUS_M, angle_diff_deg, haversine_m, initial_bearing_deg
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain


def _kernels() -> Any:
    """The compiled loops, imported on first use (numba is heavy; AIS-only runs skip it)."""
    from picket.detect import air_loiter_kernels

    return air_loiter_kernels


BENIGN = {"B1": "glider/sailplane", "B2": "lighter-than-air", "B4": "ultralight/hang-glider"}


@dataclass
class AirLoiterThresholds(Thresholds):
    min_turn_deg: float = th(360.0, "net turn of the ground track, one way", "issue #4 (>= 360)")
    window_s: float = th(
        3600.0,
        "... within this long",
        "picket: one circuit of a 100 km racetrack at 90 m/s takes ~40 min",
    )
    max_radius_m: float = th(
        60_000.0,
        "every position within this distance of the stretch's centre",
        "picket: ISR racetracks are tens of km long; airways never close a circle",
    )
    min_radius_m: float = th(
        250.0,
        "... and at least one this far from it (tighter is a vehicle turning on the ground)",
        "standard-rate turn, 3 deg/s (ICAO Doc 8168): radius v/omega = 286 m at 15 m/s",
    )
    sample_s: float = th(10.0, "one position per aircraft per this many seconds", "picket")
    min_step_m: float = th(
        150.0,
        "shorter steps between samples carry no direction and are skipped",
        "picket: above ADS-B NACp 8 (< 93 m) and radar plot noise",
    )
    min_speed_ms: float = th(
        15.0,
        "steps slower than this (distance over time between samples) carry no turn",
        "30 kn: above taxi speeds (Boeing 737 FCTM: ~20 kn, 10 kn in turns), below any "
        "orbiting aircraft (helicopters orbit at 60-90 kn)",
    )
    quiet_s: float = th(
        1800.0,
        "an activity closes after this long without a full turn in the window",
        "picket: a repositioning leg between orbit boxes of one sortie (~200 km at 100 m/s) "
        "takes under 30 min; also the alert book's quiet close",
    )
    silence_s: float = th(
        900.0,
        "... or after this long without a position (landed out of coverage, or gone)",
        "picket: longer than an orbit's far side hidden behind terrain (a 20 km orbit at "
        "70 m/s takes 30 min a circuit, half of it at most out of sight is rare)",
    )
    resignal_s: float = th(
        600.0, "an open activity's circuits and duration are refreshed this often", "picket"
    )
    check_every_s: float = th(60.0, "tracks re-judged this often (event time)", "picket")
    straight_dps: float = th(
        0.1,
        "a stretch of track turning slower than this (deg/s, over ~1 min) is a straight leg",
        "the widest navaid orbit, a 25 NM DME arc at 250 kt, turns 0.16 deg/s; a leg's wind "
        "corrections stay within a few degrees a minute (ICAO Doc 8168 drift correction)",
    )
    straight_s: float = th(
        30.0,
        "... judged over this long, centred on each turn",
        "half a holding pattern's shortest leg (1 min at or below 14,000 ft, ICAO Doc 8168), "
        "three samples at `sample_s`",
    )
    orbit_arc_deg: float = th(
        270.0,
        "one continuous turn, without a straight leg, this large makes the window an orbit",
        "a holding or racetrack joins its legs by 180 deg turns (ICAO Doc 8168 holding: "
        "1-1.5 min legs, 180 deg rate-one turns; up to ~210 deg in wind or on a teardrop "
        "entry); a circle or a navaid calibration orbit turns on for 270 deg and more",
    )
    holding_speed_ms: float = th(
        75.0,
        "... flown at this mean ground speed or faster (slower: a helicopter or light "
        "aircraft working over one place, e.g. a TV relay, which is loitering)",
        "145 kt: IFR traffic holds at Category B-D speeds (ICAO Doc 8168 initial approach "
        "speeds, Cat B 120-180 kt, Cat C 160-240 kt; airliners hold at 200-230 kt)",
    )
    terminal_radius_m: float = th(
        60_000.0,
        "a racetrack (no orbit) centred this close to an airport with airline service is "
        "ATC holding, not loitering; farther out (an ISR or AEW track) it is loitering",
        "terminal control areas reach 30-50 NM from their airport and holding fixes lie "
        "inside them (ICAO Annex 11 / Doc 8168; e.g. the London TMA stacks, 10-25 NM out); "
        "airline service: an IATA code in airportsdata",
    )


class AirLoitering:
    kind = "air.loitering"
    # the window's per-sample columns, kept aligned and sorted by (slot, time)
    _SAMPLE_COLS = ("slot", "t", "lat", "lon", "ground", "n_ok", "n_brg", "n_step", "n_dt",
                    "rlat", "coslat", "ux", "uy", "uz", "gturn")  # fmt: skip

    def __init__(self, th: AirLoiterThresholds | None = None):
        self.th = th or AirLoiterThresholds()
        self.slot = np.empty(0, np.int64)
        self.t = np.empty(0)
        self.lat = np.empty(0)
        self.lon = np.empty(0)
        self.ground = np.empty(0, bool)  # a sample on the ground: the sortie before it is over
        # per sample, its step to the next sample of its slot (`_sort_and_pair`)
        self.n_ok = np.empty(0, bool)
        self.n_brg = np.empty(0)
        self.n_step = np.empty(0)
        self.n_dt = np.empty(0)
        self.rlat = self.coslat = self.ux = self.uy = self.uz = np.empty(0)
        # per sample with a step, its turn from the slot's previous step (`_sort_and_pair`)
        self.gturn = np.empty(0)
        # open activities: slot -> since, last_true, turn (net deg), turn_t, last_signal, ...
        self.active: dict[int, dict[str, Any]] = {}
        # slot -> when its last activity closed: samples up to then never open another one
        self.cut: dict[int, float] = {}
        self._closed: list[int] = []  # slots whose activity closed at the tick being judged
        self.sampler = Sampler(self.th.sample_s)
        self.ticker = Ticker(self.th.check_every_s, self.th.window_s)

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        th = self.th
        rows, _ = self.sampler.rows(ctx, Domain.AIR)
        if len(rows):
            ground = on_ground_rows(ctx, rows)
            away = ~in_zone_kinds(ctx, r.lat[rows], r.lon[rows], ("airport",))
            away &= ~in_aerodrome_traffic(ctx, rows)
            keep = ground | away
            rows, ground = rows[keep], ground[keep]
            self.slot = np.concatenate([self.slot, ctx.slots[rows]])
            self.t = np.concatenate([self.t, r.time[rows]])
            self.lat = np.concatenate([self.lat, r.lat[rows]])
            self.lon = np.concatenate([self.lon, r.lon[rows]])
            self.ground = np.concatenate([self.ground, ground])
            self._sort_and_pair()
        if not len(self.t):
            return []
        now = ctx.world.now_of(Domain.AIR, ctx.now)
        ticks = self.ticker.due(float(self.t.min()), now, self.t)
        out = self._judge_ticks(ctx, ticks) if len(ticks) else []
        self._keep(self.t >= min(now, self.ticker.done + th.check_every_s) - th.window_s)
        old = min(now, self.ticker.done) - th.window_s
        self.cut = {k: v for k, v in self.cut.items() if v >= old}
        return out

    def _keep(self, keep: np.ndarray) -> None:
        """Keep the window's samples where `keep`, every per-sample column alike (a
        subsequence: still sorted by (slot, time))."""
        for name in self._SAMPLE_COLS:
            setattr(self, name, getattr(self, name)[keep])

    def forget(self, slots: np.ndarray) -> None:
        """The slots' samples leave the window (whole runs of a slot: steps pair samples of
        one slot only, so the others' steps and turns hold), their open activity and cut go,
        the sampler takes their next report. The ticker is event time, not per slot;
        `_closed` is empty between batches."""
        if not len(slots):
            return
        self.sampler.forget(slots)
        gone = np.isin(self.slot, slots)
        if gone.any():
            self._keep(~gone)
        drop_slots(self.active, slots)
        drop_slots(self.cut, slots)

    def _sort_and_pair(self) -> None:
        """Keep the samples sorted by (slot, time) and each one's step to the next sample of
        its slot measured once (long and fast enough to carry a direction, and its bearing),
        so the ticks only select and sum: a sample stays in the window for an hour of ticks."""
        o = np.lexsort((self.t, self.slot))
        self.slot, self.t, self.lat, self.lon = (
            self.slot[o], self.t[o], self.lat[o], self.lon[o])  # fmt: skip
        self.ground = self.ground[o]
        n = len(self.t)
        # per sample: latitude in radians, its cosine and the unit vector (the spread)
        self.rlat = np.radians(self.lat)
        clon = np.radians(self.lon)
        self.coslat = np.cos(self.rlat)
        self.ux, self.uy = self.coslat * np.cos(clon), self.coslat * np.sin(clon)
        self.uz = np.sin(self.rlat)
        self.n_ok = np.zeros(n, bool)
        self.n_brg = np.zeros(n)
        self.n_step = np.zeros(n)
        self.n_dt = np.ones(n)
        self.gturn = np.zeros(n)
        if n < 2:
            return
        la, lo, t = self.lat, self.lon, self.t
        step = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])
        dt = np.maximum(t[1:] - t[:-1], 1e-3)
        ok = (self.slot[1:] == self.slot[:-1]) & (step >= self.th.min_step_m)
        ok &= step / dt >= self.th.min_speed_ms
        self.n_ok[:-1] = ok
        bi = np.flatnonzero(ok)
        self.n_brg[bi] = initial_bearing_deg(la[bi], lo[bi], la[bi + 1], lo[bi + 1])
        self.n_step[:-1] = step
        self.n_dt[:-1] = dt
        if len(bi) > 1:  # each step's turn from the previous step of its slot
            same = self.slot[bi[1:]] == self.slot[bi[:-1]]
            b1, b0 = bi[1:][same], bi[:-1][same]
            self.gturn[b1] = angle_diff_deg(self.n_brg[b1], self.n_brg[b0])

    def turns(self, inside: np.ndarray) -> dict[str, np.ndarray]:
        """Per slot in the window, after its last ground sample: net signed turn (deg), spread
        from the centre (m), samples, first and last sample time, last ground time; and every
        turn with its time (for an open activity's running total). One window at a time, as
        the ticks were judged before `_windows`: the reference of tests/test_air_loiter_fast.py
        and the per-window view of tests/test_holding_racetrack.py."""
        o = np.flatnonzero(inside)  # the samples are kept sorted by (slot, time)
        s_all, t_all, g_all = self.slot[o], self.t[o], self.ground[o]
        new = np.ones(len(s_all), bool)  # sorted by slot: a slot's run starts where it changes
        new[1:] = s_all[1:] != s_all[:-1]
        slots = s_all[new]
        si = np.cumsum(new) - 1
        landed = np.full(len(slots), -np.inf)
        if g_all.any():
            np.maximum.at(landed, si[g_all], t_all[g_all])
        cut = np.array([self.cut.get(int(x), -np.inf) for x in slots.tolist()])
        # the sortie in progress: after its last ground sample and its last closed activity
        air = t_all > np.maximum(landed, cut)[si]
        o = o[air]
        s, t, lo = self.slot[o], self.t[o], self.lon[o]
        idx = np.searchsorted(slots, s)
        count = np.bincount(idx, minlength=len(slots))
        first = np.full(len(slots), np.inf)
        last = np.full(len(slots), -np.inf)
        last_any = np.full(len(slots), -np.inf)
        # sorted by (slot, time): a slot's first and last samples end its run
        ge = group_ends(si)
        last_any[si[ge]] = t_all[ge]
        head = np.ones(len(idx), bool)
        head[1:] = idx[1:] != idx[:-1]
        if len(t):
            first[idx[head]] = t[head]
            tail = group_ends(idx)
            last[idx[tail]] = t[tail]
        # bearings of steps long and fast enough to have one (measured when the samples came:
        # a slot's samples in the window are consecutive in the store); then turns
        nxt = o[1:] == o[:-1] + 1
        ok = (s[1:] == s[:-1]) & nxt & self.n_ok[o[:-1]]
        bi = np.flatnonzero(ok)
        brg = self.n_brg[o[bi]]
        step, dt = self.n_step[o[:-1]], self.n_dt[o[:-1]]
        bs = s[bi]
        cont = bs[1:] == bs[:-1]
        turn = np.where(cont, angle_diff_deg(brg[1:], brg[:-1]), 0.0)
        turn_t = t[bi[1:] + 1] if len(bi) > 1 else np.empty(0)
        net = np.zeros(len(slots))
        if len(turn):
            np.add.at(net, np.searchsorted(slots, bs[1:]), turn)
        # spread: the furthest sample from the slot's centre (mean of unit vectors); the
        # haversine with each sample's trigonometry from `_sort_and_pair`
        cx, cy, cz = (np.bincount(idx, weights=v[o], minlength=len(slots))
                      for v in (self.ux, self.uy, self.uz))  # fmt: skip
        mlat = np.degrees(np.arctan2(cz, np.hypot(cx, cy)))
        mlon = np.degrees(np.arctan2(cy, cx))
        p2 = np.radians(mlat)
        dp = p2[idx] - self.rlat[o]
        dl = np.radians(mlon[idx] - lo)
        a = np.sin(dp / 2) ** 2 + self.coslat[o] * np.cos(p2)[idx] * np.sin(dl / 2) ** 2
        d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
        radius = np.zeros(len(slots))
        if len(d):
            radius[idx[head]] = np.maximum.reduceat(d, np.flatnonzero(head))
        return {"slots": slots, "net": net, "radius": radius, "count": count,
                "steps": (s, bi, step, dt), "first": first, "last": last, "last_any": last_any,
                "landed": landed, "mlat": mlat, "mlon": mlon, "turn": turn, "turn_t": turn_t,
                "turn_slot": bs[1:] if len(bs) > 1 else np.empty(0, np.int64)}  # fmt: skip

    def shape(self, w: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per slot of a window (`turns`): its largest continuous turn (deg) and its mean
        ground speed over the steps that carry a direction (m/s); asked only when a window
        may open an activity."""
        s, bi, step, dt = w["steps"]
        n = len(w["slots"])
        isl = np.searchsorted(w["slots"], s[bi])
        flown = np.bincount(isl, weights=step[bi], minlength=n)
        took = np.bincount(isl, weights=dt[bi], minlength=n)
        arc = self._arcs(w["turn"], w["turn_t"], w["turn_slot"], w["slots"])
        return arc, flown / np.maximum(took, 1e-3)

    def _arcs(self, turn: np.ndarray, turn_t: np.ndarray, ts: np.ndarray,
              slots: np.ndarray) -> np.ndarray:  # fmt: skip
        """Per slot: the largest turn flown in one go, without a straight leg (deg, absolute).

        Each turn is judged on the `straight_s` around it (within its slot): slower than
        `straight_dps` it is part of a straight leg, else it turns left or right.
        Consecutive turns the same way add up; a circle's keep adding, a racetrack's stop at
        its 180 deg reversals."""
        arc = np.zeros(len(slots))
        n = len(turn)
        if n == 0:
            return arc
        si = np.searchsorted(slots, ts)
        # (slot, time) as one sorted key: turns come sorted by slot, then time
        t0 = float(turn_t.min())
        big = 2.0 * (float(turn_t.max()) - t0) + 4 * self.th.straight_s + 1.0
        key = si * big + (turn_t - t0)
        half = self.th.straight_s / 2
        lo = np.searchsorted(key, key - half, "left")
        hi = np.searchsorted(key, key + half, "right")
        c = np.zeros(n + 1)
        np.cumsum(turn, out=c[1:])
        roll = c[hi] - c[lo]
        span = np.maximum(turn_t[hi - 1] - turn_t[lo], self.th.sample_s)
        sign = np.where(np.abs(roll) >= self.th.straight_dps * span, np.sign(roll), 0.0)
        brk = np.ones(n, bool)
        brk[1:] = (sign[1:] != sign[:-1]) | (si[1:] != si[:-1])
        run = np.cumsum(brk) - 1
        acc = np.abs(np.bincount(run, weights=np.where(sign != 0, turn, 0.0)))
        np.maximum.at(arc, si[brk], acc)
        return arc

    def _judge_ticks(self, ctx: BatchContext, ticks: np.ndarray) -> list[Signal]:
        """Every tick of the batch: the windows measured in one compiled pass (`_windows`),
        then each tick's activities in order. A closed activity moves its slot's cut, so
        the ticks after it are measured again."""
        if len(self.t) and len(self.slot):
            new = np.ones(len(self.slot), bool)
            new[1:] = self.slot[1:] != self.slot[:-1]
            starts = np.flatnonzero(new)
        else:
            starts = np.empty(0, np.int64)
        seg = np.append(starts, len(self.t)).astype(np.int64)
        seg_slot = self.slot[starts]
        cut_seg = np.array([self.cut.get(int(x), -np.inf) for x in seg_slot.tolist()])
        cut_s = np.repeat(cut_seg, np.diff(seg))
        out: list[Signal] = []
        k = 0
        while k < len(ticks):
            w = self._windows(ticks[k:], seg, seg_slot, cut_s)
            start = w["start"].tolist()
            # loitering rows before each row: a tick without any, and no activity open,
            # opens, closes and says nothing
            nl = np.zeros(len(w["loiter"]) + 1, np.int64)
            np.cumsum(w["loiter"], out=nl[1:])
            nls = nl.tolist()
            for j, tk in enumerate(ticks[k:].tolist()):
                b0, b1 = start[j], start[j + 1]
                if self.active or nls[b1] > nls[b0]:
                    out += self._judge_rows(ctx, tk, w, b0, b1)
                if self._closed:  # measure the ticks after this one with the new cut
                    for sl in self._closed:
                        s = int(np.searchsorted(seg_slot, sl))
                        if s < len(seg_slot) and seg_slot[s] == sl:
                            cut_s[seg[s]:seg[s + 1]] = self.cut[sl]
                    self._closed.clear()
                    k += j + 1
                    break
            else:
                break
        return out

    def _windows(self, ticks: np.ndarray, seg: np.ndarray, seg_slot: np.ndarray,
                 cut_s: np.ndarray) -> dict[str, Any]:  # fmt: skip
        """What `turns` gives per tick, for all `ticks` at once: rows of (tick, slot in its
        window), tick k's at [start[k], start[k + 1]), and which rows turn and loiter.

        The spread decides against `min_radius_m` and `max_radius_m` from the kernel's
        dot products where they are clear of the threshold by far more than their error;
        the trigonometric spread (`_exact`, the numbers `turns` gave) is measured only for
        the few rows near a threshold and for the rows a signal or the holding test reads."""
        kern = _kernels()
        th = self.th
        (start, rs, _lo, a0, hi, landed, net, cx, cy, cz, nok, cross,
         far) = kern.windows(np.asarray(ticks, float), th.window_s, th.min_turn_deg, seg,
                             self.t, self.ground, self.n_ok, self.gturn, cut_s, self.ux,
                             self.uy, self.uz)  # fmt: skip
        n = len(rs)
        count = hi - a0
        air = count > 0
        first = np.full(n, np.inf)
        last = np.full(n, -np.inf)
        first[air] = self.t[a0[air]]
        last[air] = self.t[hi[air] - 1]
        w = {"start": start, "slots": seg_slot[rs], "a0": a0, "hi": hi, "landed": landed,
             "net": net, "nok": nok, "cross": cross, "count": count, "first": first,
             "last": last, "last_any": self.t[hi - 1] if n else np.empty(0), "cx": cx,
             "cy": cy, "cz": cz, "mlat": np.zeros(n), "mlon": np.zeros(n),
             "radius": np.zeros(n), "exact": ~air}  # fmt: skip
        # a full turn (it has steps, so samples); the spread's haversine term against the
        # two radii's (d = 2 R asin(sqrt(a)), so a = sin(d / 2R)^2)
        big = (np.abs(net) >= th.min_turn_deg) & air & (far >= 0)
        lo_a, hi_a = (np.sin(r / (2 * EARTH_RADIUS_M)) ** 2
                      for r in (th.min_radius_m, th.max_radius_m))  # fmt: skip
        eps = 1e-12  # the dot products' error is ~1e-16; asin and sqrt are monotonic
        unsure = big & ((np.abs(far - lo_a) <= eps) | (np.abs(far - hi_a) <= eps))
        self._exact(w, np.flatnonzero(unsure))
        r = w["radius"]
        wide = np.where(unsure, r >= th.min_radius_m, far > lo_a)
        bounded = np.where(unsure, r <= th.max_radius_m, far < hi_a)
        w["turning"] = big & wide
        w["loiter"] = w["turning"] & bounded
        w["lists"] = {k: w[k].tolist() for k in ("slots", "nok", "cross", "a0", "hi", "landed",
                                                 "last", "last_any", "turning")}  # fmt: skip
        w["lists"]["loiter_rows"] = np.flatnonzero(w["loiter"]).tolist()
        return w

    def _exact(self, w: dict[str, Any], rows: np.ndarray) -> None:
        """Centre and spread of `rows` of `_windows`, computed as `turns` does (once)."""
        rows = rows[~w["exact"][rows]]
        if not len(rows):
            return
        w["exact"][rows] = True
        bx, by, bz = w["cx"][rows], w["cy"][rows], w["cz"][rows]
        mlat = np.degrees(np.arctan2(bz, np.hypot(bx, by)))
        mlon = np.degrees(np.arctan2(by, bx))
        w["mlat"][rows], w["mlon"][rows] = mlat, mlon
        if len(rows) == 1:  # a signal's row: its samples are one slice
            lo, hi = int(w["a0"][rows[0]]), int(w["hi"][rows[0]])
            p2 = np.radians(mlat)
            dp = p2 - self.rlat[lo:hi]
            dl = np.radians(mlon - self.lon[lo:hi])
            a = np.sin(dp / 2) ** 2 + self.coslat[lo:hi] * np.cos(p2) * np.sin(dl / 2) ** 2
            d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
            w["radius"][rows] = d.max()
            return
        ln = w["count"][rows]
        heads = np.zeros(len(rows), np.int64)
        np.cumsum(ln[:-1], out=heads[1:])
        idx = np.repeat(np.arange(len(rows)), ln)
        o = np.arange(int(ln.sum())) + np.repeat(w["a0"][rows] - heads, ln)
        p2 = np.radians(mlat)
        dp = p2[idx] - self.rlat[o]
        dl = np.radians(mlon[idx] - self.lon[o])
        a = np.sin(dp / 2) ** 2 + self.coslat[o] * np.cos(p2)[idx] * np.sin(dl / 2) ** 2
        d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
        w["radius"][rows] = np.maximum.reduceat(d, heads)

    def _judge_rows(self, ctx: BatchContext, now: float, w: dict[str, Any], b0: int,
                    b1: int) -> list[Signal]:  # fmt: skip
        """The window ending at tick `now`: rows [b0, b1) of `_windows`."""
        kern = _kernels()
        th = self.th
        lists = w["lists"]  # the rows' columns as Python lists: read one value at a time
        slots, nok, cross, a0, hi = (lists[k] for k in ("slots", "nok", "cross", "a0", "hi"))
        out: list[Signal] = []
        # open activities: add the turns since the last tick, then close or keep alive
        for sl in sorted(self.active):
            a = self.active[sl]
            g: int | None = bisect.bisect_left(slots, sl, b0, b1)
            if g == b1 or slots[g] != sl:
                g = None
            if g is not None and nok[g] > 1 - cross[g]:
                add, latest, m = kern.turns_after(a0[g], hi[g], self.n_ok, self.gturn, self.t,
                                                  cross[g], a["turn_t"])  # fmt: skip
                if m:
                    a["turn"] += add
                    a["turn_t"] = latest
                    a["last_t"] = max(a["last_t"], lists["last"][g])
            landed = g is not None and lists["landed"][g] > a["since"]
            heard = lists["last_any"][g] if g is not None else -np.inf
            looping = g is not None and lists["turning"][g]
            why = ("landed" if landed else
                   "silent" if now - max(heard, a["last_t"]) >= th.silence_s else
                   "no full turn" if not looping and now - a["last_true"] >= th.quiet_s else "")
            if why:
                out.append(self._end(ctx, sl, now, why, lists["landed"][g] if landed else None))
                continue
            if looping:
                a["last_true"] = now
                if now - a["last_signal"] >= th.resignal_s:
                    a["last_signal"] = now
                    self._exact(w, np.array([g]))
                    out.append(self._signal(ctx, sl, now, a, w, g))  # type: ignore[arg-type]
            elif now - a["last_signal"] >= th.resignal_s:
                a["last_signal"] = now  # quiet, not over: keep the alert open, say how long
                out.append(make_signal(ctx, self.kind, sl, None, "info", "",
                                       {"quiet_s": round(now - a["last_true"], 1)},
                                       t=now))  # fmt: skip
        rows = lists["loiter_rows"]
        loiter = rows[bisect.bisect_left(rows, b0):bisect.bisect_left(rows, b1)]
        opening = [g for g in loiter
                   if slots[g] not in self.active and self.cut.get(slots[g]) != now]
        if opening:  # a racetrack in a terminal area is ATC holding, an orbit is not
            cand = np.array(opening)
            self._exact(w, cand)
            arc, speed = kern.shapes(w["a0"][b0:b1], w["hi"][b0:b1], cand - b0, self.n_ok,
                                     self.gturn, self.t, self.n_step, self.n_dt, th.straight_s,
                                     th.straight_dps, th.sample_s)  # fmt: skip
            cand = cand[(arc < th.orbit_arc_deg) & (speed >= th.holding_speed_ms)]
            ap = airports_of(ctx.world)
            if len(cand) and ap is not None:
                near, _ = ap.served_within(w["mlat"][cand], w["mlon"][cand],
                                           th.terminal_radius_m)  # fmt: skip
                held = set(cand[near >= 0].tolist())
                opening = [g for g in opening if g not in held]
        for g in opening:
            sl = slots[g]
            a = self.active[sl] = {"since": float(w["first"][g]), "turn": float(w["net"][g]),
                                   "turn_t": now, "last_t": lists["last"][g],
                                   "last_signal": now, "last_true": now}  # fmt: skip
            out.append(self._signal(ctx, sl, now, a, w, g))
        return out

    def _signal(self, ctx: BatchContext, sl: int, now: float, a: dict[str, Any],
                w: dict[str, np.ndarray], i: int) -> Signal:  # fmt: skip
        th = self.th
        turn = a["turn"] if abs(a["turn"]) >= abs(float(w["net"][i])) else float(w["net"][i])
        circuits = abs(turn) / 360.0
        cat = str(identity(ctx, sl).get("category", ""))
        benign = BENIGN.get(cat)
        ev: dict[str, Any] = {
            "circuits": round(circuits, 2),
            "net_turn_deg": round(turn, 1),
            "window_turn_deg": round(float(w["net"][i]), 1),
            "direction": "right (clockwise)" if turn > 0 else "left (anticlockwise)",
            "centre": {"lat": round(float(w["mlat"][i]), 5), "lon": round(float(w["mlon"][i]), 5)},
            "radius_m": round(float(w["radius"][i]), 1),
            "since": iso(a["since"]),
            "duration_s": round(now - a["since"], 1),
            "samples": int(w["count"][i]),
            "thresholds": vars(th),
        }
        if cat:
            ev["category"] = cat
        if benign:
            ev["benign"] = benign
        mins = (now - a["since"]) / 60
        summary = (f"{label(ctx, sl)} loitering: {circuits:.1f} circuits within "
                   f"{float(w['radius'][i]) / 1000:.1f} km of one point for {mins:.0f} min"
                   + (f" ({benign})" if benign else ""))  # fmt: skip
        sev = "info" if benign else "warning"
        return make_signal(ctx, self.kind, sl, None, sev, summary, ev, t=now)

    def _end(self, ctx: BatchContext, sl: int, now: float, why: str,
             landed: float | None) -> Signal:  # fmt: skip
        a = self.active.pop(sl)
        self.cut[sl] = landed if landed is not None else now
        self._closed.append(sl)
        ev: dict[str, Any] = {"ended": why, "circuits": round(abs(a["turn"]) / 360.0, 2),
                              "duration_s": round(a["last_true"] - a["since"], 1)}  # fmt: skip
        if landed is not None:
            ev["landed"] = iso(landed)
        return make_signal(ctx, self.kind, sl, None, "info", "", ev, ended=True, t=now)
