"""GNSS spoofing told apart from data faults, on synthetic truth and on real flights.

A spoof is a displacement that persists (jump in, fixes consistent with each
other but not with the aircraft's dead-reckoned path, jump out); a single
out-and-back fix is a glitch, a repeated position is no fix, and a jump after a
position gap is judged against dead reckoning over the gap. The synthetic
flight below carries every one of these with known truth.
"""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import h3
import numpy as np
import pytest

from picket.detect.gnss import GnssSpoofing, GnssSpoofingArea
from picket.fusion.context import REPEAT
from picket.geo.geodesy import destination, haversine_m
from picket.model.alerts import parse_time
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.replay import replay_files
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink

V = 230.0  # m/s, an airliner in cruise


class Recorder:
    """A sink keeping, per position row, what fusion decided (and the track's state)."""

    def __init__(self) -> None:
        self.rows: list[tuple[np.ndarray, ...]] = []
        self.state: list[tuple[int, float, float, float]] = []

    def emit(self, events) -> None:
        pass

    def tracks(self, ctx) -> None:
        r = ctx.reports
        if not len(r):
            return
        subj = ctx.tracks.cols["subject"][ctx.slots]
        m = ctx.has_pos
        self.rows.append((subj[m], r.time[m], r.lat[m], r.lon[m], ctx.outlier[m],
                          ctx.tracks.batch.cls[m], ctx.jump_speed[m]))  # fmt: skip
        tc = ctx.tracks.cols
        for s in np.unique(ctx.slots).tolist():
            self.state.append((int(tc["subject"][s]), float(tc["pos_time"][s]),
                               float(tc["lat"][s]), float(tc["lon"][s])))  # fmt: skip

    def close(self) -> None:
        pass

    def cols(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(c) for c in zip(*self.rows, strict=True))


def run(reports: list[Reports], step: float = 10.0):
    mem, rec = MemorySink(), Recorder()
    det, area = GnssSpoofing(), GnssSpoofingArea()
    p = Pipeline([det, area], [mem, rec])
    r = Reports.concat(reports).sorted_by_time()
    edges = np.floor(r.time / step)
    cuts = np.r_[0, np.flatnonzero(np.diff(edges)) + 1, len(r)]
    for a, b in itertools.pairwise(cuts):
        p.process(Decoded(r.take(slice(a, b))), now=float(r.time[b - 1]))
    p.finish()
    return mem, rec, p, det


def fly(t: np.ndarray, lat0: float, lon0: float, course_at) -> tuple[np.ndarray, ...]:
    """Truth: positions at times t (1 s integration) flying V along course_at(t)."""
    ts = np.arange(t[0], t[-1] + 1.0)
    lat, lon = np.empty(len(ts)), np.empty(len(ts))
    lat[0], lon[0] = lat0, lon0
    for k in range(1, len(ts)):
        lat[k], lon[k] = destination(lat[k - 1], lon[k - 1], course_at(ts[k - 1]), V)
    k = np.searchsorted(ts, t)
    return lat[k], lon[k], np.array([course_at(x) for x in t])


def aircraft(icao, t, lat, lon, course, speed=V, **kw) -> Reports:
    return Reports.build(len(t), time=t, domain=Domain.AIR, kind=Kind.POSITION,
                         subject=key(Namespace.ICAO, icao), lat=lat, lon=lon, alt=11000.0,
                         speed=speed, course=course, nic=8, nacp=9, version=2, msg=11,
                         **kw)  # fmt: skip


SPOOFS = ((2000.0, 2300.0, 100.0, 60_000.0), (2600.0, 2700.0, 300.0, 40_000.0))
GLITCHES = (300.0, 1300.0, 1302.0)  # one single fix, then a run of two
GAPS = ((900.0, 1140.0), (1500.0, 1680.0))  # the second hides a 90 deg turn


def course_at(x: float) -> float:
    return 60.0 if x < 1500 else min(60.0 + 3.0 * (x - 1500), 150.0)  # standard-rate turn


