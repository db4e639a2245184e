"""Gating through the spatial grid and sparse GNN assignment against brute force and SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from picket.track import gating
from picket.track.assign import gnn_assign
from picket.track.kalman import CVState


def _tracks(rng, n, k=2):
    pos = rng.uniform(0, 3000, (n, k))
    var = rng.uniform(1, 400, (n, k))
    return CVState(pos, np.zeros((n, k)), var, np.zeros((n, k)), np.ones((n, k)))


def _brute(pred, z, r, gate):
    v = z[None, :, :] - pred.pos[:, None, :]
    d2 = np.sum(v * v / (pred.pxx[:, None, :] + r[None, :, :]), axis=2)
    ti, pj = np.nonzero(d2 < gate * gate)
    return set(zip(ti.tolist(), pj.tolist(), strict=True)), d2


def test_tree_gating_equals_brute_force():
    rng = np.random.default_rng(3)
    pred = _tracks(rng, 150)
    z = np.vstack([pred.pos[:100] + rng.normal(0, 15, (100, 2)), rng.uniform(0, 3000, (60, 2))])
    r = rng.uniform(4, 100, z.shape)
    assert len(pred.pos) * len(z) > gating.DENSE_LIMIT  # exercises the tree path
    ti, pj, d2 = gating.gate_pairs(pred, z, r, gate=3.0, max_neighbours=16)
    want, full = _brute(pred, z, r, 3.0)
    assert set(zip(ti.tolist(), pj.tolist(), strict=True)) == want
    np.testing.assert_allclose(d2, full[ti, pj])
    assert len(want) >= 90  # the scene really has gated pairs


def test_dense_path_and_3d():
    rng = np.random.default_rng(4)
    pred = _tracks(rng, 10, k=3)
    z = pred.pos + rng.normal(0, 20, (10, 3))
    r = np.full(z.shape, 100.0)
    ti, pj, _ = gating.gate_pairs(pred, z, r, gate=2.5)
    want, _ = _brute(pred, z, r, 2.5)
    assert set(zip(ti.tolist(), pj.tolist(), strict=True)) == want


def test_assignment_resolves_conflict_globally():
    # track 0 is nearest to plot 0, but giving plot 0 to track 1 lets both be assigned
    ti = np.array([0, 0, 1])
    pj = np.array([0, 1, 0])
    cost = np.array([0.5, 1.0, 0.8])
    at, ap = gnn_assign(ti, pj, cost, 3.0, 2, 2)
    assert sorted(zip(at.tolist(), ap.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_missed_option_beats_a_costly_pair():
    # pairing track 1 costs more than its miss cost: it stays unassigned
    at, ap = gnn_assign(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 5.0]), 3.0, 2, 1)
    assert at.tolist() == [0] and ap.tolist() == [0]
    at, _ = gnn_assign(np.array([0]), np.array([0]), np.array([4.0]), 3.0, 1, 1)
    assert len(at) == 0


def test_sparse_gnn_equals_dense_optimum():
    rng = np.random.default_rng(5)
    for _ in range(20):
        n, m = rng.integers(5, 40, 2)
        e = rng.integers(1, n * m // 3)
        flat = rng.choice(n * m, e, replace=False)
        ti, pj = flat // m, flat % m
        cost = rng.uniform(0, 3, e)
        at, ap = gnn_assign(ti, pj, cost, 3.0, n, m)
        assert len(set(at.tolist())) == len(at) and len(set(ap.tolist())) == len(ap)
        c = np.full((n, m), np.inf)
        c[ti, pj] = cost
        got = c[at, ap].sum() + 3.0 * (n - len(at))
        big = np.full((n, m + n), 1e9)
        big[:, :m] = np.where(np.isfinite(c), c, 1e9)
        big[np.arange(n), m + np.arange(n)] = 3.0
        rr, cc = linear_sum_assignment(big)
        assert abs(got - big[rr, cc].sum()) < 1e-9


def test_tree_gating_with_full_covariances_and_plot_offsets():
    # IMM tracks (correlated x/y covariances) against plots stamped up to 4 s early: the
    # tree's radius bound (largest eigenvalue, plus how far a track moves) loses no pair.
    from picket.track import imm
    from picket.track.config import TrackerConfig
    from picket.track.motion import IMMMotion

    rng = np.random.default_rng(8)
    n, m = 120, 200
    x = np.column_stack([rng.uniform(0, 5000, (n, 2)), rng.normal(0, 60, (n, 2))])
    x = np.repeat(x[:, None, :], 3, axis=1) + rng.normal(0, 5, (n, 3, 4))
    a = rng.normal(0, 1, (n, 3, 4, 4))
    p = a @ np.swapaxes(a, -1, -2) * rng.uniform(1, 10, (n, 1, 1, 1)) + np.eye(4)
    pred = imm.IMMState.make(x, p, rng.dirichlet(np.ones(3), n))
    tz = -rng.uniform(0, 4, m)
    z = np.vstack(
        [pred.pos[:100] + tz[:100, None] * pred.vel[:100], rng.uniform(0, 5000, (100, 2))]
    )
    z += rng.normal(0, 20, z.shape)
    r = rng.uniform(100, 900, z.shape)
    mo = IMMMotion(TrackerConfig(model="imm", process_noise=0.5))

    def d2_fn(ti, pj):
        return mo.mahalanobis2(pred.take(ti), z[pj], r[pj], tz[pj])

    dmax = float(-tz.min())
    shift = dmax * float(np.max(np.hypot(*pred.vel.T)))
    bound = mo.var_bound(pred, dmax)
    ti, pj, _ = gating.gate_pairs(pred, z, r, 3.0, m, d2_fn, bound, shift)
    all_t, all_p = np.repeat(np.arange(n), m), np.tile(np.arange(m), n)
    full = d2_fn(all_t, all_p)
    want = set(zip(all_t[full < 9].tolist(), all_p[full < 9].tolist(), strict=True))
    assert set(zip(ti.tolist(), pj.tolist(), strict=True)) == want
    assert len(want) >= 90


def test_grid_neighbours_are_the_k_d_tree_s():
    """The grid gives the pairs a k-d tree query with k and an upper bound gives: scenes
    dense and sparse, query points far outside the plots, radii small and large."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(11)
    for _ in range(150):
        n, m = int(rng.integers(1, 200)), int(rng.integers(1, 300))
        p = rng.uniform(0, rng.uniform(1, 5000), (m, 2))
        q = rng.uniform(-500, rng.uniform(1, 6000), (n, 2))
        radius, k = float(rng.uniform(0.05, 400)), int(rng.integers(1, 9))
        k = min(k, m)
        _, idx = cKDTree(p).query(q, k=k, distance_upper_bound=radius)
        idx = np.asarray(idx).reshape(n, k)
        ok = idx < m
        want = set(zip(np.nonzero(ok)[0].tolist(), idx[ok].tolist(), strict=True))
        ti, pj = gating.grid_neighbours(q, p, radius, k)
        assert set(zip(ti.tolist(), pj.tolist(), strict=True)) == want


