"""Candidate pairs at one time step from a uniform cell grid, every filter fused (numba).

Why not a KD-tree: building and self-joining a cKDTree over the 27,000-object
catalogue costs about twice the SGP4 evaluation of the step, and hands back
~200,000 pairs that NumPy then gathers and filters down to ~100. Here objects
are hashed into cells of side c >= R_slow, neighbouring cells are joined, and
each pair meets all the tests at once; only survivors are written.

The tests, each necessary for a range minimum under the threshold within the
half step h of the sample (see `screen.py` for the first three):

1. radial gate: |rho_a - rho_b| <= threshold + e_a + e_b, rho the distance from
   the Earth's centre and e the most it can change within +-h (`radial_reach`).
   The range between two objects is at least their difference in radius, and
   the catalogue lives in thin shells, so this drops ~15 of every 16 pairs
   that are near in 3-D. Within a cell the objects are sorted by radius and a
   neighbouring cell is scanned only over the radius window.
2. search radius R_ab = threshold + (vb_a + vb_b) h, vb the speed bound. Cells
   of side c hold every pair of "slow" objects (vb <= slow_kms) in the 27
   neighbouring cells; a faster object searches (2m+1)^3 cells, m = ceil(R/c).
3. apogee/perigee: the pair's radius ranges over the window overlap.
4. linear motion plus curvature (gravity gradient times range, plus a slack).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from picket.space.propagate import EARTH_RADIUS_KM, HILL_KM, MU_KM3S2

MU = MU_KM3S2  # km^3/s^2 (WGS72)
R_MIN = 6478.0  # km: lowest radius an SGP4 object reaches before it has decayed
ACCEL_SLACK = 1e-4  # km/s^2 on one object's radial acceleration: J2 (3e-5 at most), drag
VEL_SLACK = 0.01  # km/s: SGP4's velocity against its position's derivative
M_SLOW = 2.0  # km: objects whose states carry a larger error margin are searched as fast
_OFF = 1 << 20  # cell coordinates are packed into 21 bits each
_EMPTY = np.int64(-1)
# row columns
X, Y, Z, VX, VY, VZ, RHO, VB, LO, HI, E, M = range(12)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _pack(ix: int, iy: int, iz: int) -> int:
    return ((ix + _OFF) << 42) | ((iy + _OFF) << 21) | (iz + _OFF)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _slot(keys: np.ndarray, k: int) -> int:
    """Open-addressing slot of key k: where it is, or the empty slot it would take."""
    x = np.uint64(k)  # splitmix64 finaliser: every key bit reaches the slot bits
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    mask = len(keys) - 1
    s = np.int64(x & np.uint64(mask))
    while keys[s] != _EMPTY and keys[s] != k:
        s = (s + 1) & mask
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _cell(x: float, inv: float) -> int:
    c = math.floor(x * inv)
    return int(min(max(c, -_OFF + 4.0), _OFF - 4.0))  # absurd positions share edge cells


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def moments(r: np.ndarray, v: np.ndarray, i: int) -> tuple[float, float, float]:
    """(|r|, |v|^2, r.v) of row i: the scalars every per-object bound needs (scalars,
    not row views, so the hot loops pass no arrays)."""
    rho = math.sqrt(r[i, 0] ** 2 + r[i, 1] ** 2 + r[i, 2] ** 2)
    v2 = v[i, 0] ** 2 + v[i, 1] ** 2 + v[i, 2] ** 2
    return rho, v2, r[i, 0] * v[i, 0] + r[i, 1] * v[i, 1] + r[i, 2] * v[i, 2]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def physical(rho: float, v2: float) -> bool:
    """`propagate.physical_states` for one state (False for NaN)."""
    return EARTH_RADIUS_KM <= rho <= HILL_KM and v2 <= 2.2 * MU / rho


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def speed_bound(rho: float, v2: float, rv: float, h: float) -> float:
    """Upper bound on an object's speed within +-h of the sample (km/s); see screen.py."""
    s = math.sqrt(v2)
    sdot = abs(MU * rv / (rho**3 * s)) if rho > 0 and s > 0 else 0.0
    return s + sdot * h + 0.5 * 5e-5 * h * h + 0.005


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def radial_reach(rho: float, v2: float, rv: float, vb: float, h: float) -> float:
    """Most the distance from the Earth's centre can change within +-h (km).

    rho'' = L^2/rho^3 - mu/rho^2 + a_r (L = |r x v|, a_r the non-central part,
    below ACCEL_SLACK). Within +-h, rho stays within D = vb h of its sample,
    where |d rho''/d rho| <= 3 L^2/rho^4 + 2 mu/rho^3 at the lowest radius, so
    |rho''| <= A = |rho''(0)| + K D + slack, and |rho(t) - rho(0)| <= |rho'| h + A h^2 / 2.
    Near-circular orbits: about 1.4 km in 30 s; eccentric ones near perigee: tens of km.
    """
    ll = max(rho * rho * v2 - rv * rv, 0.0)
    d = vb * h
    low = max(rho - d, R_MIN)
    k = 3.0 * ll / low**4 + 2.0 * MU / low**3
    acc = abs(ll / rho**3 - MU / rho**2) + k * d + ACCEL_SLACK
    return (abs(rv / rho) + VEL_SLACK) * h + 0.5 * acc * h * h


