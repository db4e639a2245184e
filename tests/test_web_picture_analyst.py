"""The analyst's picture (issue 16) in a real browser against the real demo server: land and sea
at every zoom, names placed without overlap, clusters at the overview, colours by altitude and
ship type, evidence in units and words, layout at 1280x720 and 1920x1080, keyboard triage and
the search box. Screenshots go to test-artifacts/web-*.png.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests import test_web_picture as base
from tests.test_web_picture import CSP_WATCH, get_json, shot, wait_for_picture

# the first browser module's page fixtures (a page of this module's own, in the session's
# browser, on the session's demo server: tests/web_fixtures.py)
shared_page = base.shared_page
page = base.page

pytestmark = pytest.mark.slow

# the page's basemap colours (web/src/basemap.ts)
LAND = (0x2F, 0x3F, 0x4A)
SEA = (0x0A, 0x16, 0x26)

READ_MAP_PIXELS = """async ([lon, lat, zoom]) => {
  const m = window.__picket.map;
  m.jumpTo({center: [lon, lat], zoom});
  await new Promise((done) => m.once('idle', done));
  return await new Promise((done) => {
    m.once('render', () => {
      const c = m.getCanvas();
      const gl = c.getContext('webgl2') || c.getContext('webgl');
      const p = m.project([lon, lat]);
      const r = window.devicePixelRatio;
      const x = Math.round(p.x * r), y = Math.round(gl.drawingBufferHeight - p.y * r);
      const px = new Uint8Array(4 * 49);
      gl.readPixels(x - 3, y - 3, 7, 7, gl.RGBA, gl.UNSIGNED_BYTE, px);
      done(Array.from(px));
    });
    m.triggerRepaint();
  });
}"""


def _surface(rgba: list[int]) -> str:
    """'land' or 'sea' by the majority of the 7x7 block (coast and graticule lines ignored)."""
    px = np.array(rgba, float).reshape(-1, 4)[:, :3]
    d_land = np.abs(px - LAND).sum(axis=1)
    d_sea = np.abs(px - SEA).sum(axis=1)
    land = int(((d_land < 12) & (d_land < d_sea)).sum())
    sea = int(((d_sea < 12) & (d_sea < d_land)).sum())
    return "land" if land > sea else "sea" if sea > land else "unclear"


def test_land_and_sea_at_known_places_across_zooms(page: Any) -> None:
    """Scandinavia, Finland and Jutland are land and the seas around them sea, from the world
    overview to working zooms (1:50m, then 1:10m); before the fix the rings crossing the
    antimeridian flipped the fill in bands and over Sweden."""
    land = {"Jämtland": (15.0, 62.5), "Småland": (14.8, 57.1), "Finland": (26.5, 62.5),
            "Jutland": (9.2, 56.2), "Norway": (9.0, 61.3), "Latvia": (25.5, 56.8)}  # fmt: skip
    sea = {"Baltic Proper": (19.3, 56.2), "Bothnian Sea": (19.8, 61.7),
           "North Sea": (3.5, 56.5), "Norwegian Sea": (3.0, 65.0)}  # fmt: skip
    for box in page.query_selector_all("input[data-layer]"):
        box.uncheck()
    wrong = []
    try:
        for zoom in (2.0, 3.5, 4.9, 6.5, 8.0):
            for want, places in (("land", land), ("sea", sea)):
                for name, (lon, lat) in places.items():
                    got = _surface(page.evaluate(READ_MAP_PIXELS, [lon, lat, zoom]))
                    if got != want:
                        wrong.append(f"{name} at zoom {zoom}: {got}")
        page.evaluate("() => window.__picket.map.jumpTo({center: [15, 60], zoom: 3.3})")
        page.wait_for_timeout(800)
        shot(page, "web-land-overview")
    finally:
        for box in page.query_selector_all("input[data-layer]"):
            box.check()
    assert not wrong, wrong


def _label_boxes(pg: Any) -> list[dict]:
    pg.evaluate("() => window.__picket.placeMapLabels()")
    pg.wait_for_timeout(300)
    return pg.evaluate("() => window.__picket.labelBoxes()")


def _overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    out = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            p, q = a["box"], b["box"]
            if p[0] < q[2] and p[2] > q[0] and p[1] < q[3] and p[3] > q[1]:
                out.append((a["text"], b["text"]))
    return out


def test_places_zones_and_cables_are_named_without_overlap(page: Any, demo_server: Any) -> None:
    # the server's towns arrive after the first placement: measure once they are drawn
    page.wait_for_function(
        "() => window.__picket.overlay._deck.layerManager.getLayers()"
        ".some((l) => l.id === 'map-labels' && l.props.data.length > 0)", timeout=30_000)
    page.evaluate("() => window.__picket.placeMapLabels()")
    page.wait_for_timeout(1000)
    boxes = _label_boxes(page)
    texts = {b["text"] for b in boxes}
    kinds = {b["kind"] for b in boxes}
    assert {"Stockholm", "Helsinki", "Riga"} <= texts, texts
    assert "country" in kinds and ("capital" in kinds or "city" in kinds), kinds
    infra = get_json(demo_server, "/api/layers/infrastructure")["features"]
    cables = {f["properties"]["name"] for f in infra}
    assert texts & cables, f"no cable or pipeline named among {sorted(texts)}"
    assert not _overlaps(boxes), _overlaps(boxes)
    # the names are on the map: the label layer holds exactly the placed ones
    drawn = page.evaluate(
        "() => window.__picket.overlay._deck.layerManager.getLayers()"
        ".filter((l) => l.id === 'map-labels').map((l) => l.props.data.length)"
    )
    assert drawn == [len(boxes)]
    shot(page, "web-labels-overview")
    # closer in, smaller ports appear, still without overlap, and zones are named
    page.evaluate("() => window.__picket.map.jumpTo({center: [25.6, 59.9], zoom: 7.6})")
    page.wait_for_timeout(800)
    near = _label_boxes(page)
    near_texts = {b["text"] for b in near}
    zone_fc = get_json(demo_server, "/api/layers/zones")["features"]
    zones = {f["properties"].get("name") for f in zone_fc}
    assert near_texts & {"Porvoo", "Kotka", "Hamina", "Muuga", "Loviisa"}, near_texts
    assert near_texts & zones, near_texts
    assert not _overlaps(near), _overlaps(near)
    shot(page, "web-labels-gulf-of-finland")


@pytest.fixture
def synthetic_page(browser: Any, demo_server: Any) -> Iterator[Any]:
    """20,000 synthetic tracks, closed after its one test: left open, its page kept the
    software GPU busy under every later test of the module (their setups grew to 2 min)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(f"{demo_server.url}/?synthetic=20000")
    pg.wait_for_function("() => window.__picket && window.__picket.store.count >= 20000",
                         timeout=60000)
    try:
        yield pg
    finally:
        ctx.close()


