"""Operators' commands (`picket.cmd.<what>`: zone edits, the watchlist) applied to a
pipeline between batches, wherever it runs.

One process takes them from the bus at the start of each batch (`serve.live_sink`); in a
cluster the feed stamps them into the next cut it publishes (`bus.stages.Publisher`), so
every worker applies an edit at the same cut and the workers' alerts stay those of one
process that took the edit there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)


class Commands:
    """Applies commands to `pipeline` (or, without one, to `world`): of a take, every zone
    edit in order (a whole list replaces the zones, per-zone edits change the ones they
    name: `serve.zone_edits.apply_zone_command`), and the newest watchlist. Counts what
    it applied and what it refused (`counts`, `watchlists`)."""

    def __init__(self, pipeline: Any = None, world: Any = None):
        self.pipeline = pipeline
        self.world = world if world is not None else getattr(pipeline, "world", None)
        self.counts = {"zones": 0, "triage": 0, "refused": 0}
        self.watchlists = 0

    def apply(self, msgs: Iterable[tuple[str, bytes]], world: Any = None) -> bool:
        """(what, body) in arrival order; True if a zone edit was applied."""
        world = world if world is not None else self.world
        edits, watch = [], None
        for what, body in msgs:
            if what == "zones":
                edits.append(body)
            elif what == "watchlist":
                watch = body
            elif what in self.counts:
                self.counts[what] += 1
        if watch is not None:
            self._watchlist(world, watch)
        if not edits:
            return False
        from picket.geo.zones import ZoneSet
        from picket.serve.zone_edits import ZoneError, apply_zone_command

        feats = list(getattr(world.zones, "features", None) or [])
        applied = reindexed = False
        for body in edits:
            try:
                feats, moved = apply_zone_command(feats, body)
            except (ValueError, KeyError, TypeError, AttributeError, ZoneError) as e:
                self.counts["refused"] += 1
                log.warning("zone command refused: %s", e)
                continue
            self.counts["zones"] += 1
            applied, reindexed = True, reindexed or moved
        if not applied:
            return False
        zones = ZoneSet(feats)
        if self.pipeline is not None:
            from picket.pipeline.assemble import replace_zones

            replace_zones(self.pipeline, zones, reindexed)
        else:
            world.zones = zones  # a new geography version: derived zone sets are made anew
        return True

    def zones_command(self, world: Any = None) -> str:
        """The zones now applied as one whole-list command (what a restarted worker applies
        again from its checkpoint; nothing moved since the state was saved)."""
        from picket.serve.zone_edits import feature_command

        world = world if world is not None else self.world
        feats = getattr(world.zones, "features", None) or []
        return json.dumps({"zones": [feature_command(f) for f in feats], "reindexed": False},
                          default=str)  # fmt: skip

    def _watchlist(self, world: Any, body: bytes) -> None:
        """The API's watchlist entries (the whole list) into the box the detector reads."""
        from picket.detect.watchlist import WatchBox

        try:
            rows = json.loads(body)["rows"]
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise TypeError("rows must be a list of objects")
        except (ValueError, KeyError, TypeError) as e:
            self.counts["refused"] += 1
            log.warning("watchlist command refused: %s", e)
            return
        box = world.watchlist_api
        if not isinstance(box, WatchBox):
            box = world.watchlist_api = WatchBox()
        box.set(rows)
        self.watchlists += 1