def known_truth() -> tuple[Reports, dict[str, np.ndarray]]:
    """One airliner, a fix every 2 s for 50 min, with every fault and two spoof episodes."""
    t = np.arange(0.0, 3000.0, 2.0)
    t = np.sort(np.r_[t, np.arange(601.0, 700.0, 2.0)])  # 1 Hz rows during the forward fill
    lat, lon, crs = fly(t, 57.0, 18.0, course_at)
    rlat, rlon = lat.copy(), lon.copy()
    spoofed = np.zeros(len(t), bool)
    for a, b, bearing, dist in SPOOFS:
        m = (t >= a) & (t < b)
        rlat[m], rlon[m] = destination(lat[m], lon[m], bearing, dist)
        spoofed |= m
    glitch = np.isin(t, GLITCHES)
    rlat[glitch], rlon[glitch] = destination(lat[glitch], lon[glitch], 200.0, 8000.0)
    # OpenSky-style forward fill: rows every second, the position updated every 10 s only
    ff = (t >= 600) & (t < 700)
    held = 600 + np.floor((t[ff] - 600) / 10) * 10
    k = np.searchsorted(t, held)
    rlat[ff], rlon[ff] = rlat[k], rlon[k]
    keep = np.ones(len(t), bool)
    for a, b in GAPS:
        keep &= ~((t > a) & (t < b))
    truth = {"t": t[keep], "lat": lat[keep], "lon": lon[keep], "spoofed": spoofed[keep],
             "glitch": glitch[keep]}  # fmt: skip
    return aircraft(0x4B1803, t[keep], rlat[keep], rlon[keep], crs[keep]), truth


def test_spoof_episodes_are_flagged_in_and_out_and_faults_raise_nothing():
    reps, truth = known_truth()
    mem, rec, p, det = run([reps])
    alerts = sorted((a for a in mem.alerts.values() if a.kind == "gnss.spoofing"),
                    key=lambda a: a.time)  # fmt: skip
    assert len(alerts) == len(SPOOFS)  # one per episode: glitches, repeats and gaps raise none
    for a, (t0, t1, _, dist) in zip(alerts, SPOOFS, strict=True):
        assert a.subject == "icao:4b1803" and a.status == "closed"
        jin, jout = a.evidence["jumps"]
        assert (jin["what"], jout["what"]) == ("in", "out")
        assert parse_time(jin["time"]) == t0 and parse_time(jout["time"]) == t1
        assert t0 < a.time <= t0 + 60  # first alert within a minute of the first false fix
        assert abs(jin["offset_from_dead_reckoning_m"] - dist) < 1000
        assert a.closed_time <= t1 + 60
        # the alert is placed where the aircraft truly was (dead reckoned), not the false fix
        k = np.searchsorted(truth["t"], t0)
        assert haversine_m(a.lat, a.lon, truth["lat"][k], truth["lon"][k]) < 2000
    # every spoofed and glitched fix kept out of the track; the glitches counted
    _, t, _, _, out, cls, speeds = rec.cols()
    k = np.searchsorted(truth["t"], t)
    assert np.array_equal(truth["t"][k], t)
    assert out[truth["spoofed"][k]].all()
    assert out[truth["glitch"][k]].all()
    assert (out & ~truth["spoofed"][k] & ~truth["glitch"][k]).sum() <= 2 * 10  # confirming out
    assert det.glitches == 3 and int(p.tracks["n_glitches"].sum()) == 3  # fixes, in two runs
    assert int(p.tracks["n_spoofed"].sum()) == truth["spoofed"].sum()
    # the track coasts on its last good fix: never where the spoofer put it
    for _, pt, la, lo in rec.state:
        j = np.searchsorted(truth["t"], pt)
        assert haversine_m(la, lo, truth["lat"][j], truth["lon"][j]) < 100
    # repeated positions are no fixes: they never feed jump speeds
    assert (cls == REPEAT).sum() >= 80
    ff = (t >= 600) & (t < 700)
    assert np.nanmax(speeds[ff]) < V * 1.01  # not 10 x V, as row times would give


def test_alerts_do_not_depend_on_batching():
    reps, _ = known_truth()

    def key_of(mem):
        return sorted((a.kind, a.subject, round(a.time, 3), a.status, a.severity, a.updates,
                       round(a.last_time, 3), len(a.evidence.get("jumps", [])))
                      for a in mem.alerts.values())  # fmt: skip

    def counts(p):
        return [int(p.tracks[c].sum()) for c in ("n_glitches", "n_spoofed", "n_repeats",
                                                  "n_outliers")]  # fmt: skip

    reps = Reports.concat([reps, long_spoof()])
    mem, _, p, _ = run([reps], step=2.0)
    small = key_of(mem)
    assert len(small) == 3 and min(counts(p)) > 0
    for step in (1.0, 47.0, 3600.0):
        mem, _, q, _ = run([reps], step=step)
        assert key_of(mem) == small and counts(q) == counts(p)


def long_spoof() -> Reports:
    """45 min displaced, longer than the alert book's 30-min quiet close."""
    t = np.arange(0.0, 4000.0, 4.0)
    lat, lon, crs = fly(t, 58.0, 22.0, lambda x: 200.0)
    m = (t >= 600) & (t < 3300)
    lat[m], lon[m] = destination(lat[m], lon[m], 270.0, 30_000.0)
    return aircraft(0x4B3000, t, lat, lon, crs)


