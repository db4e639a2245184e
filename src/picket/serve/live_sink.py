"""`LiveSink`: the pipeline's edge towards the live server (a `Sink`), over the bus."""

from __future__ import annotations

import json
import logging
import math
import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from picket.bus import CMD, Bus
from picket.bus.picture import PICTURE, PictureTap
from picket.bus.sink import BusSink
from picket.bus.static import StaticPublisher
from picket.fusion.context import BatchContext
from picket.model.alerts import Event
from picket.model.world import World
from picket.pipeline import metrics
from picket.pipeline.commands import Commands
from picket.serve.hub import HARBOURS, LiveHub

logger = logging.getLogger(__name__)
HARBOURS_S = 5.0  # learned harbour cells go out at most this often (and at close)


class LiveSink:
    """Publishes each batch's changed tracks and the alert events on the hub's bus, with
    the pipeline's counters (`pipeline/metrics.py`), and applies the commands operators
    send back (zone edits) between batches. It hands the hub nothing of the pipeline's
    memory: the hub builds its own picture and metrics from the bus, so the same path
    works when the pipeline runs elsewhere.

    Why zone edits are taken here: this runs in the pipeline's thread between batches,
    so every detector sees one zone set per batch.

    `min_interval_s`: picture snapshots (and the metrics with them) go to the bus at most
    that often (None or 0: every batch). Batches in between are coalesced, latest wins: the
    next snapshot holds every track they changed, as it is then, with all the history
    points since the last one; what is still held goes out at `close`. Alert events and
    commands are never held back.
    """

    def __init__(self, hub: LiveHub, min_interval_s: float | None = None,
                 world: World | None = None, rejects: Any = None, pipeline: Any = None,
                 bus: Bus | None = None):  # fmt: skip
        self.hub = hub
        self.pipeline = pipeline
        self.min_interval_s = float(min_interval_s or 0.0)
        self.bus = bus if bus is not None else hub.bus
        self.out = BusSink(self.bus, reports=False, picture=False)  # alert events
        self.tap = PictureTap()
        self._cmds = self.bus.subscribe(f"{CMD}.>", "picket-pipeline-commands")
        self.taker = Commands(pipeline, world)
        self.commands = self.taker.counts  # zone edits, triage, refused
        self.published = 0  # picture snapshots put on the bus
        self.n_reports = 0  # reports seen, for the server's rate
        self._last = -math.inf  # monotonic time of the last snapshot
        self._held: list[np.ndarray] = []  # slots changed by batches not yet published
        self._held_statics: list[Any] = []
        self._held_ctx: BatchContext | None = None  # the newest batch not yet published
        self._harbours = (-1, -math.inf)  # (cells, monotonic time) last published
        self.rejects = rejects if rejects is not None else getattr(pipeline, "rejects", None)
        self.world = world if world is not None else getattr(pipeline, "world", None)
        # the map's zones, lines, sky and the [incidents] rules reach the hub only as this
        # message, as they reach a server on another machine (`picket.bus.static`)
        self.static = StaticPublisher(self.bus, self.world, source="live")

    def before_batch(self, world: World) -> None:
        """Commands that came since the last batch apply to this one (`Pipeline.process`
        calls this first)."""
        self.take_zone_edits(world)

    def take_zone_edits(self, world: Any) -> bool:
        """Apply the commands on the bus to the pipeline (its `world`,
        `picket.pipeline.commands`); True if a zone edit was applied."""
        msgs = [(m.subject.rsplit(".", 1)[-1], m.data) for m in self._cmds.fetch(10_000, 0)]
        if not self.taker.apply(msgs, world):
            return False
        self.static.maybe_publish()  # every server shows the zones now judged against
        return True

    @property
    def watchlists(self) -> int:
        """Watchlist commands applied."""
        return self.taker.watchlists

    def emit(self, events: list[Event]) -> None:
        self.out.emit(events)

    def tracks(self, ctx: BatchContext) -> None:
        self.n_reports += len(ctx.reports)
        self._held.append(np.asarray(ctx.slots, np.int64))
        self._held_statics.extend(ctx.statics or ())
        self._held_ctx = ctx
        if time.monotonic() - self._last >= self.min_interval_s:
            self._publish()
        if ctx.world is not None:  # and those that came during it, for the next one
            self.take_zone_edits(ctx.world)

    def forget(self, slots: np.ndarray) -> None:
        """Slots given to new subjects (`Pipeline.forget_slots`): a held slot is published
        as the table holds it then, which is right whoever holds it."""
        self.tap.forget(slots)

    def _publish(self) -> None:
        """The held batches as one snapshot (the newest batch's clock and table), then the
        pipeline's counters."""
        ctx = self._held_ctx
        if ctx is None:
            return
        slots = self._held[0] if len(self._held) == 1 else np.concatenate(self._held)
        view = SimpleNamespace(tracks=ctx.tracks, slots=slots, statics=self._held_statics,
                               now=ctx.now, world=ctx.world)  # fmt: skip
        self._held, self._held_statics, self._held_ctx = [], [], None
        self._last = time.monotonic()
        data = self.tap.snapshot(view, self.n_reports)
        if data is not None:
            self.bus.publish(PICTURE, data)
            self.published += 1
        self.publish_metrics()
        self.publish_harbours()

    def publish_metrics(self) -> None:
        """The pipeline's counters as one snapshot on the bus (`picket.metrics`)."""
        p = self.pipeline
        # the sinks' counters and the outputs' at the bus's edge (`picket.share.edge`)
        sinks: list[Any] = []
        if p is not None:
            sinks = [*p.sinks, *(o for e in p.edges for o in (*e.outputs, e))]
        snap = metrics.snapshot(self.rejects, sinks, self.world)
        self.bus.publish(metrics.METRICS, metrics.encode(snap))

    def publish_static(self) -> None:
        """The static picture again (`picket.static`: zones, lines, the satellites layer's
        spec, the `[incidents]` rules), e.g. after the World's sky or rules were set."""
        self.static.publish()

    def publish_harbours(self, force: bool = False) -> None:
        """The harbours learned so far (`picket.harbours`), when their number changed, at
        most every `HARBOURS_S`: the map's layer, without reading the learner elsewhere."""
        learner = self.world.harbours if self.world is not None else None
        if learner is None:
            return
        n, last = self._harbours
        now = time.monotonic()
        if len(learner.cells) == n or (not force and now - last < HARBOURS_S):
            return
        cells = sorted(learner.cells.items())
        self._harbours = (len(cells), now)
        self.bus.publish(HARBOURS, json.dumps(cells, separators=(",", ":")).encode())

    def close(self) -> None:
        """What is still held goes out, and the final counters and harbours."""
        if self._held_ctx is not None:
            self._publish()
        else:
            self.publish_metrics()
        self.publish_harbours(force=True)

