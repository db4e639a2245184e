"""Mode S field codings shared by the decoder and the encoder, vectorised.

Altitude (AC12/AC13: 25 ft steps with the Q bit, Gillham 100 ft steps without),
Mode A identity (ID13 with its interleaved A/B/C/D bits), the 6-bit callsign
alphabet, and bit-field access on (n, 14) frame matrices.
"""

from __future__ import annotations

import numpy as np

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0

CHARSET = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
_CHARS = np.frombuffer(CHARSET.encode("ascii"), dtype=np.uint8)
_CODES = np.zeros(256, dtype=np.uint8) + 32  # unknown characters become spaces
for _i, _c in enumerate(CHARSET):
    if _c != "#":
        _CODES[ord(_c)] = _i


# frame access ---------------------------------------------------------------------
def header(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(DF, CA/CF, AA) of each frame; AA is only the address for DF11/17/18."""
    f = frames
    df = (f[:, 0] >> 3).astype(np.int64)
    ca = (f[:, 0] & 7).astype(np.int64)
    aa = (f[:, 1].astype(np.int64) << 16) | (f[:, 2].astype(np.int64) << 8) | f[:, 3]
    return df, ca, aa


def low13(frames: np.ndarray) -> np.ndarray:
    """Bits 20-32: AC13 in DF0/4/16/20, ID13 in DF5/21."""
    return ((frames[:, 2].astype(np.int64) & 0x1F) << 8) | frames[:, 3]


def me_word(frames: np.ndarray) -> np.ndarray:
    """The 56-bit ME field (bytes 4..10) of extended squitters as uint64."""
    me = np.zeros(frames.shape[0], dtype=np.uint64)
    for j in range(4, 11):
        me = (me << np.uint64(8)) | frames[:, j].astype(np.uint64)
    return me


def me_bits(me: np.ndarray, first: int, n: int) -> np.ndarray:
    """ME bits `first`..`first+n-1` (1-based, as in the standards) as int64."""
    shift = np.uint64(56 - first - n + 1)
    return ((me >> shift) & np.uint64((1 << n) - 1)).astype(np.int64)


# altitude -----------------------------------------------------------------------
def _gray_to_bin(g: np.ndarray) -> np.ndarray:
    b = g.copy()
    b ^= b >> 1
    b ^= b >> 2
    b ^= b >> 4
    return b


def _bit(v: np.ndarray, i: int) -> np.ndarray:
    return (v >> i) & 1


def gillham_ft(ac13: np.ndarray) -> np.ndarray:
    """Gillham (Mode C) altitude in feet from an AC13 field; NaN where illegal."""
    a = np.asarray(ac13, dtype=np.int64)
    c1, a1, c2, a2, c4, a4 = (_bit(a, k) for k in (12, 11, 10, 9, 8, 7))
    b1, b2, d2, b4, d4 = (_bit(a, k) for k in (5, 3, 2, 1, 0))
    g500 = (d2 << 7) | (d4 << 6) | (a1 << 5) | (a2 << 4) | (a4 << 3) | (b1 << 2) | (b2 << 1) | b4
    g100 = (c1 << 2) | (c2 << 1) | c4
    n500 = _gray_to_bin(g500)
    n100 = _gray_to_bin(g100)
    bad = (n100 == 0) | (n100 == 5) | (n100 == 6)
    n100 = np.where(n100 == 7, 5, n100)
    n100 = np.where(n500 & 1, 6 - n100, n100)
    alt = (n500 * 500 + n100 * 100 - 1300).astype(np.float64)
    return np.where(bad, np.nan, alt)


def ac13_ft(ac13: np.ndarray) -> np.ndarray:
    """Barometric altitude in feet from AC13 (DF0/4/16/20); NaN if absent or metric."""
    a = np.asarray(ac13, dtype=np.int64)
    m = _bit(a, 6).astype(bool)
    q = _bit(a, 4).astype(bool)
    n = ((a & 0x1F80) >> 2) | ((a & 0x20) >> 1) | (a & 0xF)
    alt = np.where(q, n * 25.0 - 1000.0, gillham_ft(a))
    return np.where((a == 0) | m, np.nan, alt)


def ac12_ft(ac12: np.ndarray) -> np.ndarray:
    """Barometric altitude in feet from the AC12 field of an airborne position."""
    a = np.asarray(ac12, dtype=np.int64)
    return ac13_ft(((a & 0xFC0) << 1) | (a & 0x3F))


def encode_ac12(alt_m: np.ndarray) -> np.ndarray:
    """AC12 with Q=1 (25 ft steps, -1000..50175 ft, clipped); 0 (unknown) for NaN."""
    alt = np.asarray(alt_m, dtype=np.float64)
    ok = np.isfinite(alt)
    n = np.clip(np.round((np.where(ok, alt, 0.0) / FT + 1000.0) / 25.0), 0, 2047).astype(np.int64)
    ac = ((n >> 4) << 5) | 0x10 | (n & 0xF)
    return np.where(ok, ac, 0)


# Mode A identity ------------------------------------------------------------------
def id13_squawk(id13: np.ndarray) -> np.ndarray:
    """Mode A code as the decimal number spelling its four octal digits (7700)."""
    v = np.asarray(id13, dtype=np.int64)
    a = _bit(v, 7) * 4 + _bit(v, 9) * 2 + _bit(v, 11)
    b = _bit(v, 1) * 4 + _bit(v, 3) * 2 + _bit(v, 5)
    c = _bit(v, 8) * 4 + _bit(v, 10) * 2 + _bit(v, 12)
    d = _bit(v, 0) * 4 + _bit(v, 2) * 2 + _bit(v, 4)
    return a * 1000 + b * 100 + c * 10 + d


def encode_id13(squawk: np.ndarray) -> np.ndarray:
    """Inverse of `id13_squawk` (digits above 7 are masked to 3 bits)."""
    s = np.asarray(squawk, dtype=np.int64)
    a, b, c, d = (s // 1000) % 10 & 7, (s // 100) % 10 & 7, (s // 10) % 10 & 7, s % 10 & 7
    out = np.zeros_like(s)
    for digit, bits in ((a, (11, 9, 7)), (b, (5, 3, 1)), (c, (12, 10, 8)), (d, (4, 2, 0))):
        out |= (digit & 1) << bits[0]
        out |= ((digit >> 1) & 1) << bits[1]
        out |= ((digit >> 2) & 1) << bits[2]
    return out


# callsign -------------------------------------------------------------------------
def callsign_chars(me: np.ndarray) -> np.ndarray:
    """(n, 8) ASCII codes of the callsign in identification ME fields."""
    codes = np.stack([me_bits(me, 9 + 6 * k, 6) for k in range(8)], axis=1)
    return _CHARS[codes]


def callsign_strings(chars: np.ndarray) -> list[str]:
    """Rows of ASCII codes to stripped strings (called only for the few that changed)."""
    return [bytes(r).decode("ascii").strip() for r in np.asarray(chars, dtype=np.uint8)]


def encode_callsign(callsigns: list[str]) -> np.ndarray:
    """(n, 8) 6-bit codes for callsigns, upper-cased, space padded, truncated to 8."""
    raw = b"".join(s.upper().encode("ascii", "replace")[:8].ljust(8) for s in callsigns)
    return _CODES[np.frombuffer(raw, dtype=np.uint8)].reshape(-1, 8).astype(np.int64)
