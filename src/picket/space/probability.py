"""Collision probability from assumptions, because TLEs carry no covariance.

Two numbers per conjunction, both in the encounter plane with an isotropic
Gaussian of the combined position error and a combined hard-body radius R:

* `max_probability`: SOCRATES' MAX_PROB. The covariance size is unknown, so
  take the sigma that maximises the probability (Alfano's "maximum
  probability"); DILUTION is that sigma in km. For d >> R it is
  P_max = R^2 / (e d^2) at sigma = d / sqrt(2); closer than ~10 R the exact
  Rice integral is maximised over a sigma grid.
* `probability`: the probability at an assumed 1-sigma error per object
  (`sigma_km`, default 1 km per axis, TLE-grade in LEO), combined sqrt(2) sigma.

Hard-body radii are assumed from the object type in its name (R/B, DEB,
payload); see `HARD_BODY_M`.
"""

from __future__ import annotations

import numpy as np

HARD_BODY_M = {"payload": 1.0, "rocket body": 2.0, "debris": 0.3}


def hard_body_m(names: np.ndarray) -> np.ndarray:
    """Assumed hard-body radius (m) from object names."""
    up = np.char.upper(np.asarray(names, dtype=str))
    rb = np.char.find(up, "R/B") >= 0
    deb = (np.char.find(up, " DEB") >= 0) | np.char.startswith(up, "DEB")
    return np.where(rb, HARD_BODY_M["rocket body"],
                    np.where(deb, HARD_BODY_M["debris"], HARD_BODY_M["payload"]))  # fmt: skip


def circle_probability(miss_km: np.ndarray, hbr_km: np.ndarray, sigma_km: np.ndarray):
    """P(|x| < R) for a 2-D isotropic Gaussian of sigma centred at distance d (Rice CDF)."""
    from scipy.stats import ncx2  # here: scipy.stats costs 35 MB of RSS to every import

    s = np.asarray(sigma_km, dtype=float)
    return ncx2.cdf((hbr_km / s) ** 2, 2, (miss_km / s) ** 2)


def max_probability(miss_km: np.ndarray, hbr_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P_max, sigma at the maximum in km) per conjunction."""
    d = np.asarray(miss_km, dtype=float)
    r = np.broadcast_to(np.asarray(hbr_km, dtype=float), d.shape)
    with np.errstate(divide="ignore"):
        p = np.minimum(1.0, r * r / (np.e * d * d))
    sig = d / np.sqrt(2.0)
    close = np.flatnonzero(d < 10 * r)
    if len(close):
        grid = np.geomspace(1e-6, 1e2, 400)
        pc = circle_probability(d[close, None], r[close, None], grid[None, :])
        best = np.argmax(pc, axis=1)
        p[close] = pc[np.arange(len(close)), best]
        sig[close] = grid[best]
    return p, sig


def probability(miss_km: np.ndarray, hbr_km: np.ndarray, sigma_km: float = 1.0) -> np.ndarray:
    """Probability at an assumed per-object 1-sigma (combined: sqrt(2) sigma)."""
    return circle_probability(miss_km, hbr_km, np.sqrt(2.0) * sigma_km)
