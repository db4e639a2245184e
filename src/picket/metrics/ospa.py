"""OSPA and GOSPA between two point sets (tracks and truth) at one instant.

Both metrics cap distances at c, and a pair at or beyond c costs exactly what
leaving both points unassigned costs. So the optimal assignment only ever uses pairs
closer than c, and it splits into independent clusters of such pairs: a k-d tree finds
them, each contested cluster gets its own small `linear_sum_assignment`, and thousands
of points never make one dense matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Gospa:
    """GOSPA (α = 2) and its parts; distance = (localisation + missed + false)^(1/p).

    `missed` and `false` are costs (c^p / 2 per point, as Stone Soup reports them);
    `n_missed` and `n_false` are the point counts.
    """

    distance: float
    localisation: float
    missed: float
    false: float
    n_missed: int
    n_false: int


def _points(a: ArrayLike) -> F8:
    x = np.asarray(a, float)
    return x.reshape(len(x), -1) if x.size else np.zeros((0, x.shape[-1] if x.ndim > 1 else 1))


def optimal_pairs(x: ArrayLike, y: ArrayLike, c: float, p: float) -> tuple[I8, I8, F8]:
    """Assignment of x to y minimising Σ (d^p − c^p) over pairs closer than c.

    Returns the matched indices and their distances d.
    """
    xa, ya = _points(x), _points(y)
    if len(xa) == 0 or len(ya) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0)
    sdm = cKDTree(xa).sparse_distance_matrix(cKDTree(ya), c, output_type="coo_matrix")
    keep = sdm.data < c
    xi, yj, d = sdm.row[keep].astype(np.intp), sdm.col[keep].astype(np.intp), sdm.data[keep]
    if len(xi) == 0:
        return xi, yj, d
    nx, ny = len(xa), len(ya)
    w = d**p - c**p
    lone = (np.bincount(xi, minlength=nx)[xi] == 1) & (np.bincount(yj, minlength=ny)[yj] == 1)
    ox, oy, od = [xi[lone]], [yj[lone]], [d[lone]]
    rest = ~lone
    if rest.any():
        rx, ry, rw, rd = xi[rest], yj[rest], w[rest], d[rest]
        g = coo_matrix((np.ones(len(rx)), (rx, nx + ry)), shape=(nx + ny, nx + ny))
        comp = connected_components(g, directed=False)[1][rx]
        order = np.argsort(comp, kind="stable")
        rx, ry, rw, rd, comp = rx[order], ry[order], rw[order], rd[order], comp[order]
        bounds = np.flatnonzero(np.diff(comp)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(comp)], strict=True):
            xs, xl = np.unique(rx[a:b], return_inverse=True)
            ys, yl = np.unique(ry[a:b], return_inverse=True)
            mat = np.zeros((len(xs), len(ys)))  # 0 = leave both unassigned
            dist = np.full((len(xs), len(ys)), np.inf)
            mat[xl, yl] = rw[a:b]
            dist[xl, yl] = rd[a:b]
            r, k = linear_sum_assignment(mat)
            use = mat[r, k] < 0
            ox.append(xs[r[use]])
            oy.append(ys[k[use]])
            od.append(dist[r[use], k[use]])
    return np.concatenate(ox), np.concatenate(oy), np.concatenate(od)


def ospa(tracks: ArrayLike, truth: ArrayLike, c: float, p: float = 1.0) -> float:
    """OSPA distance of order p with cut-off c (Schuhmacher, Vo & Vo 2008)."""
    x, y = _points(tracks), _points(truth)
    n = max(len(x), len(y))
    if n == 0:
        return 0.0
    _, _, d = optimal_pairs(x, y, c, p)
    total = float(np.sum(d**p)) + c**p * (n - len(d))
    return (total / n) ** (1.0 / p)


def gospa(tracks: ArrayLike, truth: ArrayLike, c: float, p: float = 1.0) -> Gospa:
    """GOSPA with α = 2 (Rahmathullah, García-Fernández & Svensson 2017)."""
    x, y = _points(tracks), _points(truth)
    _, _, d = optimal_pairs(x, y, c, p)
    k = len(d)
    loc = float(np.sum(d**p))
    half = c**p / 2.0
    n_false, n_missed = len(x) - k, len(y) - k
    missed, false = half * n_missed, half * n_false
    return Gospa((loc + missed + false) ** (1.0 / p), loc, missed, false, n_missed, n_false)
