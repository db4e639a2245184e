"""The AIS fast paths of issue 18 (brief B2) give what a plain slow reference gives.

Each reference is the obvious code (every pair, one at a time, or SciPy's tree): the fast
code must return the same answer on random, clustered and degenerate input.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from picket.geo.geodesy import geodetic_to_ecef
from picket.geo.near_grid import close_pairs


def _slow_pairs(xyz: np.ndarray, r: float) -> set[tuple[int, int]]:
    """Every pair, one at a time."""
    out = set()
    for i, j in itertools.combinations(range(len(xyz)), 2):
        d = xyz[i] - xyz[j]
        if d[0] * d[0] + d[1] * d[1] + d[2] * d[2] <= r * r:
            out.add((i, j))
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 3, 40, 300])
@pytest.mark.parametrize("spread_deg", [0.0, 0.002, 0.02, 0.5])
def test_close_pairs_same_as_every_pair(n: int, spread_deg: float) -> None:
    rng = np.random.default_rng(n * 1000 + int(spread_deg * 1e4))
    lat = 55.6 + rng.normal(0, spread_deg, n)
    lon = 12.6 + rng.normal(0, spread_deg, n)
    if n > 4:  # some vessels exactly on top of each other, as moored rafts report
        lat[: n // 4], lon[: n // 4] = lat[0], lon[0]
    xyz = np.column_stack(geodetic_to_ecef(lat, lon, np.zeros(n)))
    got = close_pairs(xyz, 500.0)
    assert got.shape[1] == 2 and got.dtype == np.int64
    pairs = set(map(tuple, got.tolist()))
    assert len(pairs) == len(got), "a pair was returned twice"
    assert all(i < j for i, j in pairs)
    assert pairs == _slow_pairs(xyz, 500.0)


def test_close_pairs_same_as_scipy_near_cell_edges() -> None:
    """Points placed on and around cube faces, where a grid could miss a neighbour."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(7)
    base = np.floor(rng.uniform(-4e6, 4e6, (60, 3)) / 500.0) * 500.0
    xyz = np.concatenate([base, base + rng.uniform(-499, 499, (60, 3)),
                          base + rng.choice([-500.0, 0.0, 500.0], (60, 3))])  # fmt: skip
    want = set(map(tuple, cKDTree(xyz).query_pairs(500.0, output_type="ndarray").tolist()))
    assert set(map(tuple, close_pairs(xyz, 500.0).tolist())) == want


