"""GNSS interference (area, from integrity fields) and spoofing (track, from kinematics).

Interference follows gpsjam.org's method: count aircraft, not messages, per
H3 cell; an aircraft is "bad" in a cell if it reported NIC < 7 or NACp < 8
there; the cell's bad fraction is (bad - 1) / (good + bad), where the -1
forgives one faulty avionics box; < 2 % green, 2-10 % yellow, >= 10 % red.
picket applies it to a rolling window for live alerts: a cell's alert opens when
it turns red and closes only when it is green again (yellow keeps it open), so
a cell on the edge of a jammed area does not flap.

Spoofing rarely shows in integrity fields (a spoofer feeds a confident lie),
so it is read from kinematics, and told apart from data faults: fusion
(`picket.fusion.context.classify_air`) judges every fix against the aircraft's
own dead-reckoned path; a single out-and-back fix is a glitch (counted, no
alert), a displacement that persists (jump in, then fixes consistent with each
other but not with the path) is a spoof. The detector turns fusion's
transitions into alerts; `gnss.spoofing_area` aggregates spoofed aircraft into
H3 cells per window, like the interference cells. docs/air_detectors.md has
the method, thresholds and sources.
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
    drop_slots,
    label,
    make_signal,
    report_evidence,
    th,
)
from picket.fusion.context import HELD, SPOOFED, BatchContext
from picket.fusion.tracks import FixThresholds
from picket.geo.geodesy import haversine_m
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


def group_cells(cells: set[int]) -> list[set[int]]:
    """Connected groups of H3 cells (edge neighbours), largest first, then by smallest cell."""
    left, out = set(cells), []
    while left:
        seed = min(left)
        comp, todo = {seed}, [seed]
        left.discard(seed)
        while todo:
            c = todo.pop()
            for n in h3.grid_disk(h3.int_to_str(c), 1):
                k = h3.str_to_int(n)
                if k in left:
                    left.discard(k)
                    comp.add(k)
                    todo.append(k)
        out.append(comp)
    return sorted(out, key=lambda g: (-len(g), min(g)))


class AreaBook:
    """Areas keep their identity while they last: an area is named by an anchor cell (its
    alert's subject `h3:<anchor>`), kept while the area shares a cell with the one it was
    at the previous judgement. Of two areas that merge, the larger overlap keeps its
    anchor and the other ends; of an area that splits, the largest part keeps it."""

    def __init__(self) -> None:
        self.areas: dict[int, set[int]] = {}

    def assign(self, groups: list[set[int]]) -> tuple[list[tuple[int, set[int]]], list[int]]:
        """(anchor, cells) per group, and the anchors of areas that ended."""
        taken: set[int] = set()
        out = []
        for g in groups:
            best = [(len(g & cells), -a, a) for a, cells in self.areas.items()
                    if a not in taken and g & cells]  # fmt: skip
            a = max(best)[2] if best else min(g)
            while a in taken:  # a new area whose smallest cell anchors an older one
                a = min(c for c in g if c not in taken)
            taken.add(a)
            out.append((a, g))
        ended = sorted(set(self.areas) - taken)
        self.areas = {a: set(g) for a, g in out}
        return out, ended


def area_extent(cells: set[int]) -> tuple[float, float, list[float]]:
    """Centre (mean of the cell centres) and [west, south, east, north] of the cells."""
    pts = [h3.cell_to_latlng(h3.int_to_str(c)) for c in cells]
    ring = np.array([p for c in cells for p in h3.cell_to_boundary(h3.int_to_str(c))])
    lat = float(np.mean([p[0] for p in pts]))
    lon = float(np.mean([p[1] for p in pts]))
    bbox = [float(ring[:, 1].min()), float(ring[:, 0].min()), float(ring[:, 1].max()),
            float(ring[:, 0].max())]  # fmt: skip
    return lat, lon, [round(v, 4) for v in bbox]


GPSJAM_MEASURE = (
    "gpsjam.org's measure per H3 cell: (aircraft with degraded accuracy - 1) / all aircraft "
    "seen in the cell, each aircraft counted once; degraded = NIC < 7 or NACp < 8; the one "
    "subtracted forgives a single faulty receiver; >= 10 % is red, 2-10 % yellow"
)


class GnssInterference:
    kind = "gnss.interference"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)

    def __init__(self, th: InterferenceThresholds | None = None):
        self.th = th or InterferenceThresholds()
        self.cell = np.empty(0, np.uint64)
        self.slot = np.empty(0, np.int64)
        self.t = np.empty(0)
        self.bad = np.empty(0, bool)
        self.red: set[int] = set()
        self.stats: dict[int, tuple[int, int, float]] = {}  # red cell -> good, bad, fraction
        self.book = AreaBook()
        self.sampler = Sampler(self.th.sample_s)
        self.ticker = Ticker(self.th.check_every_s, self.th.window_s)

    def forget(self, slots: np.ndarray) -> None:
        """The slots' samples leave the window (an aircraft is counted once per cell by
        its slot) and the sampler takes their next report; red cells, their counts and the
        areas are kept by place."""
        self.sampler.forget(slots)
        gone = np.isin(self.slot, slots)
        if gone.any():
            self._keep(~gone)

    def _keep(self, keep: np.ndarray) -> None:
        """Keep the window's samples where `keep`, every per-sample column alike."""
        self.cell, self.slot, self.t, self.bad = (
            self.cell[keep], self.slot[keep], self.t[keep], self.bad[keep])  # fmt: skip

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
        now = ctx.world.now_of(Domain.AIR, ctx.now)
        out: list[Signal] = []
        for tk in self.ticker.due(float(self.t.min()), now, self.t).tolist():
            inside = (self.t <= tk) & (self.t >= tk - th.window_s)
            if inside.any():  # an empty window judges no cell: red ones stay red until seen
                out += self._judge(ctx, tk, inside)
        self._keep(self.t >= min(now, self.ticker.done + th.check_every_s) - th.window_s)
        return out

    def _judge(self, ctx: BatchContext, now: float, inside: np.ndarray) -> list[Signal]:
        """Every cell of the window ending at tick `now` (samples flagged `inside`) turns red,
        stays, or (once green again) goes out; the red cells then form areas, one alert each."""
        th = self.th
        cells, good, nbad, _ = self.counts(inside)
        frac = cell_fraction(good, nbad)
        total = good + nbad
        for i in range(len(cells)):
            c = int(cells[i])
            judged = total[i] >= th.min_aircraft
            if judged and frac[i] >= th.red:
                self.red.add(c)
            elif c in self.red and judged and frac[i] < th.yellow:  # back to green
                self.red.discard(c)
                self.stats.pop(c, None)
            if c in self.red and judged:
                self.stats[c] = (int(good[i]), int(nbad[i]), float(frac[i]))
        areas, ended = self.book.assign(group_cells(self.red))
        out = [self._signal(ctx, a, g, inside, now) for a, g in areas]
        out += [self._ended(a, now) for a in ended]
        return out

    def _ended(self, anchor: int, now: float) -> Signal:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(anchor))
        return Signal(kind=self.kind, subject=f"h3:{h3.int_to_str(anchor)}", time=now, lat=lat,
                      lon=lon, severity="info", summary="", evidence={}, domain="em",
                      ended=True)  # fmt: skip

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

    def _signal(self, ctx: BatchContext, anchor: int, cells: set[int], inside: np.ndarray,
                now: float) -> Signal:  # fmt: skip
        """One area: its cells as evidence, aircraft counted once over the whole area."""
        th = self.th
        inside = inside & np.isin(self.cell, np.fromiter(cells, np.uint64, len(cells)))
        slots = self.slot[inside]
        us, inv = np.unique(slots, return_inverse=True)
        ac_bad = np.zeros(len(us), bool)
        np.logical_or.at(ac_bad, inv.ravel(), self.bad[inside])
        n_ac, n_bad = len(us), int(ac_bad.sum())
        rows = []
        for c in sorted(cells):
            g, b, f = self.stats.get(c, (0, 0, 0.0))
            hexid = h3.int_to_str(c)
            la, lo = h3.cell_to_latlng(hexid)
            rows.append({"cell": hexid, "lat": round(la, 4), "lon": round(lo, 4),
                         "count_good_aircraft": g, "count_bad_aircraft": b,
                         "bad_fraction": round(f, 4),
                         "colour": "red" if f >= th.red else "yellow" if f >= th.yellow
                         else "green"})  # fmt: skip
        worst = max((r["bad_fraction"] for r in rows), default=0.0)
        lat, lon, bbox = area_extent(cells)
        from picket.detect.places import describe

        place = describe(lat, lon)
        hexid = h3.int_to_str(anchor)
        share = n_bad / n_ac if n_ac else 0.0
        ev: dict[str, Any] = {
            "place": place,
            "extent": {"bbox": bbox, "cells": len(cells), "resolution": th.resolution},
            "cell": hexid,  # the anchor: the area's name while it lasts
            "cells": rows[:200],
            "count_aircraft": n_ac,
            "count_good_aircraft": n_ac - n_bad,
            "count_bad_aircraft": n_bad,
            "share_degraded": round(share, 4),
            "bad_fraction": worst,  # gpsjam's measure, the worst cell of the area
            "colour": "red" if worst >= th.red else "yellow" if worst >= th.yellow else "green",
            "window_s": th.window_s,
            "bad_aircraft": [label(ctx, int(s)) for s in us[ac_bad][:20]],
            "method": GPSJAM_MEASURE,
            "thresholds": vars(th),
        }
        sev = "critical" if worst >= th.critical else "warning"
        n = len(cells)
        where = place["text"]
        summary = (f"GNSS interference over {n} cell{'s' if n > 1 else ''} around {where}: "
                   f"{n_bad} of {n_ac} aircraft reported degraded accuracy (NIC < 7 or "
                   f"NACp < 8) in {th.window_s / 60:.0f} min; worst cell {worst:.0%} on "
                   "gpsjam's measure (one degraded aircraft per cell forgiven)")  # fmt: skip
        return Signal(kind=self.kind, subject=f"h3:{hexid}", time=now, lat=lat, lon=lon,
                      severity=sev, summary=summary, evidence=ev, domain="em")


