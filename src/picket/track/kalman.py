"""Constant-velocity Kalman filter, batched over tracks and axes.

With a constant-velocity model, a diagonal measurement noise and a block-diagonal
start, the covariance never couples the axes: each axis keeps its own 2x2 block
[[pxx, pxv], [pxv, pvv]]. Storing only those three numbers per track and axis turns
every matrix product into element-wise NumPy on (tracks, axes) arrays, which is why
thousands of tracks cost about as much as a few.

A plot may be stamped a little before the scan time the tracks sit at (a rotating
radar's plots are spread over its revolution): its offset `delta` (<= 0 s) makes the
measurement ``H = [1, delta]`` per axis, the position the track had at the plot's own
time, so one scan needs one prediction however its plots are spread.
"""

from __future__ import annotations

from collections.abc import Callable
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

    # Rows by `ndarray.take` and flat positions: indexing (n, k) arrays with an index
    # array costs about ten times as much in NumPy, and a scan does it dozens of times.
    def take(self, idx: NDArray[np.intp]) -> CVState:
        idx = np.flatnonzero(idx) if idx.dtype.kind == "b" else idx
        return CVState(
            self.pos.take(idx, 0),
            self.vel.take(idx, 0),
            self.pxx.take(idx, 0),
            self.pxv.take(idx, 0),
            self.pvv.take(idx, 0),
        )

    def put(self, idx: NDArray[np.intp], other: CVState) -> None:
        k = self.pos.shape[1]
        flat = ((idx * k)[:, None] + np.arange(k)).ravel()
        for f in ("pos", "vel", "pxx", "pxv", "pvv"):
            a, b = getattr(self, f), getattr(other, f)
            if a.flags.c_contiguous:
                a.reshape(-1)[flat] = b.reshape(-1)
            else:
                a[idx] = b

    @classmethod
    def concat(cls, a: CVState, b: CVState) -> CVState:
        return cls(
            *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in cls.__slots__)  # type: ignore[attr-defined]
        )

    @classmethod
    def empty(cls, k: int) -> CVState:
        return cls(*(np.zeros((0, k)) for _ in range(5)))

    def __len__(self) -> int:
        return len(self.pos)

    def relocated(self, pos: F8, rotate: Callable[[F8], F8]) -> CVState:
        """The same tracks in another tangent plane (covariances kept: nearly isotropic)."""
        return CVState(pos, rotate(self.vel), self.pxx, self.pxv, self.pvv)


def predict(s: CVState, dt: F8, q: float) -> CVState:
    """x' = F x, P' = F P Fᵀ + Q with Q = q [[dt³/3, dt²/2], [dt²/2, dt]] per axis."""
    d = np.asarray(dt, float).reshape(-1, 1)
    d2 = d * d
    pos = s.pos + s.vel * d
    pxx = s.pxx + 2.0 * d * s.pxv + d2 * s.pvv + q * d2 * d / 3.0
    pxv = s.pxv + d * s.pvv + q * d2 / 2.0
    pvv = s.pvv + q * d
    return CVState(pos, s.vel.copy(), pxx, pxv, pvv)


def offset_noise(delta: F8 | None, q: float) -> F8 | float:
    """Position variance the process noise adds between a plot's time and the scan's.

    Added to the plot's own variance: exact for the position, it leaves out the small
    correlation with the velocity that a full retrodiction would carry.
    """
    if delta is None:
        return 0.0
    d = np.abs(np.asarray(delta, float)).reshape(-1, 1)
    return q * d * d * d / 3.0


def innovation(s: CVState, z: F8, r: F8, delta: F8 | None = None, q: float = 0.0) -> tuple[F8, F8]:
    """Innovation v = z - Hx and its variance S = H P Hᵀ + r, per axis."""
    if delta is None:
        return z - s.pos, s.pxx + r
    d = np.asarray(delta, float).reshape(-1, 1)
    sv = s.pxx + 2.0 * d * s.pxv + d * d * s.pvv + r + offset_noise(d, q)
    return z - (s.pos + d * s.vel), sv


def mahalanobis2(s: CVState, z: F8, r: F8, delta: F8 | None = None, q: float = 0.0) -> F8:
    """Squared Mahalanobis distance of each plot to each paired track (S diagonal)."""
    v, sv = innovation(s, z, r, delta, q)
    return np.sum(v * v / sv, axis=-1)


def update(s: CVState, z: F8, r: F8, delta: F8 | None = None, q: float = 0.0) -> CVState:
    """Kalman update with position-only measurements z of variance r (per axis).

    `delta` (per plot, s, <= 0) is each plot's time relative to the tracks' time.
    """
    if delta is not None:
        return _update_offset(s, z, r, delta, q)
    v, sv = innovation(s, z, r)
    kx = s.pxx / sv
    kv = s.pxv / sv
    pos = s.pos + kx * v
    vel = s.vel + kv * v
    pxx = s.pxx * r / sv
    pxv = s.pxv * r / sv
    pvv = s.pvv - kv * s.pxv
    return CVState(pos, vel, pxx, pxv, pvv)


def _update_offset(s: CVState, z: F8, r: F8, delta: F8, q: float) -> CVState:
    d = np.asarray(delta, float).reshape(-1, 1)
    v, sv = innovation(s, z, r, d, q)
    ax = s.pxx + d * s.pxv  # P Hᵀ, position row
    av = s.pxv + d * s.pvv  # P Hᵀ, velocity row
    kx, kv = ax / sv, av / sv
    return CVState(
        s.pos + kx * v, s.vel + kv * v, s.pxx - kx * ax, s.pxv - kx * av, s.pvv - kv * av
    )


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
