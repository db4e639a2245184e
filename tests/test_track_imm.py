"""The IMM filter: one batched step against a plain per-track IMM written here, its turn
model against Stone Soup's, its special cases against the CV filter, and a turning target.

Stone Soup 1.9.1 ships no IMM predictor/updater, so the full step is checked against the
straightforward implementation below (loops, dense matrices, scipy's expm and pdf).
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import multivariate_normal

from picket.metrics import ospa
from picket.track import CartesianTracker, TrackerConfig, imm, kalman
from picket.track.imm import IMMState, ModeChain
from picket.track.kalman import CVState

W = np.radians(3.0)
OMEGA = np.array([0.0, W, -W])


# a plain IMM, one track at a time, state (x, y, vx, vy) ----------------------------------
def _f(w: float, dt: float) -> np.ndarray:
    if w == 0.0:
        return np.array([[1, 0, dt, 0], [0, 1, 0, dt], [0, 0, 1, 0], [0, 0, 0, 1]], float)
    s, c = np.sin(w * dt), np.cos(w * dt)
    return np.array(
        [
            [1, 0, s / w, -(1 - c) / w],
            [0, 1, (1 - c) / w, s / w],
            [0, 0, c, -s],
            [0, 0, s, c],
        ]
    )


def _q(q: float, dt: float) -> np.ndarray:
    blk = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    out = np.zeros((4, 4))
    for a in range(2):
        out[np.ix_([a, a + 2], [a, a + 2])] = blk
    return out


def _reference_step(x, p, mu, gen, q, dt, z, r):
    """Mixing, mode-matched Kalman filters, mode probabilities, combination."""
    m = len(mu)
    pi = expm(gen * dt)
    cbar = np.array([sum(pi[i, j] * mu[i] for i in range(m)) for j in range(m)])
    mix = np.array([[pi[i, j] * mu[i] / cbar[j] for j in range(m)] for i in range(m)])
    x0 = [sum(mix[i, j] * x[i] for i in range(m)) for j in range(m)]
    p0 = [
        sum(mix[i, j] * (p[i] + np.outer(x[i] - x0[j], x[i] - x0[j])) for i in range(m))
        for j in range(m)
    ]
    h = np.eye(2, 4)
    xs, ps, lik = [], [], []
    for j in range(m):
        f = _f(OMEGA[j], dt)
        xp, pp = f @ x0[j], f @ p0[j] @ f.T + _q(q, dt)
        s = h @ pp @ h.T + np.diag(r)
        k = pp @ h.T @ np.linalg.inv(s)
        xs.append(xp + k @ (z - h @ xp))
        ps.append((np.eye(4) - k @ h) @ pp)
        lik.append(multivariate_normal(h @ xp, s).pdf(z))
    post = np.array(lik) * cbar
    post /= post.sum()
    xc = sum(post[j] * xs[j] for j in range(m))
    pc = sum(post[j] * (ps[j] + np.outer(xs[j] - xc, xs[j] - xc)) for j in range(m))
    return dict(mix=mix, cbar=cbar, x0=np.array(x0), p0=np.array(p0), lik=np.array(lik),
                mu=post, x=np.array(xs), p=np.array(ps), xc=xc, pc=pc)  # fmt: skip


def _random_states(rng, n, m=3):
    x = np.column_stack([rng.normal(0, 500, (n, 2)), rng.normal(0, 80, (n, 2))])
    x = x[:, None, :] + rng.normal(0, 15, (n, m, 4))
    a = rng.normal(0, 1, (n, m, 4, 4))
    p = a @ np.swapaxes(a, -1, -2) * 40 + np.eye(4) * 25
    mu = rng.dirichlet(np.ones(m), n)
    return x, p, mu


def test_one_batched_step_matches_a_plain_imm():
    rng = np.random.default_rng(11)
    n, q, dt = 4, 0.7, 3.0
    x, p, mu = _random_states(rng, n)
    chain = ModeChain.star(3, cv_sojourn=40.0, turn_sojourn=15.0)
    r = rng.uniform(100, 900, (n, 2))
    s = IMMState.make(x, p, mu)
    pred = imm.predict(s, np.full(n, dt), q, OMEGA, chain)
    z = pred.pos + rng.normal(0, 40, (n, 2))
    post = imm.update(pred, z, r, q, OMEGA)
    cbar, x0, p0 = imm.mix(mu, x, p, chain.matrices(np.full(n, dt)))
    for i in range(n):  # each track alone, by the book
        ref = _reference_step(x[i], p[i], mu[i], chain.generator, q, dt, z[i], r[i])
        np.testing.assert_allclose(cbar[i], ref["cbar"], rtol=1e-12)
        np.testing.assert_allclose(x0[i], ref["x0"], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(p0[i], ref["p0"], rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(pred.mu[i], ref["cbar"], rtol=1e-12)
        np.testing.assert_allclose(post.mu[i], ref["mu"], rtol=1e-9, atol=1e-15)
        # posterior / prior mode odds are the mode likelihood ratios
        np.testing.assert_allclose(
            (post.mu[i] / pred.mu[i]) / (post.mu[i, 0] / pred.mu[i, 0]),
            ref["lik"] / ref["lik"][0],
            rtol=1e-8,
        )
        np.testing.assert_allclose(post.x[i], ref["x"], rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(post.p[i], ref["p"], rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(post.xc[i], ref["xc"], rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(post.pc[i], ref["pc"], rtol=1e-8, atol=1e-8)
    assert np.ptp(post.mu[:, 0]) > 0.05  # the tracks really differ


def test_mode_chain_by_hand():
    # two modes: leave CV at a = 1/40 per s, leave the turn at b = 1/10 per s
    a, b, dt = 1 / 40, 1 / 10, 7.0
    pi = ModeChain.star(2, 40.0, 10.0).matrices(np.array([dt]))[0]
    e = np.exp(-(a + b) * dt)
    np.testing.assert_allclose(pi[0], [(b + a * e) / (a + b), a * (1 - e) / (a + b)])
    np.testing.assert_allclose(pi[1], [b * (1 - e) / (a + b), (a + b * e) / (a + b)])
    three = ModeChain.star(3, 40.0, 10.0)
    one, two = three.matrices(np.array([1.5, 2.5]))
    np.testing.assert_allclose(one @ two, three.matrices(np.array([4.0]))[0], atol=1e-12)
    np.testing.assert_allclose(three.matrices(np.array([0.0]))[0], np.eye(3), atol=1e-12)


def test_turn_model_is_stone_soups_known_turn_rate():
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
        KnownTurnRate,
    )

    dt, q = 2.5, 0.3
    order = [0, 2, 1, 3]  # Stone Soup (x, vx, y, vy) -> picket (x, y, vx, vy)
    f = imm.transition(OMEGA, np.array([dt]), 2)[0]
    qm = imm.process_noise(np.array([dt]), q, 2)[0]
    td = datetime.timedelta(seconds=dt)
    for j, w in enumerate(OMEGA):
        if w == 0.0:
            ss = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
        else:
            ss = KnownTurnRate(turn_noise_diff_coeffs=np.array([q, q]), turn_rate=w)
        fs = np.asarray(ss.matrix(time_interval=td))[np.ix_(order, order)]
        qs = np.asarray(ss.covar(time_interval=td))[np.ix_(order, order)]
        np.testing.assert_allclose(f[j], fs, atol=1e-12)
        np.testing.assert_allclose(qm, qs, atol=1e-12)


def _as_imm(s: CVState) -> IMMState:
    n, k = s.pos.shape
    x = np.concatenate([s.pos, s.vel], axis=1)[:, None, :]
    p = np.zeros((n, 1, 2 * k, 2 * k))
    ax = np.arange(k)
    p[:, 0, ax, ax], p[:, 0, k + ax, k + ax] = s.pxx, s.pvv
    p[:, 0, ax, k + ax] = p[:, 0, k + ax, ax] = s.pxv
    return IMMState.make(x, p, np.ones((n, 1)))


@pytest.mark.parametrize("k", [2, 3])
def test_single_cv_mode_is_the_cv_kalman_filter(k):
    rng = np.random.default_rng(20 + k)
    n, q = 30, 0.4
    pxx = rng.uniform(50, 400, (n, k))
    pvv = rng.uniform(5, 50, (n, k))
    s = CVState(
        rng.normal(0, 1e3, (n, k)), rng.normal(0, 50, (n, k)), pxx,
        rng.uniform(-0.8, 0.8, (n, k)) * np.sqrt(pxx * pvv), pvv,
    )  # fmt: skip
    dt = rng.uniform(0.5, 6, n)
    z = rng.normal(0, 1e3, (n, k))
    r = rng.uniform(100, 2500, (n, k))
    delta = -rng.uniform(0, 4, n)
    one = ModeChain.star(1, 1.0, 1.0)
    for d in (None, delta):
        cv = kalman.update(kalman.predict(s, dt, q), z, r, d, q)
        im = imm.update(imm.predict(_as_imm(s), dt, q, np.zeros(1), one), z, r, q, np.zeros(1), d)
        np.testing.assert_allclose(im.pos, cv.pos, rtol=1e-10)
        np.testing.assert_allclose(im.vel, cv.vel, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(im.pxx, cv.pxx, rtol=1e-9)
        np.testing.assert_allclose(im.pxv, cv.pxv, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(im.pvv, cv.pvv, rtol=1e-9)
        d2_cv = kalman.mahalanobis2(kalman.predict(s, dt, q), z, r, d, q)
        d2_im = imm.mahalanobis2(imm.predict(_as_imm(s), dt, q, np.zeros(1), one), z, r, q, d)
        np.testing.assert_allclose(d2_im, d2_cv, rtol=1e-9)


def test_plot_offset_is_an_update_at_the_plots_own_time():
    # With no process noise, updating at t with a plot from t + delta is the same as
    # moving back to t + delta, updating there and moving forward again (per mode).
    rng = np.random.default_rng(5)
    n = 6
    x, p, _ = _random_states(rng, n, m=1)
    z = x[:, 0, :2] + rng.normal(0, 30, (n, 2))
    r = np.full((n, 2), 400.0)
    delta = -rng.uniform(0.5, 4, n)
    for w in (0.0, W, -W):
        got = imm.update(IMMState.make(x, p, np.ones((n, 1))), z, r, 0.0, np.array([w]), delta)
        for i in range(n):
            back, fwd = _f(w, delta[i]), _f(w, -delta[i])
            xb, pb = back @ x[i, 0], back @ p[i, 0] @ back.T
            h = np.eye(2, 4)
            k = pb @ h.T @ np.linalg.inv(h @ pb @ h.T + np.diag(r[i]))
            xu, pu = xb + k @ (z[i] - h @ xb), (np.eye(4) - k @ h) @ pb
            np.testing.assert_allclose(got.x[i, 0], fwd @ xu, rtol=1e-9, atol=1e-8)
            np.testing.assert_allclose(got.p[i, 0], fwd @ pu @ fwd.T, rtol=1e-8, atol=1e-8)


def _turning_flight(v=100.0, dt=4.0, legs=(60.0, 60.0, 60.0)):
    """Straight, a 3 deg/s left turn (180 deg), straight: exact positions every dt."""
    t = np.arange(0.0, sum(legs) + dt, dt)
    t1, t2 = legs[0], legs[0] + legs[1]
    tt = np.clip(t, t1, t2) - t1  # time spent turning so far
    hdg = W * tt
    x = v * np.minimum(t, t1) + v * np.sin(hdg) / W
    y = v * (1 - np.cos(hdg)) / W
    after = np.maximum(t - t2, 0.0)
    x += v * np.cos(hdg) * after
    y += v * np.sin(hdg) * after
    return t, np.column_stack([x, y])


def _fly(model, t, truth, seed, sigma=30.0):
    rng = np.random.default_rng(seed)
    cfg = TrackerConfig(
        model=model, process_noise=0.5, measurement_sigma=sigma, initial_velocity_sigma=150,
        confirm=(2, 2),
    )  # fmt: skip
    tr = CartesianTracker(cfg)
    err, ids = [], set()
    for i, ti in enumerate(t):
        z = truth[i : i + 1] + rng.normal(0, sigma, (1, 2))
        tr.step(float(ti), z, np.full((1, 2), sigma**2))
        out = tr.confirmed()
        if i >= 5:
            d = np.linalg.norm(out.state.pos - truth[i], axis=1)
            err.append(d.min() if len(d) else np.inf)
            ids |= set(out.ids[d < 5 * sigma].tolist())
    return float(np.sqrt(np.mean(np.square(err)))), ids


def test_imm_follows_a_three_degree_per_second_turn_better_than_cv():
    t, truth = _turning_flight()
    # the truth really turns 180 degrees at 3 deg/s
    heading = np.degrees(np.arctan2(*np.diff(truth, axis=0).T[::-1]))
    assert heading[0] == pytest.approx(0, abs=1e-6) and abs(heading[-1]) == pytest.approx(180)
    rms_cv, ids_cv = _fly("cv", t, truth, seed=3)
    rms_imm, ids_imm = _fly("imm", t, truth, seed=3)
    assert len(ids_imm) == 1  # one track through the turn
    assert rms_imm < 40.0  # about the plot noise (30 m per axis)
    assert rms_imm < 0.6 * rms_cv  # CV lags the turn
    assert len(ids_cv) > 1  # and here loses it: its track breaks up


def test_imm_tracker_on_many_targets_in_clutter():
    rng = np.random.default_rng(7)
    n = 200
    pos = rng.uniform(0, 20_000, (n, 2))
    vel = rng.normal(0, 15, (n, 2))
    cfg = TrackerConfig(
        model="imm", process_noise=0.5, measurement_sigma=10, initial_velocity_sigma=40,
        confirm=(3, 4),
    )  # fmt: skip
    tr = CartesianTracker(cfg)
    scores = []
    for k in range(25):
        truth = pos + vel * k
        seen = rng.random(n) < 0.9
        z = np.vstack(
            [truth[seen] + rng.normal(0, 10, (seen.sum(), 2)), rng.uniform(0, 20_000, (30, 2))]
        )
        tr.step(float(k), z, np.full(z.shape, 100.0))
        if k >= 10:
            scores.append(ospa(tr.confirmed().state.pos, truth, c=100, p=1))
    assert np.mean(scores) < 12.0
    assert isinstance(tr.state, IMMState) and tr.state.x.shape[1:] == (3, 4)


def test_config_rejects_unknown_model():
    with pytest.raises(ValueError, match="model"):
        TrackerConfig(model="ukf")
