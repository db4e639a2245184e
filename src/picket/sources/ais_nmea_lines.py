"""NMEA 0183 line framing for AIS feeds, vectorised over a chunk of lines.

One pass of NumPy over the raw bytes finds every line, its optional NMEA 4.10
tag block (`\\s:station,c:unixtime,g:1-2-7*hh\\`), the sentence behind it, the
sentence checksum, the six comma-separated VDM fields, DMA's `$PGHP` time
lines and trailing unix timestamps (`...*hh,1412524603`). No Python object is
made per line; the decoder reads the resulting columns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from picket import numba_boot
from picket.codec.ais_armor import HEX, INVALID

I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]

logger = logging.getLogger(__name__)

# line kinds; every kind >= MALFORMED is a reject with the reason below
VDM, TAG_ONLY, PGHP = 0, 1, 2
MALFORMED, BAD_CHECKSUM, BAD_TAG, NOT_AIS, BAD_PGHP = 10, 11, 12, 13, 14
REASONS = {
    MALFORMED: "ais.malformed",
    BAD_CHECKSUM: "ais.bad_checksum",
    BAD_TAG: "ais.bad_tag_block",
    NOT_AIS: "ais.not_ais",
    BAD_PGHP: "ais.bad_pghp",
}

STATION_WIDTH = 32  # longest station name kept (longer ones are cut, never dropped)
_WS = np.zeros(256, bool)
_WS[[9, 13, 32]] = True


@dataclass
class Lines:
    """Columns for the non-blank lines of a chunk (all arrays one entry per line)."""

    line_no: I64  # 1-based line number in the stream
    start: I64  # byte offsets of the stripped line
    end: I64
    kind: NDArray[np.int8]
    time: NDArray[np.float64]  # event time the line states itself (tag c:, trailer, $PGHP)
    station: I64  # index into `stations`, -1 if the line names none
    stations: list[str]
    count: I64  # VDM fragment count, fragment number, sequential id (-1 none)
    frag: I64
    seq: I64
    channel: I64  # channel byte, 0 if empty
    pay_start: I64
    pay_len: I64
    fill: I64
    group_start: I64  # tag block g: value, -1 if absent
    group_end: I64


# a chunk of at least this many lines is framed by the compiled loop (`_frame_compiled`).
# Once loaded it is faster at any size (10 lines: 40 us against 1 ms; a file's 1 MB chunk
# of 13,000 lines: 2.4 ms against 9 ms), but loading numba costs about 0.8 s of CPU and
# over 100 MB of peak RSS (tests/test_ais_pipeline_imports.py): a live feed's reads of a
# few lines keep the NumPy path and never load it, and a replay's first full chunk does
# (opensky's KERNEL_ROWS, the same trade)
KERNEL_LINES = 2048

_BROKEN: list[str] = []  # why the compiled loop failed once: the NumPy path since


def frame_lines(buf: U8, first_line_no: int) -> Lines:
    """Frame `buf`, which must end with a newline; `first_line_no` numbers its first line."""
    if (
        len(buf) >= KERNEL_LINES
        and np.count_nonzero(buf == 10) >= KERNEL_LINES
        and (kern := _kernel()) is not None
    ):
        try:
            return _frame_compiled(kern, buf, first_line_no)
        except Exception as e:  # a broken numba install must not cost any lines
            logger.exception("AIS NMEA compiled framing failed: the NumPy path from now on")
            _BROKEN.append(repr(e))
    return frame_lines_numpy(buf, first_line_no)


def _kernel() -> Any:
    """The compiled framing loop, or None without numba or after it failed once."""
    return numba_boot.twin("picket.sources.ais_nmea_frame_kernel", _BROKEN)


def _frame_compiled(kern: Any, buf: U8, first_line_no: int) -> Lines:
    """`frame_lines_numpy`'s columns from one compiled pass; stations named as it does."""
    n, *cols, s_row, s_start, s_width = kern.frame(buf, first_line_no)
    if n < len(cols[0]):  # blank lines dropped: arrays the size of the lines kept
        cols = [c[:n].copy() for c in cols]
    (line_no, start, end, kind, time, count, frag, seq, channel, pay_start, pay_len, fill,
     group_start, group_end) = cols  # fmt: skip
    station = np.full(n, -1, np.int64)
    stations: list[str] = []
    if len(s_row):
        width = -(-max(int(s_width.max()), 1) // 8) * 8  # whole uint64 words, as the NumPy path
        uniq, inv = _unique_rows(kern.station_matrix(buf, s_start, s_width, width))
        stations.extend(u.decode("ascii", "replace") for u in uniq)
        station[s_row] = inv  # of several station fields in a line the last wins
    return Lines(
        line_no, start, end, kind, time, station, stations, count, frag, seq, channel,
        pay_start, pay_len, fill, group_start, group_end,
    )  # fmt: skip


def frame_lines_numpy(buf: U8, first_line_no: int) -> Lines:
    """`frame_lines` in whole-array NumPy steps: the reference the compiled loop must equal,
    and the path of small chunks (no numba loaded for them)."""
    nl = np.flatnonzero(buf == 10)
    n_all = len(nl)
    start = np.empty(n_all, np.int64)
    start[0:1] = 0
    start[1:] = nl[:-1] + 1
    end = nl.astype(np.int64)
    line_no = first_line_no + np.arange(n_all, dtype=np.int64)
    start, end = _strip(buf, start, end)
    keep = end > start
    start, end, line_no = start[keep], end[keep], line_no[keep]
    n = len(start)
    size = len(buf)

    def at(i: I64) -> U8:  # every index here is >= 0; past the end reads the last byte
        return buf.take(i, mode="clip")

    kind = np.full(n, MALFORMED, np.int8)
    time = np.full(n, np.nan)
    station = np.full(n, -1, np.int64)
    minus = np.full(n, -1, np.int64)
    out = Lines(
        line_no, start, end, kind, time, station, [], minus.copy(), minus.copy(), minus.copy(),
        np.zeros(n, np.int64), minus.copy(), minus.copy(), minus.copy(), minus.copy(),
        minus.copy(),
    )  # fmt: skip
    if n == 0:
        return out

    stars = np.flatnonzero(buf == 42)
    commas = np.flatnonzero(buf == 44)
    slashes = np.flatnonzero(buf == 92)

    # tag block: '\' ... '*hh' '\'
    is_tag = buf[start] == 92
    sentence = start.copy()
    t_idx = np.flatnonzero(is_tag)
    tag_ok = np.zeros(n, bool)
    if len(t_idx):
        ts, te = start[t_idx], end[t_idx]
        j = np.searchsorted(slashes, ts, "right")
        close = _pick(slashes, j, size)
        k = np.searchsorted(stars, close) - 1
        tstar = _pick(stars, k, -1)
        ok = (close < te) & (tstar > ts) & (close == tstar + 3)
        t1, t2 = HEX[at(tstar + 1)], HEX[at(tstar + 2)]
        cs = t1.astype(np.int64) * 16 + t2
        ok &= (t1 != INVALID) & (t2 != INVALID)
        ok &= cs == xor_ranges(buf, ts + 1, np.where(ok, tstar, ts + 1))
        good = t_idx[ok]
        ok2 = _tag_fields(buf, good, ts[ok] + 1, tstar[ok], commas, out)
        tag_ok[good[ok2]] = True
        kind[t_idx] = BAD_TAG
        sentence[t_idx] = np.where(ok, close + 1, end[t_idx])
    body = ~is_tag | tag_ok
    kind[tag_ok & (sentence >= end)] = TAG_ONLY
    cand = np.flatnonzero(body & (sentence < end))
    kind[cand] = MALFORMED

    s0 = sentence[cand]
    c0 = at(s0)
    nmea_start = (c0 == 33) | (c0 == 36)
    long_enough = end[cand] - s0 >= 7
    v = (
        nmea_start
        & long_enough
        & (at(s0 + 3) == ord("V"))
        & (at(s0 + 4) == ord("D"))
        & ((at(s0 + 5) == ord("M")) | (at(s0 + 5) == ord("O")))
        & (at(s0 + 6) == 44)
    )
    p = (c0 == 36) & long_enough
    for i, ch in enumerate(b"PGHP,"):
        p &= at(s0 + 1 + i) == ch
    kind[cand[nmea_start & ~v & ~p]] = NOT_AIS

    # checksum of VDM and $PGHP sentences
    chk = cand[v | p]
    s0 = sentence[chk]
    k = np.searchsorted(stars, s0)
    sstar = _pick(stars, k, size)
    has_star = sstar + 3 <= end[chk]
    h1, h2 = HEX[at(sstar + 1)], HEX[at(sstar + 2)]
    cs_ok = (h1 != INVALID) & (h2 != INVALID)
    cs_ok &= (h1.astype(np.int64) * 16 + h2) == xor_ranges(
        buf, s0 + 1, np.where(has_star, sstar, s0 + 1)
    )
    kind[chk[has_star & ~cs_ok]] = BAD_CHECKSUM
    sound = has_star & cs_ok
    chk, s0, sstar = chk[sound], s0[sound], sstar[sound]

    # trailing unix time after the checksum: '*hh,1636502400'
    trail = (sstar + 3 < end[chk]) & (at(sstar + 3) == 44)
    tval, tok = parse_uint(buf, sstar + 4, end[chk], 13)
    tok &= trail & ~np.isfinite(time[chk])
    time[chk[tok]] = _unix_seconds(tval[tok])

    is_v = buf[s0 + 5] != ord(",")  # VDM/VDO have 'M'/'O' at +5, $PGHP a comma
    _vdm_fields(buf, chk[is_v], s0[is_v], sstar[is_v], commas, out)
    _pghp_fields(buf, chk[~is_v], s0[~is_v], sstar[~is_v], commas, out)
    return out


def _pick(a: I64, i: I64, default: int) -> I64:
    """a[i] where 0 <= i < len(a), else `default` (also when `a` is empty)."""
    if len(a) == 0:
        return np.full(len(i), default, np.int64)
    inside = (i >= 0) & (i < len(a))
    return np.where(inside, a[np.clip(i, 0, len(a) - 1)], default)


def _next_commas(commas: I64, k: I64, m: int, size: int) -> NDArray[np.int64]:
    """Rows of `m` comma offsets from index k on (`size` past the last comma): an (m, n)
    array, one gather instead of `m` calls of `_pick` (`k` >= 0: a clipped take and a
    fill past the end, not a padded copy of the chunk's every comma)."""
    i = k[None, :] + np.arange(m)[:, None]
    if not len(commas):
        return np.full(i.shape, size, np.int64)
    out = commas.take(i, mode="clip")
    out[i >= len(commas)] = size
    return out


def _strip(buf: U8, start: I64, end: I64) -> tuple[I64, I64]:
    """Drop leading/trailing blanks and CRs: a few vectorised steps, whole-buffer scan if needed."""
    start, end = start.copy(), end.copy()
    for _ in range(4):
        m = (end > start) & _WS[buf.take(end - 1, mode="clip")]  # clip: as max(end - 1, 0)
        if not m.any():
            break
        end[m] -= 1
    else:
        idx = np.arange(len(buf), dtype=np.int64)
        last_solid = np.maximum.accumulate(np.where(~_WS[buf], idx, -1))
        end = np.maximum(
            np.where(end > start, last_solid[np.maximum(end - 1, 0)] + 1, start), start
        )
    for _ in range(4):
        m = (end > start) & _WS[buf.take(start, mode="clip")]
        if not m.any():
            break
        start[m] += 1
    else:
        idx = np.arange(len(buf), dtype=np.int64)
        solid = np.where(~_WS[buf], idx, len(buf))
        next_solid = np.minimum.accumulate(solid[::-1])[::-1]
        start = np.minimum(next_solid[np.minimum(start, len(buf) - 1)], end)
    return start, end


def xor_ranges(buf: U8, a: I64, b: I64) -> NDArray[np.int64]:
    """XOR of buf[a:b] per row; ranges must be sorted and disjoint (lines are)."""
    out = np.zeros(len(a), np.int64)
    full = np.flatnonzero(b > a)
    if len(full) == 0:
        return out
    idx = np.empty(2 * len(full), np.int64)
    idx[0::2], idx[1::2] = a[full], b[full]
    out[full] = np.bitwise_xor.reduceat(buf, idx)[0::2]
    return out


def parse_uint(buf: U8, a: I64, b: I64, max_width: int) -> tuple[I64, NDArray[np.bool_]]:
    """Decimal digits in buf[a:b] per row; ok is False for empty, too long or non-digits."""
    ln = b - a
    ok = (ln >= 1) & (ln <= max_width)
    val = np.zeros(len(a), np.int64)
    for j in range(max_width):
        m = ok & (j < ln)
        if not m.any():
            break
        # clip: indices kept in buf; uint8 arithmetic: a byte below '0' wraps above 9
        d = buf.take(a + j, mode="clip") - np.uint8(48)
        ok &= ~m | (d <= 9)
        val = np.where(m, val * 10 + d, val)
    return val, ok


def _unix_seconds(v: I64) -> NDArray[np.float64]:
    """Tag-block and trailer times come in seconds or milliseconds; 1e11 s is year 5138."""
    return np.where(v >= 100_000_000_000, v / 1000.0, v.astype(np.float64))


def _tag_fields(buf: U8, rows: I64, cs: I64, ce: I64, commas: I64, out: Lines) -> NDArray[np.bool_]:
    """Read c: (time), s:/si: (station) and g: (group) from tag contents buf[cs:ce]."""
    ok = np.ones(len(rows), bool)
    if len(rows) == 0:
        return ok
    lo, hi = np.searchsorted(commas, cs), np.searchsorted(commas, ce)
    per_row = hi - lo  # commas inside each tag block (none in DMA's `\\si:AISD*3F\\`)
    if not per_row.any():  # one field per block: no fields to split and sort
        fs, fe, fo = cs, ce, np.arange(len(rows))
    else:
        owner = np.repeat(np.arange(len(rows)), per_row)
        first = np.repeat(lo - np.concatenate([[0], np.cumsum(per_row)[:-1]]), per_row)
        inner = commas[first + np.arange(len(owner))]
        fs = np.concatenate([cs, inner + 1])
        fo = np.concatenate([np.arange(len(rows)), owner])
        order = np.argsort(fs, kind="stable")
        fs, fo = fs[order], fo[order]
        fe = np.empty_like(fs)
        fe[:-1] = fs[1:] - 1
        fe[-1] = ce[fo[-1]]
        last_of_row = np.ones(len(fs), bool)
        last_of_row[:-1] = fo[1:] != fo[:-1]
        fe[last_of_row] = ce[fo[last_of_row]]

    k0 = buf.take(fs, mode="clip")  # take: several times cheaper than indexing with an array
    k1 = buf.take(np.minimum(fs + 1, fe), mode="clip")
    k2 = buf.take(np.minimum(fs + 2, fe), mode="clip")
    colon1 = (k1 == 58) & (fe > fs + 1)
    is_c = (k0 == ord("c")) & colon1
    is_g = (k0 == ord("g")) & colon1
    is_s = (k0 == ord("s")) & colon1
    is_si = (k0 == ord("s")) & (k1 == ord("i")) & (k2 == 58) & (fe > fs + 2)

    c = np.flatnonzero(is_c)
    val, vok = parse_uint(buf, fs[c] + 2, fe[c], 13)
    ok[fo[c[~vok]]] = False
    out.time[rows[fo[c[vok]]]] = _unix_seconds(val[vok])

    g = np.flatnonzero(is_g)
    out.group_start[rows[fo[g]]] = fs[g] + 2
    out.group_end[rows[fo[g]]] = fe[g]

    s = np.flatnonzero(is_s | is_si)
    if len(s):
        vs = fs[s] + np.where(is_si[s], 3, 2)
        width = np.clip(fe[s] - vs, 0, STATION_WIDTH)
        cols = np.arange(-(-max(int(width.max()), 1) // 8) * 8)  # whole uint64 words
        inside_s = cols[None, :] < width[:, None]
        mat = np.where(inside_s, buf[np.where(inside_s, vs[:, None] + cols[None, :], 0)], 0)
        uniq, inv = _unique_rows(np.ascontiguousarray(mat.astype(np.uint8)))
        base = len(out.stations)
        out.stations.extend(u.decode("ascii", "replace") for u in uniq)
        out.station[rows[fo[s]]] = base + inv
    return ok


def _unique_rows(mat: U8) -> tuple[list[bytes], I64]:
    """Distinct byte rows and each row's index among them.

    Station names repeat on nearly every line, so rows are grouped by a 64-bit
    hash (an integer sort, far cheaper than sorting strings) and checked
    against their group's first row; a collision falls back to a string sort.
    """
    if (mat == mat[:1]).all():  # one station for the whole chunk (DMA's `si:AISD`)
        return [bytes(mat[0]).rstrip(b"\0")], np.zeros(len(mat), np.int64)
    words = mat.view(np.uint64)
    h = np.zeros(len(mat), np.uint64)
    with np.errstate(over="ignore"):
        for i in range(words.shape[1]):
            h = (h ^ words[:, i]) * np.uint64(0x100000001B3)
            h ^= h >> np.uint64(29)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.ravel()
    if np.array_equal(mat, mat[first[inv]]):
        return [bytes(mat[i]).rstrip(b"\0") for i in first.tolist()], inv.astype(np.int64)
    names = mat.view(f"S{mat.shape[1]}").ravel()
    u, inv = np.unique(names, return_inverse=True)
    return u.tolist(), inv.ravel().astype(np.int64)


def _vdm_fields(buf: U8, rows: I64, s0: I64, star: I64, commas: I64, out: Lines) -> None:
    """`!AIVDM,count,frag,seq,chan,payload,fill*hh`: validate and store the six fields."""
    if len(rows) == 0:
        return
    nc = len(commas)
    k = np.searchsorted(commas, s0)
    c = _next_commas(commas, k, 7, len(buf))
    ok = (k + 5 < nc) & (c[5] < star)
    ok &= (k + 6 >= nc) | (c[6] > star)  # no seventh field
    # count, fragment, sequence and fill: one digit each, parsed in one stacked pass
    v, vok = parse_uint(buf, np.concatenate([c[0], c[1], c[2], c[5]]) + 1,
                        np.concatenate([c[1], c[2], c[3], star]), 1)  # fmt: skip
    (count, frag, seq, fill), (cok, fok, sok, lok) = v.reshape(4, -1), vok.reshape(4, -1)
    ok &= cok & fok & lok & (count >= 1) & (frag >= 1) & (frag <= count) & (fill <= 5)
    ok &= sok | (c[3] == c[2] + 1)
    ok &= c[4] - c[3] <= 2  # channel: empty or one character
    rows = rows[ok]
    out.kind[rows] = VDM
    out.count[rows] = count[ok]
    out.frag[rows] = frag[ok]
    out.seq[rows] = np.where(sok[ok], seq[ok], -1)
    out.channel[rows] = np.where(c[4][ok] - c[3][ok] == 2, buf[c[3][ok] + 1], 0)
    out.pay_start[rows] = c[4][ok] + 1
    out.pay_len[rows] = c[5][ok] - c[4][ok] - 1
    out.fill[rows] = fill[ok]


def _pghp_fields(buf: U8, rows: I64, s0: I64, star: I64, commas: I64, out: Lines) -> None:
    """DMA's `$PGHP,1,yyyy,mm,dd,hh,mm,ss,ms,...` stamps the sentence that follows it."""
    if len(rows) == 0:
        return
    nc = len(commas)
    k = np.searchsorted(commas, s0)
    c = _next_commas(commas, k, 10, len(buf))
    ok = (k + 8 < nc) & (c[8] < star)
    # the seven number fields, each parsed to its own width (year 4, five of 2, ms 3): the
    # digit loop runs as many times as the widest field of its call
    a, b = c[1:8] + 1, c[2:9]
    y, yok = parse_uint(buf, a[0], b[0], 4)
    v, vok = parse_uint(buf, a[1:6].ravel(), b[1:6].ravel(), 2)
    ms, msok = parse_uint(buf, a[6], b[6], 3)
    ok &= yok & vok.reshape(5, -1).all(axis=0) & msok
    mo, d, h, mi, s = v.reshape(5, -1)
    ok &= (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (h < 24) & (mi < 60) & (s <= 60)
    days = days_from_civil(y, mo, d)
    t = days * 86400.0 + h * 3600.0 + mi * 60.0 + s + ms / 1000.0
    out.kind[rows] = BAD_PGHP
    out.kind[rows[ok]] = PGHP
    out.time[rows[ok]] = t[ok]
    out.time[rows[~ok]] = np.nan


def days_from_civil(y: I64, m: I64, d: I64) -> I64:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
