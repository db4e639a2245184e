"""Server-Sent Events: a numbered ring of recent events so clients resume by id.

Why a ring and not the store: resume after a dropped connection needs every
event since an id, in order, including triage and updates; 10,000 events are
hours of alerts and cost a few megabytes.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from typing import Any

KEEP = 10_000


def format_event(event: str, data: str, eid: str | None = None) -> bytes:
    lines = []
    if eid is not None:
        lines.append(f"id: {eid}")
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


class EventLog:
    """Thread-safe numbered events; async readers wait for new ones."""

    def __init__(self, boot: str, keep: int = KEEP):
        self.boot = boot
        self.ring: deque[tuple[int, str, str]] = deque(maxlen=keep)
        self.seq = 0
        self.lock = threading.Lock()
        self.waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def publish(self, event: str, data: dict[str, Any]) -> int:
        text = json.dumps(data, separators=(",", ":"))
        with self.lock:
            self.seq += 1
            self.ring.append((self.seq, event, text))
            waiters = list(self.waiters)
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # loop closed
                self.waiters.discard((loop, ev))
        return self.seq

    def parse_id(self, last_id: str | None) -> int | None:
        """The seq after which to resume; None when the id cannot be resumed from."""
        if not last_id:
            return self.seq_now()
        boot, _, seq = last_id.partition(":")
        if boot != self.boot or not seq.isdigit():
            return None
        s = int(seq)
        with self.lock:
            oldest = self.ring[0][0] if self.ring else self.seq + 1
            if s > self.seq or s < oldest - 1:
                return None
        return s

    def seq_now(self) -> int:
        with self.lock:
            return self.seq

    def since(self, seq: int) -> list[tuple[int, str, str]]:
        with self.lock:
            if not self.ring or self.ring[-1][0] <= seq:
                return []
            first = self.ring[0][0]
            return list(self.ring)[max(0, seq + 1 - first) :]

    def eid(self, seq: int) -> str:
        return f"{self.boot}:{seq}"
