"""`picket worker --role both`: a subject shard and an area partition in one process, on
the in-process bus (the real-server runs are in tests/test_cluster_nats.py)."""

from __future__ import annotations

from typing import Any

import pytest

from picket.bus import InProcessBus
from picket.bus.stages import AREA_STAGE, SUBJECT, Both, Publisher, Worker, area_partner
from tests.demo_case import alert_key, demo_case


def test_the_heaviest_pieces_land_in_different_processes():
    # subject shard 0 runs the plot tracker, area partition 0 takes every aircraft
    assert [area_partner(k, 2, 2) for k in range(2)] == [1, 0]
    assert [area_partner(k, 2, 1) for k in range(2)] == [None, 0]
    assert [area_partner(k, 3, 2) for k in range(3)] == [None, 1, 0]
    with pytest.raises(ValueError):
        area_partner(0, 2, 3)  # more area partitions than workers: some would have none


@pytest.mark.parametrize("area", [1, 2])
def test_two_both_workers_make_the_alerts_of_one_process(tmp_path, area):
    from picket.pipeline.replay import run_stream
    from picket.sinks.jsonl import MemorySink

    case = demo_case(tmp_path)
    asm, cuts, key = case.assemble, case.cuts, alert_key

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
