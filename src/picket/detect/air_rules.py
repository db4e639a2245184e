"""Air detectors: emergencies, airspace entry (with predicted entry), low-and-slow.

Aircraft on the ground feed no air detector but `air.emergency` (a 7700 on the apron is
still an emergency). A report is on the ground when its format says so (`on_ground`:
surface positions, OpenSky `onground`, readsb `"ground"`), or, where the format does not
say, when it is low and slow at an airport (`on_ground_rows`, docs/air_detectors.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    forget_rows,
    group_ends,
    group_ffill,
    group_starts,
    grown,
    in_zone_kinds,
    label,
    last_per_slot,
    make_signal,
    report_evidence,
    th,
)
from picket.detect.sustained import SustainedDetector
from picket.fusion.context import BatchContext
from picket.geo.airports import airports_of
from picket.geo.geodesy import destination
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain
from picket.model.subjects import Namespace

UNSEEN = -2  # a track's zone before its first position

EMERGENCY_SQUAWKS = {7500: "unlawful interference", 7600: "radio failure", 7700: "emergency"}
# ADS-B emergency/priority status (DO-260B 2.2.3.2.7.8.1.1)
EMERGENCY_STATES = {
    1: "general emergency",
    2: "lifeguard/medical",
    3: "minimum fuel",
    4: "no communications",
    5: "unlawful interference",
    6: "downed aircraft",
}


# "low and slow at an airport" = on the ground where the format carries no flag
GROUND_MAX_SPEED_MS = 20.6  # 40 kn: above any taxi speed (Boeing 737 FCTM: ~20 kn normal
# taxi, 10 kn in turns) and below any powered aircraft's lift-off (a Cessna 172 rotates at
# ~55 kn); a helicopter hovering over its airport counts as ground traffic too
GROUND_MAX_HEIGHT_M = 150.0  # above the field: barometric altitude is off by ~8 m per hPa,
# so a QNH 15 hPa from standard puts an aircraft on the runway ~125 m "up"


def _speed_alt(ctx: BatchContext, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's speed and altitude, falling back to its track's last known values."""
    r, s, tc = ctx.reports, ctx.slots[rows], ctx.tracks.cols
    spd = np.where(np.isfinite(r.speed[rows]), r.speed[rows], tc["speed"][s])
    alt = np.where(np.isfinite(r.alt[rows]), r.alt[rows], tc["alt"][s])
    return spd.astype(float), alt.astype(float)


