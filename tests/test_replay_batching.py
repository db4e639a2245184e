"""Alerts depend on the reports, not on how a replay cuts them into batches.

Detectors time their alerts by the reports that raise them (a sustained rule
fires at its first qualifying report, a gap when the silence passed its limit,
an identity change at the static's time), so replaying the same real files in
ten-second batches or in hour-long ones must give the same alerts.
"""

import pytest

from picket.config import Config
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import batches, merge, run_stream
from picket.sinks.jsonl import MemorySink
from picket.sources.registry import read_file

FILES = ("dma_212123000_drift_bornholm_20141002.nmea", "dma_danish_waters_20131112_5min.nmea.gz",
         "aislib_stream_example_20100611.nmea")  # fmt: skip


def alerts_for(shared_data, batch_s: float, min_rows: int, max_span_s: float) -> set:
    cables = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    asm = assemble(Config(store_path=None), console=False, store=False, line_files=[cables])
    mem = MemorySink()
    asm.pipeline.sinks.append(mem)
    streams = [read_file(shared_data / "ais" / f, asm.rejects, "ais-nmea") for f in FILES]
    run_stream(asm.pipeline, merge(streams), batch_s, 0.0, None, min_rows, max_span_s)
    return {(a.kind, a.subject, round(a.time, 3), a.severity, a.status,
             None if a.closed_time is None else round(a.closed_time, 3))
            for a in mem.alerts.values()}  # fmt: skip


@pytest.mark.realdata
def test_small_and_large_batches_give_the_same_alerts(shared_data):
    small = alerts_for(shared_data, 10.0, 0, 0.0)
    large = alerts_for(shared_data, 60.0, 20_000, 3600.0)
    assert small, "the real files raise alerts (drift, loitering, identity)"
    assert {k for k, *_ in small} >= {"maritime.drift", "maritime.loitering"}
    assert small == large


def test_merged_batches_keep_every_report_and_static_in_time_order():
    import numpy as np

    from picket.model.decoded import Decoded, Static
    from picket.model.reports import Reports

    def chunk(ts):
        r = Reports.empty(len(ts))
        r.time[:] = ts
        return Decoded(r, [Static(float(ts[-1]) + 0.5, 1, {"name": "X"})])

    stream = [chunk(np.arange(0, 100, 5.0)), chunk(np.arange(100, 400, 5.0)),
              chunk(np.arange(4000, 4100, 5.0))]  # fmt: skip
    out = list(batches(iter(stream), 10.0, min_rows=50, max_span_s=600.0))
    times = np.concatenate([d.reports.time for d, _ in out])
    assert np.array_equal(times, np.concatenate([d.reports.time for d in stream]))
    assert sum(len(d.statics) for d, _ in out) == 3
    assert all(len(d.reports) <= 50 for d, _ in out[:-1])  # merged up to min_rows
    assert len(out) < 20  # far fewer than one batch per 10 s window
    # no batch spans the hour-long silence
    assert all(np.ptp(d.reports.time) <= 600 for d, _ in out if len(d.reports))


def test_synthetic_incidents_give_the_same_alerts_in_any_batching():
    """Anchor drag over a cable, a gap in the corridor, an encounter, a drift, known truth."""
    import numpy as np

    from picket.geo.geodesy import destination
    from tests.test_detectors_synthetic import background, feed, pipeline, ship, straight

    t = np.arange(0.0, 7200, 10)
    drag_lat, drag_lon = straight(59.5, 19.95, 90.0, 3.0, t)
    gap_lat, gap_lon = straight(59.4, 19.99, 0.0, 4.0, t)
    silent = (t > 1200) & (t < 1200 + 2700)
    enc_lat, enc_lon = straight(59.6, 19.5, 45.0, 0.8, t)
    enc2_lat, enc2_lon = destination(enc_lat, enc_lon, 90.0, 250.0)
    dr_lat, dr_lon = straight(59.2, 19.7, 180.0, 2.5, t)
    reports = [
        ship(273_111_000, t, drag_lat, drag_lon, 3.0, 90.0, status=1),
        ship(276_222_000, t[~silent], gap_lat[~silent], gap_lon[~silent], 4.0, 0.0),
        ship(230_444_000, t, enc_lat, enc_lon, 0.8, 45),
        ship(230_444_001, t, enc2_lat, enc2_lon, 0.8, 45),
        ship(230_666_000, t, dr_lat, dr_lon, 2.5, 180.0, hdg=100.0),
        *background(t),
    ]
    got = []
    for step in (10.0, 3600.0):
        p, mem = pipeline()
        feed(p, reports, step=step)
        got.append({(a.kind, a.subject, round(a.time, 3), a.severity, a.status,
                     None if a.closed_time is None else round(a.closed_time, 3))
                    for a in mem.alerts.values()})  # fmt: skip
    kinds = {k for k, *_ in got[0]}
    assert {"maritime.anchor_drag", "maritime.ais_gap", "maritime.encounter",
            "maritime.drift"} <= kinds  # fmt: skip
    assert got[0] == got[1]


@pytest.mark.realdata
def test_air_loitering_on_real_data_is_the_same_in_any_batching(shared_data):
    """The border-control aircraft flies orbits for hours: judged on fixed ticks, not batches."""
    f = shared_data / "air" / "border_control_channel_20200417.json.gz"
    got = []
    for batch_s, rows, span in ((1.0, 0, 0.0), (60.0, 20_000, 3600.0)):
        asm = assemble(Config(store_path=None), console=False, store=False)
        mem = MemorySink()
        asm.pipeline.sinks.append(mem)
        run_stream(asm.pipeline, merge([read_file(f, asm.rejects, "opensky")]), batch_s, 0.0,
                   None, rows, span)  # fmt: skip
        got.append({(a.kind, a.subject, round(a.time, 3), a.status) for a in mem.alerts.values()})
    assert any(k == "air.loitering" for k, *_ in got[0])
    assert got[0] == got[1]


def test_the_demo_gives_the_same_alerts_in_10_s_cuts_and_in_merged_batches(tmp_path):
    """Every detector of the demo (aircraft, ships, radar tracks, GNSS) on the simulated
    feeds through the real decoders: live-sized 10 s batches and a replay's merged ones
    (20,000 reports) raise the same alerts at the same times, predicted airspace entries
    included (judged at 10 s steps of event time, not at batch ends). An open alert's
    evidence refresh (`last_time`) is the one thing a batch boundary still moves."""
    from picket.pipeline.replay import MERGE_ROWS, MERGE_SPAN_S
    from tests.demo_case import demo_case

    case = demo_case(tmp_path)
    cuts = list(case.cuts(1300.0))

    def alerts(rows: int, span: float) -> set:
        mem = MemorySink()
        run_stream(case.assemble(mem).pipeline, iter(cuts), 10.0, 0.0, None, rows, span)
        return {(a.kind, a.subject, round(a.time, 3), a.severity, a.status,
                 None if a.closed_time is None else round(a.closed_time, 3),
                 a.evidence.get("predicted_entry"))
                for a in mem.alerts.values()}  # fmt: skip

    small = alerts(0, 0.0)
    assert {k for k, *_ in small} >= {"air.airspace_entry", "air.emergency",
                                       "gnss.interference", "maritime.anchor_drag"}
    assert any(p for *_, p in small), "a predicted entry among them"
    assert alerts(MERGE_ROWS, MERGE_SPAN_S) == small