def test_20000_tracks_cluster_with_counts_at_the_overview(synthetic_page: Any) -> None:
    pg = synthetic_page
    pg.evaluate("() => window.__picket.map.jumpTo({center: [20.5, 57.2], zoom: 4.9})")
    pg.wait_for_timeout(2500)
    got = pg.evaluate(
        """() => {
          const p = window.__picket, c = p.clusters();
          const flagged = p.store.flagged(1 | 8).length;
          const layers = p.overlay._deck.layerManager.getLayers().map((l) => l.id);
          if (!c) return {none: true, layers};
          let total = 0, many = 0;
          for (let i = 0; i < c.n; i++) { total += c.count[i]; if (c.count[i] > 1) many++; }
          return {n: c.n, total, many, flagged, count: p.store.count, layers};
        }"""
    )
    assert "none" not in got, got
    # every unflagged track is in exactly one cluster; far fewer symbols than tracks
    assert got["total"] + got["flagged"] == got["count"]
    assert got["n"] < got["count"] / 10 and got["many"] > 0
    assert "clusters" in got["layers"] and "cluster-counts" in got["layers"]
    assert not any(x.startswith("tracks-") for x in got["layers"])
    shot(pg, "web-clusters-20000")
    # close in, each track is its own symbol again
    pg.evaluate("() => window.__picket.map.jumpTo({center: [20.5, 57.2], zoom: 8.5})")
    pg.wait_for_timeout(2000)
    layers = pg.evaluate(
        "() => [window.__picket.clusters(), "
        "window.__picket.overlay._deck.layerManager.getLayers().map((l) => l.id)]"
    )
    assert layers[0] is None and any(x.startswith("tracks-") for x in layers[1])
    assert not pg.errors, pg.errors


