"""The area stage keyed by H3 cell: which area partitions a report goes to, and which one
owns an alert.

Detectors that need neighbours (encounters, GNSS cells, reception for gaps and transponder
loss, harbours, loitering away from them) cannot be split by subject. They are split by
place instead: the world is cut into H3 cells of resolution `RES` (3: ~12,400 km^2, edge
~60 km, ~41,000 cells, so M partitions balance over a region as small as the Baltic's ~80
cells, while a cell stays much wider than any neighbourhood a detector looks at), and a
cell belongs to area partition `shard_of(cell, M)`.

- **Routing.** A report with a position goes to the partition owning its cell and to every
  partition owning a cell within `HALO_M` of it (the halo), so a partition sees everything
  within `HALO_M` of its own cells: both vessels of an encounter (500 m), the reception and
  reliability cells around a silent vessel's last fix (H3 resolution 4-6: < 40 km), and the
  last stretch of a vessel's track before it entered. A report without a position (an AIS
  static, a Mode S altitude reply) goes where its subject's last positioned report went in
  this feed (unknown subjects: partition 0); statics go to every partition (low volume).
- **Ownership.** An alert belongs to the partition owning the cell of its position when it
  opens (`owner_of`); alerts without a position to partition 0. Every partition runs its
  area detectors on what it sees, and passes on only the events of alerts it owns, so an
  encounter across a cell border is stored once, by the partition owning the cell of the
  alert's position (the pair's reference vessel), and a vessel's gap by the partition that
  owns its last fix: its state there is complete, since that partition saw it for its
  last `HALO_M` at least.

Positions are looked up by a 0.05-degree box (`BOX_DEG`), so H3 is called once per box
ever seen, not per report; a box's partitions are the owners of the cells under a 5 x 5
grid of probes covering the box widened by the halo, and its owner is the owner of the
cell of its centre (one of them). Every process computes the same function.
"""

from __future__ import annotations

import math

import h3
import numpy as np

from picket.bus import shard_of
from picket.model.reports import Domain

RES = 3
HALO_M = 20_000.0
BOX_DEG = 0.05
_M_PER_DEG = 111_195.0
_PROBES = 5
# not split by place: aircraft cover a 20 km halo in 80 s, and the air area detectors look
# 100 km around (transponder-loss coverage) and over whole jammed regions (GNSS cells), so
# a halo wide enough would send every aircraft to nearly every partition. Their reports go
# to partition 0 whole, and alerts of these domains ("em": GNSS cells) belong to it.
WHOLE_DOMAINS = (int(Domain.AIR),)
WHOLE_ALERT_DOMAINS = ("air", "em")


