"""The live hub: the current picture, the open alerts and everyone listening.

Threads: a follower thread takes what the bus holds; a tick thread encodes one frame
per view per tick (all CPU work happens there); the server's event loop only moves ready
bytes to sockets. A slow client whose queue is full is dropped back to a keyframe
instead of stalling the others.

Where the picture comes from: the bus (`picket.bus`). The pipeline publishes each
batch's changed tracks (`picket.picture`), its alert events (`picket.alerts`) and its
counters (`picket.metrics`, what `/api/metrics` shows), the learned harbours
(`picket.harbours`) and the static picture (`picket.static`, `picket.bus.static`: the
zones and infrastructure the detectors judge against, the satellites layer's spec, the
`[incidents]` rules), the only source of those layers; the hub merges them into its own
columns (`BusPicture`) whenever a reader asks and on a follower thread, so it holds
nothing of the pipeline's and never stops it. Zone edits, triage and watchlist entries go
the other way as commands (`picket.cmd.zones`, `picket.cmd.triage`,
`picket.cmd.watchlist`). On a remote bus (NATS: `picket serve --nats`) relay threads pull
those subjects into a local bus, so the same code serves a pipeline on another machine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import threading
import time as wall
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.bus import ALERTS, CMD, Bus, InProcessBus, global_ids
from picket.bus.picture import PICTURE, BusPicture, PictureError, decode
from picket.bus.static import STATIC, StaticError, read_static
from picket.model.subjects import Namespace, namespace, parse_subject
from picket.pipeline.metrics import METRICS
from picket.pipeline.metrics import decode as metrics_decode
from picket.serve.picture import SUSPECT_KINDS, Picture, label_of
from picket.serve.sse import EventLog
from picket.serve.views import MetaCache, ViewKey, ViewState, category_of, meta_message
from picket.serve.zone_edits import ZoneEditor

logger = logging.getLogger(__name__)

QUEUE_FRAMES = 8  # frames a client may lag before it is resynchronised
BUS_RETAIN = 256 << 20  # bytes of unread messages the hub's own in-process bus may hold
FOLLOW_S = 0.05  # how often the follower thread takes what the bus holds
HARBOURS = "picket.harbours"  # the learned harbour cells, [[cell, since], ...] (JSON)
RELAY_S = 0.5  # a remote bus: how long one pull of the relay threads waits for news
RELAY_FORGET_S = 3600.0  # a stopped server's relay consumers are dropped after this


class HubTracks:
    """What the server's endpoints read of the tracks besides the picture: statics, the
    subject -> id map and a track's recent path, all held by the hub."""

    def __init__(self, hub: LiveHub, store: BusPicture) -> None:
        self._hub, self._store = hub, store

    @property
    def statics(self) -> dict[int, dict[str, Any]]:
        return self._store.statics

    @property
    def _index(self) -> dict[int, int]:
        with self._hub._sync_lock:
            s = self._store
            return dict(zip(s.keys.tolist(), s.key_ids.tolist(), strict=True))

    def slot(self, subject: int) -> int | None:
        with self._hub._sync_lock:
            return self._store.lookup(int(subject))

    def __len__(self) -> int:
        return self._store.n

    def history(self, track_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with self._hub._sync_lock:
            s = self._store
            head = int(s.head[track_id])
            n = min(head, s.h)
            order = np.arange(head - n, head) % s.h
            return (s.hist["t"][track_id, order], s.hist["lat"][track_id, order],
                    s.hist["lon"][track_id, order])  # fmt: skip


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
    def __init__(self, tick_s: float = 1.0, bus: Bus | None = None):
        self.tick_s = tick_s
        self.bus: Bus = bus if bus is not None else InProcessBus(retain_bytes=BUS_RETAIN)
        self.boot = secrets.token_hex(4)
        self._sync_lock = threading.RLock()
        self._store = BusPicture()
        self._tracks = HubTracks(self, self._store)
        self._tracks_override: Any = None
        subjects = (PICTURE, ALERTS, METRICS, HARBOURS, STATIC)
        # a remote bus (NATS) is pulled by relay threads into a local one, so `sync` never
        # waits on the network under its lock; each hub its own consumers, so several
        # servers on one bus never take each other's
        self._local = self.bus if isinstance(self.bus, InProcessBus) else \
            InProcessBus(retain_bytes=BUS_RETAIN)  # fmt: skip
        self._relays: list[tuple[Any, threading.Thread | None]] = []
        self._relay_stop = threading.Event()
        if self._local is not self.bus:
            # named per boot, so the server drops them an hour after this hub stops
            self._relays = [(self.bus.subscribe(s, f"picket-hub-{self.boot}-{s.rsplit('.')[-1]}",
                                                forget_after_s=RELAY_FORGET_S), None)
                            for s in subjects]  # fmt: skip
            self._start_relays()
        self._subs = [self._local.subscribe(s, f"picket-hub-{s.rsplit('.')[-1]}")
                      for s in subjects]  # fmt: skip
        self._dirty = False
        self.bus_errors = 0  # messages on the bus that were not snapshots or alert events
        self._follower: threading.Thread | None = None
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
        self._open: dict[str, dict[str, Any]] = {}
        self._alert_keys = np.zeros(0, np.int64)
        self._suspect_keys = np.zeros(0, np.int64)
        self.friends: set[int] = set()  # subject keys an operator declared friendly
        self.triage_state: dict[str, dict[str, Any]] = {}
        self.layers: dict[str, dict[str, Any]] = {}
        # the pipeline's newest counters (`pipeline/metrics.py`, from the bus); None: no
        # pipeline has published any (`picket serve` over a store)
        self.pipeline_metrics: dict[str, Any] | None = None
        self.harbour_cells: dict[int, float] | None = None  # learned harbours, from the bus
        # the pipeline's static picture (`picket.bus.static`: zones, infrastructure, sky
        # spec, [incidents] rules, version): {} until one is published
        self.static: dict[str, Any] = {}
        self.static_seq = 0  # goes up with every static picture that changed something
        self.incident_rules: dict[str, Any] | None = None  # [incidents] (`picket serve`)
        self.mode = "live"  # "stored": `picket serve` over a store, no pipeline behind it
        self.zones = ZoneEditor(on_change=self._zone_command)
        self.stats = {"tick": 0, "encode_ms": 0.0, "encode_cpu_ms": 0.0, "frame_bytes": 0,
                      "keyframe_bytes": 0, "wait_ms": 0.0, "reports": 0, "reports_per_s": 0.0,
                      "sse_clients": 0}  # fmt: skip
        # per tick: (tick, bus take ms, encode wall ms, encode CPU ms, largest delta
        # bytes, largest keyframe bytes or 0, False: the pipeline is never parked now)
        self.tick_log: deque[tuple] = deque(maxlen=10_000)
        self._rate = (wall.monotonic(), 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # the bus ------------------------------------------------------------------------
    @property
    def open_alerts(self) -> dict[str, dict[str, Any]]:
        self.sync()
        return self._open

    @open_alerts.setter
    def open_alerts(self, value: dict[str, dict[str, Any]]) -> None:
        self._open = value

    @property
    def tracks_ref(self) -> Any:
        """The hub's own track look-ups (statics, ids, history); None before any snapshot."""
        if self._tracks_override is not None:
            return self._tracks_override
        self.sync()
        return self._tracks if self._store.seen else None

    @tracks_ref.setter
    def tracks_ref(self, value: Any) -> None:
        self._tracks_override = value

    def sync(self) -> None:
        """Take everything the bus holds for the hub: snapshots into the picture, alert
        events into the open set and SSE. Cheap when there is nothing new."""
        with self._sync_lock:
            pics = self._subs[0].fetch(100_000, 0)
            alerts = self._subs[1].fetch(100_000, 0)
            for m in reversed(self._subs[2].fetch(100_000, 0)):  # the newest that reads
                try:
                    self.pipeline_metrics = metrics_decode(m.data)
                    break
                except ValueError as e:
                    self.bus_errors += 1
                    logger.warning("hub: bad metrics snapshot on the bus: %s", e)
            for m in reversed(self._subs[3].fetch(100_000, 0)):
                try:
                    self.harbour_cells = {int(c): float(t) for c, t in json.loads(m.data)}
                    break
                except (ValueError, TypeError) as e:
                    self.bus_errors += 1
                    logger.warning("hub: bad harbour cells on the bus: %s", e)
            for m in reversed(self._subs[4].fetch(100_000, 0)):
                try:
                    self._take_static(read_static(m.data))
                    break
                except StaticError as e:
                    self.bus_errors += 1
                    logger.warning("hub: bad static picture on the bus: %s", e)
            for m in pics:
                try:
                    snap = decode(m.data)
                except PictureError as e:
                    self.bus_errors += 1
                    logger.warning("hub: %s on %s", e, m.subject)
                    continue
                for tid, subject, fields in self._store.merge(snap):
                    lab = label_of(fields)
                    if lab:
                        self.labels[tid] = lab
                    cat = category_of(fields)
                    if cat:
                        self.categories[tid] = (subject, cat)
                self._dirty = True
            for m in alerts:
                for line in m.data.decode("utf-8", "replace").splitlines():
                    try:
                        d = json.loads(line)
                        self.alert_event(d["what"], d["alert"])
                    except (ValueError, KeyError, TypeError) as e:
                        self.bus_errors += 1
                        logger.warning("hub: bad alert event on the bus: %s", e)
            if self._dirty:
                self._dirty = False
                self.set_picture(self._store.picture(), self._store.n_reports)

    def _take_static(self, doc: dict[str, Any]) -> None:
        """The newest static picture: the map's zones and infrastructure layers, the sky
        spec and incident rules (`self.static`). The zone editor follows its zones
        (`ZoneEditor.follow_geojson`): the pipeline's zones are the truth every server
        edits from, so an edit made on another server is not undone by the next one made
        here; the editor's list is the layer, as operators edit it."""
        same = {k: v for k, v in doc.items() if k != "version"} == \
            {k: v for k, v in self.static.items() if k != "version"}  # fmt: skip
        self.static = doc
        if same:
            return
        self.static_seq += 1
        before = {k: self.layers.get(k) for k in ("zones", "infrastructure")}
        zones, lines = doc.get("zones"), doc.get("infrastructure")
        if zones is not None:  # the pipeline's zones: the editor follows them
            self.zones.follow_geojson(zones)
        if self.zones.seeded:
            self.layers["zones"] = self.zones.collection()
        elif zones is not None:
            self.layers["zones"] = zones
        if lines is not None:
            self.layers["infrastructure"] = lines
        elif "infrastructure" in doc:  # the pipeline has none (an older publisher: no say)
            self.layers.pop("infrastructure", None)
        for name, was in before.items():  # the page loads a changed layer again
            if self.layers.get(name) != was:
                self.events.publish("layers", {"layer": name})

    def _start_relays(self) -> None:
        self._relay_stop.clear()
        for i, (sub, th) in enumerate(self._relays):
            if th is None or not th.is_alive():
                th = threading.Thread(target=self._relay, args=(sub,), daemon=True,
                                      name=f"picket-hub-relay-{sub.subject}")  # fmt: skip
                th.start()
                self._relays[i] = (sub, th)

    def _relay(self, sub: Any) -> None:
        """Copy one remote subject into the hub's local bus, acknowledging what was taken
        (an unacknowledged snapshot would come again and take the picture back in time)."""
        while not self._relay_stop.is_set():
            try:
                msgs = sub.fetch(1000, RELAY_S)
                for m in msgs:
                    self._local.publish(m.subject, m.data)
                if msgs:
                    sub.ack(msgs[-1])
            except Exception:  # the bus reconnects by itself; the relay goes on
                logger.exception("hub: relay of %s failed", sub.subject)
                self._relay_stop.wait(1.0)

    def _follow(self) -> None:
        while not self._stop.wait(FOLLOW_S):
            try:
                self.sync()
            except Exception:  # a bad message must not stop the picture
                logger.exception("hub: taking the bus failed")

    def _zone_command(self, doc: dict[str, Any]) -> None:
        """An operator's zone edit, for the pipeline to apply between batches
        (`serve.zone_edits.apply_zone_command`)."""
        self.bus.publish(f"{CMD}.zones", json.dumps(doc, default=str).encode())

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
        gid = self._track_gid(alert.get("subject"))
        if gid is not None:
            alert["track"] = gid
        if what == "close" or alert.get("status") == "closed":
            self._open.pop(aid, None)
        else:
            self._open[aid] = alert
        self._refresh_alert_keys()
        self.events.publish("alert", {"event": what, "alert": alert})

    def _track_gid(self, subject: Any) -> str | None:
        """The global id (text) of the track an alert is on, as the picture keys it: the
        publisher's where the picture holds the track, else made from a named subject (the
        same in every worker); None for an area or an anonymous track not seen yet."""
        try:
            k = parse_subject(subject)
        except (ValueError, TypeError, AttributeError):
            return None
        with self._sync_lock:
            tid = self._store.lookup(k)
            if tid is not None and "gid" in self._store.cols:
                return str(int(self._store.cols["gid"][tid]))
        if namespace(k) == Namespace.TRACK:
            return None
        return str(int(global_ids(np.array([k], np.int64), 0)[0]))

    def _refresh_alert_keys(self) -> None:
        keys, suspects = set(), set()
        for a in list(self._open.values()):
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

    def show_stored(self, pic: Picture, open_alerts: list[dict[str, Any]]) -> None:
        """A stored run's picture and the alerts open as of its time (no pipeline)."""
        self.mode = "stored"
        self.set_picture(pic)
        self._open = {a["id"]: a for a in open_alerts}
        self.triage_state = {a["id"]: a["triage"] for a in open_alerts if a.get("triage")}
        self._refresh_alert_keys()

    # server side ------------------------------------------------------------------
    def triage_event(self, entry: dict[str, Any], state: dict[str, Any], alert: dict | None):
        aid = entry["alert_id"]
        self.triage_state[aid] = state
        if aid in self._open:
            self._open[aid] = {**self._open[aid], "triage": state}
        self.events.publish("triage", {**entry, "alert": alert})
        body = json.dumps({"alert_id": aid, "state": state}, default=str)
        self.bus.publish(f"{CMD}.triage", body.encode())  # for a pipeline that wants it

    def layer_event(self, name: str, geojson: dict[str, Any]) -> None:
        self.layers[name] = geojson
        self.events.publish("layers", {"layer": name})

    def current(self) -> Picture:
        self.sync()
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
        if self._relays:
            self._start_relays()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="picket-hub", daemon=True)
            self._thread.start()
            self._follower = threading.Thread(target=self._follow, name="picket-hub-bus",
                                              daemon=True)  # fmt: skip
            self._follower.start()

    def stop(self) -> None:
        self._stop.set()
        self._relay_stop.set()
        for _, th in self._relays:  # their pulls end within RELAY_S
            if th is not None:
                th.join(timeout=RELAY_S + 15.0)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._follower is not None:
            self._follower.join(timeout=5)
            self._follower = None

    def _run(self) -> None:
        due = wall.monotonic() + self.tick_s
        while not self._stop.wait(max(0.0, due - wall.monotonic())):
            t0 = wall.monotonic()
            try:  # the bus's news merged before the encode is timed
                self.sync()
            except Exception:
                logger.exception("hub: taking the bus failed")
            try:
                self.tick(wait_ms=(wall.monotonic() - t0) * 1e3)
            except Exception as e:  # a bug in one tick must not stop the picture
                self.stats["last_error"] = repr(e)
            due += self.tick_s
            if due < wall.monotonic():  # late (a long wait): no burst of ticks to catch up
                due = wall.monotonic() + self.tick_s

    def tick(self, wait_ms: float = 0.0) -> None:
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
        self.tick_log.append((seq, wait_ms, enc_ms, cpu_ms, nbytes, kbytes, False))
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