def test_a_spoof_lasting_hours_keeps_one_alert_until_its_jump_out():
    mem, *_ = run([long_spoof()])
    (a,) = [a for a in mem.alerts.values() if a.kind == "gnss.spoofing"]
    assert [j["what"] for j in a.evidence["jumps"]] == ["in", "out"]
    assert a.status == "closed" and 3300 < a.closed_time <= 3360
    assert a.updates >= 8  # re-signalled every 5 min while the displaced fixes came


def test_a_jump_after_a_gap_is_judged_against_dead_reckoning_over_the_gap():
    """A spoof beginning while the aircraft was unheard for 90 s is still flagged."""
    t = np.arange(0.0, 1200.0, 2.0)
    lat, lon, crs = fly(t, 55.0, 15.0, lambda x: 90.0)
    rlat, rlon = lat.copy(), lon.copy()
    m = t >= 600
    rlat[m], rlon[m] = destination(lat[m], lon[m], 0.0, 80_000.0)
    keep = ~((t > 510) & (t < 600))
    mem, *_ = run([aircraft(0x3C0001, t[keep], rlat[keep], rlon[keep], crs[keep])])
    (a,) = [a for a in mem.alerts.values() if a.kind == "gnss.spoofing"]
    assert a.evidence["jumps"][0]["gap_s"] == 90.0
    assert 600 < a.time <= 660


def test_sparse_forward_filled_feed_flags_every_transition_across_gaps():
    """OpenSky-like: a row every 5 s timed by the row, the position new every 10 s and
    repeated in between, 90 s without a new position around each of the four transitions
    (two episodes 150 km off). Every jump in and out is flagged and the spoofed fixes
    stay out of the track."""
    t = np.arange(0.0, 4200.0, 5.0)
    fix_t = np.floor(t / 10) * 10
    for a, b in ((1150, 1240), (1750, 1840), (2650, 2740), (3250, 3340)):  # position gaps
        fix_t = np.where((fix_t > a) & (fix_t < b), a, fix_t)
    lat, lon, crs = fly(fix_t, 34.0, 33.0, lambda x: 120.0)
    spoofed = np.zeros(len(t), bool)
    for a, b in ((1200, 1800), (2700, 3300)):
        m = (fix_t >= a) & (fix_t < b)
        lat[m], lon[m] = destination(lat[m], lon[m], 30.0, 150_000.0)
        spoofed |= m
    mem, rec, *_ = run([aircraft(0x738000, t, lat, lon, crs)], step=60.0)
    alerts = sorted((a for a in mem.alerts.values() if a.kind == "gnss.spoofing"),
                    key=lambda a: a.time)  # fmt: skip
    assert [[j["what"] for j in a.evidence["jumps"]] for a in alerts] == [["in", "out"]] * 2
    assert [parse_time(a.evidence["jumps"][0]["time"]) for a in alerts] == [1240.0, 2740.0]
    assert [parse_time(a.evidence["jumps"][1]["time"]) for a in alerts] == [1840.0, 3340.0]
    for a, t0 in zip(alerts, (1240.0, 2740.0), strict=True):
        assert a.time - t0 <= 60 and a.evidence["jumps"][0]["gap_s"] == 90.0
    _, tr, _, _, out, _, _ = rec.cols()
    k = np.searchsorted(t, tr)
    assert out[spoofed[k]].all()


def test_aircraft_displaced_to_one_place_light_a_spoofing_cell():
    cell = h3.latlng_to_cell(56.0, 20.0, 4)
    c_lat, c_lon = h3.cell_to_latlng(cell)
    target = destination(c_lat, c_lon, 45.0, 150_000.0)  # where the spoofer puts them
    t = np.arange(0.0, 1800.0, 2.0)
    reps = []
    for i, (brg, crs) in enumerate(((0.0, 90.0), (180.0, 270.0), (90.0, 0.0))):
        la0, lo0 = destination(c_lat, c_lon, brg, 2000.0 + 500 * i)
        lat, lon = destination(la0, lo0, crs, V * (t - 300))  # at the cell centre at t=300
        rlat, rlon = lat.copy(), lon.copy()
        if i < 2:  # two victims, both moved next to the same point, moving as they fly
            m = (t >= 300) & (t < 600)
            rlat[m], rlon[m] = destination(target[0], target[1], crs, V * (t[m] - 300) + i * 3000)
        reps.append(aircraft(0x4B2000 + i, t, rlat, rlon, crs))
    mem, *_ = run(reps)
    spoofs = [a for a in mem.alerts.values() if a.kind == "gnss.spoofing"]
    assert {a.subject for a in spoofs} == {"icao:4b2000", "icao:4b2001"}
    (c,) = [a for a in mem.alerts.values() if a.kind == "gnss.spoofing_area"]
    assert c.subject == f"h3:{cell}" and c.severity == "critical"
    ev = c.evidence
    assert ev["count_spoofed_aircraft"] == 2 and ev["most_displaced_to_one_place"] == 2
    for d in ev["displaced_to"]:
        assert haversine_m(d["lat"], d["lon"], target[0], target[1]) < 5000
    assert c.status == "closed"  # the layer fades once the window holds no spoofed aircraft


