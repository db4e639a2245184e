"""`Sustain`'s compiled loop gives what its NumPy form gives, bit for bit, batch after batch.

Five detectors (anchor drag, drift, loitering, slow transits, harbour stays) stand on
`Sustain`; a replay's batches take the compiled loop and a live feed's small ones the NumPy
form, so the two must agree on every output and on the state they leave for the next batch.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.detect import base
from picket.detect.base import Sustain

sustain_kernels = pytest.importorskip("picket.detect.sustain_kernels")

STATE = ("t0", "lat0", "lon0", "last_true", "last_t")


def _batches(rng: np.random.Generator, n_batches: int, n_slots: int, rows: int):
    """Batches sorted by (slot, time), times running on across batches per slot, with
    silences longer than the usual 30 min gap limit, half-millisecond times (the rounding
    edge) and runs of the condition with short and long lapses."""
    clock = rng.uniform(1.6e9, 1.6e9 + 1000, n_slots)
    for _ in range(n_batches):
        slots = np.sort(rng.integers(0, n_slots, rows))
        step = rng.choice([0.0, 0.0005, 1.0, 30.0, 400.0, 700.0, 2500.0], rows,
                          p=[0.05, 0.05, 0.3, 0.3, 0.15, 0.1, 0.05])  # fmt: skip
        t = np.empty(rows)
        for s in np.unique(slots):
            i = np.flatnonzero(slots == s)
            t[i] = clock[s] + np.cumsum(step[i])
            clock[s] = t[i][-1]
        t[rng.random(rows) < 0.05] += 0.0005  # exact half milliseconds
        for s in np.unique(slots):  # keep each slot's rows in time order
            i = np.flatnonzero(slots == s)
            t[i] = np.maximum.accumulate(t[i])
        lat = rng.uniform(-80, 80, rows)
        lon = rng.uniform(-180, 180, rows)
        cond = rng.random(rows) < rng.uniform(0.1, 0.95)
        yield slots, t, lat, lon, cond


def _same(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(a, b)  # NaN where NaN, every other value equal
    assert a.dtype == b.dtype


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("grace_s,max_gap_s", [(0.0, 1800.0), (600.0, 1800.0), (300.0, 3600.0)])
def test_compiled_loop_matches_the_numpy_form(seed: int, grace_s: float, max_gap_s: float):
    rng = np.random.default_rng(seed)
    ref, fast = Sustain(grace_s, max_gap_s), Sustain(grace_s, max_gap_s)
    for slots, t, lat, lon, cond in _batches(rng, 12, 40, 300):
        ref._grow(int(slots.max()) + 1)
        fast._grow(int(slots.max()) + 1)
        want = ref._update_numpy(slots, t, lat, lon, cond)
        got = sustain_kernels.sustain(
            slots, t, lat, lon, cond, grace_s, max_gap_s,
            fast.last_t, fast.t0, fast.lat0, fast.lon0, fast.last_true,
        )  # fmt: skip
        for w, g in zip(want, got, strict=True):
            _same(w, g)
        for name in STATE:
            _same(getattr(ref, name), getattr(fast, name))
        if rng.random() < 0.3:  # a forgotten slot and a reset run, as detectors do
            gone = rng.integers(0, 40, 3)
            for s in (ref, fast):
                s.forget(gone)
                s.reset(gone[:1])


def test_update_takes_the_compiled_loop_for_large_batches(monkeypatch):
    """Through `update` itself: a small batch keeps the NumPy form until a large one has
    loaded the loop, which then serves every batch; all leave the state NumPy leaves."""
    monkeypatch.setattr(base, "_SUSTAIN_LOADED", [])
    calls = []
    real = sustain_kernels.sustain

    def spy(*a):
        calls.append(len(a[0]))
        return real(*a)

    monkeypatch.setattr(sustain_kernels, "sustain", spy)
    rng = np.random.default_rng(7)
    big = base.SUSTAIN_KERNEL_ROWS
    ref, fast = Sustain(600.0), Sustain(600.0)
    for rows in (10, big, 12):
        slots, t, lat, lon, cond = next(_batches(rng, 1, 500, rows))
        ref._grow(int(slots.max()) + 1)
        want = ref._update_numpy(slots, t, lat, lon, cond)
        got = fast.update(slots, t, lat, lon, cond)
        for w, g in zip(want, got, strict=True):
            _same(w, g)
    assert calls == [big, 12]
    for name in STATE:
        _same(getattr(ref, name), getattr(fast, name))