def test_colours_by_altitude_and_ship_type_with_a_legend(page: Any) -> None:
    """Aircraft: warm near the ground, violet at cruise (the legend's ramp); vessels by their
    ship-type class from the meta's category, frames made by the server's encoder."""
    from picket.serve import frames

    n = 4
    cols = {"id": np.arange(1, n + 1), "lat": np.full(n, 56.0), "lon": np.linspace(12, 13, n),
            "alt": np.array([150.0, 11_000.0, 0.0, 0.0]), "speed": np.full(n, 100.0),
            "course": np.full(n, 90.0)}  # fmt: skip
    place = frames.place(cols["lat"], cols["lon"])
    data = frames.encode(frames.KEYFRAME, 1, 1.7e9, cols, np.zeros(n, np.uint8),
                         np.zeros(0, np.uint32), placement=place)  # fmt: skip
    meta = [[1, "icao:000001", "LOW", 1], [2, "icao:000002", "HIGH", 1],
            [3, "mmsi:211000001", "TANKER", 2, "ship:tanker"],
            [4, "mmsi:211000002", "CARGO", 2, "ship:cargo"]]  # fmt: skip
    got = page.evaluate(
        """([meta, b64]) => {
          const p = window.__picket, s = new p.TrackStore();
          s.addMeta(meta);
          s.apply(p.parseFrame(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer));
          const colour = (id) => {
            const pool = s.pools.find((q) => q.ids.subarray(0, q.size).includes(id));
            const k = [...pool.ids.subarray(0, pool.size)].indexOf(id);
            return [...pool.color.subarray(4 * k, 4 * k + 3)];
          };
          const cls = p.colours.SHIP_CLASSES;
          return {low: colour(1), high: colour(2), tanker: colour(3), cargo: colour(4),
                  tankerRgb: p.colours.SHIP_RGB[cls.indexOf('tanker')],
                  cargoRgb: p.colours.SHIP_RGB[cls.indexOf('cargo')]};
        }""",
        [meta, base64.b64encode(data).decode()],
    )
    low, high = got["low"], got["high"]
    assert low[0] > low[2], f"a low aircraft is warm (red over blue): {low}"
    assert high[2] > high[1], f"an aircraft at FL360 is violet (blue over green): {high}"
    assert got["tanker"] == got["tankerRgb"] and got["cargo"] == got["cargoRgb"]
    assert got["tanker"] != got["cargo"]
    page.evaluate("() => window.__picket.togglePanel('layers', false)")
    legend = page.inner_text("[data-testid=colour-legend]")
    assert "altitude" in legend and "tanker" in legend and "cargo" in legend
    shot(page, "web-colour-legend")


def _open_alert(pg: Any, alert: dict) -> str:
    pg.evaluate("(id) => document.querySelector(`[data-alert-id='${id}']`).click()", alert["id"])
    pg.wait_for_selector(f"[data-testid=alert-detail][data-alert-id='{alert['id']}']")
    pg.wait_for_timeout(400)
    return pg.inner_text("[data-testid=evidence-human]")


