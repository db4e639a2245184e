"""What the browser tests (tests/test_web_*.py) share for the whole session, through
tests/conftest.py: one Chromium process (each module opens its own context and page in it)
and one Baltic demo run served live, for the modules that look at the demo's picture.

Starting Chromium costs seconds, and the demo's hour through the real pipeline far more, on
these CPU-only machines; both were paid once per module. A module that needs another server
(its own options, data or restarts) still starts its own. Tests that triage the shared
demo's alerts or incidents put them back (`undo_triage`), so no module sees another's
changes whatever the order the files run in.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "web" / "dist"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _need_browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (CI installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) not installed")
    if not (DIST / "index.html").exists():
        pytest.skip("web/dist not built: run `npm ci && npm run build` in web/")
    return sync_api


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the session: every module opens its own context in it."""
    sync_api = _need_browser()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The demo's simulated hour through the real pipeline, served live on a free port."""
    _need_browser()
    from picket.demo.run import run_demo
    from picket.serve import LiveHub, LiveSink, start_server
    from picket.store.sqlite import Store

    work = tmp_path_factory.mktemp("web-demo")
    Store(work / "picket.sqlite").close()
    hub = LiveHub(tick_s=0.5)
    server = start_server(work / "picket.sqlite", hub, port=0, static_dir=DIST)

    def attach(asm: Any) -> None:
        asm.pipeline.sinks.append(LiveSink(hub, world=asm.world, rejects=asm.rejects))

    try:
        result = run_demo(duration_s=3600.0, workdir=work, console=False, on_assembly=attach)
        assert result.alerts, "the demo raised no alerts"
        yield server
    finally:
        server.stop()


def _triage_states(server: Any) -> dict[str, str]:
    """Every alert's and incident's triage state on the server, by path."""
    out = {}
    for what in ("alerts", "incidents"):
        offset: int | None = 0
        while offset is not None:
            url = f"{server.url}/api/{what}?limit=1000&offset={offset}"
            with urllib.request.urlopen(url, timeout=30) as r:
                body = json.loads(r.read())
            for rec in body[what]:
                out[f"/api/{what}/{rec['id']}"] = (rec.get("triage") or {}).get("state", "new")
            offset = body.get("next_offset")
    return out


@pytest.fixture
def undo_triage(demo_server: Any) -> Iterator[None]:
    """A test that triages the shared demo's alerts or incidents: afterwards every one it
    moved off `new` is reopened (the log keeps the entries; the state is `new` again)."""
    before = _triage_states(demo_server)
    yield
    _reopen_changed(demo_server, before)


def _reopen_changed(server: Any, before: dict[str, str]) -> list[str]:
    """Reopen what was `new` in `before` and is not now; the paths reopened."""
    done = []
    for path, state in _triage_states(server).items():
        if before.get(path, "new") == "new" and state != "new":
            req = urllib.request.Request(
                f"{server.url}{path}/triage", method="POST",
                data=json.dumps({"action": "reopen"}).encode(),
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            urllib.request.urlopen(req, timeout=30).close()
            done.append(path)
    return done
