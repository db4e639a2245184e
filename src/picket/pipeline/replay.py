"""Replay files through the pipeline, merged in event time.

Each input is decoded in chunks; the merger only releases reports older than
the newest time every still-open input has reached (the frontier), so reports
from several files interleave as they would have arrived live. Released
reports are cut into micro-batches of `batch_s` event seconds; as fast as
possible, windows are merged into batches of up to an hour or 20,000 reports
(detectors time alerts by the reports, so batching changes only the cost).
With `speed` > 0 the replay is paced at that multiple of real time.

Every decoded report passes `at_the_door` (docs/time.md) with the wall clock
as the upper bound: a recording cannot be from the future. The loop itself (door,
batches, pacing, flush at the end) is the one driver (`pipeline/driver.py`) live and
the demo use too; this module keeps the recording's part: merging files by event time
and cutting the merged stream.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.pipeline.driver import Driver, ReplaySummary
from picket.pipeline.runtime import Pipeline
from picket.sources.registry import MAX_AHEAD_S, MIN_TIME, read_file

MERGE_ROWS, MERGE_SPAN_S = 20_000, 3600.0  # batch size when replaying as fast as possible


__all__ = ["ReplaySummary", "batches", "merge", "replay_files", "run_stream"]


class _Input:
    def __init__(self, it: Iterator[Decoded]):
        self.it = it
        self.buf: list[Reports] = []
        self.statics: list[Static] = []
        self.hi = -np.inf
        self.done = False

    def pull(self) -> None:
        try:
            d = next(self.it)
        except StopIteration:
            self.done = True
            return
        r = d.reports
        if len(r):
            self.buf.append(r)
            t = r.time[np.isfinite(r.time)]
            if len(t):
                self.hi = max(self.hi, float(t.max()))
        self.statics.extend(d.statics)


def merge(streams: list[Iterator[Decoded]]) -> Iterator[Decoded]:
    """Merge decoded streams by event time (reports and statics)."""
    ins = [_Input(s) for s in streams]
    for i in ins:
        i.pull()
    while True:
        active = [i for i in ins if not i.done]
        frontier = min((i.hi for i in active), default=np.inf)
        rel, sts = [], []
        for i in ins:
            if not i.buf and not i.statics:
                continue
            r = Reports.concat(i.buf)
            m = r.time <= frontier
            if m.all():
                rel.append(r)
                i.buf = []
            elif m.any():
                rel.append(r.where(m))
                i.buf = [r.where(~m)]
            keep = []
            for s in i.statics:
                (sts if s.time <= frontier else keep).append(s)
            i.statics = keep
        if rel or sts:
            yield Decoded(Reports.concat(rel).sorted_by_time(), sorted(sts, key=lambda s: s.time))
        if not active:
            return
        min(active, key=lambda i: i.hi).pull()


def batches(
    stream: Iterator[Decoded], batch_s: float, min_rows: int = 0, max_span_s: float = 0.0
) -> Iterator[tuple[Decoded, float]]:
    """Cut a time-ordered stream into micro-batches of `batch_s` event seconds.

    With `min_rows`, adjacent windows are merged (across the stream's chunks)
    until a batch holds that many reports or spans `max_span_s`: a replay then
    costs a few large batches instead of many small ones. Detectors time their
    alerts by the reports (predicted airspace entries at 10 s steps of event
    time), so the alerts are the same (`tests/test_replay_batching.py`); what
    moves is the per-batch overhead, and an open alert's evidence refresh
    (`last_time`: a sustained rule refreshes at most once per batch).
    """
    held: list[Decoded] = []  # windows waiting to fill a merged batch
    n_held, held_t0 = 0, np.nan
    for d in stream:
        r = d.reports
        if not len(r):
            if held:
                held.append(d)
            else:
                yield d, np.nan
            continue
        t = r.time
        edges = np.floor(t / batch_s)
        cuts = [0, *(np.flatnonzero(edges[1:] != edges[:-1]) + 1).tolist(), len(t)]
        his = t[np.asarray(cuts[1:]) - 1]
        if min_rows and (len(his) < 2 or bool(np.all(his[1:] >= his[:-1]))):
            # merging as fast as possible: the windows only decide where batches end, so
            # cut once per batch, not once per window; each static goes with the first
            # window whose last time reaches it, as below
            place = np.searchsorted(his, [s.time for s in d.statics], side="left").tolist()
            g0 = 0  # first window not yet in `held`
            for w, (a, b, hi) in enumerate(zip(cuts, cuts[1:], his.tolist(), strict=False)):
                if n_held and (n_held + b - a > min_rows or hi - held_t0 > max_span_s):
                    held.append(_windows(d, cuts, place, g0, w))
                    yield _joined(held)
                    held, n_held, g0 = [], 0, w
                if not n_held:
                    held_t0 = float(t[a])
                n_held += b - a
            held.append(_windows(d, cuts, place, g0, len(his)))
            left = [s for s, w in zip(d.statics, place, strict=True) if w == len(his)]
            if left:
                held.append(Decoded(Reports.empty(0), left))
            continue
        st = d.statics
        for a, b in itertools.pairwise(cuts):
            hi = float(t[b - 1])
            mine = [s for s in st if s.time <= hi]
            st = [s for s in st if not s.time <= hi]  # a NaN time is kept, not lost
            part = Decoded(r.take(slice(a, b)), mine)
            if not min_rows:
                yield part, hi
                continue
            if n_held and (n_held + b - a > min_rows or hi - held_t0 > max_span_s):
                yield _joined(held)
                held, n_held = [], 0
            if not n_held:
                held_t0 = float(t[a])
            held.append(part)
            n_held += b - a
        if st:
            if min_rows:
                held.append(Decoded(Reports.empty(0), st))
            else:
                yield Decoded(Reports.empty(0), st), float(t[-1])
    if held:
        yield _joined(held)


def _windows(d: Decoded, cuts: list[int], place: list[int], w0: int, w1: int) -> Decoded:
    """Windows `w0` to `w1 - 1` of `d` (cut at `cuts`) with the statics placed in them."""
    sts = [s for s, w in zip(d.statics, place, strict=True) if w0 <= w < w1]
    return Decoded(d.reports.take(slice(cuts[w0], cuts[w1])), sts)


def _joined(held: list[Decoded]) -> tuple[Decoded, float]:
    r = Reports.concat([d.reports for d in held])
    sts = [s for d in held for s in d.statics]
    return Decoded(r, sts), float(r.time[-1]) if len(r) else np.nan


def run_stream(
    pipeline: Pipeline,
    stream: Iterator[Decoded],
    batch_s: float = 10.0,
    speed: float = 0.0,
    on_batch: Callable[[float], None] | None = None,
    min_rows: int = 0,
    max_span_s: float = 0.0,
) -> ReplaySummary:
    """A decoded, time-ordered stream through the driver (`pipeline/driver.py`), cut by
    event time; the door is the caller's (`replay_files` passes every file through it)."""
    drv = Driver(pipeline, on_batch=on_batch)
    return drv.run(stream, batch_s, speed, min_rows, max_span_s)


def replay_files(
    pipeline: Pipeline,
    inputs: list[tuple[Path, str]],
    rejects: Rejects,
    batch_s: float = 10.0,
    speed: float = 0.0,
    progress: Callable[[int], None] | None = None,
    decoder_args: dict[str, dict[str, object]] | None = None,
    file_args: dict[Path, dict[str, object]] | None = None,
    min_time: float = MIN_TIME,
    max_ahead_s: float = MAX_AHEAD_S,
) -> ReplaySummary:
    """`decoder_args` maps a format name, `file_args` an input path, to keyword arguments
    for its decoder (`clock`, `start_time`); a path's own arguments win."""
    args, per_file = decoder_args or {}, file_args or {}
    drv = Driver(pipeline, rejects)
    streams = [drv.admitted(read_file(p, rejects, fmt, progress=progress,
                                      **{**args.get(fmt, {}), **per_file.get(p, {})}),
                            p.name, min_time, max_ahead_s)
               for p, fmt in inputs]  # fmt: skip
    # as fast as possible: merge windows into batches of up to an hour or 20,000 reports
    merge_rows, merge_span = (MERGE_ROWS, MERGE_SPAN_S) if speed <= 0 else (0, 0.0)
    return drv.run(merge(streams), batch_s, speed, merge_rows, merge_span)
