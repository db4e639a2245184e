"""Vessel motion rules: anchor drag, drift, loitering (maritime.* kinds)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

import numpy as np

from picket.detect.base import Thresholds, in_zone_kinds, label, subject_name, th
from picket.detect.harbours import harbour_at
from picket.detect.maritime_transit import (
    PORT_KINDS,
    AlongAsset,
    SlowTransit,
    StartValueSustain,
    View,
    along_km,
)
from picket.detect.sustained import SustainedDetector
from picket.fusion.context import BatchContext
from picket.geo.geodesy import angle_diff_deg
from picket.model.alerts import Signal
from picket.model.reports import Domain

AT_ANCHOR, NOT_UNDER_COMMAND, MOORED, AGROUND, SAILING = 1, 2, 5, 6, 8


@dataclass
class AnchorDragThresholds(Thresholds):
    # the status rule: a vessel saying it is at anchor (or moored) that keeps moving
    min_speed_kn: float = th(
        1.0,
        "below this a vessel is swinging on its chain, not dragging",
        "issue #3 (SOG roughly 1-7 kn); Eagle S dragged at 6-8 kn, 2024",
    )
    max_speed_kn: float = th(
        7.0,
        "above this the vessel is under way, whatever its status says",
        "issue #3 (SOG roughly 1-7 kn)",
    )
    min_duration_s: float = th(
        300.0,
        "the motion lasts at least this long",
        "picket: 5 min filters a single GPS jump or a status set late",
    )
    min_distance_m: float = th(
        300.0,
        "and carries the vessel this far from where it began",
        "picket: beyond the swing circle of a large ship (~200-250 m)",
    )
    # the stopped-engine rule: moving like a ship adrift, inside a protected corridor
    engine_min_speed_kn: float = th(
        1.0, "stopped-engine drift over ground, lower end", "DMA AisAbnormal drift rule"
    )
    engine_max_speed_kn: float = th(
        5.0,
        "upper end: wind and current rarely push a stopped ship faster; above it a bow "
        "45 deg off the course is more likely a wrong heading sensor than a drift",
        "DMA AisAbnormal drift rule (1-5 kn)",
    )
    engine_min_course_heading_deg: float = th(
        45.0, "|COG - heading| at least this (beam-on or stern-first)", "DMA AisAbnormal drift"
    )
    engine_nuc_min_speed_kn: float = th(
        0.5,
        "'not under command' counts from this speed: a powerless ship drifting with an "
        "anchor down moves at well under a knot",
        "picket, as maritime.drift: below 0.5 kn is GPS noise",
    )
    engine_nuc_max_speed_kn: float = th(
        7.0,
        "'not under command' counts whatever its heading, up to this speed",
        "issue #3 (SOG roughly 1-7 kn)",
    )
    engine_min_duration_s: float = th(
        600.0, "sustained at least this long", "DMA AisAbnormal drift rule (10 min)"
    )
    engine_min_distance_m: float = th(
        500.0, "and moved at least this far", "DMA AisAbnormal drift rule (500 m)"
    )
    # the transit rule: slowly following a cable or pipeline
    transit_min_speed_kn: float = th(
        1.0, "slow transit speed window, lower end", "issue #3 (SOG roughly 1-7 kn)"
    )
    transit_max_speed_kn: float = th(
        7.0,
        "slow transit speed window, upper end",
        "issue #3 (<= 7 kn); Yi Peng 3 went ~7 kn with its anchor down (AIS, Nov 2024)",
    )
    transit_min_along_m: float = th(
        3000.0,
        "net progress along the asset, inside its corridor, before the rule fires",
        "picket: more than a 1 km corridor's width (2 km), so a crossing steeper than "
        "~34 deg never qualifies; real drag trails ran 100-180 km",
    )
    transit_grace_s: float = th(
        300.0,
        "a report outside the corridor or the speed window ends the run after this long",
        "picket: 5 min of GPS noise or a speed blip; longer means it left the line",
    )


EXCLUDED_FROM_ENGINE = (AT_ANCHOR, MOORED, AGROUND, SAILING)


def rule_thresholds(th: AnchorDragThresholds, prefix: str) -> SimpleNamespace:
    """One rule's view of the shared thresholds, prefix dropped (its evidence shows these)."""
    return SimpleNamespace(
        **{f.name[len(prefix) :]: getattr(th, f.name) for f in fields(th)
           if f.name.startswith(prefix)}
    )  # fmt: skip


