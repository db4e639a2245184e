"""Zones and protected lines: loaders, point-in-zone, distances to lines and zone edges.

References are independent: shapely's own contains_xy per polygon (brute force), lines
densified to ~10 m along the great circle with `geodesy.destination` and the minimum
haversine, zone edges densified in lon/lat, and hand-computed geometry.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.geo import geodesy as g
from picket.geo.zone_io import parse_bytes, parse_geojson, parse_kml, parse_kmz, read_features
from picket.geo.zones import LineSet, ZoneSet, load_lines, load_zones
from picket.model.rejects import Rejects

CABLES = "geo/submarine_cables_telegeography_2021.geojson"
KML = "geo/baltic_cables_shadowfleet.kml"


@pytest.fixture(scope="module")
def cables(shared_data: Path) -> LineSet:
    return load_lines(shared_data / CABLES, Rejects())


def _brute_pairs(zs: ZoneSet, lat: np.ndarray, lon: np.ndarray) -> set[tuple[int, int]]:
    out = set()
    for z, geom in enumerate(zs.geoms):
        for p in np.flatnonzero(shapely.contains_xy(geom, lon, lat)):
            out.add((int(p), z))
    return out


def _check_contains(zs: ZoneSet, lat: np.ndarray, lon: np.ndarray) -> None:
    p, z = zs.contains_pairs(lat, lon)
    assert set(zip(p.tolist(), z.tolist(), strict=True)) == _brute_pairs(zs, lat, lon)
    got = zs.contains(lat, lon)
    for i in np.flatnonzero(got >= 0):
        holders = z[p == i]
        assert zs.area_m2[got[i]] == zs.area_m2[holders].min()
    assert set(np.flatnonzero(got >= 0)) == set(p.tolist())


# ---------------------------------------------------------------- point in zone


def test_countries_contains_matches_shapely_brute_force(shared_data):
    r = Rejects()
    zs = load_zones(shared_data / "geo/countries_ne110m.geojson", r)
    assert len(zs) == 177 and r.rejected == 0
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-90, 90, 50_000), rng.uniform(-180, 180, 50_000)
    _check_contains(zs, lat, lon)
    # and against the file's own polygons, read without the loader
    doc = json.loads((shared_data / "geo/countries_ne110m.geojson").read_bytes())
    raw = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    got = zs.contains(lat, lon)
    for z, geom in enumerate(raw):
        np.testing.assert_array_equal(got == z, shapely.contains_xy(geom, lon, lat))
    france = zs.names.index("France")
    assert zs.contains([48.8566], [2.3522])[0] == france
    assert zs.contains([45.0], [-30.0])[0] == -1  # mid-Atlantic


def test_fir_contains_matches_shapely_brute_force(shared_data):
    r = Rejects()
    zs = load_zones(shared_data / "geo/fir_boundaries_vatspy.geojson", r)
    assert len(zs) == 1102
    assert r.counts["zones.repaired_invalid_geometry"] == 13  # self-touching rings in the file
    rng = np.random.default_rng(8)
    lat, lon = rng.uniform(-85, 85, 20_000), rng.uniform(-180, 180, 20_000)
    _check_contains(zs, lat, lon)
    # sectors overlap, so the smallest-holder rule checked above is really exercised
    p, _ = zs.contains_pairs(lat, lon)
    assert (np.bincount(p, minlength=lat.size) > 1).sum() > 100


def test_contains_skips_invalid_points():
    zs = ZoneSet.from_features([("sq", "zone", [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], {})])
    got = zs.contains([0.5, np.nan, 95.0, 0.5], [0.5, 0.5, 0.5, 360.5])
    np.testing.assert_array_equal(got, [0, -1, -1, 0])


def test_queries_are_batched_not_per_point(cables):
    zs = ZoneSet.from_features([("sq", "zone", [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], {})])
    calls = []

    class Counting:
        def __init__(self, tree):
            self.tree = tree

        def query(self, *a, **k):
            calls.append(len(a[0]))
            return self.tree.query(*a, **k)

    zs.tree = Counting(zs.tree)
    rng = np.random.default_rng(1)
    zs.contains(rng.uniform(-2, 2, 100_000), rng.uniform(-2, 2, 100_000))
    assert calls == [100_000]
    calls.clear()
    tree = cables.tree
    cables.tree = Counting(tree)
    try:
        cables.nearest(rng.uniform(54, 60, 50_000), rng.uniform(10, 25, 50_000), 5_000)
        cables.crosses(np.full(1000, 55.0), np.full(1000, 15.0), 56.0, 16.0)
    finally:
        cables.tree = tree
    assert [c >= 1000 for c in calls] == [True, True]


# ---------------------------------------------------------------- lines: distances


def _densify(line: LineSet, step_m: float = 10.0):
    """~10 m points along every segment's great circle, with their along-line distance."""
    a_lat, a_lon = (
        np.degrees(np.arcsin(line.seg_a[:, 2])),
        np.degrees(np.arctan2(line.seg_a[:, 1], line.seg_a[:, 0])),
    )
    b_lat, b_lon = (
        np.degrees(np.arcsin(line.seg_b[:, 2])),
        np.degrees(np.arctan2(line.seg_b[:, 1], line.seg_b[:, 0])),
    )
    n = np.ceil(line.seg_len_m / step_m).astype(int) + 1
    seg = np.repeat(np.arange(n.size), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    frac = k / (n[seg] - 1)
    brg = g.initial_bearing_deg(a_lat, a_lon, b_lat, b_lon)
    lat, lon = g.destination(a_lat[seg], a_lon[seg], brg[seg], frac * line.seg_len_m[seg])
    along = line.seg_along0[seg] + frac * line.seg_len_m[seg]
    to_vertex = np.minimum(frac, 1 - frac) * line.seg_len_m[seg]
    return lat, lon, line.seg_line[seg], along, to_vertex


def test_nearest_matches_dense_great_circle_reference_in_the_baltic(cables):
    baltic = [
        i
        for i, f in enumerate(cables.features)
        if shapely.intersects(f.geometry, shapely.box(12, 54, 24, 60))
    ]
    sub = cables.select(names=[cables.names[i] for i in baltic])
    assert "c-lion1" in sub.names and len(sub) >= 10
    dlat, dlon, dline, dalong, _ = _densify(sub)
    rng = np.random.default_rng(3)
    # points off random dense points by 100 m to 20 km, plus uniform ones in the sea
    pick = rng.integers(0, dlat.size, 300)
    off = rng.uniform(100, 20_000, 300)
    plat, plon = g.destination(dlat[pick], dlon[pick], rng.uniform(0, 360, 300), off)
    plat = np.concatenate([plat, rng.uniform(54, 60, 100)])
    plon = np.concatenate([plon, rng.uniform(12, 24, 100)])
    line, dist, along = sub.nearest(plat, plon, 25_000)
    checked = 0
    for i in range(plat.size):
        near = (np.abs(dlat - plat[i]) < 0.3) & (np.abs(dlon - plon[i]) < 0.6)
        if not near.any():
            assert line[i] == -1 or dist[i] > 16_000
            continue
        d = g.haversine_m(plat[i], plon[i], dlat[near], dlon[near])
        j = np.argmin(d)
        if d[j] > 25_000:
            continue
        assert line[i] >= 0
        assert -1e-6 <= d[j] - dist[i] <= 1.0, (i, d[j], dist[i])
        # along: the same line's foot, to within the 10 m sampling
        if dline[near][j] == line[i] and np.sort(d)[1] < d[j] + 0.5:
            assert abs(dalong[near][j] - along[i]) <= 10.0
        checked += 1
    assert checked > 250
    far, fd, fa = sub.nearest([58.0], [0.0], 10_000)  # North Sea, no Baltic cable
    assert far[0] == -1 and fd[0] == np.inf and np.isnan(fa[0])


def test_along_is_monotone_along_c_lion1(cables):
    i = cables.index("c-lion1")
    assert i >= 0
    assert 1_000_000 < cables.length_m[i] < 1_300_000  # about 1,170 km in reality
    main = max(shapely.get_parts(cables.features[i].geometry), key=lambda p: p.length)
    one = LineSet.from_features([("C-Lion1", "cable", shapely.get_coordinates(main), {})])
    dlat, dlon, _, dalong, to_vertex = _densify(one, step_m=500.0)
    brg = g.initial_bearing_deg(dlat[:-1], dlon[:-1], dlat[1:], dlon[1:])
    # off the middle of segments, alternating sides: beside a bend the foot may rightly jump
    mid = np.flatnonzero(to_vertex[:-1] > 1000.0)
    side = (np.arange(mid.size) % 2) * 180.0
    plat, plon = g.destination(dlat[mid], dlon[mid], brg[mid] + 90.0 + side, 50.0)
    line, dist, along = one.nearest(plat, plon, 1_000)
    assert (line == 0).all()
    assert (np.diff(along) >= -1e-6).all()
    np.testing.assert_allclose(along, dalong[mid], atol=0.01)
    np.testing.assert_allclose(dist, 50.0, atol=0.01)


def test_in_corridor_is_nearest_within_each_lines_own_corridor(cables):
    rng = np.random.default_rng(4)
    lat, lon = rng.uniform(54, 60, 20_000), rng.uniform(10, 25, 20_000)
    line, dist = cables.in_corridor(lat, lon)
    nl, nd, _ = cables.nearest(lat, lon, 1000.0)
    np.testing.assert_array_equal(line, nl)
    np.testing.assert_array_equal(dist, nd)
    assert (line >= 0).sum() > 20
    # different corridors per line: a point 3 km from a 5 km-corridor line and 800 m from a
    # 500 m-corridor line belongs to the wide one
    two = LineSet.from_features(
        [
            ("wide", "pipeline", [(0, 0), (1, 0)], {"corridor_m": 5000}),
            ("narrow", "cable", [(0, 0.0342), (1, 0.0342)], {"corridor_m": 500}),
        ]
    )
    lat_p = np.degrees(3000.0 / g.EARTH_RADIUS_M)
    li, d = two.in_corridor([lat_p], [0.5])
    assert li[0] == 0 and d[0] == pytest.approx(3000.0, abs=0.01)
    assert two.kinds == ["pipeline", "cable"]


def test_crosses_exact_on_hand_made_equator_line():
    eq = LineSet.from_features([("eq", None, [(0, 0), (10, 0)], {})], default_corridor_m=1000)
    assert eq.kinds == ["cable"] and eq.corridor_m[0] == 1000
    d = np.degrees(np.array([556.0, 2224.0, 999.0, 1001.0]) / g.EARTH_RADIUS_M)
    got = eq.crosses(
        [1.0, d[1], d[2], d[3], 0.5, 0.0],
        [5.0, 5.0, 5.0, 5.0, -3.0, 10.0 + d[2]],
        [-1.0, d[1], d[2], d[3], 0.5, 0.1],
        [5.0, 6.0, 6.0, 6.0, -0.00001, 10.5],
    )
    # through it; parallel at 2.2 km; parallel at 999 m; at 1001 m; ends 55 km short;
    # starting 999 m beyond its east end
    np.testing.assert_array_equal(got, [0, -1, 0, -1, -1, 0])


def test_crosses_agrees_with_sampled_paths(cables):
    rng = np.random.default_rng(5)
    n = 300
    lat1, lon1 = rng.uniform(54, 60, n), rng.uniform(12, 24, n)
    lat2, lon2 = g.destination(lat1, lon1, rng.uniform(0, 360, n), rng.uniform(0, 30_000, n))
    got = cables.crosses(lat1, lon1, lat2, lon2)
    brg = g.initial_bearing_deg(lat1, lon1, lat2, lon2)
    length = g.haversine_m(lat1, lon1, lat2, lon2)
    k = np.linspace(0, 1, 601)
    slat, slon = g.destination(lat1[:, None], lon1[:, None], brg[:, None], length[:, None] * k)
    line, _ = cables.in_corridor(slat.ravel(), slon.ravel())
    hit = (line >= 0).reshape(n, -1).any(axis=1)
    _, nd, _ = cables.nearest(slat.ravel(), slon.ravel(), 1_100)
    sampled_min = nd.reshape(n, -1).min(axis=1)
    assert (got[hit] >= 0).all()  # the exact test finds whatever sampling finds
    assert (sampled_min[got >= 0] <= 1000.0 + 1.0).all()  # and nothing sampling rules out
    assert hit.sum() >= 5 and (~hit).sum() >= 5


# ---------------------------------------------------------------- zone edges


def test_distance_to_boundary_matches_dense_edges(shared_data):
    zs = load_zones(shared_data / "geo/fir_boundaries_vatspy.geojson", Rejects())
    rng = np.random.default_rng(6)
    lat, lon = rng.uniform(40, 75, 3000), rng.uniform(-30, 40, 3000)
    z = zs.contains(lat, lon)
    sel = np.flatnonzero(z >= 0)[:150]
    got = zs.distance_to_boundary_m(lat[sel], lon[sel], z[sel])
    for k, i in enumerate(sel):
        edge = shapely.segmentize(shapely.boundary(zs.geoms[z[i]]), 0.0005)
        xy = shapely.get_coordinates(edge)
        ref = g.haversine_m(lat[i], lon[i], xy[:, 1], xy[:, 0]).min()
        assert got[k] == pytest.approx(ref, abs=3.0 + 1e-5 * ref)
    sq = ZoneSet.from_features([("sq", "zone", [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], {})])
    d = sq.distance_to_boundary_m([0.5, 0.9], [0.5, 0.5], 0)
    assert d[0] == pytest.approx(g.haversine_m(0.5, 0.5, 0.5, 0.0), abs=1.0)
    assert d[1] == pytest.approx(g.haversine_m(0.9, 0.5, 1.0, 0.5), abs=1.0)
    assert np.isnan(sq.distance_to_boundary_m([0.5], [0.5], -1)[0])
    # outside, "about to enter": 0.1° east of the east edge; and capped by max_distance_m
    out = sq.distance_to_boundary_m([0.5, 0.5], [1.1, 1.1], [0, 0])
    assert out[0] == pytest.approx(g.haversine_m(0.5, 1.1, 0.5, 1.0), abs=1.0)
    capped = sq.distance_to_boundary_m([0.5, 0.5], [1.1, 1.001], 0, max_distance_m=1000.0)
    assert capped[0] == np.inf
    assert capped[1] == pytest.approx(g.haversine_m(0.5, 1.001, 0.5, 1.0), abs=0.5)


# ---------------------------------------------------------------- antimeridian


def test_line_crossing_antimeridian_is_split_not_world_spanning():
    ls = LineSet.from_features([("pac", "cable", [(179.0, 10.0), (-179.0, 10.2)], {})])
    assert len(shapely.get_parts(ls.features[0].geometry)) == 2
    x0, _, x1, _ = ls.features[0].geometry.bounds
    assert x0 == -180.0 and x1 == 180.0
    assert all((b[2] - b[0]) <= 1.0 for b in shapely.bounds(ls.tree.geometries))
    assert ls.length_m[0] == pytest.approx(g.haversine_m(10.0, 179.0, 10.2, -179.0), rel=1e-9)
    line, dist, along = ls.nearest([10.1, 10.1, 10.1], [180.0, -179.99, 0.0], 5_000)
    np.testing.assert_array_equal(line, [0, 0, -1])
    # the arc bulges ~170 m north of the chord at 180; compare with the arc itself
    arc_lat, arc_lon = g.destination(
        10.0,
        179.0,
        g.initial_bearing_deg(10.0, 179.0, 10.2, -179.0),
        np.linspace(0, 1, 20001) * ls.length_m[0],
    )
    for k in (0, 1):
        ref = g.haversine_m(10.1, [180.0, -179.99][k], arc_lat, arc_lon).min()
        assert dist[k] == pytest.approx(ref, abs=0.1)
    assert along[1] > along[0] > 0
    crossing = ls.crosses([9.0], [179.9], [11.0], [-179.9])
    assert crossing[0] == 0


def test_polygon_crossing_antimeridian_and_round_a_pole():
    ring = [(170, -10), (-170, -10), (-170, 10), (170, 10), (170, -10)]
    zs = ZoneSet.from_features([("pac", "zone", ring, {})])
    assert zs.geoms[0].area == pytest.approx(400.0)
    got = zs.contains([0, 0, 0, 0], [180.0, 175.0, -175.0, 0.0])
    np.testing.assert_array_equal(got, [0, 0, 0, -1])
    # a ring at 80N round the pole: its only jump is 170 -> -170, and it must hold the pole
    arctic = [(-170.0 + 20 * k, 80.0) for k in range(18)] + [(-170.0, 80.0)]
    zs2 = ZoneSet.from_features([("arctic", "zone", arctic, {})])
    got = zs2.contains([85, 85, 70], [0, 179.5, 0])
    np.testing.assert_array_equal(got, [0, 0, -1])


# ---------------------------------------------------------------- loaders


def test_kml_loads_ten_named_cables_and_kmz_too(shared_data):
    r = Rejects()
    ls = load_lines(shared_data / KML, r)
    assert len(ls) == 10 and r.rejected == 0 and r.geography == 10
    assert "Botnia" in ls.names and "Sweden-Latvia" in ls.names
    assert set(ls.kinds) == {"cable"} and (ls.corridor_m == 1000.0).all()
    assert ls.properties[0]["description"] == "Umeå-Vaasa"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", (shared_data / KML).read_bytes())
    kmz = parse_kmz(buf.getvalue(), "cables.kmz", Rejects())
    assert [f.name for f in kmz] == ls.names


def test_c_lion1_is_in_the_telegeography_file(cables):
    i = cables.index("C-Lion1")
    assert i >= 0 and cables.kinds[i] == "cable"
    # it lands near Helsinki and runs to Rostock
    coords = shapely.get_coordinates(cables.features[i].geometry)
    assert g.haversine_m(coords[:, 1], coords[:, 0], 60.17, 24.94).min() < 5_000
    assert g.haversine_m(coords[:, 1], coords[:, 0], 54.1, 12.1).min() < 20_000


KML_NO_NS = b"""<?xml version="1.0"?>
<kml><Document><Folder><name>f</name><Folder>
 <Placemark><name>Zone A</name>
  <ExtendedData><Data name="kind"><value>restricted</value></Data></ExtendedData>
  <MultiGeometry>
   <Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 4,0 4,4 0,4 0,0</coordinates>
   </LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing>
   <coordinates>1,1 2,1 2,2 1,2 1,1</coordinates></LinearRing></innerBoundaryIs></Polygon>
   <Point><coordinates>9,9</coordinates></Point>
  </MultiGeometry></Placemark>
 <Placemark><name>Balticconnector gas pipeline</name>
  <ExtendedData><SchemaData><SimpleData name="corridor_m">2500</SimpleData></SchemaData>
  </ExtendedData>
  <LineString><coordinates>24.0,59.9 , 24.5,59.5 23.9,59.2</coordinates></LineString>
 </Placemark>
 <Placemark><name>bad</name><LineString><coordinates>1,x 2,3</coordinates></LineString>
 </Placemark>
</Folder></Folder></Document></kml>"""


def test_kml_without_namespace_nested_folders_multigeometry():
    r = Rejects()
    feats = parse_kml(KML_NO_NS, "t.kml", r)
    assert [f.name for f in feats] == ["Zone A", "Balticconnector gas pipeline"]
    assert r.counts == {"zones.point_ignored": 1, "zones.bad_coordinates": 1}
    zs, ls = ZoneSet(feats), LineSet(feats)
    assert zs.kinds == ["restricted"] and ls.kinds == ["pipeline"]
    assert ls.corridor_m[0] == 2500.0
    np.testing.assert_array_equal(zs.contains([0.5, 1.5, 3.5], [0.5, 1.5, 3.5]), [0, -1, 0])


def test_bow_tie_is_repaired_counted_and_dead_lettered(tmp_path):
    r = Rejects(tmp_path / "dead.jsonl")
    doc = {
        "type": "Feature",
        "properties": {"name": "bow"},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    }
    feats = parse_geojson(json.dumps(doc).encode(), "bow.geojson", r)
    r.close()
    assert r.counts == {"zones.repaired_invalid_geometry": 1} and r.geography == 1
    (rec,) = [json.loads(x) for x in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert rec["where"] == "bow.geojson:feature[0]" and rec["raw"].startswith("POLYGON ((0 0, 1 1")
    zs = ZoneSet(feats)
    assert zs.geoms[0].is_valid and zs.geoms[0].area == pytest.approx(0.5)
    np.testing.assert_array_equal(zs.contains([0.5, 0.2, 0.5], [0.2, 0.5, 0.8]), [0, -1, 0])


@pytest.mark.parametrize(
    ("coords", "reason"),
    [
        ([[0, 0], [1, float("nan")], [1, 1], [0, 0]], "zones.bad_coordinates"),
        ([[0, 0], [1, 95], [1, 1], [0, 0]], "zones.coordinates_out_of_range"),
        ([[0, 0], ["1", 2], [1, 1], [0, 0]], "zones.bad_coordinates"),
        ([[0, 0], [1], [1, 1], [0, 0]], "zones.bad_coordinates"),
        ([[0, 0], [1, 1], [0, 0]], "zones.degenerate_geometry"),
        ([[0, 0], [1, 1], [2, 2], [0, 0]], "zones.invalid_geometry"),
    ],
)
def test_bad_polygons_are_rejected_with_a_reason(coords, reason):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [0, 0]},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [coords]},
            },
        ],
    }
    r = Rejects()
    assert parse_geojson(json.dumps(fc).encode(), "x.geojson", r) == []
    assert r.counts == {"zones.point_ignored": 1, reason: 1}


