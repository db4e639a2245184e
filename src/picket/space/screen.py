"""Conjunction screening of a catalogue against itself.

Filters, each conservative (it may keep a pair that turns out far, never drop
one that comes within the threshold):

1. apogee/perigee: two orbits whose radius ranges are further apart than the
   threshold plus a margin (SGP4 short-period terms, decay over the window)
   never meet. Counted over all N(N-1)/2 pairs without enumerating them, and
   applied to every spatial candidate.
2. samples every `step_s`: SGP4 (SatrecArray) every other one, the ones
   between interpolated (`hermite.py`) with error bounds that widen each pair's
   threshold; every reach also grows by the object's SGP4 velocity slack
   (`propagate.velocity_slack`); states off any Earth orbit are dropped.
3. spatial search per sample: a pair whose closest approach in
   [t_k - step/2, t_k + step/2] is below the threshold must be within
   R = threshold + (vb_1 + vb_2) step/2 at t_k, vb each object's speed bound
   over the half step (`speed_bounds`), and its distances from the Earth's
   centre within the threshold plus how far each can move radially. The numba
   cell grid (`sieve.py`) applies these with 4 and 5 in one pass; without numba
   a KD-tree finds pairs within R_slow = threshold + 2 slow_kms step/2, the few
   faster objects (eccentric orbits near perigee) searched with their own radius.
4. linear motion: over the half-step each pair's relative motion is a line
   plus a bounded curvature term (gravity-gradient times range, plus a slack for
   J2 and drag); pairs whose linear minimum range exceeds threshold + that
   bound are dropped.
5. refinement: the time of closest approach is the root of d/dt |r1-r2|^2 =
   2 (r1-r2).(v1-v2), bracketed in the step's interval and found by the
   Illinois method on exact SGP4 states (no interpolation), to 0.1 ms.

The window is cut into blocks screened by worker processes (fork), so both
cores work. See docs/space.md for the bounds and accuracy limits (TLEs: km).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np

from picket.space.elements import unix_to_jd
from picket.space.propagate import Propagator, physical_states, velocity_slack

MU = 398600.8  # km^3/s^2 (WGS72)
R_MIN = 6478.0  # km: SGP4 objects below ~100 km altitude have decayed
PROPAGATE_STEPS = 8  # steps per SatrecArray call: ~15 % cheaper per step than one at a time


@dataclass
class ScreenConfig:
    threshold_km: float = 5.0
    step_s: float = 60.0
    ap_margin_km: float = 30.0  # mean vs osculating radius (J2 short-period) and noise
    slow_kms: float = 7.95  # speed bound of the "slow" class (circular LEO is below 7.85)
    accel_slack: float = 2e-5  # km/s^2 differential J2/drag acceleration allowance
    block_steps: int = 60  # steps whose candidates are refined together
    interpolate: bool = True  # propagate every other step, Hermite midpoints between
    workers: int = 1
    index: str = "grid"  # "grid" (numba cell grid, filters fused) or "kdtree" (SciPy)


@dataclass
class ScreenStats:
    objects: int = 0
    failed: int = 0  # objects SGP4 could not initialise or propagate
    pairs_total: int = 0  # N(N-1)/2
    pairs_after_ap: int = 0  # catalogue pairs whose radius ranges overlap
    steps: int = 0
    joined: int = 0  # grid: pair-steps from neighbouring cells within the radius window
    radial: int = 0  # grid: of those, within the radial gate
    spatial: int = 0  # pair-steps within the search radius (summed over steps)
    spatial_after_ap: int = 0
    linear: int = 0  # pair-steps left after the linear-motion test
    refined: int = 0  # root found inside the step
    unphysical: int = 0  # propagated states SGP4 returned without error, off any Earth orbit
    conjunctions: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Conjunctions:
    """Close approaches; `i`, `j` index the propagator's catalogue, i < j."""

    i: np.ndarray
    j: np.ndarray
    tca: np.ndarray  # unix s
    miss_km: np.ndarray
    speed_kms: np.ndarray  # relative speed at TCA
    r1: np.ndarray  # (n, 3) TEME km at TCA
    v1: np.ndarray
    r2: np.ndarray
    v2: np.ndarray

    def __len__(self) -> int:
        return len(self.i)

    @classmethod
    def empty(cls) -> Conjunctions:
        z = np.zeros(0)
        return cls(z.astype(np.int64), z.astype(np.int64), z, z, z, *(np.zeros((0, 3)),) * 4)

    @classmethod
    def concat(cls, parts: list[Conjunctions]) -> Conjunctions:
        ps = [p for p in parts if len(p)]
        if not ps:
            return cls.empty()
        names = ("i", "j", "tca", "miss_km", "speed_kms", "r1", "v1", "r2", "v2")
        return cls(*(np.concatenate([getattr(p, n) for p in ps]) for n in names))

    def take(self, idx: np.ndarray) -> Conjunctions:
        names = ("i", "j", "tca", "miss_km", "speed_kms", "r1", "v1", "r2", "v2")
        return Conjunctions(*(getattr(self, n)[idx] for n in names))


