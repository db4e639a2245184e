"""The bus between picket's stages: feeds, decoders, workers, the store and the server.

`Bus` is a small interface over durable, ordered subjects (JetStream's model): publish
bytes with an optional de-duplication id, and pull them back from a position. Two
implementations: `InProcessBus` (the default, nothing to install or run) and
`JetStreamBus` (`picket.bus.jetstream`, NATS JetStream across processes and machines).

Subjects (docs/scaling.md):
- `picket.feed.<name>`: a feed's raw bytes as they arrived;
- `picket.reports.<shard>`: decoded report batches for one subject shard (stage 1);
- `picket.area.<shard>`: the batches for the area stage (detectors that need neighbours);
- `picket.alerts`: alert events (JSON, low volume);
- `picket.picture`: per batch, the picture columns of the tracks it changed
  (`picket.bus.picture`), what the live server builds its picture from;
- `picket.cmd.<what>`: commands such as zone edits (`zones`) and triage (`triage`), JSON,
  applied by the pipeline between batches.
"""

from __future__ import annotations

import fnmatch
import threading
import time as wall
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

FEED, REPORTS, AREA, ALERTS, CMD = "picket.feed", "picket.reports", "picket.area", \
    "picket.alerts", "picket.cmd"  # fmt: skip
NEW = -1  # `subscribe(after_seq=NEW)`: from the stream's end, only what comes next


@dataclass
class Msg:
    subject: str
    data: bytes
    seq: int  # the stream's sequence number: a durable position to resume after
    headers: dict[str, str] = field(default_factory=dict)
    handle: Any = field(default=None, repr=False)  # the transport's own message (acks)


