"""`Airports.in_zone` skips the airport search for points above every zone's top: the
same answers as the search for every point (real airports table, points at and around
the ceiling, unknown altitudes, a NaN elevation, an empty table, scalar altitudes)."""

from __future__ import annotations

import numpy as np
import pytest

from picket.geo import airports as ap


def _searched(a: ap.Airports, lat: np.ndarray, lon: np.ndarray, alt) -> np.ndarray:
    """The answer with every point searched (what `in_zone` computed before the ceiling)."""
    idx, _ = a.nearest(lat, lon)
    hit = idx >= 0
    alt = np.broadcast_to(np.asarray(alt, float), np.shape(idx))
    top = np.where(hit, a.elev_m[np.maximum(idx, 0)] + a.height_m, -np.inf)
    return hit & ~(alt > top)


def _points(a: ap.Airports, rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    k = rng.integers(0, len(a), n)
    lat = np.clip(a.lat[k] + rng.normal(0, 0.05, n), -90, 90)
    lon = (a.lon[k] + rng.normal(0, 0.05, n) + 180) % 360 - 180
    ceiling = np.max(a.elev_m) + a.height_m
    top = a.elev_m[k] + a.height_m
    alt = np.concatenate([
        rng.uniform(-100, 12_000, n - 60),
        np.full(10, ceiling), np.nextafter(np.full(10, ceiling), np.inf),
        np.nextafter(np.full(10, ceiling), -np.inf), np.full(10, np.nan),
        top[:10], np.nextafter(top[10:20], np.inf),
    ])  # fmt: skip
    return lat, lon, alt


def test_in_zone_as_searching_every_point() -> None:
    a = ap.load_airports()
    if a is None or not len(a):
        pytest.skip("no airports table (airportsdata not installed)")
    rng = np.random.default_rng(3)
    lat, lon, alt = _points(a, rng, 4000)
    want = _searched(a, lat, lon, alt)
    assert want.any() and not want.all()  # the points test both answers
    assert np.array_equal(a.in_zone(lat, lon, alt), want)
    for scalar in (0.0, 50_000.0, np.nan):
        assert np.array_equal(a.in_zone(lat, lon, scalar), _searched(a, lat, lon, scalar))
    # one airport with an unknown elevation: its zone has no top, so nothing is skipped
    b = ap.Airports(a.lat, a.lon, a.elev_m.copy(), a.codes, a.names)
    idx, _ = b.nearest(lat, lon)
    near = np.flatnonzero(idx >= 0)[:20]
    b.elev_m[idx[near]] = np.nan
    high = alt.copy()
    high[near] = 50_000.0
    want = _searched(b, lat, lon, high)
    assert want[near].all()
    assert np.array_equal(b.in_zone(lat, lon, high), want)
    empty = ap.Airports(a.lat[:0], a.lon[:0], a.elev_m[:0], [], [])
    assert not empty.in_zone(lat, lon, alt).any()
