"""Compiled loop of `Sustain.update`: one walk over a batch's rows instead of ~40 NumPy passes.

`Sustain` is the bookkeeping under anchor drag, drift, loitering, slow transits and harbour
stays: five detectors on every maritime batch. Its NumPy form needs two offset running
maxima and a dozen masks per call; this loop keeps, per slot, the same few running values.
It reproduces the NumPy form bit for bit (tests/test_sustain_kernel.py), including its
millisecond rounding of the last true time (`group_ffill_time`). Imported only for batches
large enough to repay it (`SUSTAIN_KERNEL_ROWS` in detect/base.py), and only once numba is
wanted: building a pipeline still loads none.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.numba_boot import ready

ready()  # numba's library, without SciPy's linalg (picket/numba_boot.py)

NONE_MS = -(10**12)  # group_ffill_time's "no value": its results at or below half are NaN


@njit(cache=True, nogil=True, error_model="numpy")
def _ms(x: float) -> int:
    return np.int64(np.rint(x * 1000.0))


@njit(cache=True, nogil=True, error_model="numpy")
def sustain(
    slots: np.ndarray,
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    cond: np.ndarray,
    grace_s: float,
    max_gap_s: float,
    st_last_t: np.ndarray,
    st_t0: np.ndarray,
    st_lat0: np.ndarray,
    st_lon0: np.ndarray,
    st_last_true: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`Sustain.update` on rows sorted by (slot, time); updates the state arrays in place."""
    n = len(slots)
    t0 = np.empty(n)
    lat0 = np.empty(n)
    lon0 = np.empty(n)
    last_true = np.empty(n)
    half = NONE_MS // 2
    i = 0
    while i < n:
        s = slots[i]
        j = i
        while j < n and slots[j] == s:
            j += 1
        old_t0, old_lat0, old_lon0 = st_t0[s], st_lat0[s], st_lon0[s]
        first_broken = not (t[i] - st_last_t[s] <= max_gap_s)
        brk = NONE_MS  # running maximum (ms) of this group's broken rows
        tru = NONE_MS  # of its true rows, seeded by the last true time carried in
        if not first_broken and np.isfinite(st_last_true[s]):
            tru = _ms(st_last_true[s])
        start = -1
        prev_live = False
        for r in range(i, j):
            broken = first_broken if r == i else not (t[r] - t[r - 1] <= max_gap_s)
            if broken:
                brk = max(brk, _ms(t[r]))
            if cond[r]:
                tru = max(tru, _ms(t[r]))
            lt = tru / 1000.0 if tru > half else np.nan
            if brk > half and not (lt >= brk / 1000.0):
                lt = np.nan
            live = cond[r] or (t[r] - lt <= grace_s)
            if live and (not prev_live or broken):
                start = r
            last_true[r] = lt
            if live:
                if start == i and not first_broken and np.isfinite(old_t0):
                    t0[r], lat0[r], lon0[r] = old_t0, old_lat0, old_lon0
                else:
                    t0[r], lat0[r], lon0[r] = t[start], lat[start], lon[start]
            else:
                t0[r] = lat0[r] = lon0[r] = np.nan
            prev_live = live
        e = j - 1
        st_t0[s], st_lat0[s], st_lon0[s] = t0[e], lat0[e], lon0[e]
        st_last_true[s] = last_true[e]
        st_last_t[s] = t[e]
        i = j
    return t0, lat0, lon0, last_true


def warm_up() -> None:
    """Load the compiled loop (numba's cache, or compile it) before the first batch."""
    z = np.zeros(2)
    sustain(np.zeros(2, np.int64), z.copy(), z.copy(), z.copy(), np.ones(2, np.bool_), 0.0,
            1.0, np.full(2, np.nan), z.copy(), z.copy(), z.copy(), z.copy())  # fmt: skip
