"""Rewritten hot paths (issue #18) against simple slow references: same answers exactly."""

from __future__ import annotations

import h3
import numpy as np

from picket.detect.reception import ReliabilityMap


def _slow_cell(m: ReliabilityMap, la: float, lo: float) -> int:
    """The H3 cell of the point's `quant_deg` grid place, one h3 call per point."""
    qi = round((la + 90.0) / m.quant_deg)
    qj = round((lo + 180.0) / m.quant_deg)
    return h3.str_to_int(h3.latlng_to_cell(qi * m.quant_deg - 90.0, qj * m.quant_deg - 180.0,
                                           m.res))  # fmt: skip


def _parent(cell: int) -> int:
    s = h3.int_to_str(cell)
    return h3.str_to_int(h3.cell_to_parent(s, h3.get_resolution(s) - 1))


def _batches(rng: np.random.Generator, n_batches: int = 40):
    """Points clustered on a few places (most batches revisit known places), moving time."""
    centres = rng.uniform([54.0, 8.0], [58.0, 15.0], size=(12, 2))
    t = 1.6e9
    for _ in range(n_batches):
        n = int(rng.integers(1, 300))
        c = centres[rng.integers(0, len(centres), n)]
        lat = c[:, 0] + rng.normal(0, 0.05, n)
        lon = c[:, 1] + rng.normal(0, 0.08, n)
        t += float(rng.uniform(0, 4000))
        te = t + rng.uniform(0, 900, n)
        due = rng.integers(1, 6, n).astype(float)  # whole numbers: sums exact in any order
        yield lat, lon, te, due


def test_cells_equal_one_h3_call_per_point():
    rng = np.random.default_rng(7)
    m = ReliabilityMap()
    for lat, lon, _, _ in _batches(rng):
        ids = m.cells(lat, lon)
        got = [m._h3_of[i] for i in ids.tolist()]
        want = [_slow_cell(m, a, b) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)]
        assert got == want
    # dense ids: one per distinct cell, the sorted place store has no duplicates
    assert len(set(m._h3_of)) == len(m._h3_of)
    assert np.all(np.diff(m._qkeys) > 0)


def test_reliability_equals_a_dictionary_of_cells_and_buckets():
    rng = np.random.default_rng(11)
    m = ReliabilityMap(keep_s=3 * 86_400.0)  # longer than the run: nothing pruned
    table: dict[tuple[int, int], list[float]] = {}
    keep = int(m.keep_s / m.bucket_s)
    for k, (lat, lon, te, due) in enumerate(_batches(rng, 60)):
        m.add(lat, lon, te, due)
        for a, b, t, d in zip(lat.tolist(), lon.tolist(), te.tolist(), due.tolist(),
                              strict=True):  # fmt: skip
            c = _slow_cell(m, a, b)
            bk = int(np.floor(t / m.bucket_s))
            for cell in (c, _parent(c), _parent(_parent(c))):
                e = table.setdefault((cell, bk), [0.0, 0.0])
                e[0] += d
                e[1] += 1.0
        if k % 3:
            continue  # questions now and then: pending batches merge several at a time
        qlat, qlon = lat[:50], lon[:50]
        qt = te[:50] + rng.uniform(-3000, 3000, len(qlat))
        p, n = m.reliability(qlat, qlon, qt, min_heard=20.0)
        for j, (a, b, t) in enumerate(zip(qlat.tolist(), qlon.tolist(), qt.tolist(),
                                          strict=True)):  # fmt: skip
            b1 = int(np.floor(t / m.bucket_s)) - 1
            cell = _slow_cell(m, a, b)
            want_p, want_n = np.nan, 0.0
            for _ in range(3):
                rows = [table.get((cell, bk), [0.0, 0.0]) for bk in range(b1 - keep + 1, b1 + 1)]
                d = sum(r[0] for r in rows)
                g = sum(r[1] for r in rows)
                if g >= 20.0 and d > 0:
                    want_p, want_n = min(g / d, 1.0), g
                    break
                cell = _parent(cell)
            if np.isnan(want_p):
                assert np.isnan(p[j]) and n[j] == 0.0
            else:
                assert p[j] == want_p and n[j] == want_n
