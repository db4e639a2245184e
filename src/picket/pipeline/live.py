"""Live feeds: TCP clients, TCP listeners (plain or TLS), UDP sockets, followed files and
pull sources (OpenSky REST, readsb `aircraft.json` over HTTP, aisstream.io WebSocket;
`sources/pull_http.py`, `sources/pull_ws.py`, docs/sources.md).

One thread per source (and one per accepted connection) only moves bytes into a
bounded inbox; the main loop owns the decoders and the pipeline, and runs a
micro-batch every `batch_s` wall seconds through the one driver (`pipeline/driver.py`:
the door, the batch, checkpoints, the flush at shutdown). A feed that drops is reconnected with
backoff; nothing a feed sends can stop the loop (decoders count and dead-letter what
they cannot read).

Every connection has its own decoder (line carry, multipart AIS, CPR halves, Beast
counter): two feeders on one `listen_tcp` port, or a TCP client's connection before
and after a reconnect, never splice their bytes together. A connection's decoder is
flushed when it closes. All of them count into the one `Rejects`.

Nothing is lost uncounted (docs/bad_input.md): stream sources (TCP, files) block when
the inbox is full, so TCP flow control slows the sender and no byte is dropped; UDP
cannot be slowed, so a datagram that finds the inbox full is dropped and counted
(`queue_dropped_*`), where a blocked reader would let the kernel drop it unseen. At
shutdown what is still queued is decoded within `DRAIN_S`; the rest is counted as
`shutdown_lost_bytes`. `stats` (also `asm.world.live_stats`) holds these counters per
source, with connections, reconnects and refused connections.

Time (docs/time.md): the feed thread stamps each chunk with its arrival time
(`time.time()`), carried with the bytes through the inbox. Each source's
`clock` setting says what a report's time is: "auto", the message's own time
where it has one, else the arrival time (the decoder's `Clock`); "message",
the message's own only; "receive", always the arrival time. Every report then
passes `at_the_door` against the arrival time of its chunk: a feed's wrong
clock or a forged date is rejected, counted, and never stretches the
event-time tickers.

A pulled document is one connection (its bytes, then its close), so each is decoded
whole by a fresh decoder; a WebSocket session is one connection. A `listen_tcp` source
with `tls_cert` does the TLS handshake in the connection's thread and counts refusals
(`tls_refused`). A CoT source with `zone_prefix` turns drawn shapes under that uid
prefix into zone edits (`sources/cot_in.ShapeZones`) applied before the batch runs.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from picket.config import SourceConfig
from picket.model.decoded import Decoded
from picket.pipeline.assemble import Assembly
from picket.pipeline.driver import Driver
from picket.sources.registry import Clock, Decoder, Format, detect, get_format

logger = logging.getLogger(__name__)

# (source index, connection id, arrival time, bytes; None: the connection closed)
Chunk = tuple[int, int, float, bytes | None]

INBOX_MAX_BYTES = 64 << 20  # bytes queued between the feed threads and the decoder loop
MAX_CONNECTIONS = 64  # accepted connections per listen_tcp source; more are refused, counted
DRAIN_S = 5.0  # at shutdown, time allowed to decode what is still queued
RECV = 1 << 16
HANDSHAKE_S = 10.0  # a TLS client that has not finished its handshake by then is dropped
UDP_RCVBUF = 4 << 20  # asked of the kernel (it may cap it: net.core.rmem_max)

# per-source counters (stats["sources"][name]); docs/bad_input.md explains each
COUNTERS = ("bytes_in", "chunks_in", "bytes_decoded", "connections", "disconnects",
            "reconnects", "refused", "queue_waits", "queue_dropped_chunks",
            "queue_dropped_bytes", "shutdown_lost_bytes", "decoders_open",
            "tls_refused", "polls", "poll_errors", "rate_limited", "credits_spent", "unchanged",
            "budget_waits")  # fmt: skip


def _hostport(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return host or "0.0.0.0", int(port)


class LiveStats:
    """Counters of the live path, written by feed threads and the loop under one lock."""

    def __init__(self, sources: list[SourceConfig], max_bytes: int) -> None:
        self.lock = threading.Lock()
        self.names = [s.name for s in sources]
        self.data: dict[str, Any] = {
            "sources": {n: dict.fromkeys(COUNTERS, 0) for n in self.names},
            "queue_bytes": 0, "queue_peak_bytes": 0, "queue_max_bytes": max_bytes,
            "queue_wait_s": 0.0,
        }  # fmt: skip

    def add(self, idx: int, key: str, n: int | float = 1) -> None:
        with self.lock:
            self.data["sources"][self.names[idx]][key] += n

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            d = dict(self.data)
            d["sources"] = {k: dict(v) for k, v in self.data["sources"].items()}
            return d


class Inbox:
    """Chunks from the feed threads, bounded by bytes (not by count: 10,000 chunks of
    64 KiB would be 640 MB). `put(block=True)` waits for room; `block=False` refuses."""

    def __init__(self, stats: LiveStats, max_bytes: int = INBOX_MAX_BYTES) -> None:
        self.items: deque[Chunk] = deque()
        self.bytes = 0
        self.max_bytes = max_bytes
        self.cond = threading.Condition()
        self.stats = stats
        self.closed = False  # at shutdown: later puts are refused (and counted by the feed)

    def close(self) -> list[Chunk]:
        """Refuse further puts; return what is still queued."""
        with self.cond:
            self.closed = True
            rest, self.items, self.bytes = list(self.items), deque(), 0
            self.cond.notify_all()
            return rest

    def put(self, item: Chunk, block: bool, stop: threading.Event) -> bool:
        n = len(item[3] or b"")
        with self.cond:
            if self.closed:
                return False
            if self.bytes and self.bytes + n > self.max_bytes:
                if not block:
                    return False
                self.stats.add(item[0], "queue_waits")
                t0 = time.monotonic()
                while self.bytes and self.bytes + n > self.max_bytes and not stop.is_set():
                    self.cond.wait(0.25)
                with self.stats.lock:
                    self.stats.data["queue_wait_s"] += time.monotonic() - t0
                if stop.is_set() and self.bytes and self.bytes + n > self.max_bytes:
                    return False
            self.items.append(item)
            self.bytes += n
            with self.stats.lock:
                self.stats.data["queue_bytes"] = self.bytes
                self.stats.data["queue_peak_bytes"] = max(self.stats.data["queue_peak_bytes"],
                                                          self.bytes)  # fmt: skip
            self.cond.notify_all()
            return True

    def get(self, timeout: float) -> Chunk | None:
        with self.cond:
            if not self.items:
                self.cond.wait(timeout)
            if not self.items:
                return None
            item = self.items.popleft()
            self.bytes -= len(item[3] or b"")
            with self.stats.lock:
                self.stats.data["queue_bytes"] = self.bytes
            self.cond.notify_all()
            return item


class Feed(threading.Thread):
    _ids = itertools.count(1)  # connection ids, unique in the process

    def __init__(self, idx: int, src: SourceConfig, inbox: Inbox, stop: threading.Event,
                 base: Path, log: Callable[[str], None], stats: LiveStats):  # fmt: skip
        super().__init__(daemon=True, name=f"feed-{src.name}")
        self.idx, self.src, self.inbox, self.stop, self.base, self.log = (
            idx, src, inbox, stop, base, log)  # fmt: skip
        self.stats = stats
        self.bytes = 0
        self.open_conns = 0
        self.conn_lock = threading.Lock()
        self.tls = _server_tls(src, base)  # a bad certificate stops the start, not the feed
        if src.pull:
            from picket.sources.pull_http import check

            check(src)  # so does a bad pull setting

    def put(self, conn: int, data: bytes | None, block: bool = True) -> None:
        """Queue bytes (None: `conn` closed) with their arrival time; a refusal is counted."""
        recv = time.time()
        if data is not None:
            if not data:
                return
            self.bytes += len(data)
            self.stats.add(self.idx, "bytes_in", len(data))
            self.stats.add(self.idx, "chunks_in")
        if self.inbox.put((self.idx, conn, recv, data), block, self.stop):
            return
        if data is None:
            return  # the loop flushes every decoder at shutdown anyway
        if self.stop.is_set():
            self.stats.add(self.idx, "shutdown_lost_bytes", len(data))
        else:
            self.stats.add(self.idx, "queue_dropped_chunks")
            self.stats.add(self.idx, "queue_dropped_bytes", len(data))

    def count(self, key: str, n: float = 1) -> None:
        self.stats.add(self.idx, key, n)

    def next_conn(self) -> int:
        """A new connection id: a pulled document or a WebSocket session gets its own decoder."""
        return next(self._ids)

    def run(self) -> None:
        s = self.src
        try:
            if s.pull:
                self._pull()
            elif s.tcp:
                self._tcp_client(*_hostport(s.tcp))
            elif s.listen_tcp:
                self._tcp_server(*_hostport(s.listen_tcp))
            elif s.udp:
                self._udp(*_hostport(s.udp))
            elif s.file:
                self._file(self.base / s.file if not Path(s.file).is_absolute() else Path(s.file))
        except Exception as e:  # a broken feed must not take the others down
            logger.exception("source %s stopped", s.name)
            self.log(f"source {s.name}: stopped: {e}")

    def _pull(self) -> None:
        from picket.sources import pull_http

        if self.src.pull == "opensky":
            pull_http.run_opensky(self.src, self)
        elif self.src.pull == "readsb_http":
            pull_http.run_readsb(self.src, self)
        else:
            from picket.sources.pull_ws import run_aisstream

            run_aisstream(self.src, self)

    def _recv_loop(self, c: socket.socket, conn: int) -> None:
        """Bytes of one connection into the inbox until it closes or the run stops."""
        c.settimeout(0.5)
        try:
            while not self.stop.is_set():
                try:
                    data = c.recv(RECV)
                except TimeoutError:
                    continue
                except OSError as e:  # reset by the peer, a TLS record cut short
                    logger.info("source %s: connection %d ended: %s", self.src.name, conn, e)
                    break
                if not data:
                    break
                self.put(conn, data)
        finally:
            self.put(conn, None)
            self.stats.add(self.idx, "disconnects")

    def _tcp_client(self, host: str, port: int) -> None:
        backoff, tries = 1.0, 0
        while not self.stop.is_set():
            if tries:
                self.stats.add(self.idx, "reconnects")
            tries += 1
            try:
                with socket.create_connection((host, port), timeout=5) as c:
                    self.log(f"source {self.src.name}: connected to {host}:{port}")
                    self.stats.add(self.idx, "connections")
                    backoff = 1.0
                    self._recv_loop(c, next(self._ids))
            except OSError as e:
                self.log(f"source {self.src.name}: {host}:{port}: {e}; retry in {backoff:.0f} s")
            self.stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)

    def _tcp_server(self, host: str, port: int) -> None:
        with socket.create_server((host, port), reuse_port=False) as srv:
            srv.settimeout(0.5)
            self.log(f"source {self.src.name}: listening on {host}:{port}")
            while not self.stop.is_set():
                try:
                    conn, peer = srv.accept()
                except TimeoutError:
                    continue
                with self.conn_lock:
                    full = self.open_conns >= MAX_CONNECTIONS
                    self.open_conns += 0 if full else 1
                if full:  # a flood of connections must not make a thread and decoder each
                    self.stats.add(self.idx, "refused")
                    logger.warning("source %s: refused %s: %d connections open",
                                   self.src.name, peer, MAX_CONNECTIONS)  # fmt: skip
                    conn.close()
                    continue
                self.stats.add(self.idx, "connections")
                threading.Thread(target=self._serve, args=(conn, next(self._ids)), daemon=True,
                                 name=f"feed-{self.src.name}-{peer}").start()  # fmt: skip

    def _serve(self, c: socket.socket, conn: int) -> None:
        try:
            if self.tls is not None:  # the handshake here: a slow client holds only its thread
                c = self._handshake(c)
                if c is None:
                    return
            with c:
                self._recv_loop(c, conn)
        finally:
            with self.conn_lock:
                self.open_conns -= 1

    def _handshake(self, c: socket.socket) -> socket.socket | None:
        """The TLS handshake of one accepted connection; a refusal (no or a foreign client
        certificate, not TLS at all) is logged and counted (`tls_refused`)."""
        assert self.tls is not None
        try:
            c.settimeout(HANDSHAKE_S)
            return self.tls.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.stats.add(self.idx, "tls_refused")
            logger.warning("source %s: TLS handshake refused: %s", self.src.name, e)
            c.close()
            return None

    def _udp(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            with contextlib.suppress(OSError):  # room for bursts while the loop is busy
                u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)
            u.bind((host, port))
            u.settimeout(0.5)
            self.log(f"source {self.src.name}: UDP on {host}:{port}")
            while not self.stop.is_set():
                try:
                    data = u.recv(RECV)
                except TimeoutError:
                    continue
                # a datagram holds whole sentences; make sure one ends before the next begins
                # (ASTERIX datagrams hold whole binary data blocks: nothing may come between)
                text = self.src.format != "asterix" and not data.endswith(b"\n")
                self.put(0, data + b"\n" if text else data, block=False)

    def _file(self, path: Path) -> None:
        with open(path, "rb") as fh:
            while not self.stop.is_set():
                data = fh.read(1 << 20)
                if data:
                    self.put(0, data)
                elif self.src.follow:
                    self.stop.wait(0.5)
                else:
                    return


class _Timed:
    """One connection's decoder with its source's clock setting and the door check (the
    driver's, against the chunk's arrival time)."""

    def __init__(self, asm: Assembly, src: SourceConfig, fmt: Format,
                 decoder_args: dict[str, dict[str, Any]] | None = None,
                 driver: Driver | None = None):  # fmt: skip
        self.src, self.rejects = src, asm.rejects
        self.driver = driver if driver is not None else Driver(asm.pipeline, asm.rejects)
        self.clock = Clock(live=True)
        kw = {"clock": self.clock} if fmt.clockless and src.clock != "message" else {}
        kw = {**(decoder_args or {}).get(fmt.name, {}), **kw}  # e.g. [asterix] sites
        self.dec: Decoder = fmt.decoder(asm.rejects, src.name, **kw)  # type: ignore[call-arg]

    def feed(self, data: bytes, recv: float) -> Decoded:
        self.clock.now = recv
        return self._door(self.dec.feed(data), recv)

    def flush(self, recv: float) -> Decoded:
        self.clock.now = recv
        return self._door(self.dec.flush(), recv)

    def _door(self, out: Decoded, recv: float) -> Decoded:
        s = self.src
        if s.clock == "receive" and len(out.reports):  # a new column: decoders may hand out
            out.reports.cols["time"] = np.full(len(out.reports), recv)  # read-only views
            for st in out.statics:
                st.time = recv
        return self.driver.door(out, s.name, recv, s.min_time, s.max_ahead_s)


def _server_tls(src: SourceConfig, base: Path) -> ssl.SSLContext | None:
    """The listener's TLS context from `tls_cert`/`tls_key`/`tls_ca` (paths from `base`)."""
    if not (src.tls_cert or src.tls_key or src.tls_ca):
        return None
    if not src.listen_tcp or not src.tls_cert:
        raise ValueError(f"source {src.name}: tls_cert/tls_key/tls_ca need listen_tcp and "
                         "tls_cert")  # fmt: skip
    from picket.share.tls import server_context

    def p(x: str | None) -> Path | None:
        return None if x is None else (base / x if not Path(x).is_absolute() else Path(x))

    return server_context(cert=p(src.tls_cert), key=p(src.tls_key),  # type: ignore[arg-type]
                          ca=p(src.tls_ca))  # fmt: skip


