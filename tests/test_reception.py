"""The reception map's vectorised window sums against a plain nested loop."""

import numpy as np

from picket.detect.reception import N_BUCKETS, ReceptionMap, cell_of, neighbours


def test_heard_equals_a_naive_sum_over_cells_and_buckets():
    rng = np.random.default_rng(0)
    m = ReceptionMap()
    m.add(55 + rng.uniform(-1, 1, 5000), 15 + rng.uniform(-1, 1, 5000), rng.uniform(0, 7200, 5000))
    qlat, qlon = 55 + rng.uniform(-1, 1, 50), 15 + rng.uniform(-1, 1, 50)
    t0 = rng.uniform(0, 3600, 50)
    t1 = t0 + rng.uniform(0, 3600, 50)
    got = m.heard(qlat, qlon, t0, t1)
    for i in range(50):
        b0, b1 = int(t0[i] // 600), int(t1[i] // 600)
        cells = neighbours(cell_of(qlat[i : i + 1], qlon[i : i + 1]))[0]
        total = sum(
            m.counts.get(int(c) * N_BUCKETS + b, 0) for c in cells for b in range(b0, b1 + 1)
        )
        assert got[i] == total / (b1 - b0 + 1)


def test_old_buckets_are_forgotten_and_clip_the_window():
    m = ReceptionMap(keep_s=3600)
    m.add(np.array([55.0]), np.array([15.0]), np.array([0.0]))
    assert m.heard(55.0, 15.0, 0.0, 600.0)[0] == 0.5
    m.add(np.array([55.0] * 10), np.array([15.0] * 10), np.full(10, 100_000.0))
    assert m.heard(55.0, 15.0, 0.0, 100_000.0)[0] == 10 / 7  # only the last hour is known
