"""Live feeds: TCP clients, TCP listeners, UDP sockets and followed files.

One thread per source only moves bytes into a queue; the main loop owns the
decoders and the pipeline, and runs a micro-batch every `batch_s` wall
seconds. A feed that drops is reconnected with backoff; nothing a feed sends
can stop the loop (decoders count and dead-letter what they cannot read).

Time (docs/time.md): the feed thread stamps each chunk with its arrival time
(`time.time()`), carried with the bytes through the queue. Each source's
`clock` setting says what a report's time is: "auto", the message's own time
where it has one, else the arrival time (the decoder's `Clock`); "message",
the message's own only; "receive", always the arrival time. Every report then
passes `at_the_door` against the arrival time of its chunk: a feed's wrong
clock or a forged date is rejected, counted, and never stretches the
event-time tickers.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from picket.config import SourceConfig
from picket.model.decoded import Decoded
from picket.model.reports import Reports
from picket.pipeline.assemble import Assembly
from picket.sources.registry import Clock, Decoder, at_the_door, detect, get_format

Chunk = tuple[int, float, bytes]  # (source index, arrival time, bytes)


def _hostport(s: str) -> tuple[str, int]:
    host, _, port = s.rpartition(":")
    return host or "0.0.0.0", int(port)


class Feed(threading.Thread):
    def __init__(self, idx: int, src: SourceConfig, q: queue.Queue[Chunk], stop: threading.Event,
                 base: Path, log: Callable[[str], None]):  # fmt: skip
        super().__init__(daemon=True, name=f"feed-{src.name}")
        self.idx, self.src, self.q, self.stop, self.base, self.log = idx, src, q, stop, base, log
        self.bytes = 0

    def put(self, data: bytes) -> None:
        if data:
            self.bytes += len(data)
            self.q.put((self.idx, time.time(), data))

    def run(self) -> None:
        s = self.src
        try:
            if s.tcp:
                self._tcp_client(*_hostport(s.tcp))
            elif s.listen_tcp:
                self._tcp_server(*_hostport(s.listen_tcp))
            elif s.udp:
                self._udp(*_hostport(s.udp))
            elif s.file:
                self._file(self.base / s.file if not Path(s.file).is_absolute() else Path(s.file))
        except Exception as e:  # a broken feed must not take the others down
            self.log(f"source {s.name}: stopped: {e}")

    def _tcp_client(self, host: str, port: int) -> None:
        backoff = 1.0
        while not self.stop.is_set():
            try:
                with socket.create_connection((host, port), timeout=5) as c:
                    self.log(f"source {self.src.name}: connected to {host}:{port}")
                    c.settimeout(0.5)
                    backoff = 1.0
                    while not self.stop.is_set():
                        try:
                            data = c.recv(1 << 16)
                        except TimeoutError:
                            continue
                        if not data:
                            break
                        self.put(data)
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
                    conn, _ = srv.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.5)
            while not self.stop.is_set():
                try:
                    data = conn.recv(1 << 16)
                except TimeoutError:
                    continue
                if not data:
                    return
                self.put(data)

    def _udp(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, port))
            u.settimeout(0.5)
            self.log(f"source {self.src.name}: UDP on {host}:{port}")
            while not self.stop.is_set():
                try:
                    data = u.recv(1 << 16)
                except TimeoutError:
                    continue
                # a datagram holds whole sentences; make sure one ends before the next begins
                self.put(data if data.endswith(b"\n") else data + b"\n")

    def _file(self, path: Path) -> None:
        with open(path, "rb") as fh:
            while not self.stop.is_set():
                data = fh.read(1 << 20)
                if data:
                    self.put(data)
                elif self.src.follow:
                    self.stop.wait(0.5)
                else:
                    return


class _Timed:
    """A source's decoder with its clock setting and the door check around it."""

    def __init__(self, asm: Assembly, src: SourceConfig, base: Path,
                 decoder_args: dict[str, dict[str, Any]] | None = None):  # fmt: skip
        if src.format == "auto":
            if not src.file:
                raise ValueError(f"source {src.name}: a network source needs format = '...'")
            fmt = detect(base / src.file)
        else:
            fmt = get_format(src.format)
        self.src, self.rejects = src, asm.rejects
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
        if s.clock == "receive":
            out.reports.time[:] = recv
            for st in out.statics:
                st.time = recv
        return at_the_door(out, self.rejects, s.name, recv, s.min_time, s.max_ahead_s)


def run_live(asm: Assembly, sources: list[SourceConfig], base: Path, batch_s: float = 1.0,
             stop: threading.Event | None = None, log: Callable[[str], None] = print,
             max_seconds: float | None = None,
             decoder_args: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run until `stop` is set (or `max_seconds` pass); return per-source byte counts."""
    stop = stop or threading.Event()
    q: queue.Queue[Chunk] = queue.Queue(maxsize=10_000)
    decoders = [_Timed(asm, s, base, decoder_args) for s in sources]
    feeds = [Feed(i, s, q, stop, base, log) for i, s in enumerate(sources)]
    for f in feeds:
        f.start()
    t_end = time.monotonic() + max_seconds if max_seconds else None
    try:
        while not stop.is_set():
            deadline = time.monotonic() + batch_s
            parts, statics = [], []
            while (left := deadline - time.monotonic()) > 0:
                try:
                    i, recv, data = q.get(timeout=left)
                except queue.Empty:
                    break
                out = decoders[i].feed(data, recv)
                parts.append(out.reports)
                statics.extend(out.statics)
            r = Reports.concat(parts).sorted_by_time()
            asm.pipeline.process(Decoded(r, statics))
            asm.rejects.flush()
            if t_end is not None and time.monotonic() >= t_end:
                break
    except KeyboardInterrupt:
        log("stopping")
    finally:
        stop.set()
        for dec in decoders:
            out = dec.flush(time.time())
            if len(out.reports):
                asm.pipeline.process(out)
        asm.pipeline.finish()
    return {s.name: f.bytes for s, f in zip(sources, feeds, strict=True)}
