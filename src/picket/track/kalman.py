"""Constant-velocity Kalman filter, batched over tracks and axes.

With a constant-velocity model, a diagonal measurement noise and a block-diagonal
start, the covariance never couples the axes: each axis keeps its own 2x2 block
[[pxx, pxv], [pxv, pvv]]. Storing only those three numbers per track and axis turns
every matrix product into element-wise NumPy on (tracks, axes) arrays, which is why
thousands of tracks cost about as much as a few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F8 = NDArray[np.float64]


@dataclass(slots=True)
class CVState:
    """Kalman state of n tracks in k axes: arrays of shape (n, k)."""

    pos: F8
    vel: F8
    pxx: F8
    pxv: F8
    pvv: F8

    def take(self, idx: NDArray[np.intp]) -> CVState:
        return CVState(self.pos[idx], self.vel[idx], self.pxx[idx], self.pxv[idx], self.pvv[idx])

    def put(self, idx: NDArray[np.intp], other: CVState) -> None:
        self.pos[idx] = other.pos
        self.vel[idx] = other.vel
        self.pxx[idx] = other.pxx
        self.pxv[idx] = other.pxv
        self.pvv[idx] = other.pvv

    @classmethod
    def concat(cls, a: CVState, b: CVState) -> CVState:
        return cls(
            *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in cls.__slots__)  # type: ignore[attr-defined]
        )

    @classmethod
    def empty(cls, k: int) -> CVState:
        return cls(*(np.zeros((0, k)) for _ in range(5)))


def predict(s: CVState, dt: F8, q: float) -> CVState:
    """x' = F x, P' = F P Fᵀ + Q with Q = q [[dt³/3, dt²/2], [dt²/2, dt]] per axis."""
    d = np.asarray(dt, float).reshape(-1, 1)
    d2 = d * d
    pos = s.pos + s.vel * d
    pxx = s.pxx + 2.0 * d * s.pxv + d2 * s.pvv + q * d2 * d / 3.0
    pxv = s.pxv + d * s.pvv + q * d2 / 2.0
    pvv = s.pvv + q * d
    return CVState(pos, s.vel.copy(), pxx, pxv, pvv)


def innovation(s: CVState, z: F8, r: F8) -> tuple[F8, F8]:
    """Innovation v = z - Hx and its variance S = pxx + r, per axis."""
    return z - s.pos, s.pxx + r


def mahalanobis2(s: CVState, z: F8, r: F8) -> F8:
    """Squared Mahalanobis distance of each plot to each paired track (S diagonal)."""
    v, sv = innovation(s, z, r)
    return np.sum(v * v / sv, axis=-1)


def update(s: CVState, z: F8, r: F8) -> CVState:
    """Kalman update with position-only measurements z of variance r (per axis)."""
    v, sv = innovation(s, z, r)
    kx = s.pxx / sv
    kv = s.pxv / sv
    pos = s.pos + kx * v
    vel = s.vel + kv * v
    pxx = s.pxx * r / sv
    pxv = s.pxv * r / sv
    pvv = s.pvv - kv * s.pxv
    return CVState(pos, vel, pxx, pxv, pvv)


def initiate(z: F8, r: F8, velocity_sigma: float) -> CVState:
    """Tracks born from single plots: position from the plot, velocity unknown (zero mean)."""
    n, k = z.shape
    return CVState(
        z.astype(float, copy=True),
        np.zeros((n, k)),
        r.astype(float, copy=True),
        np.zeros((n, k)),
        np.full((n, k), float(velocity_sigma) ** 2),
    )


def full_covariance(s: CVState, i: int) -> F8:
    """Track i's covariance as a dense matrix in Stone Soup's order (x, vx, y, vy, ...)."""
    k = s.pos.shape[1]
    p = np.zeros((2 * k, 2 * k))
    for a in range(k):
        p[2 * a, 2 * a] = s.pxx[i, a]
        p[2 * a, 2 * a + 1] = p[2 * a + 1, 2 * a] = s.pxv[i, a]
        p[2 * a + 1, 2 * a + 1] = s.pvv[i, a]
    return p
