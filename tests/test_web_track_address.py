"""The page names the selected track by its global id in the address (`?track=<gid>`):
after a refresh, and after the server restarts with its tracks numbered otherwise, the same
track is selected again. A real browser (Chromium through Playwright), real servers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from picket.bus.sink import BusSink
from picket.model.alerts import Alert
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, LiveSink, start_server
from tests.web_fixtures import DIST

pytestmark = pytest.mark.slow  # a real browser on a software GPU

T0 = 1_736_935_200.0
SHIPS = [key(Namespace.MMSI, 211000001 + i) for i in range(6)]


def _serve(port: int, extra_first: bool) -> tuple[Any, Pipeline]:
    """A live server over six ships (with one more ship first when `extra_first`, which
    moves every other track's table slot and so its number in the frames)."""
    hub = LiveHub(tick_s=0.2)
    srv = start_server(None, hub, port=port, static_dir=DIST)
    pipe = Pipeline([], [])
    pipe.sinks.append(LiveSink(hub, pipeline=pipe))
    subjects = ([key(Namespace.MMSI, 201000001)] if extra_first else []) + SHIPS
    for k in range(3):
        n = len(subjects)
        pipe.process(Decoded(Reports.build(
            n, time=np.full(n, T0 + 10 * k), domain=np.full(n, Domain.MARITIME),
            kind=np.full(n, Kind.POSITION), subject=np.array(subjects),
            lat=55.0 + 0.05 * np.arange(n), lon=np.full(n, 14.0 + 0.001 * k))))  # fmt: skip
    return srv, pipe


def _selected(pg: Any) -> Any:
    return pg.evaluate("() => { const t = window.__picket.state.selectedTrack;"
                       " return t ? {subject: t.subject, gid: t.gid, id: t.id} : null; }")


def _wait_for_tracks(pg: Any, n: int) -> None:
    pg.wait_for_function(f"() => window.__picket && window.__picket.store.count >= {n}",
                         timeout=60000)  # fmt: skip


def test_the_selected_track_survives_a_refresh_and_a_server_restart(browser):
    srv, _ = _serve(0, extra_first=False)
    port = int(srv.url.rsplit(":", 1)[1])
    ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto(srv.url + "/")
        _wait_for_tracks(pg, len(SHIPS))
        want = "mmsi:211000004"
        pg.evaluate(f"() => window.__picket.selectTrack(window.__picket.store.bySubject.get("
                    f"'{want}'))")  # fmt: skip
        first = _selected(pg)
        assert first["subject"] == want and first["gid"] and first["gid"].isdigit()
        pg.wait_for_function(f"() => location.search.includes('track={first['gid']}')")
        url = pg.url
        # a refresh: the page starts afresh and selects the track once the picture holds it
        pg.reload()
        _wait_for_tracks(pg, len(SHIPS))
        pg.wait_for_function("() => window.__picket.state.selectedTrack !== null", timeout=30000)
        assert _selected(pg) == first
        # the server restarts (same port) and numbers its tracks otherwise
        srv.stop()
        srv, _ = _serve(port, extra_first=True)
        pg.goto(url)
        _wait_for_tracks(pg, len(SHIPS) + 1)
        pg.wait_for_function("() => window.__picket.state.selectedTrack !== null", timeout=30000)
        again = _selected(pg)
        assert again["subject"] == want and again["gid"] == first["gid"]
        assert again["id"] != first["id"]  # by frame number it would have been another track
        assert f"track={first['gid']}" in pg.url
        # a click on an alert selects its track: the address follows, the click is not held
        # (the alert reaches the page live, over SSE)
        BusSink(srv.hub.bus, reports=False, picture=False).emit([("open", Alert(
            id="a" + "0" * 15, kind="maritime.ais_gap", severity="warning", time=T0 + 20,
            domain="maritime", subject="mmsi:211000002", lat=55.05, lon=14.0, summary="gap",
            evidence={}, last_time=T0 + 20))])  # fmt: skip
        pg.click("li.alert[data-alert-id='a000000000000000']", timeout=20000)
        pg.wait_for_function("() => window.__picket.state.selectedTrack?.subject === "
                             "'mmsi:211000002'", timeout=20000)  # fmt: skip
        gap = _selected(pg)
        pg.wait_for_function(f"() => location.search.includes('track={gap['gid']}')")
        # closing the panel takes the track out of the address
        pg.evaluate("() => window.__picket.home()")
        pg.wait_for_function("() => !location.search.includes('track=')")
        assert not errors, errors
    finally:
        ctx.close()
        srv.stop()