def with_along(ev: dict[str, Any], sus: StartValueSustain, rows: np.ndarray, row: int) -> bool:
    """Add how far the run has gone along protected lines, if it has been in a corridor
    (or `ev` names one); True when it has."""
    metres, inside = sus.since_start(int(np.searchsorted(rows, row)))
    if inside > 0 or "infrastructure" in ev:
        ev["along_km"] = along_km(metres)
    return inside > 0


class _MeasuredRule(SustainedDetector):
    """A sustained rule that watches only tracks that could match, and reads the odometer."""

    kind = "maritime.anchor_drag"
    domain = Domain.MARITIME

    def __init__(self, th: SimpleNamespace):
        super().__init__(th)
        self.sus = StartValueSustain(grace_s=self.sus.grace_s, max_gap_s=self.sus.max_gap_s)
        self.odo = np.zeros((0, 2))  # odometers per batch row, set by AnchorDrag before update

    def candidates(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        """A cheap superset of the rows that can satisfy the condition."""
        raise NotImplementedError

    def rows(self, ctx: BatchContext) -> np.ndarray:
        view = View.of(ctx)
        return view.tracks_of(view.rows, self.candidates(ctx, view.rows), np.isfinite(self.sus.t0))

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        self.sus.value = self.odo[rows]
        return self.matches(ctx, rows)

    def matches(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class AnchorStatusDrag(_MeasuredRule):
    """A vessel reporting 'at anchor' or 'moored' that keeps moving over the ground."""

    def candidates(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        st = ctx.reports.nav_status[rows]
        v = View.of(ctx).speed_kn[rows]
        moving = (v >= self.th.min_speed_kn) & (v <= self.th.max_speed_kn)
        return moving & ((st == AT_ANCHOR) | (st == MOORED))

    def matches(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        return self.candidates(ctx, rows)

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        infra = self.corridor(ctx, row)
        v = float(self.speed_kn(ctx, np.array([row]))[0])
        status = "at anchor" if ctx.reports.nav_status[row] == AT_ANCHOR else "moored"
        ev: dict[str, Any] = {
            "behaviour": f"{status} but moving",
            "speed_kn": round(v, 2),
            "nav_status": status,
        }
        where = ""
        if infra:
            ev["infrastructure"] = infra
            where = f" inside the {infra['name']} corridor ({infra['distance_m']:.0f} m off)"
        touched = with_along(ev, self.sus, self._rows, row)
        summary = (f"{label(ctx, slot)} reports {status} but has moved {moved:.0f} m "
                   f"in {duration / 60:.0f} min at {v:.1f} kn{where}")  # fmt: skip
        return ("critical" if infra or touched else "warning"), summary, ev


class StoppedEngineDrag(_MeasuredRule):
    """Moving like a ship whose engine is stopped, over a protected line.

    A stopped ship drifts with wind and current: slowly, beam-on or stern-first,
    so its bow points well away from its course over ground; with an anchor down
    it still moves if the anchor drags. Whatever it claims to be doing (under
    way, restricted, undefined), that motion inside a cable or pipeline corridor
    is the drag hazard. 'Not under command' moving at 0.5-7 kn counts whatever its
    heading: the ship says it cannot manoeuvre. Outside corridors the same motion
    is `maritime.drift`'s business; ports and anchorages are excluded (tugs and
    thrusters move ships sideways there).
    """

    def candidates(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        view = View.of(ctx)
        v = view.speed_kn[rows]
        low = min(self.th.min_speed_kn, self.th.nuc_min_speed_kn)
        top = max(self.th.max_speed_kn, self.th.nuc_max_speed_kn)
        return (view.line[rows] >= 0) & (v >= low) & (v <= top)

    def matches(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        v = View.of(ctx).speed_kn[rows]
        st = r.nav_status[rows]
        off = np.abs(angle_diff_deg(r.course[rows], r.heading[rows]))
        adrift = (
            (v >= self.th.min_speed_kn) & (v <= self.th.max_speed_kn) & np.isfinite(off)
            & (off >= self.th.min_course_heading_deg) & ~np.isin(st, EXCLUDED_FROM_ENGINE)
        )  # fmt: skip
        nuc = (st == NOT_UNDER_COMMAND) & (v >= self.th.nuc_min_speed_kn)
        nuc &= v <= self.th.nuc_max_speed_kn
        m = self.candidates(ctx, rows) & (adrift | nuc)
        idx = np.flatnonzero(m)
        if len(idx):
            m[idx[in_zone_kinds(ctx, r.lat[rows[idx]], r.lon[rows[idx]], PORT_KINDS)]] = False
        return m

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        r = ctx.reports
        v = float(self.speed_kn(ctx, np.array([row]))[0])
        infra = self.corridor(ctx, row)
        nuc = r.nav_status[row] == NOT_UNDER_COMMAND
        off = float(abs(angle_diff_deg(r.course[row], r.heading[row])))
        ev: dict[str, Any] = {
            "behaviour": "not under command, moving" if nuc else "stopped-engine drift",
            "speed_kn": round(v, 2),
            "nav_status": int(r.nav_status[row]),
        }
        if np.isfinite(off):
            ev.update(course=float(r.course[row]), heading=float(r.heading[row]),
                      course_heading_deg=round(off, 1))  # fmt: skip
        name = "a protected line"
        if infra:
            ev["infrastructure"] = infra
            name = infra["name"]
        with_along(ev, self.sus, self._rows, row)
        how = "not under command" if nuc else f"bow {off:.0f} deg off its course"
        km = ev["along_km"]
        summary = (f"{label(ctx, slot)} moving like a ship adrift ({how}) at {v:.1f} kn for "
                   f"{duration / 60:.0f} min over {name}, {km:.1f} km along it")  # fmt: skip
        return "critical", summary, ev


class AnchorDrag:
    """`maritime.anchor_drag`: three ways a vessel can drag an anchor, one alert per vessel.

    The status, stopped-engine and slow-transit rules keep their own runs; this
    class feeds them one shared along-asset odometer and merges their signals so
    an alert stays open while any rule still holds for the vessel, and closes
    when the last one ends.
    """

    kind = "maritime.anchor_drag"
    domain = Domain.MARITIME

    def __init__(self, th: AnchorDragThresholds | None = None):
        self.th = th or AnchorDragThresholds()
        t = self.th
        status = SimpleNamespace(
            min_speed_kn=t.min_speed_kn, max_speed_kn=t.max_speed_kn,
            min_duration_s=t.min_duration_s, min_distance_m=t.min_distance_m,
        )  # fmt: skip
        self.rules: list[Any] = [
            AnchorStatusDrag(status),
            StoppedEngineDrag(rule_thresholds(t, "engine_")),
            SlowTransit(rule_thresholds(t, "transit_")),
        ]
        self.along = AlongAsset()
        # the speeds at which any rule can hold: only there is progress along a line measured
        self.measure_kn = (
            min(t.min_speed_kn, t.engine_min_speed_kn, t.engine_nuc_min_speed_kn,
                t.transit_min_speed_kn),
            max(t.max_speed_kn, t.engine_max_speed_kn, t.engine_nuc_max_speed_kn,
                t.transit_max_speed_kn),
        )  # fmt: skip

    def forget(self, slots: np.ndarray) -> None:
        for rule in self.rules:
            rule.forget(slots)
        self.along.forget(slots)

    def update(self, ctx: BatchContext) -> list[Signal]:
        out = self._update(ctx)
        return self._merge(ctx, out) if out else []

    def _update(self, ctx: BatchContext) -> list[Signal]:
        view = View.of(ctx)
        rows = view.rows
        if not len(rows):
            return []
        odo = np.zeros((len(ctx.reports), 2))
        if ctx.world.lines:
            v = view.speed_kn[rows]
            lo, hi = self.measure_kn
            odo[rows] = self.along.update(ctx, rows, (v >= lo) & (v <= hi))
        out: list[tuple[str, Signal]] = []
        for rule in self.rules:
            rule.odo = odo
            out.extend((RULE_NAMES[type(rule)], sig) for sig in rule.update(ctx))
        return out

    def _merge(self, ctx: BatchContext, out: list[tuple[str, Signal]]) -> list[Signal]:
        """Drop a rule's end while another rule holds for the vessel; name what holds."""
        holding: dict[str, set[str]] = {}
        for rule in self.rules:
            for sl in rule.firing:
                holding.setdefault(subject_name(ctx, sl), set()).add(RULE_NAMES[type(rule)])
        merged = []
        for name, sig in out:
            if sig.ended and sig.subject in holding:
                continue  # another rule still holds: the alert stays open
            if not sig.ended:
                sig.evidence["behaviours"] = sorted(holding.get(sig.subject, set()) | {name})
            merged.append(sig)
        return merged


RULE_NAMES: dict[type, str] = {
    AnchorStatusDrag: "at anchor but moving",
    StoppedEngineDrag: "stopped-engine drift",
    SlowTransit: "slow transit",
}


@dataclass
class DriftThresholds(Thresholds):
    min_speed_kn: float = th(1.0, "drift speed window, lower end", "DMA AisAbnormal drift rule")
    max_speed_kn: float = th(5.0, "drift speed window, upper end", "DMA AisAbnormal drift rule")
    min_course_heading_deg: float = th(
        45.0, "|COG - heading| at least this", "DMA AisAbnormal drift rule"
    )
    min_duration_s: float = th(600.0, "sustained at least this long", "DMA AisAbnormal (10 min)")
    min_distance_m: float = th(500.0, "and moved at least this far", "DMA AisAbnormal (500 m)")
    nuc_min_speed_kn: float = th(
        0.5,
        "'not under command' counts as drifting above this speed",
        "picket: below 0.5 kn is GPS noise",
    )


class Drift(SustainedDetector):
    """Moving sideways to its heading at low speed, or 'not under command' while moving."""

    kind = "maritime.drift"
    domain = Domain.MARITIME

    def __init__(self, th: DriftThresholds | None = None):
        super().__init__(th or DriftThresholds())

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        v = self.speed_kn(ctx, rows)
        cog, hdg = r.course[rows], r.heading[rows]
        off = np.abs(angle_diff_deg(cog, hdg))
        sideways = (
            (v >= self.th.min_speed_kn)
            & (v <= self.th.max_speed_kn)
            & np.isfinite(off)
            & (off >= self.th.min_course_heading_deg)
        )
        nuc = (r.nav_status[rows] == NOT_UNDER_COMMAND) & (v >= self.th.nuc_min_speed_kn)
        return sideways | nuc

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        r = ctx.reports
        v = float(self.speed_kn(ctx, np.array([row]))[0])
        ev: dict[str, Any] = {
            "speed_kn": round(v, 2),
            "course": float(r.course[row]),
            "heading": float(r.heading[row]),
            "nav_status": int(r.nav_status[row]),
        }
        infra = self.corridor(ctx, row)
        if infra:
            ev["infrastructure"] = infra
        nuc = " (not under command)" if r.nav_status[row] == NOT_UNDER_COMMAND else ""
        summary = (
            f"{label(ctx, slot)} drifting{nuc} at {v:.1f} kn for {duration / 60:.0f} min, "
            f"{moved:.0f} m" + (f", inside the {infra['name']} corridor" if infra else "")
        )
        return ("critical" if infra else "warning"), summary, ev


@dataclass
class LoiteringThresholds(Thresholds):
    max_speed_kn: float = th(2.0, "every report below this speed", "Global Fishing Watch loitering")
    min_duration_s: float = th(3600.0, "for at least this long", "Global Fishing Watch (1 h)")
    min_distance_m: float = th(0.0, "no minimum displacement", "GFW")


class Loitering(SustainedDetector):
    """Lingering at low speed away from ports and anchorages (zones, or harbours learned
    from the traffic: `picket.detect.harbours`)."""

    kind = "maritime.loitering"
    stage = "area"  # needs neighbours or all traffic (picket.bus.stages)
    domain = Domain.MARITIME

    def __init__(self, th: LoiteringThresholds | None = None):
        super().__init__(th or LoiteringThresholds())

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        slow = self.speed_kn(ctx, rows) < self.th.max_speed_kn
        cand = np.flatnonzero(slow)
        if len(cand):
            cr = rows[cand]
            inport = in_zone_kinds(ctx, r.lat[cr], r.lon[cr], PORT_KINDS)
            inport |= harbour_at(ctx, r.lat[cr], r.lon[cr], r.time[cr])
            slow[cand[inport]] = False
        return slow

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        infra = self.corridor(ctx, row)
        ev: dict[str, Any] = {"nav_status": int(ctx.reports.nav_status[row])}
        if infra:
            ev["infrastructure"] = infra
        where = f" inside the {infra['name']} corridor" if infra else " away from port"
        v = self.th.max_speed_kn
        summary = f"{label(ctx, slot)} loitering below {v:g} kn for {duration / 3600:.1f} h{where}"
        return ("critical" if infra else "warning"), summary, ev
