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
# the picture's columns as the track table holds them: serve.picture.snapshot's set, and
# what the outputs re-send (climb rate and ADS-B quality for readsb JSON and SBS)
PICTURE_COLUMNS = ("subject", "domain", "lat", "lon", "alt", "speed", "course", "heading",
                   "last_time", "pos_time", "first_time", "squawk", "emergency",
                   "nav_status", "n_reports", "vrate", "nic", "nacp", "sil",
                   "version")  # fmt: skip
HISTORY = 64  # points a reader keeps per track (the pipeline's TrackConfig.history default)
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


def _aligned(a: np.ndarray) -> np.ndarray:
    """A read-only view where it is aligned, else a copy: NumPy's loops over a view at an
    odd offset are several times slower (sin 5x, argsort 6x)."""
    return a if a.flags.aligned else a.copy()


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
        cols[c] = _aligned(np.frombuffer(body, dt, n, off))
        off += n * dt.itemsize
    for c, d in _HIST:
        hist[c] = _aligned(np.frombuffer(body, d, m, off))
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

    def forget(self, slots: np.ndarray) -> None:
        """A slot given to a new subject has sent none of its history yet."""
        s = slots[slots < len(self.heads)]
        self.heads[s] = 0

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


class BusPicture:
    """A reader's own columns of every track, merged from bus snapshots by subject: the
    live hub's picture and the bus-edge outputs' (`picket.share.edge`).

    Row ids (the live frames' track numbers, for the server's life) are given in order of
    first arrival (a snapshot lists new tracks in the publisher's slot order); beside them
    the `gid` column holds each track's global id (the publisher's, else made from the
    subject: `serve.picture.track_gids`), the id clients key on across restarts.
    Not thread-safe: the hub calls it under its sync lock."""

    def __init__(self, history: int = HISTORY) -> None:
        self.h = history
        self.n = 0
        self.keys = np.zeros(0, np.int64)  # sorted subjects
        self.key_ids = np.zeros(0, np.int64)
        self.cols: dict[str, np.ndarray] = {}
        self.hist = {k: np.zeros((0, history)) for k in ("t", "lat", "lon")}
        self.head = np.zeros(0, np.int64)
        self.statics: dict[int, dict[str, Any]] = {}
        self.time = -np.inf
        self.now_by_domain: dict[int, float] = {}
        self.n_reports = 0
        self.seen = False
        self.changed = np.zeros(0, np.int64)  # the rows the last merged snapshot touched

    def ids_for(self, subjects: np.ndarray) -> np.ndarray:
        """Id per subject, numbering unknown ones next in the given order (vectorised)."""
        keys = self.keys
        if len(keys):
            pos = np.minimum(np.searchsorted(keys, subjects), len(keys) - 1)
            known = keys[pos] == subjects
            ids = np.where(known, self.key_ids[pos], -1)
        else:
            known, ids = np.zeros(len(subjects), bool), np.full(len(subjects), -1, np.int64)
        fresh = np.flatnonzero(~known)
        if len(fresh):
            ids[fresh] = self.n + np.arange(len(fresh))
            allk = np.concatenate([keys, subjects[fresh]])
            order = np.argsort(allk, kind="stable")
            self.keys, self.key_ids = allk[order], np.concatenate([self.key_ids, ids[fresh]])[order]
            self._grow(self.n + len(fresh))
            self.n += len(fresh)
        return ids

    def _grow(self, need: int) -> None:
        cap = len(self.head)
        if need <= cap:
            return
        cap = max(1024, cap)
        while cap < need:
            cap *= 2
        for k in self.hist:
            a = np.full((cap, self.h), np.nan)
            a[: self.n] = self.hist[k][: self.n]
            self.hist[k] = a
        self.head = np.concatenate([self.head, np.zeros(cap - len(self.head), np.int64)])
        for k, v in self.cols.items():
            a = np.zeros(cap, v.dtype)
            a[: self.n] = v[: self.n]
            self.cols[k] = a

    def merge(self, s: Snapshot) -> list[tuple[int, int, dict[str, Any]]]:
        """Apply one snapshot; returns (id, subject, fields) of the statics it carried."""
        subj = np.asarray(s.cols["subject"], np.int64)
        order = np.argsort(s.cols["slot"], kind="stable")  # new tracks in publisher order
        ids = np.empty(len(subj), np.int64)
        ids[order] = self.ids_for(subj[order])
        cap = len(self.head)
        for k in PICTURE_COLUMNS:
            v = s.cols[k]
            if k not in self.cols:
                self.cols[k] = np.zeros(cap, v.dtype)
            self.cols[k][ids] = v
        if "gid" not in self.cols:
            self.cols["gid"] = np.zeros(cap, np.int64)
        if "gid" in s.cols:
            self.cols["gid"][ids] = s.cols["gid"]
        else:
            from picket.bus import global_ids

            self.cols["gid"][ids] = global_ids(subj, 0)
        self.changed = ids
        if len(s.hist["row"]):
            hid = ids[s.hist["row"]]
            starts = np.r_[0, np.flatnonzero(hid[1:] != hid[:-1]) + 1]
            counts = np.diff(np.r_[starts, len(hid)])
            rank = np.arange(len(hid)) - np.repeat(starts, counts)
            keep = rank >= np.repeat(counts, counts) - self.h
            pos = (self.head[hid] + rank) % self.h
            for k in ("t", "lat", "lon"):
                self.hist[k][hid[keep], pos[keep]] = s.hist[k][keep]
            np.add.at(self.head, hid, 1)
        self.time = s.time
        self.now_by_domain = s.now_by_domain
        self.n_reports = s.n_reports
        self.seen = True
        out = []
        for subject, fields in s.statics:
            self.statics[subject] = fields
            tid = self.lookup(subject)
            if tid is not None:
                out.append((tid, subject, fields))
        return out

    def lookup(self, subject: int) -> int | None:
        i = int(np.searchsorted(self.keys, subject))
        return int(self.key_ids[i]) if i < len(self.keys) and self.keys[i] == subject else None

    def picture(self) -> Any:
        """Every track as a `picket.serve.picture.Picture` (copies), ids = row numbers."""
        from picket.serve.picture import Picture

        n = self.n
        if not self.cols:
            pic = Picture.empty()
            pic.time, pic.now_by_domain = self.time, dict(self.now_by_domain)
            return pic
        cols = {k: v[:n].copy() for k, v in self.cols.items()}
        cols["id"] = np.arange(n, dtype=np.int64)
        return Picture(float(self.time), cols, {}, dict(self.now_by_domain))


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