def test_garbage_files_are_counted_not_raised(tmp_path):
    r = Rejects()
    assert parse_geojson(b'{"type": "FeatureCollection", "features": [', "a.geojson", r) == []
    assert parse_kml(b"<kml>\n<Document>\n<Placemark></Document>", "b.kml", r) == []
    assert parse_kml(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><kml>&a;</kml>', "c.kml", r) == []
    assert parse_kmz(b"PK\x03\x04 not a zip", "d.kmz", r) == []
    assert parse_geojson(b'{"type": "Topology"}', "e.geojson", r) == []
    assert read_features(tmp_path / "missing.geojson", r) == []
    assert r.counts == {
        "zones.bad_json": 1,
        "zones.bad_xml": 1,
        "zones.xml_dtd_refused": 1,
        "zones.bad_kmz": 1,
        "zones.unsupported_geometry": 1,
        "zones.unreadable_file": 1,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), fmt=st.sampled_from(["geojson", "kml", "kmz", None]))
def test_fuzz_random_bytes_never_raise_and_are_counted(data, fmt):
    r = Rejects()
    feats = parse_bytes(data, "fuzz", r, fmt=fmt)
    assert len(feats) == r.geography
    assert feats or r.rejected > 0 or data.strip().startswith((b"{", b"[", b"<", b'"'))


