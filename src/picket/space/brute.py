"""Dense brute-force conjunction reference, to check the screener against.

Deliberately shares nothing with `screen.py` but SGP4 itself: every pair of the
sample at every `coarse_s` step (all-pairs distance matrix), a step flagged
whenever the pair could come within the threshold within half a step at the
catalogue's largest relative speed, then every flagged stretch at 1 s steps
on exact SGP4 states, each sign change of d/dt range refined with Brent's
method. Cost grows with n^2 x steps: meant for samples of hundreds to a few
thousand objects.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from picket.space.elements import unix_to_jd
from picket.space.propagate import Propagator


def brute_force(
    prop: Propagator,
    start: float,
    duration_s: float,
    threshold_km: float = 5.0,
    coarse_s: float = 10.0,
    fine_s: float = 1.0,
) -> list[tuple[int, int, float, float]]:
    """[(i, j, tca, miss_km)] for every local range minimum below the threshold, i < j."""
    n = len(prop)
    half = coarse_s / 2
    times = start + np.arange(0.0, duration_s + coarse_s, coarse_s)
    iu = np.triu_indices(n, 1)
    fi, fj, fk = [], [], []
    block = max(1, min(200, 2_000_000 // max(len(iu[0]), 1)))
    for b0 in range(0, len(times), block):
        tb = times[b0 : b0 + block]
        r, v, _ = prop.states(tb)
        vmax = float(np.nanmax(np.linalg.norm(v, axis=2))) + 0.01 * half
        r = np.nan_to_num(r, nan=1e9).astype(np.float32)  # coarse flags only
        dd = r[iu[0]] - r[iu[1]]  # (pairs, steps, 3)
        d2 = np.einsum("psi,psi->ps", dd, dd)
        reach = threshold_km + 2 * vmax * half + 0.01  # + float32 rounding
        hp, hk = np.nonzero(d2 < reach * reach)
        fi.append(iu[0][hp])
        fj.append(iu[1][hp])
        fk.append(b0 + hk)
    ai, aj, ak = (np.concatenate(x) if x else np.zeros(0, np.int64) for x in (fi, fj, fk))
    order = np.lexsort((ak, aj, ai))
    ai, aj, ak = ai[order], aj[order], ak[order]
    cut = np.flatnonzero((np.diff(ai) != 0) | (np.diff(aj) != 0)) + 1
    offsets = np.arange(-half - fine_s, half + fine_s + 1e-9, fine_s)
    events: list[tuple[int, int, float, float]] = []
    for grp in np.split(np.arange(len(ai)), cut):
        if not len(grp):
            continue
        i, j = int(ai[grp[0]]), int(aj[grp[0]])
        t_fine = np.unique((times[ak[grp]][:, None] + offsets[None, :]).ravel())
        jd, fr = unix_to_jd(t_fine)
        e1, r1, v1 = prop.sats[i].sgp4_array(jd, fr)
        e2, r2, v2 = prop.sats[j].sgp4_array(jd, fr)
        f = np.einsum("ij,ij->i", r1 - r2, v1 - v2)
        ok = (e1 == 0) & (e2 == 0)
        step = np.isclose(np.diff(t_fine), fine_s)
        sign = (f[:-1] < 0) & (f[1:] >= 0) & ok[:-1] & ok[1:] & step
        for m in np.flatnonzero(sign).tolist():
            tca = brentq(_rate, t_fine[m], t_fine[m + 1], args=(prop.sats[i], prop.sats[j]),
                         xtol=1e-5)  # fmt: skip
            miss = _range(tca, prop.sats[i], prop.sats[j])
            if miss < threshold_km and start <= tca <= start + duration_s:
                events.append((i, j, float(tca), float(miss)))
    events.sort(key=lambda x: (x[0], x[1], x[2]))
    out: list[tuple[int, int, float, float]] = []
    for ev in events:  # the same minimum seen from two flagged steps
        if out and out[-1][:2] == ev[:2] and abs(out[-1][2] - ev[2]) < 1.0:
            continue
        out.append(ev)
    return out


def _states(t: float, s1, s2) -> tuple:
    d = t / 86400.0
    w = math.floor(d)
    _, r1, v1 = s1.sgp4(w + 2440587.5, d - w)
    _, r2, v2 = s2.sgp4(w + 2440587.5, d - w)
    return np.subtract(r1, r2), np.subtract(v1, v2)


def _rate(t: float, s1, s2) -> float:
    dr, dv = _states(t, s1, s2)
    return float(dr @ dv)


def _range(t: float, s1, s2) -> float:
    dr, _ = _states(t, s1, s2)
    return float(np.linalg.norm(dr))