def _format(src: SourceConfig, base: Path) -> Format:
    if src.format == "auto" and src.pull:
        from picket.sources.pull_http import KINDS

        return get_format(KINDS.get(src.pull, src.pull))
    if src.format == "auto":
        if not src.file:
            raise ValueError(f"source {src.name}: a network source needs format = '...'")
        return detect(base / src.file)
    return get_format(src.format)


class _Decoders:
    """The open decoders, one per (source, connection), made on a connection's first bytes."""

    def __init__(self, asm: Assembly, sources: list[SourceConfig], base: Path,
                 decoder_args: dict[str, dict[str, Any]] | None, stats: LiveStats,
                 driver: Driver | None = None):  # fmt: skip
        self.asm, self.sources, self.args, self.stats = asm, sources, decoder_args, stats
        self.driver = driver
        self.formats = [_format(s, base) for s in sources]  # a bad source stops the start
        self.open: dict[tuple[int, int], _Timed] = {}

    def handle(self, item: Chunk) -> Decoded:
        """Decode one chunk (or close its connection); a fault is counted, never raised."""
        try:
            return self._handle(item)
        except Exception as e:  # defensive: the loop must outlive any decoder fault
            i, conn = item[0], item[1]
            logger.exception("live: source %s connection %d", self.sources[i].name, conn)
            self.asm.rejects.reject("live.internal_error", f"{self.sources[i].name}#{conn}",
                                    repr(e))  # fmt: skip
            if self.open.pop((i, conn), None) is not None:
                self.stats.add(i, "decoders_open", -1)
            return Decoded.empty()

    def _handle(self, item: Chunk) -> Decoded:
        i, conn, recv, data = item
        k = (i, conn)
        if data is None:  # the connection closed: its partial line or frame is judged now
            dec = self.open.pop(k, None)
            if dec is None:
                return Decoded.empty()
            self.stats.add(i, "decoders_open", -1)
            return dec.flush(recv)
        dec = self.open.get(k)
        if dec is None:
            dec = self.open[k] = _Timed(self.asm, self.sources[i], self.formats[i], self.args,
                                        self.driver)  # fmt: skip
            self.stats.add(i, "decoders_open")
        self.stats.add(i, "bytes_decoded", len(data))
        return dec.feed(data, recv)

    def flush_all(self, recv: float) -> list[Decoded]:
        out = [dec.flush(recv) for dec in self.open.values()]
        for i, _ in self.open:
            self.stats.add(i, "decoders_open", -1)
        self.open.clear()
        return out


