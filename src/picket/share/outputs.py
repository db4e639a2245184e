"""CoT outputs: TCP or TLS streaming and UDP (unicast or multicast), each with its own filter.

Why per-output filters: a TAK server wants the whole area, a boat's tablet on
a thin link wants vessels near it, and multicast on a shared LAN must never be
flooded. Each output keeps, per track, when it last sent it (event time), and
a token bucket caps events per second of wall time; tracks sent longest ago go
first, so a cap delays updates but starves no track. Sockets are written from
a thread per output: a slow or absent receiver never stalls the pipeline, and
what it could not take is counted (`stats()`), never dropped silently.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import select
import socket
import ssl
import threading
import time as wall
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import numpy as np

from picket.detect.registry import suspect_kinds
from picket.model.alerts import Event, iso
from picket.model.subjects import parse_subject
from picket.serve.picture import DOMAIN_CODES, Picture, label_of
from picket.serve.views import in_bbox, parse_bbox
from picket.share import tak
from picket.share.cot import CotEvent, events_for

log = logging.getLogger(__name__)

FORMATS = ("xml", "tak-stream", "tak-mesh")
SCHEMES = ("tcp", "udp", "tls")
MULTICAST_MAX_RATE = 50.0  # events/s: a shared LAN segment, every host receives it
COUNTERS = ("sent", "bytes_sent", "queued", "dropped_queue_full", "dropped_send_failed",
            "dropped_at_close", "connects", "reconnects", "connect_failures",
            "send_errors")  # fmt: skip
TLS_ALERT_WAIT_S = 0.25  # after a TLS 1.3 handshake: time for the server to refuse our cert
# TAK protocol negotiation on a stream (TAK Server's 8087/8089): the server offers version 1
# right after the connection opens; the client asks, and waits at least a minute for the answer
TAKP_OFFER_WAIT_S = 5.0
TAKP_ANSWER_WAIT_S = 60.0
TAKP_MAX_XML = 1 << 20  # bytes of server XML buffered while negotiating


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
    """One destination: `tcp://host:port` or `tls://host:port` (we connect; TLS with the
    context in `tls`), or `udp://host:port` (unicast or multicast)."""

    url: str
    fmt: str = "xml"
    filter: CotFilter = field(default_factory=CotFilter)
    queue_events: int = 20_000
    tls: ssl.SSLContext | None = None
    stale_s: float | None = None  # stale = position time + this (default: the drop time)
    name: str = ""
    # tak-stream over TCP/TLS: speak XML until the server offers TAK protocol v1 and accepts
    # our request (TAK Server's streaming ports); False = frames from the first byte
    negotiate: bool = False

    def __post_init__(self):
        u = urlparse(self.url)
        if u.scheme not in SCHEMES or not u.hostname or not u.port:
            raise ValueError(f"CoT output {self.url!r}: expected tcp://host:port, "
                             "tls://host:port or udp://host:port")  # fmt: skip
        if self.fmt not in FORMATS:
            raise ValueError(f"CoT format must be one of {', '.join(FORMATS)}")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        if self.scheme == "tls" and self.tls is None:
            raise ValueError(f"CoT output {self.url!r}: tls:// needs a TLS context")
        self.name = self.name or self.url
        try:
            self.multicast = ipaddress.ip_address(self.host).is_multicast
        except ValueError:
            self.multicast = False
        if self.multicast:
            self.filter.max_rate = min(self.filter.max_rate, MULTICAST_MAX_RATE)
        self.sent = self.bytes_sent = self.dropped_queue_full = self.dropped_send_failed = 0
        self.dropped_at_close = self.connects = self.connect_failures = self.errors = 0
        self.last_error = ""
        self.connected = False
        self.wire = "xml" if self.negotiate else self.fmt  # the encoding on this connection
        self.offer_wait_s, self.answer_wait_s = TAKP_OFFER_WAIT_S, TAKP_ANSWER_WAIT_S
        self._last = np.full(0, -np.inf)
        self._tokens = self.filter.max_rate
        self._t = wall.monotonic()
        # encoded bytes, or events the sender encodes once it knows the connection's format
        self._q: queue.Queue[bytes | CotEvent | None] = queue.Queue(self.queue_events)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def dropped(self) -> int:
        return self.dropped_queue_full + self.dropped_send_failed + self.dropped_at_close

    @property
    def reconnects(self) -> int:
        """Connections made after the first (the peer went away, or refused, and came back)."""
        return max(self.connects - 1, 0)

    def stats(self) -> dict[str, Any]:
        return {
            "name": self.name, "url": self.url, "format": self.fmt, "wire": self.wire,
            "connected": self.connected,
            "sent": self.sent, "bytes_sent": self.bytes_sent, "queued": self._q.qsize(),
            "dropped_queue_full": self.dropped_queue_full,
            "dropped_send_failed": self.dropped_send_failed,
            "dropped_at_close": self.dropped_at_close, "connects": self.connects,
            "reconnects": self.reconnects, "connect_failures": self.connect_failures,
            "send_errors": self.errors, "last_error": self.last_error,
        }  # fmt: skip

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

    def encode(self, ev: CotEvent, fmt: str | None = None) -> bytes:
        fmt = fmt or self.fmt
        if fmt == "xml":
            return ev.xml()
        payload = ev.proto().SerializeToString()
        return tak.stream(payload) if fmt == "tak-stream" else tak.mesh(payload)

    def put(self, data: bytes | CotEvent) -> None:
        try:
            self._q.put_nowait(data)
        except queue.Full:
            self.dropped_queue_full += 1

    # sending (own thread) ----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"cot-{self.url}", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 2.0) -> None:
        deadline = wall.monotonic() + drain_s
        while not self._q.empty() and wall.monotonic() < deadline:
            wall.sleep(0.01)
        self._stop.set()
        while True:  # what the peer did not take in time is counted, not lost silently
            try:
                if self._q.get_nowait() is not None:
                    self.dropped_at_close += 1
            except queue.Empty:
                break
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
            if sock is not None and self.scheme != "udp":
                try:  # the peer hung up since the last batch: reconnect, lose nothing yet
                    _discard_incoming(sock)
                except OSError as e:
                    self._failed(e, False)
                    sock.close()
                    sock = None
            try:
                if sock is None:
                    sock = self._connect()
                    backoff = 0.5
                wire = [d if isinstance(d, bytes) else self.encode(d, self.wire) for d in batch]
                if self.scheme == "udp":
                    for d in wire:
                        sock.sendto(d, (self.host, self.port))
                else:
                    sock.sendall(b"".join(wire))
                self.sent += len(batch)
                self.bytes_sent += sum(len(d) for d in wire)
            except OSError as e:
                self._failed(e, sock is None)
                self.dropped_send_failed += len(batch)
                if sock is not None:
                    sock.close()
                sock = None
                self.connected = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
        if sock is not None:
            sock.close()
        self.connected = False

    def _failed(self, e: OSError, connecting: bool) -> None:
        msg = f"{type(e).__name__}: {e}"
        if connecting:
            self.connect_failures += 1
        else:
            self.errors += 1
        if msg != self.last_error:  # one line per change of state, not one per retry
            log.warning("CoT output %s: %s %s", self.name,
                        "cannot connect:" if connecting else "send failed:", msg)  # fmt: skip
        self.last_error = msg

    def _connect(self) -> socket.socket:
        if self.scheme in ("tcp", "tls"):
            raw = socket.create_connection((self.host, self.port), timeout=5)
            if self.scheme == "tls":
                assert self.tls is not None
                try:
                    s = self.tls.wrap_socket(raw, server_hostname=self.host)
                except OSError:
                    raw.close()
                    raise
                # TLS 1.3 finishes our handshake before the server has checked our
                # certificate: give it a moment to refuse, so a rejected certificate
                # shows as a connect failure rather than as events sent into the void
                _discard_incoming(s, TLS_ALERT_WAIT_S)
            else:
                s = raw
            if self.negotiate and self.fmt == "tak-stream":
                try:
                    self.wire = self._negotiate(s)
                except (OSError, ValueError):
                    s.close()
                    raise
            s.settimeout(10)
            self.connects += 1
            self.connected = True
            if self.connects > 1:
                log.info("CoT output %s: connected again", self.name)
            return s
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        if self.multicast:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.connects += 1
        self.connected = True
        return s


    def _negotiate(self, s: socket.socket) -> str:
        """TAK protocol negotiation: "tak-stream" once the server accepted version 1, else
        "xml" (no offer in time, or refused: a streaming peer always takes XML)."""
        buf = bytearray()
        deadline = wall.monotonic() + self.offer_wait_s
        while True:
            ev = _read_event(s, buf, deadline)
            if ev is None:
                log.info("CoT output %s: no TAK protocol offer; sending XML", self.name)
                return "xml"
            if ev.get("type") == "t-x-takp-v" and any(
                e.get("version") == "1" for e in ev.iter("TakProtocolSupport")
            ):
                break
        s.sendall(_takp_request(ev.get("uid") or "protouid"))
        deadline = wall.monotonic() + self.answer_wait_s
        while True:
            ev = _read_event(s, buf, deadline)
            if ev is None:
                raise TimeoutError("no answer to the TAK protocol request")
            if ev.get("type") == "t-x-takp-r":
                resp = ev.find(".//TakResponse")
                if resp is not None and resp.get("status") == "true":
                    return "tak-stream"
                log.warning("CoT output %s: the server refused TAK protocol v1; sending XML",
                            self.name)  # fmt: skip
                return "xml"


def _takp_request(protouid: str) -> bytes:
    """The client's request for TAK protocol v1, under the uid the server's offer used."""
    now = wall.time()
    t, stale = iso(now), iso(now + 60)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><event version="2.0" uid="{_attr(protouid)}"'
        f' type="t-x-takp-q" time="{t}" start="{t}" stale="{stale}" how="m-g">'
        '<point lat="0.0" lon="0.0" hae="0.0" ce="9999999.0" le="9999999.0"/>'
        '<detail><TakControl><TakRequest version="1"/></TakControl></detail></event>'
    ).encode()


def _attr(v: str) -> str:
    return "".join(c for c in v if c.isalnum() or c in "-_.:")[:128]


def _read_event(s: socket.socket, buf: bytearray, deadline: float) -> ET.Element | None:
    """The next CoT event the server sent (parsed), or None at the deadline."""
    while True:
        end = buf.find(b"</event>")
        if end >= 0:
            raw = bytes(buf[: end + 8])
            del buf[: end + 8]
            start = raw.find(b"<event")
            try:
                return ET.fromstring(raw[start:]) if start >= 0 else ET.Element("none")
            except ET.ParseError:
                continue  # not for us to judge the server's other traffic
        left = deadline - wall.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            chunk = s.recv(1 << 16)
        except (TimeoutError, ssl.SSLWantReadError):
            return None
        if not chunk:
            raise ConnectionResetError("the server closed the connection while negotiating")
        buf += chunk
        if len(buf) > TAKP_MAX_XML:
            raise ConnectionError("the server sent more than 1 MB without a complete event")


def _discard_incoming(sock: socket.socket, wait_s: float = 0.0) -> None:
    """Read and drop what the peer sent (a server's pings, a TLS alert): an unread
    receive buffer would eventually stall the peer. A closed connection or an alert
    raises OSError here, before the next batch is written into it."""
    deadline = wall.monotonic() + wait_s
    for _ in range(64):  # bounded: a peer that never stops talking still lets us write
        pending = isinstance(sock, ssl.SSLSocket) and sock.pending()
        left = max(deadline - wall.monotonic(), 0.0)
        if not pending and not select.select([sock], [], [], left)[0]:
            return
        old = sock.gettimeout()
        sock.settimeout(0.0)
        try:
            chunk = sock.recv(1 << 16)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        finally:
            sock.settimeout(old)
        if not chunk:
            raise ConnectionResetError("the peer closed the connection")


class CotSink:
    """Shares tracks as CoT from the bus's edge (`picket.share.edge`); alerts ride along
    as remarks."""

    def __init__(self, outputs: list[CotOutput], min_interval_s: float = 1.0):
        self.outputs = outputs
        self.min_interval_s = min_interval_s  # wall seconds between selections
        self.remarks: dict[int, dict[str, str]] = {}
        self.kinds: dict[int, dict[str, str]] = {}  # subject -> open alert id -> kind
        self.labels: dict[int, str] = {}
        self._last = -1e18
        self._pending: Any = None  # the newest view not yet sent
        for o in outputs:
            o.start()

    def emit(self, events: list[Event]) -> None:
        for what, a in events:
            try:
                key = parse_subject(a.subject)
            except ValueError:  # an area alert (a cell, a zone) remarks on no track
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

    def picture(self, view: Any) -> None:
        """A snapshot reached the edge (`picket.share.edge.EdgeView`): names learned now are
        kept, and the tracks due go out at most every `min_interval_s` of wall time."""
        for row, subject in view.new_statics:
            lab = label_of(view.statics.get(subject, {}))
            if lab:
                self.labels[row] = lab
        self._pending = view
        now = wall.monotonic()
        if now - self._last >= self.min_interval_s:
            self._last = now
            self._send(view)

    def _send(self, view: Any) -> None:
        self._pending = None
        self.send_picture(view.picture())

    def send_picture(self, pic: Picture) -> int:
        rem = {k: " | ".join(v.values()) for k, v in self.remarks.items()}
        behaviour = suspect_kinds()
        held = [s for s, kinds in self.kinds.items() if behaviour.intersection(kinds.values())]
        suspects = np.array(sorted(held), np.int64)
        identity = pic.identity(suspects)
        n = 0
        for o in self.outputs:
            idx = o.due(pic)
            for ev in events_for(pic, idx, rem, self.labels, identity, o.stale_s):
                o.put(ev)
            n += len(idx)
        return n

    @property
    def name(self) -> str:
        """What /api/metrics lists this sink under: its destinations' names."""
        return ", ".join(o.name for o in self.outputs)

    def stats(self) -> dict[str, Any]:
        """The counters summed over destinations, and each destination's own (for
        /api/metrics and the end-of-run summary)."""
        per = [o.stats() for o in self.outputs]
        out: dict[str, Any] = {"kind": "cot", "name": self.name}
        for k in COUNTERS:
            out[k] = sum(p[k] for p in per)
        out["last_error"] = "; ".join(p["last_error"] for p in per if p["last_error"])
        out["destinations"] = per
        return out

    def close(self) -> None:
        if self._pending is not None:
            self._send(self._pending)
        for o in self.outputs:
            o.stop()