@dataclass
class SpoofingThresholds(Thresholds, FixThresholds):
    """Fusion's fix judgement (FixThresholds) plus what the alert reports."""

    airborne_alt_m: float = th(
        3000.0,
        "above this (barometric) an aircraft is airborne for the ground-speed clue",
        "picket: above Europe's highest airports (Samedan, 1707 m)",
    )
    min_airborne_gs_ms: float = th(
        40.0,
        "an airborne ground speed under this is implausible (a clue, not a trigger)",
        "~78 kn: below the stall speed of transport aircraft; slow aircraft rarely fly "
        "above 3000 m into a headwind this strong",
    )
    max_gs_ms: float = th(
        350.0,
        "a ground speed over this is implausible for a civil aircraft (a clue)",
        "M 0.85 at FL350 plus a 100 m/s jet-stream tailwind",
    )
    heartbeat_s: float = th(
        300.0,
        "an open episode is signalled again this often while displaced fixes arrive",
        "picket: well inside the alert book's 30-min quiet close, so a spoof lasting hours "
        "keeps one alert open until its jump out",
    )


class GnssSpoofing:
    """Alerts on fusion's confirmed displacements: one alert per episode, jumps in and out.

    A jump in opens the alert (stamped at the fix that confirmed it, with the first
    displaced fix's time and place as evidence); a move to another false place updates it;
    the jump back onto the dead-reckoned path closes it. Glitches never alert; they are
    counted per track (`n_glitches`) and in `self.glitches`.
    """

    kind = "gnss.spoofing"

    def __init__(self, th: SpoofingThresholds | None = None):
        self.th = th or SpoofingThresholds()
        self.jumps: dict[int, list[dict[str, Any]]] = {}
        self.glitches = 0  # held fixes that proved out-and-back glitches
        self.transitions = 0
        self.beat: dict[int, int] = {}  # slot -> heartbeat bucket last signalled

    def forget(self, slots: np.ndarray) -> None:
        """No episode open, no heartbeat; the glitch and transition counts are totals."""
        drop_slots(self.jumps, slots)
        drop_slots(self.beat, slots)

    def update(self, ctx: BatchContext) -> list[Signal]:
        tracks = ctx.tracks
        tracks.fix_th = self.th  # fusion judges fixes with this detector's configuration
        batch = tracks.batch
        if batch is None:
            return []
        self.glitches += sum(g[2] for g in batch.glitches)
        # fixes kept out while an episode is open keep it alive; taken in time order with
        # the transitions, so a fix counts only once its episode is open, in any batching
        rows = np.flatnonzero((batch.cls == SPOOFED) | (batch.cls == HELD))
        todo = [(float(tr["confirmed"]), 0, int(tr["row"]), tr) for tr in batch.transitions]
        todo += [(float(batch.own_t[i]), 1, int(i), None) for i in rows.tolist()]
        out: list[Signal] = []
        for t, _, i, tr in sorted(todo, key=lambda x: (int(ctx.slots[x[2]]), x[0], x[1])):
            sl = int(ctx.slots[i])
            b = int(np.floor(t / self.th.heartbeat_s))
            if tr is not None:
                self.beat[sl] = b
                out.append(self._signal(ctx, tr))
            elif sl in self.jumps and self.beat.get(sl) != b:
                self.beat[sl] = b
                out.append(self._still(ctx, sl, i))
        return out

    def _still(self, ctx: BatchContext, sl: int, row: int) -> Signal:
        """The episode goes on: the alert stays open (no quiet close) with fresh counts."""
        lst = self.jumps[sl]
        tc = ctx.tracks.cols
        ev = {
            "jumps": list(lst),
            "spoofed_fixes_kept_out": int(tc["n_spoofed"][sl]),
            "glitches": int(tc["n_glitches"][sl]),
            "still_displaced": {  # the latest fix kept out of the track
                "time": iso(float(ctx.reports.time[row])),
                "lat": float(ctx.reports.lat[row]),
                "lon": float(ctx.reports.lon[row]),
            },
        }
        n_in = sum(1 for j in lst if j["what"] != "out")
        summary = (f"{label(ctx, sl)} reported positions still displaced "
                   f"{lst[-1]['offset_from_dead_reckoning_m'] / 1000:.0f} km from its "
                   "dead-reckoned path: GNSS spoofing")  # fmt: skip
        sev = "critical" if n_in >= 2 else "warning"
        return make_signal(ctx, self.kind, sl, row, sev, summary, ev,
                           lat=float(tc["lat"][sl]), lon=float(tc["lon"][sl]))  # fmt: skip

    def _clues(self, ctx: BatchContext, sl: int) -> dict[str, Any]:
        th, tc = self.th, ctx.tracks.cols
        nic, nacp, ver = int(tc["nic"][sl]), int(tc["nacp"][sl]), int(tc["version"][sl])
        bad, judged = bad_integrity(np.array([nic]), np.array([nacp]), np.array([ver]),
                                    InterferenceThresholds())  # fmt: skip
        gs, alt = float(tc["speed"][sl]), float(tc["alt"][sl])
        gs_bad = bool(
            np.isfinite(gs)
            and (
                gs > th.max_gs_ms
                or (np.isfinite(alt) and alt > th.airborne_alt_m and gs < th.min_airborne_gs_ms)
            )
        )
        return {
            "nic": nic, "nacp": nacp,
            "integrity_degraded": bool(bad[0] and judged[0]),
            "ground_speed_ms": round(gs, 1) if np.isfinite(gs) else None,
            "altitude_m": round(alt) if np.isfinite(alt) else None,
            "ground_speed_implausible": gs_bad,
        }  # fmt: skip

    def _signal(self, ctx: BatchContext, tr: dict[str, Any]) -> Signal:
        sl, row, what = int(tr["slot"]), int(tr["row"]), tr["what"]
        self.transitions += 1
        lst = self.jumps.setdefault(sl, [])
        dist = haversine_m(tr["from"]["lat"], tr["from"]["lon"], tr["to"]["lat"], tr["to"]["lon"])
        dt = max(tr["time"] - tr["from"]["time"], 0.0)
        entry = {
            "what": what,
            "time": iso(tr["time"]),
            "confirmed": iso(tr["confirmed"]),
            "from": {**tr["from"], "time": iso(tr["from"]["time"])},
            "to": tr["to"],
            "dead_reckoned": tr["dead_reckoned"],
            "distance_m": round(float(dist), 1),
            "offset_from_dead_reckoning_m": round(tr["offset_m"], 1),
            "gap_s": round(dt, 1),
            "implied_speed_ms": round(float(dist) / max(dt, 1.0), 1),
            "reported_speed_ms": round(tr["speed_ms"], 1) if np.isfinite(tr["speed_ms"]) else None,
            "fixes_to_confirm": tr["fixes"],
        }
        lst.append(entry)
        del lst[:-20]
        clues = self._clues(ctx, sl)
        n_in = sum(1 for j in lst if j["what"] != "out")
        sev = "critical" if n_in >= 2 or clues["integrity_degraded"] else "warning"
        tc = ctx.tracks.cols
        ev = {
            "jumps": list(lst),
            "clues": clues,
            "spoofed_fixes_kept_out": int(tc["n_spoofed"][sl]),
            "glitches": int(tc["n_glitches"][sl]),
            "reports": report_evidence(ctx, [row]),
            "method": "persistent displacement from the dead-reckoned path (docs/air_detectors.md)",
            "thresholds": vars(self.th),
        }
        name = label(ctx, sl)
        km = entry["offset_from_dead_reckoning_m"] / 1000
        if what == "out":
            summary = (f"{name} reported positions back on its dead-reckoned path after "
                       f"{len(lst) and sum(1 for j in lst if j['what'] != 'out')} displacement(s): "
                       "GNSS spoofing ended")  # fmt: skip
            self.jumps.pop(sl, None)
            return make_signal(ctx, self.kind, sl, row, "info", summary, ev, ended=True)
        summary = (f"{name} reported positions displaced {km:.0f} km from its dead-reckoned path "
                   f"and holding there ({tr['fixes']} fixes): GNSS spoofing")  # fmt: skip
        dr = tr["dead_reckoned"]
        return make_signal(ctx, self.kind, sl, row, sev, summary, ev,
                           lat=dr["lat"], lon=dr["lon"])  # fmt: skip


