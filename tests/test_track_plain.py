"""The one-time CV path (`CartesianTracker._near`/`_plain`) against the general one.

Both must give the same tracks bit for bit: the same pairs (dense and spatial-index
cases, the k nearest plots), costs, assignments and Kalman updates, in 2-D and 3-D,
with and without `max_distance`, for both cost models.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.track import CartesianTracker, TrackerConfig


def _scene(n: int, k: int, spacing: float, clutter: int, seed: int) -> list[tuple]:
    """Targets on a grid (some crossing), missed detections and clutter; duplicated plots
    of one target now and then so that tracks have more than `max_neighbours` near."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    pos = np.zeros((n, k))
    pos[:, :2] = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    pos[:, :2] *= spacing
    vel = rng.normal(0, 2.0, (n, k))
    scans = []
    for i in range(40):
        t = float(i)
        p = pos + vel * t + rng.normal(0, 1.0, (n, k))
        p = p[rng.random(n) < 0.85]
        if i % 7 == 3:  # a burst of plots around one target: more than 8 within the gate
            p = np.concatenate([p, p[:1] + rng.normal(0, 1.5, (12, k))])
        lo, hi = pos.min(0) - 50, pos.max(0) + 50 + 80 * vel.max()
        p = np.concatenate([p, rng.uniform(lo, hi, (clutter, k))])
        p = np.round(p[rng.permutation(len(p))], 3)
        sig = rng.choice([1.0, 1.0, 2.0], (len(p), 1))
        scans.append((t, p, np.repeat(sig * sig, k, 1)))
    return scans


def _run(cfg: TrackerConfig, scans: list[tuple], fast: bool) -> list:
    tr = CartesianTracker(cfg)
    tr.fast_plain = fast
    out = []
    for t, z, r in scans:
        tr.step(t, z, r, tz=np.full(len(z), t))
        ts = tr.confirmed()
        out.append((ts.ids.copy(), ts.state.pos.copy(), ts.state.pxx.copy(), tr.plot_ids.copy()))
    return out, tr.counts


@pytest.mark.parametrize(
    "n,k,spacing,clutter,cost,max_distance",
    [
        (200, 2, 50.0, 10, "distance", 10.0),  # the benchmark's kind of scene: grid cases
        (200, 2, 20.0, 50, "distance", 10.0),
        (200, 2, 20.0, 50, "likelihood", 0.0),
        (30, 2, 15.0, 5, "distance", 0.0),  # few pairs: the dense case
        (120, 3, 25.0, 20, "distance", 0.0),
        (120, 3, 25.0, 20, "likelihood", 12.0),
    ],
)
def test_plain_path_matches_the_general_one(
    n: int, k: int, spacing: float, clutter: int, cost: str, max_distance: float
) -> None:
    cfg = TrackerConfig(process_noise=0.05, measurement_sigma=1.0, gate_sigma=3.0,
                        initial_velocity_sigma=3.0, confirm=(2, 3), dims=k, cost=cost,
                        clutter_rate=float(clutter), max_distance=max_distance)  # fmt: skip
    scans = _scene(n, k, spacing, clutter, seed=n + k)
    fast, cf = _run(cfg, scans, True)
    slow, cs = _run(cfg, scans, False)
    assert sum(len(ids) for ids, *_ in slow) > 10 * n  # tracks formed
    for (ia, pa, va, oa), (ib, pb, vb, ob) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(ia, ib)
        np.testing.assert_array_equal(pa, pb)
        np.testing.assert_array_equal(va, vb)
        np.testing.assert_array_equal(oa, ob)
    assert cf == cs  # gated pairs, births, deletions
