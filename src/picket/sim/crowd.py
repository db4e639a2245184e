"""A crowd of aircraft flying straight lines: load for the live picture's benchmarks.

Not part of the Baltic demo's truth: it exists so `picket bench cop` and `picket bench web`
push the same 20,000-track picture through the pipeline, the server and the page.
"""

from __future__ import annotations

import numpy as np

from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key

#: Mean Earth radius (m) per degree of latitude, for the straight-line steps.
M_PER_DEG = 111_195.0


class StraightTraffic:
    """`n` aircraft over northern Europe (50-62 N, 5-30 E) at 50-250 m/s on fixed courses."""

    def __init__(self, n: int, seed: int = 3, t0: float = 1_736_935_200.0):
        rng = np.random.default_rng(seed)
        self.n, self.t0 = n, t0
        self.subject = key(Namespace.ICAO, np.arange(n, dtype=np.int64) + 0x400000)
        self.lat0, self.lon0 = rng.uniform(50, 62, n), rng.uniform(5, 30, n)
        self.speed = rng.uniform(50, 250, n)
        self.course = rng.uniform(0, 360, n)

    def reports(self, k: int) -> Reports:
        """Every aircraft's position report `k` seconds after `t0`."""
        d = self.speed * k
        c = np.radians(self.course)
        lat = self.lat0 + d * np.cos(c) / M_PER_DEG
        lon = self.lon0 + d * np.sin(c) / (M_PER_DEG * np.cos(np.radians(self.lat0)))
        return Reports.build(time=np.full(self.n, self.t0 + k), domain=Domain.AIR,
                             kind=Kind.POSITION, subject=self.subject, lat=lat, lon=lon,
                             alt=np.full(self.n, 10_000.0), speed=self.speed,
                             course=self.course)  # fmt: skip
