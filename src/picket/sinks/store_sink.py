"""Persist alert events (and each alert's latest state, upserted by id) and downsampled
track history into the store."""

from __future__ import annotations

import numpy as np

from picket.fusion.context import BatchContext
from picket.model.alerts import Event
from picket.sinks.downsample import Downsampler
from picket.store.sqlite import Store


class StoreSink:
    name = "store"

    def __init__(self, store: Store, every_s: float = 30.0):
        self.store = store
        self.down = Downsampler(every_s)

    def stats(self) -> dict[str, int]:
        """The store's own counters where it keeps some (PostgreSQL: reconnects, retried
        and failed writes, track points dropped while the server was away), so a drop
        shows in /api/metrics beside the outputs'."""
        st = getattr(self.store, "stats", None)
        return dict(st) if isinstance(st, dict) else {}

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The downsampler's buckets, in the pipeline's checkpoint: a run restored from it
        keeps the points it keeps again (the store holds each once) and no second point of
        a track in a bucket it had kept one in before the restart."""
        return self.down.checkpoint_state()

    def restore_state(self, st: dict[str, np.ndarray]) -> None:
        self.down.restore_state(st)

    def forget(self, slots: np.ndarray) -> None:
        self.down.forget(slots)

    def emit(self, events: list[Event]) -> None:
        self.store.record(events)

    def tracks(self, ctx: BatchContext) -> None:
        rows, s = self.down.select(ctx)
        if not len(rows):
            return
        r = ctx.reports
        self.store.add_track_points({
            "subject": ctx.tracks.cols["subject"][s], "time": r.time[rows],
            "domain": r.domain[rows].astype(np.int64), "lat": r.lat[rows], "lon": r.lon[rows],
            "alt": r.alt[rows], "speed": r.speed[rows], "course": r.course[rows],
        })  # fmt: skip

    def close(self) -> None:
        self.store.db.commit()
