"""A coarse lat/lon grid (0.05 deg) of which line segments may come near each cell.

Most reports are nowhere near a cable or pipeline, and those that are sit near
a handful of its segments. The grid answers "which segments could this point
be within `radius_m` of?" with one integer lookup per point (no geometry
objects), and only those pairs go on to the exact spherical distance. It is
conservative: it may offer a segment that turns out to be too far, never miss
one that is near.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from picket.geo.geodesy import EARTH_RADIUS_M

CELL_DEG = 0.05
N_LON = round(360 / CELL_DEG)
POLAR_LAT = 85.0  # poleward of this points are also offered every polar segment
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180
STEP_M = 4000.0  # sample spacing along each segment
BLOCK_SAMPLES = 1 << 15  # samples per block of the build (bounds its memory)

I8 = NDArray[np.int64]
F8 = NDArray[np.float64]


def cell_keys(lat: F8, lon: F8) -> I8:
    i = np.floor((lat + 90.0) / CELL_DEG).astype(np.int64)
    j = np.floor(((lon + 180.0) % 360.0) / CELL_DEG).astype(np.int64) % N_LON
    return i * N_LON + j


def _unique(a: I8) -> I8:
    """Sorted distinct values (a sort beats numpy's hashing unique here several times over)."""
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _samples(a: F8, b: F8) -> tuple[I8, F8, F8]:
    """(segment, lat, lon) of points every STEP_M or closer along each great-circle arc."""
    theta = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.einsum("ij,ij->i", a, b))
    n = np.maximum(1, np.ceil(theta * EARTH_RADIUS_M / STEP_M)).astype(np.int64)
    seg = np.repeat(np.arange(len(a)), n + 1)
    f = (np.arange(len(seg)) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)) / n[seg]
    th = theta[seg]
    small = th < 1e-12
    s = np.where(small, 1.0, np.sin(th))
    wa = np.where(small, 1.0 - f, np.sin((1 - f) * th) / s)
    wb = np.where(small, f, np.sin(f * th) / s)
    p = wa[:, None] * a[seg] + wb[:, None] * b[seg]
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    lat = np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return seg, lat, lon


def _n_steps(a: F8, b: F8) -> I8:
    """Sample intervals per arc: one every STEP_M or closer."""
    theta = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.einsum("ij,ij->i", a, b))
    return np.maximum(1, np.ceil(theta * EARTH_RADIUS_M / STEP_M)).astype(np.int64)


def _block_pairs(seg: I8, lat: F8, lon: F8, reach: float, ki: int, ns: int) -> tuple[I8, I8]:
    """(polar segments, sorted distinct cell * ns + segment values) of one block's samples."""
    # samples so far poleward that only polar points can reach them: every polar point
    # is offered their segments
    polar = np.abs(lat) >= POLAR_LAT + reach / M_PER_DEG + CELL_DEG
    polar_segs = _unique(seg[polar])
    seg, lat, lon = seg[~polar], lat[~polar], lon[~polar]
    i = np.floor((lat + 90.0) / CELL_DEG).astype(np.int64)
    j = np.floor(((lon + 180.0) % 360.0) / CELL_DEG).astype(np.int64) % N_LON
    # the most poleward latitude the reach gets to sets how many longitude cells it spans
    pole = np.minimum(np.abs(i * CELL_DEG - 90.0) + CELL_DEG * (ki + 1), 89.9)
    kj = np.ceil(reach / (CELL_DEG * M_PER_DEG * np.cos(np.radians(pole)))).astype(np.int64)
    kj = np.minimum(kj, 1023)
    packed = _unique(((i * N_LON + j) * 1024 + kj) * ns + seg)  # many samples share a cell
    seg, rest = packed % ns, packed // ns
    kj, cell = rest % 1024, rest // 1024
    i, j = cell // N_LON, cell % N_LON
    pairs = []
    for dj in range(-int(kj.max(initial=0)), int(kj.max(initial=0)) + 1):
        m = kj >= abs(dj)
        jj = (j[m] + dj) % N_LON
        for di in range(-ki, ki + 1):
            pairs.append(((i[m] + di) * N_LON + jj) * ns + seg[m])
    return polar_segs, _unique(np.concatenate(pairs)) if pairs else np.zeros(0, np.int64)


