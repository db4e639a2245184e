"""Checkpoints: the pipeline's state (fusion, plot tracker, detectors, alert book) as bytes.

Why: detectors keep state for hours (sustained conditions, loitering windows, encounter
timers, GNSS cells), so a restart that started empty would open a second alert for a
condition that never ended, or leave the first open forever. `picket run` saves this state
with the store at batch boundaries and restores it on start (docs/restart.md).

Why not pickle: the store is a file a user can copy or edit, and unpickling runs whatever
the file names. Here the structure is JSON and the arrays an `.npz` (loaded with
`allow_pickle=False`); the only objects rebuilt are instances of picket's own classes,
made with `__new__` and given their attributes back (no constructor, no other callable).
"""

from __future__ import annotations

import enum
import importlib
import io
import json
import zipfile
from collections import Counter, deque
from types import SimpleNamespace
from typing import Any

import numpy as np

FORMAT = 1
ALLOWED = ("picket.",)  # modules whose classes may be rebuilt from a checkpoint


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit this code."""


def _cls_name(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}:{t.__qualname__}"


def _find_class(name: str) -> type:
    mod, _, qual = name.partition(":")
    if not mod.startswith(ALLOWED):
        raise CheckpointError(f"class {name} is not picket's")
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise CheckpointError(f"{name} is not a class")
    return obj


def _attrs(obj: Any) -> dict[str, Any]:
    out = dict(getattr(obj, "__dict__", {}))
    for klass in type(obj).__mro__:
        for s in getattr(klass, "__slots__", ()):
            if s not in ("__dict__", "__weakref__") and hasattr(obj, s):
                out[s] = getattr(obj, s)
    return out


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.memo: dict[int, int] = {}
        self.keep: list[Any] = []  # memoised objects stay alive while ids are compared

    def enc(self, v: Any) -> Any:
        if v is None or isinstance(v, bool | int | str):
            return v
        if isinstance(v, float):
            return v
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                return {"~ao": [self.enc(x) for x in v.ravel().tolist()], "shape": list(v.shape)}
            self.arrays.append(np.ascontiguousarray(v))
            return {"~a": len(self.arrays) - 1}
        if isinstance(v, np.generic):
            return {"~s": v.dtype.str, "v": v.item()}
        if isinstance(v, enum.Enum):
            return {"~e": _cls_name(v), "v": self.enc(v.value)}
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            return {"~t": [self.enc(x) for x in v]}
        if isinstance(v, set | frozenset):
            return {"~set": [self.enc(x) for x in v], "frozen": isinstance(v, frozenset)}
        if isinstance(v, deque):
            return {"~dq": [self.enc(x) for x in v], "maxlen": v.maxlen}
        if type(v) is Counter:
            return {"~ctr": [[self.enc(k), self.enc(x)] for k, x in v.items()]}
        if type(v) is list:
            return [self.enc(x) for x in v]
        if type(v) is dict:
            return {"~d": [[self.enc(k), self.enc(x)] for k, x in v.items()]}
        if type(v) is SimpleNamespace:
            return {"~ns": {k: self.enc(x) for k, x in vars(v).items()}}
        if type(v).__module__.startswith(ALLOWED):
            i = self.memo.get(id(v))
            if i is not None:
                return {"~ref": i}
            i = self.memo[id(v)] = len(self.memo)
            self.keep.append(v)
            if hasattr(v, "_fields"):  # a NamedTuple
                return {"~nt": _cls_name(v), "id": i, "v": [self.enc(x) for x in v]}
            return {"~o": _cls_name(v), "id": i,
                    "s": {k: self.enc(x) for k, x in _attrs(v).items()}}  # fmt: skip
        raise CheckpointError(f"cannot checkpoint a {type(v).__module__}.{type(v).__qualname__}")


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.memo: dict[int, Any] = {}

    def dec(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self.dec(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "~a" in v:
            return self.arrays[f"a{int(v['~a'])}"]
        if "~ao" in v:
            a = np.empty(len(v["~ao"]), object)
            a[:] = [self.dec(x) for x in v["~ao"]]
            return a.reshape(v["shape"])
        if "~s" in v:
            return np.dtype(v["~s"]).type(v["v"])
        if "~e" in v:
            return _find_class(v["~e"])(self.dec(v["v"]))
        if "~t" in v:
            return tuple(self.dec(x) for x in v["~t"])
        if "~set" in v:
            s = {self.dec(x) for x in v["~set"]}
            return frozenset(s) if v.get("frozen") else s
        if "~dq" in v:
            return deque((self.dec(x) for x in v["~dq"]), maxlen=v["maxlen"])
        if "~ctr" in v:
            return Counter({self.dec(k): self.dec(x) for k, x in v["~ctr"]})
        if "~d" in v:
            return {self.dec(k): self.dec(x) for k, x in v["~d"]}
        if "~ns" in v:
            return SimpleNamespace(**{k: self.dec(x) for k, x in v["~ns"].items()})
        if "~ref" in v:
            return self.memo[int(v["~ref"])]
        if "~nt" in v:
            cls = _find_class(v["~nt"])
            obj = cls(*[self.dec(x) for x in v["v"]])  # a NamedTuple's fields only
            self.memo[int(v["id"])] = obj
            return obj
        if "~o" in v:
            cls = _find_class(v["~o"])
            obj = cls.__new__(cls)
            self.memo[int(v["id"])] = obj
            for k, x in v["s"].items():
                object.__setattr__(obj, k, self.dec(x))
            return obj
        raise CheckpointError(f"unknown checkpoint tag {sorted(v)[:3]}")


def dumps(state: Any, parts: dict[str, Any] | None = None,
          compress: bool = True) -> tuple[bytes, list[str]]:  # fmt: skip
    """`state` (plain data, NumPy arrays and picket objects) as one compact blob, with
    `parts` under `state["parts"]`: a part that cannot be encoded is left out (returned by
    name) so one component holding something foreign costs its own restart state only.
    `compress=False` for a store that compresses what it keeps (`checkpoint_compressed`)."""
    e = _Encoder()
    doc_state = e.enc(state)
    failed: list[str] = []
    enc_parts: dict[str, Any] = {}
    if parts is not None:
        for name, part in parts.items():
            n_arrays, memo = len(e.arrays), dict(e.memo)
            try:
                enc_parts[name] = e.enc(part)
            except CheckpointError:
                del e.arrays[n_arrays:]
                e.memo = memo
                failed.append(name)
    doc = json.dumps({"format": FORMAT, "state": doc_state,
                      **({"parts": enc_parts} if parts is not None else {})},
                     separators=(",", ":"))  # fmt: skip
    buf = io.BytesIO()
    arrays = {f"a{i}": a for i, a in enumerate(e.arrays)}
    _savez_fast(buf, compress, __json__=np.frombuffer(doc.encode(), np.uint8), **arrays)
    return buf.getvalue(), failed


def _savez_fast(buf: io.BytesIO, compress: bool = True, **arrays: np.ndarray) -> None:
    """`np.savez_compressed` at deflate level 1, or `np.savez` (`compress=False`). A
    worker checkpoints its whole state often (`picket.bus.stages`): on the demo's hour,
    deflate at level 6 took 0.40 s for 5.5 MB, level 1 0.17 s for 5.7 MB, and none
    0.02 s for 11.9 MB, which PostgreSQL's lz4 compresses to about the same size for
    0.015 s of the server's CPU. `np.load` reads each."""
    how = (zipfile.ZIP_DEFLATED, 1) if compress else (zipfile.ZIP_STORED, None)
    with zipfile.ZipFile(buf, "w", how[0], compresslevel=how[1]) as z:
        for name, a in arrays.items():
            with z.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(a), allow_pickle=False)


