"""Track snapshots on the bus: what the live picture needs of the tracks one batch changed.

One message per batch on `picket.picture`: a small JSON header (row count, event time,
per-domain clocks, reports seen, the changed subjects' statics) and then the picture
columns of the changed tracks, then the history points those tracks gained (row index,
time, lat, lon). Columns travel as contiguous NumPy bytes and come back with
`np.frombuffer`, so neither side makes an object per track.

Why the history travels too: the server answers `/api/tracks/{id}` with the track's
recent path; it keeps its own ring of points instead of reading the pipeline's.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PICTURE = "picket.picture"
MAGIC = b"PKP1"
_HEAD = struct.Struct("<4sI")
# the picture's columns as the track table holds them (serve.picture.snapshot's set)
PICTURE_COLUMNS = ("subject", "domain", "lat", "lon", "alt", "speed", "course", "heading",
                   "last_time", "pos_time", "first_time", "squawk", "emergency",
                   "nav_status", "n_reports")  # fmt: skip
_HIST = (("row", "<i4"), ("t", "<f8"), ("lat", "<f8"), ("lon", "<f8"))


class PictureError(ValueError):
    """A payload that is not a picture snapshot of this layout."""


@dataclass
class Snapshot:
    time: float
    # PICTURE_COLUMNS plus "slot" (the publisher's order) and, when the publisher gives it,
    # "gid": the track's global id (`picket.bus.global_ids`), the one to key on across
    # workers and restarts
    cols: dict[str, np.ndarray]
    hist: dict[str, np.ndarray]  # row (into cols), t, lat, lon; time-ordered per row
    now_by_domain: dict[int, float] = field(default_factory=dict)
    n_reports: int = 0
    statics: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # merged fields


def encode(s: Snapshot) -> bytes:
    n = len(s.cols["subject"])
    m = len(s.hist["row"])
    names = (*PICTURE_COLUMNS, "slot", *(("gid",) if "gid" in s.cols else ()))
    cols = [(c, np.ascontiguousarray(s.cols[c])) for c in names]
    head = {"n": n, "m": m, "t": s.time, "nr": s.n_reports,
            "dom": {str(k): v for k, v in s.now_by_domain.items()},
            "cols": [[c, a.dtype.str] for c, a in cols],
            "st": [[k, f] for k, f in s.statics]}  # fmt: skip
    hb = json.dumps(head, separators=(",", ":"), default=_plain, allow_nan=True).encode()
    parts = [_HEAD.pack(MAGIC, len(hb)), hb]
    parts.extend(a.tobytes() for _, a in cols)
    parts.extend(np.ascontiguousarray(s.hist[c], dt).tobytes() for c, dt in _HIST)
    return b"".join(parts)


def decode(payload: bytes) -> Snapshot:
    if len(payload) < _HEAD.size or _HEAD.unpack_from(payload)[0] != MAGIC:
        raise PictureError("not a picket picture snapshot")
    hl = _HEAD.unpack_from(payload)[1]
    try:
        head = json.loads(payload[_HEAD.size : _HEAD.size + hl])
        n, m = int(head["n"]), int(head["m"])
        dts = [(str(c), np.dtype(d)) for c, d in head["cols"]]
    except (ValueError, KeyError, TypeError) as e:
        raise PictureError(f"bad snapshot header: {e}") from None
    body = memoryview(payload)[_HEAD.size + hl :]
    need = n * sum(d.itemsize for _, d in dts) + m * sum(np.dtype(d).itemsize for _, d in _HIST)
    if n < 0 or m < 0 or len(body) != need:
        raise PictureError(f"snapshot of {n}+{m} rows holds {len(body)} bytes, not {need}")
    off, cols, hist = 0, {}, {}
    for c, dt in dts:
        cols[c] = np.frombuffer(body, dt, n, off)
        off += n * dt.itemsize
    for c, d in _HIST:
        hist[c] = np.frombuffer(body, d, m, off)
        off += m * np.dtype(d).itemsize
    dom = {int(k): float(v) for k, v in head.get("dom", {}).items()}
    st = [(int(k), dict(f)) for k, f in head.get("st", [])]
    return Snapshot(float(head["t"]), cols, hist, dom, int(head.get("nr", 0)), st)


class PictureTap:
    """Pipeline side: cuts each batch's snapshot from the track table (pipeline thread).

    Every slot made since the last snapshot is included even if no row of the batch
    touched it, so a reader that numbers tracks in order of arrival numbers them as the
    table's slots are numbered."""

    def __init__(self, shard: int | None = None) -> None:
        self.shard = shard  # a worker's subject shard: snapshots carry global ids
        self.n_seen = 0
        self.heads = np.zeros(0, np.int64)  # history points already sent, per slot

    def snapshot(self, ctx: Any, n_reports: int) -> bytes:
        t = ctx.tracks
        n = len(t)
        parts = [np.asarray(ctx.slots, np.int64), np.arange(self.n_seen, n, dtype=np.int64)]
        st_slots = [t.slot(s.subject) for s in ctx.statics] if ctx.statics else []
        parts.append(np.array([s for s in st_slots if s is not None], np.int64))
        changed = np.unique(np.concatenate(parts))
        self.n_seen = n
        c = t.cols
        cols = {k: c[k][changed] for k in PICTURE_COLUMNS}
        cols["slot"] = changed
        if self.shard is not None:
            from picket.bus import global_ids

            cols["gid"] = global_ids(cols["subject"], self.shard)
        if len(self.heads) < n:
            self.heads = np.concatenate([self.heads, np.zeros(n - len(self.heads), np.int64)])
        h = t.hist["t"].shape[1]
        new = c["hist_head"][changed]
        k = np.minimum(new - self.heads[changed], h)
        self.heads[changed] = new
        rows = np.repeat(np.arange(len(changed)), k)
        start = np.repeat(np.cumsum(k) - k, k)
        pos = (np.repeat(new - k, k) + np.arange(len(rows)) - start) % h
        sl = changed[rows]
        hist = {"row": rows, "t": t.hist["t"][sl, pos], "lat": t.hist["lat"][sl, pos],
                "lon": t.hist["lon"][sl, pos]}  # fmt: skip
        statics = []
        for st in ctx.statics or ():
            f = t.statics.get(st.subject)
            if f:
                statics.append((int(st.subject), f))
        world = getattr(ctx, "world", None)
        nbd = dict(world.now_by_domain) if world is not None else {}
        return encode(Snapshot(float(ctx.now), cols, hist, nbd, n_reports, statics))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
