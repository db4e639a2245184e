"""The fix-by-fix walk's scalar dead-reckoning check must equal the vectorised one bit for bit."""

from __future__ import annotations

import numpy as np

from picket.fusion.context import dr_fits, dr_offset
from picket.fusion.tracks import FixThresholds


def test_dr_fits_equals_dr_offset_exactly() -> None:
    th = FixThresholds()
    rng = np.random.default_rng(7)
    n = 20_000
    a = np.c_[rng.uniform(0, 1e9, n), rng.uniform(-89, 89, n), rng.uniform(-180, 180, n),
              rng.uniform(0, 300, n), rng.uniform(0, 360, n)]  # fmt: skip
    f = a + np.c_[rng.exponential(120, n), rng.normal(0, 0.05, n), rng.normal(0, 0.05, n),
                  rng.normal(0, 20, n), rng.normal(0, 30, n)]  # fmt: skip
    f[: n // 10, 0] = a[: n // 10, 0] - 5.0  # out-of-order fixes: dt clipped at 0
    f[n // 10 : n // 5, 2] = a[n // 10 : n // 5, 2] + 359.99  # across the antimeridian
    for x in (a, f):
        x[rng.random(n) < 0.15, 3] = np.nan  # no speed
        x[rng.random(n) < 0.15, 4] = np.nan  # no course
    off, ok = dr_offset(th, *a.T, *f.T)
    got = [dr_fits(th, a[i].tolist(), f[i].tolist()) for i in range(n)]
    assert [g[0] for g in got] == ok.tolist()
    assert np.array_equal(np.array([g[1] for g in got]), off)
    assert 0.05 < ok.mean() < 0.95  # both outcomes exercised
