"""Where and when a feed hears things: reports per grid cell per time bucket.

A silence only means something where others were heard at the same time. The
map counts reports per coarse cell (0.25 deg of latitude by 0.5 deg of
longitude, roughly 28 x 28 km at 60 N) per time bucket, learned from the
picture itself, and forgets buckets older than `keep_s`. Counting is
vectorised per batch; only the distinct (cell, bucket) keys touch Python.
"""

from __future__ import annotations

import numpy as np

LAT_DEG, LON_DEG = 0.25, 0.5
N_LON = int(360 / LON_DEG)
N_BUCKETS = 1 << 32


def cell_of(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    i = np.floor((np.asarray(lat) + 90.0) / LAT_DEG).astype(np.int64)
    j = np.floor(((np.asarray(lon) + 180.0) % 360.0) / LON_DEG).astype(np.int64)
    return i * N_LON + j


_DI, _DJ = (a.ravel() for a in np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij"))


def neighbours(cells: np.ndarray) -> np.ndarray:
    """(n, 9) the cell and its eight neighbours (longitude wraps)."""
    i, j = np.divmod(cells, N_LON)
    return (i[:, None] + _DI) * N_LON + (j[:, None] + _DJ) % N_LON


def unique_keys(cells: np.ndarray, buckets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(cells * N_BUCKETS + buckets, return_inverse=True)` (inverse flat), without
    its sort when the batch spans few (cell, bucket) pairs: dense cell ids and a batch's few
    buckets rank the keys by one count over the span, in linear time. Keys order as
    (cell, bucket) pairs do while buckets are in [0, N_BUCKETS), so the answer is the same."""
    n = len(cells)
    if n:
        c0, b0, b1 = int(cells.min()), int(buckets.min()), int(buckets.max())
        nb = b1 - b0 + 1
        span = (int(cells.max()) - c0 + 1) * nb
        if b0 >= 0 and b1 < N_BUCKETS and span <= 4 * n + 4096:
            code = (cells - c0) * nb + (buckets - b0)
            seen = np.bincount(code, minlength=span) > 0
            rank = np.cumsum(seen) - 1
            c, b = np.divmod(np.flatnonzero(seen), nb)
            return (c + c0) * N_BUCKETS + (b + b0), rank[code]
    uk, inv = np.unique(cells * N_BUCKETS + buckets, return_inverse=True)
    return uk, inv.reshape(-1)


class ReceptionMap:
    def __init__(self, bucket_s: float = 600.0, keep_s: float = 86_400.0):
        self.bucket_s = bucket_s
        self.keep_s = keep_s
        self.counts: dict[int, int] = {}
        self._newest = -1
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray) -> None:
        ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(t)
        if not ok.any():
            return
        b = np.floor(t[ok] / self.bucket_s).astype(np.int64)
        keys, inv = unique_keys(cell_of(lat[ok], lon[ok]), b)
        n = np.bincount(inv, minlength=len(keys))
        c = self.counts
        self._sorted = None
        for k, v in zip(keys.tolist(), n.tolist(), strict=True):
            c[k] = c.get(k, 0) + v
        newest = int(b.max())
        if newest > self._newest + int(self.keep_s / self.bucket_s) // 4:
            self._newest = newest
            oldest = newest - int(self.keep_s / self.bucket_s)
            k = np.fromiter(c, np.int64, len(c))
            for old in k[k % N_BUCKETS < oldest].tolist():  # in the dict's order, as ever
                del c[old]

    def _prefix(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted keys and running totals, rebuilt only after `add`."""
        if self._sorted is None:
            keys = np.fromiter(self.counts.keys(), np.int64, len(self.counts))
            vals = np.fromiter(self.counts.values(), np.float64, len(self.counts))
            order = np.argsort(keys)
            self._sorted = (keys[order], np.cumsum(vals[order]))
        return self._sorted

    def heard(
        self, lat: np.ndarray, lon: np.ndarray, t0: np.ndarray | float, t1: np.ndarray | float
    ) -> np.ndarray:
        """Mean reports per bucket around each point (3 x 3 cells) over [t0, t1].

        Buckets older than the map keeps count as silent, so a window reaching
        further back than `keep_s` is clipped to what is known. Vectorised: a
        sum over a cell's buckets is a difference of two running totals.
        """
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        t0 = np.broadcast_to(np.asarray(t0, float), lat.shape)
        t1 = np.broadcast_to(np.asarray(t1, float), lat.shape)
        if not len(lat) or not self.counts:
            return np.zeros(len(lat))
        keep = int(self.keep_s / self.bucket_s)
        b1 = np.floor(t1 / self.bucket_s).astype(np.int64)
        b0 = np.maximum(np.floor(t0 / self.bucket_s).astype(np.int64), b1 - keep)
        b0 = np.minimum(b0, b1)
        keys, cum = self._prefix()
        nb = neighbours(cell_of(lat, lon)) * N_BUCKETS  # (n, 9)

        def upto(k: np.ndarray) -> np.ndarray:
            i = np.searchsorted(keys, k, side="right") - 1
            return np.where(i >= 0, cum[np.maximum(i, 0)], 0.0)

        total = upto(nb + b1[:, None]) - upto(nb + b0[:, None] - 1)
        return total.sum(axis=1) / (b1 - b0 + 1)


class ReliabilityMap:
    """Per H3 cell: what share of the reports its vessels should send is actually heard.

    A receiver hears the open sea around it well and a river mouth behind a headland
    poorly; a silence means something only where reports normally arrive. Global Fishing
    Watch judges an AIS gap only in areas of good reception, measured by how many positions
    per hour the area normally receives. picket measures it per vessel and cell: each pair of
    consecutive reports of one vessel adds the reports it should have sent between them
    (the time between them over its ITU-R M.1371 interval, given by the caller) and the one
    it was heard to send, to the cell where the pair began, in the bucket where it ended.
    Reliability is heard / expected over the history before a time; where a cell has heard
    too few reports, its neighbourhood answers: its H3 parent (resolution 5, ~250 km^2),
    then grandparent (resolution 4, ~1,800 km^2), counted alongside at every pair.

    Cells come from H3 (resolution 6 by default: ~36 km^2, edge ~3.7 km) looked up once
    per distinct position on a `quant_deg` grid (0.01 deg, ~1 km: a point within ~0.5 km of
    a cell edge may count for its neighbour), so a batch costs one NumPy pass and a
    dictionary lookup per distinct place.
    """

    def __init__(self, res: int = 6, bucket_s: float = 300.0, keep_s: float = 86_400.0,
                 quant_deg: float = 0.01):  # fmt: skip
        self.res = res
        self.bucket_s = bucket_s
        self.keep_s = keep_s
        self.quant_deg = quant_deg
        # cell * N_BUCKETS + bucket, sorted, with reports due and heard; batches wait in
        # `_pending` and are merged (one vectorised sort) when a question is asked
        self.keys = np.empty(0, np.int64)
        self.due = np.empty(0)
        self.got = np.empty(0)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._qkeys = np.empty(0, np.int64)  # quantised positions seen, sorted ...
        self._qids = np.empty(0, np.int64)  # ... and their cell ids
        self._ids: dict[int, int] = {}  # H3 cell (int) -> cell id, small enough for keys
        self._h3_of: list[int] = []  # cell id -> H3 cell
        self._up = np.empty(0, np.int64)  # cell id -> its parent's id (-1: none yet)
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._newest = -1
        self._pruned = -1

    def _id(self, cell: int) -> int:
        i = self._ids.get(cell)
        if i is None:
            i = self._ids[cell] = len(self._h3_of)
            self._h3_of.append(cell)
        return i

    def parents(self, ids: np.ndarray) -> np.ndarray:
        """Ids of each cell's H3 parent (one resolution coarser), -1 at resolution 0."""
        import h3

        n = len(self._h3_of)
        if len(self._up) < n:
            self._up = np.concatenate([self._up, np.full(n - len(self._up), -2, np.int64)])
        up = self._up[ids]
        miss = up == -2
        if not miss.any():  # the usual case: every parent already known
            return up
        todo = np.unique(ids[miss])
        for i in todo.tolist():
            hexid = h3.int_to_str(self._h3_of[i])
            r = h3.get_resolution(hexid)
            self._up[i] = self._id(h3.str_to_int(h3.cell_to_parent(hexid, r - 1))) if r else -1
        if len(self._up) < len(self._h3_of):  # parents are new cells too
            self._up = np.concatenate(
                [self._up, np.full(len(self._h3_of) - len(self._up), -2, np.int64)])
        return self._up[ids]

    def cells(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """Cell ids of points (dense ids of their H3 cells, so cell * N_BUCKETS + bucket fits
        an int64), through the `quant_deg` grid: known places by one searchsorted, one h3
        call per new place."""
        import h3

        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        qi = np.round((np.asarray(lat, float) + 90.0) / self.quant_deg).astype(np.int64)
        qj = np.round((np.asarray(lon, float) + 180.0) / self.quant_deg).astype(np.int64)
        q = qi * 1_000_000_000 + qj
        # a vessel's consecutive reports mostly share a place: each run of equal places is
        # looked up once, directly (no sort of the batch); new places get their ids in
        # sorted order, as they always did
        head = np.ones(len(q), bool)
        head[1:] = q[1:] != q[:-1]
        run = np.cumsum(head) - 1
        q = q[head]
        at = np.searchsorted(self._qkeys, q)
        known = at < len(self._qkeys)
        known[known] = self._qkeys[at[known]] == q[known]
        if not known.all():
            new = np.unique(q[~known])
            ids = np.array([self._id(h3.str_to_int(h3.latlng_to_cell(
                (k // 1_000_000_000) * self.quant_deg - 90.0,
                (k % 1_000_000_000) * self.quant_deg - 180.0, self.res)))
                for k in new.tolist()], np.int64)  # fmt: skip
            allk = np.concatenate([self._qkeys, new])
            o = np.argsort(allk, kind="stable")
            self._qkeys, self._qids = allk[o], np.concatenate([self._qids, ids])[o]
            at = np.searchsorted(self._qkeys, q)
        return self._qids[at][run]

    def add(self, lat: np.ndarray, lon: np.ndarray, t_end: np.ndarray,
            expected: np.ndarray) -> None:  # fmt: skip
        """Pairs of reports: where the first was, when the second came, reports due between."""
        ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(t_end) & np.isfinite(expected)
        if not ok.any():
            return
        b = np.floor(t_end[ok] / self.bucket_s).astype(np.int64)
        c0 = self.cells(lat[ok], lon[ok])
        c1 = self.parents(c0)
        c2 = self.parents(c1)
        uk, inv = unique_keys(np.concatenate([c0, c1, c2]), np.concatenate([b, b, b]))
        e = expected[ok]
        expected = np.concatenate([e, e, e])
        self._pending.append((uk, np.bincount(inv, weights=expected),
                              np.bincount(inv).astype(float)))  # fmt: skip
        self._newest = max(self._newest, int(b.max()))
        self._sorted = None
        if len(self._pending) >= 64:  # bounded memory where nobody asks
            self._prefix()

    def _prefix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sorted keys with running totals of reports due and heard (pending batches merged,
        buckets older than `keep_s` before the newest dropped)."""
        if self._pending:
            pk = np.concatenate([p[0] for p in self._pending])
            uk, inv = np.unique(pk, return_inverse=True)
            inv = inv.reshape(-1)
            pd = np.bincount(inv, weights=np.concatenate([p[1] for p in self._pending]))
            pg = np.bincount(inv, weights=np.concatenate([p[2] for p in self._pending]))
            self._pending = []
            # merge into the sorted store in linear time: add where the key is known, insert
            # the new keys at their places
            at = np.searchsorted(self.keys, uk)
            known = at < len(self.keys)
            known[known] = self.keys[at[known]] == uk[known]
            self.due[at[known]] += pd[known]
            self.got[at[known]] += pg[known]
            new = ~known
            if new.any():
                self.keys = np.insert(self.keys, at[new], uk[new])
                self.due = np.insert(self.due, at[new], pd[new])
                self.got = np.insert(self.got, at[new], pg[new])
            oldest = self._newest - int(self.keep_s / self.bucket_s)
            if self._newest > self._pruned + int(self.keep_s / self.bucket_s) // 4:
                self._pruned = self._newest  # now and then: buckets older than `keep_s` go
                live = self.keys % N_BUCKETS >= oldest
                self.keys, self.due, self.got = self.keys[live], self.due[live], self.got[live]
            self._sorted = None
        if self._sorted is None:
            self._sorted = (self.keys, np.cumsum(self.due), np.cumsum(self.got))
        return self._sorted

    def _sums(self, keys_lo: np.ndarray, keys_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reports due and heard over each key range [lo, hi] (vectorised)."""
        keys, due, got = self._prefix()
        if not len(keys):
            return np.zeros(keys_lo.shape), np.zeros(keys_lo.shape)
        hi = np.searchsorted(keys, keys_hi, side="right") - 1
        lo = np.searchsorted(keys, keys_lo, side="left") - 1

        def at(cum: np.ndarray, i: np.ndarray) -> np.ndarray:
            return np.where(i >= 0, cum[np.maximum(i, 0)], 0.0)

        return at(due, hi) - at(due, lo), at(got, hi) - at(got, lo)

    def reliability(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray,
                    min_heard: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """(heard / due, reports heard) per point over the history before `t` (whole buckets
        ended before the one holding `t`, so the answer never depends on what came after).
        The cell answers if it heard `min_heard` reports, else its parent, then grandparent;
        NaN where none did (reception unknown)."""
        lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
        t = np.broadcast_to(np.asarray(t, float), lat.shape)
        p = np.full(len(lat), np.nan)
        n = np.zeros(len(lat))
        if not len(lat) or not (len(self.keys) or self._pending):
            return p, n
        cells = self.cells(lat, lon)
        keep = int(self.keep_s / self.bucket_s)
        b1 = np.floor(t / self.bucket_s).astype(np.int64) - 1
        due, got = self._sums(cells * N_BUCKETS + b1 - keep + 1, cells * N_BUCKETS + b1)
        ok = (got >= min_heard) & (due > 0)
        p[ok], n[ok] = np.minimum(got[ok] / np.maximum(due[ok], 1e-9), 1.0), got[ok]
        for _ in (1, 2):  # thin cells: their parent, then grandparent answers (res 5, 4)
            thin = np.flatnonzero(~ok)
            if not len(thin):
                break
            cells[thin] = self.parents(cells[thin])
            due, got = self._sums(cells[thin] * N_BUCKETS + b1[thin] - keep + 1,
                                  cells[thin] * N_BUCKETS + b1[thin])  # fmt: skip
            hit = (got >= min_heard) & (due > 0)
            k = thin[hit]
            p[k], n[k] = np.minimum(got[hit] / due[hit], 1.0), got[hit]
            ok[k] = True
        return p, n
