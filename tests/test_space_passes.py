"""Overflights: passes over a polygon against an independent topocentric elevation check."""

from __future__ import annotations

import numpy as np
import pytest

from picket.geo.geodesy import geodetic_to_ecef
from picket.geo.zones import ZoneSet
from picket.model.rejects import Rejects
from picket.space.passes import find_passes
from picket.space.propagate import Propagator, teme_to_ecef
from picket.space.read import read_elements

pytestmark = pytest.mark.realdata

RING = [(18.0, 56.9), (19.4, 56.9), (19.4, 58.0), (18.0, 58.0), (18.0, 56.9)]  # Gotland


def _max_elevation(prop: Propagator, sat: int, t: np.ndarray, lat: np.ndarray, lon: np.ndarray):
    """Highest elevation (deg) of `sat` over ground points, per time: ellipsoidal normals."""
    r, _, _ = prop.states(t, np.array([sat]))
    sat_ecef = teme_to_ecef(r[0], t) * 1000.0  # (m, 3)
    gx, gy, gz = geodetic_to_ecef(lat, lon, 0.0)
    g = np.stack([gx, gy, gz], axis=1)
    up = np.stack([np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                   np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
                   np.sin(np.radians(lat))], axis=1)  # fmt: skip
    los = sat_ecef[:, None, :] - g[None, :, :]
    s = np.einsum("tgi,gi->tg", los, up) / np.linalg.norm(los, axis=2)
    return np.degrees(np.arcsin(s)).max(axis=1)


def test_passes_agree_with_topocentric_elevation(shared_data):
    es = read_elements(shared_data / "space/celestrak_omm_catalog_20241101.csv", Rejects())
    pick = np.sort(np.random.default_rng(4).choice(len(es), 400, replace=False))
    iss = int(np.flatnonzero(es.norad == 25544)[0])
    prop = Propagator(es.take(np.union1d(pick, [iss])))
    zones = ZoneSet.from_features([("gotland", "area", RING, {})])
    start = float(np.floor(np.quantile(es.epoch, 0.99) / 60) * 60)
    step = 30.0
    ps = find_passes(prop, zones, start, 6 * 3600.0, step_s=step, min_elevation_deg=10.0)
    assert 25544 in prop.elements.norad[ps.sat]  # the ISS (51.6 deg) passes Gotland in 6 h
    # ground points filling the polygon
    lon, lat = np.meshgrid(np.linspace(18.0, 19.4, 8), np.linspace(56.9, 58.0, 8))
    lat, lon = lat.ravel(), lon.ravel()
    times = start + np.arange(0.0, 6 * 3600.0 + step / 2, step)
    checked = 0
    for s in np.unique(ps.sat)[:60].tolist():
        el = _max_elevation(prop, s, times, lat, lon)
        inside = np.zeros(len(times), bool)
        for k in np.flatnonzero(ps.sat == s):
            inside |= (times >= ps.start[k]) & (times <= ps.end[k])
        # in a pass: seen from the area above ~10 deg; outside: not (0.5 deg for the sphere
        # used by the footprint and the 8x8 sampling of the area)
        assert (el[inside] > 9.5).all(), s
        assert (el[~inside] < 10.5).all(), s
        checked += int(inside.sum())
    assert checked > 50