def test_evidence_reads_in_units_and_words(page: Any, demo_server: Any) -> None:
    alerts = get_json(demo_server, "/api/alerts?limit=1000")["alerts"]
    by_kind = {a["kind"]: a for a in alerts}
    page.evaluate("() => window.__picket.setUnits('nautical')")
    drift = by_kind.get("maritime.anchor_drag") or by_kind["maritime.drift"]
    text = _open_alert(page, drift)
    ev = drift["evidence"]
    kn = f"{ev['speed_kn']:.1f} kn"
    lo = f"{ev['thresholds']['min_speed_kn']:.1f} kn"
    assert kn in text and lo in text, text  # "2.6 kn, within 1.0 kn–7.0 kn"
    assert ev["infrastructure"]["name"] in text and "away" in text
    assert "2025-" in text and "Z" in text  # times with their dates
    assert "speed_kn" not in text and "thresholds" not in text
    # the triage buttons are in view without scrolling at 1280 wide
    btn = page.query_selector("[data-testid=triage] button[data-action=acknowledge]").bounding_box()
    vp = page.viewport_size
    assert btn and btn["y"] + btn["height"] <= vp["height"]
    assert btn["x"] + btn["width"] <= vp["width"]
    shot(page, "web-evidence-human")
    # metric on request
    page.evaluate("() => window.__picket.setUnits('metric')")
    page.wait_for_timeout(300)
    metric = page.inner_text("[data-testid=evidence-human]")
    assert "km/h" in metric and " kn" not in metric
    page.evaluate("() => window.__picket.setUnits('nautical')")
    # codes named
    emergency = by_kind.get("air.emergency")
    if emergency:
        text = _open_alert(page, emergency)
        assert "7700 — general emergency" in text and "general emergency (1)" in text, text
    gap = by_kind.get("maritime.ais_gap")
    if gap:
        text = _open_alert(page, gap)
        assert "min, over" in text, text  # "45 min, over 10 min"


def test_track_panel_closes_for_an_alert_without_a_track(page: Any, demo_server: Any) -> None:
    alerts = get_json(demo_server, "/api/alerts?limit=1000")["alerts"]
    held = set(page.evaluate("() => [...window.__picket.store.bySubject.keys()]"))
    with_track = next(a for a in alerts
                      if a["subject"] in held and a["subject"].startswith("mmsi:"))
    without = next(a for a in alerts if a["subject"] not in held)
    _open_alert(page, with_track)
    page.wait_for_selector(f"[data-testid=track-detail][data-subject='{with_track['subject']}']")
    _open_alert(page, without)
    page.wait_for_timeout(300)
    assert page.query_selector("[data-testid=track-detail]") is None
    assert page.evaluate("() => window.__picket.state.selectedTrack") is None


@pytest.mark.usefixtures("undo_triage")  # the session's demo: others see it untriaged
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_layout_keyboard_triage_and_help(browser: Any, demo_server: Any, size: tuple) -> None:
    w, hgt = size
    ctx = browser.new_context(viewport={"width": w, "height": hgt})
    pg = ctx.new_page()
    pg.add_init_script(CSP_WATCH)
    try:
        pg.goto(f"{demo_server.url}/")
        wait_for_picture(pg)

        def panels() -> float:
            return pg.evaluate(
                """() => ['layers', 'side'].map((id) => document.getElementById(id))
                    .reduce((s, el) => s + el.getBoundingClientRect().width, 0)"""
            ) / w

        assert panels() < 0.45
        pg.evaluate("() => window.__picket.togglePanel('layers', false)")
        assert panels() < 0.45, "both panels open take under 45% of the width"
        shot(pg, f"web-layout-{w}")
        # ']' folds the alert panel away and back
        pg.keyboard.press("]")
        assert pg.evaluate("() => document.getElementById('side').classList.contains('collapsed')")
        pg.keyboard.press("]")
        # '?' shows the shortcuts
        pg.keyboard.press("?")
        assert pg.is_visible("[data-testid=help]")
        assert "acknowledge" in pg.inner_text("[data-testid=help]")
        pg.keyboard.press("Escape")
        assert not pg.is_visible("[data-testid=help]")
        if w != 1920:
            return
        # 'j' opens the first alert, 'a' acknowledges it: the server has it
        pg.keyboard.press("j")
        pg.wait_for_selector("[data-testid=alert-detail]")
        aid = pg.get_attribute("[data-testid=alert-detail]", "data-alert-id")
        pg.keyboard.press("j")
        pg.wait_for_function(
            "(id) => document.querySelector('[data-testid=alert-detail]')?.dataset.alertId !== id",
            arg=aid,
        )
        aid = pg.get_attribute("[data-testid=alert-detail]", "data-alert-id")
        pg.keyboard.press("a")
        pg.wait_for_selector("[data-testid=triage-state][data-triage=acknowledged]")
        stored = get_json(demo_server, f"/api/alerts/{aid}")
        assert stored["triage"]["state"] == "acknowledged"
        shot(pg, "web-keyboard-triage")
    finally:
        ctx.close()


