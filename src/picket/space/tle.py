"""Two-line and three-line element sets, parsed as a byte matrix.

All lines of a file become one fixed-width `uint8` matrix; checksums, field
slices and numeric conversion are whole-column NumPy operations, so a 24,000
object catalogue parses in a few tens of milliseconds. Only rejected lines
take a per-line path (to say which line was bad and why).

Catalogue numbers: five digits, or Alpha-5 (a letter A-Z without I and O for
the ten-thousands, so "A0001" = 100001), the TLE's answer to numbers above
99,999. Six-digit numbers beyond Alpha-5 only travel in OMM.
"""

from __future__ import annotations

import contextlib

import numpy as np

from picket.model.rejects import Rejects
from picket.model.text import clean_text
from picket.space.elements import ElementSets, designator_from_tle

MAX_LINE = 160  # longer lines are not element-set lines: rejected as tle.line_too_long
MAX_NAME = 64  # a 3LE name line is 24 characters; longer names are cut
_A5 = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # Alpha-5 letters: I and O are skipped
A5_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(_A5):
    A5_VALUE[ord(_c)] = 10 + _i
A5_VALUE[ord("0") : ord("9") + 1] = np.arange(10)


def byte_matrix(lines: list[bytes]) -> np.ndarray:
    """Lines as an (n, width) uint8 matrix padded with spaces (overlong lines blanked)."""
    width = 69
    if lines:
        width = max(width, min(MAX_LINE, max(len(x) for x in lines)))
    arr = np.array([x if len(x) <= MAX_LINE else b"" for x in lines], dtype=f"S{width}")
    m = arr.view(np.uint8).reshape(len(lines), width).copy()
    m[m == 0] = 32
    return m


def columns(m: np.ndarray, a: int, b: int) -> np.ndarray:
    """Bytes a..b-1 (0-based) of every row as an `S` array."""
    return np.ascontiguousarray(m[:, a:b]).view(f"S{b - a}").ravel()


def to_float(s: np.ndarray) -> np.ndarray:
    """Parse an `S` array to float; unparseable or blank entries become NaN."""
    try:
        out = s.astype(np.float64)
        return out
    except ValueError:
        out = np.full(len(s), np.nan)
        for i, v in enumerate(s.tolist()):
            with contextlib.suppress(ValueError):
                out[i] = float(v)
        return out


def checksum_ok(m: np.ndarray) -> np.ndarray:
    """Modulo-10 checksum: digits count their value, '-' counts one, over columns 1-68."""
    body = m[:, :68].astype(np.int16)
    digit = (body >= 48) & (body <= 57)
    total = np.where(digit, body - 48, 0).sum(axis=1) + (body == 45).sum(axis=1)
    want = m[:, 68].astype(np.int16) - 48
    return (want >= 0) & (want <= 9) & (total % 10 == want)


def catalogue_numbers(m: np.ndarray) -> np.ndarray:
    """Columns 3-7 as a catalogue number, Alpha-5 aware; -1 when malformed."""
    lead = A5_VALUE[m[:, 2]]
    lead = np.where(m[:, 2] == 32, 0, lead)  # "    5" style right-justified numbers
    rest = to_float(columns(m, 3, 7))
    ok = (lead >= 0) & np.isfinite(rest) & (rest >= 0) & (rest == np.floor(rest))
    return np.where(ok, lead * 10000 + np.nan_to_num(rest).astype(np.int64), -1)


def implied_decimal(s: np.ndarray) -> np.ndarray:
    """TLE " 12345-3" = +0.12345e-3 (sign, five mantissa digits, signed exponent)."""
    m = s.view(np.uint8).reshape(len(s), -1)
    sign = np.where(m[:, 0] == 45, -1.0, 1.0)
    mant = to_float(columns(m, 1, 6))
    expo = to_float(columns(m, 6, 8))
    return sign * mant * 1e-5 * 10.0**expo


