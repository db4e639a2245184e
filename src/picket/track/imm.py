"""Interacting multiple model (IMM) filter: constant velocity plus known-rate turns, batched.

Each track carries one Gaussian per mode. Mode 0 is constant velocity; the others turn
at fixed rates (+w, -w, ...) in the east/north plane, height (when tracked) moving at
constant velocity in every mode. A fixed rate keeps every mode linear, so each mode is
an exact Kalman filter (no EKF linearisation), and a pair of rates covers the turns a
single uncertain-rate model would have to estimate.

Mode switching is a continuous-time Markov chain: the switching probability follows the
real interval between updates, which is irregular with several sensors or plots spread
over a radar's revolution, and two short predictions compose into one long one.

Layout, all arrays over tracks first: mode means ``x`` (n, M, d) with d = 2k ordered
positions then velocities (e, n[, u], ve, vn[, vu]); covariances ``p`` (n, M, d, d); mode
probabilities ``mu`` (n, M). The moment-matched combined mean ``xc`` (n, d) and
covariance ``pc`` (n, d, d) are kept alongside: gating, assignment and output use them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F8 = NDArray[np.float64]
I8 = NDArray[np.intp]

_TINY = 1e-300


@dataclass(slots=True)
class IMMState:
    """IMM state of n tracks in k axes with M modes (see the module docstring)."""

    x: F8
    p: F8
    mu: F8
    xc: F8
    pc: F8

    @classmethod
    def make(cls, x: F8, p: F8, mu: F8) -> IMMState:
        xc, pc = combine(x, p, mu)
        return cls(x, p, mu, xc, pc)

    @classmethod
    def empty(cls, k: int, modes: int) -> IMMState:
        d = 2 * k
        return cls.make(np.zeros((0, modes, d)), np.zeros((0, modes, d, d)), np.zeros((0, modes)))

    def __len__(self) -> int:
        return len(self.x)

    @property
    def k(self) -> int:
        return self.x.shape[-1] // 2

    # combined estimate, in the per-axis names the CV state uses -------------------------
    @property
    def pos(self) -> F8:
        return self.xc[:, : self.k]

    @property
    def vel(self) -> F8:
        return self.xc[:, self.k :]

    @property
    def pxx(self) -> F8:
        k = self.k
        return np.diagonal(self.pc[:, :k, :k], axis1=1, axis2=2)

    @property
    def pxv(self) -> F8:
        k = self.k
        return np.diagonal(self.pc[:, :k, k:], axis1=1, axis2=2)

    @property
    def pvv(self) -> F8:
        k = self.k
        return np.diagonal(self.pc[:, k:, k:], axis1=1, axis2=2)

    # bookkeeping ----------------------------------------------------------------------
    def take(self, idx: I8) -> IMMState:
        return IMMState(self.x[idx], self.p[idx], self.mu[idx], self.xc[idx], self.pc[idx])

    def put(self, idx: I8, other: IMMState) -> None:
        self.x[idx] = other.x
        self.p[idx] = other.p
        self.mu[idx] = other.mu
        self.xc[idx] = other.xc
        self.pc[idx] = other.pc

    @classmethod
    def concat(cls, a: IMMState, b: IMMState) -> IMMState:
        return cls(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in cls.__slots__))  # type: ignore[attr-defined]

    def relocated(self, pos: F8, rotate: Callable[[F8], F8]) -> IMMState:
        """The same tracks in another tangent plane: combined position `pos`, velocities
        turned by `rotate`; every mode moves with the combined mean, covariances kept."""
        n, m, d = self.x.shape
        k = d // 2
        x = self.x.copy()
        x[:, :, :k] += (pos - self.pos)[:, None, :]
        x[:, :, k:] = rotate(x[:, :, k:].reshape(n * m, k)).reshape(n, m, k)
        return IMMState.make(x, self.p, self.mu)


def combine(x: F8, p: F8, mu: F8) -> tuple[F8, F8]:
    """Moment-matched mixture: mean sum(mu x), covariance sum(mu (P + dx dxᵀ))."""
    xc = np.einsum("nm,nmd->nd", mu, x)
    dx = x - xc[:, None, :]
    pc = np.einsum("nm,nmde->nde", mu, p) + np.einsum("nm,nmd,nme->nde", mu, dx, dx)
    return xc, pc


# models ---------------------------------------------------------------------------------
def transition(omega: F8, dt: F8, k: int) -> F8:
    """Transition matrices F (n, M, d, d) of each mode (turn rate omega[M], rad/s) over dt[n].

    Same motion as Stone Soup's ``KnownTurnRate`` (positive rate turns east towards north,
    i.e. anticlockwise seen from above); rate 0 is constant velocity.
    """
    dt = np.asarray(dt, float).reshape(-1, 1)
    w = np.asarray(omega, float).reshape(1, -1)
    wt = w * dt
    small = np.abs(w) < 1e-12
    w_safe = np.where(small, 1.0, w)
    sin_w = np.where(small, dt, np.sin(wt) / w_safe)  # sin(wt)/w -> dt
    one_cos_w = np.where(small, 0.0, (1.0 - np.cos(wt)) / w_safe)  # (1-cos wt)/w -> 0
    c, s = np.cos(wt), np.sin(wt)
    n, m, d = len(dt), w.shape[1], 2 * k
    f = np.zeros((n, m, d, d))
    idx = np.arange(k)
    f[:, :, idx, idx] = 1.0
    f[:, :, 0, k], f[:, :, 0, k + 1] = sin_w, -one_cos_w
    f[:, :, 1, k], f[:, :, 1, k + 1] = one_cos_w, sin_w
    f[:, :, k, k], f[:, :, k, k + 1] = c, -s
    f[:, :, k + 1, k], f[:, :, k + 1, k + 1] = s, c
    if k == 3:
        f[:, :, 2, 5] = dt
        f[:, :, 5, 5] = 1.0
    return f


def process_noise(dt: F8, q: float, k: int) -> F8:
    """White-noise acceleration Q (n, d, d) per axis, q [[dt³/3, dt²/2], [dt²/2, dt]]."""
    dt = np.abs(np.asarray(dt, float)).reshape(-1)
    out = np.zeros((len(dt), 2 * k, 2 * k))
    for a in range(k):
        out[:, a, a] = q * dt**3 / 3.0
        out[:, a, k + a] = out[:, k + a, a] = q * dt**2 / 2.0
        out[:, k + a, k + a] = q * dt
    return out


@dataclass(frozen=True)
class ModeChain:
    """Markov switching between modes in continuous time: Π(dt) = exp(G dt).

    From constant velocity a turn starts at rate 1/cv_sojourn (shared equally among the
    turn modes); a turn ends (back to constant velocity) at rate 1/turn_sojourn. The chain
    is reversible, so G has real eigenvalues and exp(G dt) is one batched product.
    """

    generator: F8

    @classmethod
    def star(cls, modes: int, cv_sojourn: float, turn_sojourn: float) -> ModeChain:
        g = np.zeros((modes, modes))
        if modes > 1:
            g[0, 1:] = 1.0 / (cv_sojourn * (modes - 1))
            g[1:, 0] = 1.0 / turn_sojourn
        g[np.arange(modes), np.arange(modes)] = -g.sum(axis=1)
        return cls(g)

    def matrices(self, dt: F8) -> F8:
        """Π(dt) (n, M, M): row i gives the probabilities of moving from mode i."""
        lam, vec = np.linalg.eig(self.generator)
        lam, vec = lam.real, vec.real
        inv = np.linalg.inv(vec)
        e = np.exp(lam[None, :] * np.abs(np.asarray(dt, float)).reshape(-1, 1))
        pi = np.einsum("ij,nj,jk->nik", vec, e, inv)
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum(axis=2, keepdims=True)


# filter steps ---------------------------------------------------------------------------
def mix(mu: F8, x: F8, p: F8, pi: F8) -> tuple[F8, F8, F8]:
    """IMM mixing: predicted mode probabilities c̄ and each mode's mixed start (x0, P0)."""
    w = pi * mu[:, :, None]  # w[n, i, j] = Π_ij mu_i
    cbar = w.sum(axis=1)
    w = np.where(cbar[:, None, :] > _TINY, w / np.maximum(cbar, _TINY)[:, None, :], mu[:, :, None])
    x0 = np.einsum("nij,nid->njd", w, x)
    dx = x[:, :, None, :] - x0[:, None, :, :]  # (n, i, j, d)
    p0 = np.einsum("nij,nide->njde", w, p) + np.einsum("nij,nijd,nije->njde", w, dx, dx)
    return cbar / cbar.sum(axis=1, keepdims=True), x0, p0