def test_search_box_finds_a_vessel_by_name_and_mmsi_and_flies_to_it(page: Any) -> None:
    target = page.evaluate(
        """() => {
          const p = window.__picket;
          for (const [id, m] of p.store.meta) {
            const v = p.store.view(id);
            if (v && m.subject.startsWith('mmsi:') && m.label !== m.subject && m.label.length > 4) {
              return {subject: m.subject, label: m.label, lat: v.lat, lon: v.lon};
            }
          }
          return null;
        }"""
    )
    assert target, "the demo has a named vessel"
    for query in (target["label"].lower(), target["subject"].split(":")[1]):
        page.keyboard.press("Escape")
        page.evaluate("() => document.activeElement?.blur()")
        page.keyboard.press("/")  # the shortcut focuses the box
        assert page.evaluate("() => document.activeElement?.dataset.testid") == "search"
        page.fill("[data-testid=search]", query)
        page.wait_for_selector(f"[data-testid=search-hits] li[data-subject='{target['subject']}']")
        shot(page, "web-search")
        page.click(f"[data-testid=search-hits] li[data-subject='{target['subject']}']")
        page.wait_for_selector(f"[data-testid=track-detail][data-subject='{target['subject']}']")
        page.wait_for_timeout(300)
        page.wait_for_function("() => !window.__picket.map.isMoving()", timeout=15000)
        c = page.evaluate("() => window.__picket.map.getCenter()")
        assert abs(c["lat"] - target["lat"]) < 0.2 and abs(c["lng"] - target["lon"]) < 0.3
        assert page.evaluate("() => window.__picket.map.getZoom()") >= 8.9
        page.fill("[data-testid=search]", "")
    page.fill("[data-testid=search]", "zzzz-no-such")
    page.wait_for_selector("[data-testid=search-hits] >> text=no track matches")
    page.keyboard.press("Escape")


def test_vessels_in_the_demo_carry_their_ship_type_class(page: Any, demo_server: Any) -> None:
    """End to end: the static ship type (AIS message 5) reaches the page as the meta's
    category and colours the vessel."""
    vessels = get_json(demo_server, "/api/tracks?domain=maritime&limit=5000")["tracks"]
    typed = [t for t in vessels if isinstance((t.get("static") or {}).get("ship_type"), int)]
    if not typed:  # the list may leave static data out: ask for a few tracks one by one
        typed = [x for x in (get_json(demo_server, f"/api/tracks/{t['subject']}")
                             for t in vessels[:40]) if (x.get("static") or {}).get("ship_type")]
    assert typed, "no vessel in the demo with a ship type"
    from picket.model.codes import ship_class

    want = {t["subject"]: f"ship:{ship_class(t['static']['ship_type'])}" for t in typed}
    got = page.evaluate(
        """(subjects) => {
          const p = window.__picket, out = {};
          for (const s of subjects) {
            const id = p.store.bySubject.get(s);
            const m = id === undefined ? null : p.store.meta.get(id);
            if (m) out[s] = m.category ?? null;
          }
          return out;
        }""",
        list(want),
    )
    assert got, "the page holds none of the typed vessels"
    for subject, cat in got.items():
        if want[subject] != "ship:unknown":
            assert cat == want[subject], (subject, cat, want[subject])


