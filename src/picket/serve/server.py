"""Run the server in a background thread so the pipeline can run in the caller's."""

from __future__ import annotations

import errno
import socket
import threading
import time as wall
from pathlib import Path
from typing import Any

from picket.serve.auth import is_loopback
from picket.serve.hub import LiveHub

DEFAULT_PORT = 8642


class ServerHandle:
    def __init__(self, server: Any, thread: threading.Thread, hub: LiveHub, host: str):
        self.server, self.thread, self.hub, self.host = server, thread, hub, host

    @property
    def port(self) -> int:
        socks = [s for srv in (self.server.servers or []) for s in srv.sockets]
        return int(socks[0].getsockname()[1]) if socks else 0

    @property
    def url(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{h}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.hub.stop()


def default_static_dir() -> Path | None:
    """`web/dist/` of a source checkout, if built."""
    p = Path(__file__).resolve().parents[3] / "web" / "dist"
    return p if (p / "index.html").exists() else None


def start_server(
    store: Any,
    hub: LiveHub,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    static_dir: str | Path | None = None,
    tokens: dict | None = None,
    cors_origins: list[str] | None = None,
    wait_s: float = 10.0,
    allowed_hosts: list[str] | None = None,
    **limits: Any,
) -> ServerHandle:
    """Start uvicorn on (host, port) in a daemon thread; port 0 picks a free port.

    Refuses a non-loopback bind without tokens: the picture and the triage
    actions are not for whoever can reach the port. The socket is bound here, in the
    caller's thread, so a busy port is an OSError that says so (not a log line from
    the server thread). `limits`: `max_ws`, `max_sse`, `slow_s` (see `build_app`).
    """
    import uvicorn

    from picket.serve.app import build_app

    if not is_loopback(host) and not tokens:
        raise ValueError(f"binding to {host} needs tokens (--tokens FILE); loopback needs none")
    sock = listen(host, port)
    app = build_app(hub, store, static_dir or default_static_dir(), tokens, cors_origins,
                    allowed_hosts=allowed_hosts, **limits)  # fmt: skip
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                         ws="websockets-sansio", ws_max_size=1 << 16,
                         timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(cfg)
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="picket-http",
                          daemon=True)  # fmt: skip
    th.start()
    deadline = wall.monotonic() + wait_s
    while not server.started:
        if not th.is_alive():
            sock.close()
            raise OSError(f"picket server could not start on {host}:{port}")
        if wall.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"picket server did not start on {host}:{port}")
        wall.sleep(0.02)
    return ServerHandle(server, th, hub, host)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or OSError with a one-line reason."""
    if not 0 <= port <= 65535:
        raise OSError(f"cannot listen on {host}:{port}: a port is 0 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not SO_REUSEPORT
        sock.bind(addr)
        sock.listen(2048)
    except OSError as e:
        sock.close()
        why = "the port is in use" if e.errno == errno.EADDRINUSE else (e.strerror or str(e))
        raise OSError(f"cannot listen on {host}:{port}: {why}") from None
    sock.set_inheritable(True)
    return sock


def serve_assembly(asm: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                   tokens: dict | None = None, static_dir: str | Path | None = None,
                   cors_origins: list[str] | None = None,
                   allowed_hosts: list[str] | None = None) -> ServerHandle:  # fmt: skip
    """Attach a `LiveSink` to an assembled pipeline and serve it (one call for demo/run)."""
    from picket.serve.live_sink import LiveSink

    hub = LiveHub()
    cfg = getattr(asm, "config", None)  # [serve] min_interval_s (picket.toml)
    every = cfg.serve_min_interval_s if cfg is not None else None
    live = LiveSink(hub, every, world=asm.world, rejects=asm.rejects, pipeline=asm.pipeline)
    handle = start_server(asm.store, hub, host, port, static_dir, tokens, cors_origins,
                          allowed_hosts=allowed_hosts)  # fmt: skip
    asm.pipeline.sinks.append(live)  # after the bind: a refused port leaves no sink behind
    live.take_zone_edits(asm.pipeline.world)  # edits kept from an earlier run, before batch one
    return handle