@settings(max_examples=200, deadline=None)
@given(
    cut=st.integers(0, len(KML_NO_NS)),
    flip=st.integers(0, len(KML_NO_NS) - 1),
    byte=st.integers(0, 255),
)
def test_fuzz_truncated_and_mutated_kml_never_raise(cut, flip, byte):
    truncated = KML_NO_NS[:cut]
    r = Rejects()
    parse_kml(truncated, "t.kml", r)
    if cut < len(KML_NO_NS) - 10:
        assert r.rejected > 0  # an unclosed document is a counted XML error
    mutated = bytearray(KML_NO_NS)
    mutated[flip] = byte
    parse_bytes(bytes(mutated), "m.kml", Rejects())


GEOJSON_SAMPLE = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "Z1",
                "properties": {"kind": "airspace"},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"NAME": "L"},
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [3, 3]]},
            },
        ],
    }
).encode()


@settings(max_examples=200, deadline=None)
@given(
    cut=st.integers(0, len(GEOJSON_SAMPLE)),
    flip=st.integers(0, len(GEOJSON_SAMPLE) - 1),
    byte=st.integers(0, 255),
)
def test_fuzz_truncated_and_mutated_geojson_never_raise(cut, flip, byte):
    r = Rejects()
    feats = parse_geojson(GEOJSON_SAMPLE[:cut], "t.geojson", r)
    if cut < len(GEOJSON_SAMPLE):
        assert feats == [] and r.counts["zones.bad_json"] == 1
    mutated = bytearray(GEOJSON_SAMPLE)
    mutated[flip] = byte
    parse_bytes(bytes(mutated), "m.geojson", Rejects())


def test_loading_one_kind_counts_the_other(tmp_path):
    path = tmp_path / "mixed.geojson"
    path.write_bytes(GEOJSON_SAMPLE)
    r = Rejects()
    zs = load_zones(path, r)
    assert zs.names == ["Z1"] and r.geography == 1 and r.counts == {"zones.not_polygon": 1}
    r = Rejects()
    ls = load_lines([path, path], r, default_corridor_m=250.0)
    assert ls.names == ["L", "L"] and (ls.corridor_m == 250.0).all()
    assert r.geography == 2 and r.counts == {"zones.not_line": 2}


def test_geojson_names_kinds_and_bare_geometry():
    r = Rejects()
    feats = parse_geojson(GEOJSON_SAMPLE, "s.geojson", r)
    assert [(f.name, f.kind) for f in feats] == [("Z1", "airspace"), ("L", "cable")]
    bare = parse_geojson(b'{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}', "b", r)
    assert [(f.name, f.kind, f.corridor_m) for f in bare] == [("b#0", "cable", 1000.0)]
    assert r.rejected == 0 and r.geography == 3
