"""The distributed pipeline on real servers: nats-server with JetStream and PostgreSQL
with PostGIS on loopback in temp folders, workers as real processes.

The input is the demo's simulated wire bytes through the real decoders (the first 35
minutes of the Baltic scenario: air, maritime, radar plots and GNSS interference). One
plain pipeline and the cluster (two subject workers and one area worker) must store the
same alerts: ids, kinds, subjects, open/close times, and the same events per alert, also
when a worker is killed with SIGKILL mid-stream and restarted, and when the NATS server
and PostgreSQL are restarted under a running cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time as wall
import uuid
from pathlib import Path
from typing import Any

import pytest

from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres
from tests.demo_case import demo_case

LIMIT_S = 2100.0  # event seconds of the scenario: 12 alerts of 9 kinds, area ones included
RUN = "import sys; from picket.cli.main import main; sys.exit(main())"

pytestmark = pytest.mark.skipif(bool(why_no_nats()), reason=why_no_nats() or "")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:
    """The scenario's decoded cuts (decoded once), its geography, and the alerts and events
    one plain pipeline makes of them."""
    from picket.pipeline.replay import run_stream

    case = demo_case(tmp_path_factory.mktemp("geo"))
    cuts, zones, infra = list(case.cuts(LIMIT_S)), case.zones, case.infra
    events: list[tuple[str, str, int]] = []

    class Events:
        def emit(self, evs: list) -> None:
            events.extend((what, a.id, a.updates) for what, a in evs)

        def tracks(self, ctx: Any) -> None:
            pass

        def close(self) -> None:
            pass

    from picket.sinks.jsonl import MemorySink
    from picket.sinks.store_sink import StoreSink

    class Points:  # the track history a store would be given, as (subject, time)
        def __init__(self) -> None:
            self.rows: list[tuple[int, float]] = []
            self.db = self  # StoreSink.close commits

        def commit(self) -> None:
            pass

        def add_track_points(self, cols: dict) -> None:
            self.rows += zip(cols["subject"].tolist(), cols["time"].tolist(), strict=True)

        def record(self, evs: list) -> None:
            pass

    mem, points = MemorySink(), Points()
    asm = case.assemble(mem, Events(), StoreSink(points, 30.0))  # the workers' default
    # publishing reads the same objects: copy the reports the pipeline may edit in place
    run_stream(asm.pipeline, iter([_copy(d) for d in cuts]), 10.0)
    return {"cuts": cuts, "zones": zones, "infra": infra,
            "alerts": sorted(_key(a) for a in mem.alerts.values()),
            "events": sorted(events), "points": sorted(points.rows),
            "sources": {a.id: cited(a.evidence) for a in mem.alerts.values()}}  # fmt: skip


def cited(ev: Any) -> list[str]:
    """The source names an alert's evidence cites (its reports' receivers and files)."""
    if isinstance(ev, dict):
        return sorted({s for k, v in ev.items()
                       for s in ([v] if k == "source" and isinstance(v, str) else cited(v))})
    if isinstance(ev, list):
        return sorted({s for v in ev for s in cited(v)})
    return []


def _copy(d: Any) -> Any:
    from picket.model.decoded import Decoded
    from picket.model.reports import Reports

    return Decoded(Reports({c: v.copy() for c, v in d.reports.cols.items()}), list(d.statics))


def _key(a: Any) -> tuple:
    return (a.id, a.kind, a.subject, round(a.time, 6), round(a.last_time or a.time, 6),
            a.status, None if a.closed_time is None else round(a.closed_time, 6))  # fmt: skip


@pytest.fixture
def nats_srv():
    srv = LocalNats()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def pg():
    why = why_no_postgres()
    if why:
        pytest.skip(why)
    srv = LocalPostgres()
    yield srv
    srv.close()


def publish(url: str, cuts: list, shards: int, pace_s: float = 0.0, area: int = 1) -> int:
    from picket.bus.jetstream import JetStreamBus
    from picket.bus.stages import Publisher

    bus = JetStreamBus(url)
    pub = Publisher(bus, shards, source="demo-" + uuid.uuid4().hex[:6], area_parts=area)
    last = float("nan")
    for d in cuts:
        hi = float(d.reports.time[-1]) if len(d.reports) else last
        last = hi
        pub.publish(_copy(d), hi)
        if pace_s:
            wall.sleep(pace_s)
    from picket.model.decoded import Decoded

    pub.publish(Decoded.empty(), last, eof=True)
    bus.close()
    return pub.seq


def worker(nats_url: str, db: str, demo: dict, role: str, part: str, cwd: Path,
           *extra: str) -> Any:  # fmt: skip
    cmd = [sys.executable, "-c", RUN, "worker", "--role", role, "--partition", part, "--nats",
           nats_url, "--store", db, "--zones", str(demo["zones"]), "--infrastructure",
           str(demo["infra"]), "--until-eof", "--checkpoint-s", "0.5", *extra]  # fmt: skip
    log = open(cwd / f"{role}-{part.replace('/', 'of')}.log", "ab")  # noqa: SIM115
    return subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip


def cluster(nats_url: str, db: str, demo: dict, cwd: Path, area: int = 1) -> dict[str, Any]:
    """Two subject workers and `area` area partitions (H3 cells, `picket.bus.area`)."""
    areas = [(f"area{k}" if area > 1 else "area", "area", f"{k}/{area}") for k in range(area)]
    return {name: worker(nats_url, db, demo, role, part, cwd)
            for name, role, part in [("s0", "subject", "0/2"), ("s1", "subject", "1/2"),
                                     *areas]}  # fmt: skip


def wait_all(procs: dict[str, Any], cwd: Path, timeout: float = 150.0) -> None:
    end = wall.monotonic() + timeout
    for name, p in procs.items():
        try:
            rc = p.wait(max(1.0, end - wall.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs.values():
                q.kill()
            logs = "\n".join(f.read_text()[-2000:] for f in cwd.glob("*.log"))
            pytest.fail(f"worker {name} did not finish:\n{logs}")
        assert rc == 0, (name, rc, "\n".join(f.read_text()[-3000:] for f in cwd.glob("*.log")))


def stored_points(db: str, tmp: Path) -> list[tuple[int, float]]:
    """The stored track history as sorted (subject, time)."""
    from picket.store import open_store

    st = open_store(db, tmp / "read")
    try:
        return sorted((int(r[0]), float(r[1])) for r in st.track_points(limit=-1))
    finally:
        st.close()


def stored(db: str) -> tuple[list, list]:
    from picket.store import open_store

    st = open_store(db)
    try:
        alerts = st.alert_objects()
        events = sorted((e["what"], a.id, int(e["updates"])) for a in alerts
                        for e in st.alert_events(a.id))  # fmt: skip
        return sorted(_key(a) for a in alerts), events
    finally:
        st.close()


@pytest.mark.parametrize("area", [1, 2])
def test_two_workers_store_the_alerts_one_process_makes(demo, nats_srv, pg, tmp_path, area):
    """Two subject shards, and the area stage whole or on two H3-cell partitions."""
    assert len(demo["alerts"]) >= 8 and {k[1] for k in demo["alerts"]} >= {
        "gnss.interference", "maritime.ais_gap", "air.emergency", "maritime.drift"}
    db = pg.new_database()
    cuts = publish(nats_srv.url, demo["cuts"], 2, area=area)
    assert cuts == len(demo["cuts"]) + 1
    # four workers share the cores with the servers: more time on a busy machine
    wait_all(cluster(nats_srv.url, db, demo, tmp_path, area), tmp_path, 150.0 * (1 + area) / 2)
    alerts, events = stored(db)
    assert alerts == demo["alerts"]
    assert events == demo["events"]
    assert_sources_named(db, demo)


def assert_sources_named(db: str, demo: dict) -> None:
    """The workers name the sources as one process does (codes are per process)."""
    from picket.store import open_store

    named = {k: v for k, v in demo["sources"].items() if v and v != ["unknown"]}
    assert len(named) >= 3, demo["sources"]
    st = open_store(db)
    try:
        assert {a.id: cited(a.evidence) for a in st.alert_objects()
                if a.id in named} == named  # fmt: skip
    finally:
        st.close()


def kill_once_checkpointed(db: str, proc: Any, names: tuple[str, ...]) -> None:
    """kill -9 a worker mid-stream, once each of its stages (`names`) has checkpointed."""
    from picket.store import open_store

    st = open_store(db)
    end = wall.monotonic() + 90.0
    while wall.monotonic() < end:
        cks = [st.load_checkpoint(f"worker:{n}") for n in names]
        if all(ck is not None and ck[1] > 0 for ck in cks):
            break
        assert proc.poll() is None, "worker finished before it could be killed"
        wall.sleep(0.2)
    st.close()
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def test_a_killed_worker_resumes_and_loses_or_repeats_nothing(demo, nats_srv, pg, tmp_path):
    db = pg.new_database()
    publish(nats_srv.url, demo["cuts"], 2)
    procs = cluster(nats_srv.url, db, demo, tmp_path)
    kill_once_checkpointed(db, procs["s0"], ("subject-0-of-2",))
    procs["s0"] = worker(nats_srv.url, db, demo, "subject", "0/2", tmp_path)
    wait_all(procs, tmp_path)
    said = (tmp_path / "subject-0of2.log").read_text()
    assert "resumed after sequence" in said  # the restart carried on from its checkpoint
    alerts, events = stored(db)
    assert alerts == demo["alerts"]
    assert events == demo["events"]
    assert_sources_named(db, demo)  # the restored state's source codes kept their names
    # the track history too: what the killed worker wrote again after its checkpoint met
    # its own points (the straight COPY refused, the staging table's ON CONFLICT took it)
    assert stored_points(db, tmp_path) == demo["points"] and len(demo["points"]) > 1000


def test_restarted_nats_and_postgres_are_reconnected_nothing_lost(demo, nats_srv, tmp_path):
    why = why_no_postgres()
    if why:
        pytest.skip(why)
    own_pg = LocalPostgres()  # this test stops it: its own server
    try:
        db = own_pg.new_database()
        procs = cluster(nats_srv.url, db, demo, tmp_path)
        end = wall.monotonic() + 60.0  # every worker connected before the outages
        while wall.monotonic() < end and sum(
                "reading" in f.read_text() for f in tmp_path.glob("*.log")) < 3:  # fmt: skip
            wall.sleep(0.2)
        feeder = threading.Thread(target=publish, args=(nats_srv.url, demo["cuts"], 2, 0.05))
        feeder.start()
        wall.sleep(2.0)
        nats_srv.stop()  # the broker goes away under the feed and the workers
        wall.sleep(2.0)
        nats_srv.start()
        wall.sleep(2.0)
        own_pg.stop()  # and then the store
        wall.sleep(2.0)
        own_pg.start()
        feeder.join(120)
        assert not feeder.is_alive()
        wait_all(procs, tmp_path)
        for f in tmp_path.glob("*.log"):  # both outages hit every worker mid-run
            said = f.read_text()
            assert "disconnected" in said and "reconnected" in said, f.name
            assert "connection failed" in said or "terminating connection" in said, f.name
        alerts, events = stored(db)
        assert alerts == demo["alerts"]
        assert events == demo["events"]
    finally:
        own_pg.close()


@pytest.mark.parametrize("area", [1, 2])
def test_two_both_workers_store_the_alerts_one_process_makes_through_a_kill(
        demo, nats_srv, pg, tmp_path, area):  # fmt: skip
    """`--role both`: two processes, each a subject shard, and the area stage whole beside
    shard 1 or split in two (one partition beside each shard). The worker with both
    stages is killed mid-stream, once both have checkpointed, and started again."""
    db = pg.new_database()
    publish(nats_srv.url, demo["cuts"], 2, area=area)
    opts = ("--area-shards", str(area))
    procs = {f"b{k}": worker(nats_srv.url, db, demo, "both", f"{k}/2", tmp_path, *opts)
             for k in range(2)}  # fmt: skip
    names = ("subject-1-of-2", f"area-0-of-{area}")
    kill_once_checkpointed(db, procs["b1"], names)
    procs["b1"] = worker(nats_srv.url, db, demo, "both", "1/2", tmp_path, *opts)
    wait_all(procs, tmp_path)
    said = (tmp_path / "both-1of2.log").read_text()
    assert " + ".join(names) in said and "resumed after sequence" in said
    if area == 1:  # shard 0's worker has no area partition
        assert "area" not in (tmp_path / "both-0of2.log").read_text().split("reading")[0]
    alerts, events = stored(db)
    assert alerts == demo["alerts"]
    assert events == demo["events"]
    assert stored_points(db, tmp_path) == demo["points"]
