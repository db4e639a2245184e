"""`/api/query` and `/api/export` through a real server over a store with known truth:
who was in a box between two times with their trajectories, in every format, held to a
brute-force read of the same points; exports default to the whole window."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import httpx
import numpy as np
import pytest

from picket.cli.main import main
from picket.model.alerts import iso
from picket.model.reports import Domain
from picket.model.subjects import Namespace, format_subject, key
from picket.serve import LiveHub, area_query, start_server
from picket.share.trajectories import in_box
from picket.store.sqlite import Store

T0 = 1_736_935_200.0  # 2025-01-15T10:00:00Z
BOX = (10.0, 55.0, 11.0, 56.0)
N_SUBJ, N_PTS = 300, 90  # 27,000 points: more than one of the reader's 20,000-point pages


def _points(seed: int = 7) -> dict[str, np.ndarray]:
    """Random walks around the box, half ships and half aircraft, one point per 40 s."""
    rng = np.random.default_rng(seed)
    subj = np.repeat([key(Namespace.MMSI, 211_000_000 + i) if i % 2 else
                      key(Namespace.ICAO, 0x400000 + i) for i in range(N_SUBJ)], N_PTS)
    dom = np.repeat([int(Domain.MARITIME) if i % 2 else int(Domain.AIR)
                     for i in range(N_SUBJ)], N_PTS)  # fmt: skip
    t = T0 + np.tile(np.arange(N_PTS) * 40.0, N_SUBJ) + np.repeat(rng.uniform(0, 5, N_SUBJ), N_PTS)
    lat = np.repeat(rng.uniform(54.0, 57.0, N_SUBJ), N_PTS) + np.cumsum(
        rng.normal(0, 0.01, (N_SUBJ, N_PTS)), axis=1).ravel()  # fmt: skip
    lon = np.repeat(rng.uniform(9.0, 12.0, N_SUBJ), N_PTS) + np.cumsum(
        rng.normal(0, 0.01, (N_SUBJ, N_PTS)), axis=1).ravel()  # fmt: skip
    alt = np.where(dom == int(Domain.AIR), 9000.0, np.nan)
    return {"subject": subj.astype(np.int64), "time": t, "domain": dom.astype(np.int64),
            "lat": lat, "lon": lon, "alt": alt, "speed": np.full(len(t), 100.0),
            "course": np.full(len(t), 90.0)}  # fmt: skip


def _truth(p, box, since=-np.inf, until=np.inf, domains=None) -> dict[str, np.ndarray]:
    """subject -> its window's point times, for subjects with a window point in the box."""
    m = (p["time"] >= since) & (p["time"] <= until)
    if domains is not None:
        m &= np.isin(p["domain"], domains)
    inside = m & in_box(p["lat"], p["lon"], *box)
    out = {}
    for s in set(p["subject"][inside].tolist()):
        out[format_subject(s)] = np.sort(p["time"][m & (p["subject"] == s)])
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("aq")
    pts = _points()
    store = Store(d / "picket.sqlite")
    store.add_track_points(pts)
    srv = start_server(store, LiveHub(tick_s=0.05), port=0)
    yield {"srv": srv, "pts": pts, "path": d / "picket.sqlite"}
    srv.stop()
    store.close()


def get(w, path, **params):
    return httpx.get(w["srv"].url + path, params=params, timeout=30)


def _bbox(b):
    return ",".join(map(str, b))


def test_query_json_is_who_was_there_with_every_window_point(world):
    truth = _truth(world["pts"], BOX)
    assert 20 < len(truth) < N_SUBJ  # the box selects, and selects something
    r = get(world, "/api/query", bbox=_bbox(BOX))
    assert r.status_code == 200, r.text
    ans = r.json()
    assert ans["subjects"] == len(truth) and ans["points"] == sum(map(len, truth.values()))
    for tr in ans["trajectories"]:
        want = truth[tr["subject"]]
        assert tr["points"] == len(want) == len(tr["lat"]) == len(tr["time"])
        assert tr["time"] == [iso(float(x)) for x in want]  # whole trajectory, in order
        assert tr["start"] == iso(float(want[0])) and tr["end"] == iso(float(want[-1]))


def test_query_narrows_by_time_and_domain(world):
    since, until = T0 + 600, T0 + 1500
    truth = _truth(world["pts"], BOX, since, until, (int(Domain.AIR),))
    ans = get(world, "/api/query", bbox=_bbox(BOX), since=iso(since), until=str(until),
              domain="air").json()  # fmt: skip
    assert {t["subject"] for t in ans["trajectories"]} == set(truth)
    assert all(t["domain"] == "air" and since <= _t(t["start"]) and _t(t["end"]) <= until
               for t in ans["trajectories"])  # fmt: skip
    assert ans["points"] == sum(map(len, truth.values()))


def _t(s: str) -> float:
    return float(np.datetime64(s.rstrip("Z"), "ms").astype(np.int64)) / 1000


def test_query_across_the_antimeridian_is_empty_here_and_valid(world):
    r = get(world, "/api/query", bbox="179,-10,-179,10")
    assert r.status_code == 200 and r.json()["subjects"] == 0


