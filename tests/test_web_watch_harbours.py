"""The web picture's harbours layer, watchlist panel and APP-6 function icons in a real browser,
against a real server whose real pipeline is fed in real time (a background thread), over a
store that kept learned harbours. Screenshots go to test-artifacts/web-*.png.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests import test_web_picture as base
from tests.test_web_picture import CSP_WATCH, DIST, get_json, shot

pytestmark = pytest.mark.slow


T0 = 1_736_935_200.0
HARBOUR = (59.40, 19.50)  # tests/test_harbours.py's quay
# vessels by AIS ship type: cargo, tanker, passenger, fishing, tug, pleasure, law enforcement
SHIP_TYPES = [70, 80, 60, 30, 52, 37, 55]
# aircraft by ADS-B emitter category: fixed wing, rotorcraft, UAV, lighter than air
EMITTERS = ["A3", "A7", "B6", "B2"]
WATCHED = 211000003  # the passenger ship the page puts on its watchlist


def _batch(t: float, first: bool) -> Any:
    from picket.model.decoded import Decoded, Static
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key

    ships = [key(Namespace.MMSI, 211000001 + i) for i in range(len(SHIP_TYPES))]
    planes = [key(Namespace.ICAO, 0x3C6400 + i) for i in range(len(EMITTERS))]
    n_s, n_a = len(ships), len(planes)
    k = np.arange(n_s)
    lat = np.r_[HARBOUR[0] - 0.25 + 0.08 * (k % 4), HARBOUR[0] + 0.2 + 0.1 * np.arange(n_a)]
    # aircraft fly east at 30 m/s (a stationary aircraft's positions are not believed)
    step = 30.0 * (t - T0) / (111_320.0 * np.cos(np.radians(HARBOUR[0])))
    lon = np.r_[HARBOUR[1] - 0.5 + 0.3 * (k // 4) + 0.12 * (k % 4),
                HARBOUR[1] - 0.3 + 0.15 * np.arange(n_a) + step]  # fmt: skip
    r = Reports.build(time=np.full(n_s + n_a, t),
                      domain=[Domain.MARITIME] * n_s + [Domain.AIR] * n_a,
                      kind=np.full(n_s + n_a, Kind.POSITION), subject=ships + planes,
                      lat=lat, lon=lon, alt=np.r_[np.full(n_s, np.nan), np.full(n_a, 900.0)],
                      speed=np.r_[np.full(n_s, 4.0), np.full(n_a, 30.0)],
                      course=np.full(n_s + n_a, 90.0))  # fmt: skip
    st = []
    if first:
        st += [Static(t, s, {"name": f"WEB SHIP {i}", "ship_type": c})
               for i, (s, c) in enumerate(zip(ships, SHIP_TYPES, strict=True))]  # fmt: skip
        st += [Static(t, a, {"callsign": f"WEB{i}", "category": c})
               for i, (a, c) in enumerate(zip(planes, EMITTERS, strict=True))]  # fmt: skip
    return Decoded(r, st)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server over a store with learned harbours, its pipeline fed a batch every 0.4 s."""
    base._need_browser()
    from picket.detect.watchlist import WatchlistHits
    from picket.pipeline.runtime import Pipeline
    from picket.serve import LiveHub, LiveSink, start_server
    from picket.sinks.store_sink import StoreSink
    from picket.store import harbours as store_harbours
    from picket.store.sqlite import Store
    from tests.test_harbours import run, scene

    _, world = run(scene(np.arange(0.0, 3 * 3600.0, 30.0) + 1.7e9))
    assert world.harbours is not None and world.harbours.cells
    store = Store(tmp_path_factory.mktemp("web-watch") / "picket.sqlite")
    store_harbours.save(store, world.harbours)
    hub = LiveHub(tick_s=0.2)
    pipe = Pipeline(detectors=[WatchlistHits()], sinks=[StoreSink(store, 30.0)])
    pipe.sinks.append(LiveSink(hub, min_interval_s=0.0, pipeline=pipe))
    srv = start_server(store, hub, port=0, static_dir=DIST)
    stop = threading.Event()

    def feed() -> None:
        k = 0
        while not stop.is_set():
            pipe.process(_batch(T0 + 10.0 * k, k == 0))
            k += 1
            stop.wait(0.4)

    th = threading.Thread(target=feed, name="web-watch-feed", daemon=True)
    th.start()
    try:
        yield srv
    finally:
        stop.set()
        th.join(10)
        srv.stop()
        store.close()


