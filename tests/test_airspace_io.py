"""Airspace files (OpenAir, openAIP JSON and XML) into zones, with geometry of known truth.

Distances and azimuths are checked against pyproj's geodesic (Karney's algorithm on WGS84),
an implementation independent of picket's Vincenty solutions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from picket.geo.airspace_io import (
    circle_points,
    geodesic_direct,
    geodesic_inverse,
    openair_coords,
    openair_limit,
    parse_openaip_xml,
    parse_openair,
)
from picket.geo.zone_io import parse_bytes, read_features
from picket.geo.zones import ZoneSet, load_zones
from picket.model.rejects import Rejects

GEOD = Geod(ellps="WGS84")
FT, NM = 0.3048, 1852.0


def _dms(value: float, pos: str, neg: str, width: int) -> str:
    """Degrees as D:MM:SS.ssss H, the way OpenAir writes them."""
    h = pos if value >= 0 else neg
    s = round(abs(value) * 3600, 4)
    d, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(d):0{width}d}:{int(m):02d}:{sec:07.4f} {h}"


def _coord(lat: float, lon: float) -> str:
    return f"{_dms(lat, 'N', 'S', 2)} {_dms(lon, 'E', 'W', 3)}"


def _dist_az(clat: float, clon: float, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(xy)
    az, _, d = GEOD.inv(np.full(n, clon), np.full(n, clat), xy[:, 0], xy[:, 1])
    return np.asarray(d), np.asarray(az) % 360.0


def _openair(text: str, name: str = "t.txt") -> tuple[list, Rejects]:
    r = Rejects()
    return parse_openair(text.encode(), name, r), r


# ---------------------------------------------------------------- geodesics


def test_vincenty_agrees_with_pyproj():
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-80, 80, 500), rng.uniform(-180, 180, 500)
    az, dist = rng.uniform(0, 360, 500), rng.uniform(1, 500e3, 500)
    la, lo = geodesic_direct(lat, lon, az, dist)
    lo_ref, la_ref, _ = GEOD.fwd(lon, lat, az, dist)
    assert np.abs(la - la_ref).max() < 1e-9
    assert np.abs((lo - lo_ref + 180) % 360 - 180).max() < 1e-9
    d, a = geodesic_inverse(lat, lon, la_ref, lo_ref)
    assert np.abs(d - dist).max() < 1e-3
    assert np.abs((a - az + 180) % 360 - 180).max() < 1e-7
    d0, a0 = geodesic_inverse(10.0, 20.0, 10.0, 20.0)
    assert d0 == 0.0 and a0 == 0.0


# ---------------------------------------------------------------- OpenAir geometry


def test_dc_circle_of_5_nm_is_9260_m_from_its_centre():
    feats, r = _openair(
        "* a circle\nAC R\nAN EY R1\nAL GND\nAH FL95\nV X=54:12:30 N 023:05:10 E\nDC 5\n"
    )
    assert r.rejected == 0 and r.geography == 1 and len(feats) == 1
    f = feats[0]
    clat, clon = 54 + 12 / 60 + 30 / 3600, 23 + 5 / 60 + 10 / 3600
    ring = np.asarray(f.geometry.exterior.coords)
    d, az = _dist_az(clat, clon, ring)
    assert np.abs(d - 9260.0).max() < 1.0
    steps = np.diff(np.unwrap(np.radians(az)))
    assert np.degrees(np.abs(steps)).max() <= 2.0 + 1e-6
    assert len(ring) >= 181  # 360° in <= 2° steps, closed
    zs = ZoneSet(feats)
    lo_in, la_in, _ = GEOD.fwd([clon] * 4, [clat] * 4, [0, 91, 181, 271], [9240.0] * 4)
    lo_out, la_out, _ = GEOD.fwd([clon] * 4, [clat] * 4, [0, 91, 181, 271], [9280.0] * 4)
    assert (zs.contains(la_in, lo_in) == 0).all() and (zs.contains(la_out, lo_out) == -1).all()
    assert f.name == "EY R1" and f.kind == "restricted" and f.where == "t.txt:2"
    p = f.properties
    assert (p["floor_m"], p["floor_ref"]) == (0.0, "GND")
    assert p["ceiling_m"] == pytest.approx(9500 * FT) and p["ceiling_ref"] == "STD"


@pytest.mark.parametrize(("direction", "sweep"), [("+", 90.0), ("-", -270.0)])
def test_db_arc_runs_from_a_to_b_about_the_centre(direction, sweep):
    clat, clon, radius = 54.5, 24.25, 10_000.0
    (lo_a, lo_b), (la_a, la_b), _ = GEOD.fwd([clon, clon], [clat, clat], [30, 120], [radius] * 2)
    a, b = _coord(la_a, lo_a), _coord(la_b, lo_b)
    text = f"AC Q\nAN arc\nV X={_coord(clat, clon)}\nV D={direction}\nDB {a}, {b}\n"
    feats, r = _openair(text)
    assert r.rejected == 0 and len(feats) == 1
    ring = np.asarray(feats[0].geometry.exterior.coords)
    # shapely may start the ring elsewhere: find A, then B must be the arc's last vertex
    pa_, pb_ = openair_coords(a)[0], openair_coords(b)[0]
    ia = int(np.flatnonzero((ring[:-1] == (pa_[1], pa_[0])).all(axis=1))[0])
    arc = np.roll(ring[:-1], -ia, axis=0)
    if not np.array_equal(arc[-1], (pb_[1], pb_[0])):  # orientation normalised by shapely
        arc = np.roll(arc[::-1], 1, axis=0)
    assert tuple(arc[0]) == (pa_[1], pa_[0]) and tuple(arc[-1]) == (pb_[1], pb_[0])
    d, az = _dist_az(clat, clon, arc)
    assert np.abs(d - radius).max() < 0.01  # A and B are a few mm off after DMS rounding
    turn = np.degrees(np.unwrap(np.radians(az)))
    assert turn[-1] - turn[0] == pytest.approx(sweep, abs=1e-3)
    assert np.all(np.diff(turn) * np.sign(sweep) > 0)  # always the one direction
    assert np.abs(np.diff(turn)).max() <= 2.0 + 1e-6


def test_da_arc_and_points_make_a_sector():
    clat, clon = 55.0, 25.0
    text = (
        f"AC P\nAN sector\nAL 1500ft AMSL\nAH 2000 AGL\nV X={_coord(clat, clon)}\n"
        f"DP {_coord(clat, clon)}\nDA 3, 0, 90\n"
    )
    feats, r = _openair(text)
    assert r.rejected == 0 and feats[0].kind == "prohibited"
    ring = np.asarray(feats[0].geometry.exterior.coords)[:-1]
    d, az = _dist_az(clat, clon, ring)
    on_arc = d > 1.0
    assert np.abs(d[on_arc] - 3 * NM).max() < 1.0
    assert az[on_arc].min() == pytest.approx(0.0, abs=1e-6)
    assert az[on_arc].max() == pytest.approx(90.0, abs=1e-6)
    assert on_arc.sum() == 46  # 90° in 2° steps: 45 segments, 46 vertices
    p = feats[0].properties
    assert (p["floor_m"], p["floor_ref"]) == (pytest.approx(1500 * FT), "MSL")
    assert (p["ceiling_m"], p["ceiling_ref"]) == (pytest.approx(2000 * FT), "GND")


def test_polygon_vertices_and_coordinate_spellings():
    text = (
        "AC C\nAN TMA\nDP 54:12:30 N 023:05:10 E\nDP 54:12.5N 024:05.25E\n"
        "DP 53:00:00.5 S 001:00:00 W * trailing comment\n"
    )
    feats, r = _openair(text)
    assert r.rejected == 0 and feats[0].kind == "controlled"
    ring = {tuple(np.round(p, 9)) for p in feats[0].geometry.exterior.coords}
    want = {
        (round(23 + 5 / 60 + 10 / 3600, 9), round(54 + 12.5 / 60, 9)),
        (round(24 + 5.25 / 60, 9), round(54 + 12.5 / 60, 9)),
        (-1.0, round(-(53 + 0.5 / 3600), 9)),
    }
    assert ring == want
    assert openair_coords("54:60:00 N 023:00:00 E") is None  # minutes must be < 60
    assert openair_coords("91:00:00 N 023:00:00 E") is None
    assert openair_coords("54:00:00 N 023:00:00 E junk") is None


def test_bad_coordinate_line_is_one_counted_reject(tmp_path):
    text = (
        "AC R\nAN good one\nDP 54:00:00 N 023:00:00 E\nDP 54:00:00 N 023:30:00 E\n"
        "DP 54:30:00 N 023:30:00 E\n\n"
        "AC R\nAN broken\nDP 55:00:00 N 023:00:00 E\nDP 55:0O:00 N 023:30:00 E\n"
        "DP 55:30:00 N 023:30:00 E\n\n"
        "AC Q\nAN also good\nV X=56:00:00 N 024:00:00 E\nDC 2\n"
    )
    path = tmp_path / "eyvl.txt"
    path.write_text(text)
    dead = tmp_path / "dead.jsonl"
    r = Rejects(dead)
    feats = read_features(path, r)
    r.close()
    assert [f.name for f in feats] == ["good one", "also good"]
    assert r.rejected == 1 and r.counts == {"openair.bad_coordinate": 1} and r.geography == 2
    rec = json.loads(dead.read_text())
    assert rec["where"] == f"{path}:10" and rec["raw"] == "DP 55:0O:00 N 023:30:00 E"


def test_other_bad_records_are_counted_by_line():
    text = (
        "DP 54:00:00 N 023:00:00 E\n"  # 1: before any AC
        "AC R\nAN no centre\nDA 5, 0, 90\n"  # 4: arc without V X=
        "AC R\nAN alt\nAL FLX\nAH 3000ft\nV X=54:00:00 N 023:00:00 E\nDC 1\nZZ what\n"  # 7, 11
        "AC R\nAN empty\n"  # 12: no geometry
        "AC R\nAN airway\nDY 54:00:00 N 023:00:00 E\n"  # 16: airways are not zones
        "AC R\nAN way\nV X=54:00:00 N 023:00:00 E\nV D=x\nDA 1, 0, 90\n"  # 20: direction?
        "AC R\nAN var\nV Q=1\nV X=54:00:00 N 023:00:00 E\nDC 1\n"  # 23: unknown, harmless
    )
    feats, r = _openair(text, "f.txt")
    assert [f.name for f in feats] == ["alt", "var"]  # a bad limit keeps the zone, minus the limit
    assert "floor_m" not in feats[0].properties and feats[0].properties["floor"] == "FLX"
    assert r.counts == {
        "openair.outside_airspace": 1,
        "openair.no_centre": 1,
        "openair.bad_altitude": 1,
        "openair.unknown_record": 1,
        "openair.no_geometry": 1,
        "openair.unsupported_airway": 1,
        "openair.bad_direction": 1,
        "openair.unknown_variable": 1,
    }


def test_limits_and_kinds():
    cases = {
        "GND": (0.0, "GND"),
        "SFC": (0.0, "GND"),
        "FL 65": (6500 * FT, "STD"),
        "FL095": (9500 * FT, "STD"),
        "3500 ft MSL": (3500 * FT, "MSL"),
        "3500FT AMSL": (3500 * FT, "MSL"),
        "2500": (2500 * FT, "MSL"),
        "1000m": (1000.0, "MSL"),
        "1200 ft AGL": (1200 * FT, "GND"),
        "UNL": (math.inf, "UNL"),
    }
    for text, (m, ref) in cases.items():
        got = openair_limit(text)
        assert got is not None and got[0] == pytest.approx(m) and got[1] == ref, text
    assert openair_limit("ASK ATC") is None
    classes = [("R", ""), ("Q", ""), ("P", ""), ("D", ""), ("CTR", ""), ("GP", ""),
               ("UNCLASSIFIED", "AY TRA\n"), ("C", "AY FIR\n")]  # fmt: skip
    text = "".join(
        f"AC {ac}\n{ay}AN z{i}\nV X=54:00:00 N 02{i}:00:00 E\nDC 1\n"
        for i, (ac, ay) in enumerate(classes)
    )
    feats, r = _openair(text)
    assert r.rejected == 0
    assert [f.kind for f in feats] == ["restricted", "danger", "prohibited", "controlled",
                                       "controlled", "other", "restricted", "fir"]  # fmt: skip


def test_circle_across_the_antimeridian_is_split_and_still_contains():
    feats, r = _openair("AC R\nAN dateline\nV X=10:00:00 S 179:58:00 E\nDC 5\n")
    assert r.geography == 1 and feats[0].geometry.geom_type == "MultiPolygon"
    zs = ZoneSet(feats)
    lo, la, _ = GEOD.fwd([179 + 58 / 60] * 2, [-10.0] * 2, [90, 270], [8000.0] * 2)
    assert lo[0] < -179.9 and lo[1] > 179.8  # one each side of ±180
    assert (zs.contains(la, lo) == 0).all()


def test_circle_points_helper_is_closed():
    ring = circle_points(0.0, 0.0, 1000.0)
    assert np.array_equal(ring[0], ring[-1]) and shapely.Polygon(ring).is_valid


# ---------------------------------------------------------------- openAIP

OPENAIP_JSON = {
    "limit": 1000,
    "totalCount": 3,
    "items": [
        {
            "_id": "62614a2a1d9a3c2ee2a6d1b1",
            "name": "EYR 1 TEST",
            "type": 1,
            "icaoClass": 8,
            "country": "LT",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[23.0, 54.0], [23.5, 54.0], [23.5, 54.5], [23.0, 54.0]]],
            },
            "upperLimit": {"value": 95, "unit": 6, "referenceDatum": 2},
            "lowerLimit": {"value": 0, "unit": 1, "referenceDatum": 0},
        },
        {"name": "broken", "type": 2, "geometry": {"type": "Polygon", "coordinates": [[[1]]]}},
        {
            "name": "TMA",
            "type": 7,
            "icaoClass": 2,
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[24.0, 55.0], [25.0, 55.0], [25.0, 56.0], [24.0, 55.0]]],
            },
            "upperLimit": {"value": 3000, "unit": 0, "referenceDatum": 1},
            "lowerLimit": {"value": 500, "unit": 99, "referenceDatum": 1},
        },
    ],
}


def test_openaip_json_items(tmp_path):
    path = tmp_path / "lt_asp.json"
    path.write_text(json.dumps(OPENAIP_JSON))
    r = Rejects()
    zs = load_zones(path, r)
    assert zs.names == ["EYR 1 TEST", "TMA"] and zs.kinds == ["restricted", "controlled"]
    assert r.geography == 2
    assert r.counts == {"openaip.bad_coordinates": 1, "openaip.bad_limit": 1}
    p0, p1 = zs.properties
    assert p0["ceiling_m"] == pytest.approx(9500 * FT) and p0["ceiling_ref"] == "STD"
    assert (p0["floor_m"], p0["floor_ref"], p0["class"], p0["type"]) == (0, "GND", "SUA",
                                                                          "Restricted")  # fmt: skip
    assert (p1["ceiling_m"], p1["ceiling_ref"], p1["class"]) == (3000.0, "MSL", "C")
    assert "floor_m" not in p1  # its unit code is unknown: counted, not guessed
    assert zs.contains([54.1], [23.4]).tolist() == [0]
    assert zs.features[0].where == f"{path}:items[0]"


def test_openaip_geojson_export_gets_kinds_and_limits():
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "EYD 5", "type": 2,
                                          "upperLimit": {"value": 60, "unit": 6,
                                                         "referenceDatum": 2}},
        "geometry": {"type": "Polygon",
                     "coordinates": [[[23, 54], [24, 54], [24, 55], [23, 54]]]}}]}  # fmt: skip
    r = Rejects()
    feats = parse_bytes(json.dumps(doc).encode(), "export.geojson", r)
    assert feats[0].kind == "danger" and feats[0].properties["ceiling_m"] == pytest.approx(
        6000 * FT
    )


OPENAIP_XML = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<OPENAIP VERSION="1" DATAFORMAT="1.1">
<AIRSPACES>
<ASP CATEGORY="RESTRICTED">
  <ID>1</ID><COUNTRY>LT</COUNTRY><NAME>EYR 2</NAME>
  <ALTLIMIT_TOP REFERENCE="STD"><ALT UNIT="FL">95</ALT></ALTLIMIT_TOP>
  <ALTLIMIT_BOTTOM REFERENCE="GND"><ALT UNIT="F">0</ALT></ALTLIMIT_BOTTOM>
  <GEOMETRY><POLYGON>23.0 54.0, 23.5 54.0, 23.5 54.5, 23.0 54.0</POLYGON></GEOMETRY>
</ASP>
<ASP CATEGORY="D">
  <NAME>bad ring</NAME>
  <GEOMETRY><POLYGON>23.0 54.0, 23.5, 23.5 54.5</POLYGON></GEOMETRY>
</ASP>
<ASP CATEGORY="CTR">
  <NAME>CTR VILNIUS</NAME>
  <ALTLIMIT_TOP REFERENCE="MSL"><ALT UNIT="F">2500</ALT></ALTLIMIT_TOP>
  <GEOMETRY><POLYGON>25.0 54.5, 25.5 54.5, 25.5 54.8, 25.0 54.5</POLYGON></GEOMETRY>
</ASP>
</AIRSPACES>
</OPENAIP>
"""


