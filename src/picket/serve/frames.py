"""The binary track frame of the live channel (layout in docs/api.md, version 2).

Why this layout: struct-of-arrays columns that NumPy writes in one copy each and the
browser views as TypedArrays without parsing; ids as a bitmap whenever that is smaller
than a list; and in deltas, positions as 16-bit steps from the position the client
already holds (the server keeps that exact integer position per view, so the steps never
drift). A 20,000-track keyframe is about 15 bytes a track, a delta about 11.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

VERSION = 2
KEYFRAME, DELTA = 1, 2
FLAG_REPLAY, FLAG_REPLAY_END = 1, 2
# version, type, flags, seq, time, n, m, n_abs (rows with absolute positions), id_bytes
HEADER = struct.Struct("<BBHIdIIII")
POS_SCALE = 1e7  # absolute positions: degrees x 1e7 in int32
REL_STEP = 10  # a relative step is 10 absolute units (1e-6 degree)
REL_MAX = 32767
FLAG_REL = 0x80  # per-track flag on the wire only: this row's position is relative
ALT_KNEE, ALT_FINE, ALT_COARSE = 20_000, 4.0, 5000.0  # 4 m steps to 80 km, then 5 km
ALT_MISSING, U16_MISSING = -32768, 65535
HELD_NONE = np.iinfo(np.int64).min  # the client holds no position for this id


@dataclass
class Placement:
    """How each row's position goes on the wire, and what the client holds afterwards."""

    rel: np.ndarray  # bool: sent as a step from the held position
    qlat: np.ndarray  # int64 degrees x 1e7 the client holds after this frame
    qlon: np.ndarray
    dlat: np.ndarray  # int64 steps (meaningful where rel)
    dlon: np.ndarray


def quantise(deg: np.ndarray) -> np.ndarray:
    d = np.asarray(deg, float)
    return np.where(np.isfinite(d), np.rint(d * POS_SCALE), 0).astype(np.int64)


def place(
    lat: np.ndarray,
    lon: np.ndarray,
    held_lat: np.ndarray | None = None,
    held_lon: np.ndarray | None = None,
) -> Placement:
    """Relative where the client holds a position and the step fits 16 bits, else absolute."""
    qlat, qlon = quantise(lat), quantise(lon)
    zero = np.zeros(len(qlat), np.int64)
    if held_lat is None or held_lon is None:
        return Placement(np.zeros(len(qlat), bool), qlat, qlon, zero, zero.copy())
    has = held_lat != HELD_NONE
    hl, hn = np.where(has, held_lat, 0), np.where(has, held_lon, 0)
    dlat = np.rint((qlat - hl) / REL_STEP).astype(np.int64)
    dlon = np.rint((qlon - hn) / REL_STEP).astype(np.int64)
    rel = has & (np.abs(dlat) <= REL_MAX) & (np.abs(dlon) <= REL_MAX)
    out_lat = np.where(rel, hl + dlat * REL_STEP, qlat)
    out_lon = np.where(rel, hn + dlon * REL_STEP, qlon)
    return Placement(rel, out_lat, out_lon, np.where(rel, dlat, 0), np.where(rel, dlon, 0))


def alt_code(alt_m: np.ndarray) -> np.ndarray:
    a = np.asarray(alt_m, float)
    with np.errstate(invalid="ignore"):
        fine = np.rint(a / ALT_FINE)
        coarse = ALT_KNEE + np.rint((a - ALT_KNEE * ALT_FINE) / ALT_COARSE)
        code = np.where(fine <= ALT_KNEE, np.maximum(fine, -ALT_KNEE), np.minimum(coarse, 32767))
    return np.where(np.isfinite(a), code, ALT_MISSING).astype("<i2")


def alt_metres(code: np.ndarray) -> np.ndarray:
    c = np.asarray(code, np.int64)
    m = np.where(c <= ALT_KNEE, c * ALT_FINE, ALT_KNEE * ALT_FINE + (c - ALT_KNEE) * ALT_COARSE)
    return np.where(c == ALT_MISSING, np.nan, m)


def _u16(v: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), np.clip(np.rint(v), 0, 65534), U16_MISSING).astype("<u2")


def encode(
    ftype: int,
    seq: int,
    time: float,
    cols: dict[str, np.ndarray],
    flags: np.ndarray,
    removed: np.ndarray | None = None,
    frame_flags: int = 0,
    placement: Placement | None = None,
) -> bytes:
    """One frame from picture columns (`id, lat, lon, alt, speed, course`); rows go out in
    id order. Without a `placement` every position is absolute (keyframes, replay)."""
    ids = np.asarray(cols["id"], np.int64)
    n = len(ids)
    p = placement or place(cols["lat"], cols["lon"])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    rel = p.rel[order]
    removed = np.zeros(0, np.uint32) if removed is None else np.asarray(removed)
    m = len(removed)
    na = int(n - rel.sum())
    id_bytes = 0
    if n and ids[0] >= 0 and ids[-1] < 1 << 32:
        bitmap_bytes = ((int(ids[-1]) >> 5) + 1) * 4
        if bitmap_bytes < 4 * n and not (np.diff(ids) == 0).any():
            id_bytes = bitmap_bytes
    body = (id_bytes or 4 * n) + 8 * na + 4 * (n - na) + 7 * n
    pad = -body % 4
    out = bytearray(HEADER.size + body + pad + 4 * m)
    HEADER.pack_into(out, 0, VERSION, ftype, frame_flags, seq & 0xFFFFFFFF,
                     time if np.isfinite(time) else 0.0, n, m, na, id_bytes)  # fmt: skip
    buf = np.frombuffer(out, np.uint8)
    o = HEADER.size

    def put(arr: np.ndarray, dtype: str) -> None:
        nonlocal o
        a = np.ascontiguousarray(arr, dtype=dtype)
        buf[o : o + a.nbytes] = a.view(np.uint8)
        o += a.nbytes

    if id_bytes:
        bits = np.zeros(id_bytes * 8, bool)
        bits[ids] = True
        put(np.packbits(bits, bitorder="little"), "u1")
    else:
        put(ids, "<u4")
    put(p.qlat[order][~rel], "<i4")
    put(p.qlon[order][~rel], "<i4")
    put(p.dlat[order][rel], "<i2")
    put(p.dlon[order][rel], "<i2")
    put(alt_code(np.asarray(cols["alt"], float)[order]), "<i2")
    put(_u16(np.asarray(cols["speed"], float)[order] * 8), "<u2")
    with np.errstate(invalid="ignore"):
        co = np.mod(np.asarray(cols["course"], float)[order], 360.0) * (65536 / 360)
    put(np.where(co >= 65535.5, 0, _u16(co)), "<u2")  # 359.997..360 wraps to 0
    put((np.asarray(flags, np.uint8)[order] & ~np.uint8(FLAG_REL)) | (rel * FLAG_REL), "u1")
    o += pad
    put(removed, "<u4")
    return bytes(out)


