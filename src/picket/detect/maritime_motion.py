"""Vessel motion rules: anchor drag, drift, loitering (maritime.* kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import Thresholds, in_zone_kinds, label, th
from picket.detect.sustained import SustainedDetector
from picket.fusion.context import BatchContext
from picket.geo.geodesy import angle_diff_deg
from picket.model.reports import Domain

PORT_KINDS = ("port", "anchorage")
AT_ANCHOR, MOORED, NOT_UNDER_COMMAND = 1, 5, 2


@dataclass
class AnchorDragThresholds(Thresholds):
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


class AnchorDrag(SustainedDetector):
    """A vessel reporting 'at anchor' or 'moored' that keeps moving over the ground."""

    kind = "maritime.anchor_drag"
    domain = Domain.MARITIME

    def __init__(self, th: AnchorDragThresholds | None = None):
        super().__init__(th or AnchorDragThresholds())

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        st = ctx.reports.nav_status[rows]
        v = self.speed_kn(ctx, rows)
        return (
            ((st == AT_ANCHOR) | (st == MOORED))
            & (v >= self.th.min_speed_kn)
            & (v <= self.th.max_speed_kn)
        )

    def describe(self, ctx, slot, row, duration, moved) -> tuple[str, str, dict[str, Any]]:
        infra = self.corridor(ctx, row)
        v = float(self.speed_kn(ctx, np.array([row]))[0])
        status = "at anchor" if ctx.reports.nav_status[row] == AT_ANCHOR else "moored"
        ev: dict[str, Any] = {"speed_kn": round(v, 2), "nav_status": status}
        where = ""
        if infra:
            ev["infrastructure"] = infra
            where = f" inside the {infra['name']} corridor ({infra['distance_m']:.0f} m off)"
        summary = (f"{label(ctx, slot)} reports {status} but has moved {moved:.0f} m "
                   f"in {duration / 60:.0f} min at {v:.1f} kn{where}")  # fmt: skip
        return ("critical" if infra else "warning"), summary, ev


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
    """Lingering at low speed away from ports and anchorages."""

    kind = "maritime.loitering"
    domain = Domain.MARITIME

    def __init__(self, th: LoiteringThresholds | None = None):
        super().__init__(th or LoiteringThresholds())

    def condition(self, ctx: BatchContext, rows: np.ndarray) -> np.ndarray:
        r = ctx.reports
        slow = self.speed_kn(ctx, rows) < self.th.max_speed_kn
        cand = np.flatnonzero(slow)
        if len(cand):
            inport = in_zone_kinds(ctx, r.lat[rows[cand]], r.lon[rows[cand]], PORT_KINDS)
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
