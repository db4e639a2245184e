"""The live hub: the current picture, the open alerts and everyone listening.

Threads: the pipeline thread hands over snapshots and alert events; a tick
thread encodes one frame per view per tick (all CPU work happens there); the
server's event loop only moves ready bytes to sockets. A slow client whose
queue is full is dropped back to a keyframe instead of stalling the others.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time as wall
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model.subjects import parse_subject
from picket.serve.picture import Picture
from picket.serve.sse import EventLog
from picket.serve.views import ViewKey, ViewState

QUEUE_FRAMES = 8  # frames a client may lag before it is resynchronised


@dataclass(eq=False)
class Client:
    loop: asyncio.AbstractEventLoop
    view: ViewKey
    role: str = "viewer"
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES * 2))
    needs_keyframe: bool = True
    paused: bool = False  # replaying: live frames are not sent
    id: int = 0

    def offer(self, items: list[tuple[str, Any]], resync: bool) -> None:
        """Runs on the event loop: queue a tick's messages or fall back to a keyframe."""
        if self.queue.qsize() + len(items) > self.queue.maxsize:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.needs_keyframe = True
            return
        for it in items:
            self.queue.put_nowait(it)


class LiveHub:
    def __init__(self, tick_s: float = 1.0):
        self.tick_s = tick_s
        self.boot = secrets.token_hex(4)
        self.events = EventLog(self.boot)
        self.picture = Picture.empty()
        self.labels: dict[int, str] = {}
        self._pic_lock = threading.Lock()
        self.clients: dict[int, Client] = {}
        self.views: dict[ViewKey, ViewState] = {}
        self._clients_lock = threading.Lock()
        self._ids = itertools.count(1)
        self.open_alerts: dict[str, dict[str, Any]] = {}
        self._alert_keys = np.zeros(0, np.int64)
        self.triage_state: dict[str, dict[str, Any]] = {}
        self.layers: dict[str, dict[str, Any]] = {}
        self.tracks_ref: Any = None  # the live TrackTable (history/static look-ups)
        self.rejects: Any = None
        self.stats = {"tick": 0, "encode_ms": 0.0, "encode_cpu_ms": 0.0, "frame_bytes": 0,
                      "reports": 0, "reports_per_s": 0.0, "sse_clients": 0}  # fmt: skip
        self._rate = (wall.monotonic(), 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # pipeline side ----------------------------------------------------------------
    def set_picture(self, pic: Picture, n_reports: int | None = None) -> None:
        pic.labels = self.labels
        with self._pic_lock:
            self.picture = pic
        if n_reports is not None:
            t0, n0 = self._rate
            now = wall.monotonic()
            if now - t0 >= 1.0:
                self.stats["reports_per_s"] = (n_reports - n0) / (now - t0)
                self._rate = (now, n_reports)
            self.stats["reports"] = n_reports

    def set_label(self, track_id: int, label: str) -> None:
        self.labels[track_id] = label

    def alert_event(self, what: str, alert: dict[str, Any]) -> None:
        """An alert opened, updated or closed: keep the open set, push to SSE."""
        aid = alert["id"]
        alert = {**alert, "triage": self.triage_state.get(aid) or _new_triage()}
        if what == "close" or alert.get("status") == "closed":
            self.open_alerts.pop(aid, None)
        else:
            self.open_alerts[aid] = alert
        self._refresh_alert_keys()
        self.events.publish("alert", {"event": what, "alert": alert})

    def _refresh_alert_keys(self) -> None:
        keys = []
        for a in list(self.open_alerts.values()):
            try:
                keys.append(parse_subject(a["subject"]))
            except (ValueError, KeyError):
                continue
        self._alert_keys = np.array(sorted(set(keys)), np.int64)

    # server side ------------------------------------------------------------------
    def triage_event(self, entry: dict[str, Any], state: dict[str, Any], alert: dict | None):
        aid = entry["alert_id"]
        self.triage_state[aid] = state
        if aid in self.open_alerts:
            self.open_alerts[aid] = {**self.open_alerts[aid], "triage": state}
        self.events.publish("triage", {**entry, "alert": alert})

    def layer_event(self, name: str, geojson: dict[str, Any]) -> None:
        self.layers[name] = geojson
        self.events.publish("layers", {"layer": name})

    def current(self) -> Picture:
        with self._pic_lock:
            return self.picture

    def alert_subject_keys(self) -> np.ndarray:
        return self._alert_keys

    def subscribe(self, loop: asyncio.AbstractEventLoop, view: ViewKey, role: str) -> Client:
        c = Client(loop, view, role, id=next(self._ids))
        with self._clients_lock:
            self.clients[c.id] = c
            self.views.setdefault(view, ViewState(view))
        return c

    def change_view(self, c: Client, view: ViewKey) -> None:
        with self._clients_lock:
            c.view, c.needs_keyframe = view, True
            self.views.setdefault(view, ViewState(view))

    def unsubscribe(self, c: Client) -> None:
        with self._clients_lock:
            self.clients.pop(c.id, None)

    # tick thread --------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="picket-hub", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.tick()
            except Exception as e:  # a bug in one tick must not stop the picture
                self.stats["last_error"] = repr(e)

    def tick(self) -> None:
        """Encode every watched view once and hand the bytes to its clients."""
        with self._clients_lock:
            live = [c for c in self.clients.values() if not c.paused]
            for c in live:
                # a client back from a replay watches a view that was dropped while it was
                # paused: make the view again and start the client from a keyframe
                if c.view not in self.views:
                    self.views[c.view] = ViewState(c.view)
                    c.needs_keyframe = True
            clients = [(c, c.view, c.needs_keyframe) for c in live]
            watched = {v for _, v, _ in clients}
            for k in [k for k in self.views if k not in watched]:
                del self.views[k]
            views = {k: self.views[k] for k in watched}
        if not views:
            return
        t0, c0 = wall.perf_counter(), wall.thread_time()
        pic = self.current()
        flags = pic.flags(self._alert_keys)
        self.stats["tick"] += 1
        seq = self.stats["tick"]
        out: dict[ViewKey, tuple[list, bytes]] = {}
        keyframes: dict[ViewKey, tuple[list, bytes]] = {}
        nbytes = 0
        for k, v in views.items():
            out[k] = v.delta(pic, flags, seq)
            nbytes = max(nbytes, len(out[k][1]))
            if any(kf and v == k for _, v, kf in clients):
                keyframes[k] = v.keyframe()
        self.stats["encode_ms"] = (wall.perf_counter() - t0) * 1e3
        self.stats["encode_cpu_ms"] = (wall.thread_time() - c0) * 1e3
        self.stats["frame_bytes"] = nbytes
        for c, view, kf in clients:
            if kf:
                meta, data = keyframes[view]
                c.needs_keyframe = False
            else:
                meta, data = out[view]
            items: list[tuple[str, Any]] = []
            if meta:
                items.append(("text", json.dumps({"type": "meta", "tracks": meta})))
            items.append(("bytes", data))
            try:
                c.loop.call_soon_threadsafe(c.offer, items, False)
            except RuntimeError:
                self.unsubscribe(c)


def _new_triage() -> dict[str, Any]:
    return {"state": "new", "assignee": None, "who": None, "time": None, "comments": 0}