@dataclass
class Frame:
    ftype: int
    flags: int
    seq: int
    time: float
    cols: dict[str, np.ndarray]  # id, lat, lon (NaN where relative), alt, speed, course, flags
    removed: np.ndarray
    rel: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    dlat: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # steps, per row
    dlon: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def decode(data: bytes) -> Frame:
    """The inverse of `encode` (tests, benchmark, Python clients); ValueError if malformed.
    Relative rows need the held positions: see `ClientPicture`."""
    if len(data) < HEADER.size:
        raise ValueError(f"short frame: {len(data)} bytes")
    version, ftype, fflags, seq, t, n, m, na, id_bytes = HEADER.unpack_from(data, 0)
    if version != VERSION:
        raise ValueError(f"unknown frame version {version}")
    if na > n or id_bytes % 4:
        raise ValueError("inconsistent frame header")
    body = (id_bytes or 4 * n) + 8 * na + 4 * (n - na) + 7 * n
    want = HEADER.size + body + (-body % 4) + 4 * m
    if len(data) != want:
        raise ValueError(f"frame length {len(data)}, header says {want}")
    o = HEADER.size

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal o
        a = np.frombuffer(data, dtype, count, o)
        o += a.nbytes
        return a

    if id_bytes:
        ids = np.flatnonzero(np.unpackbits(take("u1", id_bytes), bitorder="little"))
        if len(ids) != n:
            raise ValueError(f"id bitmap holds {len(ids)} ids, header says {n}")
    else:
        ids = take("<u4", n).astype(np.int64)
    lat_a, lon_a = take("<i4", na), take("<i4", na)
    dlat_r, dlon_r = take("<i2", n - na), take("<i2", n - na)
    alt = alt_metres(take("<i2", n))
    sp_raw, co_raw = take("<u2", n), take("<u2", n)
    fl = take("u1", n)
    o += -o % 4
    removed = take("<u4", m).astype(np.int64)
    rel = (fl & FLAG_REL) != 0
    if int((~rel).sum()) != na:
        raise ValueError("relative flags disagree with the header")
    lat, lon = np.full(n, np.nan), np.full(n, np.nan)
    lat[~rel], lon[~rel] = lat_a / POS_SCALE, lon_a / POS_SCALE
    dlat, dlon = np.zeros(n, np.int64), np.zeros(n, np.int64)
    dlat[rel], dlon[rel] = dlat_r, dlon_r
    cols = {"id": ids, "lat": lat, "lon": lon, "alt": alt,
            "speed": np.where(sp_raw == U16_MISSING, np.nan, sp_raw / 8.0),
            "course": np.where(co_raw == U16_MISSING, np.nan, co_raw * (360 / 65536)),
            "flags": (fl & ~np.uint8(FLAG_REL)).astype(np.uint8)}  # fmt: skip
    return Frame(ftype, fflags, seq, t, cols, removed, rel, dlat, dlon)


class ClientPicture:
    """What one client holds, applying frames in order: the Python twin of the browser's
    TrackStore (tests, benchmark, Python clients). Positions are kept as the integers the
    wire carries, so relative steps resolve exactly."""

    def __init__(self) -> None:
        self.pos: dict[int, tuple[int, int]] = {}
        self.seq: int | None = None
        self.gaps = 0

    def apply(self, data: bytes) -> Frame:
        """Decode a frame and fill its relative rows' lat/lon from the held positions."""
        f = decode(data)
        if f.ftype == KEYFRAME:
            self.pos.clear()
        elif self.seq is not None and f.seq != (self.seq + 1) & 0xFFFFFFFF:
            self.gaps += 1
        self.seq = f.seq
        for i in f.removed.tolist():
            self.pos.pop(i, None)
        c = f.cols
        for j, i in enumerate(c["id"].tolist()):
            if f.rel[j]:
                if i not in self.pos:
                    raise ValueError(f"relative position for id {i} the client does not hold")
                la, lo = self.pos[i]
                q = (la + int(f.dlat[j]) * REL_STEP, lo + int(f.dlon[j]) * REL_STEP)
                c["lat"][j], c["lon"][j] = q[0] / POS_SCALE, q[1] / POS_SCALE
            else:
                q = (round(c["lat"][j] * POS_SCALE), round(c["lon"][j] * POS_SCALE))
            self.pos[i] = q
        return f

    def position(self, track_id: int) -> tuple[float, float] | None:
        q = self.pos.get(track_id)
        return None if q is None else (q[0] / POS_SCALE, q[1] / POS_SCALE)
