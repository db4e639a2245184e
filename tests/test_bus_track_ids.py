"""Global track ids on the wire (`picket.bus.global_ids`): the track snapshots subject
workers publish (`Worker(publish_tracks=True)`) key tracks by ids that are the same after
a worker restarts from its checkpoint, and that two workers never share, where table
slots (what the picture carried before) collide between workers.

The input is the first 15 minutes of the demo's Baltic scenario through the real decoders
(AIS, Beast and radar plots: shard 0 runs the plot tracker, whose anonymous tracks are
numbered by its own checkpointed state); the store is a real SQLite file.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from picket.bus import InProcessBus, global_ids, shard_of
from picket.bus.picture import PICTURE, decode
from picket.bus.stages import SUBJECT, Publisher, Worker
from picket.model.decoded import Decoded
from picket.model.reports import Reports
from picket.model.subjects import SHIFT, Namespace, key

LIMIT_S = 900.0


@pytest.fixture(scope="module")
def bus() -> InProcessBus:
    from picket.demo.run import decoded_chunks
    from picket.model.rejects import Rejects
    from picket.sim import scenario

    scn = scenario.build(seed=7, duration_s=3600.0)

    class Rj:
        rejects = Rejects(None)

    cuts = list(itertools.takewhile(
        lambda d: not len(d.reports) or d.reports.time[0] < scn.start + LIMIT_S,
        decoded_chunks(scn, Rj, 10.0)))  # fmt: skip
    b = InProcessBus()
    pub = Publisher(b, 2, "demo", area=False)
    last = float("nan")
    for d in cuts:
        last = float(d.reports.time[-1]) if len(d.reports) else last
        pub.publish(Decoded(Reports({c: v.copy() for c, v in d.reports.cols.items()}),
                            list(d.statics)), last)  # fmt: skip
    pub.publish(Decoded.empty(), last, eof=True)
    return b


def worker(bus: InProcessBus, shard: int, db: Path | None, name: str) -> Worker:
    from picket.config import Config
    from picket.pipeline.assemble import assemble

    cfg = Config(store_path=str(db) if db else None)
    asm = assemble(cfg, store=db is not None, console=False)
    return Worker(asm, bus, shard, 2, SUBJECT, name=name, publish_tracks=True)


def snapshots(bus: InProcessBus, since: int) -> tuple[dict[int, int], set[int], int]:
    """subject -> gid and the slots of the picture messages after the first `since`."""
    msgs = list(bus.messages(PICTURE))
    ids: dict[int, int] = {}
    slots: set[int] = set()
    for m in msgs[since:]:
        s = decode(m.data)
        for subj, gid in zip(s.cols["subject"].tolist(), s.cols["gid"].tolist(), strict=True):
            assert ids.setdefault(subj, gid) == gid  # one id per track, all along
        slots.update(s.cols["slot"].tolist())
    return ids, slots, len(msgs)


def run(bus: InProcessBus, shard: int, name: str, db: Path | None = None,
        stop_after: int | None = None) -> tuple[dict[int, int], set[int], Worker]:  # fmt: skip
    n0 = len(list(bus.messages(PICTURE)))
    w = worker(bus, shard, db, name)
    w.run(lambda: stop_after is not None and w.stats.batches >= stop_after, until_eof=True)
    w.close()
    ids, slots, _ = snapshots(bus, n0)
    return ids, slots, w


def test_global_ids_are_a_function_of_the_subject_and_the_plot_tracker_shard():
    k = np.array([key(Namespace.MMSI, 230_000_001), key(Namespace.ICAO, 0x4B1801),
                  key(Namespace.TRACK, 7)], np.int64)  # fmt: skip
    a, b = global_ids(k, 0), global_ids(k, 1)
    assert (a[:2] == b[:2]).all() and a[2] != b[2]  # anonymous: the shard is in the id
    assert (a >= 0).all() and len(set(a.tolist())) == 3
    many = np.arange(1, 200_000, dtype=np.int64) | (int(Namespace.MMSI) << SHIFT)
    assert len(np.unique(global_ids(many))) == len(many)


def test_two_workers_never_collide(bus):
    ids0, slots0, _ = run(bus, 0, "ids-a0")
    ids1, slots1, _ = run(bus, 1, "ids-a1")
    assert len(ids0) > 50 and len(ids1) > 50
    assert slots0 & slots1  # table slots do collide between workers
    assert not set(ids0.values()) & set(ids1.values())
    named = [s for s in ids1 if s >> SHIFT != int(Namespace.TRACK)]
    assert (shard_of(np.array(named), 2) == 1).all()
    assert any(s >> SHIFT == int(Namespace.TRACK) for s in ids0)  # radar tracks, shard 0


def test_ids_of_continuing_tracks_survive_a_restart(bus, tmp_path):
    ref, _, _ = run(bus, 0, "ids-ref")
    db = tmp_path / "store.db"
    before, _, w1 = run(bus, 0, "ids-r", db, stop_after=40)
    assert not w1.finished and w1.last_seq > 0
    after, _, w2 = run(bus, 0, "ids-r", db)
    assert w2.finished and w2.stats.batches < 60  # resumed: only what followed was read
    both = set(before) & set(after)
    anon = [s for s in both if s >> SHIFT == int(Namespace.TRACK)]
    assert len(both) > 20 and anon  # radar tracks that go on over the restart
    assert all(before[s] == after[s] == ref[s] for s in both)
    assert after == {s: ref[s] for s in after}
