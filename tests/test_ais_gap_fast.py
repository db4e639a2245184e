"""The reception maps' linear-time key ranking gives exactly what `np.unique` gives."""

import numpy as np

from picket.detect.reception import N_BUCKETS, ReliabilityMap, unique_keys


def _check(cells: np.ndarray, buckets: np.ndarray) -> None:
    uk, inv = unique_keys(cells, buckets)
    ref, rinv = np.unique(cells * N_BUCKETS + buckets, return_inverse=True)
    assert uk.dtype == ref.dtype and np.array_equal(uk, ref)
    assert np.array_equal(inv, rinv.reshape(-1))


def test_unique_keys_matches_np_unique_dense_and_sparse():
    rng = np.random.default_rng(7)
    for n, cell_span, bucket_span in [(1, 1, 1), (50, 30, 3), (5000, 4000, 12), (20, 10**6, 2),
                                      (300, 50, 10**5)]:  # fmt: skip
        cells = rng.integers(-1, cell_span, n)  # -1: a resolution-0 cell's parent
        buckets = 4_700_000 + rng.integers(0, bucket_span, n)
        _check(cells, buckets)
    _check(np.array([3, 3, 1]), np.array([-2, 5, 0]))  # buckets before 1970: np.unique's way
    _check(np.empty(0, np.int64), np.empty(0, np.int64))


def test_cells_run_lookup_matches_point_by_point():
    rng = np.random.default_rng(3)
    runs = rng.integers(1, 6, 40)  # vessels' consecutive reports often share a place
    lat, lon = np.repeat(rng.uniform(54, 58, 40), runs), np.repeat(rng.uniform(8, 15, 40), runs)
    m, one = ReliabilityMap(), ReliabilityMap()
    ids = m.cells(lat, lon)
    single = np.concatenate([one.cells(lat[k : k + 1], lon[k : k + 1]) for k in range(len(lat))])
    assert [m._h3_of[i] for i in ids] == [one._h3_of[i] for i in single]
    assert np.array_equal(m.cells(lat[::-1], lon[::-1]), ids[::-1])  # all known now