def _box_keys(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    i = np.floor((np.asarray(lat, float) + 90.0) / BOX_DEG).astype(np.int64)
    j = np.floor((np.asarray(lon, float) + 180.0) / BOX_DEG).astype(np.int64)
    j %= round(360 / BOX_DEG)
    return i * 10_000 + j


class AreaMap:
    """Box -> (partition mask, owner), cached; `parts` <= 63."""

    def __init__(self, parts: int, res: int = RES, halo_m: float = HALO_M):
        if not 1 <= parts <= 63:
            raise ValueError(f"area partitions: 1..63, not {parts}")
        self.parts, self.res, self.halo_m = parts, res, halo_m
        self._keys = np.empty(0, np.int64)  # sorted
        self._mask = np.empty(0, np.int64)
        self._owner = np.empty(0, np.int64)

    def _part(self, lat: float, lon: float) -> int:
        c = h3.str_to_int(h3.latlng_to_cell(lat, lon, self.res))
        return int(shard_of(np.array([c], np.uint64).view(np.int64), self.parts)[0])

    def _learn(self, keys: np.ndarray) -> None:
        masks, owners = [], []
        for k in keys.tolist():
            i, j = divmod(k, 10_000)
            la0, lo0 = i * BOX_DEG - 90.0, j * BOX_DEG - 180.0
            dla = self.halo_m / _M_PER_DEG
            cos = max(math.cos(math.radians(min(abs(la0), abs(la0 + BOX_DEG)))), 0.05)
            dlo = min(self.halo_m / (_M_PER_DEG * cos), 60.0)
            m = 0
            for a in np.linspace(la0 - dla, la0 + BOX_DEG + dla, _PROBES).tolist():
                a = min(max(a, -89.999), 89.999)
                for b in np.linspace(lo0 - dlo, lo0 + BOX_DEG + dlo, _PROBES).tolist():
                    m |= 1 << self._part(a, (b + 180.0) % 360.0 - 180.0)
            own = self._part(la0 + BOX_DEG / 2, lo0 + BOX_DEG / 2)
            masks.append(m | (1 << own))
            owners.append(own)
        keys = np.concatenate([self._keys, keys])
        o = np.argsort(keys, kind="stable")
        self._keys = keys[o]
        self._mask = np.concatenate([self._mask, np.array(masks, np.int64)])[o]
        self._owner = np.concatenate([self._owner, np.array(owners, np.int64)])[o]

    def _lookup(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Index into the cache of each position's box (learning the new boxes once)."""
        keys = _box_keys(lat, lon)
        i = np.searchsorted(self._keys, keys)
        hit = i < len(self._keys)
        hit[hit] = self._keys[i[hit]] == keys[hit]
        if not hit.all():
            self._learn(np.unique(keys[~hit]))
            i = np.searchsorted(self._keys, keys)
        return i

    def masks(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Bit k set: the position goes to area partition k."""
        if self.parts == 1 or not len(lat):
            return np.ones(len(lat), np.int64)
        i = self._lookup(lat, lon)  # before reading the cache: a lookup may grow it
        return self._mask[i]

    def owner_of(self, lat: float | None, lon: float | None, domain: str = "") -> int:
        """The partition that passes on an alert of `domain` opened at (lat, lon)."""
        if self.parts == 1 or domain in WHOLE_ALERT_DOMAINS or lat is None or lon is None or not (
                math.isfinite(lat) and math.isfinite(lon)):  # fmt: skip
            return 0
        i = self._lookup(np.array([lat]), np.array([lon]))
        return int(self._owner[i[0]])


class Router:
    """A feed's area routing: each report's partition mask, with each subject's last
    positioned mask kept for its reports without a position."""

    def __init__(self, amap: AreaMap):
        self.amap = amap
        self._subj = np.empty(0, np.int64)  # sorted subject keys
        self._last = np.empty(0, np.int64)  # their last mask

    def masks(self, subject: np.ndarray, lat: np.ndarray, lon: np.ndarray,
              time: np.ndarray, domain: np.ndarray) -> np.ndarray:  # fmt: skip
        out = np.zeros(len(subject), np.int64)
        whole = np.isin(domain, WHOLE_DOMAINS)
        pos = np.isfinite(lat) & np.isfinite(lon) & ~whole
        q = np.flatnonzero(~pos & ~whole)
        if len(q):  # where the subject was last sent, before and after this cut's fixes
            out[q] = self._known(subject[q])
        if pos.any():
            out[pos] = self.amap.masks(lat[pos], lon[pos])
            p = np.flatnonzero(pos)
            o = p[np.lexsort((time[p], subject[p]))]
            s = subject[o]
            last = np.r_[s[1:] != s[:-1], True]
            keys = np.concatenate([s[last], self._subj])
            vals = np.concatenate([out[o[last]], self._last])
            keys, first = np.unique(keys, return_index=True)  # this cut's mask wins
            self._subj, self._last = keys, vals[first]
            if len(q):
                out[q] |= self._known(subject[q])
        out[out == 0] = 1  # a subject never seen with a position: partition 0
        return out

    def _known(self, subject: np.ndarray) -> np.ndarray:
        if not len(self._subj):
            return np.zeros(len(subject), np.int64)
        i = np.minimum(np.searchsorted(self._subj, subject), len(self._subj) - 1)
        return np.where(self._subj[i] == subject, self._last[i], 0)
