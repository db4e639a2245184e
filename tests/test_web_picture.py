"""The web picture in a real browser against the real server running the Baltic demo.

Chromium (Debian's, at /usr/bin/chromium) is driven by Playwright from PyPI. The demo runs
once per session through the real pipeline into a LiveHub (`demo_server`, with the session's
`browser`, in tests/web_fixtures.py); the page is web/dist as built by
`npm ci && npm run build` in web/. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest

from tests.web_fixtures import CHROMIUM, CHROMIUM_ARGS, DIST, ROOT, _need_browser

pytestmark = pytest.mark.slow  # a real browser on a software GPU: about a minute in all

ARTIFACTS = ROOT / "test-artifacts"
__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DIST", "ROOT", "_need_browser"]  # for the other modules
LOCAL_HOSTS = {"127.0.0.1"}
# every Content-Security-Policy violation the page meets, from its first script on
CSP_WATCH = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""
LOCAL_SCHEMES = {"data", "blob"}


@pytest.fixture(scope="module")
def shared_page(browser: Any, demo_server: Any) -> Iterator[Any]:
    """One page for the module (loading the map costs seconds on a software GPU); it records
    every URL it asks for and every uncaught error."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    pg = ctx.new_page()
    pg.requested = []  # type: ignore[attr-defined]
    pg.errors = []  # type: ignore[attr-defined]
    pg.console = []  # type: ignore[attr-defined]
    pg.add_init_script(CSP_WATCH)
    pg.on("console", lambda m: pg.console.append(f"{m.type}: {m.text}"))
    pg.on("request", lambda r: pg.requested.append(r.url))
    pg.on("websocket", lambda ws: pg.requested.append(ws.url))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(f"{demo_server.url}/")
    wait_for_picture(pg)
    try:
        yield pg
    finally:
        ctx.close()


@pytest.fixture
def page(shared_page: Any) -> Any:
    """The shared page back at its start: every layer on, panels closed, the Baltic in view."""
    # the layer panel starts folded on a screen this narrow: open it for the toggles
    shared_page.evaluate("() => window.__picket.togglePanel('layers', false)")
    for box in shared_page.query_selector_all("input[data-layer]"):
        box.check()
    wait_for_picture(shared_page)
    shared_page.evaluate("() => window.__picket.home()")
    return shared_page


def get_json(server: Any, path: str) -> Any:
    with urllib.request.urlopen(f"{server.url}{path}", timeout=10) as r:
        return json.loads(r.read())


