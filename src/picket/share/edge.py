"""The outputs at the bus's edge: `[[outputs]]` read only what the pipeline publishes.

CoT/TAK, webhooks, alert files, readsb JSON, SBS-1 and AIS NMEA take the alert events on
`picket.alerts` and the track snapshots on `picket.picture` (`picket.bus.picture`), merged
into their own columns (`BusPicture`, as the live hub does); none reads the pipeline's
track table or runs in its thread.

Why: the same outputs then run wherever the bus reaches, beside an in-process pipeline
(`picket run`, `replay`, `demo`: an in-process bus) or beside a cluster of workers
(`picket share --nats`), and a slow TAK server, disk or webhook never holds a batch back.

An output is an object with `emit(events)` (alert events), `picture(view)` (an `EdgeView`
after each snapshot), `stats()` and `close()`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.bus import ALERTS, Bus, InProcessBus
from picket.bus.picture import PICTURE, BusPicture, PictureError, decode
from picket.bus.sink import read_alerts

log = logging.getLogger(__name__)

FOLLOW_S = 0.05  # how long one pull waits for news (in-process); a remote bus's own wait
FETCH = 1000  # messages taken per pull


@dataclass
class EdgeView:
    """What an output sees after one snapshot: every track's columns (rows numbered in
    order of first arrival, stable for the edge's life), the statics by subject, and what
    this snapshot changed. The arrays are the edge's own and change with the next
    snapshot: an output keeps copies of what it holds on to."""

    store: BusPicture
    changed: np.ndarray  # rows this snapshot touched
    new_statics: list[tuple[int, int]] = field(default_factory=list)  # (row, subject)

    @property
    def now(self) -> float:
        return float(self.store.time)

    @property
    def now_by_domain(self) -> dict[int, float]:
        return self.store.now_by_domain

    @property
    def n(self) -> int:
        return self.store.n

    @property
    def cols(self) -> dict[str, np.ndarray]:
        n = self.store.n
        return {k: v[:n] for k, v in self.store.cols.items()}

    @property
    def statics(self) -> dict[int, dict[str, Any]]:
        return self.store.statics

    def picture(self) -> Any:
        """Every track as a `Picture` (copies), for outputs that select from all of them."""
        return self.store.picture()


class OutputEdge:
    """Feeds outputs from a bus: a follower thread pulls alert events and snapshots, in
    order per subject; `close()` takes what is left, then closes the outputs.

    `alerts_from`, `picture_from`: the stream positions to read after (`picket.bus.NEW`:
    only what comes next); `name`: the readers' durable name on the bus; `wait_s`: how long
    one pull waits for news (a remote bus: not 0)."""

    def __init__(self, bus: Bus, outputs: list[Any], name: str = "picket-outputs",
                 alerts_from: int = 0, picture_from: int = 0,
                 forget_after_s: float | None = None, follow: bool = True,
                 wait_s: float = FOLLOW_S):  # fmt: skip
        self.bus, self.outputs = bus, list(outputs)
        self.wait_s = wait_s
        self._alerts = bus.subscribe(ALERTS, f"{name}-alerts", alerts_from, forget_after_s)
        self._pictures = bus.subscribe(PICTURE, f"{name}-picture", picture_from, forget_after_s)
        self.store = BusPicture()
        self.snapshots = 0  # snapshots taken
        self.alert_messages = 0
        self.unreadable = 0  # messages that were not a snapshot or alert events (logged)
        self.errors = 0  # an output that raised (logged with its traceback, once per output)
        self._failed: set[int] = set()
        self._lock = threading.Lock()  # one pump at a time: the follower's or close's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if follow:
            self._thread = threading.Thread(target=self._follow, name="picket-outputs",
                                            daemon=True)  # fmt: skip
            self._thread.start()

    name = "outputs' bus edge"  # what /api/metrics lists the counters below under

    def stats(self) -> dict[str, Any]:
        """What reached the outputs and what did not: messages that were not readable,
        outputs that raised, and (in-process) snapshots the bus dropped because the edge
        fell more than its byte cap behind."""
        return {"kind": "edge", "snapshots": self.snapshots,
                "alert_messages": self.alert_messages, "unreadable": self.unreadable,
                "output_errors": self.errors,
                "skipped": int(getattr(self.bus, "skipped", 0))}  # fmt: skip

    def add(self, outputs: list[Any]) -> None:
        """More outputs (flags attached after the config's): they see what comes next."""
        with self._lock:
            self.outputs.extend(outputs)

    def pump(self, wait_s: float = 0.0) -> int:
        """Take what the bus holds (waiting up to `wait_s` for the first message); returns
        the messages handled."""
        with self._lock:
            msgs = self._alerts.fetch(FETCH, wait_s)
            for m in msgs:
                self._take_alerts(m.data)
            if msgs:
                self._alerts.ack(msgs[-1])
            pics = self._pictures.fetch(FETCH, wait_s)
            for m in pics:
                self._take_picture(m.data)
            if pics:
                self._pictures.ack(pics[-1])
            return len(msgs) + len(pics)

    def _take_alerts(self, data: bytes) -> None:
        try:
            events = read_alerts(data)
        except (ValueError, KeyError, TypeError) as e:
            self.unreadable += 1
            log.warning("outputs: alert events not readable: %s", e)
            return
        self.alert_messages += 1
        for o in self.outputs:
            self._call(o, "emit", events)

    def _take_picture(self, data: bytes) -> None:
        try:
            snap = decode(data)
        except PictureError as e:
            self.unreadable += 1
            log.warning("outputs: %s", e)
            return
        new = self.store.merge(snap)
        self.snapshots += 1
        view = EdgeView(self.store, self.store.changed, [(r, s) for r, s, _ in new])
        for o in self.outputs:
            self._call(o, "picture", view)

    def _call(self, o: Any, what: str, *args: Any) -> None:
        """One output's failure is its own: logged (with the traceback the first time),
        counted, and the others go on."""
        try:
            getattr(o, what)(*args)
        except Exception:
            self.errors += 1
            if id(o) not in self._failed:
                self._failed.add(id(o))
                log.exception("output %s: %s failed", getattr(o, "name", type(o).__name__), what)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.pump(self.wait_s)
            except Exception:  # the bus reconnects by itself; the outputs go on
                log.exception("outputs: reading the bus failed")
                self._stop.wait(1.0)

    def drain(self, wait_s: float = 0.0) -> None:
        """Take everything published so far (the end of a run)."""
        while self.pump(wait_s):
            pass

    def close(self, wait_s: float | None = None) -> None:
        """Stop following, take what is left (a pull waiting `wait_s`, by default none on
        the in-process bus and the edge's own on a remote one), close the outputs (each
        delivers what it holds: CoT's last selection, the alert file, the webhook queue)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30.0)
        local = isinstance(self.bus, InProcessBus)
        self.drain(wait_s if wait_s is not None else 0.0 if local else self.wait_s)
        for o in self.outputs:
            self._call(o, "close")
        for s in (self._alerts, self._pictures):
            s.close()

