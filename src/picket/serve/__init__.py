"""picket.serve: the live server (REST, WebSocket track frames, SSE alerts, replay)."""

from picket.serve.hub import LiveHub
from picket.serve.live_sink import LiveSink
from picket.serve.server import ServerHandle, start_server

__all__ = ["LiveHub", "LiveSink", "ServerHandle", "start_server"]