def shot(pg: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def wait_for_picture(pg: Any) -> None:
    """Wait until tracks and alerts are on the page and the basemap is loaded."""
    pg.wait_for_function("() => window.__picket && window.__picket.store.count > 0", timeout=30000)
    pg.wait_for_selector("li.alert", timeout=30000)
    pg.wait_for_function("() => window.__picket.map.loaded()", timeout=30000)


def assert_offline(pg: Any) -> None:
    assert pg.requested, "the page made no requests at all"
    for url in pg.requested:
        u = urlparse(url)
        assert u.scheme in LOCAL_SCHEMES or u.hostname in LOCAL_HOSTS, f"left the host: {url}"


def test_page_loads_offline_with_tracks_and_alert_panel(page: Any, demo_server: Any) -> None:
    page.wait_for_timeout(1500)  # a few live ticks
    shot(page, "web-picture")
    assert_offline(page)
    assert any("/basemap/land.geojson" in u for u in page.requested)
    assert any(urlparse(u).path == "/api/ws/tracks" for u in page.requested)
    assert not page.errors, page.errors

    # the picture holds exactly the tracks the server has, by subject
    api_tracks = get_json(demo_server, "/api/tracks?limit=5000")
    shown = page.evaluate(
        "() => [...window.__picket.store.meta.entries()]"
        ".filter(([id]) => window.__picket.store.view(id)).map(([, m]) => m.subject)"
    )
    assert len(api_tracks["tracks"]) == api_tracks["total"] > 100
    assert set(shown) == {t["subject"] for t in api_tracks["tracks"]}

    # the alert panel: every alert, newest first, with severity, kind, subject and time
    alerts = get_json(demo_server, "/api/alerts?limit=1000")["alerts"]
    rows = page.eval_on_selector_all(
        "li.alert",
        "els => els.map(e => [e.dataset.alertId, e.dataset.severity,"
        " e.querySelector('.kind').textContent, e.querySelector('.subject').textContent,"
        " e.querySelector('time').getAttribute('datetime')])",
    )
    want = sorted(sorted(alerts, key=lambda a: a["id"]), key=lambda a: a["time"], reverse=True)
    assert [r[0] for r in rows] == [a["id"] for a in want]
    times = [r[4] for r in rows]
    assert times == sorted(times, reverse=True)
    by_id = {a["id"]: a for a in alerts}
    for aid, sev, kind, subject, t in rows:
        a = by_id[aid]
        assert (sev, kind, t) == (a["severity"], a["kind"], a["time"])
        # an area alert is named by its place, every other by its subject
        place = (a["evidence"].get("place") or {}).get("text") if a["evidence"] else None
        assert subject.startswith(place or a["subject"])
    # the export link hands over the same picture as GeoJSON
    href = page.get_attribute("a:has-text('GeoJSON')", "href")
    assert urlparse(href).hostname == "127.0.0.1"
    with urllib.request.urlopen(href, timeout=30) as r:
        exported = json.loads(r.read())
    assert exported["type"] == "FeatureCollection" and len(exported["features"]) > 100
    status = page.inner_text("[data-testid=status]")
    assert f"{len(shown):,} tracks" in status


def test_tracks_are_drawn_where_the_server_puts_them(page: Any, demo_server: Any) -> None:
    """Pick the rendered symbol at a vessel's projected position: it is that vessel."""
    track = next(
        t
        for t in get_json(demo_server, "/api/tracks?domain=maritime&limit=5000")["tracks"]
        if 55.0 < t["lat"] < 59.0 and 15.0 < t["lon"] < 22.0
    )
    hit = page.evaluate(
        """([subject, lon, lat]) => {
          const p = window.__picket;
          p.map.jumpTo({center: [lon, lat], zoom: 9});
          return new Promise((done) => setTimeout(() => {
            const xy = p.map.project([lon, lat]);
            const vessels = p.store.pools.filter((q) => q.cls === 1).map((q) => 'tracks-' + q.key);
            const info = p.overlay.pickObject({x: xy.x, y: xy.y, radius: 3, layerIds: vessels});
            if (!info) return done(null);
            const id = p.pickedTrackId(info, p.store);
            done(p.store.meta.get(id).subject);
          }, 1500));
        }""",
        [track["subject"], track["lon"], track["lat"]],
    )
    shot(page, "web-vessel-zoom")
    assert hit == track["subject"]


def test_point_sprites_draw_what_the_icon_layer_draws(page: Any, demo_server: Any) -> None:
    """picket's track layer (a point sprite per track, the symbol turned in the fragment shader)
    against deck.gl's IconLayer as the reference, on the same frame: the same symbols, turned
    by course, at the same places and in the same colours, pixel by pixel."""
    for k in ("alerts", "gnss", "zones", "infrastructure"):
        page.uncheck(f"input[data-layer={k}]")
    r = page.evaluate(
        """async () => {
          const p = window.__picket;
          const grab = (symbols) => {
            p.state.symbols = symbols;
            const gl = p.drawNow();
            const px = new Uint8Array(gl.drawingBufferWidth * gl.drawingBufferHeight * 4);
            gl.readPixels(0, 0, gl.drawingBufferWidth, gl.drawingBufferHeight, gl.RGBA,
                          gl.UNSIGNED_BYTE, px);
            return px;
          };
          grab("icons");
          await new Promise((done) => setTimeout(done, 1500));  // the IconLayer's atlas is up
          const icons = grab("icons");  // one task: no frame is applied between the two
          const points = grab("points");
          let both = 0, either = 0, rgb = 0;
          for (let i = 0; i < icons.length; i += 4) {
            const a = icons[i + 3] > 32, b = points[i + 3] > 32;  // stale tracks are faded
            if (a || b) either++;
            if (a && b) {
              both++;
              for (let c = 0; c < 3; c++) rgb += Math.abs(icons[i + c] - points[i + c]);
            }
          }
          return {both, either, rgb: rgb / Math.max(3 * both, 1), tracks: p.store.count};
        }"""
    )
    assert r["tracks"] > 100 and r["either"] > 20 * r["tracks"], r  # symbols, not specks
    assert r["both"] / r["either"] > 0.9, r
    assert r["rgb"] < 12, r  # mean colour step per channel where both drew


def test_layer_toggle_hides_a_domain(page: Any, demo_server: Any) -> None:
    layer_ids = "() => window.__picket.overlay._deck.props.layers.map(l => l.id)"
    vessels = f"({layer_ids})().some(i => i.startsWith('tracks-vessels-'))"
    page.wait_for_function(f"() => {vessels}")
    page.uncheck("input[data-layer=vessels]")
    page.wait_for_function(f"() => !{vessels}")
    ids = page.evaluate(layer_ids)
    assert any(i.startswith("tracks-aircraft-") for i in ids)
    assert "gnss" in ids and "infrastructure" in ids
    # the choice is kept for the next visit
    stored = json.loads(page.evaluate("() => localStorage.getItem('picket.layers')"))
    assert stored["vessels"] is False and stored["aircraft"] is True


def test_click_on_alert_flies_to_it_and_opens_evidence(page: Any, demo_server: Any) -> None:
    alerts = get_json(demo_server, "/api/alerts?kind=maritime.anchor_drag")["alerts"]
    assert alerts, "the demo's anchor-drag incident raised no alert"
    a = alerts[0]
    page.click(f"li.alert[data-alert-id='{a['id']}']")
    detail = page.wait_for_selector(f"[data-testid=alert-detail][data-alert-id='{a['id']}']")
    page.wait_for_function("() => !window.__picket.map.isMoving()", timeout=15000)
    page.wait_for_timeout(300)
    shot(page, "web-alert-evidence")
    text = detail.inner_text()
    assert a["summary"] in text
    # every key is there, in words or under "raw data" (folded: its text, not its rendering)
    evidence = page.text_content("[data-testid=evidence]")
    for key in a["evidence"]:
        assert key in evidence
    infra = a["evidence"].get("infrastructure")
    if isinstance(infra, dict) and infra.get("name"):
        assert str(infra["name"]) in evidence
    centre = page.evaluate("() => window.__picket.map.getCenter().toArray()")
    assert abs(centre[0] - a["lon"]) < 0.01 and abs(centre[1] - a["lat"]) < 0.01
    assert page.evaluate("() => window.__picket.map.getZoom()") >= 7.5


@pytest.mark.usefixtures("undo_triage")  # the session's demo: others see it untriaged
def test_triage_persists_across_reload(page: Any, demo_server: Any) -> None:
    a = get_json(demo_server, "/api/alerts?kind=air.emergency")["alerts"][0]
    page.click(f"li.alert[data-alert-id='{a['id']}']")
    page.wait_for_selector("[data-testid=triage] button[data-action=acknowledge]")
    page.click("[data-testid=triage] button[data-action=acknowledge]")
    page.wait_for_selector("[data-testid=triage-state][data-triage=acknowledged]")
    page.click("[data-testid=triage] details.more > summary")  # assign and comment fold away
    page.fill("[data-testid=triage] input[aria-label=assignee]", "watch-officer-2")
    page.click("[data-testid=triage] button[data-action=assign]")
    page.wait_for_selector("[data-testid=triage-state][data-triage=assigned]")

    stored = get_json(demo_server, f"/api/alerts/{a['id']}")
    assert stored["triage"]["state"] == "assigned"
    assert stored["triage"]["assignee"] == "watch-officer-2"
    assert [e["action"] for e in stored["log"]][-2:] == ["acknowledge", "assign"]

    page.reload()
    page.wait_for_selector(f"li.alert[data-alert-id='{a['id']}'] [data-triage=assigned]")
    page.click(f"li.alert[data-alert-id='{a['id']}']")
    page.wait_for_selector("[data-testid=triage-state][data-triage=assigned]")
    log = page.inner_text(".log")
    assert "acknowledge" in log and "assign → watch-officer-2" in log
    shot(page, "web-triage")


def test_track_panel_shows_identity_trail_and_alerts(page: Any, demo_server: Any) -> None:
    a = get_json(demo_server, "/api/alerts?kind=air.emergency")["alerts"][0]
    page.click(f"li.alert[data-alert-id='{a['id']}']")
    # the panel is drawn first from the live picture and again once its stored detail and
    # history arrive; a handle taken before that points at the replaced element
    sel = f"[data-testid=track-detail][data-subject='{a['subject']}'][data-detail=loaded]"
    page.wait_for_selector(sel)
    page.wait_for_function("() => (window.__picket.state.trail || []).length > 10")
    text = page.inner_text(sel)
    one = get_json(demo_server, f"/api/tracks/{a['subject']}")
    assert one["label"] in text and a["kind"] in text
    trail = np.array(page.evaluate("() => window.__picket.state.trail"))
    hist = get_json(demo_server, f"/api/tracks/{a['subject']}/history")["points"]
    # the trail starts at the oldest stored point and ends at the live position
    assert np.allclose(trail[0], [hist[0]["lon"], hist[0]["lat"]], atol=1e-6)
    assert np.allclose(trail[-1], [one["lon"], one["lat"]], atol=1e-4)


def test_replay_window_plays_through_the_track_channel(page: Any, demo_server: Any) -> None:
    live_time = page.evaluate("() => window.__picket.store.time")
    page.select_option("select[aria-label='window length']", "900")
    page.select_option("select[aria-label='replay speed']", "300")
    page.fill("input[aria-label^='replay window start']", "-40")
    page.click("[data-testid=replay]")
    page.wait_for_selector("[data-testid=mode]:has-text('REPLAY')", timeout=15000)
    t = page.evaluate("() => window.__picket.store.time")
    assert live_time - 40 * 60 - 1 <= t <= live_time - 25 * 60 + 1
    # alerts first fired after the picture's time are not in the panel during replay
    cut = page.eval_on_selector_all(
        "li.alert time", "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert all(np.datetime64(x.rstrip("Z")) <= np.datetime64(int(t * 1000) + 1, "ms") for x in cut)
    shot(page, "web-replay")
    page.click("button:has-text('Live')")
    page.wait_for_selector("[data-testid=mode]:has-text('LIVE')", timeout=15000)


def test_frame_parser_reads_the_server_encoder(page: Any, demo_server: Any) -> None:
    """The page's binary parser against picket.serve.frames on random values: a list-id
    frame and a bitmap-id delta whose rows are partly steps from held positions."""
    from picket.serve import frames

    rng = np.random.default_rng(5)
    n = 500
    cols = {
        "id": rng.permutation(np.unique(rng.integers(0, 2**31, 2 * n))[:n]),
        "lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n),
        "alt": rng.uniform(-400, 20000, n), "speed": rng.uniform(0, 300, n),
        "course": rng.uniform(0, 360, n),
    }  # fmt: skip
    cols["alt"][:7] = np.nan
    flags = rng.integers(0, 64, n).astype(np.uint8)
    dense = {**cols, "id": np.arange(n) * 3}  # dense ids: a bitmap
    held = frames.quantise(dense["lat"] - 0.01), frames.quantise(dense["lon"] + 0.01)
    held[0][::5] = frames.HELD_NONE  # every fifth track is new: absolute
    place = frames.place(dense["lat"], dense["lon"], *held)
    for data in (
        frames.encode(frames.DELTA, 77, 1.7e9 + 0.25, cols, flags, np.array([3, 5], np.uint32)),
        frames.encode(frames.DELTA, 78, 1.7e9 + 1.25, dense, flags, placement=place),
    ):
        ref = frames.decode(data)
        got = page.evaluate(
            """(b64) => {
              const bin = atob(b64); const buf = new Uint8Array(bin.length);
              for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
              const f = window.__picket.parseFrame(buf.buffer);
              return {type: f.type, seq: f.seq, time: f.time, id: [...f.id], lat: [...f.lat],
                      lon: [...f.lon], dLat: [...f.dLat], dLon: [...f.dLon], alt: [...f.alt],
                      removed: [...f.removed], flags: [...f.trackFlags]};
            }""",
            base64.b64encode(data).decode(),
        )
        assert (got["type"], got["seq"], got["time"]) == (frames.DELTA, ref.seq, ref.time)
        np.testing.assert_array_equal(got["id"], ref.cols["id"])
        rel = ref.rel
        np.testing.assert_allclose(np.array(got["lat"]) / 1e7, ref.cols["lat"][~rel], atol=1e-9)
        np.testing.assert_allclose(np.array(got["lon"]) / 1e7, ref.cols["lon"][~rel], atol=1e-9)
        np.testing.assert_array_equal(got["dLat"], ref.dlat[rel])
        np.testing.assert_array_equal(got["dLon"], ref.dlon[rel])
        np.testing.assert_array_equal(np.array(got["flags"]) & 0x7F, ref.cols["flags"])
        np.testing.assert_array_equal((np.array(got["flags"]) & 0x80) != 0, rel)
        assert got["removed"] == ref.removed.tolist()
    assert 0 < rel.sum() < n and int.from_bytes(data[28:32], "little") > 0  # a bitmap
    # a header promising one track more than the bytes hold is refused, not misread
    short = bytearray(data)
    short[16:20] = (n + 1).to_bytes(4, "little")
    bad = page.evaluate(
        """(b) => { try { window.__picket.parseFrame(new Uint8Array(b).buffer); return 'parsed'; }
                    catch (e) { return e.message; } }""",
        list(bytes(short)),
    )
    assert bad.startswith("frame length")


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server that wants tokens, with one stored alert and an empty live picture."""
    _need_browser()
    from picket.model.alerts import Alert
    from picket.serve import LiveHub, start_server
    from picket.store.sqlite import Store

    path = tmp_path_factory.mktemp("web-auth") / "picket.sqlite"
    store = Store(path)
    alert = Alert(
        id="a1b2c3d4e5f60718", kind="maritime.drift", severity="critical", time=1.7e9,
        domain="maritime", subject="mmsi:212123000", lat=55.2, lon=14.9,
        summary="drifting across a cable", evidence={"infrastructure": {"name": "c-lion1"}},
        last_time=1.7e9 + 600,
    )  # fmt: skip
    store.upsert_alerts([alert])
    store.close()
    tokens = {"view-tok": ("ann", "viewer"), "op-tok": ("bob", "operator")}
    server = start_server(path, LiveHub(tick_s=0.5), port=0, static_dir=DIST, tokens=tokens)
    server.alert_id = alert.id
    try:
        yield server
    finally:
        server.stop()


def test_token_dialog_and_roles_decide_triage(browser: Any, token_server: Any) -> None:
    """No token: the page asks for one. A viewer sees evidence but no triage buttons; an
    operator triages, recorded under the token's name."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 700})
    pg = ctx.new_page()
    aid = token_server.alert_id
    try:
        pg.goto(f"{token_server.url}/")
        pg.wait_for_selector("#token-dialog[open]")
        pg.fill("#token-dialog input", "view-tok")
        pg.click("#token-dialog button[value=ok]")
        pg.wait_for_selector(f"li.alert[data-alert-id='{aid}']", timeout=30000)
        assert pg.inner_text("#who") == "ann (viewer)"
        pg.click(f"li.alert[data-alert-id='{aid}']")
        pg.wait_for_selector("[data-testid=alert-detail]")
        assert "c-lion1" in pg.inner_text("[data-testid=evidence]")
        assert "Read-only" in pg.inner_text("#alert-detail")  # where the triage buttons would be
        assert pg.query_selector("[data-testid=triage] button") is None

        pg.evaluate("() => localStorage.setItem('picket.token', 'op-tok')")
        pg.reload()
        pg.wait_for_selector(f"li.alert[data-alert-id='{aid}']", timeout=30000)
        assert pg.inner_text("#who") == "bob (operator)"
        pg.click(f"li.alert[data-alert-id='{aid}']")
        pg.click("[data-testid=triage] button[data-action=false_alarm]")
        pg.wait_for_selector("[data-testid=triage-state][data-triage=false_alarm]")
        assert "by bob" in pg.inner_text("[data-testid=triage-state]")
        shot(pg, "web-operator-triage")
    finally:
        ctx.close()


def test_an_idle_picture_is_not_redrawn(browser: Any, token_server: Any) -> None:
    """The server sends a frame every tick; frames that change no track redraw nothing, so an
    idle page costs no GPU (each redraw is a whole canvas: on SwiftShader a third of a core,
    which starved the other pages of a test run)."""
    ctx = browser.new_context(viewport={"width": 1100, "height": 700})
    pg = ctx.new_page()
    pg.add_init_script("localStorage.setItem('picket.token', 'view-tok')")
    try:
        pg.goto(f"{token_server.url}/")
        pg.wait_for_function("() => window.__picket.stats.ready && window.__picket.map.loaded()",
                             timeout=30000)  # fmt: skip
        counts = "() => [window.__picket.store.frames, window.__picket.stats.renders]"
        for _ in range(15):  # the start's own redraws (alerts, layers, cells) settle first
            settled = pg.evaluate(counts)[1]
            pg.wait_for_timeout(1000)
            if pg.evaluate(counts)[1] == settled:
                break
        before = pg.evaluate(counts)
        pg.wait_for_timeout(3000)  # six ticks of the hub
        after = pg.evaluate(counts)
        assert after[0] - before[0] >= 3, (before, after)  # the frames kept coming
        assert after[1] == before[1], (before, after)  # and drew nothing
    finally:
        ctx.close()


def test_track_store_applies_server_frames(page: Any) -> None:
    """Keyframe, deltas with position steps, removal, class and identity change, a sequence
    gap (deltas skipped until the next keyframe) and satellite ground tracks across the
    antimeridian, from frames made by the server's encoder, into a fresh TrackStore."""
    from picket.serve import frames

    held: dict[int, tuple[int, int]] = {}

    def frame(ftype: int, seq: int, t: float, rows: list[tuple], removed=(), flags=()) -> str:
        ids, lats, lons = zip(*rows, strict=True)
        n = len(rows)
        cols = {
            "id": np.array(ids), "lat": np.array(lats), "lon": np.array(lons),
            "alt": np.full(n, 1000.0), "speed": np.full(n, 10.0), "course": np.full(n, 90.0),
        }  # fmt: skip
        h = [held.get(i, (frames.HELD_NONE,) * 2) if ftype == frames.DELTA else
             (frames.HELD_NONE,) * 2 for i in ids]  # fmt: skip
        place = frames.place(cols["lat"], cols["lon"], np.array([x[0] for x in h]),
                             np.array([x[1] for x in h]))  # fmt: skip
        for i, a, b in zip(ids, place.qlat.tolist(), place.qlon.tolist(), strict=True):
            held[i] = (a, b)
        fl = np.array(flags or [0] * n, np.uint8)
        data = frames.encode(ftype, seq, t, cols, fl, np.array(removed, np.uint32),
                             placement=place)  # fmt: skip
        return base64.b64encode(data).decode()

    t0 = 1.7e9
    meta = [[1, "icao:4ca7b5", "SAS12", 1], [2, "mmsi:211000001", "NORDIC", 2],
            [3, "track:7", "track:7", 2], [4, "norad:25544", "ISS", 3],
            [5, "rid:DRONE1", "DRONE1", 1]]  # fmt: skip
    key = frame(frames.KEYFRAME, 10, t0,
                [(1, 55.0, 12.0), (2, 56.0, 13.0), (3, 57.0, 14.0), (4, 10.0, 179.5),
                 (5, 54.0, 11.0)], flags=[2, 0x10, 4, 0, 0])  # fmt: skip
    d1 = frame(frames.DELTA, 11, t0 + 20, [(2, 56.5, 13.5), (4, 11.0, -179.5)], removed=[1],
               flags=[0x10, 0])  # fmt: skip
    # the plot track gains an identity (a vessel now), the ship a behaviour alert (suspect)
    d2 = frame(frames.DELTA, 12, t0 + 40, [(2, 56.50012, 13.49994), (3, 57.5, 14.5),
                                          (4, 12.0, -178.9)], flags=[0x31, 0x10, 0])  # fmt: skip
    d3 = frame(frames.DELTA, 14, t0 + 60, [(2, 56.6, 13.6)], flags=[0x31])
    k2 = frame(frames.KEYFRAME, 15, t0 + 80, [(2, 56.7, 13.7)], flags=[0x10])
    got = page.evaluate(
        """([meta, frames]) => {
          const p = window.__picket;
          const s = new p.TrackStore();
          s.addMeta(meta);
          const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
          const out = [];
          for (const f of frames) {
            const ok = s.apply(p.parseFrame(bytes(f)));
            const g = s.groundTracks.get(4);
            out.push({ok, count: s.count, sizes: s.classSizes(), gaps: s.gaps,
                      v2: s.view(2), v3: s.view(3), v1: s.view(1), v5: s.view(5),
                      alpha1: s.view(1) ? s.pools[0].color[3] : null,
                      ground: g ? [...g.path] : [], paths: p.groundPaths(s)});
          }
          return out;
        }""",
        [meta, [key, d1, d2, d3, k2]],
    )
    k, a, b, c, k2r = got
    # keyframe: aircraft (stale: faded), vessel, plot track (non-cooperative), satellite, drone
    assert k["count"] == 5 and k["sizes"] == [1, 1, 1, 1, 0, 1]
    assert k["alpha1"] == 90 and k["v3"]["cls"] == "noncoop" and k["v5"]["cls"] == "drones"
    assert k["v2"]["identity"] == "neutral" and k["v1"]["identity"] == "unknown"
    assert abs(k["v2"]["lat"] - 56.0) < 1e-6 and abs(k["v2"]["course"] - 90.0) < 0.01
    # delta: one moved (a step from the held position), one removed; the satellite crossed
    # the antimeridian (too far for a step: absolute)
    assert a["ok"] and a["count"] == 4 and a["v1"] is None and a["sizes"] == [0, 1, 1, 1, 0, 1]
    assert abs(a["v2"]["lon"] - 13.5) < 1e-6
    assert a["ground"] == [[179.5, 10.0], [-179.5, 11.0]] and a["paths"] == []
    # steps of 1e-6 degree land within half a step of the truth
    assert abs(b["v2"]["lat"] - 56.50012) <= 0.55e-6 and abs(b["v2"]["lon"] - 13.49994) <= 0.55e-6
    assert b["v2"]["identity"] == "suspect" and b["v2"]["flags"] & 1
    # the plot track moves from the non-cooperative to the vessel pool, its position kept
    assert b["sizes"] == [0, 2, 1, 0, 0, 1] and b["v3"]["cls"] == "vessels"
    assert abs(b["v3"]["lat"] - 57.5) < 1e-6
    assert b["paths"] == [[[-179.5, 11.0], [-178.9, 12.0]]]
    # seq 12 -> 14: a gap; the delta's steps are from a missed frame, so it is not applied
    assert (b["gaps"], c["gaps"]) == (0, 1) and not c["ok"]
    assert abs(c["v2"]["lat"] - 56.50012) <= 0.55e-6
    # the next keyframe starts the picture again
    assert k2r["ok"] and k2r["count"] == 1 and abs(k2r["v2"]["lat"] - 56.7) < 1e-6


def test_identity_in_track_panel_and_app6_symbols(page: Any, demo_server: Any) -> None:
    """The track panel names the identity the server gives; the APP-6 option draws every
    track pool from one milsymbol atlas, each symbol code rendered once."""
    a = get_json(demo_server, "/api/alerts?kind=maritime.anchor_drag&status=open")["alerts"]
    a = a or get_json(demo_server, "/api/alerts?kind=air.emergency")["alerts"]
    subject = a[0]["subject"]
    one = get_json(demo_server, f"/api/tracks/{subject}")
    page.click(f"li.alert[data-alert-id='{a[0]['id']}']")
    panel = f"[data-testid=track-detail][data-subject='{subject}'][data-detail=loaded]"
    ident = page.wait_for_selector(f"{panel} [data-testid=identity]")
    assert ident.get_attribute("data-identity") == one["identity"]
    assert one["identity"] in ident.inner_text()
    page.check("input[data-option=app6]")
    page.wait_for_function("() => window.__picket.state.milAtlas.canvas !== null", timeout=30000)
    page.evaluate("() => window.__picket.home()")
    page.wait_for_timeout(1500)
    shot(page, "web-app6-symbols")
    info = page.evaluate(
        """() => {
          const p = window.__picket;
          const m = p.state.milAtlas;
          const layers = p.overlay._deck.props.layers.filter((l) => l.id.startsWith('tracks-'));
          return {pools: p.store.pools.filter((q) => q.size).map((q) => q.key),
                  mapped: Object.keys(m.mapping), renders: m.renders, codes: [...m.rendered.keys()],
                  shared: layers.length > 0
                    && layers.every((l) => l.props.iconMapping === m.mapping),
                  legend: [...document.querySelectorAll('[data-testid=identity-legend] .identity')]
                    .map((e) => e.textContent.trim())};
        }"""
    )
    assert set(info["pools"]) <= set(info["mapped"]) and info["shared"]
    assert info["renders"] == len(info["codes"]) == len(set(info["codes"]))
    assert {"vessels-neutral", "aircraft-unknown"} <= set(info["pools"])
    assert all(len(c) == 15 and c[0] == "S" for c in info["codes"])
    assert info["legend"] == ["unknown", "neutral", "friend", "suspect"]
    page.uncheck("input[data-option=app6]")
    assert not page.errors, page.errors


def test_zone_added_through_the_api_appears_live(page: Any, demo_server: Any) -> None:
    """An operator's new zone reaches the open page over the alert stream (`layers`)."""
    zone = {"type": "Feature", "properties": {"name": "WEB TEST ZONE", "kind": "restricted"},
            "geometry": {"type": "Polygon", "coordinates": [[[18, 56], [19, 56], [19, 57],
                                                             [18, 57], [18, 56]]]}}  # fmt: skip
    req = urllib.request.Request(f"{demo_server.url}/api/layers/zones", method="POST",
                                 data=json.dumps(zone).encode(),
                                 headers={"content-type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        zid = json.loads(r.read())["properties"]["id"]
    page.wait_for_function(
        "(zid) => (window.__picket.state.zones?.features || [])"
        ".some((f) => f.properties.id === zid && f.properties.name === 'WEB TEST ZONE')",
        arg=zid, timeout=15000,
    )  # fmt: skip
    urllib.request.urlopen(urllib.request.Request(f"{demo_server.url}/api/layers/zones/{zid}",
                                                  method="DELETE"), timeout=10).close()  # fmt: skip
    page.wait_for_function(
        "(zid) => !(window.__picket.state.zones?.features || [])"
        ".some((f) => f.properties.id === zid)",
        arg=zid, timeout=15000,
    )  # fmt: skip


# --- the past as it was -------------------------------------------------------------------
def _replay_to(pg: Any, since: float, until: float) -> None:
    """Replay [since, until] through the page's own channel and wait for its last frame."""
    pg.evaluate(
        "([s, u]) => window.__picket.channel.send({type: 'replay', since: s, until: u, "
        "speed: 60})",
        [since, until],
    )  # fmt: skip
    pg.wait_for_function("(u) => window.__picket.store.time === u && "
                         "window.__picket.alertPanel.past !== null", arg=until,
                         timeout=30000)  # fmt: skip
    pg.wait_for_timeout(300)  # the 50 ms render batch


def test_replay_lists_alerts_as_they_were_at_the_picture_time(
    page: Any, demo_server: Any, tmp_path: Path
) -> None:
    """The vessel going dark: while the replayed vessel is still silent its AIS-gap alert is
    open, not the 'closed, reappeared' it ended as; nothing that fired later is listed; the
    GNSS cells are those open then."""
    from picket.model.alerts import iso, parse_time

    gap = next(a for a in get_json(demo_server, "/api/alerts?kind=maritime.ais_gap")["alerts"]
               if a["closed_time"])  # fmt: skip
    t_open, t_close = parse_time(gap["time"]), parse_time(gap["closed_time"])
    assert t_close - t_open > 120, gap
    since, until = t_open + 30, t_open + 90
    _replay_to(page, since, until)
    shot_path = tmp_path / "web-replay-as-of.png"
    page.screenshot(path=str(shot_path))
    row = page.wait_for_selector(f"li.alert[data-alert-id='{gap['id']}']")
    assert "closed" not in (row.get_attribute("class") or "").split()
    assert "closed" not in row.inner_text()
    assert get_json(demo_server, f"/api/alerts/{gap['id']}")["status"] == "closed"  # as it ended
    listed = page.eval_on_selector_all("li.alert", "els => els.map(e => e.dataset.alertId)")
    then = get_json(demo_server, f"/api/alerts?at={iso(until)}&limit=1000")["alerts"]
    assert sorted(listed) == sorted(a["id"] for a in then)
    assert len(then) < len(get_json(demo_server, "/api/alerts?limit=1000")["alerts"])
    cells = page.evaluate("() => (window.__picket.state.gnss?.features || [])"
                          ".map(f => f.properties.alert_id).sort()")  # fmt: skip
    open_gnss = get_json(demo_server, f"/api/layers/gnss?at={iso(until)}")["features"]
    assert cells == sorted(f["properties"]["alert_id"] for f in open_gnss)
    # the evidence panel shows the alert as of then too
    page.click(f"li.alert[data-alert-id='{gap['id']}']")  # rows are redrawn: by selector
    page.wait_for_selector(f"[data-testid=alert-detail][data-alert-id='{gap['id']}']")
    page.wait_for_timeout(500)
    detail = page.inner_text("[data-testid=alert-detail]")
    past = get_json(demo_server, f"/api/alerts/{gap['id']}?at={iso(until)}")
    assert past["status"] == "open" and past["summary"] in detail
    page.click("button:has-text('Live')")
    page.wait_for_selector("[data-testid=mode]:has-text('LIVE')", timeout=15000)
    page.wait_for_function("() => window.__picket.alertPanel.past === null")
    assert shot_path.exists()


@pytest.fixture(scope="module")
def stored_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`picket serve` over a stored run across midnight: one alert the day before, one on
    the picture's day, one vessel track; no pipeline behind the server."""
    _need_browser()
    from picket.cli.serve_cmd import load_stored
    from picket.model.alerts import AlertBook
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key
    from picket.pipeline.runtime import Pipeline
    from picket.serve import LiveHub, start_server
    from picket.sinks.store_sink import StoreSink
    from picket.store.sqlite import Store
    from tests.test_past import Script, sig

    t0 = 1_736_985_000.0  # 2025-01-15T23:50:00Z
    path = tmp_path_factory.mktemp("web-stored") / "picket.sqlite"
    store = Store(path)
    script = {t0 + 300: [sig(t0 + 300, "warning", "drifting before midnight")],
              t0 + 900: [sig(t0 + 900, "critical", "emergency after midnight",
                             kind="air.emergency", subject="icao:4ca7b5")]}  # fmt: skip
    pipe = Pipeline(detectors=[Script(script)], sinks=[StoreSink(store, 30.0)])
    pipe.book = AlertBook(min_update_s=0)
    for k in range(121):  # 23:50 to 00:10, a report every 10 s
        pipe.process(Decoded(Reports.build(
            time=[t0 + 10 * k], domain=Domain.MARITIME, kind=Kind.POSITION,
            subject=[key(Namespace.MMSI, 211000001)], lat=[55.0 + 0.0005 * k], lon=[14.0],
            speed=[3.0], course=[0.0]), []))  # fmt: skip
    pipe.finish()
    store.close()
    hub = LiveHub(tick_s=0.5)
    load_stored(hub, path)
    server = start_server(path, hub, port=0, static_dir=DIST)
    try:
        yield server
    finally:
        server.stop()


def test_stored_run_page_says_so_with_its_time_and_dates(
    browser: Any, stored_server: Any, tmp_path: Path
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    pg = ctx.new_page()
    try:
        pg.goto(f"{stored_server.url}/")
        wait_for_picture(pg)
        pg.wait_for_timeout(300)
        pg.screenshot(path=str(tmp_path / "web-stored-run.png"))
        health = get_json(stored_server, "/api/health")
        assert health["mode"] == "stored" and health["event_time"].startswith("2025-01-16T00:")
        assert pg.inner_text("[data-testid=mode]") == "STORED RUN"
        assert pg.inner_text("[data-testid=picture-time]") == health["event_time"][:19].replace(
            "T", " ") + "Z"  # fmt: skip
        assert pg.evaluate("() => window.__picket.store.count") == health["tracks"] == 1
        # the page counts what the server counts, as of the same time
        count = pg.inner_text("#alerts .count")
        assert count == f"2 ({health['alerts_open']} open)"
        assert get_json(stored_server, "/api/metrics")["alerts_open"] == health["alerts_open"]
        times = dict(pg.eval_on_selector_all(
            "li.alert", "els => els.map(e => [e.querySelector('.kind').textContent, "
            "e.querySelector('time').textContent])"))  # fmt: skip
        assert times == {"maritime.drift": "2025-01-15 23:55:00Z", "air.emergency": "00:05:00Z"}
        assert (tmp_path / "web-stored-run.png").exists()
    finally:
        ctx.close()


def test_the_page_works_under_its_content_security_policy(shared_page: Any, demo_server: Any):
    """Runs last: the shared page has drawn, replayed, triaged and opened panels under the
    server's CSP (no inline script, no framing) without one violation."""
    pg = shared_page
    with urllib.request.urlopen(f"{demo_server.url}/", timeout=10) as r:
        csp = r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    pg.evaluate("() => window.__picket.home()")
    pg.wait_for_timeout(1000)
    assert pg.evaluate("() => window.__csp") == []
    refused = [m for m in pg.console if "Content Security Policy" in m or "Refused to" in m]
    assert refused == []
    assert pg.evaluate("() => window.__picket.store.count") > 0
    # and the watch sees a violation when there is one: an image from elsewhere is refused
    pg.evaluate("() => { new Image().src = 'https://csp-probe.invalid/x.png'; }")
    pg.wait_for_function("() => window.__csp.some((v) => v.startsWith('img-src'))",
                         timeout=5000)  # fmt: skip


def test_the_page_comes_back_after_the_alert_stream_cap(browser: Any, tmp_path: Path) -> None:
    """Over the SSE cap the server answers 503 (Retry-After: 5), which browsers do not retry
    by themselves: the page tries again and goes live once a slot is free."""
    import socket

    from picket.serve import LiveHub, start_server
    from picket.store.sqlite import Store
    from tests.test_serve_frames import picture

    Store(tmp_path / "picket.sqlite").close()
    hub = LiveHub(tick_s=0.5)
    hub.set_picture(picture(5))
    server = start_server(tmp_path / "picket.sqlite", hub, port=0, static_dir=DIST, max_sse=1)
    holder = socket.create_connection(("127.0.0.1", server.port))
    holder.sendall(b"GET /api/alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert holder.recv(12) == b"HTTP/1.1 200"
    ctx = browser.new_context(viewport={"width": 1280, "height": 820})
    pg = ctx.new_page()
    try:
        pg.goto(f"{server.url}/")
        pg.wait_for_function("() => window.__picket && window.__picket.store.count === 5",
                             timeout=30000)  # fmt: skip
        pg.wait_for_timeout(1500)
        assert pg.evaluate("() => window.__picket.alertPanel.streamState") == "reconnecting"
        holder.close()  # the slot comes free
        pg.wait_for_function("() => window.__picket.alertPanel.streamState === 'live'",
                             timeout=15000)  # fmt: skip
    finally:
        holder.close()
        ctx.close()
        server.stop()