def ap_ranges(
    prop: Propagator, cfg: ScreenConfig, start: float, duration_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) radius bounds per object for the apogee/perigee filter.

    The low bound also drops by three times the decay the element set's own
    mean-motion derivative predicts from its epoch to the end of the window.
    """
    el = prop.elements
    days = np.maximum(0.0, (start + duration_s - el.epoch) / 86400.0)
    a = (prop.perigee_km + prop.apogee_km) / 2
    dn = np.abs(2.0 * el.ndot) * days  # rev/day gained by the end of the window
    decay = 3.0 * (2.0 / 3.0) * a * dn / el.mean_motion
    m = cfg.ap_margin_km + cfg.threshold_km / 2
    return prop.perigee_km - m - decay, prop.apogee_km + m


def count_overlaps(lo: np.ndarray, hi: np.ndarray) -> int:
    """Pairs of intervals that overlap, in O(N log N) without enumerating them."""
    order = np.argsort(lo, kind="stable")
    lo_s, hi_s = lo[order], hi[order]
    # for each interval (in start order) the later-starting intervals that start before it ends
    ends = np.searchsorted(lo_s, hi_s, side="right")
    return int(np.sum(np.maximum(ends - np.arange(len(lo_s)) - 1, 0)))


def speed_bounds(pos: np.ndarray, vel: np.ndarray, h: float) -> np.ndarray:
    """Upper bound on each object's speed within +-h of the sample (km/s).

    Speed changes at the tangential two-body rate -mu (r.v) / (r^3 |v|), zero on
    circular orbits; that rate itself changes by less than 5e-5 km/s^3 above the
    atmosphere (|a|^2 / |v| plus the jerk 3 mu |v| / r^3), giving the h^2 term;
    5 m/s more covers J2 and drag.
    """
    r = np.sqrt(np.einsum("ni,ni->n", pos, pos))
    v = np.sqrt(np.einsum("ni,ni->n", vel, vel))
    with np.errstate(divide="ignore", invalid="ignore"):
        sdot = np.abs(MU * np.einsum("ni,ni->n", pos, vel) / (r**3 * v))
    return v + np.nan_to_num(sdot) * h + 0.5 * 5e-5 * h * h + 0.005


def _pairs_at_step(
    pos: np.ndarray, vel: np.ndarray, ok: np.ndarray, cfg: ScreenConfig, m: np.ndarray,
    dv: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Index pairs (k, 2), i < j, within the step's conservative search radius.

    `m` (km) and `dv` (km/s) widen each object's reach (see `sieve.grid_pairs`).
    """
    h = cfg.step_s / 2
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return np.zeros((0, 2), np.int64)
    p = pos[idx]
    vb = speed_bounds(p, vel[idx], h) + 2 * dv[idx]
    mm = m[idx]
    m_max = float(mm.max())
    from scipy.spatial import cKDTree  # here: SciPy's RSS only where a screen runs

    tree = cKDTree(p, copy_data=False)
    r_slow = cfg.threshold_km + 2 * m_max + 2 * cfg.slow_kms * h
    pairs = tree.query_pairs(r_slow, output_type="ndarray")
    fast = np.flatnonzero(vb > cfg.slow_kms)
    if len(fast):
        r_max = cfg.threshold_km + 2 * m_max + (float(vb[fast].max()) + float(vb.max())) * h
        sdm = cKDTree(p[fast]).sparse_distance_matrix(tree, r_max, output_type="ndarray")
        q, o, d = fast[sdm["i"]], sdm["j"].astype(np.int64), sdm["v"]
        is_fast = np.zeros(len(p), bool)
        is_fast[fast] = True
        # pairs within r_slow are in `pairs` already; fast-fast pairs come twice
        new = (
            (o != q)
            & (d > r_slow)
            & (d <= cfg.threshold_km + mm[q] + mm[o] + (vb[q] + vb[o]) * h)
            & (~is_fast[o] | (q < o))
        )
        q, o = q[new], o[new]
        pairs = np.concatenate([pairs, np.stack([np.minimum(q, o), np.maximum(q, o)], axis=1)])
    return idx[pairs] if len(pairs) else np.zeros((0, 2), np.int64)