class NearGrid:
    """Segments (arcs from unit vectors `a` to `b`) that may come within `radius_m` of a cell.

    Built a block of segments at a time (about `BLOCK_SAMPLES` samples each): the grid's
    values encode (cell, segment), so blocks never share one and the table is the same as
    one pass over every segment, while the build's intermediates stay a few MB instead of
    the ~100 MB a one-pass build took over the TeleGeography cables (bench ais peak RSS).
    """

    def __init__(self, a: F8, b: F8, radius_m: float):
        self.n_seg = len(a)
        ns = max(self.n_seg, 1)
        # every point within radius of an arc is within radius + step/2 of one of its samples
        reach = radius_m + STEP_M / 2
        ki = int(np.ceil(reach / (CELL_DEG * M_PER_DEG)))
        n = _n_steps(a, b)
        ends = np.searchsorted(np.cumsum(n + 1), np.arange(BLOCK_SAMPLES, (n + 1).sum(),
                                                           BLOCK_SAMPLES), "right")  # fmt: skip
        bounds = [0, *np.unique(ends[(ends > 0) & (ends < len(a))]).tolist(), len(a)]
        polar_parts, pair_parts = [], []
        self.n_blocks = len(bounds) - 1
        for s0, s1 in itertools.pairwise(bounds):
            seg, lat, lon = _samples(a[s0:s1], b[s0:s1])
            polar, pairs = _block_pairs(seg + s0, lat, lon, reach, ki, ns)
            polar_parts.append(polar)
            pair_parts.append(pairs)
        self.polar_segs = _unique(np.concatenate(polar_parts)) if polar_parts else np.zeros(
            0, np.int64)  # fmt: skip
        # blocks share no value (each holds its own segments): one sort, in place, is enough
        pairs_u = np.concatenate(pair_parts) if pair_parts else np.zeros(0, np.int64)
        del pair_parts
        pairs_u.sort()
        self.segs = (pairs_u % ns).astype(np.int32)  # segment numbers fit; half the memory
        cells = np.floor_divide(pairs_u, ns, out=pairs_u)  # in place: no second copy
        first = np.ones(len(cells), bool)
        first[1:] = cells[1:] != cells[:-1]
        self.keys = cells[first]
        self.start = np.append(np.flatnonzero(first), len(cells))
        del cells, pairs_u, first
        # one bit per cell between the lowest and highest key (3.2 MB for the whole globe):
        # `maybe_near`, asked of every position of every batch, reads a bit instead of
        # searching ~10^6 keys; built byte by byte from the sorted keys (no bool per cell)
        self._lo = min(int(self.keys[0]), 0) if len(self.keys) else 0
        span = (int(self.keys[-1]) + 1 - self._lo) if len(self.keys) else 0
        self._bits = np.zeros(-(-span // 8), np.uint8)
        for c0 in range(0, len(self.keys), BLOCK_SAMPLES):  # in blocks: small temporaries
            k = self.keys[c0 : c0 + BLOCK_SAMPLES] - self._lo
            byte, bit = k >> 3, np.left_shift(1, k & 7).astype(np.uint8)
            runs = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            self._bits[byte[runs]] |= np.bitwise_or.reduceat(bit, runs)  # a byte may straddle
        self._span = span
        # cell keys (+-26 M) and row offsets fit in 32 bits: half the memory of the table
        if len(self.keys) and self.keys[0] > -(2**31) + 2 and self.keys[-1] < 2**31 - 2:
            self.keys = self.keys.astype(np.int32)
        if len(self.segs) < 2**31 - 1:
            self.start = self.start.astype(np.int32)

    def _cell_rows(self, lat: F8, lon: F8) -> tuple[I8, NDArray[np.bool_]]:
        k = cell_keys(lat, lon)
        if self.keys.dtype == np.int32 and len(self.keys):  # search in the keys' own type
            k = np.clip(k, int(self.keys[0]) - 1, int(self.keys[-1]) + 1).astype(np.int32)
        pos = np.minimum(np.searchsorted(self.keys, k), max(len(self.keys) - 1, 0))
        hit = (self.keys[pos] == k) if len(self.keys) else np.zeros(len(k), bool)
        return pos, hit

    def maybe_near(self, lat: F8, lon: F8) -> NDArray[np.bool_]:
        """Whether any segment may be within reach of each point."""
        k = cell_keys(lat, lon) - self._lo
        inside = (k >= 0) & (k < self._span)
        k = np.where(inside, k, 0)
        hit = inside & (self._bits.take(k >> 3) >> (k & 7).astype(np.uint8) & 1).astype(bool)
        return hit | ((np.abs(lat) >= POLAR_LAT) & (len(self.polar_segs) > 0))

    def candidates(self, lat: F8, lon: F8) -> tuple[I8, I8]:
        """(point, segment) pairs that may be within reach; polar points get every segment
        that goes near a pole plus their cell's."""
        pos, hit = self._cell_rows(lat, lon)
        p = np.flatnonzero(hit)
        lo, hi = self.start[pos[p]], self.start[pos[p] + 1]
        cnt = hi - lo
        owner = np.repeat(p, cnt)
        off = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        seg = self.segs[np.repeat(lo, cnt) + off]
        polar = np.flatnonzero(np.abs(lat) >= POLAR_LAT)
        if len(polar) and len(self.polar_segs):
            owner = np.r_[owner, np.repeat(polar, len(self.polar_segs))]
            seg = np.r_[seg, np.tile(self.polar_segs, len(polar))]
        return owner.astype(np.int64), seg.astype(np.int64)


# a cell itself and the 13 neighbours "after" it (lexicographically): each pair of cells once
_OFFSETS = np.array([(dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)
                     if (dx, dy, dz) >= (0, 0, 0)], np.int64)  # fmt: skip


def close_pairs(xyz: F8, r: float) -> I8:
    """Index pairs (i, j), i < j, of points within Euclidean distance `r` of each other.

    Points are hashed to cubes `r` wide, and each cube is compared with itself and its 13
    forward neighbours only, all offsets in one pass: as `cKDTree.query_pairs(r)` (the same
    pairs, the same squared distance test), without SciPy's import or a tree per call."""
    n = len(xyz)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    c = np.floor(xyz / r).astype(np.int64)
    c -= c.min(axis=0) - 1  # every offset cell stays non-negative
    dims = c.max(axis=0) + 2
    key = (c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2]
    order = np.argsort(key, kind="stable")
    ks, p = key[order], xyz[order]
    dk = (_OFFSETS[:, 0] * dims[1] + _OFFSETS[:, 1]) * dims[2] + _OFFSETS[:, 2]
    target = (dk[:, None] + ks[None, :]).ravel()  # offset-major: sorted runs search fast
    # each occupied cube once (vessels crowd the same cubes in a harbour): one search among
    # them gives both ends of the target cube's run of points; an empty cube has none
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    cubes, ends = ks[first], np.r_[first[1:], n]
    at = np.minimum(np.searchsorted(cubes, target), len(cubes) - 1)
    found = cubes[at] == target
    lo, hi = np.where(found, first[at], 0), np.where(found, ends[at], 0)
    lo[:n] = np.arange(1, n + 1)  # own cube (offset 0): only the points after this one
    cnt = np.maximum(hi - lo, 0)
    total = int(cnt.sum())
    if not total:
        return np.zeros((0, 2), np.int64)
    i = np.repeat(np.tile(np.arange(n), len(dk)), cnt)
    j = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt - lo, cnt)
    # per coordinate column with take: far cheaper than gathering (n, 3) rows, same numbers
    x, y, z = (np.ascontiguousarray(p[:, k]) for k in range(3))
    dx, dy, dz = x.take(i) - x.take(j), y.take(i) - y.take(j), z.take(i) - z.take(j)
    near = np.flatnonzero(dx * dx + dy * dy + dz * dz <= r * r)
    a, b = order[i[near]], order[j[near]]
    return np.column_stack([np.minimum(a, b), np.maximum(a, b)])
