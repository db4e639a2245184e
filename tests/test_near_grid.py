"""The corridor grid is conservative: the fast `in_corridor` equals brute force everywhere."""

import numpy as np
import pytest

from picket.geo.zones import EARTH_RADIUS_M, LineSet, point_arc, unit_vectors


def brute(lines: LineSet, lat, lon):
    """Distance from every point to every segment, no index at all."""
    u = unit_vectors(lat, lon)
    d = np.stack([point_arc(u, np.broadcast_to(a, u.shape), np.broadcast_to(b, u.shape),
                            np.broadcast_to(n, u.shape), np.full(len(u), ok))[0]
                  for a, b, n, ok in zip(lines.seg_a, lines.seg_b, lines.seg_n, lines.seg_ok,
                                         strict=True)], axis=1) * EARTH_RADIUS_M  # fmt: skip
    d[d > lines.corridor_m[lines.seg_line][None, :]] = np.inf  # each line's own corridor
    seg = np.argmin(d, axis=1)
    best = d[np.arange(len(u)), seg]
    inside = np.isfinite(best)
    return np.where(inside, lines.seg_line[seg], -1), best


@pytest.mark.parametrize("lat0,lon0", [(55.0, 12.0), (70.0, 179.9), (84.0, -30.0), (-60.0, 0.0)])
def test_grid_answers_equal_brute_force(lat0, lon0):
    rng = np.random.default_rng(7)
    feats = []
    for k in range(6):  # short and long polylines, some crossing the antimeridian
        n = 3 + k
        lats = np.clip(lat0 + np.cumsum(rng.normal(0, 0.3 * (k + 1), n)), -89, 89)
        lons = lon0 + np.cumsum(rng.normal(0, 0.6 * (k + 1), n))
        lons = (lons + 180) % 360 - 180
        feats.append((f"c{k}", "cable", list(zip(lons, lats, strict=True)),
                      {"corridor_m": 500.0 + 1500 * (k % 3)}))  # fmt: skip
    lines = LineSet.from_features(feats)
    # points on the lines, jittered out to a few km, plus far ones
    s = rng.integers(0, len(lines.seg_a), 3000)
    f = rng.random(3000)
    p = lines.seg_a[s] * (1 - f[:, None]) + lines.seg_b[s] * f[:, None]
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    lat = np.degrees(np.arcsin(p[:, 2])) + rng.normal(0, 0.02, 3000)
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0])) + rng.normal(0, 0.04, 3000)
    lat = np.r_[np.clip(lat, -89.9, 89.9), rng.uniform(-89, 89, 500)]
    lon = np.r_[(lon + 180) % 360 - 180, rng.uniform(-180, 180, 500)]
    want_line, want_d = brute(lines, lat, lon)
    got_line, got_d = lines.in_corridor(lat, lon)
    assert (want_line >= 0).sum() > 300  # the test exercises the corridor, not only misses
    assert np.array_equal(got_line, want_line)
    hit = want_line >= 0
    assert np.allclose(got_d[hit], want_d[hit], atol=1e-6)


def test_repeated_positions_are_answered_alike():
    lines = LineSet.from_features([("c", "cable", [(20.0, 59.0), (20.0, 60.0)], {})])
    lat = np.array([59.5, 59.5, 59.5, 59.2, np.nan])
    lon = np.array([20.001, 20.001, 20.5, 20.0, 20.0])
    line, dist = lines.in_corridor(lat, lon)
    assert line.tolist() == [0, 0, -1, 0, -1]
    assert dist[0] == dist[1] and 50 < dist[0] < 60 and dist[3] < 1e-6
