"""The static picture on the bus (`picket.static`): what a server needs of the pipeline's
geography and settings to draw the map and join incidents, as one retained message.

One document, made from a `World` by `static_doc`: the zones and the infrastructure lines
the detectors judge against (GeoJSON), the satellites layer's spec (the server propagates
its own copy), the `[incidents]` rules, and a version. The in-process edge (`LiveSink`) and
the cluster's subject worker of shard 0 publish it the same way (`StaticPublisher`): at
start, and again whenever the geography's version moves (an operator's zone edit applied).
A server keeps only the newest one, so on JetStream the subject lives in a stream that
holds one message per subject (`picket.bus.jetstream`): a server that starts later still
finds it.

Why one message and not a hand-over in memory: a server on another machine has nothing
but the bus, and the server beside the pipeline must show exactly what the remote one does.

Wire form: the JSON document, or, when that is larger than `COMPRESS_AT`, `MAGIC` and the
JSON compressed with zlib (zone sets from openAIP run to megabytes, and a NATS message is
capped, 1 MiB by default). A document that does not fit even so goes out without its
geometry (`"layers_dropped": true`, logged), never blocking the pipeline.
"""

from __future__ import annotations

import json
import logging
import time as wall
import zlib
from typing import Any

from picket.bus import Bus

log = logging.getLogger(__name__)

STATIC = "picket.static"
FORMAT = 1
MAGIC = b"PKS1"
COMPRESS_AT = 64 << 10  # bytes of JSON above which the document goes compressed
DEFAULT_CAP = 1 << 20  # a bus that names no payload limit: NATS's default


class StaticError(ValueError):
    """A `picket.static` payload that is not a static document."""


def static_doc(world: Any, source: str = "pipeline") -> dict[str, Any]:
    """The static picture of `world` (a `World`): zones and infrastructure as GeoJSON
    FeatureCollections (None where none is loaded), the sky layer's spec, the `[incidents]`
    rules, and the version: `source` (who published it), the geography's version and the
    wall time, so a reader can tell a newer copy from the one it holds."""
    from picket.serve.layers import layers_of

    layers = layers_of(world)
    sky = world.sky.spec() if world.sky is not None and hasattr(world.sky, "spec") else None
    return {"format": FORMAT,
            "version": {"source": source, "geography": int(world.version),
                        "time": wall.time()},
            "sky": sky, "incidents": world.incidents, "zones": layers.get("zones"),
            "infrastructure": layers.get("infrastructure")}  # fmt: skip


def encode_static(doc: dict[str, Any], cap: int | None = None) -> bytes:
    """The payload for `doc`, compressed above `COMPRESS_AT`; without its geometry if it
    would still exceed `cap` bytes."""
    cap = cap or DEFAULT_CAP
    data = json.dumps(doc, default=str, separators=(",", ":")).encode()
    if len(data) > COMPRESS_AT:
        data = MAGIC + zlib.compress(data, 6)
    if len(data) > cap - 4096:  # headroom for the message's headers
        log.warning("static picture of %d bytes exceeds the bus's %d: zones and lines "
                    "are left out of picket.static (the server shows none)",
                    len(data), cap)  # fmt: skip
        slim = {**doc, "zones": None, "infrastructure": None, "layers_dropped": True}
        data = json.dumps(slim, default=str, separators=(",", ":")).encode()
    return data


def read_static(data: bytes) -> dict[str, Any]:
    """The document of one `picket.static` payload (StaticError if it is not one). An
    older publisher's document (only `sky` and `incidents`) reads as one without layers."""
    try:
        if data[:4] == MAGIC:
            data = zlib.decompress(data[4:])
        doc = json.loads(data)
    except (ValueError, zlib.error) as e:
        raise StaticError(f"not a static picture: {e}") from None
    if not isinstance(doc, dict):
        raise StaticError("not a static picture: not a JSON object")
    for name in ("zones", "infrastructure"):
        fc = doc.get(name)
        if fc is not None and not (isinstance(fc, dict) and isinstance(fc.get("features"), list)):
            raise StaticError(f"static picture: {name} is not a FeatureCollection")
    for name in ("sky", "incidents"):
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise StaticError(f"static picture: {name} is not an object")
    return doc


class StaticPublisher:
    """Publishes `world`'s static picture (retained: the newest wins) at start and again
    when the geography's version moved since the last one. Also a sink (`before_batch`,
    `emit`, `tracks`, `close`), so a worker's pipeline carries it like any other edge."""

    def __init__(self, bus: Bus, world: Any, source: str = "pipeline", publish: bool = True):
        self.bus, self.world, self.source = bus, world, source
        self.published = 0
        self._version: int | None = None
        if publish:
            self.publish()

    def publish(self) -> None:
        if self.world is None:
            return
        doc = static_doc(self.world, self.source)
        self.bus.publish(STATIC, encode_static(doc, getattr(self.bus, "max_payload", None)))
        self._version = int(self.world.version)
        self.published += 1

    def maybe_publish(self) -> bool:
        """Publish if the geography changed since the last publication; True if it did."""
        if self.world is None or self.world.version == self._version:
            return False
        self.publish()
        return True

    # as a sink: a zone set replaced between batches goes out before the batch is judged
    def before_batch(self, world: Any) -> None:
        self.maybe_publish()

    def emit(self, events: list) -> None:
        pass

    def tracks(self, ctx: Any) -> None:
        pass

    def close(self) -> None:
        self.maybe_publish()