def test_openaip_xml(tmp_path):
    path = tmp_path / "lt_asp.aip"
    path.write_bytes(OPENAIP_XML)
    r = Rejects()
    feats = read_features(path, r)
    assert [(f.name, f.kind) for f in feats] == [("EYR 2", "restricted"),
                                                  ("CTR VILNIUS", "controlled")]  # fmt: skip
    assert r.counts == {"openaip.bad_coordinates": 1}
    assert [f.where for f in feats] == [f"{path}:4", f"{path}:14"]
    p = feats[0].properties
    assert p["ceiling_m"] == pytest.approx(9500 * FT) and (p["floor_m"], p["floor_ref"]) == (
        0.0,
        "GND",
    )
    r2 = Rejects()
    assert parse_openaip_xml(b"<!DOCTYPE x><OPENAIP/>", "x.aip", r2) == []
    assert r2.counts == {"openaip.xml_dtd_refused": 1}


# ---------------------------------------------------------------- fuzzing

SAMPLE = (
    b"* sample\nAC R\nAN one\nAL GND\nAH FL95\nV X=54:12:30 N 023:05:10 E\nDC 5\n"
    b"AC Q\nAN two\nDP 54:00:00 N 023:00:00 E\nDP 54:00:00 N 023:30:00 E\n"
    b"V X=54:00:00 N 023:15:00 E\nV D=-\nDB 54:00:00 N 023:30:00 E, 54:00:00 N 023:00:00 E\n"
    b"AC C\nAN three\nV X=55:00:00 N 024:00:00 E\nDP 55:00:00 N 024:00:00 E\nDA 3, 10, 80\n"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, len(SAMPLE)),
)
def test_fuzz_mutated_openair_never_raises(flips, cut):
    data = bytearray(SAMPLE)
    for i, b in flips:
        data[i] = b
    r = Rejects()
    feats = parse_bytes(bytes(data[:cut]), "fuzz.txt", r, fmt="openair")
    assert len(feats) == r.geography <= 3
    if not flips and cut == len(SAMPLE):
        assert r.geography == 3 and r.rejected == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(0, len(OPENAIP_XML)), i=st.integers(0, len(OPENAIP_XML) - 1),
       b=st.integers(0, 255))  # fmt: skip
def test_fuzz_mutated_openaip_xml_never_raises(cut, i, b):
    data = bytearray(OPENAIP_XML)
    data[i] = b
    r = Rejects()
    feats = parse_bytes(bytes(data[:cut]), "fuzz.aip", r)
    assert len(feats) == r.geography