def loads(blob: bytes) -> Any:
    """The state `dumps` wrote (its parts, if any, under `state["parts"]`); CheckpointError
    for anything else."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        doc = json.loads(arrays.pop("__json__").tobytes().decode())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"unreadable checkpoint: {e}") from None
    if doc.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint format {doc.get('format')}, this picket reads {FORMAT}")
    try:
        d = _Decoder(arrays)
        state = d.dec(doc["state"])
        if "parts" in doc:
            state["parts"] = {k: d.dec(v) for k, v in doc["parts"].items()}
        return state
    except (AttributeError, ImportError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint does not fit this picket: {e}") from None


# Configuration, not state: what the config built stays as built on a restart (a changed
# threshold takes effect), and things a component only borrows are not its state.
SKIP = frozenset({"th", "config", "fix_th", "rejects", "max_speed", "motion", "quiet_close_s",
                  "min_update_s", "keep_assignments", "batch"})  # fmt: skip


def state_of(obj: Any) -> dict[str, Any]:
    """A component's own state: its attributes less configuration (`SKIP`)."""
    return {k: v for k, v in _attrs(obj).items() if k not in SKIP}


def restore_into(obj: Any, state: dict[str, Any]) -> None:
    """Put `state_of` back into a freshly built component. A state that lacks an attribute
    the component starts with (the code changed) is refused, so nothing half-fits; it may
    hold more (attributes a component sets as it runs)."""
    missing = set(state_of(obj)) - set(state)
    if missing:
        raise CheckpointError(f"{type(obj).__qualname__}: the checkpoint lacks "
                              f"{sorted(missing)}")  # fmt: skip
    for k, v in state.items():
        object.__setattr__(obj, k, v)