def _linear_keep(
    x: np.ndarray, a: np.ndarray, b: np.ndarray, radius: np.ndarray, cfg: ScreenConfig,
    m: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Pairs whose relative motion, a line plus bounded curvature, can reach the threshold.

    `x` holds (position, velocity) per object in float32 (metre-level rounding,
    covered by a 10 m slack); the minimum of |dr + dv tau| over |tau| <= h is
    taken from the quadratic's coefficients, without forming the vectors.
    """
    h = cfg.step_s / 2
    d = x[a] - x[b]
    dr, dv = d[:, :3], d[:, 3:]
    rr = np.einsum("ij,ij->i", dr, dr, dtype=np.float64)
    rv = np.einsum("ij,ij->i", dr, dv, dtype=np.float64)
    vv = np.einsum("ij,ij->i", dv, dv, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.clip(np.where(vv > 0, -rv / vv, 0.0), -h, h)
    dmin2 = rr + tau * (2 * rv + tau * vv)
    far = np.sqrt(rr) + np.sqrt(vv) * h  # largest range reachable in the half-step
    grad = 3.0 * MU / np.maximum(np.minimum(radius[a], radius[b]), R_MIN) ** 3  # 1/s^2
    reach = cfg.threshold_km + m[a] + m[b] + 0.01 + 0.5 * h * h * (grad * far + cfg.accel_slack)
    return dmin2 <= reach * reach


def _state_fn(sat):
    def f(t: float) -> tuple[int, tuple, tuple]:
        d = t / 86400.0
        w = math.floor(d)
        return sat.sgp4(w + 2440587.5, d - w)

    return f


def refine(
    sats: list, i: np.ndarray, j: np.ndarray, t0: np.ndarray, half: float, tol: float = 1e-4
) -> tuple[np.ndarray, ...]:
    """Root of (r1-r2).(v1-v2) in [t0-half, t0+half] per candidate on exact SGP4 states.

    Returns (ok, tca, miss, speed, r1, v1, r2, v2); ok is False where the range
    has no minimum inside the interval (a neighbouring step owns it) or SGP4 failed.
    Per-candidate Python: candidates are few after the filters.
    """
    n = len(i)
    ok = np.zeros(n, bool)
    tca, miss, spd = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    st = np.full((n, 12), np.nan)
    for k in range(n):
        s1, s2 = sats[i[k]], sats[j[k]]

        def g(t: float, s1=s1, s2=s2) -> tuple[float, tuple | None]:
            d = t / 86400.0
            w = math.floor(d)
            e1, r1, v1 = s1.sgp4(w + 2440587.5, d - w)
            e2, r2, v2 = s2.sgp4(w + 2440587.5, d - w)
            if e1 or e2:
                return math.nan, None
            x, y, z = r1[0] - r2[0], r1[1] - r2[1], r1[2] - r2[2]
            u, v, w_ = v1[0] - v2[0], v1[1] - v2[1], v1[2] - v2[2]
            return x * u + y * v + z * w_, (r1, v1, r2, v2)

        a, b = float(t0[k] - half), float(t0[k] + half)
        fa, _ = g(a)
        fb, _ = g(b)
        if not (fa < 0.0 < fb):
            continue
        side = 0
        c, fc, sc = a, fa, None
        for _ in range(60):
            c = b - fb * (b - a) / (fb - fa)
            fc, sc = g(c)
            if sc is None or fc == 0.0 or b - a < tol:
                break
            if fc < 0:
                a, fa = c, fc
                if side == -1:
                    fb *= 0.5
                side = -1
            else:
                b, fb = c, fc
                if side == 1:
                    fa *= 0.5
                side = 1
        if sc is None:
            continue
        r1, v1, r2, v2 = sc
        ok[k] = True
        tca[k] = c
        miss[k] = math.dist(r1, r2)
        spd[k] = math.dist(v1, v2)
        st[k] = (*r1, *v1, *r2, *v2)
    return ok, tca, miss, spd, st[:, 0:3], st[:, 3:6], st[:, 6:9], st[:, 9:12]


# worker plumbing: the propagator is inherited by forked workers, never pickled
_PROP: Propagator | None = None
_CFG: ScreenConfig | None = None
_LOHI: tuple[np.ndarray, np.ndarray] | None = None
_DV: np.ndarray | None = None  # per object: SGP4 velocity slack (km/s)
_ON_STEP: Callable[[int], None] | None = None  # progress, in-process screens only


def _kdtree_candidates(
    pos: np.ndarray, vel: np.ndarray, valid: np.ndarray, m: np.ndarray, dv: np.ndarray,
    cfg: ScreenConfig, st: ScreenStats,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The SciPy path (no numba): KD-tree pairs, apogee/perigee, linear bound."""
    assert _LOHI is not None
    lo, hi = _LOHI
    pairs = _pairs_at_step(pos, vel, valid, cfg, m, dv)
    st.spatial += len(pairs)
    a, b = pairs[:, 0], pairs[:, 1]
    keep = (lo[a] <= hi[b]) & (lo[b] <= hi[a])
    a, b = a[keep], b[keep]
    st.spatial_after_ap += len(a)
    x = np.concatenate([pos, vel], axis=1).astype(np.float32)
    radius = np.sqrt(np.einsum("ni,ni->n", pos, pos))
    keep = _linear_keep(x, a, b, radius, cfg, m)
    st.linear += int(keep.sum())
    return a[keep], b[keep]


Sample = tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _samples(
    prop: Propagator, t_first: float, n_steps: int, cfg: ScreenConfig, dv: np.ndarray,
    cpu: dict[str, float], st: ScreenStats,
) -> Iterator[Sample]:  # fmt: skip
    """(t, r, v, valid, margin km, dvel km/s) at t_first + k step for k in [0, n_steps).

    States are exact SGP4, a few steps per SatrecArray call; with `cfg.interpolate`
    only even k are propagated and odd k are Hermite midpoints (`hermite.py`)
    whose error bounds, and SGP4's own velocity slack `dv`, go into the margins.
    Objects valid at one end of a midpoint's interval only are propagated there.
    States SGP4 returns without error but no Earth orbit can have are dropped and
    counted (`ScreenStats.unphysical`).
    """
    h = cfg.step_s / 2
    m_exact = dv * h
    stride = 2 if cfg.interpolate else 1
    prev: tuple[np.ndarray, ...] | None = None
    for c0 in range(0, n_steps, stride * PROPAGATE_STEPS):
        c = time.process_time()
        ks = np.arange(c0, min(n_steps - 1 + stride, c0 + stride * PROPAGATE_STEPS), stride)
        r, v, e = prop.states(t_first + cfg.step_s * ks)
        ok = e == 0
        good = ok & physical_states(r, v)
        st.unphysical += int(np.count_nonzero(ok[:, ks < n_steps] & ~good[:, ks < n_steps]))
        cpu["propagate"] += time.process_time() - c
        for col, k in enumerate(ks):
            cur = (r[:, col, :], v[:, col, :], good[:, col])
            if stride == 2 and prev is not None:
                c = time.process_time()
                mid = _midpoint(prop, t_first + cfg.step_s * (k - 1), prev, cur, cfg, dv, st)
                cpu["interpolate"] += time.process_time() - c
                yield mid
            if k < n_steps:
                yield t_first + cfg.step_s * k, *cur, m_exact, dv
            prev = cur


def _midpoint(
    prop: Propagator, t: float, a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...],
    cfg: ScreenConfig, dv: np.ndarray, st: ScreenStats,
) -> Sample:  # fmt: skip
    from picket.space.hermite import midpoints

    dt = 2 * cfg.step_s
    r, v, ok, er, ev = midpoints(*a, *b, dt)
    # SGP4's velocities at the ends are off by up to dv: H moves by dt/8 per unit of
    # velocity difference, H' by 1/4 per unit of velocity sum
    er = er + dt * dv / 4
    ev = ev + dv / 2
    margin, dvel = er + ev * cfg.step_s / 2, ev
    odd = np.flatnonzero(a[2] != b[2])  # valid at one end only: propagate exactly
    if len(odd):
        ro, vo, eo = prop.states(np.array([t]), index=odd)
        r[odd], v[odd] = ro[:, 0], vo[:, 0]
        good = physical_states(r[odd], v[odd])
        ok[odd] = (eo[:, 0] == 0) & good
        st.unphysical += int(np.count_nonzero((eo[:, 0] == 0) & ~good))
        margin[odd], dvel[odd] = dv[odd] * cfg.step_s / 2, dv[odd]
    return t, r, v, ok, margin, dvel


