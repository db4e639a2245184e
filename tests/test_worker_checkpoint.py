"""A worker's checkpoints (pipeline state and bus position in the store) take a bounded
share of its time: asked to checkpoint after every message, it spaces them out."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from picket.bus import InProcessBus
from picket.bus.stages import ALL, CHECKPOINT_SHARE, Publisher, Worker, publish_stream


@pytest.mark.alone  # it weighs CPU time: not beside another test on the 2 cores
def test_checkpoints_take_a_bounded_share_of_a_worker(tmp_path):
    from picket.config import Config
    from picket.demo.run import decoded_chunks, write_geography
    from picket.model.rejects import Rejects
    from picket.pipeline.assemble import assemble
    from picket.sim import scenario

    scn = scenario.build(seed=7, duration_s=3600.0)
    z, i = write_geography(scn, Path(tmp_path))

    class Rj:
        rejects = Rejects(None)

    cuts: Any = itertools.takewhile(lambda d: not len(d.reports) or
                                    d.reports.time[0] < scn.start + 900.0,
                                    decoded_chunks(scn, Rj, 10.0))  # fmt: skip
    bus = InProcessBus()
    publish_stream(Publisher(bus, 0), cuts, 10.0)
    asm = assemble(Config(store_path=str(tmp_path / "store.db")), console=False,
                   zone_files=[z], line_files=[i])  # fmt: skip
    w = Worker(asm, bus, 0, 1, ALL, checkpoint_s=0.0)  # "after every message"
    c0 = time.thread_time()
    while not w.finished:
        w.step(max_msgs=1)
    cpu = time.thread_time() - c0
    st = w.stats
    assert st.batches > 80 and st.checkpoints >= 2
    assert st.checkpoints < st.batches / 4  # spaced out, not one per message
    # the share holds over the run, give or take three checkpoints: the first (after the
    # first message), the forced last one (the feed's end), and one the rule spaced by the
    # previous checkpoint's cost while the state it saved had grown since
    assert st.checkpoint_cpu_s <= CHECKPOINT_SHARE * cpu + 3 * w.checkpoint_cost_s + 0.05
    ck = asm.store.load_checkpoint(f"worker:{w.name}")
    assert ck is not None  # the last state is saved: a restart resumes from the end
    w.close()
