"""aisstream.io over WebSocket: subscribe with the API key and boxes, read messages.

The key comes from the environment (`AISSTREAM_API_KEY`), never from the config file,
and goes only over wss (ws only to this machine, for tests). aisstream closes a
connection that has not subscribed within 3 s, so the subscription is the first thing
sent. Each message becomes one line of the connection's stream (newlines inside a
message are only JSON whitespace: made spaces), read by the `aisstream` decoder. A
dropped connection is reopened with backoff; an error aisstream sends (a bad key) is
logged and counted (`poll_errors`).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from picket.sources.pull_http import PullFeed, boxes

logger = logging.getLogger(__name__)

AISSTREAM_URL = "wss://stream.aisstream.io/v0/stream"
AISSTREAM_KEY_ENV = "AISSTREAM_API_KEY"
MAX_MESSAGE = 1 << 20
OPEN_TIMEOUT_S = 10.0


def subscription(api_key: str, bbox: Any, where: str) -> dict[str, Any]:
    """aisstream's subscribe message: boxes as [[lat, lon], [lat, lon]] corners."""
    return {"APIKey": api_key,
            "BoundingBoxes": [[[s, w], [n, e]] for w, s, e, n in boxes(bbox, where)]}  # fmt: skip


def run_aisstream(src: Any, feed: PullFeed) -> None:
    """Hold a subscription open until the feed stops."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    key = os.environ.get(AISSTREAM_KEY_ENV)
    if not key:
        feed.log(f"source {src.name}: no {AISSTREAM_KEY_ENV} in the environment; not started")
        feed.count("poll_errors")
        return
    url = src.url or AISSTREAM_URL
    sub = json.dumps(subscription(key, src.bbox, src.name))
    backoff, tries = 1.0, 0
    while not feed.stop.is_set():
        if tries:
            feed.count("reconnects")
        tries += 1
        conn = feed.next_conn()
        opened = False
        try:
            with connect(url, open_timeout=OPEN_TIMEOUT_S, max_size=MAX_MESSAGE,
                         compression=None) as ws:  # fmt: skip
                ws.send(sub)
                opened = True
                feed.count("connections")
                feed.log(f"source {src.name}: subscribed at {url}")
                while not feed.stop.is_set():
                    try:
                        msg = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    data = msg.encode() if isinstance(msg, str) else bytes(msg)
                    if data.lstrip().startswith(b'{"error"'):
                        feed.count("poll_errors")
                        logger.warning("source %s: aisstream: %s", src.name, data[:200])
                        continue
                    backoff = 1.0
                    feed.put(conn, data.replace(b"\n", b" ").replace(b"\r", b" ") + b"\n")
        except (ConnectionClosed, InvalidHandshake, InvalidURI, OSError, TimeoutError) as e:
            feed.log(f"source {src.name}: {url}: {e}; retry in {backoff:.0f} s")
        finally:
            if opened:
                feed.put(conn, None)
                feed.count("disconnects")
        feed.stop.wait(backoff)
        backoff = min(backoff * 2, 60.0)
