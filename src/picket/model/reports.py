"""Columnar batches of reports: the one currency every stage trades in.

A report is one observation of something at one instant: an AIS position, an
ADS-B message, a radar plot, an element set. Decoders emit `Reports` batches,
fusion consumes them, detectors read them. Nothing on the hot path builds a
Python object per message; a batch is a dict of equal-length NumPy columns.

Units are SI and WGS84 throughout: seconds since the Unix epoch (UTC, event
time), degrees, metres, metres per second. Missing floats are NaN, missing
small integers are -1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

import numpy as np


class Domain(IntEnum):
    NONE = 0
    AIR = 1
    MARITIME = 2
    SPACE = 3
    EM = 4

    @property
    def label(self) -> str:
        return self.name.lower()


class Kind(IntEnum):
    """What a report carries; a decoder sets the most specific one."""

    POSITION = 1  # position (and perhaps kinematics) of an identified subject
    IDENTITY = 2  # identity/status only, no position (AIS type 5, DF5 squawk, ADS-B ident)
    VELOCITY = 3  # kinematics without position (ADS-B TC19)
    PLOT = 4  # anonymous sensor detection (radar plot), subject is -1
    STATUS = 5  # integrity/status fields only (ADS-B operational status)


# column name -> (dtype, missing value). Order is the canonical column order.
SCHEMA: dict[str, tuple[np.dtype, Any]] = {
    "time": (np.dtype("f8"), np.nan),  # s since 1970-01-01 UTC, event time
    "domain": (np.dtype("u1"), 0),  # Domain
    "kind": (np.dtype("u1"), 0),  # Kind
    "source": (np.dtype("u2"), 0),  # index into the SourceTable (receiver, station, file)
    "subject": (np.dtype("i8"), -1),  # picket.model.subjects key, -1 for anonymous plots
    "lat": (np.dtype("f8"), np.nan),  # deg WGS84
    "lon": (np.dtype("f8"), np.nan),  # deg WGS84
    "alt": (np.dtype("f4"), np.nan),  # m; barometric for aircraft unless stated
    "speed": (np.dtype("f4"), np.nan),  # m/s over ground
    "course": (np.dtype("f4"), np.nan),  # deg true, track over ground
    "heading": (np.dtype("f4"), np.nan),  # deg true, where the bow/nose points
    "vrate": (np.dtype("f4"), np.nan),  # m/s, positive up
    "nav_status": (np.dtype("i1"), -1),  # AIS navigational status 0..15
    "squawk": (np.dtype("i2"), -1),  # Mode A code written as its four octal digits, 7700
    "emergency": (np.dtype("i1"), -1),  # ADS-B emergency state 0..7 (0 none)
    "nic": (np.dtype("i1"), -1),  # ADS-B navigation integrity category
    "nacp": (np.dtype("i1"), -1),  # ADS-B navigation accuracy category, position
    "sil": (np.dtype("i1"), -1),  # ADS-B source integrity level
    "version": (np.dtype("i1"), -1),  # ADS-B version 0..2
    "accuracy": (np.dtype("f4"), np.nan),  # m, 1-sigma horizontal position error when known
    "msg": (np.dtype("u1"), 0),  # message type: AIS type, ADS-B type code, ...
    "raw": (np.dtype("i8"), -1),  # where the report came from: line number or byte offset
    # aircraft on the ground: -1 unknown, 0 airborne, 1 on the ground (surface position,
    # OpenSky `onground`, readsb `alt_baro: "ground"`); air detectors skip ground reports
    "on_ground": (np.dtype("i1"), -1),
}
COLUMNS: tuple[str, ...] = tuple(SCHEMA)


class Reports:
    """A batch of reports as NumPy columns, all of one length."""

    __slots__ = ("cols",)

    def __init__(self, cols: Mapping[str, np.ndarray]):
        self.cols: dict[str, np.ndarray] = dict(cols)

    # construction -----------------------------------------------------------------
    @classmethod
    def empty(cls, n: int = 0) -> Reports:
        return cls({c: np.full(n, miss, dtype=dt) for c, (dt, miss) in SCHEMA.items()})

    @classmethod
    def build(cls, n: int | None = None, **columns: Any) -> Reports:
        """Make a batch from some columns; the others are filled as missing.

        Scalars broadcast, so `Reports.build(time=t, domain=Domain.AIR, ...)` works.
        """
        if n is None:
            lens = [np.size(v) for v in columns.values() if np.ndim(v) > 0]
            n = lens[0] if lens else 1
        out = {}
        for c, (dt, miss) in SCHEMA.items():
            if c in columns and columns[c] is not None:
                v = np.asarray(columns[c])
                out[c] = np.broadcast_to(v, (n,)).astype(dt, copy=True)
            else:
                out[c] = np.full(n, miss, dtype=dt)
        unknown = set(columns) - set(SCHEMA)
        if unknown:
            raise KeyError(f"unknown report columns: {sorted(unknown)}")
        return cls(out)

    @classmethod
    def concat(cls, batches: Iterable[Reports]) -> Reports:
        bs = [b for b in batches if len(b)]
        if not bs:
            return cls.empty(0)
        if len(bs) == 1:
            return bs[0]
        return cls({c: np.concatenate([b.cols[c] for b in bs]) for c in COLUMNS})

    # access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.cols["time"])

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.cols[name]  # type: ignore[index]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def take(self, index: np.ndarray | slice) -> Reports:
        return Reports({c: v[index] for c, v in self.cols.items()})

    def where(self, mask: np.ndarray) -> Reports:
        return self.take(np.flatnonzero(mask))

    def sorted_by_time(self) -> Reports:
        t = self.cols["time"]
        if len(t) < 2 or bool(np.all(t[1:] >= t[:-1])):
            return self
        return self.take(np.argsort(t, kind="stable"))

    def has_position(self) -> np.ndarray:
        return np.isfinite(self.cols["lat"]) & np.isfinite(self.cols["lon"])

    def row(self, i: int) -> dict[str, Any]:
        """One report as plain Python values (for evidence, never the hot path)."""
        out: dict[str, Any] = {}
        for c, (_, miss) in SCHEMA.items():
            v = self.cols[c][i].item()
            if isinstance(v, float) and np.isnan(v):
                continue
            if not isinstance(miss, float) and v == miss and c not in ("domain", "kind"):
                continue
            out[c] = v
        return out

    def __repr__(self) -> str:
        return f"Reports(n={len(self)})"


class SourceTable:
    """Names of sources (files, receivers, stations) behind the `source` column."""

    def __init__(self) -> None:
        self.names: list[str] = ["unknown"]
        self._index: dict[str, int] = {"unknown": 0}

    def code(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            if len(self.names) >= 65535:
                return 0
            i = len(self.names)
            self.names.append(name)
            self._index[name] = i
        return i

    def name(self, code: int) -> str:
        return self.names[code] if 0 <= code < len(self.names) else "unknown"


SOURCES = SourceTable()
