"""CoT outputs: TCP streaming and UDP (unicast or multicast), each with its own filter.

Why per-output filters: a TAK server wants the whole area, a boat's tablet on
a thin link wants vessels near it, and multicast on a shared LAN must never be
flooded. Each output keeps, per track, when it last sent it (event time), and
a token bucket caps events per second of wall time; tracks sent longest ago go
first, so a cap delays updates but starves no track. Sockets are written from
a thread per output: a slow or absent receiver never stalls the pipeline.
"""

from __future__ import annotations

import ipaddress
import queue
import socket
import threading
import time as wall
from dataclasses import dataclass, field
from urllib.parse import urlparse

import numpy as np

from picket.fusion.context import BatchContext
from picket.model.alerts import Event
from picket.model.subjects import parse_subject
from picket.serve.picture import DOMAIN_CODES, SUSPECT_KINDS, Picture, label_of, snapshot
from picket.serve.views import in_bbox, parse_bbox
from picket.share import tak
from picket.share.cot import CotEvent, events_for

FORMATS = ("xml", "tak-stream", "tak-mesh")
MULTICAST_MAX_RATE = 50.0  # events/s: a shared LAN segment, every host receives it


@dataclass
class CotFilter:
    bbox: tuple[float, float, float, float] | None = None
    domains: tuple[int, ...] | None = None
    min_interval_s: float = 5.0  # per track, event time
    max_rate: float = 500.0  # events per wall second for the whole output

    @classmethod
    def parse(cls, bbox: str | None = None, domains: str | None = None, **kw) -> CotFilter:
        codes = None
        if domains:
            codes = tuple(sorted(DOMAIN_CODES[d.strip()] for d in domains.split(",") if d))
        return cls(parse_bbox(bbox), codes, **kw)


@dataclass
class CotOutput:
    """One destination: `tcp://host:port` (we connect) or `udp://host:port`."""

    url: str
    fmt: str = "xml"
    filter: CotFilter = field(default_factory=CotFilter)
    queue_events: int = 20_000

    def __post_init__(self):
        u = urlparse(self.url)
        if u.scheme not in ("tcp", "udp") or not u.hostname or not u.port:
            raise ValueError(
                f"CoT output {self.url!r}: expected tcp://host:port or udp://host:port"
            )
        if self.fmt not in FORMATS:
            raise ValueError(f"CoT format must be one of {', '.join(FORMATS)}")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        try:
            self.multicast = ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            self.multicast = False
        if self.multicast:
            self.filter.max_rate = min(self.filter.max_rate, MULTICAST_MAX_RATE)
        self.sent = self.dropped = self.errors = 0
        self._last = np.full(0, -np.inf)
        self._tokens = self.filter.max_rate
        self._t = wall.monotonic()
        self._q: queue.Queue[bytes | None] = queue.Queue(self.queue_events)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # selection (pipeline thread) ---------------------------------------------------------
    def due(self, pic: Picture) -> np.ndarray:
        """Rows to send now: in the filter, changed enough, within the rate budget."""
        n = len(pic)
        if n > len(self._last):
            self._last = np.r_[self._last, np.full(n - len(self._last), -np.inf)]
        f = self.filter
        m = pic.alive()
        if f.domains is not None:
            m &= np.isin(pic["domain"], f.domains)
        if f.bbox is not None:
            m &= in_bbox(pic["lat"], pic["lon"], f.bbox)
        last = self._last[:n]
        m &= pic["pos_time"] >= last + f.min_interval_s
        now = wall.monotonic()
        self._tokens = min(f.max_rate, self._tokens + (now - self._t) * f.max_rate)
        self._t = now
        idx = np.flatnonzero(m)
        budget = int(self._tokens)
        if len(idx) > budget:
            idx = idx[np.argsort(last[idx], kind="stable")[:budget]]
        self._tokens -= len(idx)
        self._last[idx] = pic["pos_time"][idx]
        return idx

    def encode(self, ev: CotEvent) -> bytes:
        if self.fmt == "xml":
            return ev.xml()
        payload = ev.proto().SerializeToString()
        return tak.stream(payload) if self.fmt == "tak-stream" else tak.mesh(payload)

    def put(self, data: bytes) -> None:
        try:
            self._q.put_nowait(data)
        except queue.Full:
            self.dropped += 1

    # sending (own thread) ----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"cot-{self.url}", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 2.0) -> None:
        deadline = wall.monotonic() + drain_s
        while not self._q.empty() and wall.monotonic() < deadline:
            wall.sleep(0.01)
        self._stop.set()
        self._q.put(None)
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        sock: socket.socket | None = None
        backoff = 0.5
        while not self._stop.is_set():
            data = self._q.get()
            if data is None:
                break
            batch = [data]
            while len(batch) < 256:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                batch.append(nxt)
            try:
                if sock is None:
                    sock = self._connect()
                    backoff = 0.5
                if self.scheme == "tcp":
                    sock.sendall(b"".join(batch))
                else:
                    for d in batch:
                        sock.sendto(d, (self.host, self.port))
                self.sent += len(batch)
            except OSError:
                self.errors += 1
                self.dropped += len(batch)
                if sock is not None:
                    sock.close()
                sock = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        if sock is not None:
            sock.close()

    def _connect(self) -> socket.socket:
        if self.scheme == "tcp":
            s = socket.create_connection((self.host, self.port), timeout=5)
            s.settimeout(10)
            return s
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if self.multicast:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        return s


