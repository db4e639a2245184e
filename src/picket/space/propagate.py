"""SGP4 propagation of a whole catalogue with sgp4's vectorised `SatrecArray`.

States are TEME (the frame SGP4 works in), km and km/s. Objects that SGP4
cannot propagate at a time (decayed, eccentricity out of range) come back
with NaN states and a non-zero error code; they are reported, never raised.
opsmode 'a' is AFSPC's original behaviour (what SOCRATES and Space-Track use),
'i' the improved one; the difference is metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sgp4.api import SatrecArray

from picket.space.elements import ElementSets, unix_to_jd

SGP4_ERRORS = {
    1: "mean eccentricity out of range",
    2: "mean motion below zero",
    3: "perturbed eccentricity out of range",
    4: "semi-latus rectum below zero",
    5: "epoch elements are sub-orbital",
    6: "satellite has decayed",
}
EARTH_RADIUS_KM = 6378.135  # WGS72, SGP4's own
MU_KM3S2 = 398600.8  # WGS72
HILL_KM = 2.0e6  # beyond the Earth's Hill sphere nothing is in Earth orbit
OMEGA_EARTH = 7.292115146706979e-5  # rad/s


@dataclass
class InitFailure:
    norad: int
    error: int
    reason: str


class Propagator:
    """A catalogue ready to propagate: Satrecs built once, reused for every step."""

    def __init__(self, elements: ElementSets, opsmode: str = "a"):
        if opsmode not in ("a", "i"):
            raise ValueError("opsmode must be 'a' (AFSPC, as SOCRATES) or 'i' (improved)")
        self.opsmode = opsmode
        sats = elements.satrecs(opsmode)
        err = np.array([s.error for s in sats], dtype=np.int16)
        self.failures = [
            InitFailure(int(elements.norad[i]), int(err[i]), SGP4_ERRORS.get(int(err[i]), "?"))
            for i in np.flatnonzero(err)
        ]
        keep = np.flatnonzero(err == 0)
        self.elements = elements.take(keep)
        self.sats = [sats[i] for i in keep]
        self.array = SatrecArray(self.sats) if self.sats else None
        # perigee and apogee radii (km) of the mean orbit, for the apogee/perigee filter
        a = np.array([s.a for s in self.sats]) * EARTH_RADIUS_KM
        e = np.array([s.ecco for s in self.sats])
        self.perigee_km = a * (1 - e)
        self.apogee_km = a * (1 + e)

    def __len__(self) -> int:
        return len(self.sats)

    def states(
        self, times: np.ndarray, index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(r km, v km/s, error) of shape (n, m, 3), (n, m, 3), (n, m) at unix `times`.

        `index` picks a subset of objects (a new SatrecArray, cheap).
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        arr = self.array if index is None else SatrecArray([self.sats[i] for i in index])
        n = len(self.sats) if index is None else len(index)
        if n == 0 or arr is None:
            z = np.zeros((n, len(times), 3))
            return z, z.copy(), np.zeros((n, len(times)), np.uint8)
        jd, fr = unix_to_jd(times)
        e, r, v = arr.sgp4(jd, fr)
        bad = e != 0
        if bad.any():
            r[bad] = np.nan
            v[bad] = np.nan
        return r, v, e


def physical_states(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """States an Earth orbit can have: between one Earth radius and the Hill sphere, at
    most 1.05 times escape speed (False for NaN).

    SGP4 returns no error for some decaying element sets whose states then run
    off to millions of km at thousands of km/s; the screener drops and counts them.
    """
    rho = np.sqrt(np.einsum("...i,...i->...", r, r))
    v2 = np.einsum("...i,...i->...", v, v)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rho >= EARTH_RADIUS_KM) & (rho <= HILL_KM) & (v2 <= 2.2 * MU_KM3S2 / rho)


def propagate_one(sat, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Satrec at many times (used to refine candidate pairs)."""
    jd, fr = unix_to_jd(np.atleast_1d(t))
    e, r, v = sat.sgp4_array(jd, fr)
    return r, v, e


