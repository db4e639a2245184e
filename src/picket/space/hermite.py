"""States halfway between two SGP4 samples by cubic Hermite interpolation, with error bounds.

Why: SGP4 costs ~0.6 us per object and sample, the sieve about half that. The
screener propagates every other step and interpolates the one between from
the positions and velocities at both ends, so half the steps cost almost
nothing; the sieve widens each pair's threshold by the interpolation error
bound, so nothing is lost, and every candidate is refined on exact SGP4.

With s = dt/2 and M4 an upper bound on |r''''| over the interval, the
midpoint errors are (Taylor with Lagrange remainders, per direction):

    position |r - H(m)|   <= M4 s^4 / 24
    velocity |v - H'(m)|  <= 7 M4 s^3 / 48

Two-body motion gives r'''' = (3uq - 15up^2 + u^2) r + 6up v with u = mu/rho^3,
p = r.v/rho^2, q = v^2/rho^2 - u, so |r''''| <= 4 mu^2/rho^5 + 24 mu v^2/rho^4 at
the lowest radius and highest speed the interval can reach (from either end's
speed bound and radial reach). For near-circular LEO this is ~30 times the true
value; SGP4's departures from two-body motion (J2 short-period terms, drag,
lunisolar terms) add less than 1e-9 km/s^4, allowed for on top. At 60 s
steps (dt = 120 s) the bound is ~170 m and ~10 m/s in LEO.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.space.sieve import MU, R_MIN, moments, physical, radial_reach, speed_bound
from picket.space.sieve import warm_up as sieve_warm_up

M4_SLACK = 1e-9  # km/s^4: SGP4's non-two-body terms, several times their size


@njit(cache=True, nogil=True, error_model="numpy")
def midpoints(
    r0: np.ndarray,
    v0: np.ndarray,
    ok0: np.ndarray,
    r1: np.ndarray,
    v1: np.ndarray,
    ok1: np.ndarray,
    dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(r, v, ok, position bound km, velocity bound km/s) at t0 + dt/2 for every object.

    `ok` is False where either end is not valid or not `physical` (the caller
    propagates those exactly).
    """
    n = len(r0)
    r = np.empty((n, 3))
    v = np.empty((n, 3))
    ok = np.zeros(n, np.bool_)
    er = np.zeros(n)
    ev = np.zeros(n)
    s = dt / 2
    for i in range(n):
        rho0, v20, rv0 = moments(r0, v0, i)
        rho1, v21, rv1 = moments(r1, v1, i)
        if not (ok0[i] and ok1[i] and physical(rho0, v20) and physical(rho1, v21)):
            r[i, :] = np.nan
            v[i, :] = np.nan
            continue
        for k in range(3):
            r[i, k] = 0.5 * (r0[i, k] + r1[i, k]) + dt * (v0[i, k] - v1[i, k]) / 8
            v[i, k] = 1.5 * (r1[i, k] - r0[i, k]) / dt - 0.25 * (v0[i, k] + v1[i, k])
        # every instant of the interval is within s of an end: bound radius and speed there
        vb0, vb1 = speed_bound(rho0, v20, rv0, s), speed_bound(rho1, v21, rv1, s)
        low = min(rho0 - radial_reach(rho0, v20, rv0, vb0, s),
                  rho1 - radial_reach(rho1, v21, rv1, vb1, s))  # fmt: skip
        low = max(low, R_MIN)
        vmax = max(vb0, vb1)
        m4 = 4 * MU * MU / low**5 + 24 * MU * vmax * vmax / low**4 + M4_SLACK
        er[i] = m4 * s**4 / 24
        ev[i] = 7 * m4 * s**3 / 48
        ok[i] = True
    return r, v, ok, er, ev


def warm_up() -> None:
    """Compile (or load from numba's cache) this and the sieve before workers fork."""
    sieve_warm_up()
    z, ok = np.ones((1, 2, 3)), np.ones((1, 2), np.bool_)
    midpoints(z[:, 0] * 7000.0, z[:, 0], ok[:, 0], z[:, 1] * 7000.0, z[:, 1], ok[:, 1], 120.0)