@pytest.fixture(scope="module")
def wpage(browser: Any, live_server: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.requested = []  # type: ignore[attr-defined]
    pg.add_init_script(CSP_WATCH)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("request", lambda r: pg.requested.append(r.url))
    pg.goto(f"{live_server.url}/")
    pg.wait_for_function(f"() => window.__picket && window.__picket.store.count >= "
                         f"{len(SHIP_TYPES) + len(EMITTERS)}", timeout=30000)  # fmt: skip
    pg.wait_for_function("() => window.__picket.map.loaded()", timeout=30000)
    pg.evaluate("() => window.__picket.togglePanel('layers', false)")
    pg.evaluate(f"() => window.__picket.map.jumpTo({{center: [{HARBOUR[1]}, {HARBOUR[0]}], "
                "zoom: 8.5})")  # fmt: skip
    try:
        yield pg
    finally:
        ctx.close()


def _layer(pg: Any, lid: str) -> Any:
    return pg.evaluate(
        """(lid) => {
          window.__picket.drawNow();
          const l = window.__picket.overlay._deck.layerManager.getLayers()
            .find((x) => x.id === lid);
          return l ? {n: l.props.data.features.length, visible: l.props.visible} : null;
        }""",
        lid,
    )


def test_learned_harbours_are_a_toggleable_layer_with_a_legend(
    wpage: Any, live_server: Any
) -> None:
    served = get_json(live_server, "/api/layers/harbours")["features"]
    assert served and {f["properties"]["kind"] for f in served} == {"harbour"}
    wpage.wait_for_function("() => window.__picket.state.harbours !== null", timeout=20000)
    assert _layer(wpage, "harbours") == {"n": len(served), "visible": True}
    toggle = wpage.query_selector("label.toggle:has(input[data-layer=harbours])")
    assert toggle and "Harbours (learned)" in toggle.inner_text()
    assert toggle.query_selector(".legend-line.l-harbours")
    wpage.wait_for_timeout(800)
    shot(wpage, "web-harbours")
    wpage.uncheck("input[data-layer=harbours]")
    assert _layer(wpage, "harbours") is None
    wpage.check("input[data-layer=harbours]")
    assert _layer(wpage, "harbours")["n"] == len(served)
    assert not wpage.errors, wpage.errors


def _hits(server: Any) -> list[dict]:
    return get_json(server, "/api/alerts?kind=watchlist.hit&limit=100")["alerts"]


def test_watchlist_from_the_page_raises_a_hit_and_deletes(wpage: Any, live_server: Any) -> None:
    assert not _hits(live_server)
    wpage.wait_for_selector("[data-testid=watchlist]", state="visible", timeout=20000)
    wpage.click("[data-testid=watchlist] > summary")
    # a wrong entry: the server's reason shows, nothing is kept
    wpage.select_option("[data-testid=watch-form] select[name=kind]", "ship_type")
    wpage.fill("[data-testid=watch-form] input[name=value]", "x-y")
    wpage.click("[data-testid=watch-form] button[data-action=watch-add]")
    wpage.wait_for_function(
        "() => document.querySelector('[data-testid=watch-status]').textContent.includes('422')"
    )
    assert get_json(live_server, "/api/watchlist")["entries"] == []
    # the passenger ship by MMSI, critical
    wpage.select_option("[data-testid=watch-form] select[name=kind]", "mmsi")
    wpage.fill("[data-testid=watch-form] input[name=value]", str(WATCHED))
    wpage.fill("[data-testid=watch-form] input[name=label]", "web test")
    wpage.select_option("[data-testid=watch-form] select[name=severity]", "critical")
    wpage.click("[data-testid=watch-form] button[data-action=watch-add]")
    entry = f"[data-testid=watch-list] li[data-match='mmsi:{WATCHED}']"
    wpage.wait_for_selector(entry)
    kept = get_json(live_server, "/api/watchlist")["entries"]
    assert [(e["match"], e["label"], e["severity"]) for e in kept] == [
        (f"mmsi:{WATCHED}", "web test", "critical")
    ]
    # the running detector reads it from its next batch; the hit reaches the alert queue
    wpage.wait_for_selector(f"li.alert:has-text('watchlist.hit'), li.alert:has-text('{WATCHED}')",
                            timeout=20000)  # fmt: skip
    hits = _hits(live_server)
    assert [h["subject"] for h in hits] == [f"mmsi:{WATCHED}"]
    assert hits[0]["severity"] == "critical"
    shot(wpage, "web-watchlist")
    # by selector, not a handle: the list is drawn again when the stream's `watchlist` event
    # for the add comes in, which can be after the row was first seen (a detached handle)
    wpage.click(f"{entry} button[data-action=watch-delete]")
    wpage.wait_for_selector(f"[data-testid=watch-list] li[data-match='mmsi:{WATCHED}']",
                            state="detached")  # fmt: skip
    assert get_json(live_server, "/api/watchlist")["entries"] == []
    assert not wpage.errors, wpage.errors


def test_watch_this_track_from_the_track_panel(wpage: Any, live_server: Any) -> None:
    subject = "mmsi:211000002"  # the tanker
    wpage.evaluate(
        f"() => window.__picket.selectTrack(window.__picket.store.bySubject.get('{subject}'))"
    )
    panel = f"#track-detail:has([data-testid=track-detail][data-subject='{subject}'])"
    wpage.click(f"{panel} button[data-action=watch-track]")
    wpage.wait_for_selector(f"{panel} button[data-action=watch-track]:has-text('watched')")
    kept = get_json(live_server, "/api/watchlist")["entries"]
    assert [(e["match"], e["label"]) for e in kept] == [(subject, "WEB SHIP 1")]
    wpage.wait_for_selector(f"[data-testid=watch-list] li[data-match='{subject}']")
    wpage.click(
        f"[data-testid=watch-list] li[data-match='{subject}'] button[data-action=watch-delete]"
    )
    wpage.wait_for_selector(
        f"[data-testid=watch-list] li[data-match='{subject}']", state="detached"
    )
    assert get_json(live_server, "/api/watchlist")["entries"] == []
    # the panel's button follows the watchlist, whenever the panel is redrawn
    wpage.wait_for_selector(f"{panel} button[data-action=watch-track]:has-text('☆ watch')")


def test_app6_symbols_show_their_function(wpage: Any) -> None:
    wpage.check("input[data-option=app6]")
    wpage.wait_for_function("() => window.__picket.state.milAtlas.canvas !== null", timeout=30000)
    wpage.evaluate(f"() => window.__picket.map.jumpTo({{center: [{HARBOUR[1]}, {HARBOUR[0]}], "
                   "zoom: 8.5})")  # fmt: skip
    wpage.wait_for_timeout(1200)
    info = wpage.evaluate(
        """() => {
          const p = window.__picket;
          p.drawNow();
          const m = p.state.milAtlas;
          const layers = p.overlay._deck.layerManager.getLayers()
            .filter((l) => l.id.startsWith('tracks-'));
          return {keys: Object.keys(m.mapping), codes: [...m.rendered.keys()], invalid: m.invalid,
                  layers: layers.map((l) => [l.id, l.props.getIcon, l.props.data.length])};
        }"""
    )
    shot(wpage, "web-app6-functions")
    codes = set(info["codes"])
    # vessels by ship-type class (2525C civilian surface functions), aircraft by emitter category
    for fn in ["XMC---", "XMO---", "XMP---", "XF----", "XMTU--", "XR----", "XL----",
               "CF----", "CH----", "MFQ---", "CL----"]:  # fmt: skip
        assert any(c[4:10] == fn for c in codes), (fn, sorted(codes))
    drawn = {icon: n for _, icon, n in info["layers"]}
    assert sum(drawn.values()) == len(SHIP_TYPES) + len(EMITTERS)
    assert "vessels-neutral/ship:tanker" in drawn or "vessels-unknown/ship:tanker" in drawn, drawn
    # every symbol milsymbol drew is one it knows (an unknown function draws a bare frame)
    assert info["invalid"] == []
    wpage.uncheck("input[data-option=app6]")
    assert not wpage.errors, wpage.errors


def _api(server: Any, method: str, path: str, body: Any = None) -> Any:
    import httpx

    r = httpx.request(method, f"{server.url}{path}", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def test_watchlist_panel_follows_changes_made_elsewhere(wpage: Any, live_server: Any) -> None:
    """An entry added and deleted by the API (as another tab or a script would) shows and goes
    in the open page without a reload: the panel follows the alert stream's watchlist events."""
    wpage.wait_for_selector("[data-testid=watchlist]", state="visible", timeout=20000)
    marker = wpage.evaluate("() => (window.__b1_marker = Math.random())")
    entry = _api(live_server, "POST", "/api/watchlist",
                 {"match": "name:*ELSEWHERE*", "label": "from the API", "severity": "info"})
    row = f"[data-testid=watch-list] li[data-match='{entry['match']}']"
    wpage.wait_for_selector(row, state="attached", timeout=10000)
    assert "from the API" in (wpage.text_content(row) or "")  # the panel may be folded
    # and a second tab's page sees the first tab's deletion too
    other = wpage.context.new_page()
    try:
        other.goto(f"{live_server.url}/")
        other.wait_for_selector(row, state="attached", timeout=30000)
        _api(live_server, "DELETE", f"/api/watchlist/{entry['id']}")
        wpage.wait_for_selector(row, state="detached", timeout=10000)
        other.wait_for_selector(row, state="detached", timeout=10000)
    finally:
        other.close()
    assert wpage.evaluate("() => window.__b1_marker") == marker  # the same page, not reloaded
    assert not wpage.errors, wpage.errors


def test_harbours_are_named_and_tell_their_name_on_hover(wpage: Any, live_server: Any) -> None:
    served = get_json(live_server, "/api/layers/harbours")["features"]
    names = {f["properties"]["name"] for f in served}
    assert all(n.startswith(("harbour at ", "anchorage ")) for n in names), names
    f = served[len(served) // 2]
    ring = np.asarray(f["geometry"]["coordinates"][0][:4])
    lon, lat = ring.mean(axis=0)
    wpage.check("input[data-layer=harbours]")
    wpage.evaluate(f"() => window.__picket.map.jumpTo({{center: [{lon}, {lat}], zoom: 13}})")
    wpage.wait_for_timeout(1000)
    wpage.evaluate("() => window.__picket.drawNow()")
    box = wpage.evaluate(
        f"""() => {{
          const m = window.__picket.map, r = m.getCanvas().getBoundingClientRect();
          const p = m.project([{lon}, {lat}]);
          return [r.left + p.x, r.top + p.y];
        }}"""
    )
    tip = None
    for dx in (0, 3, -3):  # a track symbol may sit on the very centre
        wpage.mouse.move(box[0] + dx, box[1] + dx)
        wpage.wait_for_timeout(400)
        el = wpage.query_selector(".deck-tip")
        tip = el.inner_text() if el and el.is_visible() else None
        if tip and "learned" in tip:
            break
    assert tip and f["properties"]["name"] in tip and "learned from ships at rest" in tip, tip
    shot(wpage, "web-harbour-tooltip")
    wpage.mouse.move(5, 5)
