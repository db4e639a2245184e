"""Report batches on the bus: a fixed binary layout of the `Reports` columns.

A batch crosses a process boundary as one bytes object: a small JSON header (row count,
watermark, per-domain event times, statics, flags, the names of the sources its rows
cite) and then every column of `SCHEMA` in its canonical order and dtype, contiguous.
Decoding copies each column out of the payload (`np.frombuffer(...).copy()`: writable and
aligned), so no Python object is made per report.

The `source` column holds codes of a per-process `SourceTable` (the decoder's): the
header names each code the batch uses, and the reader renumbers them into its own table,
so an alert's evidence names the receiver or file in a worker as it does in one process.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.reports import COLUMNS, SCHEMA, SOURCES, Reports, SourceTable

MAGIC = b"PKB1"
_HEAD = struct.Struct("<4sI")  # magic, header length


class BatchError(ValueError):
    """A payload that is not a report batch of this layout (counted by the reader)."""


@dataclass
class BatchMeta:
    """What travels with a batch: where event time stands, as the decoder saw it."""

    seq: int  # the publisher's batch number (the same for every shard of one cut)
    watermark: float  # the batch's newest report time: the pipeline's `now` for it
    by_domain: dict[int, float] = field(default_factory=dict)  # newest time per domain
    eof: bool = False  # the feed ended: close what is open, as a replay's finish does
    sent: float = 0.0  # wall time the batch was published (end-to-end latency)
    # operators' commands (what, JSON text) to apply before this cut (`pipeline.commands`)
    cmds: list[tuple[str, str]] = field(default_factory=list)


def _source_names(r: Reports, sources: SourceTable) -> dict[str, str]:
    """Code -> name of every source code the rows use (a bincount, not a Python loop)."""
    if not len(r):
        return {}
    used = np.flatnonzero(np.bincount(r.source.astype(np.int64)))
    return {str(c): sources.name(c) for c in used.tolist() if c}


def _renumber(src: np.ndarray, names: dict[str, str], sources: SourceTable) -> np.ndarray:
    """The writer's source codes as this process's codes for the same names."""
    pairs = [(int(c), sources.code(str(n))) for c, n in names.items()]
    if all(a == b for a, b in pairs):
        return src  # the same table (one process, or the same order)
    top = max(max(a for a, _ in pairs), int(src.max(initial=0))) + 1
    remap = np.zeros(top, src.dtype)  # a code the header does not name: "unknown"
    for a, b in pairs:
        remap[a] = b
    return remap[src]


def encode(d: Decoded, meta: BatchMeta, sources: SourceTable = SOURCES) -> bytes:
    r = d.reports
    head = {
        "n": len(r), "seq": meta.seq, "wm": meta.watermark, "eof": meta.eof,
        "dom": {str(k): v for k, v in meta.by_domain.items()}, "sent": meta.sent,
        "st": [[s.time, s.subject, s.fields] for s in d.statics],
        "src": _source_names(r, sources),
        **({"cmd": [[w, b] for w, b in meta.cmds]} if meta.cmds else {}),
    }  # fmt: skip
    hb = json.dumps(head, separators=(",", ":"), default=_plain, allow_nan=True).encode()
    parts = [_HEAD.pack(MAGIC, len(hb)), hb]
    parts.extend(np.ascontiguousarray(r.cols[c], SCHEMA[c][0]).tobytes() for c in COLUMNS)
    return b"".join(parts)


def decode(payload: bytes, sources: SourceTable = SOURCES) -> tuple[Decoded, BatchMeta]:
    if len(payload) < _HEAD.size:
        raise BatchError("short batch")
    magic, hl = _HEAD.unpack_from(payload)
    if magic != MAGIC:
        raise BatchError("not a picket report batch")
    try:
        head = json.loads(payload[_HEAD.size : _HEAD.size + hl])
        n = int(head["n"])
    except (ValueError, KeyError, TypeError) as e:
        raise BatchError(f"bad batch header: {e}") from None
    start = _HEAD.size + hl
    need = n * sum(SCHEMA[c][0].itemsize for c in COLUMNS)
    if n < 0 or len(payload) - start != need:
        raise BatchError(f"batch of {n} rows holds {len(payload) - start} bytes, not {need}")
    cols, off = {}, start
    for c in COLUMNS:  # each column copied out on its own: writable, and aligned (a view
        dt = SCHEMA[c][0]  # at an odd offset made sin 5x and argsort 6x slower)
        cols[c] = np.frombuffer(payload, dt, n, off).copy()
        off += n * dt.itemsize
    names = head.get("src") or {}
    if names and n:
        try:
            cols["source"] = _renumber(cols["source"], dict(names), sources)
        except (ValueError, TypeError, AttributeError) as e:
            raise BatchError(f"bad source names: {e}") from None
    statics = [Static(float(t), int(s), dict(f)) for t, s, f in head.get("st", [])]
    try:
        cmds = [(str(w), str(b)) for w, b in head.get("cmd", [])]
    except (ValueError, TypeError) as e:
        raise BatchError(f"bad commands: {e}") from None
    meta = BatchMeta(int(head.get("seq", 0)), float(head.get("wm", np.nan)),
                     {int(k): float(v) for k, v in head.get("dom", {}).items()},
                     bool(head.get("eof", False)), float(head.get("sent", 0.0)),
                     cmds)  # fmt: skip
    return Decoded(Reports(cols), statics), meta


def _plain(v: Any) -> Any:
    """Static fields are small values; NumPy scalars become plain ones."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)
