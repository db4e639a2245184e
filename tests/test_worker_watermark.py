"""Several feeds into one worker: event time advances by the minimum watermark over the
live feeds (`Worker(feeds=N)`), and a feed silent for `idle_s` stops holding it back.

In process (the real bus, publishers and worker): a fast feed published whole before a
slow one, the worst order, must still give the alerts one pipeline makes of both merged
by event time; a worker that takes each cut as it comes (one feed assumed) does not.
With real processes: two `picket feed` processes at different speeds on NATS, a worker
storing to PostgreSQL (tests/test_cluster_watermark.py would be the place if it grows).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from picket.bus import InProcessBus
from picket.bus.stages import ALL, Publisher, Worker
from picket.geo.geodesy import KNOT, destination
from picket.model.decoded import Decoded
from picket.model.reports import Reports
from picket.sinks.jsonl import MemorySink
from tests.test_bus_area import copy, cuts_of, key_of, one_process, pipeline, ship

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"


def two_feeds() -> tuple[list, list]:
    """A vessel that goes dark for 20 minutes (the slow feed) among traffic that gives
    good reception (the fast feed)."""
    t = np.arange(0.0, 5400, 10)
    la, lo = destination(np.full(len(t), 59.5), np.full(len(t), 19.5), 0.0, 4.0 * KNOT * t)
    silent = (t > 1200) & (t < 1200 + 1500)
    dark = ship(276_222_000, t[~silent], la[~silent], lo[~silent], 4.0, 0.0)
    crowd = []
    for i in range(8):
        ba, bo = destination(59.55, 19.5, 45.0 * i, 5_000.0 + 2_500.0 * (i % 3))
        ca, co = destination(np.full(len(t), ba), np.full(len(t), bo), 90.0, 6.0 * KNOT * t)
        crowd.append(ship(230_000_100 + i, t, ca, co, 6.0, 90.0))
    return cuts_of([dark]), cuts_of(crowd)


def run_worker(bus: InProcessBus, feeds: int, idle_s: float = 30.0) -> tuple[list, Worker]:
    mem = MemorySink()
    asm = SimpleNamespace(pipeline=pipeline([mem]), store=None, rejects=None, close=lambda: None)
    w = Worker(asm, bus, 0, 1, ALL, feeds=feeds, idle_s=idle_s)
    w.run(lambda: False, until_eof=True)
    return sorted(key_of(a) for a in mem.alerts.values()), w


def publish(bus: InProcessBus, source: str, cuts: list, eof: bool = True) -> None:
    pub = Publisher(bus, 1, source)
    last = float("nan")
    for d, hi in cuts:
        pub.publish(copy(d), hi)
        last = hi
    if eof:
        pub.publish(Decoded.empty(), last, eof=True)


def test_a_fast_feed_waits_for_the_slow_one():
    slow, fast = two_feeds()
    merged = sorted(slow + fast, key=lambda c: c[1])
    ref = one_process(merged)
    assert "maritime.ais_gap" in {a[1] for a in ref}
    bus = InProcessBus()
    publish(bus, "fast", fast)  # all of the fast feed before any of the slow one
    publish(bus, "slow", slow)
    got, w = run_worker(bus, feeds=2)
    assert got == ref
    assert w.stats.late == 0 and w.stats.held_steps > 0
    naive, _ = run_worker(bus, feeds=1)  # each cut as it comes: the slow feed is late
    assert naive != ref


def test_a_silent_feed_stops_holding_event_time_back():
    slow, fast = two_feeds()
    ref = one_process(sorted(slow + fast, key=lambda c: c[1]))
    bus = InProcessBus()
    quiet = Reports.concat([slow[0][0].reports]).take(slice(0, 1))  # one early report
    mute = [(Decoded(quiet), float(quiet.time[0]))]
    publish(bus, "mute", mute, eof=False)  # says one thing, then nothing, never ends
    publish(bus, "fast", fast)
    publish(bus, "slow", slow)
    t0 = time.monotonic()
    got, w = run_worker(bus, feeds=3, idle_s=1.0)
    assert time.monotonic() - t0 >= 1.0  # it waited for the mute feed first
    assert w.stats.idle_feeds == 1 and "mute" in w.idle
    assert got == ref  # its one report is a repeat of the slow feed's first


def test_two_feed_processes_at_different_speeds(shared_data, tmp_path):
    from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres

    why = why_no_nats() or why_no_postgres()
    if why:
        pytest.skip(why)
    from picket.cli.worker_cmd import file_stream
    from picket.config import Config
    from picket.model.rejects import Rejects
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import run_stream
    from picket.store import open_store

    src = shared_data / "ais/dma_212123000_drift_bornholm_20141002.nmea"
    # two receivers of one area: the capture's records (tag, $PGHP, sentence) dealt out
    records, cur = [[], []], []
    for line in src.read_bytes().splitlines(keepends=True):
        if line.startswith(b"\\") and cur:
            records[len(records[0]) > len(records[1])].append(b"".join(cur))
            cur = []
        cur.append(line)
    records[0].append(b"".join(cur))
    files = []
    for k, recs in enumerate(records):
        f = tmp_path / f"receiver{k}.nmea"
        f.write_bytes(b"".join(recs))
        files.append(f)
    mem = MemorySink()
    asm = assemble(Config(store_path=None), store=False, console=False, extra_sinks=[mem])
    run_stream(asm.pipeline, file_stream([str(f) for f in files], "auto", Rejects(None)), 10.0)
    want = sorted(key_of(a) for a in mem.alerts.values())
    assert want
    nats, pg = LocalNats(), LocalPostgres()
    try:
        db = pg.new_database()

        def picket(*args: str) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-c", RUN, *args, "--nats", nats.url],
                                    cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)  # fmt: skip

        stats = tmp_path / "worker.json"
        w = picket("worker", "--role", "all", "--store", db, "--until-eof", "--feeds", "2",
                   "--stats-out", str(stats))  # fmt: skip
        time.sleep(3.0)
        fast = picket("feed", "--source", "fast", str(files[0]))
        slow = picket("feed", "--source", "slow", "--speed", "4000", str(files[1]))  # ~13 s
        outs = {n: p.communicate(timeout=240)[0] for n, p in (("fast", fast), ("slow", slow),
                                                              ("worker", w))}  # fmt: skip
        assert fast.returncode == slow.returncode == w.returncode == 0, outs
        st = open_store(db)
        got = sorted(key_of(a) for a in st.alert_objects())
        st.close()
    finally:
        nats.close()
        pg.close()
    said = json.loads(Path(stats).read_text())
    assert said["late"] == 0 and said["held_steps"] > 1, said
    # the same alerts, opened and closed at the same times; an open alert's last update
    # follows the batching (updates are paced per batch), which differs here
    assert [k[:4] + k[5:] for k in got] == [k[:4] + k[5:] for k in want]