@dataclass
class SpoofingAreaThresholds(Thresholds):
    resolution: int = th(4, "H3 resolution of the cells", "as gnss.interference (gpsjam.org)")
    window_s: float = th(900.0, "rolling window of a cell", "as gnss.interference (issue #4)")
    sample_s: float = th(20.0, "one spoofed fix per aircraft per this many seconds",
                         "as gnss.interference")  # fmt: skip
    check_every_s: float = th(60.0, "cells re-judged this often (event time)", "picket")
    min_aircraft: int = th(
        2,
        "spoofed aircraft in a cell's window that light it",
        "picket: one aircraft already has its gnss.spoofing alert; two displaced at once "
        "are a transmitter, not an avionics fault (as gnss.interference forgives one box)",
    )
    same_place_m: float = th(
        30_000.0,
        "displaced positions closer than this are 'displaced to the same place'",
        "picket: ~ one resolution-4 cell; area spoofers place victims at one point or ring",
    )


class GnssSpoofingArea:
    """H3 cells (where spoofed aircraft truly were) with the count of aircraft spoofed there.

    The cell is that of the aircraft's dead-reckoned position at the jump in (its true
    whereabouts, as far as known); evidence says where the aircraft were displaced to and
    whether several were displaced to the same place (area spoofing)."""

    kind = "gnss.spoofing_area"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)

    def __init__(self, th: SpoofingAreaThresholds | None = None):
        self.th = th or SpoofingAreaThresholds()
        # slot -> (cell where the displacement began, where the aircraft was displaced to)
        self.home: dict[int, tuple[int, float, float]] = {}
        self.last_bucket: dict[int, int] = {}
        self.samples: list[tuple[float, int, int, float, float]] = []  # t, cell, slot, lat, lon
        self.lit: set[int] = set()
        self.book = AreaBook()
        self.ticker = Ticker(self.th.check_every_s, self.th.window_s)

    def forget(self, slots: np.ndarray) -> None:
        """The slots' displacement, sample bucket and samples go (a cell counts aircraft by
        slot); lit cells and areas are kept by place."""
        if not len(slots):
            return
        drop_slots(self.home, slots)
        drop_slots(self.last_bucket, slots)
        if self.samples:
            sl = np.fromiter((x[2] for x in self.samples), np.int64, len(self.samples))
            gone = np.isin(sl, slots)
            if gone.any():
                self.samples = [x for x, g in zip(self.samples, gone.tolist(), strict=True)
                                if not g]  # fmt: skip

    def update(self, ctx: BatchContext) -> list[Signal]:
        th = self.th
        batch = ctx.tracks.batch
        if batch is not None:
            trs = {int(t["row"]): t for t in batch.transitions}
            # fixes held before a confirmation count from the confirmation on, whatever the
            # batching (held in an earlier batch, they were never SPOOFED rows)
            since = {int(t["slot"]): float(t["confirmed"]) for t in batch.transitions}
            rows = np.flatnonzero(batch.cls == SPOOFED)
            for i in sorted(set(rows.tolist()) | set(trs)):
                sl, ti = int(ctx.slots[i]), float(ctx.reports.time[i])
                tr = trs.get(i)
                if tr is not None and tr["what"] == "out":
                    self.home.pop(sl, None)
                    continue
                if tr is not None:  # in, or moved to another false place
                    dr = tr["dead_reckoned"]
                    c = h3.str_to_int(h3.latlng_to_cell(dr["lat"], dr["lon"], th.resolution))
                    if tr["what"] == "in" or sl not in self.home:
                        self.home[sl] = (c, tr["to"]["lat"], tr["to"]["lon"])
                    else:
                        self.home[sl] = (self.home[sl][0], tr["to"]["lat"], tr["to"]["lon"])
                if sl not in self.home or batch.cls[i] != SPOOFED or ti < since.get(sl, -np.inf):
                    continue
                b = int(np.floor(ti / th.sample_s))
                if self.last_bucket.get(sl) == b:
                    continue
                self.last_bucket[sl] = b
                cell, to_lat, to_lon = self.home[sl]
                self.samples.append((ti, cell, sl, to_lat, to_lon))
        if not self.samples:
            return []
        t = np.array([x[0] for x in self.samples])
        now = ctx.world.now_of(Domain.AIR, ctx.now)
        out: list[Signal] = []
        for tk in self.ticker.due(float(t.min()), now, t).tolist():
            out += self._judge(ctx, tk, (t <= tk) & (t >= tk - th.window_s))
        # keep samples until the tick after they leave the window has closed their cell
        horizon = self.ticker.done - th.window_s - 2 * th.check_every_s
        self.samples = [x for x in self.samples if x[0] >= horizon]
        return out

    def _judge(self, ctx: BatchContext, tk: float, inside: np.ndarray) -> list[Signal]:
        """Lit cells (enough spoofed aircraft in the window) form areas, one alert each."""
        th = self.th
        by_cell: dict[int, dict[int, tuple[float, float]]] = {}
        for x, ok in zip(self.samples, inside.tolist(), strict=True):
            if ok:
                by_cell.setdefault(x[1], {})[x[2]] = (x[3], x[4])  # where it was displaced to
        self.lit = {c for c, ac in by_cell.items() if len(ac) >= th.min_aircraft}
        areas, ended = self.book.assign(group_cells(self.lit))
        out = [self._signal(ctx, a, {c: by_cell[c] for c in g}, tk) for a, g in areas]
        for a in ended:
            lat, lon = h3.cell_to_latlng(h3.int_to_str(a))
            out.append(Signal(kind=self.kind, subject=f"h3:{h3.int_to_str(a)}", time=tk,
                              lat=lat, lon=lon, severity="info", summary="", evidence={},
                              domain="em", ended=True))  # fmt: skip
        return out

    def _signal(self, ctx: BatchContext, anchor: int,
                cells: dict[int, dict[int, tuple[float, float]]], tk: float) -> Signal:
        from picket.detect.places import describe

        th = self.th
        ac: dict[int, tuple[float, float]] = {}
        for c in sorted(cells):
            ac.update(cells[c])
        hexid = h3.int_to_str(anchor)
        lat, lon, bbox = area_extent(set(cells))
        places = [{"aircraft": label(ctx, sl), "lat": round(a, 5), "lon": round(b, 5)}
                  for sl, (a, b) in sorted(ac.items())][:20]  # fmt: skip
        same = 0
        if len(ac) >= 2:
            pts = np.array(list(ac.values()))
            d = haversine_m(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
            same = int(((d <= th.same_place_m).sum(axis=1) - 1).max()) + 1
        rows = []
        for c in sorted(cells):
            la, lo = h3.cell_to_latlng(h3.int_to_str(c))
            rows.append({"cell": h3.int_to_str(c), "lat": round(la, 4), "lon": round(lo, 4),
                         "count_spoofed_aircraft": len(cells[c])})  # fmt: skip
        place = describe(lat, lon)
        ev = {
            "place": place, "cell": hexid,
            "extent": {"bbox": bbox, "cells": len(cells), "resolution": th.resolution},
            "cells": rows[:200], "resolution": th.resolution,
            "count_spoofed_aircraft": len(ac),
            "displaced_to": places, "most_displaced_to_one_place": same,
            "window_s": th.window_s,
            "thresholds": vars(th),
        }  # fmt: skip
        sev = "critical" if same >= 2 else "warning"
        n = len(cells)
        summary = (f"GNSS spoofing: {len(ac)} aircraft displaced while over {n} "
                   f"cell{'s' if n > 1 else ''} around {place['text']}"
                   + (f", {same} to the same place" if same >= 2 else ""))  # fmt: skip
        return Signal(kind=self.kind, subject=f"h3:{hexid}", time=tk, lat=lat, lon=lon,
                      severity=sev, summary=summary, evidence=ev, domain="em")
