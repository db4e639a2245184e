"""The Baltic demo's drone, from the simulator's own radar plots, keeps one track id.

The plots are the demo's (same seed stream, same two rotating radars, same clutter) and
reach the tracker the way the demo sends them: plot CSV through picket's decoder in
10-second slices, tracker settings as the pipeline's default (`scan_quantum` 4 s).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from picket.geo.geodesy import haversine_m
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import number
from picket.sim import plots
from picket.sim.scenario import parse_time
from picket.sources.plots_csv import PlotsCsvDecoder
from picket.track import PlotTracker, TrackerConfig

SEED = 7  # the demo's
NEAR_M = 300.0  # a track report this close to the drone's true position is the drone's


@pytest.fixture(scope="module")
def demo_plots():
    t0 = parse_time("2025-01-15T10:00:00Z")
    r_plot = np.random.default_rng(SEED).spawn(5)[3]  # scenario.build's plot generator
    drone = plots.drone_truth(t0, t0 + 360.0, t0 + 1200.0, t0 + 3000.0)
    rows = plots.generate(r_plot, drone, t0, t0 + 3600.0)
    names = plots.sensor_names()
    lines = [
        f"{t:.3f},{la:.6f},{lo:.6f},{al:.1f},{names[s]}\n".encode()
        for t, la, lo, al, s in zip(
            rows["time"].tolist(), rows["lat"].tolist(), rows["lon"].tolist(),
            rows["alt"].tolist(), rows["sensor"].tolist(), strict=True,
        )
    ]  # fmt: skip
    return t0, drone, rows, lines


def _track(demo_plots, **settings):
    t0, _, rows, lines = demo_plots
    dec = PlotsCsvDecoder(Rejects(), "sim-plots-csv")
    tracker = PlotTracker(TrackerConfig(scan_quantum=4.0, **settings))
    edges = np.searchsorted(rows["time"], np.arange(t0, t0 + 3610.0, 10.0))
    out = []
    dec.feed(b"time,lat,lon,alt,sensor\n")
    for a, b in pairwise(edges):
        r = dec.feed(b"".join(lines[a:b])).reports
        out.append(tracker.update(r.where(r.kind == Kind.PLOT).sorted_by_time()))
    out.append(tracker.flush())
    assert tracker.rejects.rejected == 0
    return Reports.concat(out)


@pytest.mark.parametrize("settings", [{}, {"dims": 3, "model": "imm"}], ids=["demo", "3d-imm"])
def test_drone_keeps_one_track_id_through_its_flight(demo_plots, settings):
    _, drone, rows, _ = demo_plots
    out = _track(demo_plots, **settings)
    ids = np.asarray(number(out.subject))
    lat = np.interp(out.time, drone["time"], drone["lat"], left=np.nan, right=np.nan)
    lon = np.interp(out.time, drone["time"], drone["lon"], left=np.nan, right=np.nan)
    err = haversine_m(out.lat, out.lon, lat, lon)
    near = err < NEAR_M
    assert set(ids[near].tolist()) == set(ids.tolist())  # no clutter track confirmed
    assert len(set(ids.tolist())) == 1  # the drone is one track, start to end
    seen = rows["time"][rows["truth"] >= 0]
    t = out.time[near]
    assert t.min() - seen.min() < 30.0  # confirmed within a few revolutions
    assert seen.max() - t.max() < 5.0  # held to the last plot
    assert np.max(np.diff(t)) < 30.0  # and reported all along
    assert np.median(err[near]) < 40.0  # plots are 30 m and 50 m (1 sigma) per axis
    if settings.get("dims") == 3:  # the radars measure height (60 m, 1 sigma)
        alt = np.interp(out.time[near], drone["time"], drone["alt"])
        assert np.median(np.abs(out.alt[near] - alt)) < 40.0