def _screen_steps(args: tuple[float, int]) -> tuple[Conjunctions, ScreenStats]:
    """Screen the steps t0 + k*step for k in [0, n). Stage times are this process's CPU."""
    t_first, n_steps = args
    prop, cfg, dv = _PROP, _CFG, _DV
    assert prop is not None and cfg is not None and _LOHI is not None and dv is not None
    st = ScreenStats()
    out: list[Conjunctions] = []
    cpu = {"propagate": 0.0, "interpolate": 0.0, "sieve": 0.0, "refine": 0.0}
    grid = None
    if cfg.index == "grid":
        from picket.space.sieve import GridSieve

        grid = GridSieve(*_LOHI, cfg.threshold_km, cfg.step_s, cfg.slow_kms, cfg.accel_slack)
    ci: list[np.ndarray] = []
    cj: list[np.ndarray] = []
    ct: list[np.ndarray] = []
    for t, r, v, valid, margin, dvel in _samples(prop, t_first, n_steps, cfg, dv, cpu, st):
        c = time.process_time()
        if grid is not None:
            a, b = grid.step(r, v, valid, margin, dvel)
        else:
            a, b = _kdtree_candidates(r, v, valid, margin, dvel, cfg, st)
        ci.append(a)
        cj.append(b)
        ct.append(np.full(len(a), t))
        st.steps += 1
        cpu["sieve"] += time.process_time() - c
        if _ON_STEP is not None:
            _ON_STEP(1)
        if st.steps % cfg.block_steps == 0 or st.steps == n_steps:
            c = time.process_time()
            out.append(_refine_block(prop, ci, cj, ct, cfg, st))
            ci, cj, ct = [], [], []
            cpu["refine"] += time.process_time() - c
    if grid is not None:
        st.joined, st.radial, st.spatial, st.spatial_after_ap, st.linear = map(int, grid.counts)
    st.seconds = cpu
    return Conjunctions.concat(out), st


