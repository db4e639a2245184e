"""OSPA/GOSPA: hand-computed cases and agreement with Stone Soup's metric generators."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from picket.metrics import gospa, optimal_pairs, ospa


def test_ospa_hand_computed():
    # one pair 3 m apart, one extra track: (3 + 10) / 2 with c = 10, p = 1
    assert ospa([[0, 0], [100, 0]], [[3, 0]], c=10, p=1) == pytest.approx(6.5)
    # p = 2: sqrt((9 + 100) / 2)
    assert ospa([[0, 0], [100, 0]], [[3, 0]], c=10, p=2) == pytest.approx(np.sqrt(54.5))
    assert ospa(np.zeros((0, 2)), np.zeros((0, 2)), c=10) == 0.0
    assert ospa(np.zeros((0, 2)), [[1, 1]], c=10) == 10.0


def test_gospa_hand_computed():
    g = gospa([[0, 0], [100, 0]], [[3, 0], [50, 50]], c=10, p=1)
    assert g.localisation == pytest.approx(3.0)
    assert (g.n_missed, g.n_false) == (1, 1)
    assert g.missed == pytest.approx(5.0) and g.false == pytest.approx(5.0)
    assert g.distance == pytest.approx(13.0)


def test_assignment_prefers_global_optimum():
    # greedy would pair track 0 with truth 0 (d=1) and leave the rest unassigned;
    # the optimum pairs crosswise: (1 - c) + (1.5 - c) < (1 - c)
    tracks = np.array([[0.0, 0.0], [2.5, 0.0]])
    truth = np.array([[1.0, 0.0], [-1.0, 0.0]])
    xi, yj, d = optimal_pairs(tracks, truth, c=2.0, p=1)
    assert sorted(zip(xi.tolist(), yj.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert sorted(d.tolist()) == pytest.approx([1.0, 1.5])
    assert ospa(tracks, truth, c=2.0, p=1) == pytest.approx(1.25)


def _dense_ospa(x, y, c, p):
    """Textbook OSPA with one dense padded matrix (the reference for p != 1)."""
    from scipy.optimize import linear_sum_assignment

    n = max(len(x), len(y))
    m = np.full((n, n), c**p)
    d = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=2)
    m[: len(x), : len(y)] = np.minimum(d, c) ** p
    r, k = linear_sum_assignment(m)
    return (m[r, k].sum() / n) ** (1 / p)


def _states(points, when):
    from stonesoup.types.state import State

    return [State(np.asarray(pt, float).reshape(-1, 1), timestamp=when) for pt in points]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [1.0, 2.0])
def test_matches_stone_soup(seed, p):
    pytest.importorskip("stonesoup")
    from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric

    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 60, (rng.integers(1, 40), 2))
    n_tr = rng.integers(1, 45)
    tracks = truth[rng.choice(len(truth), min(n_tr, len(truth)), replace=False)]
    tracks = tracks + rng.normal(0, 4, tracks.shape)
    tracks = np.vstack([tracks, rng.uniform(0, 60, (max(0, n_tr - len(truth)), 2))])
    when = datetime.datetime(2024, 1, 1)
    c = 10.0
    ss_ospa = OSPAMetric(c=c, p=p).compute_OSPA_distance(
        _states(tracks, when), _states(truth, when)
    )
    ours = ospa(tracks, truth, c, p)
    assert ours == pytest.approx(_dense_ospa(tracks, truth, c, p), abs=1e-9)
    if p == 1:
        assert ours == pytest.approx(ss_ospa.value, abs=1e-9)
    else:  # Stone Soup assigns on d, not d^p, so it can only be the same or worse
        assert ours <= ss_ospa.value + 1e-12
    ss_g, _ = GOSPAMetric(c=c, p=p).compute_gospa_metric(
        _states(tracks, when), _states(truth, when)
    )
    g = gospa(tracks, truth, c, p)
    for part in ("distance", "localisation", "missed", "false"):
        assert getattr(g, part) == pytest.approx(ss_g.value[part], abs=1e-9), part
