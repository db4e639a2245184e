"""`picket demo` shows the picture within a minute (issue 16, "Done when"): started as the README
runs it (on a free port and its own work folder, for the test), a real browser on the page sees
tracks, an alert, the NordBalt cross-domain incident, satellites and place names, each within
60 s of the process starting by the test's own wall clock. A functional deadline, not a
benchmark: the times are printed and the screenshot kept (test-artifacts/web-demo-minute.png).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from picket.sim.incidents import DRIFT_SITE
from tests import test_web_picture as base
from tests.test_web_picture import CSP_WATCH, shot

# it judges wall time against a deadline: under xdist it runs with no other test beside it
pytestmark = [pytest.mark.slow, pytest.mark.alone]

DEADLINE_S = 60.0
PICKET = Path(sys.executable).with_name("picket")

# each thing the brief names, as the page holds it (window.__picket, web/src/main.ts)
CHECKS = {
    "tracks": "p.store.count >= 100",
    "alert": "p.alertPanel.alerts.size >= 1 && document.querySelector('li.alert') !== null",
    # the drift 9 km off NordBalt under the Kaliningrad jamming, joined with the jamming area
    "nordbalt_incident": f"""p.incidentPanel.incidents.some((i) => i.domains.includes('maritime')
        && i.domains.includes('em') && i.kinds.includes('maritime.drift')
        && i.extent.bbox[0] < {DRIFT_SITE[0]} && {DRIFT_SITE[0]} < i.extent.bbox[2]
        && i.extent.bbox[1] < {DRIFT_SITE[1]} && {DRIFT_SITE[1]} < i.extent.bbox[3])
        && document.querySelector('[data-testid=incident-list] li') !== null""",
    "satellites": "(p.state.sky?.features?.length ?? 0) > 0",
    "place_labels": """p.placeNames.source === 'gazetteer'
        && p.state.mapLabels.filter((l) => ['capital', 'city'].includes(l.kind)).length >= 3""",
}
_FIELDS = ", ".join(f"{k}: (() => {{ try {{ return !!({v}); }} catch {{ return false; }} }})()"
                    for k, v in CHECKS.items())  # fmt: skip
PROBE = ("() => { const p = window.__picket; if (!p) return {}; return {" + _FIELDS
         + ", time: p.store.time}; }")
PAGE_LAG_S = 8.0  # the page's incident refetch waits at most 3 s in a stream of alerts
SLOW_PACE = 50.0  # x real time: below this the machine, not picket, missed the deadline


@pytest.fixture
def demo_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, float, queue.Queue]]:
    base._need_browser()
    if not PICKET.exists():
        pytest.skip(f"no picket script beside {sys.executable}")
    out = open(tmp_path / "demo.out", "wb")  # noqa: SIM115 (closed below)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(PICKET), "demo", "--port", "0", "--workdir", str(tmp_path / "work")],
        cwd=base.ROOT, stdout=out, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for raw in proc.stderr:  # type: ignore[union-attr]
            lines.put(f"[{time.monotonic() - t0:5.1f} s] " + raw.decode("utf-8", "replace"))

    threading.Thread(target=read, daemon=True, name="demo-stderr").start()
    try:
        yield proc, t0, lines
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        out.close()


def _api_has_incident(url: str) -> bool:
    """The server already joins the NordBalt incident (to tell the page's lag from the demo's)."""
    import httpx

    w, s = DRIFT_SITE[0], DRIFT_SITE[1]
    for i in httpx.get(f"{url}/api/incidents", timeout=10).json().get("incidents", []):
        b = (i.get("extent") or {}).get("bbox") or [0, 0, 0, 0]
        if "maritime.drift" in i["kinds"] and b[0] < w < b[2] and b[1] < s < b[3]:
            return True
    return False


def test_the_demo_shows_everything_within_a_minute(browser: Any, demo_process: Any) -> None:
    proc, t0, lines = demo_process
    log: list[str] = []
    url = None
    while url is None:
        left = DEADLINE_S - (time.monotonic() - t0)
        try:
            line = lines.get(timeout=max(left, 0.1))
        except queue.Empty:
            pytest.fail(f"the demo served nothing within {DEADLINE_S:.0f} s: {''.join(log)}")
        log.append(line)
        m = re.search(r"the picture is on (http://\S+?)/?\s*$", line)
        if m:
            url = m.group(1)
        assert proc.poll() is None, f"the demo exited: {''.join(log)}"
    served_s = time.monotonic() - t0
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.add_init_script(CSP_WATCH)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto(f"{url}/")
        seen: dict[str, float] = {}
        pace: list[tuple[float, float]] = []  # (wall s, the picture's event time)
        while len(seen) < len(CHECKS) + 1 and time.monotonic() - t0 < DEADLINE_S + 60:
            got = pg.evaluate(PROBE)
            now = time.monotonic() - t0
            if isinstance(got.pop("time", None), int | float) and got:
                pace.append((now, float(pg.evaluate("() => window.__picket.store.time"))))
            for k, ok in got.items():
                if ok and k not in seen:
                    seen[k] = round(now, 1)
            if "api_incident" not in seen and _api_has_incident(url):
                seen["api_incident"] = round(time.monotonic() - t0, 1)
            pg.wait_for_timeout(250)
        pg.wait_for_timeout(500)
        shot(pg, "web-demo-minute")
    finally:
        ctx.close()
    while not lines.empty():
        log.append(lines.get())
    print(f"\npicket demo: served after {served_s:.1f} s; seen at (s from start): {seen}")
    print("".join(log[-40:]))
    missing = sorted(set(CHECKS) - set(seen))
    late = {k: s for k, s in seen.items() if s > DEADLINE_S and k in CHECKS}
    ok = [(w, t) for w, t in pace if t > 1e9]  # NaN or 0 before the first frame
    x = (ok[-1][1] - ok[0][1]) / (ok[-1][0] - ok[0][0]) if len(ok) > 1 else float("nan")
    print(f"the picture advanced at {x:.0f}x real time (the demo paces at 60x)")
    # the page follows the server: the incident shows within a few seconds of being joined,
    # however fast the demo runs
    if "api_incident" in seen and "nordbalt_incident" in seen:
        assert seen["nordbalt_incident"] - seen["api_incident"] <= PAGE_LAG_S, seen
    if (late or missing) and x < SLOW_PACE:
        pytest.xfail(f"late {late}, missing {missing}, but the demo ran at {x:.0f}x real time, "
                     f"not 60x: the machine is too loaded to judge the deadline (all: {seen})")
    assert not missing, f"never shown within {DEADLINE_S + 60:.0f} s: {missing} (seen: {seen})"
    assert not late, (f"shown later than {DEADLINE_S:.0f} s after start: {late} (all: {seen}; "
                      f"the picture advanced at {x:.0f}x)")
    assert not errors, errors
