"""Compiled framing of AIS NMEA lines: one pass per line instead of dozens over the chunk.

`ais_nmea_lines.frame_lines_numpy` frames a chunk with whole-array NumPy steps (a sort
search over every comma, star and backslash, gathers, reductions, digit loops): about half
the decoder's time on `bench ais`. `frame` reads each line once, left to right, and gives
the same columns bit for bit (the NumPy code stays the reference; tests compare the two on
real and hostile bytes). Every rule it applies is the NumPy code's, including the odd ones
hostile lines reach (see `frame`). Loaded by the first large chunk only, so a live feed's
few lines never load numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.codec.ais_armor import HEX, INVALID
from picket.numba_boot import ready

ready()  # numba's library, without SciPy's linalg (picket/numba_boot.py)

# the line kinds and station width of picket.sources.ais_nmea_lines (not imported from
# there: that module imports this one lazily, and these are compile-time constants)
VDM, TAG_ONLY, PGHP = 0, 1, 2
MALFORMED, BAD_CHECKSUM, BAD_TAG, NOT_AIS, BAD_PGHP = 10, 11, 12, 13, 14
STATION_WIDTH = 32
_HEX = HEX.copy()


@njit(cache=True, nogil=True, inline="always")
def _blank(c: int) -> bool:
    return c == 9 or c == 13 or c == 32


@njit(cache=True, nogil=True)
def _uint(buf: np.ndarray, a: int, b: int, max_width: int) -> tuple[int, bool]:
    """Decimal digits in buf[a:b] (1 to `max_width` of them), as `parse_uint`."""
    if b - a < 1 or b - a > max_width:
        return 0, False
    v = 0
    for i in range(a, b):
        d = buf[i] - 48  # numba widens: a byte below '0' is negative here
        if d < 0 or d > 9:
            return 0, False
        v = v * 10 + d
    return v, True


@njit(cache=True, nogil=True, inline="always")
def _unix_seconds(v: int) -> float:
    """Seconds or milliseconds, as `ais_nmea_lines._unix_seconds`."""
    if v >= 100_000_000_000:
        return v / 1000.0
    return float(v)


@njit(cache=True, nogil=True)
def _grow(a: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(a) + 16, a.dtype)
    out[: len(a)] = a
    return out


@njit(cache=True, nogil=True)
def _hex_is(buf: np.ndarray, star: int, x: int) -> bool:
    """The two hex digits after `star` spell `x` (the XOR of what the checksum covers)."""
    h1, h2 = _HEX[buf[star + 1]], _HEX[buf[star + 2]]
    return h1 != INVALID and h2 != INVALID and np.int64(h1) * 16 + h2 == x


@njit(cache=True, nogil=True)
def frame(buf: np.ndarray, first_line_no: int) -> tuple:
    """Columns of `Lines` for every non-blank line of `buf` (all but `station`/`stations`),
    plus each tag-block station field as (line, first byte, width) in buffer order: the
    caller names them with `_unique_rows`, as the NumPy path does.

    Each line is read once up to its newline: the tag block's last star and XOR, its closing
    backslash, then the sentence's XOR, commas and first star; the rules are applied after,
    once the line's end is known. Odd rules kept from the NumPy code: a tag block's time,
    group and station are stored even when the line is then rejected (a bad `c:` after a
    good one, a bad sentence checksum); of repeated `c:`/`g:`/`s:` fields the last wins, but
    every station field joins `stations`; the talker's two bytes may be commas (`!,,VDM,`:
    the field commas are then counted from there); a trailer time or tag time stays on a
    VDM line whose fields are bad (kind MALFORMED); a `$PGHP` line's time is its own or NaN.
    """
    n_all = 0
    for i in range(len(buf)):
        n_all += buf[i] == 10
    line_no = np.empty(n_all, np.int64)
    start = np.empty(n_all, np.int64)
    end = np.empty(n_all, np.int64)
    kind = np.full(n_all, MALFORMED, np.int8)
    time = np.full(n_all, np.nan)
    count = np.full(n_all, -1, np.int64)
    frag = np.full(n_all, -1, np.int64)
    seq = np.full(n_all, -1, np.int64)
    channel = np.zeros(n_all, np.int64)
    pay_start = np.full(n_all, -1, np.int64)
    pay_len = np.full(n_all, -1, np.int64)
    fill = np.full(n_all, -1, np.int64)
    group_start = np.full(n_all, -1, np.int64)
    group_end = np.full(n_all, -1, np.int64)
    s_row = np.empty(16, np.int64)
    s_start = np.empty(16, np.int64)
    s_width = np.empty(16, np.int64)
    n_s = 0
    cm = np.empty(9, np.int64)  # a sentence's first commas before its star

    n = 0
    ls = 0  # start of the current raw line
    for line in range(n_all):  # every line ends with a newline: no scan passes the last one
        s = ls
        while _blank(buf[s]):
            s += 1
        if buf[s] == 10:
            ls = s + 1
            continue

        # the one scan: tag block (last star, XOR before it, closing backslash) ...
        is_tag = buf[s] == 92
        close, tstar, tx = -1, -1, 0
        j = s
        if is_tag:
            x = 0
            j = s + 1
            c = buf[j]
            while c != 92 and c != 10:
                if c == 42:
                    tstar, tx = j, x
                x ^= c
                j += 1
                c = buf[j]
            if c == 92:
                close = j
                j += 1
        # ... then the sentence from s0 (its first star, XOR before it, commas before it)
        s0 = j
        star, sx, nc = -1, 0, 0
        if buf[j] != 10:  # (a tag block without its backslash stopped at the newline)
            x = 0
            j += 1
            c = buf[j]
            while c != 10:
                if c == 42:
                    star, sx = j, x
                    break
                if c == 44 and nc < 9:
                    cm[nc] = j
                    nc += 1
                x ^= c
                j += 1
                c = buf[j]
        while buf[j] != 10:
            j += 1
        ls = j + 1
        e = j
        while _blank(buf[e - 1]):  # stops at the first solid byte, s at the latest
            e -= 1

        r = n
        n += 1
        line_no[r] = first_line_no + line
        start[r] = s
        end[r] = e

        if is_tag:  # '\' ... '*hh' '\' (a backslash found is inside the line: not blank)
            kind[r] = BAD_TAG
            if close < 0 or tstar < 0 or close != tstar + 3 or not _hex_is(buf, tstar, tx):
                continue
            # fields of buf[s + 1:tstar], split at commas
            tag_ok = True
            f = s + 1
            while True:
                fe = f
                while fe < tstar and buf[fe] != 44:
                    fe += 1
                ln = fe - f
                k0 = buf[f]
                vs = -1  # where a station name starts (after `s:` or `si:`)
                if ln >= 2 and buf[f + 1] == 58 and (k0 == 99 or k0 == 103 or k0 == 115):
                    if k0 == 99:  # c:
                        v, ok = _uint(buf, f + 2, fe, 13)
                        if ok:
                            time[r] = _unix_seconds(v)
                        else:
                            tag_ok = False
                    elif k0 == 103:  # g:
                        group_start[r] = f + 2
                        group_end[r] = fe
                    else:  # s:
                        vs = f + 2
                elif ln >= 3 and k0 == 115 and buf[f + 1] == 105 and buf[f + 2] == 58:  # si:
                    vs = f + 3
                if vs >= 0:
                    if n_s == len(s_row):
                        s_row, s_start, s_width = _grow(s_row), _grow(s_start), _grow(s_width)
                    s_row[n_s] = r
                    s_start[n_s] = vs
                    s_width[n_s] = min(fe - vs, STATION_WIDTH)
                    n_s += 1
                if fe >= tstar:
                    break
                f = fe + 1
            if not tag_ok:
                continue
            if s0 >= e:
                kind[r] = TAG_ONLY
                continue
            kind[r] = MALFORMED

        # the sentence: !xxVDM, !xxVDO, $xxVDM, $xxVDO or $PGHP
        c0 = buf[s0]
        nmea = c0 == 33 or c0 == 36
        if not nmea:
            continue
        long_enough = e - s0 >= 7
        v = (
            long_enough
            and buf[s0 + 3] == 86
            and buf[s0 + 4] == 68
            and (buf[s0 + 5] == 77 or buf[s0 + 5] == 79)
            and buf[s0 + 6] == 44
        )
        p = (
            c0 == 36
            and long_enough
            and buf[s0 + 1] == 80
            and buf[s0 + 2] == 71
            and buf[s0 + 3] == 72
            and buf[s0 + 4] == 80
            and buf[s0 + 5] == 44
        )
        if not v and not p:
            kind[r] = NOT_AIS
            continue

        # checksum: the first star from the sentence start, with two digits inside the line
        if star < 0 or star + 3 > e:
            continue  # MALFORMED
        if not _hex_is(buf, star, sx):
            kind[r] = BAD_CHECKSUM
            continue

        # trailing unix time after the checksum: '*hh,1636502400'
        if star + 3 < e and buf[star + 3] == 44 and not np.isfinite(time[r]):
            tv, ok = _uint(buf, star + 4, e, 13)
            if ok:
                time[r] = _unix_seconds(tv)

        if v:  # count, frag, seq, channel, payload, fill: exactly six commas before the star
            if nc != 6:
                continue
            cn, cok = _uint(buf, cm[0] + 1, cm[1], 1)
            fr, fok = _uint(buf, cm[1] + 1, cm[2], 1)
            sq, sok = _uint(buf, cm[2] + 1, cm[3], 1)
            fl, lok = _uint(buf, cm[5] + 1, star, 1)
            if not (cok and fok and lok and cn >= 1 and fr >= 1 and fr <= cn and fl <= 5):
                continue
            if not sok and cm[3] != cm[2] + 1:
                continue
            if cm[4] - cm[3] > 2:
                continue
            kind[r] = VDM
            count[r] = cn
            frag[r] = fr
            seq[r] = sq if sok else -1
            channel[r] = buf[cm[3] + 1] if cm[4] - cm[3] == 2 else 0
            pay_start[r] = cm[4] + 1
            pay_len[r] = cm[5] - cm[4] - 1
            fill[r] = fl
        else:  # $PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,...: at least nine commas before the star
            kind[r] = BAD_PGHP
            time[r] = np.nan
            if nc < 9:
                continue
            y, ok1 = _uint(buf, cm[1] + 1, cm[2], 4)
            mo, ok2 = _uint(buf, cm[2] + 1, cm[3], 2)
            d, ok3 = _uint(buf, cm[3] + 1, cm[4], 2)
            h, ok4 = _uint(buf, cm[4] + 1, cm[5], 2)
            mi, ok5 = _uint(buf, cm[5] + 1, cm[6], 2)
            sec, ok6 = _uint(buf, cm[6] + 1, cm[7], 2)
            ms, ok7 = _uint(buf, cm[7] + 1, cm[8], 3)
            if not (ok1 and ok2 and ok3 and ok4 and ok5 and ok6 and ok7):
                continue
            if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec <= 60):
                continue
            days = _days_from_civil(y, mo, d)
            kind[r] = PGHP
            time[r] = days * 86400.0 + h * 3600.0 + mi * 60.0 + sec + ms / 1000.0
    return (
        n, line_no, start, end, kind, time, count, frag, seq, channel, pay_start, pay_len,
        fill, group_start, group_end, s_row[:n_s], s_start[:n_s], s_width[:n_s],
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _days_from_civil(y: int, m: int, d: int) -> int:
    """`ais_nmea_lines.days_from_civil` for one date (Python's floor division in both)."""
    if m <= 2:
        y -= 1
    era = y // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def station_matrix(buf: np.ndarray, s_start: np.ndarray, s_width: np.ndarray,
                   width: int) -> np.ndarray:  # fmt: skip
    """The station fields as zero-padded rows of `width` bytes: the matrix the NumPy path
    hands `_unique_rows`."""
    mat = np.zeros((len(s_start), width), np.uint8)
    for i in range(len(s_start)):
        a = s_start[i]
        for j in range(s_width[i]):
            mat[i, j] = buf[a + j]
    return mat


def warm_up() -> None:
    """Load the compiled loops (numba's cache, or compile them) before the first chunk."""
    line = b"\\s:x,c:1*00\\!AIVDM,1,1,,A,1,0*00\n$PGHP,1,2000,1,1,0,0,0,0,*00\n"
    buf = np.frombuffer(line, np.uint8)
    out = frame(buf, 1)
    station_matrix(buf, out[-2], out[-1], 8)
