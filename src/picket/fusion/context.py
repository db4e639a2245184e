"""The per-batch view every detector reads: reports, their tracks, and their jumps.

Fusion sorts a micro-batch by (track, time), links every position to the one
before it (in the batch or in the track's state), and marks kinematically
impossible jumps. The common case is vectorised; only subjects that actually
jump are walked row by row, to decide which positions the track keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.fusion.tracks import TrackTable
from picket.geo.geodesy import haversine_m
from picket.model.decoded import Static
from picket.model.reports import Reports


@dataclass
class BatchContext:
    reports: Reports  # sorted by (slot, time); identified subjects only
    slots: np.ndarray  # track slot per row
    tracks: TrackTable  # state after this batch
    now: float  # event-time watermark
    has_pos: np.ndarray  # row carries a position
    prev_t: np.ndarray  # previous position time of the same subject (NaN if none)
    prev_lat: np.ndarray
    prev_lon: np.ndarray
    jump_m: np.ndarray  # distance from the previous position
    jump_speed: np.ndarray  # implied speed from the previous position (m/s)
    outlier: np.ndarray  # position rejected from the track state
    statics: list[Static] = field(default_factory=list)
    identity_changes: list[tuple[int, str, Any, Any, float]] = field(default_factory=list)
    plots: Reports | None = None  # anonymous plots (tracker input), time-sorted
    env: dict[str, Any] = field(default_factory=dict)  # zones, lines, shared lookups
    _corridor: tuple[np.ndarray, np.ndarray] | None = None

    def corridor(self) -> tuple[np.ndarray, np.ndarray]:
        """(line index or -1, distance m) of the protected corridor holding each row.

        Computed once per batch for every row with a position, and shared by
        all detectors: one vectorised spatial query instead of one per rule.
        """
        if self._corridor is None:
            n = len(self.reports)
            line, dist = np.full(n, -1, np.int64), np.full(n, np.inf)
            lines = self.env.get("lines")
            idx = np.flatnonzero(self.has_pos)
            if lines is not None and len(lines) and len(idx):
                li, di = lines.in_corridor(self.reports.lat[idx], self.reports.lon[idx])
                line[idx], dist[idx] = li, di
            self._corridor = (line, dist)
        return self._corridor


DUP_FIELDS = ("lat", "lon", "alt", "speed", "course", "vrate", "squawk", "emergency", "nic", "nacp")


def duplicates(r: Reports, slots: np.ndarray, window_s: float = 2.0) -> np.ndarray:
    """Rows that repeat the row before: the same message heard by another receiver.

    Rows are sorted by (slot, time). A duplicate has the same subject and
    message type as its predecessor, comes from a different source within
    `window_s`, and decodes to the same values (NaN equal to NaN). Identical
    reports from one receiver are kept: an aircraft may say the same thing twice.
    """
    n = len(r)
    dup = np.zeros(n, bool)
    if n < 2:
        return dup
    same = (
        (slots[1:] == slots[:-1]) & (r.source[1:] != r.source[:-1])
        & (r.msg[1:] == r.msg[:-1]) & (np.abs(np.diff(r.time)) <= window_s)
    )  # fmt: skip
    for c in DUP_FIELDS:
        if not same.any():
            break
        v = r[c]
        eq = v[1:] == v[:-1]
        if v.dtype.kind == "f":
            eq |= np.isnan(v[1:]) & np.isnan(v[:-1])
        same &= eq
    dup[1:] = same
    return dup


def link_positions(r: Reports, slots: np.ndarray, tracks: TrackTable) -> tuple[np.ndarray, ...]:
    """Previous position per row (rows sorted by slot, time)."""
    n = len(r)
    has_pos = r.has_position()
    idx = np.flatnonzero(has_pos)
    prev_t = np.full(n, np.nan)
    prev_lat = np.full(n, np.nan)
    prev_lon = np.full(n, np.nan)
    if len(idx):
        s = slots[idx]
        first = np.r_[True, s[1:] != s[:-1]]
        pi = np.r_[0, idx[:-1]]  # previous position row
        prev_t[idx] = np.where(first, tracks.cols["pos_time"][s], r.time[pi])
        prev_lat[idx] = np.where(first, tracks.cols["lat"][s], r.lat[pi])
        prev_lon[idx] = np.where(first, tracks.cols["lon"][s], r.lon[pi])
    jump = np.full(n, np.nan)
    speed = np.full(n, np.nan)
    ok = has_pos & np.isfinite(prev_lat)
    if ok.any():
        jump[ok] = haversine_m(prev_lat[ok], prev_lon[ok], r.lat[ok], r.lon[ok])
        dt = np.maximum(np.abs(r.time[ok] - prev_t[ok]), 1.0)
        speed[ok] = jump[ok] / dt
    return has_pos, prev_t, prev_lat, prev_lon, jump, speed


def reject_outliers(
    r: Reports,
    slots: np.ndarray,
    has_pos: np.ndarray,
    jump_speed: np.ndarray,
    tracks: TrackTable,
    prev_t: np.ndarray,
) -> np.ndarray:
    """Mark positions the track should not follow.

    A position is an outlier when reaching it from the last *accepted* position
    needs more than the domain's speed limit. After `reanchor_after` outliers
    that agree with each other, the track moves to them (a real relocation, or
    a persistent false position that detectors have already flagged).
    """
    row_lim = np.full(len(r), np.inf)
    for d in np.unique(r.domain).tolist():
        row_lim[r.domain == d] = tracks.max_speed.get(d, np.inf)
    seg = tracks.config.segment_gap_s
    new_segment = has_pos & (r.time - prev_t > seg)
    if new_segment.any():
        np.add.at(tracks.cols["n_segments"], slots[new_segment], 1)
    suspect = has_pos & (jump_speed > row_lim) & ~new_segment
    outlier = np.zeros(len(r), bool)
    if not suspect.any():
        return outlier
    k = tracks.config.reanchor_after
    for s in np.unique(slots[suspect]).tolist():
        rows = np.flatnonzero((slots == s) & has_pos)
        lt = tracks.cols["pos_time"][s]
        la, lo = tracks.cols["lat"][s], tracks.cols["lon"][s]
        pending: list[int] = []
        for i in rows.tolist():
            t, a, b = r.time[i], r.lat[i], r.lon[i]
            if not np.isfinite(la) or t - lt > seg:
                lt, la, lo = t, a, b
                pending.clear()
                continue
            v = haversine_m(la, lo, a, b) / max(abs(t - lt), 1.0)
            if v <= row_lim[i]:
                lt, la, lo = t, a, b
                pending.clear()
                continue
            if pending:
                j = pending[-1]
                vp = haversine_m(r.lat[j], r.lon[j], a, b) / max(abs(t - r.time[j]), 1.0)
                if vp > row_lim[i]:
                    pending.clear()
            pending.append(i)
            outlier[i] = True
            if len(pending) >= k:
                outlier[pending] = False
                lt, la, lo = t, a, b
                pending.clear()
    tracks.cols["n_outliers"][: tracks.n] += np.bincount(slots[outlier], minlength=tracks.n)[
        : tracks.n
    ]
    return outlier
