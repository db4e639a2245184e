"""air.loitering: orbits and racetracks, the holding pattern of ISR and AEW aircraft.

An aircraft in transit turns a little and then back; one holding over an area
keeps turning the same way. So the rule is the *net signed* turn of its ground
track: once it reaches a full 360 deg within `window_s` while every position of
that stretch stays within `max_radius_m` of their centre, the track is loitering.
Circles (orbits) and racetracks (two 180 deg turns the same way) both qualify,
S-turns and zig-zags cancel out. Tracks are sampled every `sample_s` per
aircraft, turns are the bearing changes between consecutive samples (so the
course field is not needed), and steps shorter than `min_step_m` are skipped:
a hovering drone's position noise has no direction. ICAO holding stacks near
airports turn the same way too, so positions inside `airport` zones are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import (
    Sampler,
    Thresholds,
    Ticker,
    in_zone_kinds,
    label,
    make_signal,
    th,
)
from picket.fusion.context import BatchContext
from picket.geo.geodesy import angle_diff_deg, haversine_m, initial_bearing_deg
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain


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
    sample_s: float = th(10.0, "one position per aircraft per this many seconds", "picket")
    min_step_m: float = th(
        150.0,
        "shorter steps between samples carry no direction and are skipped",
        "picket: above ADS-B NACp 8 (< 93 m) and radar plot noise",
    )
    check_every_s: float = th(60.0, "tracks re-judged this often (event time)", "picket")


class AirLoitering:
    kind = "air.loitering"

    def __init__(self, th: AirLoiterThresholds | None = None):
        self.th = th or AirLoiterThresholds()
        self.slot = np.empty(0, np.int64)
        self.t = np.empty(0)
        self.lat = np.empty(0)
        self.lon = np.empty(0)
        self.active: set[int] = set()
        self.sampler = Sampler(self.th.sample_s)
        self.ticker = Ticker(self.th.check_every_s, self.th.window_s)

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        th = self.th
        rows, _ = self.sampler.rows(ctx, Domain.AIR)
        if len(rows):
            keep = ~in_zone_kinds(ctx, r.lat[rows], r.lon[rows], ("airport",))
            rows = rows[keep]
            self.slot = np.concatenate([self.slot, ctx.slots[rows]])
            self.t = np.concatenate([self.t, r.time[rows]])
            self.lat = np.concatenate([self.lat, r.lat[rows]])
            self.lon = np.concatenate([self.lon, r.lon[rows]])
        if not len(self.t):
            return []
        now = ctx.env.get("now_by_domain", {}).get(int(Domain.AIR), ctx.now)
        out: list[Signal] = []
        for tk in self.ticker.due(float(self.t.min()), now, self.t).tolist():
            inside = (self.t <= tk) & (self.t >= tk - th.window_s)
            if inside.any() or self.active:
                out += self._judge(ctx, tk, inside)
        keep = self.t >= min(now, self.ticker.done + th.check_every_s) - th.window_s
        self.slot, self.t, self.lat, self.lon = (
            self.slot[keep], self.t[keep], self.lat[keep], self.lon[keep])  # fmt: skip
        return out

    def turns(self, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per slot in the window: (slots, net signed turn deg, max radius m, sample count)."""
        o = np.flatnonzero(inside)
        o = o[np.lexsort((self.t[o], self.slot[o]))]
        s, la, lo = self.slot[o], self.lat[o], self.lon[o]
        slots, count = np.unique(s, return_counts=True)
        # bearings of steps long enough to have one; then turns between consecutive steps
        same = s[1:] == s[:-1]
        step = haversine_m(la[:-1], lo[:-1], la[1:], lo[1:])
        ok = same & (step >= self.th.min_step_m)
        bi = np.flatnonzero(ok)
        brg = initial_bearing_deg(la[bi], lo[bi], la[bi + 1], lo[bi + 1])
        bs = s[bi]
        cont = bs[1:] == bs[:-1]
        turn = np.where(cont, angle_diff_deg(brg[1:], brg[:-1]), 0.0)
        net = np.zeros(len(slots))
        if len(turn):
            np.add.at(net, np.searchsorted(slots, bs[1:]), turn)
        # spread: the furthest sample from the slot's centre (mean of unit vectors)
        clat, clon = np.radians(la), np.radians(lo)
        x, y, z = np.cos(clat) * np.cos(clon), np.cos(clat) * np.sin(clon), np.sin(clat)
        idx = np.searchsorted(slots, s)
        cx, cy, cz = (np.bincount(idx, weights=v, minlength=len(slots)) for v in (x, y, z))
        mlat = np.degrees(np.arctan2(cz, np.hypot(cx, cy)))
        mlon = np.degrees(np.arctan2(cy, cx))
        d = haversine_m(la, lo, mlat[idx], mlon[idx])
        radius = np.zeros(len(slots))
        np.maximum.at(radius, idx, d)
        self._centre = (mlat, mlon)
        return slots, net, radius, count

    def _judge(self, ctx: BatchContext, now: float, inside: np.ndarray) -> list[Signal]:
        """The window ending at tick `now` (samples flagged `inside`)."""
        th = self.th
        slots, net, radius, count = self.turns(inside)
        loiter = (np.abs(net) >= th.min_turn_deg) & (radius <= th.max_radius_m)
        out: list[Signal] = []
        mlat, mlon = self._centre
        for i in np.flatnonzero(loiter).tolist():
            sl = int(slots[i])
            first = float(self.t[inside & (self.slot == sl)].min())
            ev: dict[str, Any] = {
                "net_turn_deg": round(float(net[i]), 1),
                "direction": "right (clockwise)" if net[i] > 0 else "left (anticlockwise)",
                "circuits": round(abs(float(net[i])) / 360.0, 2),
                "centre": {"lat": round(float(mlat[i]), 5), "lon": round(float(mlon[i]), 5)},
                "radius_m": round(float(radius[i]), 1),
                "since": iso(first),
                "samples": int(count[i]),
                "thresholds": vars(th),
            }
            mins = (now - first) / 60
            summary = (f"{label(ctx, sl)} loitering: turned {abs(net[i]):.0f} deg within "
                       f"{radius[i] / 1000:.0f} km of one point in {mins:.0f} min")  # fmt: skip
            self.active.add(sl)
            out.append(make_signal(ctx, self.kind, sl, None, "warning", summary, ev, t=now))
        # stopped loitering: the window no longer holds a full turn
        done = self.active - {int(slots[i]) for i in np.flatnonzero(loiter).tolist()}
        for sl in sorted(done):
            self.active.discard(sl)
            out.append(make_signal(ctx, self.kind, sl, None, "info", "", {}, ended=True, t=now))
        return out