def test_ais_pipeline_imports_no_scipy() -> None:
    """SciPy (scipy.stats alone is about 35 MB of RSS, scipy.spatial as much again) is not
    loaded by building the pipeline with every default detector: the peak RSS of `bench ais`
    (issue 18: <= 224 MB; 192 MB without SciPy, 251 MB with both)."""
    code = ("import sys; from picket.config import Config; "
            "from picket.pipeline.assemble import assemble; "
            "assemble(Config(store_path=None), console=False, store=False); "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.stats', "
            "'scipy.spatial'))))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("scale_deg", [0.0, 1e-4, 0.01, 1.0, 90.0])
def test_point_arc_distance_same_as_point_arc(scale_deg: float) -> None:
    """The corridor lookup's column-wise distance against `point_arc` (stacked vectors):
    equal to the last bit on this machine's NumPy; within 1e-15 rad (6 nm) anywhere."""
    from picket.geo.zones import _normals, point_arc, point_arc_distance, unit_vectors

    rng = np.random.default_rng(int(scale_deg * 1000) + 1)
    m = 20000
    lat, lon = rng.uniform(-89, 89, m), rng.uniform(-180, 180, m)
    p = unit_vectors(lat, lon)
    a = unit_vectors(lat + rng.normal(0, scale_deg, m), lon + rng.normal(0, scale_deg, m))
    b = unit_vectors(lat + rng.normal(0, scale_deg, m), lon + rng.normal(0, scale_deg, m))
    b[:50] = a[:50]  # zero-length arcs
    p[50:100] = a[50:100]  # points on an end
    n, ok = _normals(a, b)
    want = point_arc(p, a, b, n, ok)[0]
    got = point_arc_distance(p, a, b, n, ok)
    assert np.abs(got - want).max() <= 1e-15


def _encounter_events(skip_batches: bool, monkeypatch: pytest.MonkeyPatch) -> list:
    """Vessels drifting side by side, speeding up and slowing down across 2 kn (speeds
    missing now and then), fed in uneven batches; every encounter event in order."""
    from picket.config import Config, build_detectors
    from picket.detect.maritime_encounter import Encounter
    from picket.geo.geodesy import KNOT, destination
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key
    from picket.pipeline.runtime import Pipeline
    from picket.sinks.jsonl import MemorySink

    if not skip_batches:  # the reference: every tick looks, as before the batch bound
        monkeypatch.setattr(Encounter, "_slow_bound", lambda self, ctx, rows, pool: 10**9)
    rng = np.random.default_rng(11)
    parts = []
    periods = rng.uniform(2400, 5400, 4)
    for v in range(8):
        t = np.sort(rng.uniform(0, 6 * 3600, 700))
        kn = np.where((t // periods[v // 2]) % 2 == 0, 0.6, 3.5)  # a pair slows together
        kn[rng.random(len(t)) < 0.1] = np.nan
        lat, lon = destination(55.0 + (v // 2) * 0.05, 14.0, 90.0, 300.0 * (v % 2) + t * 0.02)
        parts.append(Reports.build(
            len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
            subject=key(Namespace.MMSI, 230_500_000 + v), lat=lat, lon=lon, speed=kn * KNOT,
            course=90.0, heading=90.0, nav_status=0, msg=1))  # fmt: skip
    r = Reports.concat(parts).sorted_by_time()
    mem = MemorySink()
    p = Pipeline(build_detectors(Config()), [mem])
    cuts = np.unique(np.r_[0, rng.integers(0, len(r), 120), len(r)])
    events = []
    for a, b in itertools.pairwise(cuts):
        events += p.process(Decoded(r.take(slice(int(a), int(b)))), now=float(r.time[b - 1]))
    events += p.finish()
    return [(w, a.subject, a.event_time, a.status, a.evidence) for w, a in events
            if a.kind == "maritime.encounter"]  # fmt: skip


def test_encounter_batch_bound_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping a batch's ticks when fewer than two vessels could be slow gives the same
    encounter events as looking at every tick."""
    fast = _encounter_events(True, monkeypatch)
    slow = _encounter_events(False, monkeypatch)
    assert fast, "the scenario must raise encounters to compare"
    assert fast == slow


def _old_sustained_update(self, ctx):  # the plain form: the distance moved on every row
    from picket.geo.geodesy import haversine_m

    rows = self.rows(ctx)
    if not len(rows):
        return []
    r = ctx.reports
    s = ctx.slots[rows]
    t, lat, lon = r.time[rows], r.lat[rows], r.lon[rows]
    cond = self.condition(ctx, rows)
    self._rows = rows
    t0, lat0, lon0, _ = self.sus.update(s, t, lat, lon, cond)
    dur = t - t0
    moved = np.where(np.isfinite(t0), haversine_m(lat0, lon0, lat, lon), 0.0)
    fire = cond & (dur >= self.min_duration_s()) & (moved >= self.min_distance_m())
    self._track_closest(ctx, s, t, t0)
    return self._signals(ctx, rows, s, t, t0, lat0, lon0, dur, moved, cond, fire)


@pytest.mark.parametrize("seed", [1, 2])
def test_sustained_rules_same_as_measuring_every_row(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anchor drag, drift and loitering measure the distance moved only where a run is long
    enough to fire: the same events as measuring it on every row."""
    from picket.config import Config, build_detectors
    from picket.detect.sustained import SustainedDetector
    from picket.geo.geodesy import KNOT, destination
    from picket.model.decoded import Decoded
    from picket.model.reports import Domain, Kind, Reports
    from picket.model.subjects import Namespace, key
    from picket.pipeline.runtime import Pipeline
    from picket.sinks.jsonl import MemorySink

    def run() -> list:
        rng = np.random.default_rng(seed)
        parts = []
        for v in range(12):
            t = np.sort(rng.uniform(0, 5 * 3600, 400))
            kn = rng.choice([0.2, 0.8, 1.5, 3.0]) + rng.normal(0, 0.2, len(t)).clip(-0.1)
            dist = np.cumsum(np.r_[0, np.diff(t)] * kn * KNOT)
            lat, lon = destination(56.0 + v * 0.1, 11.0, rng.uniform(0, 360), dist)
            status = np.where(rng.random(len(t)) < 0.8, 1, 0)  # mostly "at anchor"
            parts.append(Reports.build(
                len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
                subject=key(Namespace.MMSI, 219_000_000 + v), lat=lat, lon=lon,
                speed=kn * KNOT, course=90.0, heading=90.0, nav_status=status, msg=1))  # fmt: skip
        r = Reports.concat(parts).sorted_by_time()
        p = Pipeline(build_detectors(Config()), [MemorySink()])
        cuts = np.unique(np.r_[0, rng.integers(0, len(r), 80), len(r)])
        events = []
        for a, b in itertools.pairwise(cuts):
            events += p.process(Decoded(r.take(slice(int(a), int(b)))), now=float(r.time[b - 1]))
        events += p.finish()
        return [(w, a.kind, a.subject, a.event_time, a.status, a.evidence) for w, a in events
                if a.kind in ("maritime.anchor_drag", "maritime.drift", "maritime.loitering")]

    fast = run()
    monkeypatch.setattr(SustainedDetector, "update", _old_sustained_update)
    slow = run()
    assert fast, "the scenario must raise sustained alerts to compare"
    assert fast == slow


def test_track_counts_and_history_same_as_per_row_adds() -> None:
    """`TrackTable.update` counts rows and advances history heads per slot run: the same
    counters, heads and history as one `np.add.at` per row, over many uneven batches."""
    from picket.fusion.tracks import TrackConfig, TrackTable
    from picket.model.reports import Domain, Kind, Reports

    rng = np.random.default_rng(5)
    tt = TrackTable(TrackConfig(history=8))
    n_ref: dict[int, int] = {}
    hist_ref: dict[int, list[tuple[float, float, float]]] = {}
    for batch in range(40):
        n = int(rng.integers(1, 200))
        subj = rng.integers(0, 30, n).astype(np.int64) + 1000
        t = batch * 1000.0 + rng.uniform(0, 1000, n)
        r = Reports.build(n, time=t, domain=Domain.MARITIME, kind=Kind.POSITION, subject=subj,
                          lat=rng.uniform(50, 60, n), lon=rng.uniform(0, 20, n), msg=1)  # fmt: skip
        slots = tt.slots_for(r.subject)
        o = np.lexsort((r.time, slots))
        r, slots = r.take(o), slots[o]
        acc = rng.random(n) < 0.7
        tt.update(r, slots, acc)
        for k in range(n):
            sl = int(slots[k])
            n_ref[sl] = n_ref.get(sl, 0) + 1
            if acc[k]:
                hist_ref.setdefault(sl, []).append((r.time[k], r.lat[k], r.lon[k]))
    for sl, cnt in n_ref.items():
        assert tt.cols["n_reports"][sl] == cnt
        want = hist_ref.get(sl, [])
        assert tt.cols["hist_head"][sl] == len(want)
        ht, hlat, hlon = tt.history(sl)
        assert list(zip(ht.tolist(), hlat.tolist(), hlon.tolist(), strict=True)) == want[-8:]


def _slow_parse_uint(buf: np.ndarray, a: np.ndarray, b: np.ndarray, width: int):
    """Digit by digit, row by row (a row's value as far as it read, 0 when out of range)."""
    vals, oks = [], []
    for lo, hi in zip(a.tolist(), b.tolist(), strict=True):
        ok, v = 1 <= hi - lo <= width, 0
        for j in range(hi - lo if ok else 0):
            d = int(buf[min(lo + j, len(buf) - 1)]) - 48
            v = v * 10 + d
            if not 0 <= d <= 9:
                ok = False
                break
        vals.append(v)
        oks.append(ok)
    return np.array(vals, np.int64), np.array(oks, bool)


@pytest.mark.parametrize("width", [1, 4, 13])
def test_parse_uint_same_as_digit_by_digit(width: int) -> None:
    """Number fields of the framing (tag times, VDM counts, $PGHP dates) against the plain
    loop: values and verdicts for digits, empty, too long, signs, spaces and letters."""
    from picket.sources.ais_nmea_lines import parse_uint

    rng = np.random.default_rng(width)
    alphabet = np.frombuffer(b"0123456789012345678901234567890123456789 -+aZ.", np.uint8)
    buf = rng.choice(alphabet, 20000)
    a = np.sort(rng.integers(0, len(buf) - 20, 3000))
    b = a + rng.integers(0, width + 3, len(a))
    got_v, got_ok = parse_uint(buf, a, b, width)
    want_v, want_ok = _slow_parse_uint(buf, a, b, width)
    assert got_ok.tolist() == want_ok.tolist()
    assert got_v[got_ok].tolist() == want_v[want_ok].tolist()
    assert got_ok.sum() > 100 and (~got_ok).sum() > 100
