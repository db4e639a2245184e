"""The server on a real socket: REST filters, auth and roles, limits, SSE resume, WebSocket.

The picture is synthetic with known truth: two vessels and an aircraft at
known positions, driven through the real `Pipeline` with `LiveSink` and the
store sink, so what the API answers can be checked against what went in.
"""

import json
import time

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from picket.model.alerts import Alert
from picket.model.decoded import Decoded, Static
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, LiveSink, frames, start_server
from picket.sinks.store_sink import StoreSink
from picket.store.sqlite import Store

T0 = 1_736_935_200.0  # 2025-01-15T10:00:00Z
A, B = key(Namespace.MMSI, 211000001), key(Namespace.MMSI, 211000002)
C = key(Namespace.ICAO, 0x4CA7B5)
VIEWER, OPERATOR = "viewer-token-0123456789", "operator-token-0123456789"


def batch(t, lat_a=55.0):
    n = 3
    return Reports.build(
        time=np.full(n, t), domain=[Domain.MARITIME, Domain.MARITIME, Domain.AIR],
        kind=np.full(n, Kind.POSITION), subject=[A, B, C], lat=[lat_a, 57.0, 55.5],
        lon=[14.0, 19.0, 13.0], alt=[np.nan, np.nan, 10000.0], speed=[5.0, 6.0, 220.0],
        course=[90.0, 180.0, 270.0],
    )  # fmt: skip


def alert(i, kind, sev, subject, t, lat, lon):
    return Alert(id=f"a{i:015d}", kind=kind, severity=sev, time=t, domain=kind.split(".")[0],
                 subject=subject, lat=lat, lon=lon, summary=f"alert {i}", evidence={"i": i},
                 last_time=t)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    store = Store(d / "picket.sqlite")
    hub = LiveHub(tick_s=0.05)
    live = LiveSink(hub, min_interval_s=0.0)
    pipe = Pipeline(detectors=[], sinks=[live, StoreSink(store, 30.0)])
    for k in range(7):  # 0..60 s
        st = [Static(T0, A, {"name": "NORDIC STAR"})] if k == 0 else []
        pipe.process(Decoded(batch(T0 + 10 * k, 55.0 + 0.001 * k), st))
    alerts = [
        alert(1, "maritime.ais_gap", "warning", "mmsi:211000001", T0 + 10, 55.0, 14.0),
        alert(2, "maritime.loitering", "info", "mmsi:211000002", T0 + 20, 57.0, 19.0),
        alert(3, "air.emergency", "critical", "icao:4ca7b5", T0 + 30, 55.5, 13.0),
    ]
    store.upsert_alerts(alerts)
    live.emit([("open", a) for a in alerts])
    srv = start_server(store, hub, port=0, tokens={VIEWER: ("vera", "viewer"),
                                                   OPERATOR: ("olga", "operator")})  # fmt: skip
    yield {"srv": srv, "hub": hub, "pipe": pipe, "store": store, "live": live, "dir": d}
    srv.stop()
    store.close()


def get(w, path, token=VIEWER, **params):
    h = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.get(w["srv"].url + path, params=params, headers=h, timeout=5)


def test_tracks_filter_by_domain_area_and_time(world):
    r = get(world, "/api/tracks").json()
    assert r["total"] == 3
    mar = get(world, "/api/tracks", domain="maritime").json()["tracks"]
    assert {t["subject"] for t in mar} == {"mmsi:211000001", "mmsi:211000002"}
    box = get(world, "/api/tracks", bbox="13.5,54.5,14.5,55.5").json()["tracks"]
    assert [t["subject"] for t in box] == ["mmsi:211000001"]
    a = box[0]
    assert a["label"] == "NORDIC STAR" and a["lat"] == pytest.approx(55.006)
    assert a["time"] == "2025-01-15T10:01:00.000Z" and a["alerts"] == ["a000000000000001"]
    assert get(world, "/api/tracks", since=T0 + 61).json()["total"] == 0
    assert get(world, "/api/tracks", bbox="1,2,3").status_code == 400
    page = get(world, "/api/tracks", limit=2).json()
    assert len(page["tracks"]) == 2 and page["next_offset"] == 2


