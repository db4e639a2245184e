"""GNSS interference (area, from integrity fields) and spoofing (track, from kinematics).

Interference follows gpsjam.org's method: count aircraft, not messages, per
H3 cell; an aircraft is "bad" in a cell if it reported NIC < 7 or NACp < 8
there; the cell's bad fraction is (bad - 1) / (good + bad), where the -1
forgives one faulty avionics box; < 2 % green, 2-10 % yellow, >= 10 % red.
picket applies it to a rolling window for live alerts: a cell's alert opens when
it turns red and closes only when it is green again (yellow keeps it open), so
a cell on the edge of a jammed area does not flap.

Spoofing rarely shows in integrity fields (a spoofer feeds a confident lie),
so it is read from kinematics: a reported position jump that the aircraft's
own speed cannot explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h3
import numpy as np

from picket.detect.base import (
    Sampler,
    Thresholds,
    Ticker,
    label,
    make_signal,
    report_evidence,
    th,
)
from picket.fusion.context import BatchContext
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain


@dataclass
class InterferenceThresholds(Thresholds):
    resolution: int = th(4, "H3 resolution of the cells", "gpsjam.org daily maps (res 4)")
    max_bad_nic: int = th(6, "NIC at or below this is bad (NIC < 7)", "gpsjam.org")
    max_bad_nacp: int = th(7, "NACp at or below this is bad (NACp < 8)", "gpsjam.org")
    yellow: float = th(0.02, "bad fraction from which a cell is yellow", "gpsjam.org")
    red: float = th(0.10, "bad fraction from which a cell is red (alert)", "gpsjam.org")
    critical: float = th(0.50, "bad fraction from which the alert is critical", "picket")
    min_aircraft: int = th(
        3,
        "aircraft needed in a cell before it is judged",
        "picket: with (bad-1) a cell of 3 needs 2 bad to turn red",
    )
    window_s: float = th(900.0, "rolling window for live cells", "issue #4 (15 min)")
    sample_s: float = th(
        20.0,
        "one report per aircraft per this many seconds is counted",
        "picket: cells are ~40 km across, aircraft cross one in minutes",
    )
    check_every_s: float = th(60.0, "cells re-judged this often (event time)", "picket")


def bad_integrity(
    nic: np.ndarray, nacp: np.ndarray, version: np.ndarray, th: InterferenceThresholds
) -> tuple[np.ndarray, np.ndarray]:
    """(bad, judged) per report; NIC/NACp 0 from version-0 transponders mean 'unknown'."""
    v0 = version == 0
    nic_ok = (nic >= 0) & ~(v0 & (nic == 0))
    nacp_ok = (nacp >= 0) & ~(v0 & (nacp == 0))
    bad = (nic_ok & (nic <= th.max_bad_nic)) | (nacp_ok & (nacp <= th.max_bad_nacp))
    return bad, nic_ok | nacp_ok


def cell_fraction(good: np.ndarray, bad: np.ndarray) -> np.ndarray:
    total = good + bad
    return np.where(total > 0, np.maximum(bad - 1, 0) / np.maximum(total, 1), 0.0)


def cells_of(lat: np.ndarray, lon: np.ndarray, res: int) -> np.ndarray:
    return np.array(
        [h3.str_to_int(h3.latlng_to_cell(a, b, res)) for a, b in zip(lat.tolist(), lon.tolist(),
                                                                       strict=True)],
        dtype=np.uint64,
    )  # fmt: skip


class GnssInterference:
    kind = "gnss.interference"

    def __init__(self, th: InterferenceThresholds | None = None):
        self.th = th or InterferenceThresholds()
        self.cell = np.empty(0, np.uint64)
        self.slot = np.empty(0, np.int64)
        self.t = np.empty(0)
        self.bad = np.empty(0, bool)
        self.red: set[int] = set()
        self.sampler = Sampler(self.th.sample_s)
        self.ticker = Ticker(self.th.check_every_s, self.th.window_s)

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        th = self.th
        rows, s = self.sampler.rows(ctx, Domain.AIR)
        if len(rows):
            tc = ctx.tracks.cols
            nic = np.where(r.nic[rows] >= 0, r.nic[rows], tc["nic"][s])
            bad, judged = bad_integrity(nic, tc["nacp"][s], tc["version"][s], th)
            rows, s, bad = rows[judged], s[judged], bad[judged]
            if len(rows):
                cells = cells_of(r.lat[rows], r.lon[rows], th.resolution)
                self.cell = np.concatenate([self.cell, cells])
                self.slot = np.concatenate([self.slot, s])
                self.t = np.concatenate([self.t, r.time[rows]])
                self.bad = np.concatenate([self.bad, bad])
        if not len(self.t):
            return []
        now = ctx.env.get("now_by_domain", {}).get(int(Domain.AIR), ctx.now)
        out: list[Signal] = []
        for tk in self.ticker.due(float(self.t.min()), now, self.t).tolist():
            inside = (self.t <= tk) & (self.t >= tk - th.window_s)
            if inside.any():  # an empty window judges no cell: red ones stay red until seen
                out += self._judge(ctx, tk, inside)
        keep = self.t >= min(now, self.ticker.done + th.check_every_s) - th.window_s
        self.cell, self.slot, self.t, self.bad = (
            self.cell[keep], self.slot[keep], self.t[keep], self.bad[keep])  # fmt: skip
        return out

    def _judge(self, ctx: BatchContext, now: float, inside: np.ndarray) -> list[Signal]:
        """Every cell of the window ending at tick `now` (samples flagged `inside`)."""
        th = self.th
        cells, good, nbad, bad_slots = self.counts(inside)
        frac = cell_fraction(good, nbad)
        total = good + nbad
        out: list[Signal] = []
        for i in range(len(cells)):
            c = int(cells[i])
            judged = total[i] >= th.min_aircraft
            is_red = judged and frac[i] >= th.red
            if is_red:
                self.red.add(c)
                out.append(self._signal(ctx, c, int(good[i]), int(nbad[i]), float(frac[i]),
                                        bad_slots[i], now))  # fmt: skip
            elif c in self.red and judged and frac[i] < th.yellow:  # back to green
                self.red.discard(c)
                out.append(self._signal(ctx, c, int(good[i]), int(nbad[i]), float(frac[i]),
                                        bad_slots[i], now, ended=True))  # fmt: skip
        return out

    def counts(
        self, inside: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        """Per cell: good and bad aircraft counts in the window (an aircraft once per cell)."""
        sel = slice(None) if inside is None else inside
        key = np.column_stack([self.cell[sel].view(np.int64), self.slot[sel]])
        uk, inv = np.unique(key, axis=0, return_inverse=True)
        ac_bad = np.zeros(len(uk), bool)
        np.logical_or.at(ac_bad, inv.ravel(), self.bad[sel])
        cells, cinv = np.unique(uk[:, 0], return_inverse=True)
        nbad = np.bincount(cinv, weights=ac_bad, minlength=len(cells)).astype(int)
        ntot = np.bincount(cinv, minlength=len(cells))
        bad_slots = [uk[(cinv == i) & ac_bad, 1] for i in range(len(cells))] if len(cells) else []
        return cells.view(np.uint64), ntot - nbad, nbad, bad_slots

    def _signal(self, ctx, cell, good, bad, frac, bad_slots, now, ended=False) -> Signal:
        th = self.th
        hexid = h3.int_to_str(cell)
        lat, lon = h3.cell_to_latlng(hexid)
        colour = "red" if frac >= th.red else "yellow" if frac >= th.yellow else "green"
        ev: dict[str, Any] = {
            "cell": hexid,
            "resolution": th.resolution,
            "count_good_aircraft": good,
            "count_bad_aircraft": bad,
            "bad_fraction": round(frac, 4),
            "colour": colour,
            "window_s": th.window_s,
            "bad_aircraft": [label(ctx, int(s)) for s in bad_slots[:20]],
            "method": "gpsjam.org: (bad-1)/(good+bad); NIC<7 or NACp<8 is bad",
            "thresholds": vars(th),
        }
        sev = "critical" if frac >= th.critical else "warning"
        summary = (f"GNSS interference: {bad} of {good + bad} aircraft degraded in cell {hexid} "
                   f"({frac:.0%})")  # fmt: skip
        return Signal(kind=self.kind, subject=f"h3:{hexid}", time=now, lat=lat, lon=lon,
                 severity="info" if ended else sev, summary="" if ended else summary,
                 evidence=ev, domain="em", ended=ended)  # fmt: skip


@dataclass
class SpoofingThresholds(Thresholds):
    min_jump_m: float = th(
        5000.0,
        "position jumps shorter than this are ignored",
        "picket: CPR and multipath errors stay well below 5 km",
    )
    speed_factor: float = th(
        2.0, "a jump needs this many times the aircraft's own speed ...", "picket"
    )
    speed_margin_ms: float = th(150.0, "... plus this margin", "picket: covers stale velocity")


class GnssSpoofing:
    """Reported positions that jump further than the aircraft's own velocity allows."""

    kind = "gnss.spoofing"

    def __init__(self, th: SpoofingThresholds | None = None):
        self.th = th or SpoofingThresholds()
        self.jumps: dict[int, list[dict[str, Any]]] = {}

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        if not len(r):
            return []
        tc = ctx.tracks.cols
        s = ctx.slots
        own = np.where(np.isfinite(tc["speed"][s]), tc["speed"][s], 250.0)
        allowed = own * self.th.speed_factor + self.th.speed_margin_ms
        jump = (
            (r.domain == Domain.AIR) & ctx.has_pos & (ctx.jump_m > self.th.min_jump_m)
            & (ctx.jump_speed > allowed) & (ctx.prev_t > r.time - 60)
        )  # fmt: skip
        out = []
        for j in np.flatnonzero(jump).tolist():
            sl = int(s[j])
            lst = self.jumps.setdefault(sl, [])
            lst.append({
                "time": iso(float(r.time[j])),
                "from": {"lat": float(ctx.prev_lat[j]), "lon": float(ctx.prev_lon[j])},
                "to": {"lat": float(r.lat[j]), "lon": float(r.lon[j])},
                "distance_m": round(float(ctx.jump_m[j]), 1),
                "implied_speed_ms": round(float(ctx.jump_speed[j]), 1),
                "reported_speed_ms": round(float(own[j]), 1),
            })  # fmt: skip
            del lst[:-20]
            ev = {
                "jumps": list(lst),
                "nic": int(tc["nic"][sl]),
                "nacp": int(tc["nacp"][sl]),
                "reports": report_evidence(ctx, [j]),
                "thresholds": vars(self.th),
            }
            sev = "critical" if len(lst) >= 2 else "warning"
            summary = (f"{label(ctx, sl)} reported position jumped {ctx.jump_m[j] / 1000:.0f} km "
                       f"in {r.time[j] - ctx.prev_t[j]:.0f} s: possible GNSS spoofing")  # fmt: skip
            out.append(make_signal(ctx, self.kind, sl, j, sev, summary, ev))
        return out
