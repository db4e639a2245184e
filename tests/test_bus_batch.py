"""The bus without servers: report batches through the fixed binary layout, the stable
subject hash, the in-process bus, and the in-process cluster (publisher, two subject
workers and the area worker) giving one process's alerts on the demo's real wire bytes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from picket.bus import InProcessBus, shard_of
from picket.bus.batch import BatchError, BatchMeta, decode, encode
from picket.model.decoded import Decoded, Static
from picket.model.reports import COLUMNS, Domain, Kind, Reports
from tests.demo_case import alert_key, demo_case


def _batch(n: int, seed: int = 0) -> Decoded:
    rng = np.random.default_rng(seed)
    r = Reports.build(n, time=1.7e9 + np.sort(rng.uniform(0, 100, n)), domain=Domain.MARITIME,
                      kind=Kind.POSITION, subject=rng.integers(0, 1 << 50, n),
                      lat=rng.uniform(-90, 90, n), lon=rng.uniform(-180, 180, n),
                      speed=rng.uniform(0, 20, n), nav_status=rng.integers(-1, 15, n))  # fmt: skip
    r.cols["alt"][::3] = np.nan
    st = [Static(1.7e9 + 5, 42, {"name": "SEA WIND", "imo": 9123456, "to_bow": np.int64(30)})]
    return Decoded(r, st)


@pytest.mark.parametrize("n", [500, 501])
def test_a_batch_comes_back_column_for_column(n):
    d = _batch(n)
    meta = BatchMeta(7, 1.7e9 + 100, {int(Domain.MARITIME): 1.7e9 + 99.5}, False, 123.0)
    d2, m2 = decode(encode(d, meta))
    for c in COLUMNS:
        a, b = d.reports.cols[c], d2.reports.cols[c]
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), c
        # an odd row count puts 8-byte columns at odd offsets of the payload; NumPy's loops
        # over such a view are several times slower, so each column comes back aligned
        assert b.flags.aligned and b.flags.writeable, c
    assert (m2.seq, m2.watermark, m2.by_domain, m2.eof, m2.sent) == (7, meta.watermark,
                                                                      meta.by_domain, False, 123.0)
    assert [(s.time, s.subject, s.fields) for s in d2.statics] == [
        (1.7e9 + 5, 42, {"name": "SEA WIND", "imo": 9123456, "to_bow": 30})]
    e, me = decode(encode(Decoded.empty(), BatchMeta(8, float("nan"), eof=True)))
    assert len(e.reports) == 0 and me.eof and np.isnan(me.watermark)


def test_source_names_cross_the_process_boundary():
    """Source codes are per process (the decoder's `SourceTable`): a worker whose table
    numbers the same receivers otherwise still names each report's source rightly."""
    from picket.model.reports import SourceTable

    feed, worker = SourceTable(), SourceTable()
    d = _batch(300)
    names = ["rx-helsinki", "rx-tallinn", "dma.nmea"]
    d.reports.cols["source"][:] = [feed.code(names[i % 3]) for i in range(300)]
    d.reports.cols["source"][::7] = 0  # unknown stays unknown
    worker.code("rx-tallinn")  # the worker met another order first
    worker.code("other-feed")
    got, _ = decode(encode(d, BatchMeta(1, 1.7e9), feed), worker)
    want = [feed.name(int(c)) for c in d.reports.source]
    assert [worker.name(int(c)) for c in got.reports.source] == want
    assert not np.array_equal(got.reports.source, d.reports.source)  # renumbered, not copied
    same, _ = decode(encode(d, BatchMeta(1, 1.7e9), feed), feed)  # one process: untouched
    assert np.array_equal(same.reports.source, d.reports.source)


@pytest.mark.parametrize("bad", [b"", b"PKB1", b"XXXX\x02\x00\x00\x00{}", b"PKB1\x02\x00\x00\x00{}",
                                 None])  # fmt: skip
def test_a_bad_payload_is_refused_not_crashed_on(bad):
    if bad is None:  # a real batch cut short
        bad = encode(_batch(10), BatchMeta(1, 0.0))[:-3]
    with pytest.raises(BatchError):
        decode(bad)


def test_the_subject_hash_is_the_same_in_every_process():
    subjects = np.array([0, 1, 2, (2 << 48) | 219165000, (1 << 48) | 0x4A8333, -1, 2**62],
                        np.int64)  # fmt: skip

    def mix(x: int, n: int) -> int:  # the same 64-bit finaliser, in plain integers
        m = (1 << 64) - 1
        x &= m
        x ^= x >> 33
        x = (x * 0xFF51AFD7ED558CCD) & m
        x ^= x >> 33
        x = (x * 0xC4CEB9FE1A85EC53) & m
        x ^= x >> 33
        return x % n

    for n in (1, 2, 3, 7):
        assert shard_of(subjects, n).tolist() == [mix(int(s), n) for s in subjects]
    code = ("import numpy as np; from picket.bus import shard_of; "
            f"print(shard_of(np.array({subjects.tolist()}), 5).tolist())")  # fmt: skip
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
            for seed in ("1", "2")}  # fmt: skip
    assert outs == {str(shard_of(subjects, 5).tolist())}
    spread = np.bincount(shard_of(np.arange(10_000) + (2 << 48), 4), minlength=4)
    assert spread.min() > 2_300  # MMSIs in a row spread evenly


