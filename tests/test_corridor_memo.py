"""The corridor memo reuses an answer only for the exact point it was computed for."""

import numpy as np
import pytest

from picket.geo.zones import LineSet, PointMemo


def _lines() -> LineSet:
    rng = np.random.default_rng(3)
    feats = []
    for k in range(5):
        n = 4 + k
        lats = 55.0 + np.cumsum(rng.normal(0, 0.2, n))
        lons = 11.0 + np.cumsum(rng.normal(0, 0.4, n))
        feats.append((f"c{k}", "cable", list(zip(lons, lats, strict=True)),
                      {"corridor_m": 800.0 + 700 * (k % 3)}))  # fmt: skip
    return LineSet.from_features(feats)


def _batches(lines: LineSet, n_batches: int = 12):
    """Points near the cables; each batch repeats many positions of earlier batches
    (moored ships), moves some by one ulp and adds new ones."""
    rng = np.random.default_rng(11)
    s = rng.integers(0, len(lines.seg_a), 600)
    f = rng.random(600)
    p = lines.seg_a[s] * (1 - f[:, None]) + lines.seg_b[s] * f[:, None]
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    lat = np.degrees(np.arcsin(p[:, 2])) + rng.normal(0, 0.01, 600)
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0])) + rng.normal(0, 0.02, 600)
    for b in range(n_batches):
        pick = rng.integers(0, 100 + 40 * b, 300)
        la, lo = lat[pick].copy(), lon[pick].copy()
        nudge = rng.random(300) < 0.1
        la[nudge] = np.nextafter(la[nudge], np.inf)  # a different point, however close
        lo[~nudge & (rng.random(300) < 0.1)] += 1e-9  # the same latitude, another longitude
        lo[:5] = rng.uniform(-180, 180, 5)  # far ones
        la[5] = np.nan
        yield la, lo


@pytest.mark.parametrize("bits", [16, 2])  # 2 bits: four entries, constant collisions
def test_memo_answers_equal_fresh_lookups(bits):
    lines = _lines()
    lines._memo = PointMemo(bits)
    hits = 0
    for la, lo in _batches(lines):
        fresh = LineSet(lines.features)  # an empty memo: every point computed
        want_line, want_d = fresh.in_corridor(la, lo)
        near = np.flatnonzero(lines._near.maybe_near(la, lo)) if lines._near else []
        if len(near):
            hits += int(lines._memo.find(la[near], lo[near])[1].sum())
        got_line, got_d = lines.in_corridor(la, lo)
        assert np.array_equal(got_line, want_line)
        assert np.array_equal(got_d, want_d)  # bit for bit, inf where outside
    assert (want_line >= 0).sum() > 20
    if bits == 16:
        assert hits > 1000  # the memo was actually used


def test_memo_hit_needs_both_coordinates():
    m = PointMemo(1)  # two entries: most of these points share a slot with the first
    lat = np.r_[55.0, np.full(8, 55.0), 55.0 + np.arange(1, 9) / 10]
    lon = np.r_[12.0, 12.0 + np.arange(1, 9) / 10, np.full(8, 12.0)]
    m.store(lat[:1], lon[:1], np.array([3]), np.array([10.0]))
    slot, hit = m.find(lat, lon)
    assert hit.tolist() == [True] + [False] * 16
    assert (slot[1:9] == slot[0]).any() and (slot[9:] == slot[0]).any()  # collisions tried
    assert m.line[slot[0]] == 3 and m.dist[slot[0]] == 10.0