def _zone_editor(asm: Assembly) -> tuple[Any, Callable[[], None]]:
    """The zone editor operators use (the served picture's, when `picket run` serves it)
    and how its edits reach the pipeline now; else one of our own on the same zones."""
    from picket.pipeline.assemble import replace_zones

    for sink in asm.pipeline.sinks:
        hub = getattr(sink, "hub", None)
        if hub is not None and callable(getattr(sink, "take_zone_edits", None)):
            def served(sink: Any = sink, hub: Any = hub) -> None:
                sink.take_zone_edits(asm.pipeline.world)
                hub.layer_event("zones", hub.zones.collection())  # the map redraws them

            return hub.zones, served
    from picket.serve.zone_edits import ZoneEditor

    ed = ZoneEditor()
    ed.seed(asm.pipeline.world.zones)

    def own() -> None:
        got = ed.take()
        if got is not None:
            replace_zones(asm.pipeline, *got)

    return ed, own


def _shape_zones(asm: Assembly, sources: list[SourceConfig]) -> dict[int, Any]:
    """Per CoT source with `zone_prefix`: its drawn shapes kept as zones (docs/sources.md)."""
    want = [i for i, s in enumerate(sources) if s.zone_prefix]
    if not want:
        return {}
    from picket.sources.cot_in import ShapeZones
    from picket.sources.pull_http import is_loopback

    for i in want:  # a zone edit is an operator's act: say so when anyone may make one
        s = sources[i]
        bind = s.listen_tcp or s.udp or s.tcp or ""
        if not s.tls_ca and bind and not is_loopback(f"//{bind}"):
            logger.warning("source %s: zone_prefix without tls_ca: any client that reaches "
                           "%s can draw zones (docs/sources.md)", s.name, bind)  # fmt: skip

    editor, apply = _zone_editor(asm)
    return {i: ShapeZones(sources[i].zone_prefix, editor, apply, asm.rejects, sources[i].name)
            for i in want}  # fmt: skip