def on_ground_rows(ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
    """Per row: the aircraft is on the ground (flagged, or low and slow at an airport)."""
    r = ctx.reports
    g = r.on_ground[rows]
    out = g == 1
    unk = np.flatnonzero(g < 0)
    ap = airports_of(ctx.world)
    if not len(unk) or ap is None or not len(ap):
        return out
    u = rows[unk]
    spd, alt = _speed_alt(ctx, u)
    slow = spd <= GROUND_MAX_SPEED_MS
    if not slow.any():
        return out
    idx, _ = ap.nearest(r.lat[u], r.lon[u])
    low = ~(alt > ap.elevation(idx) + GROUND_MAX_HEIGHT_M)
    out[unk] = slow & (idx >= 0) & low
    return out


def in_aerodrome_traffic(ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
    """Per row: inside an airport's traffic zone (within the layer's radius, below its
    height above the field): circuits, approaches and departures, not what air detectors seek."""
    ap = airports_of(ctx.world)
    if ap is None or not len(ap) or not len(rows):
        return np.zeros(len(rows), bool)
    _, alt = _speed_alt(ctx, rows)
    r = ctx.reports
    return ap.in_zone(r.lat[rows], r.lon[rows], alt)


def non_cooperative(ctx: BatchContext, slots: np.ndarray) -> np.ndarray:
    """Tracks with no transponder identity: anonymous plot tracks (and drones' Remote ID)."""
    ns = ctx.tracks.cols["subject"][slots] >> 48
    return (ns == Namespace.TRACK) | (ns == Namespace.RID)


class Emergency:
    """Squawk 7500/7600/7700 or any ADS-B emergency state, raised at once."""

    kind = "air.emergency"

    def __init__(self) -> None:
        self.active: set[int] = set()

    def forget(self, slots: np.ndarray) -> None:
        self.active.difference_update(slots.tolist())

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        if not len(r):
            return []
        air = r.domain == Domain.AIR
        if not air.any():  # a batch of vessels: no squawk to read (1% of bench ais)
            return []
        sq, em = r.squawk, r.emergency
        is_em = air & (np.isin(sq, list(EMERGENCY_SQUAWKS)) | (em > 0))
        known = air & ((sq >= 0) | (em >= 0))
        out = []
        s = ctx.slots
        # every start and end in report order (rows are sorted by slot, then time), so an
        # alert's time is its first emergency report however the reports were batched
        kn = np.flatnonzero(known)
        ks, ke = s[kn], is_em[kn]
        head = np.r_[True, ks[1:] != ks[:-1]] if len(kn) else np.zeros(0, bool)
        was = np.where(head, np.isin(ks, list(self.active)), np.r_[False, ke[:-1]])
        opened = set()
        for t in np.flatnonzero(ke != was).tolist():
            j, sl = int(kn[t]), int(ks[t])
            if ke[t]:
                out.append(self._signal(ctx, j, sl))
                opened.add(j)
            else:
                self.active.discard(sl)
                out.append(make_signal(ctx, self.kind, sl, j, "info", "",
                                       {"ended": iso(float(r.time[j]))}, ended=True))  # fmt: skip
        for j in last_per_slot(s, known).tolist():  # still declared: the latest report
            if is_em[j] and j not in opened:
                out.append(self._signal(ctx, j, int(s[j])))
        return out

    def _signal(self, ctx: BatchContext, j: int, sl: int) -> Signal:
        """Emergency report `j` of slot `sl`: opens the alert, or updates the open one."""
        r = ctx.reports
        code, state = int(r.squawk[j]), int(r.emergency[j])
        if code < 0:
            code = int(ctx.tracks.cols["squawk"][sl])
        what = EMERGENCY_SQUAWKS.get(code) or EMERGENCY_STATES.get(state, "emergency")
        sev = "warning" if code == 7600 or state in (3, 4) else "critical"
        ev: dict[str, Any] = {"squawk": f"{code:04d}" if code >= 0 else None,
                              "emergency_state": state if state >= 0 else None,
                              "meaning": what,
                              "reports": report_evidence(ctx, [j])}  # fmt: skip
        alt = ctx.tracks.cols["alt"][sl]
        summary = f"{label(ctx, sl)} declares {what}" + (
            f" (squawk {code:04d})" if code >= 0 else "") + (
            f" at {alt / 0.3048:.0f} ft" if np.isfinite(alt) else "")  # fmt: skip
        self.active.add(sl)
        return make_signal(ctx, self.kind, sl, j, sev, summary, ev)


@dataclass
class AirspaceThresholds(Thresholds):
    lookahead_s: float = th(
        300.0,
        "warn this far ahead of a predicted entry (dead reckoning)",
        "picket: ~5 min, the time air policing needs to react",
    )
    steps: int = th(10, "dead-reckoning samples over the look-ahead", "picket")
    predict_every_s: float = th(
        10.0,
        "predictions are made from each track's last position in every window this long "
        "(and at each batch's end)",
        "picket: a third of the dead-reckoning step (lookahead_s / steps = 30 s), so no "
        "predicted entry waits a step; the same windows in a live batch and a replay's "
        "merged one, so a warning's time does not depend on how the input was cut",
    )
    zone_kinds: tuple[str, ...] = th(
        ("airspace", "restricted", "danger", "prohibited"), "zone kinds watched", "picket"
    )


class AirspaceEntry:
    """A track entering a watched zone, or predicted to within the look-ahead.

    A zone's `watch` property chooses who is watched: "all" (default) or
    "non-cooperative" (tracks without transponder identity, e.g. drones seen
    only by radar). Severity is critical for non-cooperative tracks.
    """

    kind = "air.airspace_entry"

    def __init__(self, th: AirspaceThresholds | None = None):
        self.th = th or AirspaceThresholds()
        # per track slot: watched zone index at its last position, -1 outside, -2 never seen
        self.zone_of = np.full(0, UNSEEN, np.int64)
        self.predicted: set[tuple[int, int]] = set()
        self._names: list[str] | None = None  # the watched zones these indices refer to

    def forget(self, slots: np.ndarray) -> None:
        """Back to "never seen" (a first position inside a zone is no entry) and no
        prediction made; the zone names are not per slot."""
        forget_rows(self.zone_of, slots, UNSEEN)
        if self.predicted:
            gone = set(slots.tolist())
            self.predicted = {p for p in self.predicted if p[0] not in gone}

    def _follow_edits(self, zones, n_tracks: int) -> None:
        """Zones edited live: keep each track's zone by name, so a track already inside a
        zone that stays is not re-reported, and one inside a new zone is reported at its next
        position; predictions are made again."""
        names = list(zones.names) if zones is not None else []
        if self._names is None or names == self._names:
            self._names = names
            return
        self.zone_of = grown(self.zone_of, n_tracks, UNSEEN)
        index = {n: i for i, n in enumerate(names)}
        old = np.array([index.get(n, -1) for n in self._names] + [-1], np.int64)
        known = self.zone_of >= 0
        self.zone_of[known] = old[self.zone_of[known]]
        seen = self.zone_of[:n_tracks]
        seen[seen == UNSEEN] = -1  # tracks known before the edit were outside the new zones
        self.predicted.clear()
        self._names = names

    def _zones(self, ctx: BatchContext):
        return ctx.world.zones_of_kinds(tuple(self.th.zone_kinds))

    def update(self, ctx: BatchContext) -> list[Signal]:
        zones = self._zones(ctx)
        self._follow_edits(zones, ctx.tracks.n)
        r = ctx.reports
        if zones is None or not len(r):
            return []
        rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier & (r.domain == Domain.AIR))
        rows = rows[~on_ground_rows(ctx, rows)]  # taxiing is no entry; take-off is judged aloft
        if not len(rows):
            return []
        s = ctx.slots[rows]
        self.zone_of = grown(self.zone_of, int(s.max()) + 1, UNSEEN)
        z = zones.contains(r.lat[rows], r.lon[rows]).astype(np.int64)
        nonco = non_cooperative(ctx, s)
        watch_all = np.array([str(p.get("watch", "all")) == "all" for p in zones.properties])
        applies = (z >= 0) & (watch_all[np.maximum(z, 0)] | nonco)  # zone watches this track
        # the zone each row comes from: the previous row of its track, or the track's state
        first = group_starts(s)
        before = np.empty_like(z)
        before[1:] = z[:-1]
        before[first] = self.zone_of[s[first]]
        enter = (z != before) & applies & (before != UNSEEN)
        out: list[Signal] = []
        for j in np.flatnonzero(enter).tolist():
            out.append(self._signal(ctx, int(s[j]), int(rows[j]), int(z[j]), zones,
                                    bool(nonco[j]), None))  # fmt: skip
        newest = group_ends(s)  # each track's last row in this batch
        last = np.flatnonzero(newest)
        self.zone_of[s[last]] = z[last]
        # predicted entries for tracks outside, from their last position in each window of
        # `predict_every_s` (event time): a live batch is about one window, a replay's
        # merged batch many, judged alike
        win = np.floor(r.time[rows] / self.th.predict_every_s)
        ends = newest.copy()
        ends[:-1] |= win[1:] != win[:-1]
        at = np.flatnonzero(ends)
        outside = at[z[at] < 0]
        if len(outside):
            tc = ctx.tracks.cols
            sl = s[outside]
            spd, crs = tc["speed"][sl].astype(float), tc["course"][sl].astype(float)
            earlier = ~newest[outside]  # not the track's newest row: its motion then
            if earlier.any():
                ro = rows[outside[earlier]]
                for col, now in ((r.speed, spd), (r.course, crs)):
                    then = group_ffill(ctx.slots, col.astype(float))[ro]
                    now[earlier] = np.where(np.isfinite(then), then, now[earlier])
            ok = np.isfinite(spd) & np.isfinite(crs) & (spd > 1)
            outside, sl, spd, crs = outside[ok], sl[ok], spd[ok], crs[ok]
            found = np.full(len(sl), -1)
            eta = np.full(len(sl), np.nan)
            for k in range(1, self.th.steps + 1):
                dt = self.th.lookahead_s * k / self.th.steps
                la, lo = destination(r.lat[rows[outside]], r.lon[rows[outside]], crs, spd * dt)
                zk = zones.contains(la, lo)
                new = (found < 0) & (zk >= 0)
                found[new], eta[new] = zk[new], dt
            watched = (found >= 0) & (watch_all[np.maximum(found, 0)] | nonco[outside])
            for i in np.flatnonzero(watched).tolist():
                j, zi = int(outside[i]), int(found[i])
                if (int(sl[i]), zi) in self.predicted:
                    continue
                self.predicted.add((int(sl[i]), zi))
                out.append(self._signal(ctx, int(sl[i]), int(rows[j]), zi, zones,
                                        bool(nonco[j]), float(eta[i]),
                                        (float(spd[i]), float(crs[i]))))  # fmt: skip
        return out

    def _signal(self, ctx, sl, row, zi, zones, nonco, eta, motion=None) -> Signal:
        r = ctx.reports
        tc = ctx.tracks.cols
        name = zones.names[zi]
        ident = "non-cooperative track" if nonco else "track"
        squawk = int(tc["squawk"][sl])
        sev = "critical" if nonco or squawk < 0 else "warning"
        ev: dict[str, Any] = {
            "zone": {"name": name, "kind": zones.kinds[zi]},
            "cooperative": not nonco,
            "speed_ms": float(tc["speed"][sl]) if motion is None else motion[0],
            "course": float(tc["course"][sl]) if motion is None else motion[1],
            "altitude_m": float(tc["alt"][sl]),
            "reports": report_evidence(ctx, [row]),
        }
        if eta is None:
            summary = f"{ident} {label(ctx, sl)} entered {name}"
        else:
            t_entry = float(r.time[row]) + eta
            ev["predicted_entry"] = iso(t_entry)
            ev["predicted_in_s"] = round(eta, 0)
            summary = f"{ident} {label(ctx, sl)} heading into {name}, entry in ~{eta / 60:.0f} min"
        return make_signal(ctx, self.kind, sl, row, sev, summary, ev)


@dataclass
class LowSlowThresholds(Thresholds):
    max_alt_m: float = th(
        1500.0,
        "below this altitude",
        "picket: ~5,000 ft, one-way attack drones and small UAS fly lower",
    )
    max_speed_ms: float = th(
        60.0,
        "and slower than this (~117 kn)",
        "picket: Shahed-class drones cruise ~50 m/s; airliners approach at 65-75 m/s",
    )
    min_duration_s: float = th(60.0, "for at least this long", "picket")
    include_cooperative: bool = th(
        False,
        "also flag transponder-equipped aircraft",
        "picket: light aircraft are low and slow too",
    )


class LowSlow(SustainedDetector):
    """Drone-like profile outside airports: never on the ground, never inside an
    aerodrome traffic zone (the airports layer) or an `airport` zone."""

    kind = "air.low_slow"
    domain = Domain.AIR

    def __init__(self, th: LowSlowThresholds | None = None):
        super().__init__(th or LowSlowThresholds())

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        s = ctx.slots[rows]
        tc = ctx.tracks.cols
        alt = np.where(np.isfinite(r.alt[rows]), r.alt[rows], tc["alt"][s])
        spd = np.where(np.isfinite(r.speed[rows]), r.speed[rows], tc["speed"][s])
        # a 2-D radar gives no height: unknown altitude does not rule a drone out
        c = ~(alt > self.th.max_alt_m) & (spd <= self.th.max_speed_ms)
        if not self.th.include_cooperative:
            c &= non_cooperative(ctx, s)
        cand = np.flatnonzero(c)
        if len(cand):
            cr = rows[cand]
            out = in_zone_kinds(ctx, r.lat[cr], r.lon[cr], ("airport",))
            out |= on_ground_rows(ctx, cr) | in_aerodrome_traffic(ctx, cr)
            c[cand[out]] = False
        return c

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        tc = ctx.tracks.cols
        alt, spd = float(tc["alt"][slot]), float(tc["speed"][slot])
        ev = {"altitude_m": alt if np.isfinite(alt) else None, "speed_ms": spd}
        height = f"{alt:.0f} m" if np.isfinite(alt) else "height unknown"
        summary = (f"{label(ctx, slot)} low and slow: {height}, {spd:.0f} m/s "
                   f"for {duration / 60:.1f} min")  # fmt: skip
        return "warning", summary, ev
