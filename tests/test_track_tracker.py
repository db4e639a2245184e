"""Tracker behaviour: initiation (M-of-N), coasting, deletion, many targets, geodetic I/O."""

from __future__ import annotations

import numpy as np
import pytest

from picket.geo.geodesy import destination, haversine_m
from picket.metrics import ospa
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, namespace, number
from picket.track import CartesianTracker, PlotTracker, SensorModel, TrackerConfig
from picket.track.core import COASTING, CONFIRMED

CFG = dict(process_noise=0.1, measurement_sigma=2.0, initial_velocity_sigma=20.0)


def _line(k):
    return np.array([[10.0 * k, 5.0 * k]])


def _r(z, s=2.0):
    return np.full(z.shape, s * s)


def test_confirmation_needs_m_of_n():
    tr = CartesianTracker(TrackerConfig(confirm=(3, 3), **CFG))
    for k in range(2):
        tr.step(float(k), _line(k), _r(_line(k)))
        assert len(tr.confirmed().ids) == 0
    tr.step(2.0, _line(2), _r(_line(2)))
    out = tr.confirmed()
    assert out.ids.tolist() == [1] and out.status.tolist() == [CONFIRMED]
    np.testing.assert_allclose(out.state.vel[0], [10, 5], atol=3)


def test_a_miss_during_initiation():
    empty = np.zeros((0, 2))
    strict = CartesianTracker(TrackerConfig(confirm=(3, 3), **CFG))
    loose = CartesianTracker(TrackerConfig(confirm=(3, 4), **CFG))
    for tr in (strict, loose):
        for k in range(4):
            z = empty if k == 1 else _line(k)
            tr.step(float(k), z, _r(z))
    assert len(strict.confirmed().ids) == 0  # 3/3 broken by the miss: dropped, restarted
    assert len(strict) == 1 and strict.ids[0] > 1
    assert loose.confirmed().ids.tolist() == [1]  # 3 hits within 4 scans


def test_coasting_then_deletion_after_k_misses():
    tr = CartesianTracker(TrackerConfig(confirm=(2, 2), delete_after=3, **CFG))
    for k in range(5):
        tr.step(float(k), _line(k), _r(_line(k)))
    empty = np.zeros((0, 2))
    tr.step(5.0, empty, empty)
    tr.step(6.0, empty, empty)
    out = tr.confirmed()
    assert out.status.tolist() == [COASTING]
    np.testing.assert_allclose(out.state.pos[0], [60, 30], atol=2)  # predicted on
    tr.step(7.0, empty, empty)
    assert len(tr) == 0


def test_coasting_track_reacquired():
    tr = CartesianTracker(TrackerConfig(confirm=(2, 2), delete_after=3, **CFG))
    for k in range(8):
        z = np.zeros((0, 2)) if k in (4, 5) else _line(k)
        tr.step(float(k), z, _r(z))
    out = tr.confirmed()
    assert out.ids.tolist() == [1] and out.status.tolist() == [CONFIRMED]


def test_many_crossing_targets_in_clutter():
    rng = np.random.default_rng(7)
    n = 300
    pos = rng.uniform(0, 20_000, (n, 2))
    vel = rng.normal(0, 15, (n, 2))
    cfg = TrackerConfig(
        process_noise=0.5, measurement_sigma=10, initial_velocity_sigma=40, confirm=(3, 4)
    )
    tr = CartesianTracker(cfg)
    scores = []
    for k in range(30):
        truth = pos + vel * k
        seen = rng.random(n) < 0.9
        z = np.vstack(
            [truth[seen] + rng.normal(0, 10, (seen.sum(), 2)), rng.uniform(0, 20_000, (30, 2))]
        )
        tr.step(float(k), z, _r(z, 10.0))
        if k >= 10:
            scores.append(ospa(tr.confirmed().state.pos, truth, c=100, p=1))
    assert np.mean(scores) < 12.0  # ~ the 10 m plot noise, few missed or false tracks
    assert len(tr.confirmed().ids) == pytest.approx(n, abs=6)


def _plots(lat, lon, t, source=1, accuracy=np.nan, alt=np.nan):
    n = np.size(lat)
    return Reports.build(
        n,
        time=t,
        lat=lat,
        lon=lon,
        alt=alt,
        kind=Kind.PLOT,
        source=source,
        accuracy=accuracy,
        raw=np.arange(n),
    )


def _aircraft(n_scans, speed=200.0, course=60.0, start=(60.2, 24.9), dt=4.0):
    d = speed * dt * np.arange(n_scans)
    lat, lon = destination(start[0], start[1], course, d)
    return np.asarray(lat), np.asarray(lon), dt * np.arange(n_scans) + 1.7e9


