"""The walk's quick fit test (squared lengths, `dr_fits_ok`) against `dr_fits`: the same
verdict for every anchor and fix, on random ones and on fixes placed exactly on the
limits (where only the exact path can tell)."""

from __future__ import annotations

import math

import numpy as np

from picket.fusion.context import M_PER_DEG, dr_fits, dr_fits_ok
from picket.fusion.tracks import FixThresholds


def _fix(rng: np.random.Generator, a: list[float], dist: float, bearing: float,
         with_v: bool) -> list[float]:  # fmt: skip
    dt = float(rng.choice([0.0, 1.0, 5.0, 30.0, 600.0]))
    lat = a[1] + dist * math.cos(bearing) / M_PER_DEG
    lon = a[2] + dist * math.sin(bearing) / (M_PER_DEG * math.cos(math.radians(lat)))
    v = float(rng.uniform(0, 300)) if with_v else math.nan
    return [a[0] + dt, lat, lon, v, float(rng.uniform(0, 360)) if with_v else math.nan]


def test_quick_fit_gives_dr_fits_verdict():
    th = FixThresholds()
    rng = np.random.default_rng(11)
    near_limit = 0
    for _ in range(20_000):
        a = [1e9, float(rng.uniform(-80, 80)), float(rng.uniform(-180, 180)),
             float(rng.uniform(0, 300)) if rng.random() < 0.8 else math.nan,
             float(rng.uniform(0, 360))]  # fmt: skip
        f = _fix(rng, a, float(rng.exponential(3000)), float(rng.uniform(0, 2 * math.pi)),
                 rng.random() < 0.8)  # fmt: skip
        assert dr_fits_ok(th, a, f) == dr_fits(th, a, f)[0], (a, f)
        # the same fix moved onto a limit: its offset from the anchor's path, or its reach
        _, off = dr_fits(th, a, f)
        dt = max(f[0] - a[0], 0.0)
        for limit in (th.min_offset_m + 0.5 * th.max_accel_ms2 * dt**2,
                      th.min_offset_m + th.max_speed_ms * dt):  # fmt: skip
            if not (math.isfinite(off) and off > 0):
                continue
            s = limit / off
            g = [f[0], a[1] + (f[1] - a[1]) * s, a[2] + (f[2] - a[2]) * s, f[3], f[4]]
            for k in range(-2, 3):
                h = list(g)
                h[1] = float(np.nextafter(h[1], h[1] + k)) if k else h[1]
                got, want = dr_fits_ok(th, a, h), dr_fits(th, a, h)[0]
                near_limit += 1
                assert got == want, (a, h)
    assert near_limit > 1000