def test_one_spoofed_aircraft_lights_no_area_cell():
    reps, _ = known_truth()
    mem, *_ = run([reps])
    assert not [a for a in mem.alerts.values() if a.kind == "gnss.spoofing_area"]


# real flights ------------------------------------------------------------------------------


def _replay(path: Path):
    mem = MemorySink()
    p = Pipeline([GnssSpoofing(), GnssSpoofingArea()], [mem])
    # the per-track counts are summed at the end: no track may be forgotten before (some
    # samples span weeks, and an aircraft silent for a day is forgotten with its counts)
    p.forget_after_s = dict.fromkeys(p.forget_after_s, np.inf)
    replay_files(p, [(path, "opensky")], Rejects())
    return [a for a in mem.alerts.values() if a.kind.startswith("gnss.spoofing")], p.tracks


@pytest.mark.realdata
def test_no_real_unspoofed_flight_is_flagged(shared_data, tmp_path):
    """25 real OpenSky flights (calibration circles, gliders, helicopters, noisy data): none
    spoofed, so no alert, whether positions carry their own time (`lastposupdate`) or, as
    when that column is missing, the row time with positions repeated between updates."""
    files = sorted((shared_data / "air" / "traffic_samples").glob("*.csv.gz"))
    assert len(files) == 25
    glitches = repeats = 0
    for f in files:
        alerts, tracks = _replay(f)
        assert not alerts, (f.name, [a.summary for a in alerts])
        glitches += int(tracks["n_glitches"].sum())
        # the same flight timed by its rows: drop lastposupdate (a derived file in tmp)
        with gzip.open(f, "rt") as src:
            lines = src.read().splitlines()
        col = lines[0].split(",").index("lastposupdate")
        row_timed = tmp_path / f.name
        with gzip.open(row_timed, "wt") as dst:
            for ln in lines:
                parts = ln.split(",")
                dst.write(",".join(parts[:col] + parts[col + 1 :]) + "\n")
        alerts, tracks = _replay(row_timed)
        assert not alerts, (f.name, "row time", [a.summary for a in alerts])
        repeats += int(tracks["n_repeats"].sum())
    assert glitches >= 2  # the real out-and-back fixes were seen, counted, and kept out
    assert repeats > 10_000  # forward-filled positions were recognised as repeats


# the demo's spoofed airliner -----------------------------------------------------------------


def test_demo_spoofed_airliner_every_transition_flagged_and_fixes_kept_out(tmp_path):
    """The Baltic demo's airliner (sim/incidents.py: 60 km for 10 min) through the real
    Beast decoder and the full detector set: both transitions flagged, >= 90 % of the
    spoofed fixes kept out of the track, the first alert within 60 s of the first one."""
    from picket.demo.run import run_demo
    from picket.sim import scenario

    scn = scenario.build(seed=7, duration_s=3600)
    inc = next(i for i in scn.incidents if i.kind == "gnss.spoofing")
    rec = Recorder()
    res = run_demo(duration_s=3600, workdir=tmp_path, console=False, store=False,
                   on_assembly=lambda asm: asm.pipeline.sinks.append(rec))  # fmt: skip
    subj, t, _, _, out, _, _ = rec.cols()
    mine = subj == key(Namespace.ICAO, int(inc.subject.split(":")[1], 16))
    spoofed = mine & (t >= inc.start) & (t < inc.end)  # the reported positions are off
    assert spoofed.sum() >= 100
    assert out[spoofed].mean() >= 0.9
    assert out[mine & ~spoofed].sum() <= 20  # true fixes held while the return is confirmed
    alerts = [a for a in res.alerts if a["kind"] == "gnss.spoofing"]
    assert [a["subject"] for a in alerts] == [inc.subject]  # no other aircraft flagged
    (a,) = alerts
    jumps = a["evidence"]["jumps"]
    assert [j["what"] for j in jumps] == ["in", "out"]
    assert abs(parse_time(jumps[0]["time"]) - inc.start) < 5
    assert abs(parse_time(jumps[1]["time"]) - inc.end) < 5
    assert 0 < parse_time(a["time"]) - t[spoofed].min() <= 60
