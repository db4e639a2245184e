"""The picture's backend over the Baltic demo, on a real socket: cross-domain incidents
(joined, kept, triaged, exported), search over the live statics, codes, area alerts.

Truth: the scenario scripts a vessel adrift under the Kaliningrad jamming
(sim/incidents.cable_drift, `extra.joins`): its drift alert and the GNSS interference area
must be one incident; the other scripted incidents (an anchor drag and an AIS gap in the
Gulf of Finland, an encounter off Liepaja, ...) must not be mixed into it or each other."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from picket.demo.run import run_demo
from picket.demo.score import score, score_incidents
from picket.serve.server import serve_assembly


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo_api")
    handles = []
    res = run_demo(duration_s=3600, workdir=d / "work", console=False,
                   on_assembly=lambda asm: handles.append(serve_assembly(asm, port=0)))  # fmt: skip
    yield res, handles[0]
    handles[0].stop()


def get(h, path, **params):
    r = httpx.get(h.url + path, params=params, timeout=30)
    return r


def test_the_scripted_cross_domain_incident_is_joined_and_nothing_else(demo):
    res, h = demo
    sc = score(res.alerts, res.incidents)
    assert not sc.missed and not sc.background, sc.report()
    recs = get(h, "/api/incidents").json()["incidents"]
    got = score_incidents(recs, res.alerts, res.incidents)
    assert got["joined"] == ["drift under jamming near NordBalt"] and not got["missed"]
    assert not got["mixed"], got
    (drift,) = [i for i in res.incidents if (i.get("extra") or {}).get("joins")]
    (inc,) = [r for r in recs if drift["subject"] in r["subjects"]]
    assert inc["domains"] == ["em", "maritime"]
    assert "Kaliningrad" in inc["place"]["text"] and inc["timeline"]
    w, s, e, n = inc["extent"]["bbox"]
    assert w < drift["lon"] < e and s < drift["lat"] < n
    # the demo kept the same records in its store, and the API reads them back
    assert {r["id"] for r in res.extra["joined"]} == {r["id"] for r in recs}
    one = get(h, f"/api/incidents/{inc['id']}").json()
    assert one["alerts"] == inc["alerts"] and one["triage"]["state"] == "new"
    assert get(h, "/api/incidents/inc-nope").status_code == 404


def test_incident_triage_is_kept_and_exports_read(demo):
    _, h = demo
    (inc,) = get(h, "/api/incidents").json()["incidents"][:1]
    url = h.url + f"/api/incidents/{inc['id']}/triage"
    r = httpx.post(url, json={"action": "assign", "assignee": "bo"}, timeout=10)
    assert r.status_code == 200 and r.json()["triage"]["state"] == "assigned"
    assert httpx.post(url, json={"action": "dance"}, timeout=10).status_code == 422
    again = get(h, f"/api/incidents/{inc['id']}").json()
    assert again["triage"]["state"] == "assigned" and again["log"][0]["who"] == "local"
    gj = get(h, "/api/incidents", format="geojson").json()
    assert gj["features"][0]["geometry"]["type"] == "Polygon"
    assert gj["features"][0]["properties"]["triage"] == "assigned"
    kml = ET.fromstring(get(h, "/api/incidents", format="kml").content)
    assert kml.tag.endswith("kml")
    cot = get(h, "/api/incidents", format="cot").text
    ev = ET.fromstring(cot.split("\n")[0])
    assert ev.get("uid") == f"picket.incident.{inc['id']}" and ev.find("point") is not None
    assert get(h, "/api/incidents", format="shp").status_code == 400
    assert get(h, "/api/incidents", status="nope").status_code == 400
    assert get(h, "/api/incidents", limit="-1").status_code == 400


def test_search_finds_subjects_by_name_mmsi_and_callsign(demo):
    res, h = demo
    (drift,) = [i for i in res.incidents if (i.get("extra") or {}).get("joins")]
    mmsi = drift["subject"].split(":")[1]
    r = get(h, "/api/search", q=mmsi).json()["results"]
    assert r[0]["subject"] == drift["subject"] and r[0]["match"] == "exact"
    assert r[0]["domain"] == "maritime" and r[0]["lat"] is not None
    name = r[0]["static"].get("name")
    assert name
    by_name = get(h, "/api/search", q=name.lower()[:5]).json()["results"]
    assert drift["subject"] in {x["subject"] for x in by_name}
    assert all(name.lower()[:5] in (x["label"] + str(x["static"].get("name"))).lower()
               or x["matched"] != "name" for x in by_name)
    air = get(h, "/api/search", q="icao:").json()["results"]
    assert air and all(x["domain"] == "air" for x in air)
    assert len(get(h, "/api/search", q="a", limit=3).json()["results"]) <= 3
    assert get(h, "/api/search", q="").status_code == 400
    assert get(h, "/api/search", q="x" * 65).status_code == 400
    assert get(h, "/api/search", q="zzzzqqqq").json()["results"] == []


def test_codes_and_the_demo_area_alert(demo):
    res, h = demo
    c = get(h, "/api/codes").json()
    assert c["ship_type"]["80"]["name"] == "Tanker" and c["ship_type"]["80"]["class"] == "tanker"
    assert c["nav_status"]["2"] == "not under command" and "hijack" in c["squawk"]["7500"]
    areas = [a for a in res.alerts if a["kind"] == "gnss.interference"]
    assert 1 <= len(areas) <= 6  # was one alert per cell: 26
    big = max(areas, key=lambda a: len(a["evidence"]["cells"]))
    assert len(big["evidence"]["cells"]) >= 10 and "Kaliningrad" in big["summary"]
    assert "gpsjam" in big["summary"] and "h3:" not in big["summary"]


def test_alerts_carry_measures_and_named_codes(demo):
    _, h = demo
    drags = get(h, "/api/alerts", kind="maritime.anchor_drag").json()["alerts"]
    (drag,) = [a for a in drags if a["evidence"].get("infrastructure", {}).get("name")
               == "Estlink 2"]
    texts = [m["text"] for m in drag["human"]["measures"]]
    assert any(t.endswith("kn, within 1-7 kn") for t in texts), texts
    assert any(t.startswith("0 m from Estlink 2 (cable)") for t in texts), texts
    em = get(h, "/api/alerts", kind="air.emergency").json()["alerts"][0]
    one = get(h, f"/api/alerts/{em['id']}").json()
    assert one["human"]["named"]["squawk"] == "7700: general emergency"


def test_satellites_over_the_area_and_overflights_of_an_alert(demo):
    from picket.serve.satellites import find_catalogue

    if find_catalogue() is None:
        pytest.skip("no ../shared/data/space catalogue: the demo has no satellites")
    res, h = demo
    g = get(h, "/api/layers/satellites", window_s="600").json()
    assert g["properties"]["offset_days"] > 0 and g["properties"]["sky_time"].startswith("2024")
    parts = {f["properties"]["part"] for f in g["features"]}
    assert parts == {"track", "footprint"} and len(g["features"]) <= 200
    assert get(h, "/api/layers/satellites", window_s="0").status_code == 400
    (drift,) = [i for i in res.incidents if (i.get("extra") or {}).get("joins")]
    a = next(x for x in res.alerts if x["subject"] == drift["subject"])
    over = get(h, f"/api/alerts/{a['id']}").json()["overflights"]
    assert over and all(o["max_elevation_deg"] >= 10 for o in over)
    assert all(o["start"] <= o["end"] for o in over)


def test_an_incident_lists_who_passed_through_it(demo):
    res, h = demo
    (drift,) = [i for i in res.incidents if (i.get("extra") or {}).get("joins")]
    recs = get(h, "/api/incidents").json()["incidents"]
    (inc,) = [r for r in recs if drift["subject"] in r["subjects"]]
    passed = get(h, f"/api/incidents/{inc['id']}").json()["passed"]
    assert passed["total"] >= 2 and passed.get("air")  # the aircraft under the jamming
    vessels = {v["subject"]: v for v in passed.get("maritime", [])}
    assert vessels[drift["subject"]]["in_incident"]
    w, s, e, n = inc["extent"]["bbox"]
    for a in passed["air"][:5]:  # each of them was stored inside the extent then
        pts = get(h, f"/api/tracks/{a['subject']}/history", since=a["first"],
                  until=a["last"]).json()["points"]  # fmt: skip
        assert any(w <= p["lon"] <= e and s <= p["lat"] <= n for p in pts)