def epoch_unix(year2: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Two-digit year (57-99 = 19xx) and fractional day of year to unix seconds."""
    y = np.where(year2 < 57, 2000 + year2, 1900 + year2)
    jan1 = (np.nan_to_num(y).astype(np.int64) - 1970).astype("datetime64[Y]").astype(
        "datetime64[D]").astype(np.int64)  # fmt: skip
    return (jan1 + day - 1.0) * 86400.0


def parse_tle(data: bytes, rejects: Rejects, source: str, first_line: int = 1) -> ElementSets:
    """Every TLE/3LE group in `data`; everything else is rejected with its line number.

    Lines end at LF only (a stray form feed or CR inside a line must not renumber the
    rest); an over-long line is rejected and then read as blank.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return ElementSets.empty()
    for i, x in enumerate(lines):
        if len(x) > MAX_LINE:
            rejects.reject("tle.line_too_long", f"{source}:{first_line + i} ({len(x)} bytes)",
                           x[:256])  # fmt: skip
            lines[i] = b""
        elif x.endswith(b"\r"):
            lines[i] = x[:-1]
    m = byte_matrix(lines)
    m[(m >= 127) | ((m < 32) & (m != 9))] = ord("?")  # not TLE characters: fail, never raise
    n = len(lines)
    blank = np.fromiter((not x.strip(b" \t") for x in lines), bool, n)  # NUL is not blank
    c0, c1 = m[:, 0], m[:, 1]
    is1 = (c0 == ord("1")) & (c1 == 32)
    is2 = (c0 == ord("2")) & (c1 == 32)
    nxt2 = np.zeros(n, bool)
    nxt2[:-1] = is2[1:]
    i1 = np.flatnonzero(is1 & nxt2)
    i2 = i1 + 1
    used = np.zeros(n, bool)
    used[i1] = used[i2] = True
    has_name = np.zeros(len(i1), bool)
    prev = i1 - 1
    pv = prev >= 0
    has_name[pv] = ~is1[prev[pv]] & ~is2[prev[pv]] & ~blank[prev[pv]] & ~used[prev[pv]]
    used[prev[has_name]] = True

    for i in np.flatnonzero(~used & ~blank):
        rejects.reject("tle.orphan_line", f"{source}:{first_line + i}", lines[i])

    if not len(i1):
        return ElementSets.empty()
    m1, m2 = m[i1], m[i2]
    long_enough = (
        (np.array([len(lines[i].rstrip()) for i in i1.tolist()], dtype=np.int64) >= 69)
        & (np.array([len(lines[i].rstrip()) for i in i2.tolist()], dtype=np.int64) >= 69)
    ) if len(i1) else np.zeros(0, bool)  # fmt: skip
    cks = checksum_ok(m1) & checksum_ok(m2)
    num1, num2 = catalogue_numbers(m1), catalogue_numbers(m2)
    year = to_float(columns(m1, 18, 20))
    day = to_float(columns(m1, 20, 32))
    ndot = to_float(columns(m1, 33, 43))
    nddot = implied_decimal(columns(m1, 44, 52))
    bstar = implied_decimal(columns(m1, 53, 61))
    elnum = to_float(columns(m1, 64, 68))
    incl = to_float(columns(m2, 8, 16))
    raan = to_float(columns(m2, 17, 25))
    ecc = to_float(np.char.add(b".", np.char.strip(columns(m2, 26, 33))))
    argp = to_float(columns(m2, 34, 42))
    mo = to_float(columns(m2, 43, 51))
    mm = to_float(columns(m2, 52, 63))
    rev = to_float(columns(m2, 63, 68))
    fields_ok = (
        np.isfinite(year) & np.isfinite(day) & (day >= 1) & (day < 367)
        & np.isfinite(ndot) & np.isfinite(nddot) & np.isfinite(bstar)
        & np.isfinite(incl) & (incl >= 0) & (incl <= 180)
        & np.isfinite(raan) & np.isfinite(ecc) & (ecc < 1)
        & np.isfinite(argp) & np.isfinite(mo) & np.isfinite(mm) & (mm > 0)
    )  # fmt: skip
    good = long_enough & cks & (num1 >= 0) & (num1 == num2) & fields_ok
    for k in np.flatnonzero(~good):
        reason = (
            "tle.short_line" if not long_enough[k]
            else "tle.checksum" if not cks[k]
            else "tle.catalogue_number" if num1[k] < 0 or num1[k] != num2[k]
            else "tle.field"
        )  # fmt: skip
        raw = (lines[i1[k]] + b"\n" + lines[i2[k]]).decode("ascii", "replace")
        rejects.reject(reason, f"{source}:{first_line + i1[k]}", raw)
    rejects.accept(int(good.sum()))

    g = np.flatnonzero(good)
    names = np.full(len(i1), "", dtype=object)
    for k in np.flatnonzero(has_name & good):
        text = clean_text(lines[i1[k] - 1], 4 * MAX_NAME)
        names[k] = clean_text(text[2:] if text.startswith("0 ") else text, MAX_NAME)
    cls = columns(m1, 7, 8).astype("U1")
    return ElementSets(
        norad=num1[g],
        name=names[g].astype(str),
        object_id=designator_from_tle(columns(m1, 9, 17)[g]),
        epoch=epoch_unix(year[g], day[g]),
        mean_motion=mm[g],
        ecc=ecc[g],
        incl=incl[g],
        raan=raan[g],
        argp=argp[g],
        mean_anomaly=mo[g],
        bstar=bstar[g],
        ndot=ndot[g],
        nddot=nddot[g],
        elset_no=np.nan_to_num(elnum[g], nan=-1).astype(np.int32),
        rev_at_epoch=np.nan_to_num(rev[g], nan=-1).astype(np.int64),
        classification=cls[g],
        provider=np.full(len(g), source),
        row=(i1[g] + first_line).astype(np.int64),
    )


def alpha5(number: int) -> str:
    """Catalogue number as the five TLE characters (Alpha-5 above 99,999)."""
    if number < 100000:
        return f"{number:05d}"
    lead, rest = divmod(number, 10000)
    return _A5[lead - 10] + f"{rest:04d}"
