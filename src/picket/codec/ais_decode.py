"""AIS payload decoding for a whole batch at once (ITU-R M.1371 field layouts).

Input is a flat byte buffer plus, per message, where its armoured payload
starts, how long it is and how many fill bits end it. Position reports (types
1/2/3/18/19/27, and base stations, 4) become report columns without a Python
object per message; identity messages (5, 19, 21, 24) are rare and also yield
small dicts of static fields. Large batches go through a compiled loop
(`ais_decode_kernel`, `KERNEL_MESSAGES`) that gives the NumPy form's result exactly.

A message shorter than the fields read from it is `TRUNCATED`, never padded
into invented values. Longer messages are fine (spare bits are ignored).
Sentinels for "not available" (lat 91, lon 181, SOG 1023, COG 3600, heading
511) and out-of-range values become NaN.

Position accuracy: the AIS flag only says better or worse than 10 m (95 %), so
the `accuracy` column gets a class value: 10 m for the high flag, 100 m for the
low one. It ranks fixes; it is not a measured error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from picket import numba_boot
from picket.codec.ais_armor import DEARMOR, INVALID, U8, char_matrix, field, sixbits_to_bytes
from picket.codec.ais_armor import text as _armor_text
from picket.model.reports import Domain, Kind
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text

logger = logging.getLogger(__name__)

KNOT = 1852.0 / 3600.0  # m/s per knot
ACCURACY_HIGH_M = 10.0
ACCURACY_LOW_M = 100.0

OK, TRUNCATED, UNSUPPORTED, BAD_PAYLOAD = 0, 1, 2, 3

# bits a message must carry for the fields read from it
MIN_BITS = {1: 168, 2: 168, 3: 168, 4: 168, 5: 422, 9: 168, 14: 40, 18: 168, 19: 312, 21: 272,
            27: 96}  # fmt: skip
MIN_BITS_24A, MIN_BITS_24B = 160, 162
POSITION_TYPES = (1, 2, 3, 18, 19, 27)
SUPPORTED_TYPES = (1, 2, 3, 4, 5, 9, 14, 18, 19, 21, 24, 27)
MAX_TEXT_14 = 161  # six-bit characters: a five-slot message carries 968 text bits

F8 = NDArray[np.float64]
I64 = NDArray[np.int64]
StaticRow = tuple[int, int, dict[str, Any]]  # (message index, subject key, fields)

# Identity messages repeat word for word (a vessel sends the same type 5 every six
# minutes), so their fields are built once per distinct payload and looked up after.
# Bounded: cleared when full, which costs a rebuild, never a wrong answer.
MEMO_MAX = 16_384
_MEMO: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}


def text(by: U8, start: int, nchars: int) -> list[str]:
    """Six-bit text as safe strings (`clean_text`): the AIS alphabet is printable ASCII
    today, but names, callsigns and destinations go to every sink, so one check here."""
    return [clean_text(s, nchars) for s in _armor_text(by, start, nchars)]


def _memoised(
    tag: int,
    idx: I64,
    by: U8,
    build: Callable[[U8, I64], list[tuple[int, dict[str, Any]]]],
    extra: I64 | None = None,
) -> list[StaticRow]:
    """`build(by_rows, positions) -> [(subject, fields)]`, run only for payloads (with their
    `extra` value) not seen before. Rows of one payload share the memo's fields dict, which
    nobody may change: a vessel repeats its type 5 every six minutes, and the decoder copies
    only the few it passes on as changed (`AisNmeaDecoder._new_statics`)."""
    n = len(idx)
    if n == 0:
        return []
    w = by.shape[1]
    raw = np.ascontiguousarray(by).view(np.dtype((np.void, w))).ravel().tolist()
    ex = extra.tolist() if extra is not None else [0] * n
    keys = [(tag, r, e) for r, e in zip(raw, ex, strict=True)]
    got = [_MEMO.get(k) for k in keys]
    todo: dict[tuple[Any, ...], int] = {}
    for i, g in enumerate(got):
        if g is None and keys[i] not in todo:
            todo[keys[i]] = i
    if todo:
        pos = np.fromiter(todo.values(), np.int64, len(todo))
        built = dict(zip(todo, build(by[pos], pos), strict=True))
        if len(_MEMO) + len(built) > MEMO_MAX:
            _MEMO.clear()
        _MEMO.update(built)
        got = [g if g is not None else built[k] for g, k in zip(got, keys, strict=True)]
    return [(i, s, f) for i, (s, f) in zip(idx.tolist(), got, strict=True)]  # type: ignore[misc]


@dataclass
class PayloadBatch:
    """What a batch of payloads decoded to; `rows` maps report rows back to messages."""

    status: NDArray[np.int8]  # per message: OK, TRUNCATED, UNSUPPORTED or BAD_PAYLOAD
    msg_type: NDArray[np.int16]  # per message, -1 when the payload is empty or bad
    rows: I64  # message index of each report row
    cols: dict[str, np.ndarray]  # report columns, one entry per row
    statics: list[tuple[int, int, dict[str, Any]]] = dc_field(default_factory=list)
    # (message index, subject key, fields)


# A batch of at least this many messages goes through the compiled loop (`ais_decode_kernel`),
# as a file replay's chunks do (a 1 MiB chunk holds ~9,000 messages). Fewer, as a live feed's
# few lines a read, keep the NumPy form (~1 us a message: ~2 ms at this size) and load no
# numba, whose ~110 MB of RSS and ~1 s cache load such batches would never repay.
KERNEL_MESSAGES = 2048

_BROKEN: list[str] = []  # why the compiled loop failed once: the NumPy form since


def _kernel() -> Any:
    """The compiled loop's module, or None where the NumPy form serves (`numba_boot.twin`)."""
    return numba_boot.twin("picket.codec.ais_decode_kernel", _BROKEN)


