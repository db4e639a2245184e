"""The motion models the tracker runs: one interface over the CV Kalman filter and the IMM.

The tracker core asks its model to start, predict, gate and update tracks; which filter
sits behind (`TrackerConfig.model`) changes nothing else. `delta` arguments are each
plot's time minus the tracks' time (<= 0 s, None when every plot is at the scan time).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from picket.track import kalman
from picket.track.config import TrackerConfig
from picket.track.kalman import CVState

if TYPE_CHECKING:  # the IMM's module is loaded by the first IMMMotion only
    from picket.track.imm import IMMState

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]


class CVMotion:
    """Constant velocity, per-axis covariance blocks (see `kalman`)."""

    def __init__(self, cfg: TrackerConfig):
        self.q, self.v0, self.k = cfg.process_noise, cfg.initial_velocity_sigma, cfg.dims

    def empty(self) -> CVState:
        return CVState.empty(self.k)

    def initiate(self, z: F8, r: F8) -> CVState:
        return kalman.initiate(z, r, self.v0)

    def predict(self, s: CVState, dt: F8) -> CVState:
        return kalman.predict(s, dt, self.q)

    def update(self, s: CVState, z: F8, r: F8, delta: F8 | None) -> CVState:
        return kalman.update(s, z, r, delta, self.q)

    def mahalanobis2(self, s: CVState, z: F8, r: F8, delta: F8 | None) -> F8:
        return kalman.mahalanobis2(s, z, r, delta, self.q)

    def log_det(self, s: CVState, z: F8, r: F8, delta: F8 | None) -> F8:
        _, sv = kalman.innovation(s, z, r, delta, self.q)
        return np.sum(np.log(2 * np.pi * sv), axis=1)

    def var_bound(self, s: CVState, dmax: float) -> float | None:
        if dmax <= 0:
            return None  # the gate's own default is exact
        h = min(2, self.k)
        sd = np.sqrt(s.pxx[:, :h]) + dmax * np.sqrt(s.pvv[:, :h])
        return float(np.max(sd * sd)) + self.q * dmax**3 / 3.0


class IMMMotion:
    """CV plus turns at ±`turn_rate_deg_s`; gating and assignment use the combined estimate."""

    def __init__(self, cfg: TrackerConfig):
        from picket.track import imm

        self.imm = imm
        self.q, self.v0, self.k = cfg.process_noise, cfg.initial_velocity_sigma, cfg.dims
        w = np.radians(cfg.turn_rate_deg_s)
        self.omega = np.array([0.0, w, -w])
        self.chain = imm.ModeChain.star(3, cfg.cv_sojourn_s, cfg.turn_sojourn_s)
        pi = self.chain.matrices(np.array([1e9]))[0, 0]  # the chain's long-run share
        self.mu0 = pi

    def empty(self) -> IMMState:
        return self.imm.IMMState.empty(self.k, len(self.omega))

    def initiate(self, z: F8, r: F8) -> IMMState:
        return self.imm.initiate(z, r, self.v0, self.mu0)

    def predict(self, s: IMMState, dt: F8) -> IMMState:
        return self.imm.predict(s, dt, self.q, self.omega, self.chain)

    def update(self, s: IMMState, z: F8, r: F8, delta: F8 | None) -> IMMState:
        return self.imm.update(s, z, r, self.q, self.omega, delta)

    def mahalanobis2(self, s: IMMState, z: F8, r: F8, delta: F8 | None) -> F8:
        return self.imm.mahalanobis2(s, z, r, self.q, delta)

    def log_det(self, s: IMMState, z: F8, r: F8, delta: F8 | None) -> F8:
        return self.imm.log_det(s, z, r, self.q, delta)

    def var_bound(self, s: IMMState, dmax: float) -> float:
        k, h = self.k, min(2, self.k)
        idx = np.arange(h)
        tp = np.sum(s.pc[:, idx, idx], axis=1)  # trace bounds the largest eigenvalue
        tv = np.sum(s.pc[:, k + idx, k + idx], axis=1)
        sd = np.sqrt(tp) + dmax * np.sqrt(tv)
        return float(np.max(sd * sd)) + self.q * dmax**3 / 3.0


Motion = CVMotion | IMMMotion


def motion_for(cfg: TrackerConfig) -> Motion:
    return IMMMotion(cfg) if cfg.model == "imm" else CVMotion(cfg)
