"""Compiled loops of `air.loitering`: every event-time tick of a batch in one call.

The detector used to pay ~60 NumPy calls per tick on windows of a few thousand samples;
these loops walk each aircraft's samples once per tick instead. Sums run in the order
NumPy's `bincount` and `add.at` used (sequential, from 0.0), so the totals are the same
bits. The trigonometry stays in NumPy with the caller (NumPy's `arcsin`, `arctan2` and
`hypot` differ from libm's in the last bit, and its vector `sin` is faster).
Imported on the first batch with aircraft samples: an AIS-only pipeline never loads numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.numba_boot import ready

ready()  # numba's library, without SciPy's linalg (picket/numba_boot.py)


@njit(cache=True, nogil=True, error_model="numpy")
def windows(
    ticks: np.ndarray,
    window_s: float,
    min_turn: float,
    seg: np.ndarray,
    t: np.ndarray,
    ground: np.ndarray,
    n_ok: np.ndarray,
    gturn: np.ndarray,
    cut_s: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    uz: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Per tick, per slot with samples in the window ending at the tick (slots ascending).

    `seg`: the start of each slot's run in the store (sorted by slot, time) and its end.
    Returns flat arrays, tick k's rows at [start[k], start[k + 1]): segment, first sample
    in the window, first of the sortie in progress (after the last ground sample and the
    slot's closed activity, `cut_s`), end, last ground time, net signed turn, the sums of
    the unit vectors over the sortie, its ok steps, whether a turn of another slot precedes
    its first one in the window (the zero turn NumPy's pairing put between), and, where the
    net turn reaches `min_turn`, the haversine term of the sample farthest from the centre
    from dot products, (1 - u.c) / 2: within 1e-15 of the trigonometric one (else -1)."""
    nt = len(ticks)
    ns = len(seg) - 1
    cap = max(16, ns * min(nt, 64))
    o_seg = np.empty(cap, np.int64)
    o_lo = np.empty(cap, np.int64)
    o_a = np.empty(cap, np.int64)
    o_hi = np.empty(cap, np.int64)
    o_land = np.empty(cap)
    o_net = np.empty(cap)
    o_cx = np.empty(cap)
    o_cy = np.empty(cap)
    o_cz = np.empty(cap)
    o_nok = np.empty(cap, np.int64)
    o_cross = np.empty(cap, np.bool_)
    o_far = np.empty(cap)
    start = np.zeros(nt + 1, np.int64)
    lo_p = seg[:-1].copy()  # per slot, the window's first sample (ticks ascend)
    hi_p = seg[:-1].copy()
    m = 0
    for k in range(nt):
        tk = ticks[k]
        low = tk - window_s
        seen_ok = False
        for s in range(ns):
            end = seg[s + 1]
            lo = lo_p[s]
            while lo < end and t[lo] < low:
                lo += 1
            lo_p[s] = lo
            hi = max(hi_p[s], lo)
            while hi < end and t[hi] <= tk:
                hi += 1
            hi_p[s] = hi
            if hi <= lo:
                continue
            if m == cap:
                cap *= 2
                o_seg = _grow(o_seg, cap)
                o_lo = _grow(o_lo, cap)
                o_a = _grow(o_a, cap)
                o_hi = _grow(o_hi, cap)
                o_nok = _grow(o_nok, cap)
                o_land = _grow(o_land, cap)
                o_net = _grow(o_net, cap)
                o_cx = _grow(o_cx, cap)
                o_cy = _grow(o_cy, cap)
                o_cz = _grow(o_cz, cap)
                o_cross = _grow(o_cross, cap)
                o_far = _grow(o_far, cap)
            land = -np.inf
            for j in range(lo, hi):
                if ground[j] and t[j] > land:
                    land = t[j]
            thr = max(land, cut_s[lo])
            a = lo
            while a < hi and not t[a] > thr:
                a += 1
            net = 0.0
            cx = 0.0
            cy = 0.0
            cz = 0.0
            nok = 0
            for j in range(a, hi):
                cx += ux[j]
                cy += uy[j]
                cz += uz[j]
                if j < hi - 1 and n_ok[j]:
                    if nok:
                        net += gturn[j]
                    nok += 1
            far = -1.0
            if nok and abs(net) >= min_turn:
                norm = np.sqrt(cx * cx + cy * cy + cz * cz)
                if norm > 0:
                    near = np.inf
                    for j in range(a, hi):
                        dot = (ux[j] * cx + uy[j] * cy + uz[j] * cz) / norm
                        if dot < near:
                            near = dot
                    far = (1.0 - near) / 2
            o_far[m] = far
            o_seg[m] = s
            o_lo[m] = lo
            o_a[m] = a
            o_hi[m] = hi
            o_land[m] = land
            o_net[m] = net
            o_cx[m] = cx
            o_cy[m] = cy
            o_cz[m] = cz
            o_nok[m] = nok
            o_cross[m] = nok > 0 and seen_ok
            if nok:
                seen_ok = True
            m += 1
        start[k + 1] = m
    return (start, o_seg[:m], o_lo[:m], o_a[:m], o_hi[:m], o_land[:m], o_net[:m],
            o_cx[:m], o_cy[:m], o_cz[:m], o_nok[:m], o_cross[:m], o_far[:m])  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def _grow(a: np.ndarray, n: int) -> np.ndarray:
    """`a` in a longer array of its dtype (numba compiles one per dtype)."""
    out = np.empty(n, a.dtype)
    out[: len(a)] = a
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def turns_after(
    a0: int, hi: int, n_ok: np.ndarray, gturn: np.ndarray, t: np.ndarray, cross: bool,
    after: float,
) -> tuple[float, float, int]:  # fmt: skip
    """A sortie's turns (with the zero turn before its first, `cross`) timed after `after`:
    their sum as NumPy's `sum` adds them (`np_sum`), the latest time, how many: what an
    open activity adds at a tick."""
    out = np.empty(max(hi - a0, 1))
    m = 0
    latest = -np.inf
    first = True
    for j in range(a0, hi - 1):
        if not n_ok[j]:
            continue
        if first:
            first = False
            if not cross:
                continue
            v = 0.0
        else:
            v = gturn[j]
        tt = t[j + 1]
        if tt > after:
            out[m] = v
            m += 1
            if tt > latest:
                latest = tt
    return np_sum(out, 0, m), latest, m


