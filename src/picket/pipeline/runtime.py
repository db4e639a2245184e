"""The one pipeline: decoded batch -> fusion -> detectors -> alert book -> sinks.

Live feeds, file replays and the demo all drive the same `Pipeline.process`
with micro-batches; event time (never wall time) moves the clock, so a replay
behaves exactly as the live run did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from picket.detect.base import Detector
from picket.fusion.context import BatchContext, duplicates, link_positions, reject_outliers
from picket.fusion.tracks import TrackTable
from picket.model.alerts import AlertBook, Event
from picket.model.bounds import check_values
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports


class Sink(Protocol):
    def emit(self, events: list[Event]) -> None: ...

    def tracks(self, ctx: BatchContext) -> None: ...

    def close(self) -> None: ...


class PlotStage(Protocol):
    def update(self, plots: Reports) -> Reports: ...


class Pipeline:
    def __init__(
        self,
        detectors: Sequence[Detector],
        sinks: Sequence[Sink] = (),
        env: dict[str, Any] | None = None,
        tracks: TrackTable | None = None,
        plot_tracker: PlotStage | None = None,
        book: AlertBook | None = None,
        rejects: Rejects | None = None,
    ):
        self.detectors = list(detectors)
        self.sinks = list(sinks)
        self.env = env or {}
        self.tracks = tracks or TrackTable()
        self.plot_tracker = plot_tracker
        self.book = book or AlertBook()
        self.rejects = rejects
        self.now = -np.inf
        self.now_by_domain: dict[int, float] = {}
        self.n_reports = 0
        self.n_alert_events = 0
        self.n_opened = 0
        self.n_duplicates = 0  # reports dropped as the same message from another receiver

    def process(self, decoded: Decoded, now: float | None = None) -> list[Event]:
        r = check_values(decoded.reports, self.rejects)  # impossible values never reach state
        self.n_reports += len(r)
        plots_mask = r.kind == Kind.PLOT
        nameless = ~plots_mask & (r.subject < 0)
        if nameless.any():  # fusion is by identity: a report naming no one cannot join a track
            if self.rejects is not None:
                self.rejects.reject("pipeline.no_subject", "decoded reports", None,
                                    n=int(nameless.sum()))  # fmt: skip
            r = r.where(~nameless)
            plots_mask = r.kind == Kind.PLOT
        plots = None
        if plots_mask.any():
            plots = r.where(plots_mask).sorted_by_time()
            r = r.where(~plots_mask)
            if self.plot_tracker is not None:
                r = Reports.concat([r, self.plot_tracker.update(plots)])
        if len(r):
            for d in np.unique(r.domain).tolist():
                td = float(r.time[r.domain == d].max())
                self.now_by_domain[d] = max(self.now_by_domain.get(d, -np.inf), td)
            self.now = max(self.now, float(np.nanmax(r.time)))
        if now is not None:
            self.now = max(self.now, now)
        t = self.tracks
        changes = t.apply_statics(decoded.statics)
        slots = t.slots_for(r.subject) if len(r) else np.empty(0, np.int64)
        if len(r):
            order = np.lexsort((r.time, slots))
            r, slots = r.take(order), slots[order]
            dup = duplicates(r, slots)  # one message heard by several receivers counts once
            if dup.any():
                self.n_duplicates += int(dup.sum())
                r, slots = r.where(~dup), slots[~dup]
        has_pos, prev_t, prev_lat, prev_lon, jump, speed = link_positions(r, slots, t)
        outlier = reject_outliers(r, slots, has_pos, speed, t, prev_t) if len(r) else has_pos
        t.update(r, slots, has_pos & ~outlier)
        env = self.env
        env["now_by_domain"] = self.now_by_domain
        ctx = BatchContext(
            reports=r, slots=slots, tracks=t, now=self.now, has_pos=has_pos, prev_t=prev_t,
            prev_lat=prev_lat, prev_lon=prev_lon, jump_m=jump, jump_speed=speed,
            outlier=outlier, statics=decoded.statics, identity_changes=changes, plots=plots,
            env=env,
        )  # fmt: skip
        signals = []
        for det in self.detectors:
            signals.extend(det.update(ctx))
        events = self.book.apply(signals)
        if np.isfinite(self.now):
            events += self.book.expire(self.now)
        self.n_alert_events += len(events)
        self.n_opened += sum(1 for what, _ in events if what == "open")
        for sink in self.sinks:
            if events:
                sink.emit(events)
            sink.tracks(ctx)
        return events

    def finish(self) -> list[Event]:
        events = self.book.close_all(self.now)
        for sink in self.sinks:
            if events:
                sink.emit(events)
            sink.close()
        return events
