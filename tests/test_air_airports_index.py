"""The airports layer without SciPy: the cube grid answers as SciPy's KD-tree did, and the
table comes from a cache file that a damaged copy cannot spoil."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from picket.geo import airports as ap

cKDTree = pytest.importorskip("scipy.spatial").cKDTree


def _points(a: ap.Airports, rng: np.random.Generator, n: int, spread_m: float) -> tuple:
    """Points scattered around real airports (some exactly on one, some at the poles and
    the antimeridian) and uniformly over the globe."""
    k = rng.integers(0, len(a), n)
    d = spread_m / 111_000.0
    lat = np.clip(a.lat[k] + rng.normal(0, d, n), -90, 90)
    lon = (a.lon[k] + rng.normal(0, d, n) + 180) % 360 - 180
    lat[:50], lon[:50] = a.lat[k[:50]], a.lon[k[:50]]
    far = rng.uniform(-1, 1, (n // 4, 2)) * [90, 180]
    edge = np.array([[90.0, 0.0], [-90.0, 10.0], [0.0, 180.0], [0.0, -180.0], [51.5, 179.99]])
    return np.r_[lat, far[:, 0], edge[:, 0]], np.r_[lon, far[:, 1], edge[:, 1]]


def _same(a: ap.Airports, idx: np.ndarray, want: np.ndarray) -> bool:
    """The same airports, but where two share a position (the table has such pairs) the
    KD-tree's pick between them depends on its build: either one is right."""
    tie = (idx != want) & (idx >= 0) & (want >= 0)
    tie &= (a.lat[idx] == a.lat[want]) & (a.lon[idx] == a.lon[want])
    return bool(np.array_equal(np.where(tie, want, idx), want))


def _tree(a: ap.Airports, rows: np.ndarray, lat: np.ndarray, lon: np.ndarray, chord: float):
    d, i = cKDTree(ap._unit(a.lat[rows], a.lon[rows])).query(
        ap._unit(lat, lon), k=1, distance_upper_bound=chord
    )
    hit = np.isfinite(d)
    return np.where(hit, rows[np.minimum(i, len(rows) - 1)], -1), np.where(hit, d, np.inf)


@pytest.mark.parametrize("radius_m", [ap.ATZ_RADIUS_M, 1000.0, 15_000.0])
def test_nearest_as_the_kd_tree(radius_m: float) -> None:
    a = ap.load_airports(radius_m=radius_m)
    if not len(a):
        pytest.skip("airportsdata is not installed")
    lat, lon = _points(a, np.random.default_rng(int(radius_m)), 20_000, 2 * radius_m)
    idx, dist = a.nearest(lat, lon)
    chord = 2 * np.sin(radius_m / (2 * ap.EARTH_R))
    want_i, want_d = _tree(a, np.arange(len(a)), lat, lon, chord)
    assert (idx >= 0).sum() > 3000  # the test reaches the airports
    assert _same(a, idx, want_i)
    arc = np.where(want_i >= 0, 2 * ap.EARTH_R * np.arcsin(np.minimum(want_d, 2.0) / 2), np.inf)
    assert np.array_equal(dist, arc)


@pytest.mark.parametrize("radius_m", [ap.TERMINAL_RADIUS_M, 20_000.0])
def test_served_within_as_the_kd_tree(radius_m: float) -> None:
    a = ap.load_airports()
    if not len(a):
        pytest.skip("airportsdata is not installed")
    lat, lon = _points(a, np.random.default_rng(7), 20_000, radius_m)
    idx, dist = a.served_within(lat, lon, radius_m)
    chord = 2 * np.sin(radius_m / (2 * ap.EARTH_R))
    want_i, want_d = _tree(a, a.served_idx, lat, lon, chord)
    assert (idx >= 0).sum() > 2000
    assert _same(a, idx, want_i)
    arc = np.where(want_i >= 0, 2 * ap.EARTH_R * np.arcsin(np.minimum(want_d, 2.0) / 2), np.inf)
    assert np.array_equal(dist, arc)


def test_grid_takes_empty_and_missing() -> None:
    a = ap.load_airports()
    idx, dist = a.nearest(np.array([np.nan, 0.0]), np.array([0.0, np.nan]))
    assert idx.tolist() == [-1, -1] and np.isinf(dist).all()
    empty = ap.Airports(np.empty(0), np.empty(0), np.empty(0), [], [])
    assert empty.nearest(np.array([47.0]), np.array([8.0]))[0].tolist() == [-1]
    assert empty.served_within(np.array([47.0]), np.array([8.0]))[0].tolist() == [-1]


def test_table_cached_once_then_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    airportsdata = pytest.importorskip("airportsdata")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parsed = ap._cached(airportsdata)
    files = list((tmp_path / "picket").glob("airports*.npz"))
    assert len(files) == 1
    cached = ap._cached(airportsdata)
    for x, y in zip(parsed, cached, strict=True):
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
    assert len(parsed[3]) > 20_000 and parsed[3][0] and parsed[4][0]
    files[0].write_bytes(files[0].read_bytes()[:1000])  # a cut file: parsed again, rewritten
    with caplog.at_level(logging.WARNING, logger="picket.geo.airports"):
        again = ap._cached(airportsdata)
    assert "unreadable" in caplog.text
    assert again[3] == parsed[3] and np.array_equal(again[0], parsed[0])
    assert ap._cached(airportsdata)[4] == parsed[4]  # the rewritten cache reads whole
