"""Manoeuvre detection: ISS reboosts in real element-set history, synthetic steps with truth."""

from __future__ import annotations

import numpy as np
import pytest

from picket.detect.space_manoeuvre import manoeuvre_signals
from picket.model.alerts import AlertBook, parse_time
from picket.model.rejects import Rejects
from picket.space.elements import ElementSets
from picket.space.manoeuvres import detect_manoeuvres
from picket.space.read import read_elements


@pytest.mark.realdata
def test_iss_reboosts_found_and_quiet_stretches_stay_quiet(shared_data):
    es = read_elements(shared_data / "space/iss_tle_history_2021_2022.txt", Rejects())
    m = detect_manoeuvres(es)
    day = (m.t_after >= parse_time("2021-11-10T12:00Z")) & (m.t_after < parse_time("2021-11-12"))
    assert day.sum() == 1
    assert 1.2 < m.d_sma_km[day][0] < 1.8  # +1.5 km reboost
    assert m.t_before[day][0] < parse_time("2021-11-11T02:00Z") < m.t_after[day][0]
    big = np.abs(m.d_sma_km) > 0.9
    assert big.sum() >= 9  # the large reboosts of 2021-2022 (about one a month or two)
    # 14 months of history: a few alerts a month at most, none in known quiet stretches
    assert len(m) <= 25
    for a, b in (("2021-06-26", "2021-08-20"), ("2021-10-14", "2021-11-09")):
        quiet = (m.t_after > parse_time(a)) & (m.t_after < parse_time(b))
        assert not quiet.any(), (a, b)
    # each manoeuvre is its own (closed) alert
    events = AlertBook().apply(manoeuvre_signals(m))
    opened = [a for kind, a in events if kind == "open"]
    assert len(opened) == len(m) and {a.subject for a in opened} == {"norad:25544"}
    assert all(a.status == "closed" for a in opened)


def _history(seed: int, steps: dict[float, float], days: float = 120.0) -> ElementSets:
    """A 400 km orbit decaying 80 m/day, SMA noise 40 m, 3-5 sets a day, given SMA steps."""
    rng = np.random.default_rng(seed)
    t0 = 1.6e9
    t = np.sort(t0 + rng.uniform(0, days * 86400.0, int(days * 4)))
    sma = 6778.0 - 0.08 * (t - t0) / 86400.0 + rng.normal(0, 0.04, len(t))
    for at, dsma in steps.items():
        sma += np.where(t >= t0 + at * 86400.0, dsma, 0.0)
    mm = 86400.0 / (2 * np.pi * np.sqrt(sma**3 / 398600.8))
    n = len(t)
    return ElementSets.build(
        n, norad=np.full(n, 99999), name=np.full(n, "SYN"), epoch=t, mean_motion=mm,
        ecc=np.full(n, 0.0005), incl=51.6 + rng.normal(0, 0.003, n),
        raan=np.mod(100.0 - 5.0 * (t - t0) / 86400.0 + rng.normal(0, 0.005, n), 360.0),
        argp=np.zeros(n), mean_anomaly=np.zeros(n), bstar=np.zeros(n), ndot=np.zeros(n),
        nddot=np.zeros(n), provider=np.full(n, "syn"), row=np.arange(n),
    )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_synthetic_steps_found_where_they_are(seed):
    truth = {20.3: 1.5, 47.8: 0.6, 75.1: -0.9, 101.6: 0.35}
    m = detect_manoeuvres(_history(seed, truth))
    t0 = 1.6e9
    assert len(m) == len(truth)
    for (at, d), tb, ta, got in zip(
        sorted(truth.items()), m.t_before, m.t_after, m.d_sma_km, strict=True
    ):
        assert tb <= t0 + at * 86400.0 <= ta  # the burn lies between the two sets
        assert abs(got - d) < 0.12


def test_no_manoeuvre_in_drag_and_noise_alone():
    for seed in range(5):
        assert len(detect_manoeuvres(_history(seed, {}))) == 0


@pytest.mark.realdata
def test_pipeline_detector_on_streamed_element_sets(shared_data):
    """The replay-time detector, fed the reader's statics a day at a time, finds what the
    offline pass finds, each manoeuvre once."""
    from types import SimpleNamespace

    from picket.detect.space_manoeuvre import SpaceManoeuvre
    from picket.sources.registry import read_file

    path = shared_data / "space/iss_tle_history_2021_2022.txt"
    statics = [s for d in read_file(path, Rejects(), fmt="space-elements") for s in d.statics]
    statics.sort(key=lambda s: s.time)
    det = SpaceManoeuvre()
    day = np.floor(np.array([s.time for s in statics]) / 86400.0)
    sigs = []
    for d in np.unique(day):
        batch = [s for s, x in zip(statics, day, strict=True) if x == d]
        sigs += det.update(SimpleNamespace(statics=batch))
    online = sorted(s.time for s in sigs if not s.ended)
    offline = detect_manoeuvres(read_elements(path, Rejects())).t_after
    assert len(online) == len(set(online))
    assert abs(len(online) - len(offline)) <= 2
    near = [min(abs(t - offline)) for t in online]
    assert sum(x < 86400 for x in near) >= len(offline) - 2
    assert any(abs(t - parse_time("2021-11-11T02:09:54Z")) < 86400 for t in online)
