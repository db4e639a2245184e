"""`LiveSink`: the pipeline's window onto the live server (a `Sink`)."""

from __future__ import annotations

import time as wall
from typing import Any

from picket.fusion.context import BatchContext
from picket.model.alerts import Event
from picket.serve.hub import LiveHub
from picket.serve.picture import label_of, snapshot
from picket.serve.views import category_of


class LiveSink:
    """Hands the hub a snapshot at most every `min_interval_s` of wall time, and always
    when a tick is waiting; takes operators' zone edits into the running pipeline.

    Why throttled: a replay at full speed runs hundreds of batches a second;
    the picture is pushed once per tick anyway, so more snapshots are wasted.
    Why zone edits are taken here: this runs in the pipeline's thread between
    batches, so every detector sees one zone set per batch.
    """

    def __init__(self, hub: LiveHub, min_interval_s: float | None = None, env: Any = None,
                 rejects: Any = None, pipeline: Any = None):  # fmt: skip
        self.hub = hub
        self.pipeline = pipeline
        self.min_interval_s = hub.tick_s / 2 if min_interval_s is None else min_interval_s
        self._last = -1e18
        self._n_reports = 0
        self._pending: BatchContext | None = None
        if rejects is not None:
            hub.rejects = rejects
        if pipeline is not None:
            hub.sinks = pipeline.sinks  # the list itself: sinks attached later show up too
        if not env and pipeline is not None:
            env = pipeline.env
        if env is not None:
            hub.env = env  # read by /api/metrics for the live path's counters (live_stats)
        if env:
            from picket.serve.layers import layers_from_env

            hub.zones.seed(env.get("zones"))
            for name, gj in layers_from_env(env).items():
                hub.layers.setdefault(name, gj)
        if hub.zones.seeded:
            hub.layers["zones"] = hub.zones.collection()

    def take_zone_edits(self, env: dict[str, Any]) -> bool:
        """Put the newest edited zone set into the pipeline (its `env`); True if there was one."""
        got = self.hub.zones.take()
        if got is None:
            return False
        zones, reindexed = got
        if self.pipeline is not None:
            from picket.pipeline.assemble import replace_zones

            replace_zones(self.pipeline, zones, reindexed)
        else:
            env["zones"] = zones
            env.pop("_zone_cache", None)
        return True

    def emit(self, events: list[Event]) -> None:
        for what, alert in events:
            self.hub.alert_event(what, alert.to_json())

    def tracks(self, ctx: BatchContext) -> None:
        t = ctx.tracks
        self.hub.tracks_ref = t
        self._n_reports += len(ctx.reports)
        if ctx.statics:
            for st in ctx.statics:
                slot = t.slot(st.subject)
                lab = label_of(t.statics.get(st.subject, {})) if slot is not None else None
                if lab:
                    self.hub.set_label(slot, lab)
                cat = category_of(t.statics.get(st.subject, {})) if slot is not None else None
                if cat:
                    self.hub.categories[slot] = (int(st.subject), cat)
        if ctx.env is not None:
            self.take_zone_edits(ctx.env)
        now = wall.monotonic()
        self._pending = ctx
        if self.hub.at_batch_end(lambda: self._push(ctx)):  # a tick was waiting: it has it
            self._last, self._pending = now, None
        elif now - self._last >= self.min_interval_s:
            self._last = now
            self._push(ctx)
            self._pending = None

    def _push(self, ctx: BatchContext) -> None:
        nbd = ctx.env.get("now_by_domain", {}) if ctx.env else {}
        self.hub.set_picture(snapshot(ctx.tracks, ctx.now, nbd), self._n_reports)

    def close(self) -> None:
        """Push the final state a throttled batch left behind."""
        if self._pending is not None:
            self._push(self._pending)
            self._pending = None
