"""`LiveSink`: the pipeline's edge towards the live server (a `Sink`), over the bus."""

from __future__ import annotations

import json
import logging
from typing import Any

from picket.bus import CMD, Bus
from picket.bus.sink import BusSink
from picket.fusion.context import BatchContext
from picket.model.alerts import Event
from picket.serve.hub import LiveHub
from picket.serve.zone_edits import ZoneError, zones_from_command

logger = logging.getLogger(__name__)


class LiveSink:
    """Publishes each batch's changed tracks and the alert events on the hub's bus (a
    `BusSink`), and applies the commands operators send back (zone edits) between
    batches. It hands the hub nothing of the pipeline's tracks: the hub builds its own
    picture from the bus, so the same path works when the pipeline runs elsewhere.

    Why zone edits are taken here: this runs in the pipeline's thread between batches,
    so every detector sees one zone set per batch.
    `min_interval_s` is kept for callers; snapshots now go out every batch (they hold
    only the tracks the batch changed).
    """

    def __init__(self, hub: LiveHub, min_interval_s: float | None = None, env: Any = None,
                 rejects: Any = None, pipeline: Any = None, bus: Bus | None = None):  # fmt: skip
        self.hub = hub
        self.pipeline = pipeline
        self.min_interval_s = hub.tick_s / 2 if min_interval_s is None else min_interval_s
        self.bus = bus if bus is not None else hub.bus
        self.out = BusSink(self.bus, reports=False, picture=True)
        self._cmds = self.bus.subscribe(f"{CMD}.>", "picket-pipeline-commands")
        self.commands = {"zones": 0, "triage": 0, "refused": 0}
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

    def take_zone_edits(self, env: Any) -> bool:
        """Apply the newest zone command on the bus to the pipeline (its `env`); True if
        there was one. Earlier commands in the same take only add their `reindexed`."""
        latest, reindexed = None, False
        for m in self._cmds.fetch(10_000, 0):
            what = m.subject.rsplit(".", 1)[-1]
            if what == "zones":
                latest = m
                reindexed = reindexed or _peek_reindexed(m.data)
            elif what in self.commands:
                self.commands[what] += 1
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
            env["zones"] = zones
            env.pop("_zone_cache", None)
        return True

    def emit(self, events: list[Event]) -> None:
        self.out.emit(events)

    def tracks(self, ctx: BatchContext) -> None:
        self.out.publish_picture(ctx)
        if ctx.env is not None:
            self.take_zone_edits(ctx.env)

    def close(self) -> None:
        """Nothing is held back: every batch was published as it ended."""


def _peek_reindexed(body: bytes) -> bool:
    """Whether a zone command moved zones (a command that is no JSON object did not)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return False
    return isinstance(doc, dict) and bool(doc.get("reindexed"))
