"""Compiled loop of `ais_decode.decode_payloads`: every payload dearmoured and read in one pass.

The NumPy form (`decode_payloads_numpy`) builds a character matrix, a six-bit matrix and a
byte matrix per message type and then makes several passes per field: a third of the AIS
decoder's time on a file replay. This loop reads each message's characters once and writes
its report row directly. It reproduces the NumPy form exactly, statuses included, with the
same batch-wide choices (how many characters of a type 18/19 or 14 are checked for invalid
armour); `tests/test_ais_payload_kernel.py` holds it to that. The rare identity fields (types
5, 14, 19, 21, 24, and 4's base-station flag) stay with the Python side, which gets the rows
that need them. Imported only for batches of at least `ais_decode.KERNEL_MESSAGES` messages:
building a pipeline, or a live feed's few lines, loads no numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from picket.codec.ais_armor import DEARMOR, INVALID
from picket.codec.ais_decode import (
    ACCURACY_HIGH_M,
    ACCURACY_LOW_M,
    BAD_PAYLOAD,
    KNOT,
    MAX_TEXT_14,
    MIN_BITS,
    MIN_BITS_24A,
    MIN_BITS_24B,
    OK,
    SUPPORTED_TYPES,
    TRUNCATED,
    UNSUPPORTED,
)
from picket.model.reports import Domain, Kind
from picket.numba_boot import ready

ready()  # numba's library, without SciPy's linalg (picket/numba_boot.py)

# per message type: bits it must carry (0: checked later, type 24; -1: unsupported)
NEED = np.full(64, -1, np.int64)
for _t in SUPPORTED_TYPES:
    NEED[_t] = MIN_BITS.get(_t, 0)
# per message type: characters the NumPy form reads (and checks) for its fields, as
# ceil(bits / 6) of the bits it asks `payload` for; 18/19 and 14 depend on the batch
READ = np.zeros(64, np.int64)
for _t, _bits in ((1, 137), (2, 137), (3, 137), (9, 128), (27, 96), (4, 138), (21, 360),
                  (5, MIN_BITS[5]), (24, 168), (18, 133), (19, 133)):  # fmt: skip
    READ[_t] = -(-_bits // 6)
READ_19 = -(-MIN_BITS[19] // 6)  # a batch with a type 19 reads 312 bits of every 18 and 19
STATIC_TYPES = np.zeros(64, np.bool_)
STATIC_TYPES[[4, 5, 14, 19, 21, 24]] = True
SIX = 176  # six-bit values kept per message: at least 7 + MAX_TEXT_14 (type 14's widest)
STATIC_BYTES = -(-SIX // 4) * 3  # bytes of a static row's widest matrix
FIELDS = 37  # characters the report fields read at most (type 21's latitude ends at bit 219)

SOG_TENTH = 0.1 * KNOT  # `_sog`'s `scale * KNOT`, the same double
SOG_ONE = 1.0 * KNOT
POSITION, IDENTITY = int(Kind.POSITION), int(Kind.IDENTITY)
MARITIME, AIR = int(Domain.MARITIME), int(Domain.AIR)
HIGH, LOW = np.float32(ACCURACY_HIGH_M), np.float32(ACCURACY_LOW_M)
NAN32 = np.float32(np.nan)

# the helpers are inlined into `decode` (and cached with it): one cache entry, not one per
# literal field position


@njit(inline="always", nogil=True)
def _field(six: np.ndarray, at: int, width: int) -> int:
    """Bits [at, at + width) of a message's six-bit values, unsigned."""
    c0 = at // 6
    c1 = (at + width - 1) // 6
    v = 0
    for c in range(c0, c1 + 1):
        v = (v << 6) | six[c]
    v >>= (c1 + 1) * 6 - at - width
    return v & ((1 << width) - 1)


@njit(inline="always", nogil=True)
def _signed(six: np.ndarray, at: int, width: int) -> int:
    v = _field(six, at, width)
    if v >= 1 << (width - 1):
        v -= 1 << width
    return v


@njit(inline="always", nogil=True)
def _sog(raw: int, scale: float, na: int) -> np.float32:
    if raw == na:
        return NAN32
    return np.float32(raw * scale)


