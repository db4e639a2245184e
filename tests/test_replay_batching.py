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
