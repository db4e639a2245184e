"""What every detector shares: the interface, sustained conditions, evidence.

A detector reads a `BatchContext` and returns `Signal`s. Most maritime and air
rules are "condition C held for at least T (and moved at least D)": `Sustain`
keeps, per track slot, when and where the current run of C began, vectorised
over a batch sorted by (slot, time), so each rule is a few array expressions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

from picket import numba_boot
from picket.fusion.context import BatchContext
from picket.model import domains
from picket.model.alerts import Signal
from picket.model.subjects import format_subject
from picket.model.world import World

log = logging.getLogger(__name__)


class Detector(Protocol):
    kind: ClassVar[str]

    def update(self, ctx: BatchContext) -> list[Signal]: ...

    def forget(self, slots: np.ndarray) -> None:
        """Make `slots` as if never used: the pipeline gives a long-silent subject's slot to
        the next new subject (`Pipeline.forget_silent`), which must inherit nothing. A
        detector without per-slot state does nothing; one without this method keeps the
        pipeline from recycling slots at all (logged)."""
        ...


@dataclass
class Thresholds:
    """Base for detector settings; each field's metadata names its source."""

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        return [
            {
                "name": f.name,
                "default": f.default,
                "doc": f.metadata.get("doc", ""),
                "source": f.metadata.get("source", ""),
            }
            for f in fields(cls)
        ]


def th(default: Any, doc: str, source: str) -> Any:
    """A documented threshold: default value, meaning, and where the number comes from."""
    from dataclasses import field

    return field(default=default, metadata={"doc": doc, "source": source})


def group_starts(slots: np.ndarray) -> np.ndarray:
    """True at the first row of each run of equal slots."""
    out = np.ones(len(slots), bool)
    out[1:] = slots[1:] != slots[:-1]
    return out


def group_ends(slots: np.ndarray) -> np.ndarray:
    """True at the last row of each run of equal slots."""
    out = np.ones(len(slots), bool)
    out[:-1] = slots[1:] != slots[:-1]
    return out


def forget_rows(a: np.ndarray, slots: np.ndarray, fill: Any) -> None:
    """Reset per-slot state `a` at `slots` to `fill` (slots past its end were never
    written: arrays grow as slots are first met)."""
    s = slots[slots < len(a)]
    if len(s):
        a[s] = fill


def drop_slots(d: dict[int, Any], slots: np.ndarray) -> None:
    """Remove the entries of `slots` from a dict keyed by slot (one `isin` over its keys:
    such dicts hold the few tracks firing or listed, `slots` may be many)."""
    if d:
        keys = np.fromiter(d, np.int64, len(d))
        for k in keys[np.isin(keys, slots)].tolist():
            del d[k]


def grown(a: np.ndarray, n: int, fill: float | int) -> np.ndarray:
    """`a` with room for index n - 1 (doubling, new rows `fill`): per-slot detector state."""
    if n <= len(a):
        return a
    out = np.full(max(n, 2 * len(a), 1024), fill, a.dtype)
    out[: len(a)] = a
    return out


