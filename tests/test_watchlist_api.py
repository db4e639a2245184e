"""Watchlist entries from the page: added over HTTP (operators only), kept in the store,
read by the running detector from its next batch, removed again; a new server over the
same store hands them to its pipeline. Real socket, real pipeline, real store."""

from __future__ import annotations

import httpx
import numpy as np

from picket.detect.watchlist import WatchlistHits
from picket.model.decoded import Decoded, Static
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, LiveSink, start_server
from picket.sinks.jsonl import MemorySink
from picket.sinks.store_sink import StoreSink
from picket.store.sqlite import Store

T0 = 1_736_935_200.0
A, B = key(Namespace.MMSI, 211000001), key(Namespace.MMSI, 211000002)
VIEWER, OPERATOR = "viewer-token-0123456789", "operator-token-0123456789"


def batch(t: float) -> Decoded:
    r = Reports.build(time=np.full(2, t), domain=[Domain.MARITIME] * 2,
                      kind=np.full(2, Kind.POSITION), subject=[A, B], lat=[55.0, 57.0],
                      lon=[14.0, 19.0], speed=[5.0, 6.0], course=[90.0, 180.0])  # fmt: skip
    st = [Static(t, A, {"name": "NORDIC STAR", "ship_type": 80})] if t == T0 else []
    return Decoded(r, st)


def world(store: Store):
    hub = LiveHub(tick_s=0.05)
    mem = MemorySink()
    pipe = Pipeline(detectors=[WatchlistHits()], sinks=[mem, StoreSink(store, 30.0)])
    live = LiveSink(hub, min_interval_s=0.0, pipeline=pipe)
    pipe.sinks.append(live)
    srv = start_server(store, hub, port=0, tokens={VIEWER: ("vera", "viewer"),
                                                   OPERATOR: ("olga", "operator")})  # fmt: skip
    return pipe, mem, srv


def call(srv, method, path, token=OPERATOR, headers=None, **kw):
    h = {"authorization": f"Bearer {token}", **(headers or {})}
    return httpx.request(method, srv.url + path, headers=h, timeout=10, **kw)


def hits(mem: MemorySink) -> dict[str, dict]:
    return {a.subject: a.evidence for a in mem.alerts.values() if a.kind == "watchlist.hit"}


def test_entries_from_the_api_raise_hits_and_persist(tmp_path):
    store = Store(tmp_path / "picket.sqlite")
    pipe, mem, srv = world(store)
    try:
        for k in range(3):
            pipe.process(batch(T0 + 10 * k))
        assert hits(mem) == {}  # nothing listed yet
        body = {"match": "mmsi:211000002", "label": "target", "severity": "critical"}
        assert call(srv, "POST", "/api/watchlist", VIEWER, json=body).status_code == 403
        r = call(srv, "POST", "/api/watchlist", json=body)
        assert r.status_code == 201 and r.json()["who"] == "olga"
        # an identity entry matches a subject whose name arrived before the entry did
        r2 = call(srv, "POST", "/api/watchlist", json={"match": "name:NORDIC*", "label": "n"})
        assert r2.status_code == 201
        bad = call(srv, "POST", "/api/watchlist", json={"match": "ship_type:x-y"})
        assert bad.status_code == 422 and "ship_type" in bad.json()["detail"]
        assert call(srv, "POST", "/api/watchlist", json=[1]).status_code == 422
        pipe.process(batch(T0 + 30))
        got = hits(mem)
        assert set(got) == {"mmsi:211000001", "mmsi:211000002"}
        listed = call(srv, "GET", "/api/watchlist", VIEWER).json()["entries"]
        assert [e["match"] for e in listed] == ["mmsi:211000002", "name:NORDIC*"]
        assert store.watch_entries() == listed
        assert call(srv, "DELETE", f"/api/watchlist/{listed[0]['id']}", VIEWER).status_code == 403
        assert call(srv, "DELETE", f"/api/watchlist/{listed[0]['id']}").status_code == 200
        assert call(srv, "DELETE", f"/api/watchlist/{listed[0]['id']}").status_code == 404
        det = pipe.detectors[0]
        pipe.process(batch(T0 + 40))
        assert B not in {int(k) for k in det.by_subject} and len(det.entries) == 1
    finally:
        srv.stop()
    # a new server (and pipeline) over the same store: the kept entry lists B's neighbour A
    pipe2, mem2, srv2 = world(store)
    try:
        assert [e["match"] for e in call(srv2, "GET", "/api/watchlist").json()["entries"]] == [
            "name:NORDIC*"]
        pipe2.process(batch(T0))
        pipe2.process(batch(T0 + 10))
        assert set(hits(mem2)) == {"mmsi:211000001"}
    finally:
        srv2.stop()
        store.close()


def test_cross_site_requests_cannot_add_or_delete_entries(tmp_path):
    store = Store(tmp_path / "picket.sqlite")
    _, _, srv = world(store)
    try:
        body = {"match": "mmsi:211000002"}
        evil = {"origin": "http://evil.example"}
        r = call(srv, "POST", "/api/watchlist", json=body, headers=evil)
        assert r.status_code == 403
        plain = call(srv, "POST", "/api/watchlist", content=b'{"match": "mmsi:211000002"}',
                     headers={"content-type": "text/plain"})  # fmt: skip
        assert plain.status_code == 415
        assert store.watch_entries() == []
        eid = call(srv, "POST", "/api/watchlist", json=body).json()["id"]
        assert call(srv, "DELETE", f"/api/watchlist/{eid}", headers=evil).status_code == 403
        assert len(store.watch_entries()) == 1
        assert call(srv, "POST", "/api/incidents/inc-x/triage", json={"action": "resolve"},
                    headers=evil).status_code == 403  # fmt: skip
        assert call(srv, "GET", "/api/incidents", params={"since": "NaN"}).status_code == 400
        r = call(srv, "GET", "/api/layers/satellites", params={"at": "1e23"})
        assert r.status_code == 400
    finally:
        srv.stop()
        store.close()
