"""One driver loop (`pipeline/driver.py`) serves replay, live and the demo; the server's
metrics come from the bus; `LiveSink` holds frames to `min_interval_s`, latest wins.

Real pipelines, real loopback sockets, a real HTTP server, real recordings."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import numpy as np
import pytest

from picket.bus import InProcessBus
from picket.bus.picture import PICTURE
from picket.config import Config, SourceConfig
from picket.model.alerts import Alert
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.pipeline import metrics
from picket.pipeline.assemble import assemble
from picket.pipeline.driver import Driver
from picket.pipeline.live import run_live
from picket.pipeline.replay import replay_files
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, LiveSink, start_server
from picket.sinks.jsonl import MemorySink
from picket.store.sqlite import Store
from tests.test_hub_bus import T0, batch

DRIFT = "dma_212123000_drift_bornholm_20141002.nmea"  # a drifting ship off Bornholm


def _alerts(mem: MemorySink) -> set:
    return {(a.kind, a.subject, round(a.time, 3), a.severity, a.status,
             None if a.closed_time is None else round(a.closed_time, 3))
            for a in mem.alerts.values()}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.realdata
def test_a_recording_sent_live_gives_the_alerts_of_its_replay(shared_data, tmp_path):
    """The same bytes replayed from the file (event-time batches, merged as fast as
    possible) and sent over a real TCP socket to `run_live` (0.2 s wall-clock batches):
    one driver, the same door, the same alerts."""
    path = shared_data / "ais" / DRIFT
    replayed = MemorySink()
    asm = assemble(Config(store_path=None), console=False, store=False, extra_sinks=[replayed])
    replay_files(asm.pipeline, [(path, "ais-nmea")], asm.rejects)
    want, accepted = _alerts(replayed), asm.rejects.accepted

    port = _free_port()
    live = MemorySink()
    asm = assemble(Config(store_path=None), console=False, store=False, extra_sinks=[live])
    src = SourceConfig(name="ais", format="ais-nmea", listen_tcp=f"127.0.0.1:{port}")
    stop, logs = threading.Event(), []
    th = threading.Thread(target=run_live, args=(asm, [src], tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": logs.append,
                                  "max_seconds": 60}, daemon=True)  # fmt: skip
    th.start()
    deadline = time.monotonic() + 10
    while not any("listening on" in x for x in logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    data = path.read_bytes()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        for k in range(0, len(data), 7001):  # chunks that cut sentences anywhere
            c.sendall(data[k : k + 7001])
    deadline = time.monotonic() + 30
    while asm.rejects.accepted < accepted and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    th.join(timeout=20)
    assert want, "the recording raises alerts"
    assert asm.rejects.accepted == accepted
    assert _alerts(live) == want


def test_checkpoints_are_timed_by_the_driver():
    """`Pipeline.process` alone never checkpoints (B4's workers keep their own); the
    driver does between batches when one is due, and once more at the end."""
    saved: list[float] = []
    pipe = Pipeline(detectors=[], sinks=[], rejects=Rejects())
    pipe.checkpointer, pipe.checkpoint_s = (lambda p: saved.append(p.now)), 0.0
    for k in range(3):
        pipe.process(batch(k))
    assert saved == []
    drv = Driver(pipe, flush_tracker=False)
    for k in range(3, 6):
        drv.step(batch(k))
    assert saved == [T0 + 30, T0 + 40, T0 + 50]
    pipe.checkpoint_s = 3600.0
    drv.step(batch(6))
    assert len(saved) == 3  # not due
    summary = drv.finish()
    assert saved[-1] == T0 + 60 and len(saved) == 4
    assert summary.reports == pipe.n_reports > 0


def test_the_door_is_the_drivers_for_every_configuration(tmp_path):
    """A chunk dated before 1980 or ahead of its receive clock is turned away and counted
    by the driver's door, against the arrival time live and the wall clock otherwise."""
    rej = Rejects()
    drv = Driver(Pipeline(detectors=[], sinks=[], rejects=rej))
    t = np.array([T0, 100.0, time.time() + 3600, np.nan])
    r = Reports.build(time=t, domain=np.full(4, Domain.MARITIME), kind=np.full(4, Kind.POSITION),
                      subject=np.arange(1, 5), lat=np.full(4, 55.0), lon=np.full(4, 14.0))
    kept = drv.door(Decoded(r, []), "wall")
    assert kept.reports.time.tolist() == [T0]
    assert (rej.counts["time.before_min"], rej.counts["time.ahead_of_clock"],
            rej.counts["time.missing"]) == (1, 1, 1)  # fmt: skip
    late = drv.door(Decoded(r, []), "recv", recv=T0 - 3600)  # received an hour before T0
    assert len(late.reports) == 0 and rej.counts["time.ahead_of_clock"] == 3


def _metrics(url: str) -> dict:
    return httpx.get(url + "/api/metrics", timeout=10).json()


def test_api_metrics_shows_what_the_pipeline_published_on_the_bus(tmp_path):
    rej = Rejects()
    pipe = Pipeline(detectors=[], sinks=[], rejects=rej)
    hub = LiveHub(tick_s=0.05)
    live = LiveSink(hub, pipeline=pipe)
    pipe.sinks.append(live)
    store = Store(tmp_path / "picket.sqlite")
    srv = start_server(store, hub, port=0)
    try:
        m = _metrics(srv.url)
        assert m["accepted"] is None and m["rejects"] == {}  # nothing published yet
        rej.accept(7)
        nameless = batch(0).reports.take(np.array([0]))
        nameless.cols["subject"] = np.array([-1])
        pipe.process(Decoded(Reports.concat([batch(0).reports, nameless]), []))
        m = _metrics(srv.url)
        assert m["accepted"] == 7 and m["rejects"] == {"pipeline.no_subject": 1}
        rej.reject("test.between_batches", "here", None)  # counted, not yet published
        assert "test.between_batches" not in _metrics(srv.url)["rejects"]
        pipe.process(batch(1))
        m = _metrics(srv.url)
        assert m["rejects"]["test.between_batches"] == 1 and m["rejected"] == 2
        prom = httpx.get(srv.url + "/metrics", timeout=10).text
        assert 'picket_input_rejected_total{reason="test.between_batches"} 1.0' in prom
        # a pipeline elsewhere (another process) publishes on the same bus: it is shown
        other = Rejects()
        other.accept(5)
        other.reject("ais.malformed", "x", None, n=3)
        hub.bus.publish(metrics.METRICS, metrics.encode(metrics.snapshot(other)))
        m = _metrics(srv.url)
        assert (m["accepted"], m["rejects"]) == (5, {"ais.malformed": 3})
        hub.bus.publish(metrics.METRICS, b"[not a snapshot]")
        assert _metrics(srv.url)["accepted"] == 5  # the newest that reads
        assert hub.bus_errors == 1
    finally:
        srv.stop()
        store.close()


def _pair(min_interval_s: float) -> tuple[Pipeline, LiveSink, LiveHub, Any]:
    """A pipeline, its edge and a hub on their own bus; and a reader that counts what
    went out (picture, metrics) whatever the hub has read."""
    bus = InProcessBus()
    hub = LiveHub(tick_s=0.05, bus=bus)
    pipe = Pipeline(detectors=[], sinks=[], rejects=Rejects())
    live = LiveSink(hub, min_interval_s=min_interval_s, pipeline=pipe)
    pipe.sinks.append(live)
    taps = {s: bus.subscribe(s, f"test-{s}") for s in (PICTURE, metrics.METRICS)}
    return pipe, live, hub, lambda s: len(taps[s].fetch(100_000, 0))


def test_live_sink_holds_frames_to_min_interval_and_the_latest_wins():
    every, live_e, hub_e, sent_e = _pair(0.0)
    held, live_h, hub_h, sent_h = _pair(3600.0)
    for k in range(12):  # ship names arrive in batch 3; new ships join every batch
        every.process(batch(k))
        held.process(batch(k))
    assert live_e.published == 12 and sent_e(PICTURE) == 12
    assert live_h.published == 1 and sent_h(PICTURE) == 1  # batch 0 only
    assert sent_e(metrics.METRICS) == 12 and sent_h(metrics.METRICS) == 1  # with the frames
    assert len(hub_h.current()) < len(hub_e.current())
    a = Alert(id="a" + "0" * 15, kind="maritime.ais_gap", severity="warning", time=T0,
              domain="maritime", subject="mmsi:211000001", lat=55.0, lon=14.0,
              summary="gap", evidence={}, last_time=T0)  # fmt: skip
    live_h.emit([("open", a)])
    assert list(hub_h.open_alerts) == [a.id]  # alert events are never held back
    live_h.close()  # what is held goes out as one snapshot, with the final counts
    assert live_h.published == 2 and sent_h(PICTURE) == 1 and sent_h(metrics.METRICS) == 1
    want, got = hub_e.current(), hub_h.current()
    assert len(got) == len(want) > 20
    for c, v in want.cols.items():
        assert np.array_equal(got[c], v, equal_nan=v.dtype.kind == "f"), c
    assert hub_h.labels == hub_e.labels and hub_h.labels
    for tid in range(len(want)):  # every history point of the held batches arrived
        for x, y in zip(hub_h.tracks_ref.history(tid), hub_e.tracks_ref.history(tid),
                        strict=True):  # fmt: skip
            assert np.array_equal(x, y)


def test_the_harbours_layer_is_what_the_pipeline_published(tmp_path):
    """The map's learned harbours come from the bus (`picket.harbours`), not from the
    learner the pipeline thread is changing."""
    from picket.detect.harbours import HarbourLearner
    from picket.model.world import World

    learner = HarbourLearner()
    learner.cells = {(1000 << 24) + 4000: T0, (1001 << 24) + 4000: T0 + 60}
    pipe = Pipeline(detectors=[], sinks=[], rejects=Rejects(), world=World(harbours=learner))
    hub = LiveHub(tick_s=0.05)
    live = LiveSink(hub, pipeline=pipe)
    pipe.sinks.append(live)
    store = Store(tmp_path / "picket.sqlite")
    srv = start_server(store, hub, port=0)
    try:
        def layer() -> list[int]:
            fc = httpx.get(srv.url + "/api/layers/harbours", timeout=10).json()
            return sorted(f["properties"]["cell"] for f in fc["features"])

        pipe.process(batch(0))
        assert layer() == sorted(learner.cells)
        learner.cells[(1002 << 24) + 4000] = T0 + 120  # learnt in the pipeline's thread...
        pipe.process(batch(1))
        assert len(layer()) == 2  # ... and not shown before the next publication is due
        live.close()
        assert layer() == sorted(learner.cells) and len(learner.cells) == 3
    finally:
        srv.stop()
        store.close()


def test_watchlist_entries_reach_the_pipeline_as_commands(tmp_path):
    """The API's entries change the World only in the pipeline's thread, before its next
    batch (a `picket.cmd.watchlist` command); a command that is not one is refused."""
    from picket.bus import CMD
    from picket.detect.watchlist import WatchBox

    operator = "operator-token-0123456789"
    store = Store(tmp_path / "picket.sqlite")
    pipe = Pipeline(detectors=[], sinks=[], rejects=Rejects())
    hub = LiveHub(tick_s=0.05)
    live = LiveSink(hub, pipeline=pipe)
    pipe.sinks.append(live)
    srv = start_server(store, hub, port=0, tokens={operator: ("olga", "operator")})
    try:
        r = httpx.post(srv.url + "/api/watchlist", json={"match": "mmsi:211000002"},
                       headers={"authorization": f"Bearer {operator}"}, timeout=10)
        assert r.status_code == 201
        assert pipe.world.watchlist_api is None  # the HTTP thread did not touch the World
        pipe.process(batch(0))
        box = pipe.world.watchlist_api
        assert isinstance(box, WatchBox)
        assert [row["match"] for row in box.rows] == ["mmsi:211000002"]
        hub.bus.publish(f"{CMD}.watchlist", b'{"rows": 3}')
        pipe.process(batch(1))
        # the stored list at the server's start and the POST came in one take: newest wins
        assert live.commands["refused"] == 1 and len(box.rows) == 1 and live.watchlists == 1
    finally:
        srv.stop()
        store.close()
