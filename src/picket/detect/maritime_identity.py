"""maritime.identity_conflict: one MMSI in two places, invalid MMSIs, identity changes.

Two transmitters sharing an MMSI show up as a track that keeps jumping back
and forth faster than any ship sails; a single GPS glitch jumps once. So a
conflict needs `min_jumps` impossible jumps of at least `min_jump_m` within
`window_s`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import Thresholds, drop_slots, label, make_signal, report_evidence, th
from picket.fusion.context import BatchContext
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain
from picket.model.subjects import Namespace

KNOT = 1852 / 3600


@dataclass
class IdentityThresholds(Thresholds):
    max_speed_kn: float = th(
        50.0, "a jump faster than this is impossible for a ship", "issue #3 outlier limit (50 kn)"
    )
    min_jump_m: float = th(
        2000.0,
        "ignore jumps shorter than this (GPS glitches)",
        "picket: AIS position error rarely exceeds a few hundred metres",
    )
    min_jumps: int = th(3, "impossible jumps needed ...", "picket: alternation, not one glitch")
    window_s: float = th(900.0, "... within this window", "picket")
    check_mid: bool = th(
        True,
        "flag ship MMSIs whose MID is outside 201-775",
        "ITU-R M.585 (maritime identification digits)",
    )
    identity_fields: tuple[str, ...] = th(
        ("name", "imo"), "static fields whose change is flagged", "issue #3"
    )


class IdentityConflict:
    kind = "maritime.identity_conflict"

    def __init__(self, th: IdentityThresholds | None = None):
        self.th = th or IdentityThresholds()
        self.jumps: dict[int, deque[tuple[float, dict[str, Any]]]] = {}  # slot -> jumps
        self.checked_mid: set[int] = set()  # subjects (not slots) whose MMSI was checked

    def forget(self, slots: np.ndarray) -> None:
        """A slot's recent jumps go. `checked_mid` is keyed by subject, not slot: a new
        subject in the slot is checked anyway (and a returning one is not checked twice)."""
        drop_slots(self.jumps, slots)

    def update(self, ctx: BatchContext) -> list[Signal]:
        out: list[Signal] = []
        r = ctx.reports
        if not len(r):
            return out
        mar = r.domain == Domain.MARITIME
        jump = (
            mar & ctx.has_pos & (ctx.jump_speed > self.th.max_speed_kn * KNOT)
            & (ctx.jump_m > self.th.min_jump_m)
        )  # fmt: skip
        for row in np.flatnonzero(jump).tolist():
            sl = int(ctx.slots[row])
            q = self.jumps.setdefault(sl, deque())
            t = float(r.time[row])
            # the report itself, not its row: rows number one batch only, and the window
            # spans batches (an earlier batch's row would name another vessel's report)
            q.append((t, report_evidence(ctx, [row])[0]))
            while q and q[0][0] < t - self.th.window_s:
                q.popleft()
            if len(q) >= self.th.min_jumps:
                ev = {
                    "reason": "one MMSI in two places",
                    "positions": [
                        {"lat": float(ctx.prev_lat[row]), "lon": float(ctx.prev_lon[row]),
                         "time": iso(float(ctx.prev_t[row]))},
                        {"lat": float(r.lat[row]), "lon": float(r.lon[row]), "time": iso(t)},
                    ],
                    "distance_m": round(float(ctx.jump_m[row]), 1),
                    "implied_speed_kn": round(float(ctx.jump_speed[row]) / KNOT, 1),
                    "jumps_in_window": len(q),
                    "reports": [x[1] for x in q if isinstance(x[1], dict)][-6:],
                    "thresholds": vars(self.th),
                }  # fmt: skip
                summary = (f"{label(ctx, sl)} reported in two places "
                           f"{ctx.jump_m[row] / 1000:.0f} km apart at once")  # fmt: skip
                out.append(make_signal(ctx, self.kind, sl, row, "warning", summary, ev))
        if self.th.check_mid:
            out.extend(self._invalid_mmsi(ctx, mar))
        for subject, fld, old, new, when in ctx.identity_changes:
            if fld not in self.th.identity_fields or (subject >> 48) != Namespace.MMSI:
                continue
            sl = ctx.tracks.slot(subject)
            if sl is None:
                continue
            ev: dict[str, Any] = {"reason": "identity changed", "field": fld, "old": old,
                                  "new": new}  # fmt: skip
            out.append(make_signal(ctx, self.kind, sl, None, "info",
                                   f"{label(ctx, sl)} changed {fld} from {old!r} to {new!r}",
                                   ev, t=when))  # fmt: skip
        return out

    def _invalid_mmsi(self, ctx: BatchContext, mar: np.ndarray) -> list[Signal]:
        out = []
        rows = np.flatnonzero(mar & ctx.has_pos)
        subs, first = np.unique(ctx.reports.subject[rows], return_index=True)
        for sub, row in zip(subs.tolist(), rows[first].tolist(), strict=True):
            if sub in self.checked_mid:
                continue
            self.checked_mid.add(sub)
            mmsi = sub & ((1 << 48) - 1)
            reason = mmsi_problem(mmsi)
            if reason:
                sl = ctx.tracks.slot(sub)
                if sl is not None:
                    ev = {"reason": reason, "mmsi": mmsi}
                    summary = f"{label(ctx, sl)}: {reason}"
                    sig = make_signal(ctx, self.kind, sl, row, "info", summary, ev)
                    out.append(sig)
        return out


def mmsi_problem(mmsi: int) -> str | None:
    """Why an MMSI cannot belong to a ship station, or None if it can (ITU-R M.585)."""
    if not 0 < mmsi <= 999_999_999:
        return "MMSI out of range"
    s = f"{mmsi:09d}"
    if s[0] in "234567":
        mid = int(s[:3])
        if not 201 <= mid <= 775:
            return f"invalid MID {mid}"
        return None
    # group/coast (0), SAR aircraft (111), handheld (8), SART/MOB/EPIRB (97x), AtoN (99),
    # craft associated (98) are valid non-ship formats
    if s[0] in "089" or s.startswith("111"):
        return None
    return "MMSI not in any ITU format"