def gmst(t: np.ndarray | float) -> np.ndarray:
    """Greenwich mean sidereal angle (rad), IAU-82 as SGP4 uses; UT1 taken as UTC."""
    jd = np.asarray(t, dtype=float) / 86400.0 + 2440587.5
    tut1 = (jd - 2451545.0) / 36525.0
    sec = (
        -6.2e-6 * tut1**3 + 0.093104 * tut1**2
        + (876600.0 * 3600 + 8640184.812866) * tut1 + 67310.54841
    )  # fmt: skip
    return np.mod(sec * (np.pi / 180.0) / 240.0, 2 * np.pi)


def teme_to_ecef(r: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """Rotate TEME positions (..., 3) to Earth-fixed by GMST (no polar motion: < 20 m)."""
    th = gmst(t)
    c, s = np.cos(th), np.sin(th)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    return np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)


def subpoints(r_teme: np.ndarray, t: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """(lat deg, lon deg, alt m) WGS84 below TEME positions in km."""
    from picket.geo.geodesy import ecef_to_geodetic

    ecef = teme_to_ecef(r_teme, t) * 1000.0
    return ecef_to_geodetic(ecef[..., 0], ecef[..., 1], ecef[..., 2])


def velocity_slack(
    prop: Propagator, start: float, duration_s: float, samples: int = 24, seed: int = 7
) -> np.ndarray:
    """Per object, a bound (km/s) on how far SGP4's velocity strays from its position's rate.

    SGP4's velocity is not exactly the derivative of its position: the median
    object is off by 0.02 mm/s, but drag-heavy near-Earth sets reach 20 m/s and
    some deep-space ones 100 m/s (near perigee, or through the resonance terms).
    The screener extrapolates with velocities, so it widens each object's reach
    by this bound. Measured by central differences (+-0.5 s, error below 2 mm/s)
    at `samples` stratified random times over the window and, for eccentric
    orbits (e > 0.05, where the error peaks), around the perigees nearest the
    window's start and end; then three times the largest seen plus 2 m/s.
    """
    n = len(prop)
    worst = np.zeros(n)
    if n == 0 or prop.array is None:
        return worst
    u = np.random.default_rng(seed).uniform(size=samples)
    times = start + duration_s * (np.arange(samples) + u) / samples
    for t in times:
        r, v, e = prop.states(np.array([t - 0.5, t, t + 0.5]))
        worst = np.fmax(worst, _mismatch(r, v, e))
    for i in np.flatnonzero(np.array([s.ecco for s in prop.sats]) > 0.05):
        sat = prop.sats[i]
        t_epoch = (sat.jdsatepoch - 2440587.5 + sat.jdsatepochF) * 86400.0
        rate = sat.mdot / 60.0  # rad/s
        if not rate > 0:
            continue
        period = 2 * math.pi / rate
        t_p = []
        for t in (start, start + duration_s):  # the perigee nearest each end of the window
            m = sat.mo + rate * (t - t_epoch)
            t_p.append(t + (math.remainder(-m, 2 * math.pi)) / rate)
        offs = period * np.linspace(-0.02, 0.02, 9)
        tt = (np.array(t_p)[:, None] + offs[None, :]).ravel()
        tt = (tt[:, None] + np.array([-0.5, 0.0, 0.5])[None, :]).ravel()
        jd, fr = unix_to_jd(tt)
        e, r, v = sat.sgp4_array(jd, fr)
        worst[i] = max(worst[i], float(_mismatch(r[None], v[None], e[None])[0]))
    return 3.0 * worst + 0.002


def _mismatch(r: np.ndarray, v: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Largest |v - dr/dt| per object over triples (t - 0.5, t, t + 0.5) along axis 1."""
    r3 = r.reshape(r.shape[0], -1, 3, 3)
    v3 = v.reshape(v.shape[0], -1, 3, 3)
    ok = (e.reshape(e.shape[0], -1, 3) == 0).all(axis=2) & physical_states(r3, v3).all(axis=2)
    d = np.linalg.norm(v3[:, :, 1] - (r3[:, :, 2] - r3[:, :, 0]), axis=2)
    return np.where(ok, d, 0.0).max(axis=1)