def test_area_alert_names_its_place_and_shows_its_extent(page: Any, demo_server: Any) -> None:
    alerts = get_json(demo_server, "/api/alerts?kind=gnss.interference&limit=100")["alerts"]
    area = next((a for a in alerts if (a["evidence"].get("place") or {}).get("text")), None)
    assert area, "the demo's interference is one area alert with a named place"
    place = area["evidence"]["place"]["text"]
    row = page.inner_text(f"li.alert[data-alert-id='{area['id']}']")
    assert place in row, row  # the list names the place, not a bare H3 id
    text = _open_alert(page, area)
    assert place in text and "H3 cell" in text and "%" in text, text
    page.wait_for_function("() => !window.__picket.map.isMoving()", timeout=15000)
    ext = page.evaluate("() => window.__picket.state.extent")
    bbox = area["evidence"]["extent"]["bbox"]
    assert ext == [[bbox[0], bbox[1]], [bbox[2], bbox[3]]]
    inside = page.evaluate(
        "(b) => { const m = window.__picket.map.getBounds();"
        " return m.contains([b[0], b[1]]) && m.contains([b[2], b[3]]); }", bbox)
    assert inside, "the map shows the whole extent"
    shot(page, "web-area-alert")


@pytest.mark.usefixtures("undo_triage")  # the session's demo: others see it untriaged
def test_incident_card_with_timeline_extent_and_its_own_triage(
    page: Any, demo_server: Any
) -> None:
    incidents = get_json(demo_server, "/api/incidents?limit=50")["incidents"]
    assert incidents, "the demo scripts a cross-domain incident"
    inc = incidents[0]
    page.wait_for_selector(f"li.incident[data-incident-id='{inc['id']}']", timeout=20000)
    card = page.inner_text(f"li.incident[data-incident-id='{inc['id']}']")
    assert " + ".join(inc["domains"]) in card and f"{len(inc['alerts'])} alerts" in card
    page.click(f"li.incident[data-incident-id='{inc['id']}']")
    page.wait_for_selector(f"[data-testid=incident-detail][data-incident-id='{inc['id']}']")
    page.wait_for_function("() => !window.__picket.map.isMoving()", timeout=15000)
    steps = page.query_selector_all("[data-testid=incident-timeline] li")
    assert len(steps) == len(inc["timeline"])
    bbox = inc["extent"]["bbox"]
    assert page.evaluate("() => window.__picket.state.extent") == [[bbox[0], bbox[1]],
                                                                   [bbox[2], bbox[3]]]
    shot(page, "web-incident")
    page.click("[data-testid=incident-triage] button[data-action=acknowledge]")
    page.wait_for_selector("[data-testid=incident-triage-state][data-triage=acknowledged]")
    stored = get_json(demo_server, f"/api/incidents/{inc['id']}")
    assert stored["triage"]["state"] == "acknowledged"
    # a timeline step opens its alert
    first = inc["timeline"][0]["alert_id"]
    page.click(f"[data-testid=incident-timeline] li[data-alert-id='{first}']")
    page.wait_for_selector(f"[data-testid=alert-detail][data-alert-id='{first}']")


def test_satellites_over_the_area_and_those_that_saw_an_alert(page: Any, demo_server: Any) -> None:
    sky = get_json(demo_server, "/api/layers/satellites")["features"]
    assert sky, "the demo loads catalogue satellites over the area"
    page.wait_for_function("() => window.__picket.state.sky !== null", timeout=20000)

    def sky_layer() -> dict:
        return page.evaluate(
            """() => {
              const l = window.__picket.overlay._deck.layerManager.getLayers()
                .find((x) => x.id === 'sky');
              if (!l) return null;
              const f = l.props.data.features;
              return {tracks: f.filter((x) => x.properties.part === 'track').length,
                      footprints: f.filter((x) => x.properties.part === 'footprint').length,
                      focused: f.filter((x) => x.properties.focus).length};
            }"""
        )

    page.evaluate("() => window.__picket.drawNow()")
    before = sky_layer()
    n_tracks = sum(f["properties"]["part"] == "track" for f in sky)
    assert before == {"tracks": n_tracks, "footprints": 0, "focused": 0}
    alerts = get_json(demo_server, "/api/alerts?limit=1000")["alerts"]
    seen = None
    for a in alerts[:30]:
        full = get_json(demo_server, f"/api/alerts/{a['id']}")
        over = {o["norad"] for o in full.get("overflights") or []}
        if over & {f["properties"]["norad"] for f in sky}:
            seen = (a, over)
            break
    assert seen, "no alert's place was seen by a satellite of the layer"
    a, over = seen
    _open_alert(page, a)
    page.wait_for_selector("[data-testid=overflights]")
    page.wait_for_function("() => window.__picket.state.skyFocus !== null")
    page.evaluate("() => window.__picket.drawNow()")
    after = sky_layer()
    in_layer = over & {f["properties"]["norad"] for f in sky}
    assert after["footprints"] == sum(
        f["properties"]["part"] == "footprint" and f["properties"]["norad"] in in_layer for f in sky
    )
    assert after["focused"] >= after["footprints"] > 0
    shot(page, "web-satellites")