class Subscription(Protocol):
    def fetch(self, max_msgs: int = 64, timeout: float = 1.0) -> list[Msg]:
        """The next messages in order (empty after `timeout` with none)."""
        ...

    def ack(self, msg: Msg) -> None:
        """Everything up to `msg` is done with (acknowledged as one)."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    def publish(self, subject: str, data: bytes, msg_id: str | None = None,
                headers: dict[str, str] | None = None) -> int:  # fmt: skip
        """Append to `subject`'s stream; returns the sequence. A repeated `msg_id` (a
        publisher retrying after a lost acknowledgement) is stored once."""
        ...

    def subscribe(self, subject: str, durable: str, after_seq: int = 0,
                  forget_after_s: float | None = None) -> Subscription:  # fmt: skip
        """A durable reader of `subject` (wildcards `*` and `>`) starting after stream
        sequence `after_seq`: the position the reader's own checkpoint holds. With
        `forget_after_s`, the server drops the reader's position once it has not read
        for that long (a reader named per run, such as a server's relay). `after_seq` =
        `NEW` reads only what is published from now on (a live output's first start)."""
        ...

    def close(self) -> None: ...


def _mix64(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mix (murmur3's finaliser) of uint64 keys."""
    x = x.copy()
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xFF51AFD7ED558CCD)
        x ^= x >> np.uint64(33)
        x *= np.uint64(0xC4CEB9FE1A85EC53)
        x ^= x >> np.uint64(33)
    return x


def shard_of(subjects: np.ndarray, n: int) -> np.ndarray:
    """The partition of each subject key: a fixed 64-bit mix (not Python's salted `hash`),
    so every process on every machine agrees."""
    x = _mix64(np.asarray(subjects, np.int64).view(np.uint64))
    return (x % np.uint64(max(n, 1))).astype(np.int64)


def global_ids(subjects: np.ndarray, shard: int = 0) -> np.ndarray:
    """Track ids for the wire, the same in every worker and after every restart, never a
    table slot: a named subject's id is a 64-bit mix of its key (namespace and number, so
    the domain is in it); an anonymous plot track's (`Namespace.TRACK`, numbered by the
    tracker of one shard, whose numbering is part of the checkpointed state) also mixes
    in the shard, so two trackers' track 7 never collide. Non-negative int64."""
    from picket.model.subjects import SHIFT, Namespace

    k = np.asarray(subjects, np.int64)
    x = k.view(np.uint64).copy()
    anon = (k >> SHIFT) == int(Namespace.TRACK)
    x[anon] ^= np.uint64((shard + 1) & 0xFF) << np.uint64(56)
    return (_mix64(x) >> np.uint64(1)).astype(np.int64)


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and not fnmatch.fnmatchcase(s[i], tok)):
            return False
    return len(p) == len(s)


class InProcessBus:
    """The default bus: one ordered log in memory, shared by the threads of one process.
    Its log is the stream: a reader resumes from any sequence it holds.

    With `retain_bytes` (a live server's bus, where snapshots flow for hours) the log
    forgets what every open reader has read, and beyond that cap the oldest messages
    even if unread: a reader that fell that far behind skips ahead, counted in `skipped`.
    """

    def __init__(self, dedupe_window: int = 100_000, retain_bytes: int | None = None):
        self._log: list[Msg] = []
        self._base = 0  # messages trimmed from the front of the log
        self._retain = retain_bytes
        self._bytes = 0  # payload bytes the log holds
        self._readers: weakref.WeakSet[_LocalSub] = weakref.WeakSet()
        self.skipped = 0
        self._ids: dict[str, int] = {}
        self._cv = threading.Condition()
        self._window = dedupe_window

    def publish(self, subject: str, data: bytes, msg_id: str | None = None,
                headers: dict[str, str] | None = None) -> int:  # fmt: skip
        with self._cv:
            if msg_id is not None and msg_id in self._ids:
                return self._ids[msg_id]
            seq = self._base + len(self._log) + 1
            self._log.append(Msg(subject, data, seq, dict(headers or {})))
            self._bytes += len(data)
            if self._retain is not None:
                self._trim()
            if msg_id is not None:
                self._ids[msg_id] = seq
                if len(self._ids) > self._window:
                    self._ids.pop(next(iter(self._ids)))
            self._cv.notify_all()
            return seq

    def _trim(self) -> None:
        """Drop what all readers have read, then the oldest beyond the byte cap (lock held)."""
        log = self._log
        floor = min((r.pos for r in self._readers), default=self._base + len(log))
        cut = max(0, min(floor - self._base, len(log)))
        if self._bytes - sum(len(m.data) for m in log[:cut]) > 2 * self._retain:
            left = self._bytes
            cut = 0
            while cut < len(log) and left > self._retain:
                left -= len(log[cut].data)
                cut += 1
        if cut < 64 and self._bytes <= 2 * self._retain:
            return  # trim in chunks: `del log[:cut]` moves the rest
        self._bytes -= sum(len(m.data) for m in log[:cut])
        del log[:cut]
        self._base += cut

    def subscribe(self, subject: str, durable: str, after_seq: int = 0,
                  forget_after_s: float | None = None) -> _LocalSub:  # fmt: skip
        with self._cv:
            sub = _LocalSub(self, subject, self._base + len(self._log) if after_seq == NEW
                            else after_seq)  # fmt: skip
            self._readers.add(sub)
        return sub

    def messages(self, subject: str) -> Iterable[Msg]:
        """Every stored message on `subject` (tests, tools)."""
        with self._cv:
            return [m for m in self._log if _matches(subject, m.subject)]

    def close(self) -> None:
        pass


class _LocalSub:
    def __init__(self, bus: InProcessBus, subject: str, after_seq: int):
        self.bus, self.subject, self.pos = bus, subject, after_seq

    def fetch(self, max_msgs: int = 64, timeout: float = 1.0) -> list[Msg]:
        end = wall.monotonic() + timeout
        out: list[Msg] = []
        with self.bus._cv:
            while True:
                log, base = self.bus._log, self.bus._base
                if self.pos < base:  # trimmed before this reader got to them
                    self.bus.skipped += base - self.pos
                    self.pos = base
                while self.pos - base < len(log) and len(out) < max_msgs:
                    m = log[self.pos - base]
                    self.pos += 1
                    if _matches(self.subject, m.subject):
                        out.append(m)
                left = end - wall.monotonic()
                if out or left <= 0:
                    return out
                self.bus._cv.wait(left)

    def ack(self, msg: Msg) -> None:
        pass

    def close(self) -> None:
        pass


def open_bus(url: str | None) -> Bus:
    """`None` or `memory:` gives the in-process bus; `nats://host:port` JetStream."""
    if not url or url.startswith("memory:"):
        return InProcessBus()
    if url.startswith(("nats://", "tls://")):
        from picket.bus.jetstream import JetStreamBus

        return JetStreamBus(url)
    raise ValueError(f"{url}: a bus is memory: or nats://host:port")
