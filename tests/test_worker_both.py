"""`picket worker --role both`: a subject shard and an area partition in one process, on
the in-process bus (the real-server runs are in tests/test_cluster_nats.py)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from picket.bus import InProcessBus
from picket.bus.stages import AREA_STAGE, SUBJECT, Both, Publisher, Worker, area_partner


def test_the_heaviest_pieces_land_in_different_processes():
    # subject shard 0 runs the plot tracker, area partition 0 takes every aircraft
    assert [area_partner(k, 2, 2) for k in range(2)] == [1, 0]
    assert [area_partner(k, 2, 1) for k in range(2)] == [None, 0]
    assert [area_partner(k, 3, 2) for k in range(3)] == [None, 1, 0]
    with pytest.raises(ValueError):
        area_partner(0, 2, 3)  # more area partitions than workers: some would have none


@pytest.mark.parametrize("area", [1, 2])
def test_two_both_workers_make_the_alerts_of_one_process(tmp_path, area):
    from picket.config import Config
    from picket.demo.run import decoded_chunks, write_geography
    from picket.model.rejects import Rejects
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import run_stream
    from picket.sim import scenario
    from picket.sinks.jsonl import MemorySink

    scn = scenario.build(seed=7, duration_s=3600.0)
    z, i = write_geography(scn, Path(tmp_path))

    class Rj:
        rejects = Rejects(None)

    def cuts() -> Any:
        return itertools.takewhile(lambda d: not len(d.reports) or
                                   d.reports.time[0] < scn.start + 1300.0,
                                   decoded_chunks(scn, Rj, 10.0))  # fmt: skip

    def asm(*sinks: Any) -> Any:
        return assemble(Config(store_path=None), store=False, console=False, zone_files=[z],
                        line_files=[i], extra_sinks=list(sinks))  # fmt: skip

    def key(a: Any) -> tuple:
        return (a.id, a.kind, a.subject, a.time, a.last_time, a.status, a.closed_time)

    ref = MemorySink()
    run_stream(asm(ref).pipeline, cuts(), 10.0)
    bus = InProcessBus()
    from picket.bus.stages import publish_stream

    publish_stream(Publisher(bus, 2, area_parts=area), cuts(), 10.0)
    got, stages = [], []
    for k in range(2):
        mem = MemorySink()

        def make(role: str, part: int, parts: int, mem: Any = mem) -> Worker:
            stages.append((role, part, parts))
            return Worker(asm(mem), bus, part, parts, role)

        b = Both(make, k, 2, area)
        st = b.run(lambda: False, until_eof=True)
        assert all(w.finished for w in b.workers)
        assert st.batches == sum(w.stats.batches for w in b.workers) > 100
        got += [key(a) for a in mem.alerts.values()]
    want = sorted(key(a) for a in ref.alerts.values())
    assert len(want) >= 8 and {k[1] for k in want} >= {"gnss.interference", "air.emergency",
                                                        "maritime.anchor_drag"}  # fmt: skip
    assert sorted(got) == want
    assert stages == [(SUBJECT, 0, 2)] + [(AREA_STAGE, 1, 2)] * (area == 2) + [
        (SUBJECT, 1, 2), (AREA_STAGE, 0, area)]  # fmt: skip