def test_track_detail_and_stored_history(world):
    d = get(world, "/api/tracks/mmsi:211000001").json()
    assert d["static"]["name"] == "NORDIC STAR"
    assert [p["lat"] for p in d["history"]] == pytest.approx([55.0 + 0.001 * k for k in range(7)])
    h = get(world, "/api/tracks/mmsi:211000001/history").json()["points"]
    assert [p["time"][11:19] for p in h] == ["10:00:00", "10:00:30", "10:01:00"]  # 30 s steps
    assert get(world, "/api/tracks/mmsi:999999999").status_code == 404


def test_alert_filters_and_paging(world):
    r = get(world, "/api/alerts").json()["alerts"]
    assert [a["id"][-1] for a in r] == ["3", "2", "1"]  # newest first
    assert [a["id"][-1] for a in get(world, "/api/alerts", kind="maritime").json()["alerts"]] == [
        "2", "1"]  # fmt: skip
    assert [a["kind"] for a in get(world, "/api/alerts", severity="critical").json()["alerts"]] == [
        "air.emergency"]  # fmt: skip
    assert len(get(world, "/api/alerts", bbox="18,56,20,58").json()["alerts"]) == 1
    p = get(world, "/api/alerts", limit=2).json()
    assert len(p["alerts"]) == 2 and p["next_offset"] == 2
    assert len(get(world, "/api/alerts", limit=2, offset=2).json()["alerts"]) == 1
    assert get(world, "/api/alerts", since="not a time").status_code == 400


def test_auth_roles(world):
    assert get(world, "/api/health", token=None).status_code == 401
    assert get(world, "/api/health", token="wrong-token-0123456789").status_code == 401
    h = get(world, "/api/health").json()
    assert (h["role"], h["who"]) == ("viewer", "vera")
    url = world["srv"].url + "/api/alerts/a000000000000002/triage"
    body = {"action": "acknowledge"}
    r = httpx.post(url, json=body, headers={"authorization": f"Bearer {VIEWER}"})
    assert r.status_code == 403
    assert world["store"].triage_log("a000000000000002") == []
    r = httpx.post(url, json={"action": "assign", "assignee": "bob"},
                   headers={"authorization": f"Bearer {OPERATOR}"})  # fmt: skip
    assert r.status_code == 200
    tri = r.json()["triage"]
    assert (tri["state"], tri["assignee"], tri["who"]) == ("assigned", "bob", "olga")
    log = world["store"].triage_log("a000000000000002")
    assert [(e["who"], e["action"]) for e in log] == [("olga", "assign:bob")]
    assert get(world, "/api/alerts/a000000000000002").json()["triage"]["state"] == "assigned"
    bad = httpx.post(
        url, json={"action": "explode"}, headers={"authorization": f"Bearer {OPERATOR}"}
    )
    assert bad.status_code == 422
    missing = httpx.post(url.replace("0002", "0009"), json=body,
                         headers={"authorization": f"Bearer {OPERATOR}"})  # fmt: skip
    assert missing.status_code == 404


def test_limits_and_closed_cors(world):
    url = world["srv"].url + "/api/alerts/a000000000000001/triage"
    big = {"action": "comment", "comment": "x" * 70_000}
    r = httpx.post(url, json=big, headers={"authorization": f"Bearer {OPERATOR}"})
    assert r.status_code == 413
    long = {"action": "comment", "comment": "x" * 5000}
    r = httpx.post(url, json=long, headers={"authorization": f"Bearer {OPERATOR}"})
    assert r.status_code == 422
    r = httpx.get(world["srv"].url + "/api/health", headers={
        "origin": "http://evil.example", "authorization": f"Bearer {VIEWER}"})  # fmt: skip
    assert "access-control-allow-origin" not in r.headers
    with pytest.raises(ValueError):
        start_server(None, LiveHub(), host="0.0.0.0", port=0)


