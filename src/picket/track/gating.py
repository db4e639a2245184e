"""Mahalanobis gating through a spatial index: only nearby track-plot pairs are ever formed.

A k-d tree over the plots returns, for every predicted track, its nearest plots within
the largest gate radius any track could need; the exact (per-pair) Mahalanobis test then
keeps the pairs inside the gate. Pairs are three flat arrays, never a tracks x plots
matrix, so the cost grows with the number of plausible pairs, not with the scene.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from picket.track.kalman import CVState

I8 = NDArray[np.intp]
F8 = NDArray[np.float64]

DENSE_LIMIT = 4096  # below this many track-plot pairs, skip the tree


def gate_pairs(
    pred: CVState,
    z: F8,
    r: F8,
    gate: float,
    max_neighbours: int = 8,
    d2_fn: Callable[[I8, I8], F8] | None = None,
    var_bound: float | None = None,
    shift: float = 0.0,
) -> tuple[I8, I8, F8]:
    """Pairs (track index, plot index, squared Mahalanobis distance) inside `gate` sigmas.

    `d2_fn(ti, pj)` gives the exact distance of candidate pairs (default: per-axis
    variances, no time offset). For the tree's radius, `var_bound` bounds the largest
    eigenvalue of any track's horizontal position covariance (default: the largest
    per-axis variance, exact for diagonal ones) and `shift` how far a track may move
    between its time and a plot's.
    """
    n, m = len(pred.pos), len(z)
    if n == 0 or m == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    if n * m <= DENSE_LIMIT:
        ti = np.repeat(np.arange(n), m)
        pj = np.tile(np.arange(m), n)
    else:
        # Horizontal axes only: in 3-D the height gate is applied exactly below.
        h = min(2, z.shape[1])
        track_var = float(np.max(pred.pxx[:, :h])) if var_bound is None else var_bound
        s_max = track_var + float(np.max(r[:, :h]))
        radius = gate * np.sqrt(s_max) * (1 + 1e-9) + shift  # d² < g² ⇒ |v|² < g² λmax(S)
        from scipy.spatial import cKDTree  # here: `picket track` starts without SciPy

        k = min(max_neighbours, m)
        _dist, idx = cKDTree(z[:, :h]).query(pred.pos[:, :h], k=k, distance_upper_bound=radius)
        idx = np.asarray(idx).reshape(n, k)
        ok = idx < m
        ti = np.nonzero(ok)[0]
        pj = idx[ok]
    if d2_fn is None:
        v = z[pj] - pred.pos[ti]
        d2 = np.sum(v * v / (pred.pxx[ti] + r[pj]), axis=1)
    else:
        d2 = d2_fn(ti, pj)
    keep = d2 < gate * gate
    return ti[keep], pj[keep], d2[keep]
