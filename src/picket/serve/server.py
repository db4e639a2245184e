"""Run the server in a background thread so the pipeline can run in the caller's."""

from __future__ import annotations

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
) -> ServerHandle:
    """Start uvicorn on (host, port) in a daemon thread; port 0 picks a free port.

    Refuses a non-loopback bind without tokens: the picture and the triage
    actions are not for whoever can reach the port.
    """
    import uvicorn

    from picket.serve.app import build_app

    if not is_loopback(host) and not tokens:
        raise ValueError(f"binding to {host} needs tokens (--tokens FILE); loopback needs none")
    app = build_app(hub, store, static_dir or default_static_dir(), tokens, cors_origins)
    cfg = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                         ws="websockets-sansio", ws_max_size=1 << 16,
                         timeout_graceful_shutdown=2)  # fmt: skip
    server = uvicorn.Server(cfg)
    th = threading.Thread(target=server.run, name="picket-http", daemon=True)
    th.start()
    deadline = wall.monotonic() + wait_s
    while not server.started:
        if not th.is_alive():
            raise OSError(f"picket server could not start on {host}:{port}")
        if wall.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"picket server did not start on {host}:{port}")
        wall.sleep(0.02)
    return ServerHandle(server, th, hub, host)


def serve_assembly(asm: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                   tokens: dict | None = None, static_dir: str | Path | None = None,
                   cors_origins: list[str] | None = None) -> ServerHandle:  # fmt: skip
    """Attach a `LiveSink` to an assembled pipeline and serve it (one call for demo/run)."""
    from picket.serve.live_sink import LiveSink

    hub = LiveHub()
    live = LiveSink(hub, env=asm.env, rejects=asm.rejects, pipeline=asm.pipeline)
    asm.pipeline.sinks.append(live)
    handle = start_server(asm.store, hub, host, port, static_dir, tokens, cors_origins)
    live.take_zone_edits(asm.pipeline.env)  # edits kept from an earlier run, before batch one
    return handle