def test_static_files_or_a_not_built_page(tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<html>picket picture</html>")
    for sdir, expect in ((tmp_path / "missing", "not built"), (dist, "picket picture")):
        srv = start_server(None, LiveHub(), port=0, static_dir=sdir)
        try:
            r = httpx.get(srv.url + "/", timeout=5)
            assert r.status_code == 200 and expect in r.text
            assert httpx.get(srv.url + "/api/nothing", timeout=5).status_code == 404
        finally:
            srv.stop()


def read_sse(resp, n, deadline_s=5.0):
    """The next n events (dicts with id/event/data) from an open SSE response."""
    out, cur = [], {}
    t_end = time.monotonic() + deadline_s
    for line in resp.iter_lines():
        if time.monotonic() > t_end:
            break
        if line == "":
            if "event" in cur:
                out.append(cur)
                if len(out) == n:
                    return out
            cur = {}
        elif line.startswith(("id:", "event:", "data:")):
            k, _, v = line.partition(":")
            cur[k] = v.strip()
    return out


def test_sse_resume_after_disconnect_loses_no_alert(world):
    url = world["srv"].url + "/api/alerts/stream"
    live, hub = world["live"], world["hub"]
    with httpx.stream("GET", url, params={"token": VIEWER}, timeout=5) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        live.emit([("open", alert(10, "maritime.drift", "info", "mmsi:211000001", T0 + 40,
                                  55.0, 14.0))])  # fmt: skip
        first = read_sse(r, 1)
    assert json.loads(first[0]["data"])["alert"]["id"] == "a000000000000010"
    last_id = first[0]["id"]
    # while disconnected: two alerts and a close
    missed = [alert(11, "maritime.drift", "info", "mmsi:211000002", T0 + 41, 57.0, 19.0),
              alert(12, "air.low_slow", "warning", "icao:4ca7b5", T0 + 42, 55.5, 13.0)]  # fmt: skip
    live.emit([("open", a) for a in missed])
    a10 = alert(10, "maritime.drift", "info", "mmsi:211000001", T0 + 40, 55.0, 14.0)
    a10.status = "closed"
    live.emit([("close", a10)])
    with httpx.stream("GET", url, params={"token": VIEWER},
                      headers={"last-event-id": last_id}, timeout=5) as r:  # fmt: skip
        got = read_sse(r, 3)
    ev = [(json.loads(g["data"])["event"], json.loads(g["data"])["alert"]["id"]) for g in got]
    assert ev == [("open", "a000000000000011"), ("open", "a000000000000012"),
                  ("close", "a000000000000010")]  # fmt: skip
    seqs = [int(g["id"].split(":")[1]) for g in got]
    assert seqs == list(range(int(last_id.split(":")[1]) + 1, seqs[0] + 3))
    assert "a000000000000010" not in hub.open_alerts
    with httpx.stream("GET", url, params={"token": VIEWER, "last_id": "deadbeef:1"},
                      timeout=5) as r:  # fmt: skip
        assert read_sse(r, 1)[0]["event"] == "reset"


def test_triage_is_pushed_to_sse(world):
    url = world["srv"].url + "/api/alerts/stream"
    with httpx.stream("GET", url, params={"token": VIEWER}, timeout=5) as r:
        httpx.post(world["srv"].url + "/api/alerts/a000000000000003/triage",
                   json={"action": "comment", "comment": "seen on radar"},
                   headers={"authorization": f"Bearer {OPERATOR}"})  # fmt: skip
        ev = read_sse(r, 1)[0]
    d = json.loads(ev["data"])
    assert ev["event"] == "triage" and d["alert_id"] == "a000000000000003"
    assert (d["who"], d["comment"], d["alert"]["triage"]["comments"]) == (
        "olga",
        "seen on radar",
        1,
    )


def ws_url(world, **q):
    qs = "&".join(f"{k}={v}" for k, v in {"token": VIEWER, **q}.items())
    return world["srv"].url.replace("http", "ws") + "/api/ws/tracks?" + qs


def recv_until_binary(ws, metas, client=None):
    while True:
        m = ws.recv(timeout=5)
        if isinstance(m, bytes):
            return client.apply(m) if client is not None else frames.decode(m)
        d = json.loads(m)
        if d["type"] == "meta":
            metas.update({row[0]: row for row in d["tracks"]})


def test_websocket_keyframe_delta_and_view(world):
    metas = {}
    held = frames.ClientPicture()  # deltas carry positions as steps from what it holds
    with connect(ws_url(world)) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        kf = recv_until_binary(ws, metas, held)
        assert kf.ftype == frames.KEYFRAME and len(kf.cols["id"]) == 3
        subj = {metas[i][1]: j for j, i in enumerate(kf.cols["id"].tolist())}
        assert set(subj) == {"mmsi:211000001", "mmsi:211000002", "icao:4ca7b5"}
        j = subj["icao:4ca7b5"]
        assert kf.cols["lat"][j] == pytest.approx(55.5, abs=1e-7)
        assert kf.cols["alt"][j] == pytest.approx(10000.0, abs=2)
        assert kf.cols["flags"][j] & 1  # the open air.emergency alert
        assert metas[kf.cols["id"][subj["mmsi:211000001"]]][2] == "NORDIC STAR"
        # one vessel moves: the next non-empty delta carries it alone
        world["pipe"].process(Decoded(batch(T0 + 70, 55.007).take(np.array([0])), []))
        for _ in range(50):
            f = recv_until_binary(ws, metas, held)
            if len(f.cols["id"]):
                break
        assert f.ftype == frames.DELTA and [metas[i][1] for i in f.cols["id"]] == [
            "mmsi:211000001"]  # fmt: skip
        assert f.rel.all() and f.cols["lat"][0] == pytest.approx(55.007, abs=0.55e-6)
        assert f.cols["flags"][0] >> 4 == 3  # identity: suspect (its open maritime.ais_gap)
        ws.send(json.dumps({"type": "view", "domain": ["air"]}))
        for _ in range(50):
            f = recv_until_binary(ws, metas, held)
            if f.ftype == frames.KEYFRAME:
                break
        assert [metas[i][1] for i in f.cols["id"]] == ["icao:4ca7b5"]
        ws.send("x" * 5000)
        with pytest.raises(Exception):  # noqa: B017 - closed with 1009 by the server
            for _ in range(100):
                ws.recv(timeout=5)


def test_websocket_replay_from_store(world):
    metas = {}
    with connect(ws_url(world)) as ws:
        ws.send(json.dumps({"type": "replay", "since": T0, "until": T0 + 60, "speed": 600}))
        got = []
        for _ in range(200):
            m = ws.recv(timeout=5)
            if isinstance(m, bytes):
                f = frames.decode(m)
                if f.flags & frames.FLAG_REPLAY:
                    got.append(f)
                    if f.flags & frames.FLAG_REPLAY_END:
                        break
            else:
                d = json.loads(m)
                if d["type"] == "meta":
                    metas.update({row[0]: row for row in d["tracks"]})
        # speed 600 x tick 0.05 s = 30 s steps over 60 s: t0, t0+30, t0+60
        assert [f.time - T0 for f in got] == [0.0, 30.0, 60.0]
        last = got[-1]
        lat = {metas[i][1]: v for i, v in zip(last.cols["id"].tolist(), last.cols["lat"],
                                               strict=True)}  # fmt: skip
        assert lat["mmsi:211000001"] == pytest.approx(55.006, abs=1e-7)
        assert lat["mmsi:211000002"] == pytest.approx(57.0, abs=1e-7)


def test_layers_metrics_and_export(world):
    assert get(world, "/api/layers/zones").json() == {"type": "FeatureCollection", "features": []}
    assert get(world, "/api/layers/nope").status_code == 404
    m = get(world, "/api/metrics").json()
    assert m["tracks"] == 3 and m["reports"] >= 21
    gj = get(world, "/api/export", format="geojson", layers="tracks,alerts").json()
    kinds = sorted(f["properties"]["layer"] for f in gj["features"])
    assert kinds.count("track") == 3 and kinds.count("alert") >= 3
    kml = get(world, "/api/export", format="kml", layers="tracks").text
    assert kml.count("<Placemark>") == 3 and "NORDIC STAR" in kml


def _flight(t0, seconds, icao=0xABCDEF):
    """One aircraft east along 55 N at 200 m/s from 14 E, a report a second (known truth)."""
    for k in range(seconds):
        lon = 14.0 + 200.0 * k / (111_195.0 * np.cos(np.radians(55.0)))
        yield Decoded(Reports.build(time=[t0 + k], domain=Domain.AIR, kind=Kind.POSITION,
                                    subject=[key(Namespace.ICAO, icao)], lat=[55.0], lon=[lon],
                                    alt=[3000.0], speed=[200.0], course=[90.0]), [])  # fmt: skip


def _box(w, s, e, n, name, kind="restricted"):
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Feature", "properties": {"name": name, "kind": kind},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}  # fmt: skip


def test_zone_added_through_the_api_reaches_the_running_detectors(tmp_path):
    """While a paced replay runs, an operator adds a restricted zone around the aircraft:
    `air.airspace_entry` fires for it from the next batch (it flew outside the configured
    zone, so nothing before); the zone is kept in the store directory and pushed to
    clients; viewers get 403."""
    import threading

    from picket.detect.air_rules import AirspaceEntry
    from picket.geo.zones import ZoneSet
    from picket.pipeline.replay import run_stream

    store = Store(tmp_path / "picket.sqlite")
    hub = LiveHub(tick_s=0.05)
    far = ZoneSet.from_features(
        [("EXISTING", "restricted", [[20, 50], [21, 50], [21, 51], [20, 51], [20, 50]], {})]
    )
    pipe = Pipeline(detectors=[AirspaceEntry()], sinks=[StoreSink(store, 30.0)],
                    world=World(zones=far))  # fmt: skip
    pipe.sinks.append(LiveSink(hub, min_interval_s=0.0, pipeline=pipe))
    srv = start_server(store, hub, port=0, tokens={VIEWER: ("vera", "viewer"),
                                                   OPERATOR: ("olga", "operator")})  # fmt: skip
    url = srv.url + "/api/layers/zones"
    op = {"authorization": f"Bearer {OPERATOR}"}
    replay = threading.Thread(target=run_stream, args=(pipe, _flight(T0, 120)),
                              kwargs={"batch_s": 1.0, "speed": 40.0}, daemon=True)  # fmt: skip
    try:
        with httpx.stream("GET", srv.url + "/api/alerts/stream", params={"token": VIEWER},
                          timeout=10) as sse:  # fmt: skip
            replay.start()  # the stream is open: it gets every event from here on
            subj = key(Namespace.ICAO, 0xABCDEF)
            deadline = time.monotonic() + 10
            lon = None
            while time.monotonic() < deadline:  # until the aircraft is past 14.15 E
                pic = hub.current()
                hit = np.flatnonzero(pic["subject"] == subj)
                if len(hit) and (lon := float(pic["lon"][hit[0]])) > 14.15:
                    break
                time.sleep(0.01)
            assert lon is not None and 14.15 < lon < 14.4 and replay.is_alive()
            assert pipe.n_opened == 0  # no zone yet: nothing to enter
            zone = _box(14.1, 54.9, 14.6, 55.1, "TEMP R-1")
            h_view = {"authorization": f"Bearer {VIEWER}"}
            assert httpx.post(url, json=zone, headers=h_view).status_code == 403
            r = httpx.post(url, json=zone, headers=op)
            assert r.status_code == 201
            zid = r.json()["properties"]["id"]
            assert r.json()["properties"]["edited_by"] == "olga"
            got = read_sse(sse, 2, deadline_s=8)
        kinds = [(g["event"], json.loads(g["data"])) for g in got]
        assert kinds[0] == ("layers", {"layer": "zones"})
        ev, data = kinds[1]
        a = data["alert"]
        assert (ev, data["event"], a["kind"], a["subject"]) == (
            "alert", "open", "air.airspace_entry", "icao:abcdef")  # fmt: skip
        assert a["evidence"]["zone"] == {"name": "TEMP R-1", "kind": "restricted"}
        assert 14.15 < a["lon"] < 14.6  # the aircraft inside the new zone, not a prediction
        replay.join(timeout=15)
        kept = json.loads((tmp_path / "zones.edited.geojson").read_text())
        assert [f["properties"]["id"] for f in kept["features"]] == ["z1", zid]
        assert [f["properties"]["name"] for f in kept["features"]] == ["EXISTING", "TEMP R-1"]
        # edit and delete one zone; bad ids and bad shapes are refused
        moved = _box(10.0, 50.0, 11.0, 51.0, "TEMP R-1 moved")
        assert httpx.put(f"{url}/{zid}", json=moved, headers=op).status_code == 200
        names = [f["properties"]["name"] for f in httpx.get(url, headers=op).json()["features"]]
        assert names == ["EXISTING", "TEMP R-1 moved"]
        assert httpx.put(f"{url}/nope", json=moved, headers=op).status_code == 404
        line = {**moved, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}
        assert httpx.post(url, json=line, headers=op).status_code == 422
        assert httpx.delete(f"{url}/{zid}", headers={"authorization": f"Bearer {VIEWER}"}
                            ).status_code == 403  # fmt: skip
        assert httpx.delete(f"{url}/{zid}", headers=op).status_code == 200
        assert [f["properties"]["id"] for f in httpx.get(url, headers=op).json()["features"]] == [
            "z1"]  # fmt: skip
        pipe.process(next(_flight(T0 + 300, 1)))  # the next batch takes the edit
        assert pipe.world.zones.names == ["EXISTING"]
    finally:
        srv.stop()
        store.close()


def test_zone_edits_kept_in_the_store_directory_win_at_the_next_start(tmp_path):
    from picket.geo.zones import ZoneSet
    from picket.model.rejects import Rejects
    from picket.pipeline.assemble import Assembly
    from picket.serve import serve_assembly

    zone = _box(14.1, 54.9, 14.6, 55.1, "KEPT R-2")
    zone["properties"].update(id="r2", edited_by="olga")
    kept = {"type": "FeatureCollection", "features": [zone]}
    (tmp_path / "zones.edited.geojson").write_text(json.dumps(kept))
    configured = ZoneSet.from_features(
        [("CONFIGURED", "restricted", [[20, 50], [21, 50], [21, 51], [20, 51], [20, 50]], {})]
    )
    store = Store(tmp_path / "picket.sqlite")
    pipe = Pipeline(detectors=[], world=World(zones=configured))
    asm = Assembly(pipe, Rejects(), store, pipe.world)
    h = serve_assembly(asm, port=0)
    try:
        assert pipe.world.zones.names == ["KEPT R-2"]  # before the first batch
        got = httpx.get(h.url + "/api/layers/zones", timeout=5).json()["features"]
        assert [(f["properties"]["id"], f["properties"]["edited_by"]) for f in got] == [
            ("r2", "olga")]  # fmt: skip
    finally:
        h.stop()
        store.close()
