"""`asyncio.run` for tests, on a thread of its own.

Why: under `make test`'s two workers a worker that ran the browser files keeps their
session's Playwright (sync API) open, and Playwright holds a running event loop in the
main thread, where `asyncio.run` refuses to start another. A thread has no loop of its
own, whatever ran before."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run(coro)` on a fresh thread; its result, or its exception raised here."""
    out: dict[str, Any] = {}

    def main() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as e:  # handed to the caller's thread as it is
            out["error"] = e

    th = threading.Thread(target=main, name="test-asyncio")
    th.start()
    th.join()
    if "error" in out:
        raise out["error"]
    return out["value"]