@njit(inline="always", nogil=True)
def _angle(raw: int, scale: float, limit: int) -> np.float32:
    if raw >= limit:
        return NAN32
    return np.float32(raw * scale)


@njit(inline="always", nogil=True)
def _accuracy(bit: int) -> np.float32:
    return HIGH if bit == 1 else LOW


@njit(inline="always", nogil=True)
def _latlon(six: np.ndarray, lon_at: int, lat_at: int, bits: int,
            per_deg: float) -> tuple[float, float]:  # fmt: skip
    lon = _signed(six, lon_at, bits + 1) / per_deg
    lat = _signed(six, lat_at, bits) / per_deg
    if abs(lon) > 180.0:
        lon = np.nan
    if abs(lat) > 90.0:
        lat = np.nan
    return lat, lon


@njit(cache=True, nogil=True)
def decode(buf: np.ndarray, start: np.ndarray, length: np.ndarray, fill: np.ndarray) -> tuple:
    """Statuses, types and report rows of every payload `buf[start:start+length]` (`buf` not
    empty). Returns (status, msg_type, k, rows, kind, mmsi, lat, lon, speed, course, heading,
    nav_status, accuracy, msg, alt, domain, ks, static_rows, static_bytes, w14): the first k
    entries of the row arrays are the report rows in message order; `static_rows` (ks) the
    messages whose identity fields the caller builds, `static_bytes` their payload bytes as
    the NumPy form's byte matrix for their type (the first columns of each row), and w14 the
    text width the NumPy form gives the batch's type 14 messages."""
    n = len(start)
    nbuf = len(buf)
    status = np.full(n, OK, np.int8)
    msg_type = np.full(n, -1, np.int16)
    nbits = np.empty(n, np.int64)
    any19 = False
    max14 = -1
    # pass 1: statuses that depend on the message alone, and the batch-wide read widths
    for i in range(n):
        ln = length[i]
        f = fill[i]
        nb = 6 * ln - f
        nbits[i] = nb
        p = min(max(start[i], 0), nbuf - 1)
        t = DEARMOR[buf[p]]
        if ln <= 0 or f < 0 or f > 5 or nb < 38 or t == INVALID:
            status[i] = BAD_PAYLOAD
            continue
        msg_type[i] = t
        need = NEED[t]
        if need < 0:
            status[i] = UNSUPPORTED
        elif nb < need:
            status[i] = TRUNCATED
        elif t == 19:
            any19 = True
        elif t == 14 and nb > max14:
            max14 = nb

    read = READ.copy()
    if any19:
        read[18] = READ_19
        read[19] = READ_19
    w14 = 0
    if max14 >= 0:
        w14 = min(MAX_TEXT_14, (max14 - 40) // 6)
        read[14] = -(-(40 + 6 * w14) // 6)

    rows = np.empty(n, np.int64)
    kind = np.empty(n, np.uint8)
    mmsi = np.empty(n, np.int64)
    lat = np.empty(n, np.float64)
    lon = np.empty(n, np.float64)
    speed = np.empty(n, np.float32)
    course = np.empty(n, np.float32)
    heading = np.empty(n, np.float32)
    nav = np.empty(n, np.int8)
    acc = np.empty(n, np.float32)
    msg = np.empty(n, np.uint8)
    alt = np.empty(n, np.float32)
    domain = np.empty(n, np.uint8)
    static_rows = np.empty(n, np.int64)
    six = np.zeros(SIX, np.int64)
    k = 0
    ks = 0
    # pass 2: invalid armour among the characters read, type 24's part, then the row
    for i in range(n):
        if status[i] != OK:
            continue
        t = msg_type[i]
        nr = min(length[i], read[t])
        s = start[i]
        bad = False
        for j in range(nr):
            v = DEARMOR[buf[min(max(s + j, 0), nbuf - 1)]]
            if v == INVALID:
                bad = True
                break
            six[j] = v
        if bad:
            status[i] = BAD_PAYLOAD
            continue
        for j in range(nr, FIELDS):  # past the payload: the NumPy form pads with zero bits
            six[j] = 0
        if t == 24:
            part = _field(six, 38, 2)
            if part > 1:
                status[i] = UNSUPPORTED
                continue
            if nbits[i] < (MIN_BITS_24A if part == 0 else MIN_BITS_24B):
                status[i] = TRUNCATED
                continue

        rows[k] = i
        mmsi[k] = _field(six, 8, 30)
        kind[k] = POSITION
        msg[k] = t
        domain[k] = MARITIME
        lat[k] = np.nan
        lon[k] = np.nan
        speed[k] = NAN32
        course[k] = NAN32
        heading[k] = NAN32
        nav[k] = -1
        acc[k] = NAN32
        alt[k] = NAN32
        if t == 1 or t == 2 or t == 3:
            nav[k] = _field(six, 38, 4)
            speed[k] = _sog(_field(six, 50, 10), SOG_TENTH, 1023)
            acc[k] = _accuracy(_field(six, 60, 1))
            lat[k], lon[k] = _latlon(six, 61, 89, 27, 600_000.0)
            course[k] = _angle(_field(six, 116, 12), 0.1, 3600)
            heading[k] = _angle(_field(six, 128, 9), 1.0, 360)
        elif t == 18 or t == 19:
            speed[k] = _sog(_field(six, 46, 10), SOG_TENTH, 1023)
            acc[k] = _accuracy(_field(six, 56, 1))
            lat[k], lon[k] = _latlon(six, 57, 85, 27, 600_000.0)
            course[k] = _angle(_field(six, 112, 12), 0.1, 3600)
            heading[k] = _angle(_field(six, 124, 9), 1.0, 360)
        elif t == 9:
            domain[k] = AIR
            a = _field(six, 38, 12)
            alt[k] = NAN32 if a == 4095 else np.float32(a)
            speed[k] = _sog(_field(six, 50, 10), SOG_ONE, 1023)
            acc[k] = _accuracy(_field(six, 60, 1))
            lat[k], lon[k] = _latlon(six, 61, 89, 27, 600_000.0)
            course[k] = _angle(_field(six, 116, 12), 0.1, 3600)
        elif t == 27:
            acc[k] = _accuracy(_field(six, 38, 1))
            nav[k] = _field(six, 40, 4)
            lat[k], lon[k] = _latlon(six, 44, 62, 17, 600.0)
            speed[k] = _sog(_field(six, 79, 6), SOG_ONE, 63)
            course[k] = _angle(_field(six, 85, 9), 1.0, 360)
        elif t == 4:
            acc[k] = _accuracy(_field(six, 78, 1))
            lat[k], lon[k] = _latlon(six, 79, 107, 27, 600_000.0)
        elif t == 21:
            acc[k] = _accuracy(_field(six, 163, 1))
            lat[k], lon[k] = _latlon(six, 164, 192, 27, 600_000.0)
        else:  # 5, 14, 24: identity rows
            kind[k] = IDENTITY
        k += 1
        if STATIC_TYPES[t]:
            static_rows[ks] = i
            ks += 1

    # pass 3: the byte matrix `sixbits_to_bytes` gives each static row (its memo key and
    # what its fields are read from): the characters read, zero past the payload
    sbytes = np.zeros((ks, STATIC_BYTES), np.uint8)
    for r in range(ks):
        i = static_rows[r]
        t = msg_type[i]
        if t == 4:  # its one field, the subject, is a report column
            continue
        nr = min(length[i], read[t])
        s = start[i]
        for g in range((read[t] + 3) // 4):
            v = 0
            for j in range(4 * g, 4 * g + 4):
                c = 0
                if j < nr:
                    c = DEARMOR[buf[min(max(s + j, 0), nbuf - 1)]]
                v = (v << 6) | c
            sbytes[r, 3 * g] = v >> 16
            sbytes[r, 3 * g + 1] = (v >> 8) & 255
            sbytes[r, 3 * g + 2] = v & 255
    return (status, msg_type, k, rows, kind, mmsi, lat, lon, speed, course, heading, nav, acc,
            msg, alt, domain, ks, static_rows, sbytes, w14)  # fmt: skip


def warm_up() -> None:
    """Load the compiled loop (numba's cache, or compile it) before the first batch, with the
    argument types the NMEA decoder passes (a read-only buffer, int64 columns)."""
    buf = np.frombuffer(b"13:BuN001=15mQFOjcOBG1p800SK", np.uint8)
    one = np.zeros(1, np.int64)
    decode(buf, one, one + len(buf), one)
