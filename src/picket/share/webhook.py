"""Alert webhooks: POST each alert event as JSON, retrying with backoff.

Why a thread and a bounded queue: a slow or dead endpoint must not hold up
the pipeline; events that cannot be delivered after the retries are counted,
never silently dropped.
"""

from __future__ import annotations

import json
import queue
import threading
import urllib.error
import urllib.request
from typing import Any

from picket.fusion.context import BatchContext
from picket.model.alerts import SEVERITY_RANK, Event


class WebhookSink:
    def __init__(self, url: str, kinds: list[str] | None = None, min_severity: str = "info",
                 events: tuple[str, ...] = ("open", "update", "close"), retries: int = 5,
                 backoff_s: float = 1.0, timeout_s: float = 5.0, headers: dict | None = None,
                 max_queue: int = 10_000):  # fmt: skip
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be http(s): {url!r}")
        self.url, self.kinds, self.events = url, kinds, events
        self.min_rank = SEVERITY_RANK[min_severity]
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.sent = self.failed = self.retried = self.dropped = 0
        self._q: queue.Queue[bytes | None] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="picket-webhook", daemon=True)
        self._thread.start()

    def wanted(self, what: str, a: Any) -> bool:
        if what not in self.events or SEVERITY_RANK[a.severity] < self.min_rank:
            return False
        return not self.kinds or any(
            a.kind == k or ((k.endswith(".*") or "." not in k)
            and a.kind.startswith(k.removesuffix(".*") + ".")) for k in self.kinds)  # fmt: skip

    def emit(self, events: list[Event]) -> None:
        for what, a in events:
            if self.wanted(what, a):
                body = json.dumps({"event": what, "alert": a.to_json()}).encode()
                try:
                    self._q.put_nowait(body)
                except queue.Full:
                    self.dropped += 1

    def tracks(self, ctx: BatchContext) -> None:
        pass

    def _post(self, body: bytes) -> bool:
        """True when delivered; False to retry. 4xx other than 408/429 is final."""
        req = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return 200 <= r.status < 300
        except urllib.error.HTTPError as e:
            if 400 <= e.code < 500 and e.code not in (408, 429):
                raise
            return False
        except (OSError, ValueError):
            return False

    def _run(self) -> None:
        while True:
            body = self._q.get()
            if body is None:
                return
            delay = self.backoff_s
            for attempt in range(self.retries + 1):
                try:
                    if self._post(body):
                        self.sent += 1
                        break
                except urllib.error.HTTPError:
                    self.failed += 1
                    break
                if attempt == self.retries:
                    self.failed += 1
                    break
                self.retried += 1
                if self._stop.wait(delay):
                    self.failed += 1
                    break
                delay = min(delay * 2, 60.0)

    def close(self, drain_s: float = 10.0) -> None:
        """Deliver what is queued (bounded wait), then stop."""
        self._q.put(None)
        self._thread.join(timeout=drain_s)
        self._stop.set()
        self._thread.join(timeout=2)
