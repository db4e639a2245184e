"""`picket query`: who was in a box between two times, with trajectories, in every format,
held to a brute-force read of the same store."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from picket.cli.main import main
from picket.model.subjects import format_subject
from picket.share.trajectories import in_box, select, write

AIS = "ais/dma_danish_waters_20131112_5min.nmea.gz"
BOX = (10.5, 55.0, 11.5, 56.0)


@pytest.fixture(scope="module")
def store(shared_data, tmp_path_factory):
    p = tmp_path_factory.mktemp("q") / "s.sqlite"
    assert main(["replay", str(shared_data / AIS), "--store", str(p), "--quiet",
                 "--no-progress"]) == 0  # fmt: skip
    return p


def _truth(store) -> dict[str, list[tuple[float, float, float]]]:
    """Subjects with a stored point in BOX, and all their points (time, lat, lon)."""
    db = sqlite3.connect(store)
    rows = db.execute("SELECT subject, time, lat, lon FROM track_points ORDER BY time").fetchall()
    db.close()
    a = np.array(rows, dtype=float)
    inside = in_box(a[:, 2], a[:, 3], *BOX)
    who = {int(s) for s in a[inside, 0]}
    out: dict[str, list] = {}
    for s, t, la, lo in rows:
        if s in who:
            out.setdefault(format_subject(s), []).append((t, la, lo))
    return out


def _run(store, *args, capsys) -> bytes:
    assert main(["query", "--bbox", *map(str, BOX), "--store", str(store), *args]) == 0
    return capsys.readouterr().out.encode()


@pytest.mark.realdata
def test_table_and_csv_name_who_was_there(store, capsys):
    truth = _truth(store)
    assert len(truth) > 20
    out = _run(store, capsys=capsys).decode().splitlines()
    assert {ln.split()[0] for ln in out[1:]} == set(truth)
    rows = list(csv.DictReader(io.StringIO(_run(store, "--format", "csv", capsys=capsys)
                                           .decode())))  # fmt: skip
    assert len(rows) == sum(map(len, truth.values()))
    assert {r["subject"] for r in rows} == set(truth)


@pytest.mark.realdata
def test_geojson_linestrings_are_the_stored_points(store, capsys):
    truth = _truth(store)
    fc = json.loads(_run(store, "--format", "geojson", capsys=capsys))
    assert len(fc["features"]) == len(truth)
    for f in fc["features"]:
        pts = truth[f["properties"]["subject"]]
        coords = (f["geometry"]["coordinates"] if f["geometry"]["type"] == "LineString"
                  else [f["geometry"]["coordinates"]])  # fmt: skip
        assert len(coords) == len(pts) == f["properties"]["points"]
        for (_, la, lo), c in zip(pts, coords, strict=True):
            assert c[0] == pytest.approx(lo, abs=1e-6) and c[1] == pytest.approx(la, abs=1e-6)


@pytest.mark.realdata
def test_kml_gx_tracks(store, capsys):
    truth = _truth(store)
    root = ET.fromstring(_run(store, "--format", "kml", capsys=capsys))
    ns = {"k": "http://www.opengis.net/kml/2.2", "gx": "http://www.google.com/kml/ext/2.2"}
    tracks = root.findall(".//gx:Track", ns)
    assert len(tracks) == len(truth)
    for tr in tracks:
        assert len(tr.findall("k:when", ns)) == len(tr.findall("gx:coord", ns)) >= 1


@pytest.mark.realdata
def test_geoparquet_follows_the_spec(store, tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet")
    import shapely

    out = tmp_path / "who.parquet"
    assert main(["query", "--bbox", *map(str, BOX), "--store", str(store), "--out",
                 str(out)]) == 0  # fmt: skip
    t = pq.read_table(out)
    geo = json.loads(t.schema.metadata[b"geo"])
    assert geo["version"] == "1.0.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    g = shapely.from_wkb(t.column("geometry").to_pylist())
    truth = _truth(store)
    assert sorted(t.column("subject").to_pylist()) == sorted(truth)
    assert {x.geom_type for x in g} <= set(geo["columns"]["geometry"]["geometry_types"])
    n = {s: len(p) for s, p in truth.items()}
    for s, geom in zip(t.column("subject").to_pylist(), g, strict=True):
        assert shapely.get_num_coordinates(geom) == n[s]
    gpd = pytest.importorskip("geopandas")  # the reader GIS users have, where installed
    assert len(gpd.read_parquet(out)) == len(truth)


def test_box_across_the_antimeridian():
    pts = {"subject": np.array([1, 1, 2, 3]), "time": np.array([0.0, 1.0, 0.0, 0.0]),
           "domain": np.array([2, 2, 2, 2]), "lat": np.array([10.0, 11.0, 10.0, 10.0]),
           "lon": np.array([179.5, -179.5, 170.0, -170.0]), "alt": np.full(4, np.nan),
           "speed": np.full(4, np.nan), "course": np.full(4, np.nan)}  # fmt: skip
    tr = select(pts, (179.0, 9.0, -179.0, 12.0))
    assert tr.cols["subject"].tolist() == [1, 1] and len(tr) == 1


def test_bad_box_is_one_line(tmp_path, capsys):
    p = tmp_path / "s.sqlite"
    sqlite3.connect(p).close()
    assert main(["query", "--bbox", "0", "10", "1", "5", "--store", str(p)]) == 2
    assert "south <= north" in capsys.readouterr().err


def test_empty_answer_in_every_format():
    pts = {k: np.zeros(0, np.int64 if k in ("subject", "domain") else float)
           for k in ("subject", "time", "domain", "lat", "lon", "alt", "speed", "course")}
    tr = select(pts, BOX)
    assert len(tr) == 0
    for fmt in ("table", "csv", "geojson", "kml"):
        assert write(fmt, tr)
    if __import__("importlib").util.find_spec("pyarrow"):
        assert write("geoparquet", tr)
