"""Geodesy against independent references (pyproj's geodesic and PROJ's ECEF)."""

import numpy as np
import pytest

from picket.geo import geodesy as g

pyproj = pytest.importorskip("pyproj")


def test_haversine_matches_wgs84_geodesic_within_0_6_percent():
    rng = np.random.default_rng(1)
    lat1, lon1 = rng.uniform(-80, 80, 500), rng.uniform(-180, 180, 500)
    lat2, lon2 = lat1 + rng.uniform(-3, 3, 500), lon1 + rng.uniform(-3, 3, 500)
    lat2 = np.clip(lat2, -89, 89)
    _, _, ref = pyproj.Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    rel = np.abs(g.haversine_m(lat1, lon1, lat2, lon2) - ref) / ref
    assert rel.max() < 0.006


def test_one_degree_of_latitude_on_the_sphere():
    assert g.haversine_m(0, 0, 1, 0) == pytest.approx(np.pi * g.EARTH_RADIUS_M / 180, rel=1e-12)


def test_destination_inverts_distance_and_bearing():
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(-70, 70, 200), rng.uniform(-180, 180, 200)
    brg, dist = rng.uniform(0, 360, 200), rng.uniform(1, 300_000, 200)
    lat2, lon2 = g.destination(lat, lon, brg, dist)
    np.testing.assert_allclose(g.haversine_m(lat, lon, lat2, lon2), dist, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        g.angle_diff_deg(g.initial_bearing_deg(lat, lon, lat2, lon2), brg), 0, atol=1e-7
    )


def test_ecef_matches_proj_and_round_trips():
    rng = np.random.default_rng(3)
    lat, lon, h = (
        rng.uniform(-89, 89, 300),
        rng.uniform(-180, 180, 300),
        rng.uniform(-100, 9e5, 300),
    )
    tr = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    xr, yr, zr = tr.transform(lon, lat, h)
    x, y, z = g.geodetic_to_ecef(lat, lon, h)
    np.testing.assert_allclose(np.c_[x, y, z], np.c_[xr, yr, zr], atol=1e-6)
    lat2, lon2, h2 = g.ecef_to_geodetic(x, y, z)
    np.testing.assert_allclose(lat2, lat, atol=1e-10)
    np.testing.assert_allclose(lon2, lon, atol=1e-10)
    np.testing.assert_allclose(h2, h, atol=1e-4)


def test_enu_round_trip_and_axes():
    e, n, u = g.geodetic_to_enu(55.001, 21.0, 100.0, 55.0, 21.0, 0.0)
    assert abs(e) < 1e-6 and n == pytest.approx(111.3, abs=0.5) and u == pytest.approx(100, abs=0.1)
    e, n, u = g.geodetic_to_enu(55.0, 21.001, 0.0, 55.0, 21.0, 0.0)
    assert e == pytest.approx(63.97, abs=0.2) and abs(n) < 0.01
    rng = np.random.default_rng(4)
    lat, lon = 55 + rng.uniform(-1, 1, 100), 21 + rng.uniform(-1, 1, 100)
    alt = rng.uniform(0, 10_000, 100)
    lat2, lon2, alt2 = g.enu_to_geodetic(*g.geodetic_to_enu(lat, lon, alt, 55, 21, 0), 55, 21, 0)
    np.testing.assert_allclose(lat2, lat, atol=1e-10)
    np.testing.assert_allclose(lon2, lon, atol=1e-10)
    np.testing.assert_allclose(alt2, alt, atol=1e-4)