def _refine_block(
    prop: Propagator, ci: list, cj: list, ct: list, cfg: ScreenConfig, st: ScreenStats
) -> Conjunctions:
    i, j, t = np.concatenate(ci), np.concatenate(cj), np.concatenate(ct)
    ok, tca, miss, spd, r1, v1, r2, v2 = refine(prop.sats, i, j, t, cfg.step_s / 2)
    st.refined += int(ok.sum())
    sel = ok & (miss <= cfg.threshold_km)
    return Conjunctions(i[sel], j[sel], tca[sel], miss[sel], spd[sel],
                        r1[sel], v1[sel], r2[sel], v2[sel])  # fmt: skip


def screen(
    prop: Propagator, start: float, duration_s: float, cfg: ScreenConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Conjunctions, ScreenStats]:
    """Every close approach under `cfg.threshold_km` with TCA in [start, start + duration].

    `progress(n)` is called in this process as n more time steps are screened (per step with
    one worker, per task with several); `screen_steps` gives the total.
    """
    global _PROP, _CFG, _LOHI, _DV, _ON_STEP
    cfg = cfg or ScreenConfig()
    if cfg.index not in ("grid", "kdtree"):
        raise ValueError("index must be 'grid' or 'kdtree'")
    if cfg.index == "grid" or cfg.interpolate:
        try:
            from picket.space.hermite import warm_up
        except ImportError:  # numba absent: SciPy's KD-tree does the job, slower
            cfg = replace(cfg, index="kdtree", interpolate=False)
        else:
            warm_up()
    t_all = time.perf_counter()
    lo, hi = ap_ranges(prop, cfg, start, duration_s)
    c = time.process_time()
    _PROP, _CFG, _LOHI = prop, cfg, (lo, hi)
    _DV = velocity_slack(prop, start, duration_s)
    t_slack = time.process_time() - c
    n_steps = screen_steps(duration_s, cfg)
    workers = max(1, min(cfg.workers, os.cpu_count() or 1))
    n_tasks = 1 if workers == 1 else workers * 4
    per = math.ceil(n_steps / n_tasks)
    tasks = [(start + k0 * cfg.step_s, min(per, n_steps - k0)) for k0 in range(0, n_steps, per)]
    if workers == 1:
        _ON_STEP = progress
        try:
            results = [_screen_steps(t) for t in tasks]
        finally:
            _ON_STEP = None
    else:
        _ON_STEP = None  # forked workers must not call back into the parent's terminal
        with _pool(workers) as pool:
            results = []
            for res in pool.imap(_screen_steps, tasks, chunksize=1):
                results.append(res)
                if progress is not None:
                    progress(res[1].steps)
    conj = Conjunctions.concat([r[0] for r in results])
    conj = dedupe(conj)
    inside = (conj.tca >= start) & (conj.tca <= start + duration_s)
    conj = conj.take(np.flatnonzero(inside))
    order = np.lexsort((conj.j, conj.i, conj.tca))
    conj = conj.take(order)
    st = ScreenStats(objects=len(prop), failed=len(prop.failures))
    n = len(prop)
    st.pairs_total = n * (n - 1) // 2
    st.pairs_after_ap = count_overlaps(lo, hi)
    for _, s in results:
        for name in ("steps", "joined", "radial", "spatial", "spatial_after_ap", "linear",
                     "refined", "unphysical"):  # fmt: skip
            setattr(st, name, getattr(st, name) + getattr(s, name))
        for k, v in s.seconds.items():
            st.seconds[k] = st.seconds.get(k, 0.0) + v
    st.conjunctions = len(conj)
    st.seconds["velocity_slack"] = t_slack
    st.seconds["wall"] = time.perf_counter() - t_all
    return conj, st


