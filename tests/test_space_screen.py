"""Conjunction screening against the dense brute-force reference, and its pieces."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from picket.detect.space_conjunction import ConjunctionThresholds, conjunction_signals
from picket.model.alerts import AlertBook
from picket.model.rejects import Rejects
from picket.sinks.jsonl import JsonlSink
from picket.space.brute import brute_force
from picket.space.cdm import cdm_text
from picket.space.elements import ElementSets
from picket.space.probability import circle_probability, max_probability
from picket.space.propagate import EARTH_RADIUS_KM, Propagator
from picket.space.read import read_elements
from picket.space.report import SOCRATES_COLUMNS, ConjunctionReport
from picket.space.screen import ScreenConfig, count_overlaps, screen


def compare(prop: Propagator, start: float, days: float, **cfg) -> tuple[list, list, list]:
    """(matched [(dt, d_range_km)], missed reference events, extra picket events)."""
    c, _ = screen(prop, start, days * 86400.0, ScreenConfig(**cfg))
    ref = brute_force(prop, start, days * 86400.0, coarse_s=30.0)
    mine = list(zip(c.i.tolist(), c.j.tolist(), c.tca.tolist(), c.miss_km.tolist(), strict=True))
    matched, missed, used = [], [], set()
    for i, j, t, m in ref:
        hit = [k for k, x in enumerate(mine) if x[:2] == (i, j) and abs(x[2] - t) < 30]
        if hit:
            used.add(hit[0])
            matched.append((mine[hit[0]][2] - t, mine[hit[0]][3] - m))
        else:
            missed.append((i, j, t, m))
    extra = [x for k, x in enumerate(mine) if k not in used]
    return matched, missed, extra


@pytest.mark.realdata
@pytest.mark.slow
def test_screening_matches_dense_brute_force(shared_data):
    """1 day, 300 objects drawn at random from the crowded 530-580 km shell.

    The issue asks for >= 2,000 objects drawn from the whole catalogue; the dense
    reference costs n^2 x steps, so that size runs in `picket bench space --check`
    and this CI test takes a smaller, denser sample to still see tens of events.
    """
    es = read_elements(shared_data / "space/celestrak_omm_catalog_20241101.csv", Rejects())
    full = Propagator(es)
    alt_p, alt_a = full.perigee_km - EARTH_RADIUS_KM, full.apogee_km - EARTH_RADIUS_KM
    shell = np.flatnonzero((alt_p > 530) & (alt_a < 580))
    idx = np.sort(np.random.default_rng(11).choice(shell, 300, replace=False))
    prop = Propagator(es.take(idx))
    start = float(np.floor(np.quantile(es.epoch, 0.99) / 60) * 60)
    matched, missed, extra = compare(prop, start, 1.0)
    assert len(matched) + len(missed) >= 10  # the sample does hold events
    assert len(matched) / (len(matched) + len(missed)) >= 0.995, missed
    dt = np.abs([m[0] for m in matched])
    dr = np.abs([m[1] for m in matched])
    assert dt.max() < 1.0 and dr.max() < 0.010
    assert not extra  # nothing the reference does not have either


def _elements(**cols) -> ElementSets:
    n = len(cols["norad"])
    base = dict(
        name=np.array([f"SYN {k}" for k in range(n)]), object_id=np.full(n, ""),
        bstar=np.zeros(n), ndot=np.zeros(n), nddot=np.zeros(n), provider=np.full(n, "syn"),
        row=np.arange(n), classification=np.full(n, "U"),
    )  # fmt: skip
    base.update(cols)
    return ElementSets.build(n, **base)


def test_head_on_fast_encounter_is_found_and_refined():
    """Two eccentric orbits on one ellipse, flown in opposite directions, both at perigee
    (~200 km, 8.9 km/s) at the epoch: a 17.8 km/s head-on collision at t0, then repeat
    meetings drifting apart. Every local minimum under 5 km that a dense scan finds,
    the screener finds too, at the same TCA and range."""
    t0 = 1.7e9
    a = 6578.0 / 0.7  # perigee radius 6578 km with e = 0.3
    mm = 86400.0 / (2 * np.pi * np.sqrt(a**3 / 398600.8))
    es = _elements(
        norad=np.array([90001, 90002]), epoch=np.full(2, t0), mean_motion=np.full(2, mm),
        ecc=np.full(2, 0.3), incl=np.array([51.6, 128.4]), raan=np.array([10.0, 190.0]),
        argp=np.array([0.0, 180.0]), mean_anomaly=np.zeros(2),
    )  # fmt: skip
    prop = Propagator(es)
    c, _ = screen(prop, t0 - 600, 0.5 * 86400.0, ScreenConfig(threshold_km=5.0))
    assert len(c) >= 1
    k = int(np.argmin(np.abs(c.tca - t0)))
    assert abs(c.tca[k] - t0) < 2.0 and c.miss_km[k] < 0.5 and c.speed_kms[k] > 17.0
    ref = brute_force(prop, t0 - 600, 0.5 * 86400.0, coarse_s=10.0)
    assert len(ref) == len(c)
    for (i, j, t, m), tt, mm_ in zip(ref, c.tca, c.miss_km, strict=True):
        assert (i, j) == (0, 1) and abs(t - tt) < 1e-3 and abs(m - mm_) < 1e-4


def test_apogee_perigee_pair_count_matches_enumeration():
    rng = np.random.default_rng(3)
    lo = rng.uniform(6500, 8000, 400)
    hi = lo + rng.exponential(300, 400)
    brute = sum(
        int(lo[i] <= hi[j] and lo[j] <= hi[i]) for i in range(400) for j in range(i + 1, 400)
    )
    assert count_overlaps(lo, hi) == brute


def test_probability_formulas():
    # centred: P = 1 - exp(-R^2 / 2 s^2) exactly
    assert np.isclose(circle_probability(0.0, 0.01, 0.1), 1 - np.exp(-0.5 * 0.01))
    # far from the body, the maximum over sigma is R^2 / (e d^2) at sigma = d / sqrt(2)
    p, s = max_probability(np.array([1.0, 0.02]), np.array([0.005, 0.001]))
    assert np.isclose(p[0], 0.005**2 / (np.e * 1.0), rtol=1e-3)
    assert np.isclose(s[0], 1 / np.sqrt(2))
    sig = np.geomspace(1e-4, 1, 20000)
    assert np.isclose(p[1], circle_probability(0.02, 0.001, sig).max(), rtol=1e-3)


def test_outputs_socrates_csv_cdm_and_alerts(tmp_path):
    t0 = 1.7e9
    a = 6578.0 / 0.7
    mm = 86400.0 / (2 * np.pi * np.sqrt(a**3 / 398600.8))
    es = _elements(
        norad=np.array([90001, 90002]), epoch=np.full(2, t0), mean_motion=np.full(2, mm),
        ecc=np.full(2, 0.3), incl=np.array([51.6, 128.4]), raan=np.array([10.0, 190.0]),
        argp=np.array([0.0, 180.0]), mean_anomaly=np.zeros(2),
        name=np.array(["SAT A", "SL-4 R/B"]),
    )  # fmt: skip
    prop = Propagator(es)
    c, _ = screen(prop, t0 - 600, 3600.0)
    rep = ConjunctionReport.build(c, prop.elements)
    out = tmp_path / "c.csv"
    rep.write_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert tuple(rows[0]) == SOCRATES_COLUMNS
    assert rows[0]["NORAD_CAT_ID_1"] == "90001" and rows[0]["OBJECT_NAME_2"] == "SL-4 R/B"
    assert float(rows[0]["TCA_RANGE"]) == pytest.approx(c.miss_km[0], abs=1e-3)
    assert float(rows[0]["DSE_1"]) == pytest.approx((c.tca[0] - t0) / 86400, abs=1e-3)
    text = cdm_text(rep, 0, t0)
    kv = dict(x.split(" = ", 1) for x in text.splitlines() if " = " in x)
    assert float(kv["MISS_DISTANCE"].split()[0]) == pytest.approx(c.miss_km[0] * 1000, abs=1e-3)
    rel = [float(kv[f"RELATIVE_POSITION_{q}"].split()[0]) for q in "RTN"]
    assert np.linalg.norm(rel) == pytest.approx(c.miss_km[0] * 1000, rel=1e-6, abs=1e-3)
    sigs = conjunction_signals(rep, t0 - 600, ConjunctionThresholds(alert_km=5.0))
    assert [s.subject for s in sigs] == ["norad:90001"] and sigs[0].kind == "space.conjunction"
    assert sigs[0].severity == "critical"  # hundreds of metres at most: inside 200 m or 1e-4
    ev = sigs[0].evidence
    assert ev["other"] == "norad:90002" and "no covariance" in ev["probability_assumptions"]
    sink = JsonlSink(tmp_path / "a.jsonl")
    sink.emit(AlertBook().apply(sigs))
    sink.close()
    alert = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert alert["kind"] == "space.conjunction" and alert["evidence"]["tca"].endswith("Z")