def _zone_edits(shapes: dict[int, Any], outs: list[tuple[int, Decoded]], now: float) -> None:
    """Shapes of this batch become zone edits, and stale ones go, before the batch runs."""
    changed = False
    for i, d in outs:
        z = shapes.get(i)
        if z is not None and d.statics:
            changed |= z.take(d.statics)
    for z in shapes.values():
        changed |= z.expire(now)
    if changed:
        next(iter(shapes.values())).apply()


def run_live(asm: Assembly, sources: list[SourceConfig], base: Path, batch_s: float = 1.0,
             stop: threading.Event | None = None, log: Callable[[str], None] = print,
             max_seconds: float | None = None,
             decoder_args: dict[str, dict[str, Any]] | None = None,
             stats: dict[str, Any] | None = None,
             inbox_max_bytes: int = INBOX_MAX_BYTES) -> dict[str, Any]:  # fmt: skip
    """Run until `stop` is set (or `max_seconds` pass); return per-source byte counts.

    `stats`, when given, is filled with the live counters at every batch and at the end
    (the same dict is the World's `live_stats`, for the server's metrics).
    """
    stop = stop or threading.Event()
    ls = LiveStats(sources, inbox_max_bytes)
    stats = stats if stats is not None else {}
    asm.world.live_stats = stats
    inbox = Inbox(ls, inbox_max_bytes)
    # a live stop is not the end of the stream (a restart resumes it): the tracker's open
    # scan goes into the checkpoint instead of being judged
    driver = Driver(asm.pipeline, asm.rejects, flush_tracker=False)
    decoders = _Decoders(asm, sources, base, decoder_args, ls, driver)
    shapes = _shape_zones(asm, sources)
    feeds = [Feed(i, s, inbox, stop, base, log, ls) for i, s in enumerate(sources)]
    for f in feeds:
        f.start()
    t_end = time.monotonic() + max_seconds if max_seconds else None
    try:
        while not stop.is_set():
            deadline = time.monotonic() + batch_s
            outs = []
            while (left := deadline - time.monotonic()) > 0:
                item = inbox.get(left)
                if item is None:
                    break
                outs.append(decoders.handle(item))
                if shapes:
                    _zone_edits(shapes, [(item[0], outs[-1])], item[2])
            if shapes:
                _zone_edits(shapes, [], time.time())  # stale shapes go even when all is quiet
            stats.update(ls.snapshot())  # current in the metrics the batch publishes
            driver.step_chunks(outs)
            stats.update(ls.snapshot())
            if t_end is not None and time.monotonic() >= t_end:
                break
    except KeyboardInterrupt:
        log("stopping")
    finally:
        stop.set()
        _shutdown(driver, inbox, decoders, ls, feeds, stats)
        stats.update(ls.snapshot())
    return {s.name: f.bytes for s, f in zip(sources, feeds, strict=True)}