@njit(cache=True, nogil=True, error_model="numpy")
def np_sum(a: np.ndarray, lo: int, n: int) -> float:
    """`a[lo:lo + n].sum()` to the bit: NumPy adds a float64 reduction to 0.0 pairwise,
    eight running sums per block of up to 128, halves above that (a stack here: numba's
    cache does not take recursive functions). tests/test_air_loiter_fast.py checks it."""
    if n <= 128:
        return 0.0 + _block(a, lo, n)
    s_lo = np.empty(192, np.int64)
    s_n = np.empty(192, np.int64)
    s_up = np.empty(192, np.bool_)  # both halves done: add them
    vals = np.empty(192)
    top = 0
    nv = 0
    s_lo[0], s_n[0], s_up[0] = lo, n, False
    top = 1
    while top:
        top -= 1
        b, k, up = s_lo[top], s_n[top], s_up[top]
        if up:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        elif k <= 128:
            vals[nv] = _block(a, b, k)
            nv += 1
        else:
            k2 = k // 2
            k2 -= k2 % 8
            s_lo[top], s_n[top], s_up[top] = b, k, True
            s_lo[top + 1], s_n[top + 1], s_up[top + 1] = b + k2, k - k2, False
            s_lo[top + 2], s_n[top + 2], s_up[top + 2] = b, k2, False
            top += 3
    return 0.0 + vals[0]


