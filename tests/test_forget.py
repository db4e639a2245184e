"""Forgetting long-silent subjects: state follows the subjects in view, and a slot given to
a new subject carries nothing of the old one.

The differential test replays real AIS and ADS-B recordings three times over, each copy
weeks after the one before and under subject keys of its own, so no subject ever returns.
One pipeline never forgets; the other forgets every subject silent for a day. Nothing a
detector judges looks back that far over a silence here, so the alerts must be the same
event for event, while the forgetting pipeline holds one copy's tracks instead of three.
A detector or sink that left anything of a forgotten subject in its slot would hand it
to the next subject and change that subject's alerts.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.config import Config, ConfigError, load
from picket.fusion.tracks import TrackTable
from picket.model.decoded import Decoded, Static
from picket.model.reports import Domain, Reports
from picket.model.subjects import MASK
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import MERGE_ROWS, MERGE_SPAN_S, merge, run_stream
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink
from picket.sources.registry import read_file

AIS = ("dma_212123000_drift_bornholm_20141002.nmea", "dma_danish_waters_20131112_5min.nmea.gz",
       "aislib_stream_example_20100611.nmea", "dma_219165000_sudden_speed_change.nmea")  # fmt: skip
# calibration orbits (loitering), gliders, noisy data; not the recordings spanning weeks
# (the helicopter, Zurich's ground traffic), whose aircraft are silent for days between
# flights and so really are forgotten, and met again as new, by a pipeline that forgets
# after a day
AIR = ("calibration__bornholm.csv.gz", "calibration__kiruna.csv.gz", "gliders__sisteron.csv.gz",
       "noisy__noisy_landing.csv.gz", "noisy__noisy_takeoff.csv.gz",
       "calibration__vienna.csv.gz")  # fmt: skip
COPIES, SHIFT_S = 3, 60 * 86_400.0


def test_a_freed_slot_goes_to_the_next_new_subject_blank():
    t = TrackTable(capacity=4)
    s = t.slots_for(np.array([50, 10, 30, 20, 40]))
    assert s.tolist() == [4, 0, 2, 1, 3]  # new subjects in key order
    t.cols["lat"][s] = 55.0
    t.hist["t"][s, 0] = 1.0
    t.cols["hist_head"][s] = 1
    t.forget(np.array([1, 3, 3]))
    assert t.free.tolist() == [1, 3] and t.n_live == 3 and t.n == 5
    assert t.slot(20) is None and t.slot(40) is None and t.slot(30) == 2
    assert np.isnan(t.cols["lat"][[1, 3]]).all() and (t.cols["subject"][[1, 3]] == -1).all()
    assert np.isnan(t.hist["t"][[1, 3]]).all() and (t.cols["hist_head"][[1, 3]] == 0).all()
    # freed slots first (lowest first, new subjects in key order), then new rows
    s2 = t.slots_for(np.array([99, 5, 50, 7]))
    assert s2.tolist() == [5, 1, 4, 3] and t.n == 6 and not len(t.free)
    assert t.slots_for(np.array([20, 40, 7])).tolist() == [6, 7, 3]  # the old ones are new
    t.forget(np.array([1]))
    t.forget(np.array([1]))  # a free slot is not freed twice
    assert t.free.tolist() == [1]


def test_forget_after_s_from_config(tmp_path):
    p = tmp_path / "picket.toml"
    p.write_text("[pipeline]\nforget_after_s = {maritime = 3600, air = inf}\n")
    cfg = load(p)
    assert cfg.forget_after_s == {"maritime": 3600.0, "air": float("inf"),
                                  "space": 30 * 86_400.0, "em": 86_400.0}  # fmt: skip
    pipe = assemble(cfg, store=False, console=False).pipeline
    assert pipe.forget_after_s[Domain.MARITIME] == 3600.0
    assert pipe.forget_after_s[Domain.AIR] == float("inf")
    assert pipe.forget_after_s[Domain.SPACE] == 30 * 86_400.0  # unset: the default
    p.write_text("[pipeline]\nforget_after_s = 7200\n")
    assert set(load(p).forget_after_s.values()) == {7200.0}
    for bad in ("0", "-1", "{sea = 10}", '"1 day"'):
        p.write_text(f"[pipeline]\nforget_after_s = {bad}\n")
        with pytest.raises(ConfigError, match="forget_after_s"):
            load(p)


def test_picket_config_prints_the_limits_as_a_loadable_config(capsys):
    """`picket config` writes TOML (a table, not JSON) that loads back as it was."""
    import tomllib

    from picket.cli.main import main
    from picket.config import from_dict

    assert main(["config"]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert data["pipeline"]["forget_after_s"] == {"air": 86_400.0, "maritime": 604_800.0,
                                                  "space": 2_592_000.0, "em": 86_400.0}
    assert from_dict(data).forget_after_s == data["pipeline"]["forget_after_s"]


def test_every_default_component_can_forget():
    """A detector without `forget` would stop the pipeline from forgetting anything."""
    pipe = assemble(Config(store_path=None), store=False, console=False).pipeline
    lacking = [type(d).__qualname__ for d in pipe.detectors
               if not callable(getattr(d, "forget", None))]  # fmt: skip
    assert not lacking
    assert pipe.recycles()


def _shifted(d: Decoded, k: int, dt: float = 0.0) -> Decoded:
    """Copy k, `dt` + k x SHIFT_S later, every subject a new one of its namespace."""
    r = d.reports
    off = k * (1 << 40)  # inside the namespace's bits: MMSIs and ICAO addresses are smaller
    dt += k * SHIFT_S
    cols = {c: r[c].copy() for c in r.cols}
    cols["time"] = r.time + dt
    cols["subject"] = np.where(r.subject >= 0, r.subject + off, r.subject)
    assert ((cols["subject"][r.subject >= 0] & MASK) >= off).all()
    st = [Static(s.time + dt, s.subject + off, dict(s.fields)) for s in d.statics]
    return Decoded(Reports(cols), st)


def _from(start: float, decoded: list[Decoded]) -> list[Decoded]:
    """A recording moved to begin at `start` (the recordings span ten years)."""
    t0 = min(float(np.nanmin(d.reports.time)) for d in decoded if len(d.reports))
    return [_shifted(d, 0, start - t0) for d in decoded]


def _run(shared, forget_after_s: float | None):
    cables = shared / "geo" / "submarine_cables_telegeography_2021.geojson"
    asm = assemble(Config(store_path=None), console=False, store=False, line_files=[cables])
    pipe = asm.pipeline
    if forget_after_s is None:
        pipe.forget_after_s = dict.fromkeys(pipe.forget_after_s, np.inf)
    else:
        pipe.forget_after_s = dict.fromkeys(pipe.forget_after_s, forget_after_s)
    mem = MemorySink()
    pipe.sinks.append(mem)
    files = [(shared / "ais" / f, "ais-nmea") for f in AIS]
    files += [(shared / "air" / "traffic_samples" / f, "auto") for f in AIR]
    start = 1.6e9  # 2020-09-13
    recorded = list(merge([iter(_from(start, list(read_file(p, asm.rejects, fmt))))
                           for p, fmt in files]))  # fmt: skip
    span = max(float(d.reports.time.max()) for d in recorded if len(d.reports)) - min(
        float(d.reports.time.min()) for d in recorded if len(d.reports))
    assert span < SHIFT_S / 2, "the copies must not overlap in event time"
    live = []

    def copies():
        for k in range(COPIES):
            for d in recorded:
                yield _shifted(d, k)
            live.append(pipe.tracks.n_live)

    run_stream(pipe, copies(), 10.0, 0.0, None, MERGE_ROWS, MERGE_SPAN_S)
    events = sorted((a.id, a.kind, a.subject, round(a.time, 3), a.severity, a.status,
                     None if a.closed_time is None else round(a.closed_time, 3),
                     round(a.lat or 0, 6), round(a.lon or 0, 6))
                    for a in mem.alerts.values())  # fmt: skip
    return events, pipe, live


@pytest.mark.realdata
def test_forgetting_changes_no_alert_and_bounds_the_tracks(shared_data):
    kept, p_kept, live_kept = _run(shared_data, None)
    forgot, p_forgot, live_forgot = _run(shared_data, 86_400.0)
    kinds = {e[1] for e in kept}
    assert len(kept) >= 20 and {"maritime.drift", "air.loitering"} <= kinds, kinds
    assert forgot == kept
    assert p_kept.n_forgotten == 0 and p_kept.tracks.n == live_kept[-1]
    one = live_kept[0]
    assert live_kept == [one, 2 * one, 3 * one]
    # the forgetting pipeline forgot the earlier copies' subjects and reused their slots
    assert p_forgot.n_forgotten >= (COPIES - 1) * one * 0.95
    assert p_forgot.tracks.n <= one * 1.05, (p_forgot.tracks.n, one)
    assert max(live_forgot) <= one * 1.05


def test_a_vessel_gone_for_good_closes_its_gap_and_is_forgotten():
    """A vessel that goes dark in good reception and never returns: its gap is kept alive
    for `keep_open_s`, then left to close, and the vessel is forgotten after its silence
    limit; before the cap the open alert kept the track (and the alert) for ever."""
    from picket.detect.maritime_gap import AisGap, AisGapThresholds
    from picket.geo.zones import LineSet, ZoneSet
    from picket.model.subjects import Namespace, key
    from picket.model.world import World
    from tests.test_detectors_synthetic import background
    from tests.test_forget_maritime_area import _line, _push

    mem = MemorySink()
    det = AisGap(AisGapThresholds(keep_open_s=4 * 3600.0))
    p = Pipeline([det], [mem], World(zones=ZoneSet([]), lines=LineSet([])))
    p.forget_after_s[Domain.MARITIME] = 6 * 3600.0
    gone = 276_400_009
    t = np.arange(0.0, 12 * 3600, 10)
    _push(p, [_line(gone, t[t <= 1800], 59.40), *background(t)])
    gaps = [a for a in mem.alerts.values() if a.subject == f"mmsi:{gone:09d}"]
    assert len(gaps) == 1 and gaps[0].kind == "maritime.ais_gap"
    gap = gaps[0]
    assert gap.status == "closed"
    # kept alive until 4 h of silence, closed when quiet for the book's 30 min
    assert 1800 + 4 * 3600 - 60 <= gap.last_time <= 1800 + 4 * 3600
    assert gap.closed_time == gap.last_time
    assert p.tracks.slot(key(Namespace.MMSI, gone)) is None  # forgotten after 6 h
    assert not det.open and p.n_forgotten >= 1