class CotSink:
    """A pipeline `Sink` that shares tracks as CoT; alerts ride along as remarks."""

    def __init__(self, outputs: list[CotOutput], min_interval_s: float = 1.0):
        self.outputs = outputs
        self.min_interval_s = min_interval_s  # wall seconds between selections
        self.remarks: dict[int, dict[str, str]] = {}
        self.kinds: dict[int, dict[str, str]] = {}  # subject -> open alert id -> kind
        self.labels: dict[int, str] = {}
        self._last = -1e18
        self._pending: BatchContext | None = None
        for o in outputs:
            o.start()

    def emit(self, events: list[Event]) -> None:
        for what, a in events:
            try:
                key = parse_subject(a.subject)
            except ValueError:
                continue
            d = self.remarks.setdefault(key, {})
            k = self.kinds.setdefault(key, {})
            if what == "close":
                d.pop(a.id, None)
                k.pop(a.id, None)
                if not d:
                    self.remarks.pop(key, None)
                    self.kinds.pop(key, None)
            else:
                d[a.id] = f"[{a.severity}] {a.kind}: {a.summary}"
                k[a.id] = a.kind

    def tracks(self, ctx: BatchContext) -> None:
        for st in ctx.statics:
            slot = ctx.tracks.slot(st.subject)
            lab = label_of(ctx.tracks.statics.get(st.subject, {}))
            if slot is not None and lab:
                self.labels[slot] = lab
        self._pending = ctx
        now = wall.monotonic()
        if now - self._last >= self.min_interval_s:
            self._last = now
            self._send(ctx)

    def _send(self, ctx: BatchContext) -> None:
        self._pending = None
        nbd = ctx.env.get("now_by_domain", {}) if ctx.env else {}
        self.send_picture(snapshot(ctx.tracks, ctx.now, nbd))

    def send_picture(self, pic: Picture) -> int:
        rem = {k: " | ".join(v.values()) for k, v in self.remarks.items()}
        held = [s for s, kinds in self.kinds.items() if SUSPECT_KINDS.intersection(kinds.values())]
        suspects = np.array(sorted(held), np.int64)
        identity = pic.identity(suspects)
        n = 0
        for o in self.outputs:
            idx = o.due(pic)
            for ev in events_for(pic, idx, rem, self.labels, identity):
                o.put(o.encode(ev))
            n += len(idx)
        return n

    def close(self) -> None:
        if self._pending is not None:
            self._send(self._pending)
        for o in self.outputs:
            o.stop()