def predict(s: IMMState, dt: F8, q: float, omega: F8, chain: ModeChain) -> IMMState:
    """Mix, then predict each mode over dt (n,) with its own transition."""
    n, _, d = s.x.shape
    dt = np.asarray(dt, float).reshape(-1)
    if n == 0:
        return s
    cbar, x0, p0 = mix(s.mu, s.x, s.p, chain.matrices(dt))
    f = transition(omega, dt, d // 2)
    x1 = np.einsum("nmde,nme->nmd", f, x0)
    p1 = f @ p0 @ np.swapaxes(f, -1, -2) + process_noise(dt, q, d // 2)[:, None]
    return IMMState.make(x1, 0.5 * (p1 + np.swapaxes(p1, -1, -2)), cbar)


def offset_measurement(omega: F8, delta: F8 | None, n: int, k: int) -> F8:
    """H (n, M, k, d) per mode: the position each mode puts at the plot's time offset."""
    if delta is None:
        h = np.zeros((n, len(omega), k, 2 * k))
        h[:, :, np.arange(k), np.arange(k)] = 1.0
        return h
    return transition(omega, delta, k)[:, :, :k, :]


def offset_variance(delta: F8 | None, q: float) -> F8 | float:
    """Position variance the process noise adds over a plot's offset (see kalman)."""
    if delta is None:
        return 0.0
    d = np.abs(np.asarray(delta, float)).reshape(-1, 1)
    return q * d**3 / 3.0


def update(s: IMMState, z: F8, r: F8, q: float, omega: F8, delta: F8 | None = None) -> IMMState:
    """Update every mode with its paired plot (rows of s, z, r are paired); each mode's
    probability is weighed by how likely that mode made the plot."""
    n, _, d = s.x.shape
    k = d // 2
    h = offset_measurement(omega, delta, n, k)
    rr = r + offset_variance(delta, q)
    rm = np.zeros((n, k, k))
    rm[:, np.arange(k), np.arange(k)] = rr
    ph = s.p @ np.swapaxes(h, -1, -2)  # (n, M, d, k)
    sm = h @ ph + rm[:, None]
    nu = z[:, None, :] - np.einsum("nmkd,nmd->nmk", h, s.x)
    sinv = np.linalg.inv(sm)
    gain = ph @ sinv
    x = s.x + np.einsum("nmdk,nmk->nmd", gain, nu)
    ikh = np.eye(d) - gain @ h
    p = ikh @ s.p @ np.swapaxes(ikh, -1, -2) + gain @ rm[:, None] @ np.swapaxes(gain, -1, -2)
    p = 0.5 * (p + np.swapaxes(p, -1, -2))
    _, logdet = np.linalg.slogdet(2.0 * np.pi * sm)
    ll = -0.5 * (np.einsum("nmk,nmkl,nml->nm", nu, sinv, nu) + logdet)
    top = ll.max(axis=1, keepdims=True)
    w = s.mu * np.exp(ll - top)
    total = w.sum(axis=1, keepdims=True)
    mu = np.where(total > _TINY, w / np.maximum(total, _TINY), s.mu)
    return IMMState.make(x, p, mu)


def combined_innovation(
    s: IMMState, z: F8, r: F8, q: float, delta: F8 | None = None
) -> tuple[F8, F8]:
    """Innovation and its covariance (n, k, k) of the combined estimate, rows paired.

    The combined estimate is not one mode's, so a plot's time offset is taken at
    constant velocity here (a 3 deg/s turn bends a 4 s offset by under 1 m per m/s).
    """
    k = s.k
    pc = s.pc
    spp = pc[:, :k, :k]
    if delta is None:
        v = z - s.pos
        sm = spp.copy()
    else:
        dd = np.asarray(delta, float).reshape(-1, 1, 1)
        v = z - (s.pos + dd[:, :, 0] * s.vel)
        cross = pc[:, :k, k:]
        sm = spp + dd * (cross + np.swapaxes(cross, -1, -2)) + dd * dd * pc[:, k:, k:]
    diag = np.arange(k)
    sm[:, diag, diag] += r + offset_variance(delta, q)
    return v, sm


def mahalanobis2(s: IMMState, z: F8, r: F8, q: float, delta: F8 | None = None) -> F8:
    """Squared Mahalanobis distance of plots to paired tracks (combined estimate)."""
    v, sm = combined_innovation(s, z, r, q, delta)
    return np.einsum("nk,nk->n", v, np.linalg.solve(sm, v[:, :, None])[:, :, 0])


def log_det(s: IMMState, z: F8, r: F8, q: float, delta: F8 | None = None) -> F8:
    """log det(2π S) of the combined innovation, per pair."""
    _, sm = combined_innovation(s, z, r, q, delta)
    return np.linalg.slogdet(2.0 * np.pi * sm)[1]


def initiate(z: F8, r: F8, velocity_sigma: float, mu0: F8) -> IMMState:
    """Tracks born from single plots: every mode at the plot, velocity unknown."""
    n, k = z.shape
    m = len(mu0)
    x = np.zeros((n, m, 2 * k))
    x[:, :, :k] = z[:, None, :]
    p = np.zeros((n, m, 2 * k, 2 * k))
    diag = np.arange(k)
    p[:, :, diag, diag] = r[:, None, :]
    p[:, :, k + diag, k + diag] = float(velocity_sigma) ** 2
    return IMMState.make(x, p, np.tile(np.asarray(mu0, float), (n, 1)))