def test_query_files_agree_with_the_json(world):
    truth = _truth(world["pts"], BOX)
    b = _bbox(BOX)
    rows = list(csv.DictReader(io.StringIO(get(world, "/api/query", bbox=b, format="csv").text)))
    assert len(rows) == sum(map(len, truth.values())) and {r["subject"] for r in rows} == set(
        truth)  # fmt: skip
    r = get(world, "/api/query", bbox=b, format="geojson")
    assert r.headers["content-type"].startswith("application/geo+json")
    feats = r.json()["features"]
    assert {f["properties"]["subject"] for f in feats} == set(truth)
    assert all(len(f["geometry"]["coordinates"]) == len(truth[f["properties"]["subject"]])
               for f in feats if f["geometry"]["type"] == "LineString")  # fmt: skip
    root = ET.fromstring(get(world, "/api/query", bbox=b, format="kml").content)
    ns = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}
    assert len(root.findall(".//gx:Track", ns)) == len(truth)
    pq = pytest.importorskip("pyarrow.parquet")
    t = pq.read_table(io.BytesIO(get(world, "/api/query", bbox=b, format="geoparquet").content))
    assert sorted(t.column("subject").to_pylist()) == sorted(truth)
    assert json.loads(t.schema.metadata[b"geo"])["primary_column"] == "geometry"


@pytest.mark.parametrize("params, words", [
    ({"bbox": "10,56,11,55"}, "south <= north"), ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "nan,1,2,3"}, "bbox"), ({"since": "NaN"}, "time"), ({"until": "1e23"}, "range"),
    ({"format": "shp"}, "format"), ({"domain": "sea"}, "domain"),
    ({"since": str(T0 + 10), "until": str(T0)}, "before"),
    ({"since": str(T0), "until": str(T0 + 40 * 86400)}, "days"),
])  # fmt: skip
def test_query_bad_parameters_are_400_with_a_reason(world, params, words):
    r = get(world, "/api/query", **params)
    assert r.status_code == 400 and words in r.json()["detail"]


def test_query_caps_answer_400(world, monkeypatch):
    monkeypatch.setattr(area_query, "MAX_POINTS", 100)
    r = get(world, "/api/query", bbox=_bbox(BOX))
    assert r.status_code == 400 and "more than 100 points" in r.json()["detail"]
    monkeypatch.setattr(area_query, "MAX_SCAN", 1000)
    r = get(world, "/api/query", bbox="0,0,1,1")
    assert r.status_code == 400 and "more than 1000 stored points" in r.json()["detail"]


def test_export_is_the_whole_window_by_default_and_a_snapshot_with_at(world):
    everyone = _truth(world["pts"], (-180, -90, 180, 90))
    gj = get(world, "/api/export", layers="tracks").json()
    feats = gj["features"]
    assert len(feats) == N_SUBJ == len(everyone)
    assert all(f["geometry"]["type"] == "LineString" and f["properties"]["points"] == N_PTS
               for f in feats)  # fmt: skip
    inbox = get(world, "/api/export", layers="tracks", bbox=_bbox(BOX)).json()["features"]
    assert {f["properties"]["subject"] for f in inbox} == set(_truth(world["pts"], BOX))
    snap = get(world, "/api/export", layers="tracks", at=str(T0 + 1800)).json()["features"]
    assert snap and all(f["geometry"]["type"] == "Point" for f in snap)
    kml = get(world, "/api/export", layers="tracks", format="kml").text
    assert kml.count("<LineString>") == N_SUBJ and kml.count("<TimeSpan>") == N_SUBJ


def test_cli_export_defaults_to_trajectories(world, tmp_path, capsys):
    out = tmp_path / "all.geojson"
    assert main(["export", "--store", str(world["path"]), "--layers", "tracks",
                 "--out", str(out)]) == 0  # fmt: skip
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == N_SUBJ and {f["geometry"]["type"] for f in feats} == {"LineString"}
    assert f"{N_SUBJ} trajectories" in capsys.readouterr().err
    assert main(["export", "--store", str(world["path"]), "--layers", "tracks", "--at",
                 iso(T0 + 3 * 3600), "--all-tracks", "--out", str(out)]) == 0  # fmt: skip
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == N_SUBJ and {f["geometry"]["type"] for f in feats} == {"Point"}


@pytest.mark.realdata
def test_real_ais_export_holds_every_stored_subject(shared_data, tmp_path):
    """The issue's case: the default export held 1 of thousands of tracks."""
    import sqlite3

    p = tmp_path / "s.sqlite"
    assert main(["replay", str(shared_data / "ais/dma_danish_waters_20131112_5min.nmea.gz"),
                 "--store", str(p), "--quiet", "--no-progress"]) == 0  # fmt: skip
    db = sqlite3.connect(p)
    n = db.execute("SELECT count(DISTINCT subject) FROM track_points").fetchone()[0]
    db.close()
    out = tmp_path / "x.geojson"
    assert main(["export", "--store", str(p), "--layers", "tracks", "--out", str(out)]) == 0
    assert n > 500 and len(json.loads(out.read_text())["features"]) == n


BAD = ("1e23", "-1", "NaN", "nan", "inf", "-inf", "1e400", "9" * 40, "0x10", "1,2,3,4,5")


def test_numeric_parameters_out_of_range_are_400_never_500(world):
    for path, params in (("/api/query", ("since", "until", "bbox")),
                         ("/api/export", ("since", "until", "bbox", "at"))):
        for p in params:
            for v in BAD:
                r = get(world, path, **{p: v})
                if p != "bbox" and v == "-1":
                    assert r.status_code == 400  # before 1970
                    continue
                assert r.status_code == 400, (path, p, v, r.status_code, r.text)
                assert r.json()["detail"]
