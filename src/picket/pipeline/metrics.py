"""The pipeline's counters as one snapshot on the bus (`picket.metrics`), for the server.

Why: `/api/metrics` and `/metrics` ran in the server's HTTP threads and read the
pipeline's `Rejects`, its sinks' `stats()` and the live path's counters while the
pipeline thread changed them, and could not work with the pipeline in another process.
The pipeline's edge (`serve/live_sink.LiveSink`, in the pipeline thread) publishes this
snapshot with each picture it publishes and at close; the server keeps the newest one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

METRICS = "picket.metrics"  # one JSON object per message; the newest wins


def snapshot(rejects: Any, sinks: Iterable[Any] = (), world: Any = None) -> dict[str, Any]:
    """Input counts (accepted, rejected by reason, unused, dead-letter drops, geography
    features loaded), each output's `stats()`, and the live path's counters per source."""
    rej = rejects
    return {
        "accepted": getattr(rej, "accepted", None),
        "rejected": getattr(rej, "rejected", None),
        "rejects": dict(getattr(rej, "counts", {}) or {}),
        "unused": dict(getattr(rej, "unused", {}) or {}),
        "dead_letter_dropped": getattr(rej, "dead_letter_dropped", None),
        "geography_loaded": getattr(rej, "geography", None),
        "outputs": outputs(sinks),
        "live": getattr(world, "live_stats", None) or None,
    }


def outputs(sinks: Iterable[Any]) -> dict[str, Any]:
    """`stats()` of every sink that has one, under its `name` or class name."""
    out: dict[str, Any] = {}
    for sink in list(sinks):
        fn = getattr(sink, "stats", None)
        if not callable(fn):
            continue
        name = str(getattr(sink, "name", "") or type(sink).__name__)
        key, k = name, 2
        while key in out:
            key, k = f"{name}#{k}", k + 1
        try:
            out[key] = fn()
        except Exception as e:  # one broken sink must not take the metrics down
            log.warning("metrics: %s.stats() failed: %r", key, e)
            out[key] = {"error": repr(e)}
    return out


def encode(snap: dict[str, Any]) -> bytes:
    return json.dumps(snap, default=str, separators=(",", ":")).encode()


def decode(data: bytes) -> dict[str, Any]:
    """A snapshot from the bus (ValueError when it is not a JSON object)."""
    doc = json.loads(data)
    if not isinstance(doc, dict):
        raise ValueError("a metrics snapshot is a JSON object")
    return doc
