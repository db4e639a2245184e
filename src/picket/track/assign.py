"""Global-nearest-neighbour assignment on the sparse gated pairs.

The gated pairs split into independent clusters (connected components of the
track-plot graph). Most clusters in a real scene are one track and one plot, which
are settled in bulk; only the contested clusters go to scipy's
`linear_sum_assignment`, each with its own small matrix. Each track may instead take
its "missed" option at `miss_cost`, so a far plot is never forced onto a track.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

I8 = NDArray[np.intp]
F8 = NDArray[np.float64]

_BIG = 1e12


def gnn_assign(ti: I8, pj: I8, cost: F8, miss_cost: F8 | float, n: int, m: int) -> tuple[I8, I8]:
    """Minimum-cost assignment of tracks to plots; returns matched (track, plot) indices.

    `cost[e]` is the cost of pairing track ti[e] with plot pj[e]; `miss_cost` (per track
    or scalar) is the cost of the track taking no plot. Unpaired plots cost nothing here:
    the caller treats them as new-track candidates.
    """
    miss = np.broadcast_to(np.asarray(miss_cost, float), (n,))
    useful = cost < miss[ti]
    ti, pj, cost = ti[useful], pj[useful], cost[useful]
    if len(ti) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    tdeg = np.bincount(ti, minlength=n)
    pdeg = np.bincount(pj, minlength=m)
    lone = (tdeg[ti] == 1) & (pdeg[pj] == 1)
    out_t, out_p = [ti[lone]], [pj[lone]]
    rest = ~lone
    if rest.any():
        from scipy.optimize import linear_sum_assignment  # here: contested clusters only
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        rt, rp, rc = ti[rest], pj[rest], cost[rest]
        graph = coo_matrix((np.ones(len(rt)), (rt, n + rp)), shape=(n + m, n + m))
        _, label = connected_components(graph, directed=False)
        comp = label[rt]
        order = np.argsort(comp, kind="stable")
        rt, rp, rc, comp = rt[order], rp[order], rc[order], comp[order]
        bounds = np.flatnonzero(np.diff(comp)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(comp)], strict=True):
            t_ids, t_loc = np.unique(rt[a:b], return_inverse=True)
            p_ids, p_loc = np.unique(rp[a:b], return_inverse=True)
            nt, npl = len(t_ids), len(p_ids)
            mat = np.full((nt, npl + nt), _BIG)
            mat[t_loc, p_loc] = rc[a:b]
            mat[np.arange(nt), npl + np.arange(nt)] = miss[t_ids]
            rows, cols = linear_sum_assignment(mat)
            hit = cols < npl
            out_t.append(t_ids[rows[hit]])
            out_p.append(p_ids[cols[hit]])
    return np.concatenate(out_t), np.concatenate(out_p)
