"""Compiled loops of the OpenSky CSV reader: field bounds and decimal numbers of a buffer.

The reader's whole-buffer path (`OpenSkyCsv._plain`) split every line into Python strings
and ran `float` over each numeric one: over half its time. These loops find every field's
bytes once and read the plain decimals (`-?digits[.digits]`, under 2**53 as an integer,
at most 22 places) as one correctly rounded division of two exact doubles, which is the
number `float` gives for the same text; anything else (exponents, 17-digit fractions,
words, signs, spaces) is left to `float` itself by the caller. Loaded by the first large
ASCII chunk, as air.loitering's loops are loaded by the first aircraft sample: the same
numba cost, paid once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.numba_boot import ready

ready()  # numba's library, without SciPy's linalg (picket/numba_boot.py)

POW10 = np.array([10.0**k for k in range(23)])  # exact doubles: 10**22 < 2**53 * 2**22
LIMIT = 1 << 53


@njit(cache=True, nogil=True)
def bounds(a: np.ndarray, n: int, width: int,
           max_len: int) -> tuple[np.ndarray, np.ndarray, bool]:  # fmt: skip
    """(start, end) byte offsets of every field, (n, width) each, of `n` lines separated by
    newlines (the last has none), and whether every line has `width` fields and 1 to
    `max_len` bytes (else the caller takes its line-by-line path)."""
    start = np.zeros((n, width), np.int64)
    end = np.zeros((n, width), np.int64)
    row, col, line = 0, 0, 0
    for i in range(len(a)):
        c = a[i]
        if c == 44:
            col += 1
            if col >= width:
                return start, end, False
            end[row, col - 1] = i
            start[row, col] = i + 1
        elif c == 10:
            if col != width - 1 or i == line or i - line > max_len:
                return start, end, False
            end[row, col] = i
            row += 1
            col = 0
            line = i + 1
            if row >= n:
                return start, end, False
            start[row, 0] = i + 1
    i = len(a)
    if row != n - 1 or col != width - 1 or i == line or i - line > max_len:
        return start, end, False
    end[row, col] = i
    return start, end, True


@njit(cache=True, nogil=True)
def decimals(a: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plain decimal in each field [start, end) (NaN where empty, as "nan" reads) and
    whether the field needs `float` instead (`hard`)."""
    n = len(start)
    out = np.empty(n)
    hard = np.zeros(n, np.bool_)
    for r in range(n):
        s, e = start[r], end[r]
        if s == e:
            out[r] = np.nan
            continue
        neg = a[s] == 45
        if neg:
            s += 1
        m = 0
        digits = 0
        places = -1  # digits after the point; -1: no point
        ok = s < e
        for i in range(s, e):
            c = a[i]
            if 48 <= c <= 57:
                m = m * 10 + (c - 48)
                digits += 1
                if places >= 0:
                    places += 1
                if m >= LIMIT:
                    ok = False
                    break
            elif c == 46 and places < 0:
                places = 0
            else:
                ok = False
                break
        if not ok or digits == 0 or places > 22:
            hard[r] = True
            out[r] = np.nan
            continue
        v = m / POW10[max(places, 0)]
        out[r] = -v if neg else v
    return out, hard


def warm_up() -> None:
    """Load the compiled loops (numba's cache, or compile them) before the first chunk."""
    a = np.frombuffer(b"1,2.5\n-3,x", np.uint8)
    s, e, _ = bounds(a, 2, 2, 256)
    decimals(a, s[:, 1].copy(), e[:, 1].copy())
