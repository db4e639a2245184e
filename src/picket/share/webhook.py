"""Alert webhooks: POST each alert event as JSON, retrying with backoff.

Why a thread and a bounded queue: a slow or dead endpoint must not hold up
the pipeline; events that cannot be delivered after the retries are counted,
never silently dropped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from picket.model.alerts import SEVERITY_RANK, Event

log = logging.getLogger(__name__)


class WebhookSink:
    def __init__(self, url: str, kinds: list[str] | None = None, min_severity: str = "info",
                 events: tuple[str, ...] = ("open", "update", "close"), retries: int = 5,
                 backoff_s: float = 1.0, timeout_s: float = 5.0, headers: dict | None = None,
                 max_queue: int = 10_000, name: str = ""):  # fmt: skip
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be http(s): {url!r}")
        self.url, self.kinds, self.events = url, kinds, events
        self.min_rank = SEVERITY_RANK[min_severity]
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s
        self.headers = {"content-type": "application/json", **(headers or {})}
        u = urlsplit(url)  # user:password@ or a query may carry a secret: not in stats
        self.name = name or f"{u.scheme}://{u.hostname}{f':{u.port}' if u.port else ''}{u.path}"
        self.sent = self.failed = self.retried = self.dropped = self.dropped_at_close = 0
        self.last_error = ""
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

    def picture(self, view: Any) -> None:
        pass  # alerts only

    def stats(self) -> dict[str, Any]:
        """Counters, in the same names as the CoT outputs' (headers are never shown)."""
        return {"kind": "webhook", "name": self.name, "sent": self.sent,
                "queued": self._q.qsize(), "retried": self.retried,
                "dropped_queue_full": self.dropped, "dropped_send_failed": self.failed,
                "dropped_at_close": self.dropped_at_close,
                "last_error": self.last_error}  # fmt: skip

    def _post(self, body: bytes) -> bool:
        """True when delivered; False to retry. 4xx other than 408/429 is final."""
        req = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return 200 <= r.status < 300
        except urllib.error.HTTPError as e:
            self._error(f"HTTP {e.code}")
            if 400 <= e.code < 500 and e.code not in (408, 429):
                raise
            return False
        except (OSError, ValueError) as e:
            self._error(f"{type(e).__name__}: {e}")
            return False

    def _error(self, msg: str) -> None:
        if msg != self.last_error:  # one line per change, not one per retry
            log.warning("webhook %s: %s", self.name, msg)
        self.last_error = msg

    def _run(self) -> None:
        while not self._stop.is_set():
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
        with contextlib.suppress(queue.Full):
            self._q.put(None, timeout=drain_s)
        self._thread.join(timeout=drain_s)
        self._stop.set()
        self._thread.join(timeout=2)
        while True:  # what could not be delivered in time is counted, not lost silently
            try:
                if self._q.get_nowait() is not None:
                    self.dropped_at_close += 1
            except queue.Empty:
                break
