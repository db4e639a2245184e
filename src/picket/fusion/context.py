"""The per-batch view every detector reads: reports, their tracks, and their jumps.

Fusion sorts a micro-batch by (track, time), links every position to the one
before it (in the batch or in the track's state), and marks kinematically
impossible jumps. The common case is vectorised; only subjects that actually
jump are walked row by row, to decide which positions the track keeps.

Aircraft get a finer judgement (`classify_air`, docs/air_detectors.md): a
repeated position is no new fix (OpenSky and aggregators forward-fill positions
between updates), kinematics use each fix's own time, and a fix off the
aircraft's dead-reckoned path is held back until it proves a glitch (the next
fixes come back: counted, no alert) or a persistent displacement (a spoof: kept
out of the track, which coasts on its last good fix, and reported to the
`gnss.spoofing` detector as a transition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.fusion.tracks import REPEAT_FIX, FixThresholds, TrackTable
from picket.geo.geodesy import EARTH_RADIUS_M, destination, haversine_m
from picket.model.decoded import Static
from picket.model.reports import Reports
from picket.model.world import World


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
    world: World = field(default_factory=World)  # the pipeline's geography and clocks
    _corridor: tuple[np.ndarray, np.ndarray] | None = None
    # what several detectors compute once per batch (e.g. the anchor-drag rules' view):
    # it lives and dies with the batch, never in the World
    memo: dict[str, Any] = field(default_factory=dict)

    def corridor(self) -> tuple[np.ndarray, np.ndarray]:
        """(line index or -1, distance m) of the protected corridor holding each row.

        Computed once per batch for every row with a position, and shared by
        all detectors: one vectorised spatial query instead of one per rule.
        """
        if self._corridor is None:
            n = len(self.reports)
            line, dist = np.full(n, -1, np.int64), np.full(n, np.inf)
            lines = self.world.lines
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


AIR = 1  # picket.model.reports.Domain.AIR (fusion does not import the detector layer)
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0  # metres per degree of latitude

# fix classes per batch row (FixBatch.cls)
NO_FIX, ACCEPTED, REPEAT, HELD, SPOOFED = 0, 1, REPEAT_FIX, 3, 4


@dataclass
class FixBatch:
    """What fusion decided about each aircraft fix of one batch (read by gnss.spoofing).

    `cls` per row (ACCEPTED, REPEAT, HELD: off the path and awaiting proof, SPOOFED: part of
    a confirmed displacement); `own_t` the time of the fix a row carries (a repeat carries
    its fix's time); `transitions` one dict per confirmed jump in or out of a displacement;
    `glitches` (slot, row, n) where a held run proved a glitch."""

    cls: np.ndarray
    own_t: np.ndarray
    transitions: list[dict[str, Any]] = field(default_factory=list)
    glitches: list[tuple[int, int, int]] = field(default_factory=list)


def _ffill_index(slots: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per row: the latest `valid` row at or before it in its slot's run, else -1."""
    n = len(slots)
    if not n:
        return np.empty(0, np.int64)
    ar = np.arange(n)
    gs = np.concatenate(([True], slots[1:] != slots[:-1]))
    gstart = np.maximum.accumulate(np.where(gs, ar, 0))
    run = np.maximum.accumulate(np.where(valid, ar, -1))
    return np.where(run >= gstart, run, -1)


def link_positions(r: Reports, slots: np.ndarray, tracks: TrackTable) -> tuple[np.ndarray, ...]:
    """Previous position per row (rows sorted by slot, time).

    For aircraft the previous position is the previous distinct fix (accepted or not) at
    its own time: a repeated position links to the fix it repeats with a zero jump, so
    forward-filled rows never feed jump speeds (`tracks.batch` keeps repeats and own times).
    """
    n = len(r)
    has_pos = r.has_position()
    idx = np.flatnonzero(has_pos)
    prev_t = np.full(n, np.nan)
    prev_lat = np.full(n, np.nan)
    prev_lon = np.full(n, np.nan)
    own_t = r.time.astype(float)
    cls = np.zeros(n, np.int8)
    tc = tracks.cols
    if len(idx):
        s = slots[idx]
        first = np.concatenate(([True], s[1:] != s[:-1]))
        pi = np.concatenate(([0], idx[:-1]))  # previous position row
        prev_t[idx] = np.where(first, tc["pos_time"][s], r.time[pi])
        prev_lat[idx] = np.where(first, tc["lat"][s], r.lat[pi])
        prev_lon[idx] = np.where(first, tc["lon"][s], r.lon[pi])
        air = r.domain[idx] == AIR
        if air.any():
            a_idx, sa = idx[air], s[air]
            fa = np.concatenate(([True], sa[1:] != sa[:-1]))
            pa = np.concatenate(([0], a_idx[:-1]))
            plat = np.where(fa, tc["fix_lat"][sa], r.lat[pa])
            plon = np.where(fa, tc["fix_lon"][sa], r.lon[pa])
            rep = (r.lat[a_idx] == plat) & (r.lon[a_idx] == plon)
            # own time: a distinct fix's is its own; a repeat carries its fix's (or the state's)
            j = _ffill_index(sa, ~rep)
            own = np.where(j >= 0, r.time[a_idx[np.maximum(j, 0)]], tc["fix_time"][sa])
            own_t[a_idx] = own
            prev_own = np.where(fa, tc["fix_time"][sa], np.concatenate(([np.nan], own[:-1])))
            prev_t[a_idx] = np.where(rep, own, prev_own)
            prev_lat[a_idx], prev_lon[a_idx] = plat, plon
            cls[a_idx] = np.where(rep, REPEAT, ACCEPTED)
    jump = np.full(n, np.nan)
    speed = np.full(n, np.nan)
    ok = has_pos & np.isfinite(prev_lat)
    if ok.any():
        jump[ok] = haversine_m(prev_lat[ok], prev_lon[ok], r.lat[ok], r.lon[ok])
        dt = np.maximum(np.abs(own_t[ok] - prev_t[ok]), 1.0)
        speed[ok] = jump[ok] / dt
    tracks.batch = FixBatch(cls, own_t)
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

    Aircraft: `classify_air`. Other domains: a position is an outlier when reaching it
    from the last *accepted* position needs more than the domain's speed limit; after
    `reanchor_after` outliers that agree with each other, the track moves to them (a real
    relocation, or a persistent false position that detectors have already flagged).
    """
    air = has_pos & (r.domain == AIR)
    outlier = np.zeros(len(r), bool)
    if air.any():
        batch = tracks.batch
        if batch is None or len(batch.cls) != len(r):  # called without link_positions
            link_positions(r, slots, tracks)
            batch = tracks.batch
        outlier |= classify_air(r, slots, air, tracks, batch)
    other = has_pos & ~air
    row_lim = np.full(len(r), np.inf)
    for d in np.unique(r.domain[other]).tolist():
        row_lim[r.domain == d] = tracks.max_speed.get(d, np.inf)
    seg = tracks.config.segment_gap_s
    new_segment = has_pos & (r.time - prev_t > seg)
    if new_segment.any():
        np.add.at(tracks.cols["n_segments"], slots[new_segment], 1)
    suspect = other & (jump_speed > row_lim) & ~new_segment
    if suspect.any():
        outlier |= _reanchor_walk(r, slots, other, suspect, row_lim, tracks)
    tracks.cols["n_outliers"][: tracks.n] += np.bincount(slots[outlier], minlength=tracks.n)[
        : tracks.n
    ]
    return outlier


def _reanchor_walk(r, slots, has_pos, suspect, row_lim, tracks) -> np.ndarray:
    """The non-aircraft outlier walk (speed limit, re-anchor after k agreeing outliers)."""
    seg = tracks.config.segment_gap_s
    outlier = np.zeros(len(r), bool)
    k = tracks.config.reanchor_after
    for s in np.unique(slots[suspect]).tolist():  # rows are sorted by slot: a binary search
        lo_i, hi_i = np.searchsorted(slots, s, "left"), np.searchsorted(slots, s, "right")
        rows = lo_i + np.flatnonzero(has_pos[lo_i:hi_i])
        lt = tracks.cols["pos_time"][s]
        la, lo = tracks.cols["lat"][s], tracks.cols["lon"][s]
        pending: list[int] = []
        cols = (r.time[rows].tolist(), r.lat[rows].tolist(), r.lon[rows].tolist())
        for i, t, a, b in zip(rows.tolist(), *cols, strict=True):
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
    return outlier


def dr_offset(
    th: FixThresholds,
    t0: np.ndarray | float,
    lat0: np.ndarray | float,
    lon0: np.ndarray | float,
    v0: np.ndarray | float,
    c0: np.ndarray | float,
    t: np.ndarray | float,
    lat: np.ndarray | float,
    lon: np.ndarray | float,
    v1: np.ndarray | float = np.nan,
    c1: np.ndarray | float = np.nan,
) -> tuple[np.ndarray, np.ndarray]:
    """(distance of a fix from the dead-reckoned position in metres, whether it fits).

    A fix at t fits an anchor fix at t0 (dt = t - t0) when both hold:

    - reach: it is within `min_offset_m + max_speed_ms dt` of the anchor: some aircraft
      could have flown there. The bound is not the aircraft's own reported speed: real
      OpenSky velocities go stale for minutes while positions come (143 m/s reported,
      200 m/s flown, in the traffic samples);
    - path: it is within `min_offset_m + max_accel_ms2 dt^2 / 2` of the anchor dead
      reckoned forward with the anchor's velocity (v0, c0), or of the fix dead reckoned
      back with its own (v1, c1): an aircraft whose acceleration stays under a_max is
      never further than a dt^2/2 from the straight-line prediction. Either end may
      carry the one glitched velocity (real data: 18 m/s at FL400), so either will do;
      with no velocity at either end only the reach applies.

    `min_offset_m` covers the position and timestamp error of one fix.
    """
    dt = np.maximum(np.asarray(t, float) - t0, 0.0)
    v0, v1 = np.asarray(v0, float), np.asarray(v1, float)
    k0 = np.isfinite(v0) & np.isfinite(c0)
    k1 = np.isfinite(v1) & np.isfinite(c1)
    # local east/north metres (equirectangular about the mid latitude): within ~0.1 % over
    # the few hundred km these bounds ever matter, and a fraction of the great-circle cost
    lat0, lat = np.asarray(lat0, float), np.asarray(lat, float)
    dn = (lat - lat0) * M_PER_DEG
    dlon = (np.asarray(lon, float) - lon0 + 540.0) % 360.0 - 180.0
    de = dlon * M_PER_DEG * np.cos(np.radians(0.5 * (lat + lat0)))
    a0, a1 = np.radians(np.where(k0, c0, 0.0)), np.radians(np.where(k1, c1, 0.0))
    s0, s1 = np.where(k0, v0, 0.0) * dt, np.where(k1, v1, 0.0) * dt
    off0 = np.hypot(dn - s0 * np.cos(a0), de - s0 * np.sin(a0))
    off1 = np.hypot(dn - s1 * np.cos(a1), de - s1 * np.sin(a1))
    tol = th.min_offset_m + 0.5 * th.max_accel_ms2 * dt**2
    path = (k0 & (off0 <= tol)) | (k1 & (off1 <= tol)) | ~(k0 | k1)
    reach = np.hypot(dn, de) <= th.min_offset_m + th.max_speed_ms * dt
    off = np.where(k0, off0, np.where(k1, off1, np.hypot(dn, de)))
    return off, path & reach


def _hypot(x: float, y: float) -> float:
    """NumPy's hypot on two floats: `math.hypot` rounds differently in the last bit, and the
    walk must give exactly what the vectorised path gives."""
    return float(np.hypot(x, y))


def dr_fits(th: FixThresholds, a: list[float], f: list[float]) -> tuple[bool, float]:
    """`dr_offset` for one anchor `a` and one fix `f` (both [t, lat, lon, speed, course]) in
    plain floats: the fix-by-fix walk calls it for every fix, where thirty NumPy calls on
    single values cost ten times the arithmetic. The same formulas, step for step."""
    t0, lat0, lon0, v0, c0 = a
    t, lat, lon, v1, c1 = f
    dt = max(t - t0, 0.0)
    k0 = math.isfinite(v0) and math.isfinite(c0)
    k1 = math.isfinite(v1) and math.isfinite(c1)
    dn = (lat - lat0) * M_PER_DEG
    dlon = (lon - lon0 + 540.0) % 360.0 - 180.0
    de = dlon * M_PER_DEG * math.cos(math.radians(0.5 * (lat + lat0)))
    tol = th.min_offset_m + 0.5 * th.max_accel_ms2 * dt**2
    off0 = off1 = math.nan
    if k0:
        a0, s0 = math.radians(c0), v0 * dt
        off0 = _hypot(dn - s0 * math.cos(a0), de - s0 * math.sin(a0))
    if k1:
        a1, s1 = math.radians(c1), v1 * dt
        off1 = _hypot(dn - s1 * math.cos(a1), de - s1 * math.sin(a1))
    path = (k0 and off0 <= tol) or (k1 and off1 <= tol) or not (k0 or k1)
    dist = _hypot(dn, de)
    reach = dist <= th.min_offset_m + th.max_speed_ms * dt
    off = off0 if k0 else off1 if k1 else dist
    return bool(path and reach), off


def dr_fits_ok(th: FixThresholds, a: list[float], f: list[float]) -> bool:
    """`dr_fits(th, a, f)[0]` without its three NumPy `hypot` calls (most of a walked fix's
    cost): squared lengths decide wherever they are clear of the limit by far more than
    `hypot`'s rounding (1e-9 relative); a length that close to its limit takes `dr_fits`."""
    t0, lat0, lon0, v0, c0 = a
    t, lat, lon, v1, c1 = f
    dt = max(t - t0, 0.0)
    dn = (lat - lat0) * M_PER_DEG
    dlon = (lon - lon0 + 540.0) % 360.0 - 180.0
    de = dlon * M_PER_DEG * math.cos(math.radians(0.5 * (lat + lat0)))
    reach = _within(dn, de, th.min_offset_m + th.max_speed_ms * dt)
    if reach is None:
        return dr_fits(th, a, f)[0]
    if not reach:
        return False
    k0 = math.isfinite(v0) and math.isfinite(c0)
    k1 = math.isfinite(v1) and math.isfinite(c1)
    if not (k0 or k1):
        return True
    tol = th.min_offset_m + 0.5 * th.max_accel_ms2 * dt**2
    for k, v, c in ((k0, v0, c0), (k1, v1, c1)):
        if k:
            ang, s = math.radians(c), v * dt
            on = _within(dn - s * math.cos(ang), de - s * math.sin(ang), tol)
            if on is None:
                return dr_fits(th, a, f)[0]
            if on:
                return True
    return False


def _within(x: float, y: float, limit: float) -> bool | None:
    """hypot(x, y) <= limit, or None when too close to call from x*x + y*y (or NaN)."""
    q, lim2 = x * x + y * y, limit * limit
    if q < lim2 * (1 - 1e-9):
        return True
    if q > lim2 * (1 + 1e-9):
        return False
    return None


def stale_axis(th: FixThresholds, a: list[float], f: list[float]) -> bool:
    """Fix f repeats one coordinate of fix a bit for bit although its own velocity should
    have moved it more than `stale_axis_m` along that axis: a coordinate forward-filled
    on its own (real OpenSky data freezes a longitude for minutes while latitude moves).
    Such a fix is no evidence that a displacement persists."""
    dt = max(f[0] - a[0], 0.0)
    if not (np.isfinite(f[3]) and np.isfinite(f[4])):
        return f[1] == a[1] or f[2] == a[2]
    c = np.radians(f[4])
    north, east = abs(f[3] * np.cos(c)) * dt, abs(f[3] * np.sin(c)) * dt
    return bool((f[1] == a[1] and north > th.stale_axis_m)
                or (f[2] == a[2] and east > th.stale_axis_m))  # fmt: skip


_ANCHOR = ("t", "lat", "lon", "speed", "course")


def classify_air(
    r: Reports, slots: np.ndarray, air: np.ndarray, tracks: TrackTable, batch: FixBatch
) -> np.ndarray:
    """Aircraft fixes the track must not follow; fills `batch` (classes, transitions).

    Each distinct fix is judged against the dead-reckoned path of the track's anchor: the
    last good fix, or while displaced the last displaced fix. A fix off that path is held;
    held fixes that agree with each other for `confirm_fixes` fixes and `confirm_s` make a
    transition (into a displacement, back onto the good path, or to another false place);
    a fix back on the anchor's path first makes them a glitch. Vectorised for tracks whose
    every fix follows the one before; only the others are walked fix by fix.
    """
    th = tracks.fix_th
    tc = tracks.cols
    cls, own = batch.cls, batch.own_t
    n = len(r)
    # velocity per row: the latest speed and course at or before it (state seeds the first)
    has_v = np.isfinite(r.speed) & np.isfinite(r.course)
    j = _ffill_index(slots, has_v)
    spd = np.where(j >= 0, r.speed[np.maximum(j, 0)], tc["speed"][slots]).astype(float)
    crs = np.where(j >= 0, r.course[np.maximum(j, 0)], tc["course"][slots]).astype(float)
    fix = air & (cls == ACCEPTED)
    fi = np.flatnonzero(fix)
    outlier = np.zeros(n, bool)
    np.add.at(tc["n_repeats"], slots[air & (cls == REPEAT)], 1)
    if not len(fi):
        _repeat_only(slots, air & (cls == REPEAT), outlier, tc)
        return outlier
    s = slots[fi]
    first = np.concatenate(([True], s[1:] != s[:-1]))
    pf = np.concatenate(([0], fi[:-1]))
    a_t = np.where(first, tc["fix_time"][s], own[pf])
    a_lat = np.where(first, tc["fix_lat"][s], r.lat[pf])
    a_lon = np.where(first, tc["fix_lon"][s], r.lon[pf])
    mode = tc["spoof_mode"][s] != 0  # displaced: the anchor is the last displaced fix
    a_v = np.where(first, np.where(mode, tc["alt_speed"][s], tc["good_speed"][s]), spd[pf])
    a_c = np.where(first, np.where(mode, tc["alt_course"][s], tc["good_course"][s]), crs[pf])
    _, fit = dr_offset(th, a_t, a_lat, a_lon, a_v, a_c, own[fi], r.lat[fi], r.lon[fi],
                       spd[fi], crs[fi])  # fmt: skip
    seg = tracks.config.segment_gap_s
    fresh = ~np.isfinite(a_lat) | (own[fi] - a_t > seg)
    walk = np.zeros(tracks.n, bool)
    walk[s[~fresh & ~fit]] = True
    walk[s[mode & fresh]] = True
    walk[s] |= (tc["pend_n"][s] > 0) | (~mode & tc["fix_out"][s])
    easy = ~walk[s]
    if easy.any():  # every fix follows the one before: the track goes on as it was
        fe, se, me = fi[easy], s[easy], mode[easy]
        last = np.concatenate((se[1:] != se[:-1], [True]))
        sl, il, ml = se[last], fe[last], me[last]
        anchor = (own[il], r.lat[il], r.lon[il], spd[il], crs[il])
        for q, v in zip(_ANCHOR, anchor, strict=True):
            tc[f"good_{q}"][sl[~ml]] = v[~ml]
            tc[f"alt_{q}"][sl[ml]] = v[ml]
        tc["fix_time"][sl], tc["fix_lat"][sl], tc["fix_lon"][sl] = own[il], r.lat[il], r.lon[il]
        tc["fix_out"][sl] = ml
        # displaced tracks: every fix follows the false chain, none enters the track
        outlier[fe[me]], cls[fe[me]] = True, SPOOFED
        np.add.at(tc["n_spoofed"], se[me], 1)
    for sl in np.flatnonzero(walk).tolist():
        a, b = np.searchsorted(slots, sl, "left"), np.searchsorted(slots, sl, "right")
        rows = a + np.flatnonzero(air[a:b])
        _walk(sl, rows, r, own, spd, crs, cls, outlier, tracks, batch)
    reps = air & (cls == REPEAT) & ~walk[slots]
    _repeat_only(slots, reps, outlier, tc)
    return outlier


def _repeat_only(slots: np.ndarray, reps: np.ndarray, outlier: np.ndarray, tc) -> None:
    """A repeat outside the walked tracks repeats a kept or a held fix: it shares its fate."""
    if not reps.any():
        return
    j = _ffill_index(slots, ~reps)  # never a fix in these tracks' rows: state decides
    ri = np.flatnonzero(reps)
    outlier[ri] = np.where(j[ri] >= 0, outlier[np.maximum(j[ri], 0)], tc["fix_out"][slots[ri]])


def _walk(sl, rows, r, own, spd, crs, cls, outlier, tracks: TrackTable, batch: FixBatch) -> None:
    """One track's fixes in time order through the displacement state machine."""
    th = tracks.fix_th
    tc = tracks.cols
    seg = tracks.config.segment_gap_s
    k, conf_s = th.confirm_fixes, th.confirm_s

    def anchor(p: str) -> list[float]:
        return [float(tc[f"{p}_{q}"][sl]) for q in _ANCHOR]

    def put(p: str, v: list[float]) -> None:
        for q, x in zip(_ANCHOR, v, strict=True):
            tc[f"{p}_{q}"][sl] = x

    def fits(a: list[float], f: list[float]) -> tuple[bool, float]:
        return dr_fits(th, a, f)

    mode = int(tc["spoof_mode"][sl])
    good, alt, pend, pend0 = anchor("good"), anchor("alt"), anchor("pend"), anchor("pend0")
    pend_n = int(tc["pend_n"][sl])
    pend_k = int(tc["pend_k"][sl])  # held fixes that count towards a confirmation
    pend_rows: list[int] = []
    last_out = bool(tc["fix_out"][sl])
    last_t = float(tc["fix_time"][sl])
    rl = rows.tolist()
    cols = zip(*(np.asarray(c)[rows].astype(float).tolist()
                 for c in (own, r.lat, r.lon, spd, crs)), strict=True)  # fmt: skip
    is_rep = (cls[rows] == REPEAT).tolist()
    for i, rep, f5 in zip(rl, is_rep, cols, strict=True):
        if rep:
            outlier[i] = last_out
            continue
        f = list(f5)
        if not math.isfinite(good[1]) or (math.isfinite(last_t) and f[0] - last_t > seg):
            mode, pend_n, good = 0, 0, f  # first fix, or a new segment: accepted anywhere
            last_out, last_t = False, f[0]
            continue
        last_t = f[0]
        ok = dr_fits_ok(th, alt if mode else good, f)
        if ok:
            if pend_n:
                tc["n_glitches"][sl] += pend_n
                batch.glitches.append((sl, i, pend_n))
                pend_n = 0
            if mode:
                alt = f
                outlier[i], cls[i], last_out = True, SPOOFED, True
                tc["n_spoofed"][sl] += 1
            else:
                good = f
                last_out = False
            continue
        if pend_n and dr_fits_ok(th, pend, f):
            pend_n += 1
            pend_k += 0 if stale_axis(th, pend, f) else 1
        else:
            if pend_n:
                tc["n_glitches"][sl] += pend_n
                batch.glitches.append((sl, i, pend_n))
            pend_n, pend_k, pend0 = 1, 1, f
            pend_rows = []
        pend = f
        pend_rows.append(i)
        outlier[i], cls[i], last_out = True, HELD, True
        if pend_k < k or f[0] - pend0[0] < conf_s:
            continue
        # a persistent displacement: a transition
        ref = alt if mode else good
        back, off_good = fits(good, pend0)
        _, off_ref = fits(ref, pend0)
        if mode and back:
            what, mode = "out", 0
            good = f
            outlier[i], cls[i], last_out = False, ACCEPTED, False
        else:
            what = "in" if not mode else "moved"
            mode = 1
            alt = f
            tc["n_spoofed"][sl] += pend_n
            for h in pend_rows:
                cls[h] = SPOOFED
            cls[i] = SPOOFED
        dr = destination(
            ref[1],
            ref[2],
            ref[4] if np.isfinite(ref[4]) else 0.0,
            (ref[3] if np.isfinite(ref[3]) else 0.0) * max(pend0[0] - ref[0], 0.0),
        )
        batch.transitions.append({
            "slot": sl, "row": i, "what": what, "time": pend0[0], "confirmed": f[0],
            "from": {"time": ref[0], "lat": ref[1], "lon": ref[2]},
            "to": {"lat": pend0[1], "lon": pend0[2]},
            "dead_reckoned": {"lat": float(dr[0]), "lon": float(dr[1])},
            "offset_m": off_ref, "good_offset_m": off_good, "fixes": pend_n,
            "speed_ms": ref[3],
        })  # fmt: skip
        pend_n = 0
        pend_rows = []
    tc["spoof_mode"][sl] = mode
    put("good", good)
    put("alt", alt)
    put("pend", pend)
    put("pend0", pend0)
    tc["pend_n"][sl] = pend_n
    tc["pend_k"][sl] = pend_k
    tc["fix_out"][sl] = last_out
    last = rows[cls[rows] != REPEAT]
    if len(last):
        i = int(last[-1])
        tc["fix_time"][sl], tc["fix_lat"][sl], tc["fix_lon"][sl] = own[i], r.lat[i], r.lon[i]
