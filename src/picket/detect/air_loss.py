"""air.transponder_loss: an aircraft that stops reporting where it should still be heard.

Airborne ADS-B transmits a position twice a second (DO-260B), so a minute of
silence is over a hundred missed squitters. Silence alone means little: an
aircraft flying out of a receiver's range, or landing, goes quiet too. So the
gap counts only inside good coverage, learnt from the picture itself as
`maritime.ais_gap` does: other aircraft were heard recently all around the
silent one's last position (within `coverage_radius_m`, with no empty sector
wider than `max_gap_deg`), which an aircraft at the edge of coverage never has. It
must also have been high enough that line of sight to the receivers is not the
reason. Near a watched airspace border (national airspace, FIR) the alert is
critical: a transponder switched off before a border crossing is what air
policing looks for. The alert closes when the aircraft is heard again. An aircraft whose
last position was on the ground (`picket.detect.air_rules.on_ground_rows`) has landed or
is parked: its silence is never a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.air_rules import on_ground_rows
from picket.detect.base import (
    Thresholds,
    drop_slots,
    forget_rows,
    grown,
    label,
    last_per_slot,
    make_signal,
    th,
)
from picket.fusion.context import BatchContext
from picket.geo.geodesy import haversine_m, initial_bearing_deg
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain
from picket.model.subjects import Namespace


@dataclass
class TransponderLossThresholds(Thresholds):
    silence_s: float = th(
        60.0,
        "silence after which an airborne aircraft counts as lost",
        "DO-260B: airborne position every 0.5 s (120 missed); tar1090 greys a track after 60 s",
    )
    min_heard_s: float = th(
        120.0, "the track must have been followed at least this long", "picket: not a one-off"
    )
    min_alt_m: float = th(
        1500.0,
        "last altitude at least this (lower, receivers lose aircraft behind terrain and curvature)",
        "picket: line of sight of a ground receiver to 1,500 m reaches ~160 km",
    )
    coverage_radius_m: float = th(
        100_000.0,
        "other aircraft must be heard within this distance of the last position",
        "picket: well inside a ground receiver's 300-400 km ADS-B range at cruise",
    )
    coverage_window_s: float = th(120.0, "... within this much recent time", "picket")
    max_gap_deg: float = th(
        120.0,
        "... seen in every direction: no empty sector wider than this around it",
        "picket: at the edge of coverage all others lie on one side (a gap >= 180 deg)",
    )
    min_offset_m: float = th(
        5_000.0, "neighbours closer than this give no direction and are not used", "picket"
    )
    min_neighbours: int = th(4, "... and at least this many of them", "picket")
    border_m: float = th(
        50_000.0,
        "within this distance of a watched airspace edge the alert is critical",
        "picket: ~ 5 min of flight at 170 m/s",
    )
    border_kinds: tuple[str, ...] = th(
        ("airspace", "fir", "restricted"), "zone kinds whose edges count as borders", "issue #4"
    )
    check_every_s: float = th(15.0, "how often silence is checked (event time)", "picket")


class TransponderLoss:
    kind = "air.transponder_loss"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)

    def __init__(self, th: TransponderLossThresholds | None = None):
        self.th = th or TransponderLossThresholds()
        self.open: dict[int, dict[str, Any]] = {}  # slot -> where and when it went silent
        self.first_heard: np.ndarray = np.full(0, np.nan)
        self.grounded = np.zeros(0, bool)  # per slot: its last position was on the ground
        self._next = -np.inf  # the check clock is event time, not per slot

    def forget(self, slots: np.ndarray) -> None:
        """No open gap, never heard (its followed time starts again), not grounded."""
        forget_rows(self.first_heard, slots, np.nan)
        forget_rows(self.grounded, slots, False)
        drop_slots(self.open, slots)

    def update(self, ctx: BatchContext) -> list[Signal]:
        tc = ctx.tracks.cols
        n = ctx.tracks.n
        if len(self.first_heard) < n:
            self.first_heard = np.r_[self.first_heard, np.full(n - len(self.first_heard), np.nan)]
        fh = self.first_heard[:n]
        fresh = np.isnan(fh) & np.isfinite(tc["pos_time"][:n])
        fh[fresh] = tc["pos_time"][:n][fresh]
        self._follow_ground(ctx)
        out: list[Signal] = []
        # heard again: close
        if self.open:
            r = ctx.reports
            back = np.unique(ctx.slots[r.domain == Domain.AIR])
            for sl in set(back.tolist()) & set(self.open):
                out.append(self._end(ctx, sl, self.open.pop(sl)))
        now = ctx.world.now_of(Domain.AIR, ctx.now)
        if now < self._next:
            return out
        self._next = now + self.th.check_every_s
        th = self.th
        air = (tc["domain"][:n] == Domain.AIR) & np.isfinite(tc["lat"][:n])
        icao = (tc["subject"][:n] >> 48) == Namespace.ICAO
        last = tc["last_time"][:n]  # any message, not only positions
        cand = np.flatnonzero(
            air & icao & (now - last > th.silence_s) & (now - last < th.silence_s + 600.0)
            & (last - fh >= th.min_heard_s) & (tc["alt"][:n] >= th.min_alt_m)
            & ~self.grounded[:n]
        )  # fmt: skip
        cand = np.array([c for c in cand.tolist() if c not in self.open], dtype=np.int64)
        if not len(cand):
            return out
        heard = np.flatnonzero(air & (now - tc["pos_time"][:n] <= th.coverage_window_s))
        for sl in cand.tolist():
            cov = self._coverage(tc, heard, sl)
            if cov is not None:
                out.append(self._start(ctx, sl, now, cov))
        return out

    def _follow_ground(self, ctx: BatchContext) -> None:
        """Remember, per aircraft, whether its latest position was on the ground."""
        self.grounded = grown(self.grounded, ctx.tracks.n, False)
        r = ctx.reports
        rows = np.flatnonzero(ctx.has_pos & (r.domain == Domain.AIR))
        if not len(rows):
            return
        last = last_per_slot(ctx.slots[rows], np.ones(len(rows), bool))
        self.grounded[ctx.slots[rows[last]]] = on_ground_rows(ctx, rows[last])

    def _coverage(self, tc: dict[str, np.ndarray], heard: np.ndarray, sl: int) -> dict | None:
        """Neighbours around the silent aircraft, or None when coverage is not good there."""
        lat0, lon0 = float(tc["lat"][sl]), float(tc["lon"][sl])
        if not len(heard):
            return None
        d = haversine_m(lat0, lon0, tc["lat"][heard], tc["lon"][heard])
        near = heard[(d <= self.th.coverage_radius_m) & (heard != sl)]
        if len(near) < self.th.min_neighbours:
            return None
        far = haversine_m(lat0, lon0, tc["lat"][near], tc["lon"][near]) >= self.th.min_offset_m
        brg = np.sort(initial_bearing_deg(lat0, lon0, tc["lat"][near[far]], tc["lon"][near[far]]))
        if len(brg) < 2:
            return None
        gap = float(np.max(np.diff(np.r_[brg, brg[0] + 360.0])))
        if gap > self.th.max_gap_deg:
            return None
        return {"neighbours": len(near), "widest_empty_sector_deg": round(gap, 1),
                "radius_m": self.th.coverage_radius_m}  # fmt: skip

    def _border(self, ctx: BatchContext, lat: float, lon: float) -> dict | None:
        sub = ctx.world.zones_of_kinds(tuple(self.th.border_kinds))
        if sub is None:
            return None
        d = sub.distance_to_boundary_m(
            np.full(len(sub), lat), np.full(len(sub), lon), np.arange(len(sub)),
            max_distance_m=self.th.border_m,
        )  # fmt: skip
        i = int(np.nanargmin(np.where(np.isfinite(d), d, np.inf)))
        if not np.isfinite(d[i]) or d[i] > self.th.border_m:
            return None
        inside = bool(sub.contains(np.array([lat]), np.array([lon]))[0] == i)
        return {"zone": sub.features[i].name, "distance_m": round(float(d[i]), 1),
                "inside": inside}  # fmt: skip

    def _start(self, ctx: BatchContext, sl: int, now: float, cov: dict) -> Signal:
        tc = ctx.tracks.cols
        lat, lon, t = float(tc["lat"][sl]), float(tc["lon"][sl]), float(tc["last_time"][sl])
        self.open[sl] = {"t": t, "lat": lat, "lon": lon}
        border = self._border(ctx, lat, lon)
        ev: dict[str, Any] = {
            "last": {"time": iso(t), "lat": lat, "lon": lon, "alt_m": float(tc["alt"][sl]),
                     "speed_ms": float(tc["speed"][sl]), "course": float(tc["course"][sl])},
            "silent_s": round(now - t, 1),
            "coverage": cov,
            "thresholds": vars(self.th),
        }  # fmt: skip
        where = ""
        if border:
            ev["border"] = border
            where = f", {border['distance_m'] / 1000:.0f} km from the {border['zone']} border"
        sev = "critical" if border else "warning"
        summary = (f"{label(ctx, sl)} stopped reporting {(now - t):.0f} s ago inside good "
                   f"coverage ({cov['neighbours']} aircraft heard around it){where}")  # fmt: skip
        return make_signal(ctx, self.kind, sl, None, sev, summary, ev, t=now, lat=lat, lon=lon)

    def _end(self, ctx: BatchContext, sl: int, gap: dict) -> Signal:
        tc = ctx.tracks.cols
        lat, lon, t = float(tc["lat"][sl]), float(tc["lon"][sl]), float(tc["last_time"][sl])
        dist = float(haversine_m(gap["lat"], gap["lon"], lat, lon))
        ev = {
            "start": {"time": iso(gap["t"]), "lat": gap["lat"], "lon": gap["lon"]},
            "end": {"time": iso(t), "lat": lat, "lon": lon},
            "gap_s": round(t - gap["t"], 1),
            "distance_m": round(dist, 1),
        }
        summary = (
            f"{label(ctx, sl)} heard again after {t - gap['t']:.0f} s, {dist / 1000:.0f} km on"
        )
        return make_signal(ctx, self.kind, sl, None, "info", summary, ev, ended=True, t=t,
                           lat=lat, lon=lon)  # fmt: skip
