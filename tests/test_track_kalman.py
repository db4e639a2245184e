"""The batched per-axis CV Kalman filter against hand-computed steps and dense matrices."""

from __future__ import annotations

import numpy as np
import pytest

from picket.track import kalman
from picket.track.kalman import CVState


def _one(pos, vel, pxx, pxv, pvv):
    return CVState(*(np.array([[v]], float) for v in (pos, vel, pxx, pxv, pvv)))


def test_predict_and_update_by_hand():
    s = _one(0.0, 1.0, 4.0, 0.0, 1.0)
    p = kalman.predict(s, np.array([2.0]), q=3.0)
    # x = 0 + 1*2; P = F P Fᵀ + Q, Q = 3 [[8/3, 2], [2, 2]]
    assert p.pos[0, 0] == 2.0
    assert p.pxx[0, 0] == pytest.approx(4 + 4 * 1 + 8.0)
    assert p.pxv[0, 0] == pytest.approx(2 * 1 + 6.0)
    assert p.pvv[0, 0] == pytest.approx(1 + 6.0)
    # update with z = 6, r = 4: S = 20, K = [16/20, 8/20], v = 4
    u = kalman.update(p, np.array([[6.0]]), np.array([[4.0]]))
    assert u.pos[0, 0] == pytest.approx(2 + 0.8 * 4)
    assert u.vel[0, 0] == pytest.approx(1 + 0.4 * 4)
    assert u.pxx[0, 0] == pytest.approx(16 * 4 / 20)
    assert u.pxv[0, 0] == pytest.approx(8 * 4 / 20)
    assert u.pvv[0, 0] == pytest.approx(7 - 0.4 * 8)
    assert kalman.mahalanobis2(p, np.array([[6.0]]), np.array([[4.0]]))[0] == pytest.approx(0.8)


def _dense_step(x, p, dt, q, z, r):
    """Textbook Kalman predict + update with full matrices, state (x, vx, y, vy, ...)."""
    k = len(z)
    f1 = np.array([[1, dt], [0, 1]])
    q1 = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    f = np.kron(np.eye(k), f1)
    qm = np.kron(np.eye(k), q1)
    h = np.zeros((k, 2 * k))
    h[np.arange(k), 2 * np.arange(k)] = 1
    x = f @ x
    p = f @ p @ f.T + qm
    s = h @ p @ h.T + np.diag(r)
    gain = p @ h.T @ np.linalg.inv(s)
    x = x + gain @ (z - h @ x)
    p = (np.eye(2 * k) - gain @ h) @ p
    return x, p


@pytest.mark.parametrize("k", [2, 3])
def test_batched_matches_dense_matrices(k):
    rng = np.random.default_rng(k)
    n = 50
    a = rng.uniform(1, 9, (n, k))
    b = rng.uniform(-0.9, 0.9, (n, k))
    c = rng.uniform(1, 4, (n, k))
    s = CVState(rng.normal(0, 100, (n, k)), rng.normal(0, 5, (n, k)), a, b * np.sqrt(a * c), c)
    dt = rng.uniform(0.1, 5, n)
    z = rng.normal(0, 100, (n, k))
    r = rng.uniform(1, 30, (n, k))
    out = kalman.update(kalman.predict(s, dt, q=0.7), z, r)
    for i in range(n):
        x0 = np.ravel(np.column_stack([s.pos[i], s.vel[i]]))
        p0 = kalman.full_covariance(s, i)
        x1, p1 = _dense_step(x0, p0, dt[i], 0.7, z[i], r[i])
        np.testing.assert_allclose(np.ravel(np.column_stack([out.pos[i], out.vel[i]])), x1)
        np.testing.assert_allclose(kalman.full_covariance(out, i), p1, atol=1e-9)


def test_initiate_takes_position_from_plot():
    s = kalman.initiate(np.array([[10.0, 20.0]]), np.array([[4.0, 9.0]]), velocity_sigma=3.0)
    assert s.pos.tolist() == [[10.0, 20.0]]
    assert s.vel.tolist() == [[0.0, 0.0]]
    assert s.pxx.tolist() == [[4.0, 9.0]] and s.pvv.tolist() == [[9.0, 9.0]]
