"""The current picture: a columnar copy of the track table taken once per tick.

Why a copy: the pipeline thread keeps writing the `TrackTable` while the
server encodes and answers queries; a snapshot of a few columns (a couple of
milliseconds for 20,000 tracks) gives every reader one consistent instant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model import domains
from picket.model.reports import Domain
from picket.model.subjects import SHIFT, Namespace

# Per-domain facts come from the one domain table (`picket.model.domains`): seconds of
# event time after the last position before a track is drawn stale and before it leaves
# the picture, the domains' names and codes. Re-exported here for the server's readers.
STALE_S = domains.STALE_S
DROP_S = domains.DROP_S
DOMAIN_NAMES = domains.DOMAIN_NAMES
DOMAIN_CODES = domains.DOMAIN_CODES

FLAG_ALERT, FLAG_STALE, FLAG_NONCOOP, FLAG_EMERGENCY = 1, 2, 4, 8

# Identity (affiliation) in flag bits 4-5, the CoT/APP-6 letters in share/cot.py's types.
# Why these rules: picket knows no one's side. A vessel broadcasting AIS is a civil ship,
# neutral (CoT `a-n-S`); aircraft, space objects and plot tracks are unknown (`a-u-*`).
# A track becomes suspect while a detector holds an open alert on it for behaviour
# (SUSPECT_KINDS): distress (emergency squawks, drift), safety (conjunctions) and area
# alerts are not behaviour. Friend is only what an operator declares (`LiveHub.friends`).
IDENTITIES = ("unknown", "neutral", "friend", "suspect")
ID_UNKNOWN, ID_NEUTRAL, ID_FRIEND, ID_SUSPECT = range(4)
COT_AFFILIATION = {"unknown": "u", "neutral": "n", "friend": "f", "suspect": "s"}
IDENTITY_SHIFT = 4
# each domain's identity until told otherwise (vessels neutral), from the domain table
BASE_IDENTITY = {sp.domain: IDENTITIES.index(sp.base_identity) for sp in domains.SPECS}


class _SuspectKinds(Set[str]):
    """The kinds the detector registry marks as behaviour (`registry.suspect_kinds()`),
    read at first use and again after a detector registers: the registry imports every
    detector module, which importing the picture (and with it the server) must not do."""

    _seen: tuple[object, frozenset[str]] | None = None  # (the registry's table, its kinds)

    def _now(self) -> frozenset[str]:
        from picket.detect import registry

        table = registry.specs()  # the same object until a detector registers
        if self._seen is None or self._seen[0] is not table:
            self._seen = (table, registry.suspect_kinds())
        return self._seen[1]

    def __contains__(self, kind: object) -> bool:
        return kind in self._now()

    def __iter__(self) -> Iterator[str]:
        return iter(self._now())

    def __len__(self) -> int:
        return len(self._now())

    def __repr__(self) -> str:
        return f"SUSPECT_KINDS({sorted(self._now())})"


SUSPECT_KINDS: Set[str] = _SuspectKinds()


def identity_of(flags: np.ndarray | int) -> np.ndarray | int:
    """The identity code (index into IDENTITIES) carried in track flags."""
    return (flags >> IDENTITY_SHIFT) & 3


def per_domain(table: Mapping[Domain, float], domain: np.ndarray, default: float) -> np.ndarray:
    """Look a per-domain constant up for every row (vectorised)."""
    lut = np.full(256, default)
    for d, v in table.items():
        lut[int(d)] = v
    return lut[domain.astype(np.int64)]


@dataclass
class Picture:
    """Columns of every track with a position, indexed by track id (= table slot)."""

    time: float  # event time of the picture
    cols: dict[str, np.ndarray]
    labels: dict[int, str] = field(default_factory=dict)  # id -> name/callsign
    now_by_domain: dict[int, float] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Picture:
        z = np.zeros(0)
        cols = {k: z.copy() for k in ("lat", "lon", "alt", "speed", "course", "heading",
                                      "last_time", "pos_time", "first_time")}  # fmt: skip
        cols.update(subject=np.zeros(0, np.int64), domain=np.zeros(0, np.uint8),
                    squawk=np.zeros(0, np.int16), emergency=np.zeros(0, np.int8),
                    nav_status=np.zeros(0, np.int8), n_reports=np.zeros(0, np.int64),
                    id=np.zeros(0, np.int64))  # fmt: skip
        return cls(-np.inf, cols)

    def __len__(self) -> int:
        return len(self.cols["subject"])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name]

    def age(self) -> np.ndarray:
        """Seconds since each track's last position, against its own domain's clock."""
        now = np.full(len(self), self.time)
        for d, t in self.now_by_domain.items():
            now[self.cols["domain"] == d] = t
        return now - self.cols["pos_time"]

    def identity(self, suspects: np.ndarray = (), friends: np.ndarray = ()) -> np.ndarray:
        """Identity code per track (see IDENTITIES); suspect outranks friend."""
        c = self.cols
        code = per_domain(BASE_IDENTITY, c["domain"], ID_UNKNOWN).astype(np.uint8)
        if len(friends):
            code[np.isin(c["subject"], friends)] = ID_FRIEND
        if len(suspects):
            code[np.isin(c["subject"], suspects)] = ID_SUSPECT
        return code

    def flags(self, alert_subjects: np.ndarray, suspects: np.ndarray = (),
              friends: np.ndarray = ()) -> np.ndarray:  # fmt: skip
        c = self.cols
        f = self.identity(suspects, friends) << IDENTITY_SHIFT
        if len(alert_subjects):
            f[np.isin(c["subject"], alert_subjects)] |= FLAG_ALERT
        f[self.age() > per_domain(STALE_S, c["domain"], 600.0)] |= FLAG_STALE
        f[(c["subject"] >> SHIFT) == int(Namespace.TRACK)] |= FLAG_NONCOOP
        emerg = np.isin(c["squawk"], (7500, 7600, 7700)) | (c["emergency"] > 0)
        f[emerg] |= FLAG_EMERGENCY
        return f

    def alive(self) -> np.ndarray:
        """Tracks still in the picture: a position no older than their domain's drop time."""
        return np.isfinite(self.cols["lat"]) & (
            self.age() <= per_domain(DROP_S, self.cols["domain"], 3600.0)
        )