def group_ffill(slots: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the latest finite value at or before it in the same slot (rows sorted by
    slot, then time), else NaN. One running maximum of row numbers, no Python loop."""
    n = len(values)
    if not n:
        return np.empty(0)
    rows = np.arange(n)
    idx = np.maximum.accumulate(np.where(np.isfinite(values), rows, -1))
    start = np.maximum.accumulate(np.where(group_starts(slots), rows, 0))
    return np.where(idx >= start, values[np.maximum(idx, 0)], np.nan)


def group_ffill_time(
    slots: np.ndarray, t: np.ndarray, mask: np.ndarray, seed: np.ndarray
) -> np.ndarray:
    """Per row: the latest t of a `mask` row at or before it in the same slot, else `seed`.

    Vectorised with one running maximum: each group's values are lifted by a
    per-group offset so that no group's maximum leaks into the next (int64 ms).
    """
    if not len(t):
        return np.empty(0)
    off, none = 10**13, -(10**12)
    gid = np.cumsum(group_starts(slots)) - 1
    tm = np.where(mask, np.round(t * 1000), none).astype(np.int64)
    gs = group_starts(slots)
    fin = np.isfinite(seed)  # np.where, not nan_to_num: 6x cheaper on a batch's rows
    sd = np.where(fin, np.round(np.where(fin, seed, 0.0) * 1000), none).astype(np.int64)
    tm[gs] = np.maximum(tm[gs], sd[gs])
    v = np.maximum.accumulate(tm + gid * off) - gid * off
    return np.where(v > none // 2, v / 1000.0, np.nan)


# `Sustain.update` runs its compiled loop (detect/sustain_kernels.py) from this many rows.
# A NumPy call costs about 0.4 ms whatever its size, the loop a few microseconds; numba's
# load costs about 110 MB of RSS and a few tenths of a second once. A replay's minute of a
# busy area (hundreds to thousands of rows) repays that at once; a small live feed's second
# of reports (tens of rows) keeps the NumPy form and never loads numba for it, unless a
# larger batch already did.
SUSTAIN_KERNEL_ROWS = 256
# the same numbers either way: once loaded, the loop serves every batch, however small
_SUSTAIN_LOADED: list[bool] = []
_SUSTAIN_BROKEN: list[str] = []  # why the compiled loop failed once: NumPy since


def _sustain_kernel() -> Any:
    """detect/sustain_kernels.py, or None without numba or after it failed once."""
    kern = numba_boot.twin("picket.detect.sustain_kernels", _SUSTAIN_BROKEN)
    if kern is not None:
        _SUSTAIN_LOADED[:] = [True]
    return kern


class Sustain:
    """Per-slot start time and place of the current run of a condition.

    `grace_s` bridges short lapses: a run goes on through false rows that come
    within `grace_s` of the last true one (a drifting ship that dips below the
    speed window for a few minutes is still drifting). A run never spans a
    silence longer than `max_gap_s` between a track's reports: what happened
    while nobody heard it was not observed.
    """

    def __init__(self, grace_s: float = 0.0, max_gap_s: float = 1800.0) -> None:
        self.grace_s = grace_s
        self.max_gap_s = max_gap_s
        self.last_t = np.full(0, np.nan)
        self.t0 = np.full(0, np.nan)
        self.lat0 = np.full(0, np.nan)
        self.lon0 = np.full(0, np.nan)
        self.last_true = np.full(0, np.nan)

    def _grow(self, n: int) -> None:
        for name in ("t0", "lat0", "lon0", "last_true", "last_t"):
            setattr(self, name, grown(getattr(self, name), n, np.nan))

    def update(
        self,
        slots: np.ndarray,
        t: np.ndarray,
        lat: np.ndarray,
        lon: np.ndarray,
        cond: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows sorted by (slot, time). Returns (t0, lat0, lon0, last_true) per row; t0 is NaN
        where the (grace-bridged) condition is false."""
        n = len(slots)
        if n == 0:
            e = np.empty(0)
            return e, e, e, e
        self._grow(int(slots.max()) + 1)
        kern = _sustain_kernel() if n >= SUSTAIN_KERNEL_ROWS or _SUSTAIN_LOADED else None
        if kern is not None:
            try:
                return kern.sustain(  # type: ignore[no-any-return]
                    slots, t, lat, lon, cond, self.grace_s, self.max_gap_s,
                    self.last_t, self.t0, self.lat0, self.lon0, self.last_true,
                )  # fmt: skip
            except Exception as e:  # a broken numba install must not stop a detector
                log.exception("Sustain's compiled loop failed: the NumPy form from now on")
                _SUSTAIN_BROKEN.append(repr(e))
        return self._update_numpy(slots, t, lat, lon, cond)

    def _update_numpy(self, slots, t, lat, lon, cond) -> tuple[np.ndarray, ...]:  # type: ignore[no-untyped-def]
        """`update` in vectorised NumPy: the reference, and the form small batches use."""
        n = len(slots)
        gs = group_starts(slots)
        prev_t = np.empty(n)
        prev_t[1:] = t[:-1]
        prev_t[gs] = self.last_t[slots[gs]]
        broken = ~(t - prev_t <= self.max_gap_s)  # first report ever, or after a long silence
        seed = np.where(broken[gs], np.nan, self.last_true[slots[gs]])
        seeds = np.full(n, np.nan)
        seeds[gs] = seed
        # last true time, not looking back across a break
        brk_t = group_ffill_time(slots, t, broken, np.full(n, np.nan))
        last_true = group_ffill_time(slots, t, cond, seeds)
        floor = np.where(np.isnan(brk_t), -np.inf, brk_t)  # brk_t is finite or NaN
        last_true = np.where(last_true >= floor, last_true, np.nan)
        live = cond | (t - last_true <= self.grace_s)
        idx = np.arange(n)
        prev_live = np.zeros(n, bool)
        prev_live[1:] = live[:-1]
        prev_live &= ~gs
        start_row = np.maximum.accumulate(np.where(live & (~prev_live | broken), idx, -1))
        gs_idx = np.maximum.accumulate(np.where(gs, idx, 0))
        continues = live & (start_row == gs_idx) & ~broken[gs_idx]
        src = np.maximum(start_row, 0)
        t0 = np.where(live, t[src], np.nan)
        lat0 = np.where(live, lat[src], np.nan)
        lon0 = np.where(live, lon[src], np.nan)
        carried = continues & np.isfinite(self.t0[slots])
        t0[carried] = self.t0[slots[carried]]
        lat0[carried] = self.lat0[slots[carried]]
        lon0[carried] = self.lon0[slots[carried]]
        last = np.ones(n, bool)
        last[:-1] = slots[1:] != slots[:-1]
        sl = slots[last]
        self.t0[sl], self.lat0[sl], self.lon0[sl] = t0[last], lat0[last], lon0[last]
        self.last_true[sl] = last_true[last]
        self.last_t[sl] = t[last]
        return t0, lat0, lon0, last_true

    def forget(self, slots: np.ndarray) -> None:
        for name in ("t0", "lat0", "lon0", "last_true", "last_t"):
            forget_rows(getattr(self, name), slots, np.nan)

    def reset(self, slots: np.ndarray) -> None:
        self._grow(int(slots.max()) + 1 if len(slots) else 0)
        self.t0[slots] = np.nan
        self.last_true[slots] = np.nan


NO_BUCKET = np.iinfo(np.int64).min


class Sampler:
    """One accepted position per track per `sample_s` bucket of event time.

    Area statistics count aircraft, not messages: a track reporting twice a
    second must weigh the same as one reporting every five. The last bucket
    taken per track is remembered, so a bucket split across two batches still
    gives one sample.
    """

    def __init__(self, sample_s: float):
        self.sample_s = sample_s
        self.last = np.full(0, NO_BUCKET)

    def rows(self, ctx: BatchContext, domain: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, slots) of the batch's new samples, in batch order."""
        r = ctx.reports
        rows = np.flatnonzero(ctx.has_pos & (r.domain == domain) & ~ctx.outlier)
        if not len(rows):
            return rows, rows
        s = ctx.slots[rows]
        bucket = np.floor(r.time[rows] / self.sample_s).astype(np.int64)
        self.last = grown(self.last, int(s.max()) + 1, NO_BUCKET)
        first = group_starts(s) | np.r_[False, bucket[1:] != bucket[:-1]]  # sorted by slot, time
        first &= bucket != self.last[s]
        rows, s, bucket = rows[first], s[first], bucket[first]
        ends = group_ends(s)
        self.last[s[ends]] = bucket[ends]
        return rows, s

    def forget(self, slots: np.ndarray) -> None:
        forget_rows(self.last, slots, NO_BUCKET)


class Ticker:
    """Fixed event-time ticks every `step_s`: a rule judged "every minute" is judged at the
    same instants whether reports arrive one second or one hour at a time.

    Only ticks that can see data are handed out: those within `horizon_s` after some report
    (the rule's window), plus the first tick after each such stretch (to close what the
    data stopped supporting). A tick with no report in its window judges nothing a later
    tick would not, so skipping the empty stretch changes no alert, and the work (and
    memory) grows with the data, never with the span of event time: a report dated 2300
    among 2024 ones costs a few ticks, not a century of them."""

    def __init__(self, step_s: float, horizon_s: float = np.inf):
        self.step_s = step_s
        self.horizon_s = horizon_s
        self.done = -np.inf  # the last tick handed out

    def due(self, first_t: float, now: float, times: np.ndarray | None = None) -> np.ndarray:
        """Ticks up to `now` not handed out yet (from `first_t` on, the first time).

        `times`: report times the ticks look at (with a finite horizon, only ticks within
        it of one of them, plus one after, are due)."""
        step = self.step_s
        k0 = round(self.done / step) + 1 if np.isfinite(self.done) else np.floor(first_t / step)
        k1 = np.floor(now / step)
        if k1 < k0:
            return np.empty(0)
        if times is None or not np.isfinite(self.horizon_s):
            ticks = np.arange(k0, k1 + 1) * step
        else:
            ticks = _ticks_near(np.asarray(times, float), step, self.horizon_s, k0, k1)
        if len(ticks):
            self.done = float(ticks[-1])
        return ticks


def _ticks_near(t: np.ndarray, step: float, horizon: float, k0: float, k1: float) -> np.ndarray:
    """Tick numbers in [k0, k1] within `horizon` after a time in `t` (and one more), * step."""
    t = t[np.isfinite(t)]
    if not len(t):
        return np.empty(0)
    a = np.maximum(np.ceil(t / step), k0)
    b = np.minimum(np.floor((t + horizon) / step) + 1, k1)  # +1: the tick that closes
    ok = a <= b
    if not ok.any():
        return np.empty(0)
    a, b = a[ok], b[ok]
    o = np.argsort(a, kind="stable")
    a, b = a[o], b[o]
    reach = np.maximum.accumulate(b)
    new = np.r_[True, a[1:] > reach[:-1] + 1]  # an interval not touching the ones before
    starts = a[new]
    ends = np.r_[reach[np.flatnonzero(new)[1:] - 1], reach[-1]]
    n = (ends - starts + 1).astype(np.int64)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return (np.repeat(starts, n) + offs) * step


def last_per_slot(slots: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row index of the last row per slot among rows where `mask` (rows sorted by slot)."""
    idx = np.flatnonzero(mask)
    if not len(idx):
        return idx
    s = slots[idx]
    last = np.ones(len(s), bool)
    last[:-1] = s[1:] != s[:-1]
    return idx[last]


def subject_name(ctx: BatchContext, slot: int) -> str:
    return format_subject(int(ctx.tracks.cols["subject"][slot])) or f"slot:{slot}"


def domain_label(code: int) -> str:
    """The domain's name for alerts ("none" for a code no domain has)."""
    return domains.label(code)


def identity(ctx: BatchContext, slot: int) -> dict[str, Any]:
    """Name, call sign and type of a subject, for evidence and summaries."""
    st = ctx.tracks.statics.get(int(ctx.tracks.cols["subject"][slot]), {})
    keys = ("name", "callsign", "imo", "ship_type", "category", "destination")
    return {k: st[k] for k in keys if k in st}


def label(ctx: BatchContext, slot: int) -> str:
    """`mmsi:230123000 (NORDIC STAR)` for summaries."""
    ident = identity(ctx, slot)
    name = ident.get("name") or ident.get("callsign")
    s = subject_name(ctx, slot)
    return f"{s} ({str(name).strip()})" if name else s


def infrastructure_near(
    ctx: BatchContext, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(line index or -1, distance m) of the protected line whose corridor holds each point."""
    lines = _world(ctx).lines
    n = np.size(lat)
    if lines is None or len(lines) == 0 or n == 0:
        return np.full(n, -1), np.full(n, np.inf)
    return lines.in_corridor(np.atleast_1d(lat), np.atleast_1d(lon))


def infrastructure_evidence(ctx: BatchContext, line: int, dist_m: float) -> dict[str, Any]:
    lines = _world(ctx).lines
    return {
        "name": lines.names[line],
        "kind": lines.kinds[line],
        "distance_m": round(float(dist_m), 1),
        "corridor_m": float(lines.corridor_m[line]),
    }


def select_kinds(zones: Any, kinds: tuple[str, ...]) -> Any:
    """The zones whose kind is one of `kinds` (prefer `World.zones_of_kinds`, cached)."""
    return type(zones)([f for f in zones.features if f.kind in kinds])


def _world(ctx: BatchContext) -> World:
    """The batch's World."""
    return ctx.world


def in_zone_kinds(ctx: BatchContext, lat: np.ndarray, lon: np.ndarray, kinds: tuple[str, ...]):
    """True where a point lies in any zone of the given kinds (ports, anchorages, airports)."""
    n = np.size(lat)
    sub = _world(ctx).zones_of_kinds(kinds) if n else None
    if sub is None:
        return np.zeros(n, bool)
    return sub.contains(np.atleast_1d(lat), np.atleast_1d(lon)) >= 0


def make_signal(
    ctx: BatchContext,
    kind: str,
    slot: int,
    row: int | None,
    severity: str,
    summary: str,
    evidence: dict[str, Any],
    ended: bool = False,
    t: float | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Signal:
    r = ctx.reports
    if row is not None:
        t = float(r.time[row]) if t is None else t
        lat = float(r.lat[row]) if lat is None and np.isfinite(r.lat[row]) else lat
        lon = float(r.lon[row]) if lon is None and np.isfinite(r.lon[row]) else lon
    if lat is None and np.isfinite(ctx.tracks.cols["lat"][slot]):
        lat, lon = float(ctx.tracks.cols["lat"][slot]), float(ctx.tracks.cols["lon"][slot])
    return Signal(
        kind=kind,
        subject=subject_name(ctx, slot),
        time=float(t if t is not None else ctx.now),
        lat=lat,
        lon=lon,
        severity=severity,  # type: ignore[arg-type]
        summary=summary,
        evidence=evidence,
        domain=domain_label(int(ctx.tracks.cols["domain"][slot])),
        ended=ended,
    )


def report_evidence(ctx: BatchContext, rows: list[int] | np.ndarray) -> list[dict[str, Any]]:
    """The reports behind an alert, as plain values with a source name."""
    from picket.model.alerts import iso
    from picket.model.reports import SOURCES

    out = []
    for i in list(rows)[:20]:
        d = ctx.reports.row(int(i))
        d.pop("domain", None)
        d.pop("kind", None)
        d.pop("subject", None)
        d["time"] = iso(d["time"])
        d["source"] = SOURCES.name(int(ctx.reports.source[i]))
        out.append(d)
    return out
