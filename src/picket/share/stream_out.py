"""Line-oriented outputs (SBS-1 BaseStation, AIS NMEA 0183): where the bytes go.

Consumers of these formats either connect to a port the producer listens on
(Virtual Radar Server to port 30003, OpenCPN to an AIS-catcher TCP server) or
listen themselves (an aggregator's TCP port, OpenCPN's UDP input). So a
destination is one of:

- `listen://host:port`: picket listens; every client gets every line from the
  moment it connects, through its own bounded queue (a slow client loses its
  own lines, counted, never the others');
- `tcp://host:port`, `udp://host:port`: picket connects or sends datagrams,
  reconnecting with backoff (the CoT output's sender, `share/outputs.CotOutput`,
  which already queues, reconnects and counts).

Every line a destination could not deliver is counted under the same names as
the CoT output's (`sent`, `dropped_queue_full`, `dropped_send_failed`,
`dropped_at_close`), so `/api/metrics` and the end-of-run summary read them alike.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
import time as wall
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

CLIENT_QUEUE = 20_000  # lines held per slow client before its oldest are dropped
MAX_CLIENTS = 64


class _Client:
    def __init__(self, conn: socket.socket, addr: Any):
        self.conn, self.addr = conn, addr
        self.q: collections.deque[bytes] = collections.deque()
        self.dropped = 0


class LineServer:
    """`listen://host:port`: a TCP server that hands each client every line."""

    def __init__(self, url: str, name: str = "", queue_lines: int = CLIENT_QUEUE):
        u = urlsplit(url)
        if u.scheme != "listen" or u.port is None:
            raise ValueError(f"{url!r}: expected listen://host:port")
        self.url, self.name = url, name or url
        self.host, self.port = u.hostname or "127.0.0.1", u.port
        self.queue_lines = queue_lines
        self.clients: list[_Client] = []
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.sent = self.bytes_sent = self.dropped_queue_full = self.dropped_send_failed = 0
        self.dropped_at_close = self.connects = self.refused = 0
        self.last_error = ""
        self._stop = threading.Event()
        self.sock = socket.create_server((self.host, self.port), reuse_port=False)
        self.port = self.sock.getsockname()[1]  # port 0: the one the system chose
        self.sock.settimeout(0.2)
        self._threads = [threading.Thread(target=self._accept, daemon=True, name=f"{url}-accept"),
                         threading.Thread(target=self._send, daemon=True, name=f"{url}-send")]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def put(self, data: bytes) -> None:
        """Queue bytes (whole lines) for every connected client."""
        with self.lock:
            for c in self.clients:
                if len(c.q) >= self.queue_lines:
                    c.q.popleft()
                    c.dropped += 1
                    self.dropped_queue_full += 1
                c.q.append(data)
            self.wake.notify()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                continue
            except OSError as e:
                self.last_error = f"{type(e).__name__}: {e}"
                return
            with self.lock:
                if len(self.clients) >= MAX_CLIENTS:
                    self.refused += 1
                    conn.close()
                    continue
                conn.settimeout(5.0)
                self.clients.append(_Client(conn, addr))
                self.connects += 1
            log.info("%s: client %s connected", self.name, addr)

    def _send(self) -> None:
        while True:
            with self.lock:
                while not self._stop.is_set() and not any(c.q for c in self.clients):
                    self.wake.wait(0.2)
                if self._stop.is_set() and not any(c.q for c in self.clients):
                    return
                work = [(c, b"".join(c.q), len(c.q)) for c in self.clients if c.q]
                for c, _, _ in work:
                    c.q.clear()
            for c, data, n in work:
                try:
                    c.conn.sendall(data)
                    self.sent += n
                    self.bytes_sent += len(data)
                except OSError as e:  # the client went away: its lines are counted, it goes
                    self.dropped_send_failed += n
                    self.last_error = f"{type(e).__name__}: {e}"
                    self._drop(c)

    def _drop(self, c: _Client) -> None:
        with self.lock:
            if c in self.clients:
                self.clients.remove(c)
        c.conn.close()

    def stop(self, drain_s: float = 2.0) -> None:
        deadline = wall.monotonic() + drain_s
        while wall.monotonic() < deadline:
            with self.lock:
                if not any(c.q for c in self.clients):
                    break
            wall.sleep(0.01)
        self._stop.set()
        with self.lock:
            for c in self.clients:
                self.dropped_at_close += len(c.q)
                c.q.clear()
            self.wake.notify()
        for t in self._threads:
            t.join(timeout=5)
        with self.lock:
            for c in self.clients:
                c.conn.close()
            self.clients.clear()
        self.sock.close()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            queued = sum(len(c.q) for c in self.clients)
            n = len(self.clients)
        return {"name": self.name, "url": self.url, "clients": n, "sent": self.sent,
                "bytes_sent": self.bytes_sent, "queued": queued,
                "dropped_queue_full": self.dropped_queue_full,
                "dropped_send_failed": self.dropped_send_failed,
                "dropped_at_close": self.dropped_at_close, "connects": self.connects,
                "reconnects": 0, "connect_failures": self.refused, "send_errors": 0,
                "last_error": self.last_error}  # fmt: skip


def open_destination(url: str, name: str = "", queue_lines: int = CLIENT_QUEUE) -> Any:
    """A started destination for `listen://`, `tcp://` or `udp://` (see module doc)."""
    scheme = urlsplit(url).scheme
    if scheme == "listen":
        d: Any = LineServer(url, name, queue_lines)
    elif scheme in ("tcp", "udp"):
        from picket.share.outputs import CotOutput

        d = CotOutput(url, "xml", queue_events=queue_lines, name=name)  # bytes pass as they are
    else:
        raise ValueError(f"{url!r}: expected listen://, tcp:// or udp://host:port")
    d.start()
    return d


def summed_stats(kind: str, name: str, dests: list[Any]) -> dict[str, Any]:
    """One output's counters: its destinations' summed, and each one's own."""
    from picket.share.outputs import COUNTERS

    per = [d.stats() for d in dests]
    out: dict[str, Any] = {"kind": kind, "name": name}
    for k in COUNTERS:
        out[k] = sum(p.get(k, 0) for p in per)
    out["last_error"] = "; ".join(p["last_error"] for p in per if p.get("last_error"))
    out["destinations"] = per
    return out