def test_assignment_is_scipy_s_optimum():
    """Clusters solved without SciPy reach linear_sum_assignment's total cost on the whole
    problem (tracks x plots plus a miss column per track)."""
    rng = np.random.default_rng(12)
    for _ in range(300):
        n, m = int(rng.integers(1, 25)), int(rng.integers(1, 25))
        key = np.unique(rng.integers(0, n, 60) * 1000 + rng.integers(0, m, 60))
        ti, pj = key // 1000, key % 1000
        cost = rng.uniform(0, 4, len(ti))
        miss = rng.uniform(1, 3.5, n)
        at, ap = gnn_assign(ti, pj, cost, miss, n, m)
        assert len(set(at.tolist())) == len(at) and len(set(ap.tolist())) == len(ap)
        full = np.full((n, m + n), 1e12)
        full[ti, pj] = np.where(cost < miss[ti], cost, 1e12)
        full[np.arange(n), m + np.arange(n)] = miss
        rows, cols = linear_sum_assignment(full)
        lookup = dict(zip(zip(ti.tolist(), pj.tolist(), strict=True), cost.tolist(), strict=True))
        got = sum(lookup[(a, b)] for a, b in zip(at.tolist(), ap.tolist(), strict=True))
        got += float(miss.sum() - miss[at].sum())
        assert got == pytest.approx(float(full[rows, cols].sum()), abs=1e-9)
