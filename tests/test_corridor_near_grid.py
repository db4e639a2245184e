"""The near-segment grid built a block of segments at a time is the one-pass table, value for
value: the block build only bounds the build's memory (bench ais peak RSS)."""

import numpy as np
import pytest

from picket.geo import near_grid as ng
from picket.geo.zones import LineSet, load_lines
from picket.model.rejects import Rejects


def _one_pass(a: np.ndarray, b: np.ndarray, radius_m: float):
    """The builder as it was: every segment's samples and cell offsets in one pass."""
    n_seg = len(a)
    seg, lat, lon = ng._samples(a, b)
    reach = radius_m + ng.STEP_M / 2
    polar = np.abs(lat) >= ng.POLAR_LAT + reach / ng.M_PER_DEG + ng.CELL_DEG
    polar_segs = np.unique(seg[polar])
    seg, lat, lon = seg[~polar], lat[~polar], lon[~polar]
    i = np.floor((lat + 90.0) / ng.CELL_DEG).astype(np.int64)
    j = np.floor(((lon + 180.0) % 360.0) / ng.CELL_DEG).astype(np.int64) % ng.N_LON
    ki = int(np.ceil(reach / (ng.CELL_DEG * ng.M_PER_DEG)))
    pole = np.minimum(np.abs(i * ng.CELL_DEG - 90.0) + ng.CELL_DEG * (ki + 1), 89.9)
    kj = np.ceil(reach / (ng.CELL_DEG * ng.M_PER_DEG * np.cos(np.radians(pole)))).astype(int)
    kj = np.minimum(kj, 1023)
    ns = max(n_seg, 1)
    packed = np.unique(((i * ng.N_LON + j) * 1024 + kj) * ns + seg)
    seg, rest = packed % ns, packed // ns
    kj, cell = rest % 1024, rest // 1024
    i, j = cell // ng.N_LON, cell % ng.N_LON
    pairs = [np.zeros(0, np.int64)]
    for dj in range(-int(kj.max(initial=0)), int(kj.max(initial=0)) + 1):
        m = kj >= abs(dj)
        for di in range(-ki, ki + 1):
            pairs.append(((i[m] + di) * ng.N_LON + (j[m] + dj) % ng.N_LON) * ns + seg[m])
    v = np.unique(np.concatenate(pairs))
    cells, segs = v // ns, v % ns
    first = np.r_[True, cells[1:] != cells[:-1]] if len(cells) else np.zeros(0, bool)
    return polar_segs, cells[first], np.r_[np.flatnonzero(first), len(cells)], segs


def _check(lines: LineSet, radius_m: float) -> ng.NearGrid:
    g = ng.NearGrid(lines.seg_a, lines.seg_b, radius_m)
    polar, keys, start, segs = _one_pass(lines.seg_a, lines.seg_b, radius_m)
    np.testing.assert_array_equal(g.polar_segs, polar)
    np.testing.assert_array_equal(g.keys, keys)
    np.testing.assert_array_equal(g.start, start)
    np.testing.assert_array_equal(g.segs.astype(np.int64), segs)
    return g


@pytest.mark.parametrize("block", [7, 64, 1 << 15])
def test_blocks_give_the_one_pass_table(monkeypatch, block):
    """Random polylines, long and short, some crossing the antimeridian and near a pole,
    cut into blocks of every size: the same table."""
    monkeypatch.setattr(ng, "BLOCK_SAMPLES", block)
    rng = np.random.default_rng(5)
    feats = []
    for k in range(12):
        n = 3 + k
        lat0 = [55.0, 88.5, -70.0, 10.0][k % 4]
        lon0 = [11.0, 179.5, -179.0, 100.0][k % 4]
        lats = np.clip(lat0 + np.cumsum(rng.normal(0, 0.3 + k % 3, n)), -89.0, 89.0)
        lons = lon0 + np.cumsum(rng.normal(0, 0.5 + k % 2, n))
        lons = (lons + 180.0) % 360.0 - 180.0
        feats.append((f"c{k}", "cable", list(zip(lons, lats, strict=True)), {}))
    lines = LineSet.from_features(feats)
    assert len(lines.seg_a) > 50
    g = _check(lines, 1000.0)
    assert len(g.polar_segs) and g.n_blocks > (1 if block < 1000 else 0)


def test_real_cables_same_table(shared_data, monkeypatch):
    """The TeleGeography cables (what bench ais uses), in blocks small enough to cut many
    times: the same table as the one-pass build."""
    path = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    lines = load_lines(path, Rejects())
    monkeypatch.setattr(ng, "BLOCK_SAMPLES", 4096)
    g = _check(lines, float(np.max(lines.corridor_m)))
    assert g.n_blocks > 10


@pytest.mark.parametrize("block", [61, 1 << 15])
def test_bitmap_answers_as_the_key_search(shared_data, monkeypatch, block):
    """`maybe_near` reads a bit per cell; the answer is the search among the grid's keys for
    points near the cables, anywhere on the globe, on cell edges, the poles and the
    antimeridian, and for NaN (the bitmap built in blocks of keys that split bytes, too)."""
    monkeypatch.setattr(ng, "BLOCK_SAMPLES", block)
    path = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    lines = load_lines(path, Rejects())
    g = ng.NearGrid(lines.seg_a, lines.seg_b, float(np.max(lines.corridor_m)))
    rng = np.random.default_rng(9)
    s = rng.integers(0, len(lines.seg_a), 20_000)
    p = lines.seg_a[s]
    lat = np.r_[
        np.degrees(np.arcsin(p[:, 2])) + rng.normal(0, 0.05, len(s)),
        rng.uniform(-90, 90, 20_000),
        [90.0, -90.0, 89.99, -89.99, 0.0, np.nan, 45.0],
    ]
    lon = np.r_[
        np.degrees(np.arctan2(p[:, 1], p[:, 0])) + rng.normal(0, 0.05, len(s)),
        rng.uniform(-180, 180, 20_000),
        [0.0, 180.0, -180.0, 179.99, -180.0, 1.0, 180.0],
    ]
    lat[:500] = np.round(lat[:500] / ng.CELL_DEG) * ng.CELL_DEG  # on cell edges
    lon[:500] = np.round(lon[:500] / ng.CELL_DEG) * ng.CELL_DEG
    with np.errstate(invalid="ignore"):
        got = g.maybe_near(lat, lon)
        _, hit = g._cell_rows(lat, lon)
    want = hit | ((np.abs(lat) >= ng.POLAR_LAT) & (len(g.polar_segs) > 0))
    np.testing.assert_array_equal(got, want)
    # the 32-bit key search finds exactly the cells of the 64-bit keys
    with np.errstate(invalid="ignore"):
        k64 = ng.cell_keys(lat, lon)
    np.testing.assert_array_equal(hit, np.isin(k64, g.keys.astype(np.int64)))
    assert 0.05 < got.mean() < 0.95  # both answers occur
