"""Mahalanobis gating through a spatial index: only nearby track-plot pairs are ever formed.

A grid of cells one gate radius wide over the plots returns, for every predicted track,
its nearest plots within the largest gate radius any track could need; the exact
(per-pair) Mahalanobis test then keeps the pairs inside the gate. Pairs are three flat
arrays, never a tracks x plots matrix, so the cost grows with the number of plausible
pairs, not with the scene.
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
        ti, pj = grid_neighbours(pred.pos[:, :h], z[:, :h], radius, min(max_neighbours, m))
    if d2_fn is None:
        v = z[pj] - pred.pos[ti]
        d2 = np.sum(v * v / (pred.pxx[ti] + r[pj]), axis=1)
    else:
        d2 = d2_fn(ti, pj)
    keep = d2 < gate * gate
    return ti[keep], pj[keep], d2[keep]


def grid_neighbours(q: F8, p: F8, radius: float, k: int) -> tuple[I8, I8]:
    """For every point of `q`, its (at most) `k` nearest points of `p` closer than `radius`,
    as pairs (q index, p index): the points sorted into square cells `radius` wide, each
    query point looking in its own cell and the eight around it. The same pairs as a k-d
    tree query with an upper bound, in array operations and without SciPy (whose import
    alone costs several times a `picket track` run's tracking)."""
    nq = len(q)
    if not (np.isfinite(radius) and radius > 0) or len(p) == 0 or nq == 0:
        ti = np.repeat(np.arange(nq), len(p))
        pj = np.tile(np.arange(len(p)), nq)
    else:
        lo = p.min(0)
        span = float(np.max(p.max(0) - lo))
        cell = max(radius, span / 4096.0)  # at most ~4096² cells: keys stay small
        pc = np.floor((p - lo) / cell).astype(np.int64)
        ny = int(pc[:, 1].max()) + 1
        nx = int(pc[:, 0].max()) + 1
        pkey = pc[:, 0] * ny + pc[:, 1]
        order = np.argsort(pkey, kind="stable")
        skey = pkey[order]
        qc = np.floor((q - lo) / cell)
        qc = np.clip(qc, -2, [nx + 1, ny + 1]).astype(np.int64)  # far away: no cell near
        off = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)])
        cx = qc[:, None, 0] + off[None, :, 0]
        cy = qc[:, None, 1] + off[None, :, 1]
        inside = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        key = np.where(inside, cx * ny + cy, -1).ravel()
        a = np.searchsorted(skey, key, "left")
        cnt = np.where(key >= 0, np.searchsorted(skey, key, "right") - a, 0)
        total = int(cnt.sum())
        ti = np.repeat(np.repeat(np.arange(nq), 9), cnt)
        start = np.repeat(a - (np.cumsum(cnt) - cnt), cnt)
        pj = order[start + np.arange(total)]
    d = p[pj] - q[ti]
    d2 = np.sum(d * d, axis=1)
    near = d2 < radius * radius if np.isfinite(radius) else np.ones(len(d2), bool)
    ti, pj, d2 = ti[near], pj[near], d2[near]
    if len(ti) == 0 or np.bincount(ti).max() <= k:
        return ti, pj
    o = np.lexsort((d2, ti))  # per query point, nearest first; keep k
    ti, pj = ti[o], pj[o]
    first = np.searchsorted(ti, ti, "left")
    keep = np.arange(len(ti)) - first < k
    return ti[keep], pj[keep]
