"""The daily interference product (gpsjam.org's method) from decoded ADS-B.

Counted per UTC day and H3 cell: an aircraft is bad in a cell if it reported
NIC < 7 or NACp < 8 there at least once that day, else good; the live detector
(`picket.detect.gnss`) judges the same way over 15 minutes. NACp and version
arrive in other messages than positions (ADS-B operational status), so they
are carried forward per aircraft across batches, without a Python loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np

from picket.detect.gnss import InterferenceThresholds, bad_integrity, cells_of
from picket.em.cells import CellCounts
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Reports

DAY_S = 86400.0
COMPACT_ROWS = 1 << 20  # fold the (day, cell, aircraft) rows once this many pile up


def day_name(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y-%m-%d")


def _carry(
    values: np.ndarray, has: np.ndarray, gstart: np.ndarray, prior: np.ndarray
) -> np.ndarray:
    """Last known value at or before each row of its group, else the group's prior value."""
    idx = np.where(has, np.arange(len(has)), -1)
    acc = np.maximum.accumulate(idx) if len(idx) else idx
    acc = np.where(acc >= gstart, acc, -1)
    return np.where(acc >= 0, values[np.maximum(acc, 0)], prior)


class DailyProduct:
    """Accumulates `Reports` batches; `days()` and `counts(day)` give the maps."""

    def __init__(self, th: InterferenceThresholds | None = None) -> None:
        self.th = th or InterferenceThresholds()
        self.resolution = self.th.resolution
        # aircraft state: last NACp and version, sorted by subject
        self.st_sub = np.zeros(0, np.int64)
        self.st_nacp = np.zeros(0, np.int64)
        self.st_ver = np.zeros(0, np.int64)
        self.st_nic = np.zeros(0, np.int64)
        self._rows: list[np.ndarray] = []  # (k, 4) int64: day, cell, subject, bad
        self._n = 0

    def add_all(self, batches: Iterable[Decoded | Reports]) -> DailyProduct:
        for b in batches:
            self.add(b.reports if isinstance(b, Decoded) else b)
        return self

    def add(self, rep: Reports) -> None:
        keep = (rep.domain == Domain.AIR) & (rep.subject >= 0)
        if not keep.any():
            return
        r = rep.where(keep)
        o = np.lexsort((r.time, r.subject))
        sub, t = r.subject[o], r.time[o]
        nic, nacp, ver = (r[c][o].astype(np.int64) for c in ("nic", "nacp", "version"))
        has_pos = np.isfinite(r.lat[o]) & np.isfinite(r.lon[o])
        n = len(sub)
        first = np.r_[True, sub[1:] != sub[:-1]]
        gstart = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        # prior state of each row's aircraft
        j = np.searchsorted(self.st_sub, sub)
        jk = np.minimum(j, max(len(self.st_sub) - 1, 0))
        known = (j < len(self.st_sub)) & (self.st_sub[jk] == sub) if len(self.st_sub) else j < 0
        prior = {
            name: np.where(known, arr[jk], -1) if len(arr) else np.full(n, -1)
            for name, arr in (("nic", self.st_nic), ("nacp", self.st_nacp), ("ver", self.st_ver))
        }
        nic_f = _carry(nic, nic >= 0, gstart, prior["nic"])
        nacp_f = _carry(nacp, nacp >= 0, gstart, prior["nacp"])
        ver_f = _carry(ver, ver >= 0, gstart, prior["ver"])
        self._remember(sub, first, nic_f, nacp_f, ver_f)

        bad, judged = bad_integrity(nic_f, nacp_f, ver_f, self.th)
        rows = np.flatnonzero(has_pos & judged)
        if not len(rows):
            return
        # one good and one bad sample per aircraft per `sample_s`: cells are ~40 km across
        bucket = np.floor(t[rows] / self.th.sample_s).astype(np.int64)
        _, first_k = np.unique(np.c_[sub[rows], bucket, bad[rows]], axis=0, return_index=True)
        rows = rows[first_k]
        lat, lon = r.lat[o][rows], r.lon[o][rows]
        cells = cells_of(lat, lon, self.resolution).view(np.int64)
        day = np.floor(t[rows] / DAY_S).astype(np.int64)
        self._rows.append(np.c_[day, cells, sub[rows], bad[rows].astype(np.int64)])
        self._n += len(rows)
        if self._n > COMPACT_ROWS:
            self._compact()

    def _remember(self, sub, first, nic, nacp, ver) -> None:  # type: ignore[no-untyped-def]
        last = np.r_[np.flatnonzero(first)[1:] - 1, len(sub) - 1]
        s_all = np.r_[self.st_sub, sub[last]]
        cols = [np.r_[self.st_nic, nic[last]], np.r_[self.st_nacp, nacp[last]],
                np.r_[self.st_ver, ver[last]]]  # fmt: skip
        # newest wins: reverse so the batch's rows come first in np.unique's first index
        u, i = np.unique(s_all[::-1], return_index=True)
        i = len(s_all) - 1 - i
        self.st_sub = u
        self.st_nic, self.st_nacp, self.st_ver = (c[i] for c in cols)

    def _compact(self) -> np.ndarray:
        if not self._rows:
            return np.zeros((0, 4), np.int64)
        a = np.concatenate(self._rows)
        u, inv = np.unique(a[:, :3], axis=0, return_inverse=True)
        b = np.zeros(len(u), np.int64)
        np.maximum.at(b, inv.ravel(), a[:, 3])
        a = np.c_[u, b]
        self._rows, self._n = [a], len(a)
        return a

    def days(self) -> list[int]:
        """UTC days (days since the epoch) with data."""
        a = self._compact()
        return np.unique(a[:, 0]).tolist()

    def counts(self, day: int | None = None) -> CellCounts:
        """Good and bad aircraft per cell on `day` (all days pooled when None)."""
        a = self._compact()
        if day is not None:
            a = a[a[:, 0] == day]
        if not len(a):
            return CellCounts.empty()
        # an aircraft seen in one cell on several days (pooled) counts once, bad if ever bad
        u, inv = np.unique(a[:, 1:3], axis=0, return_inverse=True)
        ac_bad = np.zeros(len(u), np.int64)
        np.maximum.at(ac_bad, inv.ravel(), a[:, 3])
        cells, cinv = np.unique(u[:, 0], return_inverse=True)
        nbad = np.bincount(cinv, weights=ac_bad, minlength=len(cells)).astype(np.int64)
        ntot = np.bincount(cinv, minlength=len(cells)).astype(np.int64)
        return CellCounts(cells.view(np.uint64), ntot - nbad, nbad)