def test_in_process_bus_resumes_from_a_sequence_and_stores_a_repeat_once():
    bus = InProcessBus()
    seqs = [bus.publish(f"picket.reports.{i % 2}", bytes([i]), msg_id=f"m{i}") for i in range(6)]
    assert bus.publish("picket.reports.0", b"again", msg_id="m2") == seqs[2]
    sub = bus.subscribe("picket.reports.0", "w")
    assert [m.data for m in sub.fetch(10, 0.01)] == [b"\x00", b"\x02", b"\x04"]
    late = bus.subscribe("picket.reports.*", "w2", after_seq=seqs[3])
    assert [m.data for m in late.fetch(10, 0.01)] == [b"\x04", b"\x05"]
    assert sub.fetch(10, 0.01) == []


def test_in_process_cluster_makes_the_alerts_of_one_process(tmp_path):
    from picket.bus.stages import Publisher, Worker, publish_stream
    from picket.pipeline.replay import run_stream
    from picket.sinks.jsonl import MemorySink

    case = demo_case(tmp_path)
    asm, cuts, key = case.assemble, case.cuts, alert_key

    from picket.bus.sink import TRACKS, BusSink, read_alerts, read_tracks

    ref, out = MemorySink(), InProcessBus()
    run_stream(asm(ref, BusSink(out)).pipeline, cuts(), 10.0)
    # the edge on the bus: the same alert events, and each batch's newest fix per track
    latest = {a.id: a for m in out.messages("picket.alerts") for _, a in read_alerts(m.data)}
    assert latest.keys() == ref.alerts.keys()
    for k, a in latest.items():  # alert JSON carries times to the millisecond
        for x, y in zip(key(a), key(ref.alerts[k]), strict=True):
            assert x == pytest.approx(y, abs=1e-3) if isinstance(y, float) else x == y
    snaps = [read_tracks(m.data)[0] for m in out.messages(f"{TRACKS}.0")]
    assert len(snaps) > 100 and all(len(np.unique(r.subject)) == len(r) for r in snaps)
    assert all((r.subject >= 0).all() for r in snaps)
    bus = InProcessBus()
    publish_stream(Publisher(bus, 2), cuts(), 10.0)
    got = []
    for role, k in (("subject", 0), ("subject", 1), ("area", 0)):
        mem = MemorySink()
        w = Worker(asm(mem), bus, k, 2, role)
        w.run(lambda: False, until_eof=True)
        assert w.stats.batches > 100 and w.finished
        got += [key(a) for a in mem.alerts.values()]
    want = sorted(key(a) for a in ref.alerts.values())
    assert len(want) >= 8 and {k[1] for k in want} >= {"gnss.interference", "air.emergency",
                                                        "maritime.anchor_drag"}  # fmt: skip
    assert sorted(got) == want
