"""Event-time ticks grow with the data, never with the span of event time (issue: one SBS
line dated 2300 made the tickers allocate a step per minute for three centuries)."""

from __future__ import annotations

import numpy as np

from picket.detect.base import Ticker

YEAR = 365.25 * 86400


def test_dense_data_gets_every_tick():
    tk = Ticker(60.0, horizon_s=900.0)
    t = np.arange(0.0, 3600.0, 5.0)
    got = tk.due(float(t.min()), 3600.0, t)
    assert np.array_equal(got, np.arange(0.0, 3601.0, 60.0))


def test_far_future_report_costs_a_few_ticks():
    tk = Ticker(60.0, horizon_s=900.0)
    t = np.r_[np.arange(1.7e9, 1.7e9 + 600, 10.0), 1.7e9 + 276 * YEAR]
    got = tk.due(float(t.min()), float(t.max()) + 120.0, t)
    # ticks within 15 min (+1 closing tick) of the data, twice over: ~26 + ~17, not 145 M
    assert 20 < len(got) < 60
    assert np.all(np.diff(got) > 0)
    assert got[-1] >= t.max()


def test_gap_skips_empty_stretch_but_keeps_the_closing_tick():
    tk = Ticker(60.0, horizon_s=300.0)
    t = np.array([0.0, 30.0, 7200.0])
    got = tk.due(0.0, 7200.0, t)
    # data at 0-30 s is seen by ticks 0..300, the first empty window's tick is 360
    assert got[:7].tolist() == [0.0, 60.0, 120.0, 180.0, 240.0, 300.0, 360.0]
    assert 420.0 not in got and 7200.0 in got


def test_ticks_are_handed_out_once_across_calls():
    tk = Ticker(60.0, horizon_s=600.0)
    a = tk.due(0.0, 1000.0, np.array([0.0, 900.0]))
    b = tk.due(1000.0, 2000.0, np.array([900.0, 1900.0]))
    assert a[-1] < b[0]
    assert np.intersect1d(a, b).size == 0


def test_without_horizon_every_tick_as_before():
    tk = Ticker(10.0)
    assert tk.due(0.0, 100.0, np.array([0.0])).tolist() == list(np.arange(0.0, 101.0, 10.0))
