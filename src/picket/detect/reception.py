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


def neighbours(cells: np.ndarray) -> np.ndarray:
    """(n, 9) the cell and its eight neighbours (longitude wraps)."""
    i, j = np.divmod(cells, N_LON)
    di, dj = np.meshgrid([-1, 0, 1], [-1, 0, 1], indexing="ij")
    return (i[:, None] + di.ravel()) * N_LON + (j[:, None] + dj.ravel()) % N_LON


class ReceptionMap:
    def __init__(self, bucket_s: float = 600.0, keep_s: float = 86_400.0):
        self.bucket_s = bucket_s
        self.keep_s = keep_s
        self.counts: dict[int, int] = {}
        self._newest = -1
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def _keys(self, cells: np.ndarray, buckets: np.ndarray) -> np.ndarray:
        return cells * N_BUCKETS + buckets

    def add(self, lat: np.ndarray, lon: np.ndarray, t: np.ndarray) -> None:
        ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(t)
        if not ok.any():
            return
        b = np.floor(t[ok] / self.bucket_s).astype(np.int64)
        keys, n = np.unique(self._keys(cell_of(lat[ok], lon[ok]), b), return_counts=True)
        c = self.counts
        self._sorted = None
        for k, v in zip(keys.tolist(), n.tolist(), strict=True):
            c[k] = c.get(k, 0) + v
        newest = int(b.max())
        if newest > self._newest + int(self.keep_s / self.bucket_s) // 4:
            self._newest = newest
            oldest = newest - int(self.keep_s / self.bucket_s)
            for k in [k for k in c if k % N_BUCKETS < oldest]:
                del c[k]

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