@njit(cache=True, nogil=True, error_model="numpy")
def _argsort_keys(keys: np.ndarray, order: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Stable LSD radix argsort of non-negative int64 keys, 8 bits a pass (numba's
    quicksort costs ~1 ms for the ~11,000 cells of a step; this a tenth of that).
    Passes in which every key has the same digit are skipped. Returns a view of
    `order` or `tmp` (work arrays at least as long as `keys`)."""
    n = len(keys)
    order, tmp = order[:n], tmp[:n]
    for i in range(n):
        order[i] = i
    count = np.empty(257, np.int64)
    for shift in range(0, 64, 8):
        count[:] = 0
        for i in range(n):
            count[((keys[i] >> shift) & 255) + 1] += 1
        if count.max() == n:
            continue
        for d in range(256):
            count[d + 1] += count[d]
        for i in range(n):
            d = (keys[order[i]] >> shift) & 255
            tmp[count[d]] = order[i]
            count[d] += 1
        order, tmp = tmp, order
    return order


def workspace(n: int) -> tuple[np.ndarray, ...]:
    """Work arrays for `grid_pairs` on n objects, allocated once per screening run
    (fresh multi-megabyte arrays every step cost page faults)."""
    size = 16
    while size < 4 * n:
        size *= 2
    i8 = [np.empty(n + 1, np.int64) for _ in range(8)]
    return (np.full(size, _EMPTY, np.int64), np.empty(size, np.int64), *i8,
            np.empty(n), np.empty((n, 12)))  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def _rows(pos, vel, valid, margin, dvel, lo, hi, h, inv, ws):
    """Objects grouped by cell, cells in key order, radius ascending within a cell.

    Returns (ckey (m), start (m + 1), obj (row -> object), rows (k, 12)), all views
    into the workspace `ws`, whose hash table then maps cell keys to cell numbers.
    """
    table, ids, cell_of, ckey, rank, start, fill, obj, tmp, order, rho, rows = ws
    table[:] = _EMPTY
    n = len(pos)
    m = 0
    for i in range(n):
        cell_of[i] = -1
        rho_i, v2, _ = moments(pos, vel, i)
        if not (valid[i] and physical(rho_i, v2)):
            continue
        key = _pack(_cell(pos[i, 0], inv), _cell(pos[i, 1], inv), _cell(pos[i, 2], inv))
        s = _slot(table, key)
        if table[s] == _EMPTY:
            table[s] = key
            ids[s] = m
            ckey[m] = key
            m += 1
        cell_of[i] = ids[s]
    # renumber cells in key order: neighbours along z are consecutive, rows of cells
    # (x, y) are sorted runs the joins walk with pointers
    srt = _argsort_keys(ckey[:m], order, tmp)
    for r in range(m):
        rank[srt[r]] = r
    for r in range(m):
        tmp[r] = ckey[srt[r]]
    ckey[:m] = tmp[:m]
    for sl in range(len(table)):
        if table[sl] != _EMPTY:
            ids[sl] = rank[ids[sl]]
    start[: m + 1] = 0
    for i in range(n):
        if cell_of[i] >= 0:
            cell_of[i] = rank[cell_of[i]]
            start[cell_of[i] + 1] += 1
    for a in range(m):
        start[a + 1] += start[a]
    fill[:m] = start[:m]
    for i in range(n):  # rho is kept by row, beside obj, for the sort
        if cell_of[i] >= 0:
            p = fill[cell_of[i]]
            obj[p] = i
            rho[p] = math.sqrt(pos[i, 0] ** 2 + pos[i, 1] ** 2 + pos[i, 2] ** 2)
            fill[cell_of[i]] += 1
    for a in range(m):  # insertion sort by radius: cells hold a few objects
        for p in range(start[a] + 1, start[a + 1]):
            o, ro = obj[p], rho[p]
            q = p - 1
            while q >= start[a] and rho[q] > ro:
                obj[q + 1], rho[q + 1] = obj[q], rho[q]
                q -= 1
            obj[q + 1], rho[q + 1] = o, ro
    k = start[m]
    for p in range(k):
        i = obj[p]
        for c in range(3):
            rows[p, X + c] = pos[i, c]
            rows[p, VX + c] = vel[i, c]
        rows[p, RHO] = rho[p]
        _, v2, rv = moments(pos, vel, i)
        vb = speed_bound(rho[p], v2, rv, h) + 2 * dvel[i]
        rows[p, VB] = vb
        rows[p, LO] = lo[i]
        rows[p, HI] = hi[i]
        rows[p, M] = margin[i]
        rows[p, E] = radial_reach(rho[p], v2, rv, vb, h) + margin[i]
    return ckey[:m], start[: m + 1], obj[:k], rows[:k]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _verdict(s: np.ndarray, a: int, b: int, thr: float, h: float, slack: float) -> int:
    """Rows a, b: 0 radially apart, 1 beyond the search radius, 2 apogee/perigee apart,
    3 linear bound apart, 4 keep. One array argument, so a call costs no reference counting.
    """
    if abs(s[a, RHO] - s[b, RHO]) > thr + s[a, E] + s[b, E]:
        return 0
    thr = thr + s[a, M] + s[b, M]  # states that are interpolated, not exact
    dx = s[a, X] - s[b, X]
    dy = s[a, Y] - s[b, Y]
    dz = s[a, Z] - s[b, Z]
    rr = dx * dx + dy * dy + dz * dz
    r_ab = thr + (s[a, VB] + s[b, VB]) * h
    if rr > r_ab * r_ab:
        return 1
    if s[a, LO] > s[b, HI] or s[b, LO] > s[a, HI]:
        return 2
    ux = s[a, VX] - s[b, VX]
    uy = s[a, VY] - s[b, VY]
    uz = s[a, VZ] - s[b, VZ]
    rv = dx * ux + dy * uy + dz * uz
    vv = ux * ux + uy * uy + uz * uz
    tau = min(max(-rv / vv, -h), h) if vv > 0 else 0.0
    dmin2 = rr + tau * (2 * rv + tau * vv)
    far = math.sqrt(rr) + math.sqrt(vv) * h
    r_low = max(min(s[a, RHO], s[b, RHO]), R_MIN)
    reach = thr + 0.01 + 0.5 * h * h * (3.0 * MU / r_low**3 * far + slack)
    return 4 if dmin2 <= reach * reach else 3


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _emit(s, obj, p, q, thr, h, slack, out, counts, n_out) -> int:
    """Test rows p, q; write the pair if it survives; returns the new output count."""
    v = _verdict(s, p, q, thr, h, slack)
    for t in range(v + 1):
        counts[t] += 1
    if v < 4:
        return n_out
    if n_out < len(out):
        out[n_out, 0] = min(obj[p], obj[q])
        out[n_out, 1] = max(obj[p], obj[q])
    return n_out + 1


@njit(cache=True, nogil=True, error_model="numpy")
def _join_slow(ckey, start, obj, s, fast, thr, h, slack, out, counts, n_out):
    """Pairs of slow objects: own cell and the 13 "forward" neighbours, within the
    radius window (rows of a cell are sorted by radius).

    Cells come in key order, so the forward neighbours of cell (x, y, z) are, per row
    (x, y + 1), (x + 1, y - 1), (x + 1, y), (x + 1, y + 1), up to three consecutive
    cells z - 1 .. z + 1, found by pointers that only move forward; in row (x, y) the
    next cell, if it is z + 1.
    """
    m = len(ckey)
    radius = s[:, RHO].copy()  # contiguous: the window scans touch only these
    reach = s[:, E].copy()
    e_max = np.zeros(m)  # of the slow rows: fast ones are skipped here
    for a in range(m):
        for p in range(start[a], start[a + 1]):
            if not fast[p]:
                e_max[a] = max(e_max[a], s[p, E])
    step_y, step_x = np.int64(1) << 21, np.int64(1) << 42
    row_off = np.array([step_y, step_x - step_y, step_x, step_x + step_y])
    ptr = np.zeros(4, np.int64)
    near = np.empty(14, np.int64)
    for a in range(m):
        k = ckey[a]
        near[0] = a
        nn = 1
        if a + 1 < m and ckey[a + 1] == k + 1:
            near[nn] = a + 1
            nn += 1
        for r in range(4):
            k_lo = k + row_off[r] - 1
            while ptr[r] < m and ckey[ptr[r]] < k_lo:
                ptr[r] += 1
            b = ptr[r]
            while b < m and ckey[b] <= k_lo + 2:
                near[nn] = b
                nn += 1
                b += 1
        for t in range(nn):
            b = near[t]
            w = thr + e_max[a] + e_max[b]
            if (radius[start[b]] > radius[start[a + 1] - 1] + w
                    or radius[start[b + 1] - 1] < radius[start[a]] - w):  # fmt: skip
                continue  # the cells' radius ranges are apart
            q0 = start[b]
            for p in range(start[a], start[a + 1]):
                if fast[p]:
                    continue
                rho = radius[p]
                while q0 < start[b + 1] and radius[q0] < rho - w:
                    q0 += 1
                wp = thr + reach[p] + e_max[b]  # p's own window, inside the cell's
                for q in range(max(q0, p + 1) if b == a else q0, start[b + 1]):
                    if radius[q] > rho + wp:
                        break
                    if radius[q] >= rho - wp and not fast[q]:
                        n_out = _emit(s, obj, p, q, thr, h, slack, out, counts, n_out)
    return n_out


@njit(cache=True, nogil=True, error_model="numpy")
def _join_fast(table, ids, start, obj, s, fast, thr, h, inv, slack, out, counts, n_out):
    """Every pair with a fast object, searched over that object's own reach.

    An object's reach is M + VB h; a pair needs thr + both reaches. A pair of fast
    objects is searched from the one with the larger reach (ties: lower row), so
    each fast object's cube of cells spans thr + twice its own reach, or every row
    when that cube would hold more cells than there are. Cells whose radius range
    is outside the radial gate are skipped.
    """
    n_cells = len(start) - 1
    radius = s[:, RHO].copy()
    e_all = np.zeros(n_cells)  # largest radial reach in each cell
    for a in range(n_cells):
        for q in range(start[a], start[a + 1]):
            e_all[a] = max(e_all[a], s[q, E])
    for p in range(len(obj)):
        if not fast[p]:
            continue
        reach = s[p, M] + s[p, VB] * h
        w = math.ceil((thr + 2 * reach) * inv)
        if (2 * w + 1) ** 3 >= n_cells:
            for q in range(len(obj)):
                if _searched_from(s, fast, p, q, reach, h):
                    n_out = _emit(s, obj, p, q, thr, h, slack, out, counts, n_out)
            continue
        ix, iy, iz = _cell(s[p, X], inv), _cell(s[p, Y], inv), _cell(s[p, Z], inv)
        rho, ep = radius[p], thr + s[p, E]
        for dx in range(-w, w + 1):
            for dy in range(-w, w + 1):
                for dz in range(-w, w + 1):
                    sl = _slot(table, _pack(ix + dx, iy + dy, iz + dz))
                    if table[sl] == _EMPTY:
                        continue
                    b = ids[sl]
                    gate = ep + e_all[b]
                    if radius[start[b]] > rho + gate or radius[start[b + 1] - 1] < rho - gate:
                        continue
                    for q in range(start[b], start[b + 1]):
                        if radius[q] > rho + gate:
                            break
                        if radius[q] >= rho - gate and _searched_from(s, fast, p, q, reach, h):
                            n_out = _emit(s, obj, p, q, thr, h, slack, out, counts, n_out)
    return n_out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _searched_from(s, fast, p, q, reach, h) -> bool:
    """Whether fast row p owns the pair (p, q)."""
    if q == p:
        return False
    if not fast[q]:
        return True
    rq = s[q, M] + s[q, VB] * h
    return rq < reach or (rq == reach and p < q)


@njit(cache=True, nogil=True, error_model="numpy")
def grid_pairs(
    pos: np.ndarray,
    vel: np.ndarray,
    valid: np.ndarray,
    margin: np.ndarray,
    dvel: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    thr: float,
    h: float,
    v_slow: float,
    slack: float,
    out: np.ndarray,
    counts: np.ndarray,
    ws: tuple,
) -> int:
    """Pairs (i < j) passing every test, written to `out` (k, 2); returns how many.

    `margin` (km) and `dvel` (km/s) bound each state's error when it is
    interpolated (`hermite.py`), zero when it is exact: the threshold of a pair
    grows by both objects' margins, speed bounds by twice `dvel`.
    When the count exceeds len(out) the caller grows `out` and calls again.
    `counts` gains, per test above (radial, radius, apogee/perigee, linear), the
    pairs handed to it, and in [4] the pairs kept.
    """
    inv = 1.0 / ((thr + 2 * (M_SLOW + v_slow * h)) * 1.001 + 1e-6)
    ckey, start, obj, s = _rows(pos, vel, valid, margin, dvel, lo, hi, h, inv, ws)
    fast = (s[:, VB] > v_slow) | (s[:, M] > M_SLOW)
    n = _join_slow(ckey, start, obj, s, fast, thr, h, slack, out, counts, 0)
    return _join_fast(ws[0], ws[1], start, obj, s, fast, thr, h, inv, slack, out, counts, n)


class GridSieve:
    """`grid_pairs` for one screening run: fixed parameters, a reused output buffer."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, threshold_km: float, step_s: float,
                 slow_kms: float, accel_slack: float):  # fmt: skip
        self.lo = np.ascontiguousarray(lo, dtype=np.float64)
        self.hi = np.ascontiguousarray(hi, dtype=np.float64)
        self.args = (float(threshold_km), step_s / 2.0, float(slow_kms), float(accel_slack))
        self.out = np.empty((1024, 2), np.int64)
        self.zero = np.zeros(len(lo))
        self.ws = workspace(len(lo))
        # pairs handed to each test: radial gate, search radius, apogee/perigee, linear; kept
        self.counts = np.zeros(5, np.int64)

    def step(
        self,
        pos: np.ndarray,
        vel: np.ndarray,
        valid: np.ndarray,
        margin: np.ndarray | None = None,
        dvel: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(i, j) of the pairs that pass every test at this sample; `margin` and `dvel`
        bound the states' errors when they are interpolated."""
        # strided views (one sample of a propagated block) go in as they are: no copies
        pos, vel = np.asarray(pos, np.float64), np.asarray(vel, np.float64)
        valid = np.asarray(valid, np.bool_)
        margin = self.zero if margin is None else np.asarray(margin, np.float64)
        dvel = self.zero if dvel is None else np.asarray(dvel, np.float64)
        while True:
            before = self.counts.copy()
            n = grid_pairs(pos, vel, valid, margin, dvel, self.lo, self.hi, *self.args,
                           self.out, self.counts, self.ws)  # fmt: skip
            if n <= len(self.out):
                break
            self.counts[:] = before
            self.out = np.empty((2 * n, 2), np.int64)
        return self.out[:n, 0].copy(), self.out[:n, 1].copy()


def warm_up() -> None:
    """Compile (or load from numba's cache) before worker processes fork, for both
    layouts the screener passes: contiguous arrays and columns of a (n, k, 3) block."""
    g = GridSieve(np.zeros(2), np.ones(2), 5.0, 60.0, 7.95, 2e-5)
    z = np.zeros((2, 2, 3))
    g.step(z[:, 0], z[:, 0], np.zeros((2, 2), bool)[:, 0], g.zero, g.zero)
    g.step(z[:, 0].copy(), z[:, 0].copy(), np.zeros(2, bool), g.zero, g.zero)
