"""Mahalanobis gating through a spatial index: only nearby track-plot pairs are ever formed.

A k-d tree over the plots returns, for every predicted track, its nearest plots within
the largest gate radius any track could need; the exact (per-pair) Mahalanobis test then
keeps the pairs inside the gate. Pairs are three flat arrays, never a tracks x plots
matrix, so the cost grows with the number of plausible pairs, not with the scene.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from picket.track.kalman import CVState

I8 = NDArray[np.intp]
F8 = NDArray[np.float64]

DENSE_LIMIT = 4096  # below this many track-plot pairs, skip the tree


def gate_pairs(
    pred: CVState, z: F8, r: F8, gate: float, max_neighbours: int = 8
) -> tuple[I8, I8, F8]:
    """Pairs (track index, plot index, squared Mahalanobis distance) inside `gate` sigmas."""
    n, m = len(pred.pos), len(z)
    if n == 0 or m == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    if n * m <= DENSE_LIMIT:
        ti = np.repeat(np.arange(n), m)
        pj = np.tile(np.arange(m), n)
    else:
        # Horizontal axes only: in 3-D the height gate is applied exactly below.
        h = min(2, z.shape[1])
        s_max = float(np.max(pred.pxx[:, :h])) + float(np.max(r[:, :h]))
        radius = gate * np.sqrt(s_max) * (1 + 1e-9)  # d² < g² ⇒ |v|² < g² max S
        k = min(max_neighbours, m)
        _dist, idx = cKDTree(z[:, :h]).query(pred.pos[:, :h], k=k, distance_upper_bound=radius)
        idx = np.asarray(idx).reshape(n, k)
        ok = idx < m
        ti = np.nonzero(ok)[0]
        pj = idx[ok]
    v = z[pj] - pred.pos[ti]
    d2 = np.sum(v * v / (pred.pxx[ti] + r[pj]), axis=1)
    keep = d2 < gate * gate
    return ti[keep], pj[keep], d2[keep]
