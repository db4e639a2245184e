"""picket.serve: the live server (REST, WebSocket track frames, SSE alerts, replay)."""

from picket.serve.hub import LiveHub
from picket.serve.live_sink import LiveSink
from picket.serve.server import ServerHandle, serve_assembly, start_server

__all__ = ["LiveHub", "LiveSink", "ServerHandle", "serve_assembly", "start_server"]
