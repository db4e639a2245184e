"""Alerts as JSON Lines: one object per alert, in its latest state.

The file is rewritten atomically (write to a temporary file, then rename) at
most every `every_s` seconds of wall time and at the end, so a reader never
sees a half-written line and every alert appears exactly once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from picket.fusion.context import BatchContext
from picket.model.alerts import Alert, Event


class MemorySink:
    """Every alert of the run in its latest state, by id."""

    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}

    def emit(self, events: list[Event]) -> None:
        for _, a in events:
            self.alerts[a.id] = a

    def tracks(self, ctx: BatchContext) -> None:
        return None

    def close(self) -> None:
        return None


class JsonlSink(MemorySink):
    def __init__(self, path: str | Path, every_s: float = 2.0):
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.every_s = every_s
        self._last = 0.0

    def emit(self, events: list[Event]) -> None:
        super().emit(events)
        if time.monotonic() - self._last > self.every_s:
            self.write()

    def write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for a in sorted(self.alerts.values(), key=lambda a: (a.time, a.id)):
                fh.write(a.dumps() + "\n")
        os.replace(tmp, self.path)
        self._last = time.monotonic()

    def close(self) -> None:
        self.write()
