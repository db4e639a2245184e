"""AIS six-bit armour and bit fields, vectorised over whole batches.

An AIS payload is a string of printable characters, each carrying six bits.
Decoding one message at a time in Python costs tens of microseconds; here a
batch of payloads becomes a padded byte matrix (eight bits per byte, MSB
first), and every field is pulled out for all rows at once with shifts.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]

INVALID = 255

# armour character -> six-bit value (255 where the character is not armour)
DEARMOR = np.full(256, INVALID, dtype=np.uint8)
DEARMOR[48:88] = np.arange(0, 40)  # '0'..'W'
DEARMOR[96:120] = np.arange(40, 64)  # '`'..'w'

# six-bit value -> armour character
ARMOR = np.concatenate([np.arange(48, 88), np.arange(96, 120)]).astype(np.uint8)

# six-bit value -> text character of the AIS alphabet ('@' is 0 and pads strings)
SIXBIT_ASCII = np.concatenate([np.arange(64, 96), np.arange(32, 64)]).astype(np.uint8)
ASCII_SIXBIT = np.full(256, 0, dtype=np.uint8)  # unknown characters encode as '@'
ASCII_SIXBIT[SIXBIT_ASCII] = np.arange(64)
ASCII_SIXBIT[np.arange(97, 123)] = ASCII_SIXBIT[np.arange(65, 91)]  # lower case folds to upper

# hex digit (either case) -> value, 255 if not a hex digit
HEX = np.full(256, INVALID, dtype=np.uint8)
HEX[48:58] = np.arange(10)
HEX[65:71] = np.arange(10, 16)
HEX[97:103] = np.arange(10, 16)


def char_matrix(buf: U8, start: I64, length: I64, width: int) -> U8:
    """Gather payload characters into an (n, width) matrix, padded with '0' (six zero bits).

    Characters past `width` are dropped: callers size `width` to the longest
    message they decode.
    """
    cols = np.arange(width)
    if len(start) and width <= len(buf) and start.min() >= 0 and start.max() + width <= len(buf):
        # rows of a sliding window over the buffer: one row gather, no index matrix
        out = np.lib.stride_tricks.sliding_window_view(buf, width)[start]
    else:
        out = buf.take(start[:, None] + cols[None, :], mode="clip")  # outside cells overwritten
    if (length < width).any():
        out[~(cols[None, :] < np.minimum(length, width)[:, None])] = 48
    return out


def sixbit_to_bytes(chars: U8) -> U8:
    """Armour characters (n, w) -> payload bytes (n, ceil(6w/8)), big-endian bit order.

    Invalid characters decode as zero; check them with `DEARMOR` first.
    """
    return sixbits_to_bytes(DEARMOR[chars])


def sixbits_to_bytes(v: U8) -> U8:
    """Six-bit values (n, w), as `DEARMOR` gives them, -> payload bytes; INVALID counts as 0.
    Overwrites INVALID entries of `v` with 0."""
    n, w = v.shape
    if n == 0:  # no rows (a selection left empty): reshape(0, -1, 4) cannot infer a width
        return np.zeros((0, -(-w // 4) * 3), np.uint8)
    v[v == INVALID] = 0
    pad = (-w) % 4
    if pad:
        v = np.concatenate([v, np.zeros((n, pad), np.uint8)], axis=1)
    q = v.reshape(n, -1, 4)
    a, b, c, d = q[:, :, 0], q[:, :, 1], q[:, :, 2], q[:, :, 3]
    out = np.empty((n, q.shape[1], 3), np.uint8)
    out[:, :, 0] = (a << 2) | (b >> 4)
    out[:, :, 1] = ((b & 15) << 4) | (c >> 2)
    out[:, :, 2] = ((c & 3) << 6) | d
    return out.reshape(n, -1)


def field(by: U8, start: int, width: int, signed: bool = False) -> I64:
    """Bits [start, start+width) of every row of a payload byte matrix, as int64."""
    first, last = start // 8, (start + width - 1) // 8
    v = np.zeros(by.shape[0], np.uint64)
    for i in range(first, last + 1):
        v = (v << np.uint64(8)) | by[:, i].astype(np.uint64)
    v >>= np.uint64((last - first + 1) * 8 - (start % 8) - width)
    v &= np.uint64((1 << width) - 1)
    out = v.astype(np.int64)
    if signed:
        out = np.where(out >= (1 << (width - 1)), out - (1 << width), out)
    return out


def text(by: U8, start: int, nchars: int) -> list[str]:
    """Six-bit text fields, cut at the first '@' pad and stripped (as the AIS standard pads)."""
    if by.shape[0] == 0:
        return []
    codes = np.stack([field(by, start + 6 * i, 6) for i in range(nchars)], axis=1)
    ascii_ = SIXBIT_ASCII[codes]
    raw = np.ascontiguousarray(ascii_).view(f"S{nchars}").ravel()
    return [s.decode("ascii").partition("@")[0].strip() for s in raw.tolist()]


def nmea_checksum(body: bytes) -> int:
    """XOR of every byte between the '!'/'$'/'\\' and the '*'."""
    x = 0
    for b in body:
        x ^= b
    return x


# --- encoding ---------------------------------------------------------------------------


def put(bits: U8, start: int, width: int, value: I64) -> None:
    """Write `value` (two's complement if negative) into bit columns [start, start+width)."""
    v = np.asarray(value, dtype=np.int64) & ((1 << width) - 1)
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
    bits[:, start : start + width] = ((v[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


def put_text(bits: U8, start: int, nchars: int, values: list[str]) -> None:
    """Write upper-cased six-bit text, '@'-padded to `nchars`."""
    padded = [(s or "").upper()[:nchars].ljust(nchars, "@") for s in values]
    raw = np.frombuffer("".join(padded).encode("ascii", "replace"), np.uint8)
    codes = ASCII_SIXBIT[raw].reshape(len(values), nchars).astype(np.int64)
    for i in range(nchars):
        put(bits, start + 6 * i, 6, codes[:, i])


def armor(bits: U8) -> tuple[U8, int]:
    """Bit matrix (n, nbits) -> armour characters (n, ceil(nbits/6)) and the fill-bit count."""
    n, nbits = bits.shape
    fill = (-nbits) % 6
    if fill:
        bits = np.concatenate([bits, np.zeros((n, fill), np.uint8)], axis=1)
    groups = bits.reshape(n, -1, 6).astype(np.uint8)
    v = (
        (groups[:, :, 0] << 5)
        | (groups[:, :, 1] << 4)
        | (groups[:, :, 2] << 3)
        | (groups[:, :, 3] << 2)
        | (groups[:, :, 4] << 1)
        | groups[:, :, 5]
    )
    return ARMOR[v], fill
