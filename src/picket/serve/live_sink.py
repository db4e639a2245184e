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
from picket.serve.hub import HARBOURS, LiveHub
from picket.serve.zone_edits import ZoneError, zones_from_command

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
        self.commands = {"zones": 0, "triage": 0, "refused": 0}
        self.watchlists = 0  # watchlist commands applied
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
        """Apply the commands on the bus to the pipeline (its `world`): the newest zone
        edit and the newest watchlist; True if a zone edit was applied. Earlier zone
        commands in the same take only add their `reindexed`."""
        latest, reindexed, watch = None, False, None
        for m in self._cmds.fetch(10_000, 0):
            what = m.subject.rsplit(".", 1)[-1]
            if what == "zones":
                latest = m
                reindexed = reindexed or _peek_reindexed(m.data)
            elif what == "watchlist":
                watch = m
            elif what in self.commands:
                self.commands[what] += 1
        if watch is not None:
            self._watchlist(world, watch.data)
        if latest is None:
            return False
        try:
            zones, _ = zones_from_command(latest.data)
        except (ValueError, KeyError, TypeError, ZoneError) as e:
            self.commands["refused"] += 1
            logger.warning("zone command refused: %s", e)
            return False
        self.commands["zones"] += 1
        if self.pipeline is not None:
            from picket.pipeline.assemble import replace_zones

            replace_zones(self.pipeline, zones, reindexed)
        else:
            world.zones = zones  # a new geography version: derived zone sets are made anew
        self.static.maybe_publish()  # every server shows the zones now judged against
        return True

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
        sinks = self.pipeline.sinks if self.pipeline is not None else ()
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


    def _watchlist(self, world: World, body: bytes) -> None:
        """The API's watchlist entries (the whole list) into the box the detector reads."""
        from picket.detect.watchlist import WatchBox

        try:
            rows = json.loads(body)["rows"]
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise TypeError("rows must be a list of objects")
        except (ValueError, KeyError, TypeError) as e:
            self.commands["refused"] += 1
            logger.warning("watchlist command refused: %s", e)
            return
        box = world.watchlist_api
        if not isinstance(box, WatchBox):
            box = world.watchlist_api = WatchBox()
        box.set(rows)
        self.watchlists += 1


def _peek_reindexed(body: bytes) -> bool:
    """Whether a zone command moved zones (a command that is no JSON object did not)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and bool(doc.get("reindexed"))