def screen_steps(duration_s: float, cfg: ScreenConfig | None = None) -> int:
    """How many time steps `screen` takes over a window (the progress total)."""
    return math.ceil(duration_s / (cfg or ScreenConfig()).step_s) + 1


def dedupe(c: Conjunctions, tol_s: float = 1.0) -> Conjunctions:
    """One row per (pair, encounter): a TCA on a step boundary is found from both sides."""
    if len(c) < 2:
        return c
    order = np.lexsort((c.tca, c.j, c.i))
    i, j, t = c.i[order], c.j[order], c.tca[order]
    dup = np.zeros(len(i), bool)
    dup[1:] = (i[1:] == i[:-1]) & (j[1:] == j[:-1]) & (t[1:] - t[:-1] < tol_s)
    return c.take(order[~dup])


def propagation_floor(prop: Propagator, start: float, duration_s: float, step_s: float,
                      workers: int = 1, block: int = 60) -> float:  # fmt: skip
    """Wall seconds merely to propagate the catalogue over the window (the goal's yardstick)."""
    global _PROP
    _PROP = prop
    n_steps = math.ceil(duration_s / step_s) + 1
    blocks = [(start + k * step_s, min(block, n_steps - k), step_s)
              for k in range(0, n_steps, block)]  # fmt: skip
    c = time.perf_counter()
    if workers <= 1:
        for b in blocks:
            _propagate_block(b)
    else:
        with _pool(workers) as pool:
            pool.map(_propagate_block, blocks, chunksize=max(1, len(blocks) // (8 * workers)))
    return time.perf_counter() - c


def _pool(workers: int) -> mp.pool.Pool:
    """Forked workers (they share the propagator's arrays without pickling them) whose
    SIGTERM is the default again: a handler inherited from the parent (a live command's
    "stop" flag) would make them ignore the pool's `terminate()`, and the pool's exit hang.
    Ctrl-C goes to the parent, which ends the pool."""
    return mp.get_context("fork").Pool(workers, initializer=_worker_signals)


def _worker_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _propagate_block(args: tuple[float, int, float]) -> int:
    t0, n, step = args
    assert _PROP is not None and _PROP.array is not None
    jd, fr = unix_to_jd(t0 + step * np.arange(n))
    e, _, _ = _PROP.array.sgp4(jd, fr)
    return int(e.size)
