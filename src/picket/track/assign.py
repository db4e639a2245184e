"""Global-nearest-neighbour assignment on the sparse gated pairs.

The gated pairs split into independent clusters (connected components of the
track-plot graph). Most clusters in a real scene are one track and one plot, which
are settled in bulk; only the contested clusters are solved, each with its own small
matrix (by a Hungarian method here, SciPy's `linear_sum_assignment` for big ones).
Each track may instead take its "missed" option at `miss_cost`, so a far plot is never
forced onto a track.
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
    # array methods rather than NumPy's Python-level wrappers: a scan calls this twice
    if isinstance(miss_cost, float | int):
        miss: F8 | None = None
        useful = cost < miss_cost
    else:
        miss = np.broadcast_to(np.asarray(miss_cost, float), (n,))
        useful = cost < miss[ti]
    if not useful.all():
        keep = useful.nonzero()[0]
        ti, pj, cost = ti[keep], pj[keep], cost[keep]
    if len(ti) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    tdeg = np.bincount(ti, minlength=n)
    pdeg = np.bincount(pj, minlength=m)
    lone = (tdeg[ti] == 1) & (pdeg[pj] == 1)
    if lone.all():
        return ti, pj
    out_t, out_p = [ti[lone]], [pj[lone]]
    rest = ~lone
    rt, rp, rc = ti[rest], pj[rest], cost[rest]
    comp = _components(rt, rp, n)
    order = comp.argsort(kind="stable")
    rt, rp, rc, comp = rt[order], rp[order], rc[order], comp[order]
    bounds = (comp[1:] != comp[:-1]).nonzero()[0] + 1
    # clusters are a handful of pairs each: plain Python lists beat array calls here
    lt, lp, lc = rt.tolist(), rp.tolist(), rc.tolist()
    got_t: list[int] = []
    got_p: list[int] = []
    for a, b in zip([0, *bounds.tolist()], [*bounds.tolist(), len(lt)], strict=True):
        t_ids = sorted(set(lt[a:b]))
        p_ids = sorted(set(lp[a:b]))
        nt, npl = len(t_ids), len(p_ids)
        t_at = {t: i for i, t in enumerate(t_ids)}
        p_at = {p: j for j, p in enumerate(p_ids)}
        mat = [[_BIG] * (npl + nt) for _ in range(nt)]
        for e in range(a, b):
            mat[t_at[lt[e]]][p_at[lp[e]]] = lc[e]
        for i, t in enumerate(t_ids):
            mat[i][npl + i] = float(miss_cost if miss is None else miss[t])
        rows, cols = _solve(np.array(mat) if nt > SMALL else mat)
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            if j < npl:
                got_t.append(t_ids[i])
                got_p.append(p_ids[j])
    out_t.append(np.array(got_t, np.intp))
    out_p.append(np.array(got_p, np.intp))
    return np.concatenate(out_t), np.concatenate(out_p)


def _components(rt: I8, rp: I8, n: int) -> I8:
    """Cluster label (the smallest track index in it) of each track-plot pair: labels
    spread along the pairs until nothing changes (a cluster's width in rounds, a few)."""
    m = int(rp.max()) + 1
    lab_t = np.arange(n)
    lab_p = np.full(m, n)
    lab = lab_t[rt]
    while True:
        np.minimum.at(lab_p, rp, lab)
        lab = np.minimum(lab, lab_p[rp])
        np.minimum.at(lab_t, rt, lab)
        new = lab_t[rt]
        if (new == lab).all():
            return lab
        lab = new


SMALL = 16  # clusters up to this many tracks are solved here; larger ones by SciPy


def _solve(mat: F8 | list[list[float]]) -> tuple[I8, I8]:
    """Minimum-cost assignment of every row of `mat` (rows <= columns) to its own column.

    Small clusters (nearly all of them) by shortest augmenting paths with potentials
    (the Hungarian method, O(rows² cols)) in plain Python: SciPy's import costs more than
    a `picket track` run assigns."""
    if isinstance(mat, np.ndarray) and len(mat) > SMALL:
        from scipy.optimize import linear_sum_assignment

        return linear_sum_assignment(mat)
    a = mat.tolist() if isinstance(mat, np.ndarray) else mat
    nr, nc = len(a), len(a[0])
    inf = float("inf")
    u, v = [0.0] * (nr + 1), [0.0] * (nc + 1)
    match = [0] * (nc + 1)  # column j (1-based) -> row (1-based), 0: free
    way = [0] * (nc + 1)
    for i in range(1, nr + 1):
        match[0], j0 = i, 0
        minv, used = [inf] * (nc + 1), [False] * (nc + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = match[j0], inf, 0
            row, ui = a[i0 - 1], u[i0]
            for j in range(1, nc + 1):
                if not used[j]:
                    cur = row[j - 1] - ui - v[j]
                    if cur < minv[j]:
                        minv[j], way[j] = cur, j0
                    if minv[j] < delta:
                        delta, j1 = minv[j], j
            for j in range(nc + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    pairs = sorted((match[j] - 1, j - 1) for j in range(1, nc + 1) if match[j])
    rows = np.array([r for r, _ in pairs], np.intp)
    cols = np.array([c for _, c in pairs], np.intp)
    return rows, cols
