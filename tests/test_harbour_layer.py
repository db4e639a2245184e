"""The learned harbours as a map layer: live from the running pipeline, or from the store."""

from __future__ import annotations

import httpx
import numpy as np

from picket.serve import LiveHub, start_server
from picket.serve.live_sink import LiveSink
from picket.store import harbours as store_harbours
from picket.store.sqlite import Store
from tests.test_harbours import HARBOUR, SEA, run, scene


def _cells_near(fc: dict, lat: float, lon: float, km: float) -> int:
    n = 0
    for f in fc["features"]:
        ring = np.asarray(f["geometry"]["coordinates"][0])
        clon, clat = ring[:-1].mean(axis=0)
        dy = (clat - lat) * 111.2
        dx = (clon - lon) * 111.2 * np.cos(np.radians(lat))
        n += bool(np.hypot(dx, dy) <= km)
    return n


def test_harbour_layer_live_and_stored(tmp_path):
    t = np.arange(0.0, 3 * 3600.0, 30.0) + 1.7e9
    _, world = run(scene(t))
    assert world.harbours is not None and world.harbours.cells, "the scene learns its quay"

    hub = LiveHub(tick_s=0.05)
    LiveSink(hub, world=world).publish_harbours(force=True)  # as the pipeline's edge does
    store = Store(tmp_path / "live.sqlite")
    srv = start_server(store, hub, port=0)
    try:
        fc = httpx.get(srv.url + "/api/layers/harbours", timeout=30).json()
    finally:
        srv.stop()
        store.close()
    assert fc["type"] == "FeatureCollection"
    assert _cells_near(fc, *HARBOUR, km=2.0) >= 1  # the quay is a harbour ...
    assert _cells_near(fc, *SEA, km=5.0) == 0  # ... the rendezvous at sea is not
    assert {f["properties"]["kind"] for f in fc["features"]} == {"harbour"}

    # a server over a stored run draws what the store kept
    stored = Store(tmp_path / "stored.sqlite")
    store_harbours.save(stored, world.harbours)
    srv = start_server(stored, LiveHub(tick_s=0.05), port=0)
    try:
        back = httpx.get(srv.url + "/api/layers/harbours", timeout=30).json()
    finally:
        srv.stop()
        stored.close()
    assert len(back["features"]) == len(fc["features"])