def test_plot_tracker_geodetic_round_trip():
    lat, lon, t = _aircraft(15)
    cfg = TrackerConfig(process_noise=1.0, measurement_sigma=30, initial_velocity_sigma=300)
    tr = PlotTracker(cfg)
    rng = np.random.default_rng(1)
    e, n = rng.normal(0, 30, (2, len(t)))
    plat, plon = _enu_shift(lat, lon, e, n)
    out = tr.update(_plots(plat, plon, t))
    assert set(out.kind.tolist()) == {Kind.POSITION}
    assert set(np.asarray(namespace(out.subject)).tolist()) == {Namespace.TRACK}
    assert set(np.asarray(number(out.subject)).tolist()) == {1}
    last = out.where(out.time == t[-1])
    assert haversine_m(last.lat[0], last.lon[0], lat[-1], lon[-1]) < 60
    assert last.speed[0] == pytest.approx(200, abs=15)
    assert last.course[0] == pytest.approx(_final_course(lat, lon), abs=3)
    assert np.isnan(last.alt[0]) and 5 < last.accuracy[0] < 30


def _final_course(lat, lon):
    """A great circle's course changes along the way (60° at the start): course at the end."""
    from picket.geo.geodesy import initial_bearing_deg

    back = initial_bearing_deg(lat[-1], lon[-1], lat[-2], lon[-2])
    return float((back + 180) % 360)


def _enu_shift(lat, lon, e, n):
    from picket.geo.geodesy import enu_to_geodetic

    out = [
        enu_to_geodetic(ei, ni, 0.0, la, lo) for la, lo, ei, ni in zip(lat, lon, e, n, strict=True)
    ]
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def test_recentring_keeps_tracks():
    lat, lon, t = _aircraft(40, speed=250.0, dt=10.0)  # 100 km
    cfg = TrackerConfig(
        process_noise=1.0, measurement_sigma=20, initial_velocity_sigma=300, recentre_km=20
    )
    tr = PlotTracker(cfg)
    outs = [tr.update(_plots(lat[i : i + 1], lon[i : i + 1], t[i : i + 1])) for i in range(40)]
    out = Reports.concat(outs)
    assert set(np.asarray(number(out.subject)).tolist()) == {1}
    assert tr.origin[0] != pytest.approx(lat[0])  # it moved
    err = haversine_m(out.lat, out.lon, np.interp(out.time, t, lat), np.interp(out.time, t, lon))
    assert np.max(err) < 30


def test_three_d_tracks_height_and_climb():
    lat, lon, t = _aircraft(12)
    alt = 3000.0 + 10.0 * (t - t[0])
    tr = PlotTracker(
        TrackerConfig(
            dims=3,
            process_noise=1.0,
            measurement_sigma=20,
            vertical_sigma=20,
            initial_velocity_sigma=300,
        )
    )
    out = tr.update(_plots(lat, lon, t, alt=alt))
    last = out.where(out.time == t[-1])
    assert last.alt[0] == pytest.approx(alt[-1], abs=30)
    assert last.vrate[0] == pytest.approx(10.0, abs=3)


def test_out_of_order_within_window_is_same_as_in_order():
    lat, lon, t = _aircraft(20)
    ordered = PlotTracker(TrackerConfig(measurement_sigma=30, initial_velocity_sigma=300))
    a = Reports.concat([ordered.update(_plots(lat, lon, t)), ordered.flush()])
    late = PlotTracker(
        TrackerConfig(measurement_sigma=30, initial_velocity_sigma=300, out_of_order_window=10)
    )
    perm = np.arange(20)
    for i in range(0, 20, 2):  # swap neighbours: each pair arrives newest first
        perm[i], perm[i + 1] = perm[i + 1], perm[i]
    parts = [late.update(_plots(lat[[j]], lon[[j]], t[[j]])) for j in perm]
    b = Reports.concat([*parts, late.flush()])
    assert late.rejects.rejected == 0
    np.testing.assert_allclose(b.lat, a.lat)
    np.testing.assert_allclose(b.time, a.time)


def test_bad_plots_are_counted_not_fatal():
    cfg = TrackerConfig(sensors={1: SensorModel(30.0)}, measurement_sigma=30)
    tr = PlotTracker(cfg)
    lat, lon, t = _aircraft(5)
    tr.update(_plots(lat, lon, t))
    bad = _plots(
        np.array([np.nan, 60.0, 95.0, 60.0]),
        np.array([25.0, 25.0, 25.0, 25.0]),
        np.array([t[-1] + 1, t[-1] + 1, t[-1] + 1, t[0] - 100]),
        source=np.array([1, 7, 1, 1]),
    )
    tr.update(bad)
    assert tr.rejects.counts == {
        "track.bad_plot": 2,
        "track.unknown_sensor": 1,
        "track.too_late": 1,
    }
    assert tr.rejects.accepted == 5