def decode_payloads(buf: U8, start: I64, length: I64, fill: I64) -> PayloadBatch:
    """Decode every payload `buf[start:start+length]` (armoured) with `fill` pad bits: the
    compiled loop for large batches, the NumPy form otherwise (the same result)."""
    if len(start) >= KERNEL_MESSAGES and len(buf) and not _BROKEN:
        try:
            kern = _kernel()
            if kern is not None:
                return decode_payloads_compiled(buf, start, length, fill, kern)
        except Exception as e:  # a broken numba install must not cost any messages
            logger.exception("AIS compiled payload loop failed: the NumPy form from now on")
            _BROKEN.append(repr(e))
    return decode_payloads_numpy(buf, start, length, fill)


def _bytes_width(bits: int) -> int:
    """Columns of the byte matrix `decode_payloads_numpy` reads `bits` of a message into."""
    chars = -(-bits // 6)
    return -(-chars // 4) * 3


def decode_payloads_compiled(
    buf: U8, start: I64, length: I64, fill: I64, kern: Any = None
) -> PayloadBatch:
    """`decode_payloads_numpy`'s result from the compiled loop: statuses, report rows and
    the static rows' payload bytes there, their identity fields here with the same builders
    (and memo); `kern` is `ais_decode_kernel` (imported here if not given)."""
    start = np.ascontiguousarray(start, np.int64)
    length = np.ascontiguousarray(length, np.int64)
    fill = np.ascontiguousarray(fill, np.int64)
    if len(start) == 0 or len(buf) == 0:
        return decode_payloads_numpy(buf, start, length, fill)
    if kern is None:
        from picket.codec import ais_decode_kernel as kern
    (status, msg_type, k, rows, kind, mmsi, lat, lon, speed, course, heading, nav, acc, msg,
     alt, domain, ks, static_rows, static_bytes, w14) = kern.decode(
        buf, start, length, fill)  # fmt: skip
    rows = rows[:k]
    subject = key(Namespace.MMSI, mmsi[:k])
    cols = {
        "kind": kind[:k], "subject": subject, "lat": lat[:k], "lon": lon[:k],
        "speed": speed[:k], "course": course[:k], "heading": heading[:k],
        "nav_status": nav[:k], "accuracy": acc[:k], "msg": msg[:k], "alt": alt[:k],
        "domain": domain[:k],
    }  # fmt: skip
    statics: list[tuple[int, int, dict[str, Any]]] = []
    if not ks:
        return PayloadBatch(status, msg_type, rows, cols, statics)
    srows = static_rows[:ks]
    stype = msg_type[srows]
    nbits = 6 * length - fill

    def of(t: int, bits: int) -> tuple[I64, U8]:
        sel = np.flatnonzero(stype == t)
        return srows[sel], static_bytes[sel, : _bytes_width(bits)]

    # the NumPy form's order: 19, 14, 4, 21, 5, 24, each in message order
    idx, by = of(19, MIN_BITS[19])
    if len(idx):
        statics += _memoised(19, idx, by, _statics_19)
    idx, by = of(14, 40 + 6 * int(w14))
    if len(idx):
        nchars = (nbits[idx] - 40) // 6
        statics += _memoised(14, idx, by, lambda b, p: _statics_14(b, nchars[p]), nchars)
    idx, _ = of(4, 0)
    if len(idx):
        subj = subject[np.searchsorted(rows, idx)].tolist()
        statics += [(i, s, {"base_station": True}) for i, s in zip(idx.tolist(), subj, strict=True)]
    idx, by = of(21, 360)
    if len(idx):
        ext = np.clip((nbits[idx] - 272) // 6, 0, 14)
        statics += _memoised(21, idx, by, lambda b, p: _statics_21(b, ext[p]), ext)
    idx, by = of(5, MIN_BITS[5])
    if len(idx):
        statics += _memoised(5, idx, by, _statics_5)
    idx, by = of(24, 168)
    if len(idx):
        statics += _memoised(24, idx, by, _statics_24)
    return PayloadBatch(status, msg_type, rows, cols, statics)


def decode_payloads_numpy(buf: U8, start: I64, length: I64, fill: I64) -> PayloadBatch:
    """Decode every payload `buf[start:start+length]` (armoured) with `fill` pad bits: the
    NumPy form, reference of the compiled loop and its fallback."""
    n = len(start)
    start = np.asarray(start, np.int64)
    length = np.asarray(length, np.int64)
    fill = np.asarray(fill, np.int64)
    status = np.full(n, OK, np.int8)
    msg_type = np.full(n, -1, np.int16)
    if n == 0:
        return PayloadBatch(status, msg_type, np.zeros(0, np.int64), _empty_cols(0))

    bad = (length <= 0) | (fill < 0) | (fill > 5) | (6 * length - fill < 38)
    first = DEARMOR[buf[np.clip(start, 0, max(len(buf) - 1, 0))]] if len(buf) else 0
    bad |= first == INVALID
    status[bad] = BAD_PAYLOAD
    good = ~bad
    msg_type[good] = first[good]
    nbits = 6 * length - fill
    supported = np.isin(msg_type, SUPPORTED_TYPES)
    status[good & ~supported] = UNSUPPORTED

    parts: list[tuple[I64, dict[str, np.ndarray]]] = []
    statics: list[tuple[int, int, dict[str, Any]]] = []

    def rows_of(types: tuple[int, ...], min_bits: int) -> I64:
        sel = good & np.isin(msg_type, types)
        short = sel & (nbits < min_bits)
        status[short] = TRUNCATED
        return np.flatnonzero(sel & ~short)

    def payload(idx: I64, bits: int) -> tuple[I64, U8]:
        """Payload bytes of the rows whose characters (those read) are all valid armour."""
        # take, not indexing: the same table lookup, 2x cheaper on a (rows, chars) matrix
        six = DEARMOR.take(char_matrix(buf, start[idx], length[idx], -(-bits // 6)))
        invalid = (six == INVALID).any(axis=1)
        if invalid.any():
            status[idx[invalid]] = BAD_PAYLOAD
            idx, six = idx[~invalid], six[~invalid]
        return idx, sixbits_to_bytes(six)

    idx = rows_of((1, 2, 3), 168)
    if len(idx):
        idx, by = payload(idx, 137)
        parts.append((idx, _class_a(by, msg_type[idx])))
    idx = rows_of((18, 19), 168)
    if len(idx):
        is19 = msg_type[idx] == 19
        short19 = is19 & (nbits[idx] < MIN_BITS[19])
        status[idx[short19]] = TRUNCATED
        idx = idx[~short19]
        idx, by = payload(idx, MIN_BITS[19] if bool(np.any(msg_type[idx] == 19)) else 133)
        parts.append((idx, _class_b(by, msg_type[idx])))
        m19 = np.flatnonzero(msg_type[idx] == 19)
        if len(m19):
            statics += _memoised(19, idx[m19], by[m19], _statics_19)
    idx = rows_of((9,), MIN_BITS[9])
    if len(idx):
        idx, by = payload(idx, 128)
        parts.append((idx, _sar_aircraft(by)))
    idx = rows_of((14,), MIN_BITS[14])
    if len(idx):
        w = int(min(MAX_TEXT_14, int((nbits[idx].max() - 40) // 6)))
        idx, by = payload(idx, 40 + 6 * w)
        parts.append((idx, _identity(by, 14)))
        nchars = (nbits[idx] - 40) // 6
        statics += _memoised(14, idx, by, lambda b, p: _statics_14(b, nchars[p]), nchars)
    idx = rows_of((27,), MIN_BITS[27])
    if len(idx):
        idx, by = payload(idx, 96)
        parts.append((idx, _long_range(by)))
    idx = rows_of((4,), MIN_BITS[4])
    if len(idx):
        idx, by = payload(idx, 138)
        parts.append((idx, _base_station(by)))
        mmsi = field(by, 8, 30)
        subjects = key(Namespace.MMSI, mmsi).tolist()
        statics += [
            (i, s, {"base_station": True}) for i, s in zip(idx.tolist(), subjects, strict=True)
        ]
    idx = rows_of((21,), MIN_BITS[21])
    if len(idx):
        idx, by = payload(idx, 360)
        parts.append((idx, _aid_to_navigation(by)))
        ext = np.clip((nbits[idx] - 272) // 6, 0, 14)
        statics += _memoised(21, idx, by, lambda b, p: _statics_21(b, ext[p]), ext)
    idx = rows_of((5,), MIN_BITS[5])
    if len(idx):
        idx, by = payload(idx, MIN_BITS[5])
        parts.append((idx, _identity(by, 5)))
        statics += _memoised(5, idx, by, _statics_5)
    idx = np.flatnonzero(good & (msg_type == 24))
    if len(idx):
        idx, by = payload(idx, 168)
        part = field(by, 38, 2)
        need = np.where(part == 0, MIN_BITS_24A, MIN_BITS_24B)
        unknown_part = part > 1
        short = ~unknown_part & (nbits[idx] < need)
        status[idx[unknown_part]] = UNSUPPORTED
        status[idx[short]] = TRUNCATED
        keep = ~unknown_part & ~short
        idx, by, part = idx[keep], by[keep], part[keep]
        if len(idx):
            parts.append((idx, _identity(by, 24)))
            statics += _memoised(24, idx, by, _statics_24)

    if not parts:
        return PayloadBatch(status, msg_type, np.zeros(0, np.int64), _empty_cols(0), statics)
    rows = np.concatenate([p[0] for p in parts])
    cols = {c: np.concatenate([p[1][c] for p in parts]) for c in parts[0][1]}
    order = np.argsort(rows, kind="stable")
    return PayloadBatch(
        status, msg_type, rows[order], {c: v[order] for c, v in cols.items()}, statics
    )


def _empty_cols(n: int) -> dict[str, np.ndarray]:
    return {
        "kind": np.zeros(n, np.uint8),
        "subject": np.full(n, -1, np.int64),
        "lat": np.full(n, np.nan),
        "lon": np.full(n, np.nan),
        "speed": np.full(n, np.nan, np.float32),
        "course": np.full(n, np.nan, np.float32),
        "heading": np.full(n, np.nan, np.float32),
        "nav_status": np.full(n, -1, np.int8),
        "accuracy": np.full(n, np.nan, np.float32),
        "msg": np.zeros(n, np.uint8),
        "alt": np.full(n, np.nan, np.float32),
        "domain": np.full(n, int(Domain.MARITIME), np.uint8),
    }


def _base(by: U8, msg: int | I64, kind: Kind) -> dict[str, np.ndarray]:
    n = by.shape[0]
    cols = _empty_cols(n)
    cols["kind"][:] = kind
    cols["subject"] = key(Namespace.MMSI, field(by, 8, 30))
    cols["msg"][:] = msg
    return cols


def _latlon(by: U8, lon_at: int, lat_at: int, bits: int, per_deg: float) -> tuple[F8, F8]:
    lon = field(by, lon_at, bits + 1, signed=True) / per_deg
    lat = field(by, lat_at, bits, signed=True) / per_deg
    lon[np.abs(lon) > 180.0] = np.nan
    lat[np.abs(lat) > 90.0] = np.nan
    return lat, lon


def _sog(raw: I64, scale: float, na: int) -> np.ndarray:
    return np.where(raw == na, np.nan, raw * (scale * KNOT)).astype(np.float32)


def _angle(raw: I64, scale: float, limit: int) -> np.ndarray:
    """Course or heading; `limit` and above (the 'not available' codes) become NaN."""
    return np.where(raw >= limit, np.nan, raw * scale).astype(np.float32)


def _accuracy(bit: I64) -> np.ndarray:
    return np.where(bit == 1, ACCURACY_HIGH_M, ACCURACY_LOW_M).astype(np.float32)


def _class_a(by: U8, msg: np.ndarray) -> dict[str, np.ndarray]:
    cols = _base(by, msg, Kind.POSITION)
    cols["nav_status"] = field(by, 38, 4).astype(np.int8)
    cols["speed"] = _sog(field(by, 50, 10), 0.1, 1023)
    cols["accuracy"] = _accuracy(field(by, 60, 1))
    cols["lat"], cols["lon"] = _latlon(by, 61, 89, 27, 600_000.0)
    cols["course"] = _angle(field(by, 116, 12), 0.1, 3600)
    cols["heading"] = _angle(field(by, 128, 9), 1.0, 360)
    return cols


def _class_b(by: U8, msg: np.ndarray) -> dict[str, np.ndarray]:
    cols = _base(by, msg, Kind.POSITION)
    cols["speed"] = _sog(field(by, 46, 10), 0.1, 1023)
    cols["accuracy"] = _accuracy(field(by, 56, 1))
    cols["lat"], cols["lon"] = _latlon(by, 57, 85, 27, 600_000.0)
    cols["course"] = _angle(field(by, 112, 12), 0.1, 3600)
    cols["heading"] = _angle(field(by, 124, 9), 1.0, 360)
    return cols


def _long_range(by: U8) -> dict[str, np.ndarray]:
    cols = _base(by, 27, Kind.POSITION)
    cols["accuracy"] = _accuracy(field(by, 38, 1))
    cols["nav_status"] = field(by, 40, 4).astype(np.int8)
    cols["lat"], cols["lon"] = _latlon(by, 44, 62, 17, 600.0)
    cols["speed"] = _sog(field(by, 79, 6), 1.0, 63)
    cols["course"] = _angle(field(by, 85, 9), 1.0, 360)
    return cols


def _sar_aircraft(by: U8) -> dict[str, np.ndarray]:
    """Type 9: a search-and-rescue aircraft (or helicopter) on AIS: an air track, altitude
    in metres from GNSS, speed over ground in whole knots."""
    cols = _base(by, 9, Kind.POSITION)
    cols["domain"][:] = Domain.AIR
    alt = field(by, 38, 12)
    cols["alt"] = np.where(alt == 4095, np.nan, alt).astype(np.float32)
    cols["speed"] = _sog(field(by, 50, 10), 1.0, 1023)
    cols["accuracy"] = _accuracy(field(by, 60, 1))
    cols["lat"], cols["lon"] = _latlon(by, 61, 89, 27, 600_000.0)
    cols["course"] = _angle(field(by, 116, 12), 0.1, 3600)
    return cols


def _statics_14(by: U8, nchars: I64) -> list[tuple[int, dict[str, Any]]]:
    """Type 14: a safety-related broadcast (free text, e.g. 'MAYDAY', 'SART ACTIVE')."""
    mmsi = key(Namespace.MMSI, field(by, 8, 30)).tolist()
    width = (by.shape[1] * 8 - 40) // 6
    txt = text(by, 40, width) if width > 0 else [""] * len(mmsi)
    return [
        (mmsi[i], {"safety_text": txt[i][: max(int(nchars[i]), 0)].strip()})
        for i in range(len(mmsi))
    ]


def _base_station(by: U8) -> dict[str, np.ndarray]:
    cols = _base(by, 4, Kind.POSITION)
    cols["accuracy"] = _accuracy(field(by, 78, 1))
    cols["lat"], cols["lon"] = _latlon(by, 79, 107, 27, 600_000.0)
    return cols


def _identity(by: U8, msg: int) -> dict[str, np.ndarray]:
    return _base(by, msg, Kind.IDENTITY)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    """Drop 'not available' values so merging statics never overwrites a known value."""
    return {k: v for k, v in d.items() if v is not None and v != ""}


def _dims(by: U8, at: int) -> list[dict[str, int | None]]:
    """Ship dimensions (bow, stern, port, starboard) per row; 0 means not available."""
    names = ("to_bow", "to_stern", "to_port", "to_starboard")
    vals = np.stack([field(by, at + o, w) for o, w in ((0, 9), (9, 9), (18, 6), (24, 6))], 1)
    return [{k: (v or None) for k, v in zip(names, row, strict=True)} for row in vals.tolist()]


def _statics_5(by: U8, _pos: I64) -> list[tuple[int, dict[str, Any]]]:
    mmsi = key(Namespace.MMSI, field(by, 8, 30)).tolist()
    imo = field(by, 40, 30).tolist()
    callsign = text(by, 70, 7)
    name = text(by, 112, 20)
    ship_type = field(by, 232, 8).tolist()
    month, day = field(by, 274, 4).tolist(), field(by, 278, 5).tolist()
    hour, minute = field(by, 283, 5).tolist(), field(by, 288, 6).tolist()
    draught = field(by, 294, 8).tolist()
    dest = text(by, 302, 20)
    dims = _dims(by, 240)
    out = []
    for i in range(len(mmsi)):
        eta = None
        if 1 <= month[i] <= 12 and 1 <= day[i] <= 31:
            eta = f"{month[i]:02d}-{day[i]:02d}"
            if hour[i] < 24 and minute[i] < 60:
                eta += f"T{hour[i]:02d}:{minute[i]:02d}"
        fields = {
            "name": name[i],
            "callsign": callsign[i],
            "imo": imo[i] or None,
            "ship_type": ship_type[i] or None,
            **dims[i],
            "destination": dest[i],
            "draught": (draught[i] / 10.0) or None,
            "eta": eta,
        }
        out.append((mmsi[i], _clean(fields)))
    return out


def _statics_19(by: U8, _pos: I64) -> list[tuple[int, dict[str, Any]]]:
    mmsi = key(Namespace.MMSI, field(by, 8, 30)).tolist()
    name = text(by, 143, 20)
    ship_type = field(by, 263, 8).tolist()
    dims = _dims(by, 271)
    return [
        (mmsi[i], _clean({"name": name[i], "ship_type": ship_type[i] or None, **dims[i]}))
        for i in range(len(mmsi))
    ]


def _statics_24(by: U8, _pos: I64) -> list[tuple[int, dict[str, Any]]]:
    raw_mmsi = field(by, 8, 30).tolist()
    mmsi = key(Namespace.MMSI, field(by, 8, 30)).tolist()
    part = field(by, 38, 2).tolist()
    name = text(by, 40, 20)
    ship_type = field(by, 40, 8).tolist()
    callsign = text(by, 90, 7)
    dims = _dims(by, 132)
    mothership = field(by, 132, 30).tolist()
    out = []
    for i in range(len(mmsi)):
        if part[i] == 0:
            fields: dict[str, Any] = {"name": name[i]}
        else:
            fields = {"ship_type": ship_type[i] or None, "callsign": callsign[i]}
            if raw_mmsi[i] // 10_000_000 == 98:  # auxiliary craft: the field is the mothership
                fields["mothership_mmsi"] = mothership[i] or None
            else:
                fields.update(dims[i])
        out.append((mmsi[i], _clean(fields)))
    return out


def _aid_to_navigation(by: U8) -> dict[str, np.ndarray]:
    cols = _base(by, 21, Kind.POSITION)
    cols["accuracy"] = _accuracy(field(by, 163, 1))
    cols["lat"], cols["lon"] = _latlon(by, 164, 192, 27, 600_000.0)
    return cols


def _statics_21(by: U8, ext_chars: I64) -> list[tuple[int, dict[str, Any]]]:
    """Type 21 identity: name (with its extension when the name field is full), aid type."""
    mmsi = key(Namespace.MMSI, field(by, 8, 30)).tolist()
    aid_type = field(by, 38, 5).tolist()
    name = text(by, 43, 20)
    full = (field(by, 157, 6) != 0).tolist()  # last character not the '@' pad: extension
    virtual = field(by, 269, 1).tolist()
    out = []
    for i in range(len(mmsi)):
        n = name[i]
        if full[i] and ext_chars[i] > 0:
            n += text(by[i : i + 1], 272, int(ext_chars[i]))[0]
        fields = {"name": n, "aid_type": aid_type[i], "virtual_aid": bool(virtual[i])}
        out.append((mmsi[i], _clean(fields)))
    return out