def _shutdown(driver: Driver, inbox: Inbox, decoders: _Decoders, ls: LiveStats,
              feeds: list[Feed], stats: dict[str, Any]) -> None:  # fmt: skip
    """Decode what is still queued (within DRAIN_S), count what is not, flush every
    decoder (partial lines and frames are judged, counted), and finish the pipeline."""
    for f in feeds:  # they see `stop` within half a second; what they held is counted
        f.join(timeout=1.0)
    outs = []
    t_end = time.monotonic() + DRAIN_S
    while time.monotonic() < t_end and (item := inbox.get(0)) is not None:
        outs.append(decoders.handle(item))
    for item in inbox.close():  # out of time: counted, not decoded (later puts are refused)
        if item[3] is not None:
            ls.add(item[0], "shutdown_lost_bytes", len(item[3]))
    lost = {k: v["shutdown_lost_bytes"] for k, v in ls.snapshot()["sources"].items()
            if v["shutdown_lost_bytes"]}  # fmt: skip
    if lost:
        logger.warning("live: bytes lost at shutdown (counted): %s", lost)
    outs.extend(decoders.flush_all(time.time()))
    stats.update(ls.snapshot())  # the last counts, in the metrics the sinks publish at close
    driver.step_chunks(outs)
    driver.finish()
