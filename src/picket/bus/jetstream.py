"""The bus on NATS JetStream: file-backed streams, durable pull consumers, de-duplication
by `Nats-Msg-Id`, and reconnection with backoff.

nats-py is asyncio; picket's stages are synchronous, so one event loop runs in a daemon
thread and the `Bus` methods hand coroutines to it. A lost server never raises into a
stage: publishes retry with backoff (the message id makes a retried publish land once),
and a fetch returns nothing until the connection is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time as wall
from typing import Any

from picket.bus import AREA, CMD, FEED, NEW, REPORTS, Msg
from picket.store.postgres import redact

log = logging.getLogger(__name__)

# stream name -> subjects; limits retention keeps messages for readers that resume
STREAMS = {
    "PICKET_FEED": [f"{FEED}.>"],
    "PICKET_REPORTS": [f"{REPORTS}.>"],
    "PICKET_AREA": [f"{AREA}.>"],
    "PICKET_ALERTS": ["picket.alerts"],
    "PICKET_CMD": [f"{CMD}.>"],
    # snapshots (workers' `BusSink`): only the recent past is worth keeping
    "PICKET_TRACKS": ["picket.tracks.>", "picket.picture"],
    # the newest only, per subject (a retained value): static picture, counters, harbours
    "PICKET_STATE": ["picket.static", "picket.metrics", "picket.harbours"],
}
LAST_VALUE = {"PICKET_STATE"}  # streams that keep one message per subject
MAX_AGE_BY_STREAM = {"PICKET_TRACKS": 600.0, "PICKET_STATE": 0.0}  # 0: kept until replaced
MAX_AGE_S = 24 * 3600.0  # how far back a restarted reader can resume
MAX_BYTES = 4 << 30  # per stream; the oldest messages go first beyond it
INSUFFICIENT_STORAGE = 10047  # JetStream's error code: the store cannot reserve max_bytes
DEDUPE_S = 120.0  # a publisher retrying within this window stores once


class BusUnavailable(RuntimeError):
    pass


class JetStreamBus:
    def __init__(self, url: str, retry_s: float = 60.0, name: str = "picket"):
        self.url, self.retry_s, self.name = url, retry_s, name
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="picket-nats",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self.nc: Any = None
        self.js: Any = None
        self.retries = 0  # publishes and fetches retried after a lost connection
        self._closing = False
        self._backoff(lambda: self._run(self._connect(), 30.0), "connect")

    # plumbing ---------------------------------------------------------------------------
    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _backoff(self, fn: Any, what: str) -> Any:
        """Call `fn` until it works: 0.1 s, doubling, at most 5 s between tries, for
        `retry_s` in all; then `BusUnavailable`."""
        import nats.errors as ne
        import nats.js.errors as je

        delay, end = 0.1, wall.monotonic() + self.retry_s
        while True:
            try:
                return fn()
            except (ne.Error, je.Error, OSError, TimeoutError) as e:
                if isinstance(e, je.BadRequestError):
                    raise
                self.retries += 1
                if wall.monotonic() + delay > end:
                    raise BusUnavailable(f"{redact(self.url)}: {what}: {e!r}") from e
                log.warning("bus %s: %s failed (%r); retrying in %.1f s", redact(self.url),
                            what, e, delay)  # fmt: skip
                wall.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _connect(self) -> None:
        import nats

        async def quiet(e: Exception) -> None:
            log.debug("nats: %r", e)

        async def down() -> None:
            if not self._closing:
                log.warning("bus %s: disconnected; reconnecting", redact(self.url))

        async def up() -> None:
            log.warning("bus %s: reconnected", redact(self.url))

        self.nc = await nats.connect(
            self.url, name=self.name, connect_timeout=2, allow_reconnect=True,
            max_reconnect_attempts=-1, reconnect_time_wait=0.5, error_cb=quiet,
            disconnected_cb=down, reconnected_cb=up,
        )  # fmt: skip
        self.js = self.nc.jetstream(timeout=5.0)
        await self._streams()

    async def _streams(self) -> None:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import NotFoundError, ServerError

        for name, subjects in STREAMS.items():
            try:
                await self.js.stream_info(name)
                continue
            except NotFoundError:
                pass
            per_subject = 1 if name in LAST_VALUE else -1
            for size in (MAX_BYTES, -1):
                cfg = StreamConfig(name=name, subjects=subjects, storage=StorageType.FILE,
                                   retention=RetentionPolicy.LIMITS,
                                   max_age=MAX_AGE_BY_STREAM.get(name, MAX_AGE_S),
                                   max_bytes=size, duplicate_window=DEDUPE_S,
                                   max_msgs_per_subject=per_subject)  # fmt: skip
                try:
                    await self.js.add_stream(cfg)
                    break
                except ServerError as e:
                    # max_bytes is reserved from the server's file store (75 % of the free
                    # disk unless configured): on a small disk the stream keeps its age limit
                    # only, and the store's own limit bounds it
                    if getattr(e, "err_code", None) != INSUFFICIENT_STORAGE or size < 0:
                        raise
                    log.warning("bus %s: no room to reserve %d MB for stream %s; it keeps "
                                "%.0f h by age, within the server's file store",
                                redact(self.url), MAX_BYTES >> 20, name,
                                cfg.max_age / 3600 if cfg.max_age else float("inf"))  # fmt: skip

    @property
    def max_payload(self) -> int:
        return int(self.nc.max_payload) if self.nc is not None else 1 << 20

    # Bus ---------------------------------------------------------------------------------
    def publish(self, subject: str, data: bytes, msg_id: str | None = None,
                headers: dict[str, str] | None = None) -> int:  # fmt: skip
        h = dict(headers or {})
        if msg_id is not None:
            h["Nats-Msg-Id"] = msg_id
        ack = self._backoff(
            lambda: self._run(self.js.publish(subject, data, timeout=5.0, headers=h or None),
                              15.0), f"publish {subject}")  # fmt: skip
        return int(ack.seq)

    def subscribe(self, subject: str, durable: str, after_seq: int = 0,
                  forget_after_s: float | None = None) -> JetStreamSub:  # fmt: skip
        return JetStreamSub(self, subject, durable, after_seq, forget_after_s)

    def close(self) -> None:
        self._closing = True
        if self.nc is not None:
            try:
                self._run(self.nc.drain(), 10.0)
            except Exception as e:  # closing: nothing left to save
                log.debug("bus close: %r", e)
        try:  # the client's own tasks end here, not as warnings when collected later
            self._run(_cancel_tasks(), 5.0)
        except Exception as e:
            log.debug("bus close: %r", e)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)


async def _cancel_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class JetStreamSub:
    """A durable pull consumer positioned from the reader's own checkpoint: it is made
    again at `after_seq` on every start, so where a reader resumes is always the state it
    restored, never the consumer's separate ack floor."""

    def __init__(self, bus: JetStreamBus, subject: str, durable: str, after_seq: int,
                 forget_after_s: float | None = None):  # fmt: skip
        self.bus, self.subject, self.durable = bus, subject, durable
        self.forget_after_s = forget_after_s  # the consumer's inactive_threshold
        self.psub: Any = None
        bus._backoff(lambda: bus._run(self._bind(after_seq), 30.0), f"subscribe {subject}")

    async def _bind(self, after_seq: int) -> None:
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        js = self.bus.js
        stream = await js.find_stream_name_by_subject(self.subject)
        if self.psub is not None:
            try:
                await self.psub.unsubscribe()
            except Exception as e:  # the old subscription is gone either way
                log.debug("unsubscribe: %r", e)
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(stream, self.durable)
        new = after_seq == NEW
        cfg = ConsumerConfig(
            durable_name=self.durable, filter_subject=self.subject,
            deliver_policy=DeliverPolicy.NEW if new else DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=None if new else after_seq + 1,
            ack_policy=AckPolicy.ALL, ack_wait=120.0, max_ack_pending=-1,
            inactive_threshold=self.forget_after_s,
        )  # fmt: skip
        self.psub = await js.pull_subscribe(self.subject, durable=self.durable, stream=stream,
                                            config=cfg)  # fmt: skip

    def rewind(self, after_seq: int) -> None:
        """Read again from after `after_seq` (a delivery lost in a reconnect)."""
        self.bus._backoff(lambda: self.bus._run(self._bind(after_seq), 30.0), "rewind")

    def fetch(self, max_msgs: int = 64, timeout: float = 1.0) -> list[Msg]:
        import nats.errors as ne

        try:
            got = self.bus._run(self.psub.fetch(max_msgs, timeout=timeout), timeout + 15.0)
        except (ne.TimeoutError, TimeoutError):
            return []
        except (ne.Error, OSError) as e:  # the connection is being re-made: try later
            self.bus.retries += 1
            log.debug("fetch %s: %r", self.subject, e)
            wall.sleep(0.2)
            return []
        return [Msg(m.subject, m.data, int(m.metadata.sequence.stream), dict(m.headers or {}), m)
                for m in got]  # fmt: skip

    def ack(self, msg: Msg) -> None:
        """Acknowledge through `msg` (AckAll): the consumer's floor follows checkpoints."""
        if msg.handle is None:
            return
        try:
            self.bus._run(msg.handle.ack(), 10.0)
        except Exception as e:  # a lost ack only means a redelivery, which readers skip
            log.debug("ack %s: %r", self.subject, e)

    def close(self) -> None:
        try:
            self.bus._run(self.psub.unsubscribe(), 5.0)
        except Exception as e:  # closing
            log.debug("unsubscribe: %r", e)