def snapshot(tracks, now: float, now_by_domain: dict[int, float] | None = None) -> Picture:
    """Copy what the picture needs from a `TrackTable` (called in the pipeline thread)."""
    n = len(tracks)
    c = tracks.cols
    cols = {k: c[k][:n].copy() for k in ("subject", "domain", "lat", "lon", "alt", "speed",
                                         "course", "heading", "last_time", "pos_time",
                                         "first_time", "squawk", "emergency", "nav_status",
                                         "n_reports")}  # fmt: skip
    cols["id"] = np.arange(n, dtype=np.int64)
    return Picture(float(now), cols, {}, dict(now_by_domain or {}))


def track_gids(pic: Picture, idx: Any = None) -> np.ndarray:
    """The global track id of the rows `idx` (all without), the one `picket.bus.global_ids`
    gives: the same for a track across restarts, servers and workers (an id of the live
    frames is only a number for the server's life). The publisher's where its snapshots
    carry them (a worker's shard is in an anonymous track's id), else made from the subject
    (an in-process pipeline is shard 0). Clients get it as a decimal string (`gid_text`):
    63 bits do not fit a JavaScript number."""
    g = pic.cols.get("gid")
    if g is not None:
        return g if idx is None else g[idx]
    from picket.bus import global_ids

    s = pic.cols["subject"]
    return global_ids(s if idx is None else s[idx], 0)


def gid_text(g: int) -> str:
    return str(int(g))


def label_of(fields: dict) -> str | None:
    """The human name of a subject from its static fields, if any."""
    for k in ("name", "callsign", "shipname", "registration"):
        v = fields.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None
