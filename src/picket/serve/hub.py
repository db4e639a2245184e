"""The live hub: the current picture, the open alerts and everyone listening.

Threads: the pipeline thread hands over snapshots and alert events; a tick
thread encodes one frame per view per tick (all CPU work happens there); the
server's event loop only moves ready bytes to sockets. A slow client whose
queue is full is dropped back to a keyframe instead of stalling the others.

Why the tick waits for a batch boundary: the pipeline and the tick share one
interpreter (the GIL), so an encode started mid-batch takes a few ms of CPU
but tens of ms of wall time. When the pipeline thread is busy (its CPU clock
moves), the tick asks it to park at the end of its current batch (it hands
over a fresh snapshot first), encodes alone, and lets it go; a tick never
waits longer than `tick_s` for that, and an idle pipeline is not waited for.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time as wall
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model.subjects import parse_subject
from picket.serve.picture import SUSPECT_KINDS, Picture
from picket.serve.sse import EventLog
from picket.serve.views import MetaCache, ViewKey, ViewState, meta_message
from picket.serve.zone_edits import ZoneEditor

QUEUE_FRAMES = 8  # frames a client may lag before it is resynchronised
PARK_MAX_S = 1.0  # longest a parked pipeline waits for an encode (a stuck tick frees it)


@dataclass(eq=False)
class Client:
    loop: asyncio.AbstractEventLoop
    view: ViewKey
    role: str = "viewer"
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_FRAMES * 2))
    needs_keyframe: bool = True
    paused: bool = False  # replaying: live frames are not sent
    id: int = 0
    overflows: int = 0  # ticks dropped since the client last took a frame (slow-client rule)

    def offer(self, items: list[tuple[str, Any]], resync: bool) -> None:
        """Runs on the event loop: queue a tick's messages or fall back to a keyframe."""
        if self.queue.qsize() + len(items) > self.queue.maxsize:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.needs_keyframe = True
            self.overflows += 1
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
        self.categories: dict[int, tuple[int, str]] = {}  # id -> (subject, "ship:tanker")
        self._pic_lock = threading.Lock()
        self.clients: dict[int, Client] = {}
        self.views: dict[ViewKey, ViewState] = {}
        self.meta_cache = MetaCache()  # shared by the views
        self._clients_lock = threading.Lock()
        self._ids = itertools.count(1)
        self.open_alerts: dict[str, dict[str, Any]] = {}
        self._alert_keys = np.zeros(0, np.int64)
        self._suspect_keys = np.zeros(0, np.int64)
        self.friends: set[int] = set()  # subject keys an operator declared friendly
        self.triage_state: dict[str, dict[str, Any]] = {}
        self.layers: dict[str, dict[str, Any]] = {}
        self.tracks_ref: Any = None  # the live TrackTable (history/static look-ups)
        self.rejects: Any = None
        self.env: dict[str, Any] = {}  # the pipeline's env (live_stats), when one feeds the hub
        self.sinks: list[Any] = []  # the pipeline's sinks: their stats() go into /api/metrics
        self.mode = "live"  # "stored": `picket serve` over a store, no pipeline behind it
        self.zones = ZoneEditor()
        self.stats = {"tick": 0, "encode_ms": 0.0, "encode_cpu_ms": 0.0, "frame_bytes": 0,
                      "keyframe_bytes": 0, "wait_ms": 0.0, "reports": 0, "reports_per_s": 0.0,
                      "sse_clients": 0}  # fmt: skip
        # per tick: (tick, waited for the pipeline ms, encode wall ms, encode CPU ms,
        # largest delta bytes, largest keyframe bytes or 0, pipeline parked)
        self.tick_log: deque[tuple] = deque(maxlen=10_000)
        self._rate = (wall.monotonic(), 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gate = threading.Condition()
        self._want = 0  # tick number the tick thread wants the pipeline parked for (0: none)
        self._parked = 0  # tick number the pipeline is parked for
        self.last_batch = -np.inf  # monotonic time of the pipeline's newest batch end
        self.pipeline_thread: int | None = None  # ident of the thread that runs batches

    # pipeline side ----------------------------------------------------------------
    def set_picture(self, pic: Picture, n_reports: int | None = None) -> None:
        pic.labels = self.labels
        setattr(pic, "categories", self.categories)  # noqa: B010 (read by serve.views)
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
        keys, suspects = set(), set()
        for a in list(self.open_alerts.values()):
            try:
                k = parse_subject(a["subject"])
            except (ValueError, KeyError):
                continue
            keys.add(k)
            if a.get("kind") in SUSPECT_KINDS:
                suspects.add(k)
        self._alert_keys = np.array(sorted(keys), np.int64)
        self._suspect_keys = np.array(sorted(suspects), np.int64)

    def track_flags(self, pic: Picture) -> np.ndarray:
        """Per-track flags (alert, stale, non-cooperative, emergency, identity) of `pic`."""
        friends = np.fromiter(self.friends, np.int64) if self.friends else ()
        return pic.flags(self._alert_keys, self._suspect_keys, friends)

    def at_batch_end(self, push: Callable[[], None]) -> bool:
        """Called by the pipeline thread after each batch: if a tick is waiting, hand it a
        fresh picture (`push`) and stay parked while it encodes. True if it did."""
        self.last_batch = wall.monotonic()
        self.pipeline_thread = threading.get_ident()
        with self._gate:
            want = self._want
            if not want:
                return False
            push()
            self._parked = want
            self._gate.notify_all()
            self._gate.wait_for(lambda: self._want != want, timeout=PARK_MAX_S)
            return True

    def pipeline_busy(self, probe_s: float = 0.002) -> bool:
        """Whether the pipeline thread is working now: its CPU clock moves over `probe_s`
        (where the platform has per-thread clocks; else assumed busy while batches come)."""
        if self.pipeline_thread is None or wall.monotonic() - self.last_batch > 2 * self.tick_s + 1:
            return False  # no pipeline, or one that stopped sending batches
        try:
            clock = wall.pthread_getcpuclockid(self.pipeline_thread)
            c0 = wall.clock_gettime(clock)
            wall.sleep(probe_s)
            return wall.clock_gettime(clock) - c0 > probe_s / 10
        except (AttributeError, OSError, ValueError):
            return True

    def _wait_for_pipeline(self) -> bool:
        """Ask a busy pipeline to park at its next batch boundary; True once it has."""
        if not self.pipeline_busy():
            return False  # no pipeline, or an idle one: the tick runs alone anyway
        want = self.stats["tick"] + 1
        with self._gate:
            self._want = want
            return (
                self._gate.wait_for(
                    lambda: self._parked == want or self._stop.is_set(), timeout=self.tick_s
                )
                and self._parked == want
            )

    def _release(self) -> None:
        with self._gate:
            self._want = 0
            self._gate.notify_all()

    def show_stored(self, pic: Picture, open_alerts: list[dict[str, Any]]) -> None:
        """A stored run's picture and the alerts open as of its time (no pipeline)."""
        self.mode = "stored"
        self.set_picture(pic)
        self.open_alerts = {a["id"]: a for a in open_alerts}
        self.triage_state = {a["id"]: a["triage"] for a in open_alerts if a.get("triage")}
        self._refresh_alert_keys()

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
            self.views.setdefault(view, ViewState(view, self.meta_cache))
        return c

    def change_view(self, c: Client, view: ViewKey) -> None:
        with self._clients_lock:
            c.view, c.needs_keyframe = view, True
            self.views.setdefault(view, ViewState(view, self.meta_cache))

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
        self._release()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        due = wall.monotonic() + self.tick_s
        while not self._stop.wait(max(0.0, due - wall.monotonic())):
            t0 = wall.monotonic()
            parked = self._watched() and self._wait_for_pipeline()
            try:
                self.tick(wait_ms=(wall.monotonic() - t0) * 1e3, parked=parked)
            except Exception as e:  # a bug in one tick must not stop the picture
                self.stats["last_error"] = repr(e)
            finally:
                self._release()
            due += self.tick_s
            if due < wall.monotonic():  # late (a long wait): no burst of ticks to catch up
                due = wall.monotonic() + self.tick_s

    def _watched(self) -> bool:
        with self._clients_lock:
            return any(not c.paused for c in self.clients.values())

    def tick(self, wait_ms: float = 0.0, parked: bool = False) -> None:
        """Encode every watched view once and hand the bytes to its clients."""
        with self._clients_lock:
            live = [c for c in self.clients.values() if not c.paused]
            for c in live:
                # a client back from a replay watches a view that was dropped while it was
                # paused: make the view again and start the client from a keyframe
                if c.view not in self.views:
                    self.views[c.view] = ViewState(c.view, self.meta_cache)
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
        flags = self.track_flags(pic)
        self.stats["tick"] += 1
        seq = self.stats["tick"]
        out: dict[ViewKey, tuple[str | None, bytes]] = {}  # (meta message, frame) per view
        keyframes: dict[ViewKey, tuple[str | None, bytes]] = {}
        nbytes = kbytes = 0
        for k, v in views.items():
            meta, data = v.delta(pic, flags, seq)
            out[k] = (meta_message(meta) if meta else None, data)
            nbytes = max(nbytes, len(data))
            if any(kf and v == k for _, v, kf in clients):
                meta, data = v.keyframe()
                keyframes[k] = (meta_message(meta) if meta else None, data)
                kbytes = max(kbytes, len(data))
        enc_ms = (wall.perf_counter() - t0) * 1e3
        cpu_ms = (wall.thread_time() - c0) * 1e3
        self.stats.update(encode_ms=enc_ms, encode_cpu_ms=cpu_ms, frame_bytes=nbytes,
                          wait_ms=wait_ms)  # fmt: skip
        if kbytes:
            self.stats["keyframe_bytes"] = kbytes
        self.tick_log.append((seq, wait_ms, enc_ms, cpu_ms, nbytes, kbytes, parked))
        for c, view, kf in clients:
            if kf:
                meta, data = keyframes[view]
                c.needs_keyframe = False
            else:
                meta, data = out[view]
            items: list[tuple[str, Any]] = []
            if meta:
                items.append(("text", meta))
            items.append(("bytes", data))
            try:
                c.loop.call_soon_threadsafe(c.offer, items, False)
            except RuntimeError:
                self.unsubscribe(c)


def _new_triage() -> dict[str, Any]:
    return {"state": "new", "assignee": None, "who": None, "time": None, "comments": 0}
