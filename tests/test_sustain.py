"""The vectorised sustained-condition bookkeeping against a row-by-row reference."""

import numpy as np
import pytest

from picket.detect.base import Sustain, group_ffill_time


def reference(batches, grace, max_gap=np.inf):
    """Plain Python: per slot, start of the current (grace-bridged) run at each row."""
    state = {}  # slot -> (t0, last_true, last report time)
    out = []
    for slots, t, cond in batches:
        res = []
        for s, ti, c in zip(slots.tolist(), t.tolist(), cond.tolist(), strict=True):
            t0, lt, prev = state.get(s, (np.nan, np.nan, np.nan))
            if not ti - prev <= max_gap:  # silence: nothing carries over
                t0, lt = np.nan, np.nan
            if c:
                lt = ti
            live = c or (np.isfinite(lt) and ti - lt <= grace)
            if live:
                if not np.isfinite(t0):
                    t0 = ti
            else:
                t0 = np.nan
            state[s] = (t0, lt, ti)
            res.append(t0)
        out.append(np.array(res))
    return out


@pytest.mark.parametrize("grace, max_gap", [(0.0, 1e9), (25.0, 1e9), (25.0, 60.0)])
def test_sustain_matches_reference(grace, max_gap):
    rng = np.random.default_rng(5)
    sus = Sustain(grace_s=grace, max_gap_s=max_gap)
    batches = []
    t_next = np.zeros(7)
    for _ in range(30):
        n = int(rng.integers(0, 40))
        slots = np.sort(rng.integers(0, 7, n))
        t = np.empty(n)
        for i, s in enumerate(slots):
            t_next[s] += rng.uniform(1, 20) if rng.random() > 0.05 else 100.0
            t[i] = t_next[s]
        cond = rng.random(n) < 0.7
        batches.append((slots, t, cond))
    ref = reference(batches, grace, max_gap)
    for (slots, t, cond), want in zip(batches, ref, strict=True):
        t0, *_ = sus.update(slots, t, np.zeros(len(t)), np.zeros(len(t)), cond)
        np.testing.assert_array_equal(t0, want)


def test_group_ffill_time_never_leaks_between_groups():
    slots = np.array([0, 0, 1, 1, 2])
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    mask = np.array([True, False, False, True, False])
    seed = np.array([np.nan, np.nan, 0.5, 0.5, np.nan])
    got = group_ffill_time(slots, t, mask, seed)
    np.testing.assert_array_equal(got, [1.0, 1.0, 0.5, 4.0, np.nan])