def test_incidents_in_replay_are_those_there_were_then(page: Any, demo_server: Any) -> None:
    """Replaying to before the demo's incident began: the page asks `/api/incidents?at=T` and
    lists what the server says existed at T (not the incident that came later); live again,
    the incident is back."""
    from picket.model.alerts import iso, parse_time
    from tests.test_web_picture import _replay_to

    inc = get_json(demo_server, "/api/incidents?limit=50")["incidents"][0]
    first = min(parse_time(s["time"]) for s in inc["timeline"])
    since, until = first - 240.0, first - 60.0
    then = get_json(demo_server, f"/api/incidents?at={iso(until)}&limit=200")["incidents"]
    assert inc["id"] not in {i["id"] for i in then}
    _replay_to(page, since, until)
    page.wait_for_function(
        "(u) => window.__picket.incidentPanel.at !== null"
        " && Date.parse(window.__picket.incidentPanel.at) === u * 1000",
        arg=until,
        timeout=15000,
    )
    asked = [u for u in page.requested if "/api/incidents?" in u and "at=" in u]
    assert asked and not any("until=" in u for u in asked)
    listed = page.evaluate("() => window.__picket.incidentPanel.incidents.map((i) => i.id)")
    assert sorted(listed) == sorted(i["id"] for i in then)
    assert page.query_selector(f"li.incident[data-incident-id='{inc['id']}']") is None
    page.click("button:has-text('Live')")
    page.wait_for_selector("[data-testid=mode]:has-text('LIVE')", timeout=15000)
    page.wait_for_selector(f"li.incident[data-incident-id='{inc['id']}']", timeout=20000)


def test_place_names_come_from_the_gazetteer_everywhere(page: Any, demo_server: Any) -> None:
    """Town names are the server's GeoNames gazetteer's for the view (not a Baltic list): the
    page asks /api/layers/places, and far from the Baltic (Tokyo Bay, the Río de la Plata) it
    names what is there; the attribution credits GeoNames."""
    page.evaluate("() => window.__picket.map.jumpTo({center: [139.8, 35.5], zoom: 7})")
    page.wait_for_function(
        "() => window.__picket.state.mapLabels.some((l) => l.text === 'Tokyo')", timeout=15000
    )
    assert page.evaluate("() => window.__picket.placeNames.source") == "gazetteer"
    texts = {b["text"] for b in _label_boxes(page)}
    assert {"Tokyo", "Yokohama"} <= texts, texts
    assert not _overlaps(_label_boxes(page))
    shot(page, "web-labels-tokyo")
    page.evaluate("() => window.__picket.map.jumpTo({center: [-58.2, -34.8], zoom: 6.5})")
    page.wait_for_function(
        "() => window.__picket.state.mapLabels.some((l) => l.text === 'Montevideo')",
        timeout=15000,
    )
    asked = [u for u in page.requested if "/api/layers/places?" in u]
    assert asked and all("bbox=" in u and "zoom=" in u for u in asked)
    attribution = page.inner_text(".maplibregl-ctrl-attrib-inner")
    assert "GeoNames" in attribution, attribution
    page.evaluate("() => window.__picket.home()")
