"""Plots that each carry their own time: scans by revolution or window, per-plot association.

The real-data check feeds OpenSky state vectors to the plot tracker as anonymous plots;
the synthetic ones pin down the rules (docs/tracking.md) one at a time.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from picket.geo.geodesy import destination, initial_bearing_deg
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import number
from picket.sources.registry import read_file
from picket.track import CartesianTracker, PlotTracker, SensorModel, TrackerConfig, kalman

OPENSKY = "air/opensky_plane_states_sample.csv"
NOISE_M = 30.0  # m per axis added to each ADS-B position, seeded: plots, not GNSS fixes


def _plots(lat, lon, t, source=1, raw=None):
    n = np.size(lat)
    return Reports.build(
        n, time=t, domain=Domain.AIR, kind=Kind.PLOT, source=source, lat=lat, lon=lon,
        raw=np.arange(n) if raw is None else raw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def opensky_plots(shared_data):
    """Anonymous plots from the OpenSky sample: (plots with raw = aircraft index, times)."""
    rej = Rejects()
    rep = Reports.concat([d.reports for d in read_file(shared_data / OPENSKY, rej)])
    # The reader stamps each position with `lastposupdate`, its own time. The sample has no
    # aircraft on the ground (onground is False throughout); a position without barometric
    # height is dropped as well, as a radar would not know it airborne.
    rep = rep.where((rep.kind == Kind.POSITION) & np.isfinite(rep.alt) & (rep.alt > 0))
    # OpenSky repeats a position between updates: one plot per (aircraft, position time).
    _, first = np.unique(np.column_stack([rep.subject, rep.time]), axis=0, return_index=True)
    rep = rep.take(np.sort(first)).sorted_by_time()
    _, aircraft = np.unique(rep.subject, return_inverse=True)
    rng = np.random.default_rng(0)
    d = rng.normal(0.0, NOISE_M, (2, len(rep)))
    lat, lon = destination(rep.lat, rep.lon, np.degrees(np.arctan2(d[0], d[1])), np.hypot(*d))
    return _plots(lat, lon, rep.time, raw=aircraft)


def _score(plots: Reports, out: Reports, tracker: PlotTracker, horizon: float):
    """(share of visits covered by exactly one track id, track ids per aircraft, visits).

    A visit is one aircraft's plots between silences longer than `horizon`, the time the
    tracker keeps an unseen track (after a longer silence a new id is right). Every
    confirmed track is given to the visit whose plots fed it most (majority of the plots
    assigned to it, from `PlotTracker.assignments`). A visit is covered by exactly one
    track id when exactly one confirmed track is given to it and that track took at least
    90 % of the visit's plots (so it held the aircraft over its visible time, not for a
    stretch of it). Visits of fewer than 3 plots cannot be confirmed (M/N = 3/3) and are
    not scored. Track ids per aircraft: confirmed ids over aircraft with a scored visit.
    """
    ac, t = plots.raw, plots.time
    order = np.lexsort((t, ac))
    new = np.r_[True, (np.diff(ac[order]) != 0) | (np.diff(t[order]) > horizon)]
    visit = np.empty(len(t), np.int64)
    visit[order] = np.cumsum(new) - 1
    raw, tz, ids = tracker.assignments()
    # the plot each assignment was for: aircraft (raw) and time are unique by construction
    lookup = {(int(a), float(b)): int(v) for a, b, v in zip(ac, t, visit, strict=True)}
    fed = np.array([lookup[(int(a), float(b))] for a, b in zip(raw, tz, strict=True)])
    confirmed = np.unique(number(out.subject)).tolist()
    given = {tid: Counter(fed[ids == tid].tolist()).most_common(1)[0][0] for tid in confirmed}
    size = np.bincount(visit)
    scored = np.flatnonzero(size >= 3)
    covered = 0
    for v in scored.tolist():
        tids = [tid for tid, g in given.items() if g == v]
        if len(tids) == 1 and np.sum((fed == v) & (ids == tids[0])) >= 0.9 * size[v]:
            covered += 1
    aircraft = len(np.unique(ac[np.isin(visit, scored)]))
    return covered / len(scored), len(confirmed) / aircraft, len(scored)


# The OpenSky sample is state vectors at OpenSky's 10 s resolution for anonymous users (5 s
# for registered ones): each aircraft's position times are 9.5-10.5 s apart, with gaps of
# up to 16 minutes where it was not heard. Settings from aircraft, not from the file:
# 300 m/s covers an airliner's ground speed for a track born from one plot; q = 50 m²/s³
# lets the velocity change by sqrt(q T) ≈ 22 m/s over a 10 s revisit (a rate-one turn at
# 150 m/s turns it by 26 m/s), and the IMM's turn modes carry the rest. Scans: one 10 s
# revisit, or 20 s (two plots of every aircraft in each scan).
@pytest.mark.parametrize(
    ("model", "quantum"), [("cv", 10.0), ("imm", 10.0), ("imm", 20.0)]
)  # fmt: skip
def test_opensky_positions_as_anonymous_plots(opensky_plots, model, quantum):
    cfg = TrackerConfig(
        model=model, scan_quantum=quantum, process_noise=50.0, initial_velocity_sigma=300.0
    )
    tracker = PlotTracker(cfg, keep_assignments=True)
    out = Reports.concat([tracker.update(opensky_plots), tracker.flush()])
    horizon = cfg.delete_after * quantum
    covered, per_aircraft, visits = _score(opensky_plots, out, tracker, horizon)
    assert visits >= 80
    assert covered >= 0.90, (covered, tracker.reason())
    assert per_aircraft <= 1.2, (per_aircraft, tracker.reason())


def test_a_plot_a_scan_says_why_no_track_formed():
    # Ten aircraft each stamped at its own time: without a quantum every plot is a scan of
    # its own, and M/N counts the other aircraft's plots as misses.
    rng = np.random.default_rng(1)
    n, k = 10, 30
    t = 1.7e9 + 4.0 * np.arange(k)[:, None] + rng.uniform(0, 4, (k, n))
    lat, lon = destination(60.0 + 0.1 * np.arange(n), 25.0, 90.0, 200.0 * (t - 1.7e9))
    plots = _plots(np.ravel(lat), np.ravel(lon), np.ravel(t)).sorted_by_time()
    cfg = dict(initial_velocity_sigma=300.0)
    tracker = PlotTracker(TrackerConfig(**cfg))
    assert len(Reports.concat([tracker.update(plots), tracker.flush()])) == 0
    why = tracker.reason()
    assert why.startswith("0 tracks: 300 plots from 1 sensors in 300 scans")
    assert "--scan-quantum" in why
    ok = PlotTracker(TrackerConfig(scan_quantum=4.0, **cfg))
    out = Reports.concat([ok.update(plots), ok.flush()])
    assert len(np.unique(number(out.subject))) == n
    assert ok.reason().startswith("10 tracks")
    # A velocity prior far too small for the plots' spacing (as with plots in the wrong
    # unit): the gate finds no third plot, and the line says so from the counts.
    slow = PlotTracker(TrackerConfig(scan_quantum=4.0, initial_velocity_sigma=0.3))
    slow.update(plots)
    why = slow.reason()
    assert why.startswith("0 tracks: 300 plots from 1 sensors in 30 scans, no 3 plots")
    assert "(confirm M/N = 3/3)" in why and "tentative tracks started" in why


def test_several_plots_of_one_target_in_a_window_make_one_track():
    # Reports every 3-7 s (irregular, like a receiver network) in 10 s scans: two or three
    # plots of the target in most scans, including the first.
    rng = np.random.default_rng(3)
    t = 1.7e9 + np.cumsum(rng.uniform(3, 7, 60))
    lat, lon = destination(60.0, 25.0, 45.0, 150.0 * (t - t[0]))
    cfg = TrackerConfig(scan_quantum=10.0, initial_velocity_sigma=300.0, process_noise=5.0)
    tracker = PlotTracker(cfg, keep_assignments=True)
    out = Reports.concat([tracker.update(_plots(lat, lon, t)), tracker.flush()])
    assert set(np.asarray(number(out.subject)).tolist()) == {1}
    _, _, ids = tracker.assignments()
    assert (ids == 1).all()
    assert tracker.core.counts.second_plots > 20
    assert out.speed[-1] == pytest.approx(150.0, abs=3.0)


def test_each_plot_is_an_update_at_its_own_time():
    # CV tracker, one target, plots at scattered own times in 4 s scans: the track must be
    # the plain Kalman filter run plot by plot in time order, then predicted to the scan's
    # last plot (a retrodicted measurement would only approximate it).
    rng = np.random.default_rng(5)
    q, sig, v0 = 2.0, 15.0, 100.0
    t = np.sort(4.0 * np.arange(12) + rng.uniform(0, 4, 12))
    z = np.column_stack([120.0 * t, -40.0 * t]) + rng.normal(0, sig, (12, 2))
    r = np.full_like(z, sig * sig)
    cfg = TrackerConfig(
        process_noise=q, measurement_sigma=sig, initial_velocity_sigma=v0, confirm=(1, 1)
    )
    tr = CartesianTracker(cfg)
    scans = np.floor(t / 6.0)  # scans cut unevenly across the plots: one to three in each
    for s in np.unique(scans):
        rows = scans == s
        tr.step(float(t[rows].max()), z[rows], r[rows], tz=t[rows], scan=int(s))
    ref = kalman.initiate(z[:1], r[:1], v0)
    for i in range(1, 12):
        ref = kalman.predict(ref, np.array([t[i] - t[i - 1]]), q)
        ref = kalman.update(ref, z[i : i + 1], r[i : i + 1])
    assert len(tr) == 1
    assert tr.time == t[-1]
    np.testing.assert_allclose(tr.state.pos, ref.pos, rtol=0, atol=1e-6)
    np.testing.assert_allclose(tr.state.vel, ref.vel, rtol=0, atol=1e-9)
    np.testing.assert_allclose(tr.state.pxx, ref.pxx, rtol=1e-9)
    np.testing.assert_allclose(tr.state.pvv, ref.pvv, rtol=1e-9)


def _radar(site, period, t0, revs, targets, rng):
    """Plots of a radar at `site` turning once per `period` s (clockwise from north), each
    target's plot at the moment the beam crosses it, 30 m noise per axis.
    targets: (lat, lon, course, speed) at t0."""
    rows = []
    for rev in range(revs):
        for k, (la, lo, crs, v) in enumerate(targets):
            tb = t0 + rev * period
            for _ in range(3):  # the beam time where the target is: a fixed point
                pla, plo = destination(la, lo, crs, v * (tb - t0))
                az = float(initial_bearing_deg(site[0], site[1], pla, plo))
                tb = t0 + (rev + az / 360.0) * period
            pla, plo = destination(la, lo, crs, v * (tb - t0))
            e = rng.normal(0, 30.0, 2)
            pla, plo = destination(pla, plo, np.degrees(np.arctan2(*e)), np.hypot(*e))
            rows.append((tb, float(pla), float(plo), k))
    rows.sort()
    t, lat, lon, k = (np.array(c) for c in zip(*rows, strict=True))
    return t, lat, lon, k.astype(np.int64)


def test_rotating_radar_scans_are_revolutions():
    # A 4.8 s radar with its site known. One target starts north-west of it and flies
    # east across north (its plots move from the end of a revolution to the start), one
    # east, one south-west. Every revolution sees each target once: scans are
    # revolutions, cut where the azimuth wraps past north, so none holds two plots of one
    # target and no scan passes unseen, whatever the clock says.
    rng = np.random.default_rng(6)
    site = (60.0, 25.0)
    targets = [(60.3, 24.9, 90.0, 200.0), (60.0, 25.6, 0.0, 150.0), (59.8, 24.7, 300.0, 120.0)]
    t, lat, lon, k = _radar(site, 4.8, 1.7e9 + 1.3, 40, targets, rng)
    cfg = TrackerConfig(
        sensors={1: SensorModel(sigma=30.0, site=site)}, initial_velocity_sigma=250.0,
        confirm=(3, 3), delete_after=2,
    )  # fmt: skip
    tracker = PlotTracker(cfg, keep_assignments=True)
    plots = _plots(lat, lon, t, raw=k)
    half = len(t) // 2 + 1  # two batches, cut inside a revolution
    first, second = plots.take(np.arange(half)), plots.take(np.arange(half, len(t)))
    out = Reports.concat([tracker.update(first), tracker.update(second), tracker.flush()])
    raw, _, ids = tracker.assignments()
    assert len(np.unique(number(out.subject))) == 3
    for j in range(3):
        assert len(np.unique(ids[raw == j])) == 1  # one id from the first plot to the last
    az = initial_bearing_deg(site[0], site[1], lat[k == 0], lon[k == 0])
    assert az.min() < 10 and az.max() > 350  # the first target did cross north
    assert tracker.core.counts.scans == 41  # 40 revolutions, one split between batches
    assert tracker.core.counts.second_plots <= 2  # a plot whose noise puts it across north


def test_rotating_radar_with_its_period_needs_no_other_target():
    # One target flying straight at the radar: its azimuth never changes, so only the
    # rotation period (scan_quantum) tells one revolution from the next: each plot says
    # when the beam crossed north, the same for a whole revolution.
    rng = np.random.default_rng(9)
    site = (60.0, 25.0)
    t, lat, lon, k = _radar(site, 4.8, 1.7e9 + 0.7, 30, [(60.4, 25.3, 200.0, 180.0)], rng)
    cfg = TrackerConfig(
        sensors={1: SensorModel(sigma=30.0, site=site)}, scan_quantum=4.8,
        initial_velocity_sigma=250.0, delete_after=2,
    )  # fmt: skip
    tracker = PlotTracker(cfg, keep_assignments=True)
    out = Reports.concat([tracker.update(_plots(lat, lon, t, raw=k)), tracker.flush()])
    assert tracker.core.counts.scans == 30
    assert set(np.asarray(number(out.subject)).tolist()) == {1}
    assert len(out) == 28  # confirmed at the third revolution, reported at every one after
