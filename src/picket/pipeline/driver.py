"""The one driver loop: decoded chunks in, the door, batches, `Pipeline.process`, flush.

Replay, live and the demo are configurations of one `Driver`, so the rules a batch
passes through are written once:

- the door (`at_the_door`, docs/time.md): every decoded chunk, against the receive
  clock live and the wall clock for a recording (nothing is received before it was
  sent);
- batches: by event time for a recording (`run`: `replay.batches`, paced at `speed` or
  merged into large batches as fast as possible) or by wall clock live (`step_chunks`:
  whatever arrived in `batch_s` wall seconds, in event-time order);
- per batch: `Pipeline.process` (fusion, detectors, alert book, sinks, the bus edge),
  dead letters written through, a checkpoint when one is due;
- at the end: the plot tracker's open scan judged (a recording's end is the stream's
  end; a live stop is not, its scan goes into the checkpoint), open alerts closed, a
  last checkpoint, sinks closed.

Why one loop: the alerts must not depend on the driver (a replay behaves as the live
run did); three loops drifted apart (the demo skipped the door, only live flushed dead
letters per batch, only replay judged the tracker's last scan).
"""

from __future__ import annotations

import math
import time as wall
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from picket.model.alerts import Event
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.pipeline.runtime import Pipeline
from picket.sources.registry import MAX_AHEAD_S, MIN_TIME, at_the_door


@dataclass
class ReplaySummary:
    reports: int
    alert_events: int
    seconds: float
    first_time: float
    last_time: float


class Driver:
    """Drives one `Pipeline`; `flush_tracker`: judge the plot tracker's open scan at the
    end (recordings, the demo) rather than leave it to the checkpoint (live)."""

    def __init__(self, pipeline: Pipeline, rejects: Rejects | None = None, *,
                 flush_tracker: bool = True,
                 on_batch: Callable[[float], None] | None = None) -> None:  # fmt: skip
        self.pipeline = pipeline
        self.rejects = rejects if rejects is not None else pipeline.rejects
        self.flush_tracker = flush_tracker
        self.on_batch = on_batch
        self.started = wall.perf_counter()
        self.first = self.last = math.nan  # event time of the first and last batch end
        self.batches = 0

    # the door ------------------------------------------------------------------------
    def door(self, d: Decoded, source: str, recv: float | None = None,
             min_time: float = MIN_TIME, max_ahead_s: float = MAX_AHEAD_S) -> Decoded:  # fmt: skip
        """Reports without a plausible time dropped and counted; `recv` (the chunk's arrival
        time) bounds the future, the wall clock when None (a recording)."""
        if self.rejects is None:
            return d
        now = wall.time() if recv is None else recv
        return at_the_door(d, self.rejects, source, now, min_time, max_ahead_s)

    def admitted(self, stream: Iterable[Decoded], source: str, min_time: float = MIN_TIME,
                 max_ahead_s: float = MAX_AHEAD_S) -> Iterator[Decoded]:  # fmt: skip
        """A recording's chunks through the door, each against the wall clock."""
        for d in stream:
            yield self.door(d, source, None, min_time, max_ahead_s)

    # batches -------------------------------------------------------------------------
    def step(self, d: Decoded, now: float | None = None) -> list[Event]:
        """One batch through the pipeline, then dead letters to disk and a checkpoint when
        one is due. `now`: the batch's event-time end (None live: the reports decide)."""
        events = self.pipeline.process(d, now=now)
        self.batches += 1
        if self.rejects is not None:
            self.rejects.flush()
        self.pipeline.checkpoint_if_due()
        if now is not None and math.isfinite(now):
            if not math.isfinite(self.first):
                self.first = now
            self.last = now
            if self.on_batch is not None:
                self.on_batch(now)
        return events

    def step_chunks(self, outs: list[Decoded]) -> list[Event]:
        """Wall-clock batching (live): whatever arrived in the window as one batch, in
        event-time order (chunks of several connections interleave)."""
        r = Reports.concat([o.reports for o in outs]).sorted_by_time()
        return self.step(Decoded(r, [s for o in outs for s in o.statics]))

    def run(self, stream: Iterator[Decoded], batch_s: float = 10.0, speed: float = 0.0,
            min_rows: int = 0, max_span_s: float = 0.0) -> ReplaySummary:  # fmt: skip
        """Event-time batching (recordings, the demo): `batch_s` event seconds a batch,
        paced at `speed` x real time (0: as fast as possible, windows merged up to
        `min_rows` reports or `max_span_s`), then `finish`."""
        from picket.pipeline.replay import batches

        self.started = wall.perf_counter()
        t0_event = None
        for d, hi in batches(stream, batch_s, min_rows, max_span_s):
            finite = bool(np.isfinite(hi))
            if finite:
                if t0_event is None:
                    t0_event = hi
                if speed > 0:
                    delay = self.started + (hi - t0_event) / speed - wall.perf_counter()
                    if delay > 0:
                        wall.sleep(delay)
            self.step(d, hi if finite else None)
        return self.finish()

    def finish(self) -> ReplaySummary:
        """The end of the run: the tracker's open scan (if `flush_tracker`), open alerts
        closed, a last checkpoint, sinks closed, dead letters written."""
        p = self.pipeline
        if self.flush_tracker and p.plot_tracker is not None and hasattr(p.plot_tracker, "flush"):
            tail = p.plot_tracker.flush()
            if len(tail):
                saved, p.plot_tracker = p.plot_tracker, None
                p.process(Decoded(tail, []))
                p.plot_tracker = saved
        p.finish()
        if self.rejects is not None:
            self.rejects.flush()
        return ReplaySummary(p.n_reports, p.n_alert_events, wall.perf_counter() - self.started,
                             self.first, self.last)  # fmt: skip