@njit(cache=True, nogil=True, error_model="numpy")
def _block(a: np.ndarray, lo: int, n: int) -> float:
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        b = lo + i
        r0 += a[b]
        r1 += a[b + 1]
        r2 += a[b + 2]
        r3 += a[b + 3]
        r4 += a[b + 4]
        r5 += a[b + 5]
        r6 += a[b + 6]
        r7 += a[b + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def warm_up() -> None:
    """Load the compiled loops (numba's cache, or compile them) before the first batch, so
    a service or a benchmark pays it at start-up, not inside its first window."""
    z, f, b = np.zeros(2), np.full(2, -np.inf), np.zeros(2, np.bool_)
    windows(np.ones(1), 1.0, 360.0, np.array([0, 2]), z, b, b, z, f, z, z, z)
    turns_after(0, 2, b, z, z, False, 0.0)
    one = np.zeros(1, np.int64)
    shapes(one, one + 2, one, b, z, z, z, z, 30.0, 0.1, 10.0)


@njit(cache=True, nogil=True, error_model="numpy")
def shapes(
    a0: np.ndarray,
    hi: np.ndarray,
    want: np.ndarray,
    n_ok: np.ndarray,
    gturn: np.ndarray,
    t: np.ndarray,
    n_step: np.ndarray,
    n_dt: np.ndarray,
    straight_s: float,
    straight_dps: float,
    sample_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Largest continuous turn and mean speed of rows `want` of one tick's window (rows'
    sorties [a0, hi)), as `AirLoitering.shape` measured them: the whole window's turns in
    one array (the zero turns between slots too), its running sum and the (slot, time) key
    as NumPy built them, so the judged sums are the same bits."""
    nr = len(a0)
    cap = 0
    for r in range(nr):
        cap += max(hi[r] - a0[r], 0)
    turn = np.empty(cap)
    tt = np.empty(cap)
    si = np.empty(cap, np.int64)
    n = 0
    seen = False
    for r in range(nr):
        first = True
        for j in range(a0[r], hi[r] - 1):
            if not n_ok[j]:
                continue
            if first:
                first = False
                if seen:
                    turn[n] = 0.0
                    tt[n] = t[j + 1]
                    si[n] = r
                    n += 1
                seen = True
                continue
            turn[n] = gturn[j]
            tt[n] = t[j + 1]
            si[n] = r
            n += 1
    arc = np.zeros(nr)
    if n:
        turn, tt, si = turn[:n], tt[:n], si[:n]
        t0 = tt.min()
        big = 2.0 * (tt.max() - t0) + 4 * straight_s + 1.0
        key = si * big + (tt - t0)
        half = straight_s / 2
        lo = np.searchsorted(key, key - half, "left")
        up = np.searchsorted(key, key + half, "right")
        c = np.zeros(n + 1)
        acc = 0.0
        for k in range(n):
            acc += turn[k]
            c[k + 1] = acc
        run = 0.0
        sign_prev = 0.0
        for k in range(n):
            roll = c[up[k]] - c[lo[k]]
            span = max(tt[up[k] - 1] - tt[lo[k]], sample_s)
            sign = 0.0
            if abs(roll) >= straight_dps * span:
                sign = 1.0 if roll > 0 else -1.0 if roll < 0 else 0.0
            if k == 0 or sign != sign_prev or si[k] != si[k - 1]:
                if k:
                    arc[si[k - 1]] = max(arc[si[k - 1]], abs(run))
                run = 0.0
            run += turn[k] if sign != 0 else 0.0
            sign_prev = sign
        arc[si[n - 1]] = max(arc[si[n - 1]], abs(run))
    speed = np.empty(len(want))
    out = np.empty(len(want))
    for q in range(len(want)):
        r = want[q]
        flown = 0.0
        took = 0.0
        for j in range(a0[r], hi[r] - 1):
            if n_ok[j]:
                flown += n_step[j]
                took += n_dt[j]
        speed[q] = flown / max(took, 1e-3)
        out[q] = arc[r]
    return out, speed