def test_two_sensors_one_target_one_track():
    lat, lon, t = _aircraft(10)
    cfg = TrackerConfig(
        sensors={1: SensorModel(20.0), 2: SensorModel(60.0)}, initial_velocity_sigma=300
    )
    tr = PlotTracker(cfg)
    both = Reports.concat([_plots(lat, lon, t, source=1), _plots(lat, lon, t, source=2)])
    out = tr.update(both)
    assert set(np.asarray(number(out.subject)).tolist()) == {1}
    assert len(tr.core) == 1


def test_scan_clock_counts_missed_scans_not_sensor_calls():
    # One target, seen every 4 s by sensor 1 but for two revolutions; sensor 2 (a 5 s
    # rotation) only reports clutter far away, three plots per revolution at their own
    # azimuth times. Each of those is a tracker call, but on the 4 s clock only two
    # scans pass unseen, fewer than `delete_after`.
    lat, lon, t = _aircraft(40, speed=60.0, dt=4.0)
    seen = (t - t[0] < 60) | (t - t[0] >= 68)
    target = _plots(lat[seen], lon[seen], t[seen], source=1)
    rng = np.random.default_rng(2)
    tc = np.repeat(np.arange(t[0] + 0.3, t[-1] - 5, 5.0), 3)
    tc += rng.uniform(0, 5, len(tc))
    clutter = _plots(rng.uniform(61, 62, len(tc)), rng.uniform(26, 28, len(tc)), tc, source=2)
    plots = Reports.concat([target, clutter]).sorted_by_time()
    cfg = dict(measurement_sigma=30, initial_velocity_sigma=100, delete_after=3)
    clock = PlotTracker(TrackerConfig(scan_quantum=4.0, **cfg))
    ids = set(np.asarray(number(clock.update(plots).subject)).tolist())
    assert len(ids) == 1
    # Counted per call, clutter calls interleave with the target's: 3/3 confirmation
    # never completes (and the gap alone would be six misses).
    calls = PlotTracker(TrackerConfig(**cfg))
    assert len(calls.update(plots)) == 0


def test_plots_are_compared_at_their_own_times_within_a_scan():
    # A 250 m/s aircraft seen once per 4 s revolution, each plot stamped when the beam
    # crossed it (0-4 s into the revolution), among clutter seen at other azimuths: up
    # to 1 km off if the plot were taken at the scan's time.
    rng = np.random.default_rng(4)
    n = 40
    t = 1.7e9 + 4.0 * np.arange(n) + rng.uniform(0, 4, n)
    d = 250.0 * (t - t[0])
    lat, lon = destination(60.2, 24.9, 60.0, d)
    e, nn = rng.normal(0, 20, (2, n))
    plat, plon = _enu_shift(np.asarray(lat), np.asarray(lon), e, nn)
    tc = 1.7e9 + 4.0 * np.repeat(np.arange(n), 3) + rng.uniform(0, 4, 3 * n)
    clutter = _plots(rng.uniform(59, 59.5, 3 * n), rng.uniform(22, 23, 3 * n), tc)
    cfg = TrackerConfig(scan_quantum=4.0, measurement_sigma=20, initial_velocity_sigma=300)
    tr = PlotTracker(cfg)
    out = tr.update(Reports.concat([_plots(plat, plon, t), clutter]).sorted_by_time())
    assert len(set(np.asarray(number(out.subject)).tolist())) == 1
    err = haversine_m(out.lat, out.lon, *destination(60.2, 24.9, 60.0, 250.0 * (out.time - t[0])))
    assert np.median(err[-20:]) < 20  # at each report's own time, within the plot noise
    assert out.speed[-1] == pytest.approx(250, abs=5)


@pytest.mark.parametrize("own_times", [False, True])
def test_max_distance_keeps_a_coasting_track_off_far_plots(own_times):
    """A track coasting for 7 scans has a gate metres wide; a plot 11 m off its prediction
    is inside that gate (taken without a limit) but never paired with max_distance 10."""
    got = {}
    for limit in (0.0, 10.0):
        cfg = TrackerConfig(process_noise=0.05, measurement_sigma=1.0, initial_velocity_sigma=2.0,
                            confirm=(3, 3), delete_after=9, max_distance=limit)  # fmt: skip
        tr = CartesianTracker(cfg)
        for k in range(4):
            tr.step(float(k), np.array([[1.0 * k, 0.0]]), np.ones((1, 2)))
        for k in range(4, 11):
            tr.step(float(k), np.zeros((0, 2)), np.zeros((0, 2)))
        t = 10.5 if own_times else 11.0
        x = tr.state.pos[0, 0] + tr.state.vel[0, 0] * (t - 10.0)
        tz = np.array([t]) if own_times else None
        tr.step(11.0, np.array([[x, 11.0]]), np.ones((1, 2)), tz=tz)
        got[limit] = bool(tr.plot_ids[0] == 1)
    assert got == {0.0: True, 10.0: False}
