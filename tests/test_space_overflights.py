"""Overflights of one place from propagated tracks (space/passes.point_passes).

Truth: a track that passes straight over the place at 550 km is in view for the steps
whose sub-satellite point lies within its footprint and peaks at 90 deg; a track that
stays 3000 km away is never in view."""

import numpy as np

from picket.geo.geodesy import destination
from picket.space.passes import RE_M, footprint_angle, point_passes


def test_overhead_pass_and_a_far_track():
    t = np.arange(0.0, 1200.0, 30.0)
    along = (t - 600.0) * 7500.0  # 7.5 km/s ground speed, overhead at t = 600
    la1, lo1 = destination(np.full(len(t), 55.5), np.full(len(t), 20.7), 0.0, along)
    la2, lo2 = destination(la1, lo1, 90.0, 3_000_000.0)
    lat, lon = np.vstack([la1, la2]), np.vstack([lo1, lo2])
    alt = np.full(lat.shape, 550_000.0)
    (p,) = point_passes(55.5, 20.7, t, lat, lon, alt, 10.0)
    s, a, b, el = p
    assert s == 0 and a < 600.0 < b and el > 89.0
    reach = float(footprint_angle(np.array(550_000.0), 10.0) * RE_M)
    assert abs((b - a) / 2 * 7500.0 - reach) < 7500.0 * 30  # in view for the footprint
