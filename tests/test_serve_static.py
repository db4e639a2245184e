"""The static picture (`picket.static`, `picket.bus.static`): a server builds its zones,
infrastructure, sky layer and incident rules only from that one bus message, the same
whether the pipeline runs beside it (`LiveSink`) or in the cluster's workers on NATS
JetStream (the subject worker of shard 0 with `--publish-tracks`).

Real components throughout: the demo's geography files read by `assemble`, the real hub
and HTTP server, and for the cluster a real nats-server, PostgreSQL and `picket worker`
processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time as wall
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from picket.bus import CMD, InProcessBus
from picket.bus.static import MAGIC, STATIC, StaticError, encode_static, read_static, static_doc
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.serve import LiveHub, LiveSink, start_server
from picket.store.sqlite import Store
from tests.demo_case import demo_case

T0 = 1_736_935_200.0
OPERATOR = "operator-token-0123456789"
RUN = "import sys; from picket.cli.main import main; sys.exit(main())"
BALTIC = (9.0, 53.5, 30.5, 66.0)


@pytest.fixture(scope="module")
def geo(tmp_path_factory) -> dict[str, Any]:
    """The demo's zones and cables as files (what `picket cluster up --demo` hands the
    workers), and what they hold, read here independently of picket's loaders."""
    case = demo_case(tmp_path_factory.mktemp("geo"))
    z, i = case.zones, case.infra
    names = {k: sorted(f["properties"]["name"] for f in json.loads(p.read_text())["features"])
             for k, p in (("zones", z), ("infrastructure", i))}  # fmt: skip
    assert names["zones"] and names["infrastructure"]
    return {"zones": z, "infrastructure": i, "names": names, "case": case}


def assembled(geo: dict[str, Any]) -> Any:
    return geo["case"].assemble()


def layer_names(url: str, name: str, headers: dict | None = None) -> list[str]:
    fc = httpx.get(f"{url}/api/layers/{name}", headers=headers or {}, timeout=10).json()
    return sorted(f["properties"]["name"] for f in fc["features"])


def wait_for(what: Any, timeout: float = 60.0) -> Any:
    end = wall.monotonic() + timeout
    while wall.monotonic() < end:
        got = what()
        if got:
            return got
        wall.sleep(0.1)
    return what()


def feed_scenario(url: str, buses: list, seconds: float, case: Any) -> set[int]:
    """The demo scenario's first `seconds` through the real decoders, published to two
    subject shards as `picket feed` does; the named subjects with a position among them."""
    from picket.bus.jetstream import JetStreamBus
    from picket.bus.stages import Publisher

    bus = JetStreamBus(url)
    buses.append(bus)
    pub = Publisher(bus, 2, "static-test", area=False)
    named: set[int] = set()
    last = case.scn.start
    for d in case.cuts(seconds):
        r = d.reports
        pos = (r.kind == Kind.POSITION) & np.isfinite(r.lat)
        named.update(r.subject[pos].tolist())
        last = float(r.time[-1]) if len(r) else last
        pub.publish(d, last)
    return named


def _try(fn: Any, *args: Any) -> Any:
    """`fn(*args)`, or None while the server is not answering yet."""
    try:
        return fn(*args)
    except httpx.TransportError:
        return None


def one_ship(k: int) -> Decoded:
    r = Reports.build(time=np.array([T0 + 10 * k]), domain=np.array([Domain.MARITIME]),
                      kind=np.array([Kind.POSITION]),
                      subject=np.array([key(Namespace.MMSI, 211000001)]),
                      lat=np.array([55.0]), lon=np.array([14.0]))  # fmt: skip
    return Decoded(r, [])


def test_layers_reach_a_server_only_over_the_bus_and_follow_zone_edits(geo, tmp_path):
    """Servers made after the pipeline's edge, holding only its bus, show its zones and
    cables; a hub whose bus never carried the message shows none (no hand-over in memory);
    an operator's zone edit, once the pipeline applied it, goes out as a newer static
    picture that a server started later shows."""
    asm = assembled(geo)
    pipe = asm.pipeline
    pipe.world.incidents = {"distance_m": 4000.0}
    bus = InProcessBus()
    beside = LiveHub(tick_s=0.05, bus=bus)
    pipe.sinks.append(LiveSink(beside, min_interval_s=0.0, pipeline=pipe))
    elsewhere = LiveHub(tick_s=0.05)  # its own bus: the edge's message never reaches it
    LiveSink(elsewhere, pipeline=pipe, bus=InProcessBus())
    assert elsewhere.layers == {} and elsewhere.static == {}

    remote = LiveHub(tick_s=0.05, bus=bus)  # made afterwards, from the bus alone
    store = Store(tmp_path / "p.sqlite")
    srv = start_server(store, remote, port=0, tokens={OPERATOR: ("olga", "operator")})
    h = {"authorization": f"Bearer {OPERATOR}"}
    try:
        assert layer_names(srv.url, "zones", h) == geo["names"]["zones"]
        assert layer_names(srv.url, "infrastructure", h) == geo["names"]["infrastructure"]
        assert remote.static["incidents"] == {"distance_m": 4000.0}
        v0 = remote.static["version"]
        assert v0["source"] == "live" and v0["geography"] == pipe.world.version
        # the cables keep their geometry (lines) and the detectors' properties
        fc = httpx.get(srv.url + "/api/layers/infrastructure", headers=h).json()
        assert {f["geometry"]["type"] for f in fc["features"]} <= {"LineString",
                                                                    "MultiLineString"}
        assert len(fc["features"]) == len(pipe.world.lines.features)

        zone = {"type": "Feature", "properties": {"name": "TEMP R-9", "kind": "restricted"},
                "geometry": {"type": "Polygon", "coordinates": [
                    [[14.1, 54.9], [14.6, 54.9], [14.6, 55.1], [14.1, 55.1], [14.1, 54.9]]]}}
        assert httpx.post(srv.url + "/api/layers/zones", json=zone, headers=h).status_code == 201
        assert len(list(bus.messages(f"{CMD}.zones"))) == 1
        n_static = len(list(bus.messages(STATIC)))
        pipe.process(one_ship(0))  # the edge applies the command before the batch
        assert "TEMP R-9" in pipe.world.zones.names
        assert len(list(bus.messages(STATIC))) == n_static + 1
        pipe.process(one_ship(1))  # nothing new: no new static picture
        assert len(list(bus.messages(STATIC))) == n_static + 1
    finally:
        srv.stop()
        store.close()
    later = LiveHub(tick_s=0.05, bus=bus)
    later.sync()
    names = sorted(f["properties"]["name"] for f in later.layers["zones"]["features"])
    assert names == sorted([*geo["names"]["zones"], "TEMP R-9"])
    assert later.static["version"]["geography"] > v0["geography"]


def _box(name: str, lon: float) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name, "kind": "restricted"},
            "geometry": {"type": "Polygon", "coordinates": [
                [[lon, 54.9], [lon + 0.3, 54.9], [lon + 0.3, 55.1], [lon, 55.1], [lon, 54.9]]]}}


@contextlib.contextmanager
def two_servers(geo: dict, tmp_path: Any) -> Iterator[tuple[Any, str, str, dict[str, str]]]:
    """One pipeline with a live edge on an in-process bus, and two servers of it, each
    with its own store and an operator ("analyst-0", "analyst-1"): (pipeline, URL of A,
    URL of B, the operator's headers)."""
    asm = assembled(geo)
    pipe = asm.pipeline
    bus = InProcessBus()
    pipe.sinks.append(LiveSink(LiveHub(tick_s=0.05, bus=bus), min_interval_s=0.0,
                               pipeline=pipe))  # fmt: skip
    stores, srvs = [], []
    try:
        for k in range(2):
            stores.append(Store(tmp_path / f"{k}.sqlite"))
            srvs.append(start_server(stores[-1], LiveHub(tick_s=0.05, bus=bus), port=0,
                                     tokens={OPERATOR: (f"analyst-{k}", "operator")}))
        yield pipe, srvs[0].url, srvs[1].url, {"authorization": f"Bearer {OPERATOR}"}
    finally:
        for srv in srvs:
            srv.stop()
        for st in stores:
            st.close()


def test_edits_on_two_servers_both_reach_the_pipeline(geo, tmp_path):
    """Two analysts on two servers of one pipeline: a zone drawn on server A, once the
    pipeline took it, is in server B's editor, so the zone then drawn on B is added beside
    it instead of B's whole list (without A's zone) replacing the pipeline's; A's editor
    then shows B's zone, and the edit history of a zone survives its return over the bus."""
    with two_servers(geo, tmp_path) as (pipe, a, b, h):
        assert wait_for(lambda: layer_names(b, "zones", h) == geo["names"]["zones"])
        assert httpx.post(a + "/api/layers/zones", json=_box("ALPHA", 14.0),
                          headers=h).status_code == 201  # fmt: skip
        pipe.process(one_ship(0))  # the pipeline takes A's edit and republishes its zones
        assert "ALPHA" in pipe.world.zones.names
        assert wait_for(lambda: "ALPHA" in layer_names(b, "zones", h), 10.0)
        assert httpx.post(b + "/api/layers/zones", json=_box("BRAVO", 15.0),
                          headers=h).status_code == 201  # fmt: skip
        pipe.process(one_ship(1))
        want = sorted([*geo["names"]["zones"], "ALPHA", "BRAVO"])
        assert sorted(pipe.world.zones.names) == want
        assert wait_for(lambda: layer_names(a, "zones", h) == want, 10.0)
        fc = httpx.get(a + "/api/layers/zones", headers=h).json()["features"]
        alpha = next(f for f in fc if f["properties"]["name"] == "ALPHA")
        assert alpha["properties"]["edited_by"] == "analyst-0"  # kept on the server it was made
        ids = [f["properties"]["id"] for f in fc]
        assert len(set(ids)) == len(ids)


def test_edits_on_two_servers_in_one_batch_all_reach_the_pipeline(geo, tmp_path):
    """Two analysts edit zones on two servers before the pipeline's next batch: each edit
    goes as itself (a put or delete by the zone's id), so all of them apply, where two
    whole lists would let the later one undo the other's. The start-up zones carry no id
    in their files: servers and pipeline number them alike."""
    with two_servers(geo, tmp_path) as (pipe, a, b, h):
        names = list(pipe.world.zones.names)  # in the pipeline's order
        assert len(names) >= 3
        assert wait_for(lambda: layer_names(b, "zones", h) == sorted(names))
        assert wait_for(lambda: layer_names(a, "zones", h) == sorted(names))
        fc = httpx.get(a + "/api/layers/zones", headers=h).json()["features"]
        ids = {f["properties"]["name"]: f["properties"]["id"] for f in fc}
        gone, moved = names[0], names[1]
        # all before one batch: A adds ALPHA and deletes a zone, B adds BRAVO and
        # redraws another zone under a new name
        assert httpx.post(a + "/api/layers/zones", json=_box("ALPHA", 14.0),
                          headers=h).status_code == 201  # fmt: skip
        assert httpx.delete(f"{a}/api/layers/zones/{ids[gone]}", headers=h).status_code == 200
        assert httpx.post(b + "/api/layers/zones", json=_box("BRAVO", 15.0),
                          headers=h).status_code == 201  # fmt: skip
        assert httpx.put(f"{b}/api/layers/zones/{ids[moved]}", json=_box("MOVED", 16.0),
                         headers=h).status_code == 200  # fmt: skip
        pipe.process(one_ship(0))
        want = [n for n in names if n != gone]
        want[want.index(moved)] = "MOVED"  # in its place: the others' indices stay
        assert pipe.world.zones.names == [*want, "ALPHA", "BRAVO"]
        got = [f.properties["id"] for f in pipe.world.zones.features]
        assert len(set(got)) == len(got)
        for url in (a, b):  # each server's editor follows the pipeline's list
            assert wait_for(lambda u=url: layer_names(u, "zones", h) == sorted(
                [*want, "ALPHA", "BRAVO"]), 10.0)  # fmt: skip


def test_a_large_static_picture_is_compressed_and_one_too_large_drops_its_layers(geo):
    from picket.geo.zones import ZoneSet

    asm = assembled(geo)
    w = asm.pipeline.world
    boxes = [(f"Z{i}", "restricted", [[10 + i * 0.01, 55], [10.005 + i * 0.01, 55],
                                       [10.005 + i * 0.01, 55.005], [10 + i * 0.01, 55]], {})
             for i in range(1500)]  # fmt: skip
    w.zones = ZoneSet.from_features(boxes)
    doc = static_doc(w)
    plain = json.dumps(doc, default=str).encode()
    data = encode_static(doc)
    assert len(plain) > 150_000 and data[:4] == MAGIC and len(data) < len(plain) / 3
    back = read_static(data)
    assert [f["properties"]["name"] for f in back["zones"]["features"]] == \
        [f"Z{i}" for i in range(1500)]  # fmt: skip
    small = read_static(encode_static(doc, cap=len(data)))  # does not fit: no geometry
    assert small["layers_dropped"] and small["zones"] is None and small["infrastructure"] is None
    for bad in (b"\xff", b"[1]", MAGIC + b"not zlib", b'{"zones": [1]}', b'{"sky": 3}'):
        with pytest.raises(StaticError):
            read_static(bad)


# the cluster: nats-server, PostgreSQL, `picket worker` processes -------------------------
def _why_not() -> str | None:
    from picket.bus.local import why_no_nats, why_no_postgres

    return why_no_nats() or why_no_postgres()


@pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "")
def test_a_server_on_nats_shows_the_zones_cables_and_sky_the_workers_loaded(geo, tmp_path):
    """`picket worker --publish-tracks` processes load the demo's geography; a server that
    reads only NATS (started before them, and one started after) shows the same zones and
    cables on /api/layers; a subject worker of shard 0 with a sky layer hands the server
    the spec it makes its own satellites layer from."""
    from picket.bus.jetstream import JetStreamBus
    from picket.bus.local import LocalNats, LocalPostgres, free_port
    from picket.bus.stages import SUBJECT, Worker
    from picket.serve.app import _sky, build_app
    from picket.serve.satellites import SkyLayer, find_catalogue

    nats, pg = LocalNats(), LocalPostgres()
    buses: list[Any] = []
    servers: list[Any] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db = pg.new_database("picket")

        def server() -> tuple[Any, LiveHub]:
            bus = JetStreamBus(nats.url)
            buses.append(bus)
            hub = LiveHub(tick_s=0.2, bus=bus)
            servers.append(srv := start_server(db, hub, port=0))
            return srv, hub

        early, early_hub = server()  # up before any worker: nothing to show yet
        assert layer_names(early.url, "zones") == []
        port = free_port()  # and `picket serve --nats`, as a process of its own
        with open(tmp_path / "serve.log", "ab") as log:
            procs.append(subprocess.Popen(
                [sys.executable, "-c", RUN, "serve", "--nats", nats.url, "--store", db,
                 "--port", str(port), "--seconds", "300"], cwd=tmp_path, stdout=log,
                stderr=subprocess.STDOUT))  # fmt: skip
        for part in ("0/2", "1/2"):
            cmd = [sys.executable, "-c", RUN, "worker", "--role", "subject", "--partition",
                   part, "--publish-tracks", "--nats", nats.url, "--store", db, "--zones",
                   str(geo["zones"]), "--infrastructure", str(geo["infrastructure"]),
                   "--quiet"]  # fmt: skip
            log = open(tmp_path / f"worker-{part[0]}.log", "ab")  # noqa: SIM115
            procs.append(subprocess.Popen(cmd, cwd=tmp_path, stdout=log,
                                          stderr=subprocess.STDOUT,
                                          env={**os.environ, "PYTHONUNBUFFERED": "1"}))
        got = wait_for(lambda: layer_names(early.url, "zones"), 90.0)
        logs = "\n".join(p.read_text()[-2000:] for p in tmp_path.glob("worker-*.log"))
        assert got == geo["names"]["zones"], logs
        assert wait_for(lambda: layer_names(early.url, "infrastructure")) == \
            geo["names"]["infrastructure"]  # fmt: skip
        assert early_hub.static["version"]["source"] == "worker-0"  # shard 0 only
        assert early_hub.static["sky"] is None  # the workers loaded no sky layer
        served = f"http://127.0.0.1:{port}"
        got = wait_for(lambda: _try(layer_names, served, "zones"), 60.0)
        assert got == geo["names"]["zones"], (tmp_path / "serve.log").read_text()[-3000:]
        assert layer_names(served, "infrastructure") == geo["names"]["infrastructure"]

        # the picture too: the workers' track snapshots of the scenario's first minutes
        named = feed_scenario(nats.url, buses, 300.0, geo["case"])
        total = wait_for(lambda: (httpx.get(served + "/api/tracks", timeout=10).json()["total"]
                                  >= 0.95 * len(named)), 90.0)  # fmt: skip
        assert len(named) > 100 and total, httpx.get(served + "/api/tracks").json()["total"]

        late, late_hub = server()  # after the workers: the retained message is there
        assert wait_for(lambda: layer_names(late.url, "zones"), 30.0) == geo["names"]["zones"]
        assert layer_names(late.url, "infrastructure") == geo["names"]["infrastructure"]

        # a subject worker of shard 0 whose World has the satellites layer (as the demo's)
        path = find_catalogue() or tmp_path / "none.csv"
        asm = assembled(geo)
        t0 = 1_730_419_200.0  # 1 November 2024, the shared catalogue's epoch
        asm.pipeline.world.sky = SkyLayer(path, t0, t0 + 1800, BALTIC)
        wbus = JetStreamBus(nats.url)
        buses.append(wbus)
        w = Worker(asm, wbus, 0, 2, SUBJECT, name="sky-0", publish_tracks=True)
        spec = asm.pipeline.world.sky.spec()
        assert wait_for(lambda: late_hub.static.get("sky") == spec, 30.0)
        sky = _sky(build_app(late_hub, db).state.picket)
        assert isinstance(sky, SkyLayer) and sky is not asm.pipeline.world.sky
        assert sky.spec() == spec
        sky.ensure()  # here, not only in the thread build_app started for it
        if find_catalogue() is not None:  # the server propagates its own copy
            fc = httpx.get(late.url + "/api/layers/satellites",
                           params={"at": str(t0 + 900)}, timeout=120).json()  # fmt: skip
            assert fc["features"], fc.get("properties")
        assert layer_names(late.url, "zones") == geo["names"]["zones"]
        w.close()
    finally:
        for p in procs:  # our own children, each by its process
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for s in servers:
            s.stop()
        for b in buses:
            b.close()
        nats.close()
        pg.close()


def test_static_stream_keeps_only_the_newest_on_nats(tmp_path):
    """On JetStream `picket.static` is a retained value: of several publications a reader
    that starts later gets the newest one only."""
    from picket.bus.local import LocalNats, why_no_nats

    if why_no_nats():
        pytest.skip(why_no_nats() or "")
    from picket.bus.jetstream import JetStreamBus

    nats = LocalNats()
    bus = JetStreamBus(nats.url)
    try:
        for i in range(3):
            bus.publish(STATIC, json.dumps({"incidents": {"distance_m": 100.0 * (i + 1)}}).encode())
        sub = bus.subscribe(STATIC, "reader", 0)
        got = sub.fetch(10, 2.0)
        assert [read_static(m.data)["incidents"]["distance_m"] for m in got] == [300.0]
        sub.close()
    finally:
        bus.close()
        nats.close()


def test_a_relay_consumer_named_per_run_is_forgotten_after_it_stops_reading(tmp_path):
    """A server's relays are durable consumers named per boot: nats-server must drop them
    once the server is gone (`forget_after_s`), or every restart would leave five behind;
    a reader's own durable consumer (a worker's) stays."""
    from picket.bus.local import LocalNats, why_no_nats

    if why_no_nats():
        pytest.skip(why_no_nats() or "")
    from picket.bus.jetstream import JetStreamBus

    nats = LocalNats()
    bus = JetStreamBus(nats.url)
    try:
        bus.publish(STATIC, b'{"incidents": {}}')
        brief = bus.subscribe(STATIC, "relay-run-1", 0, forget_after_s=1.0)
        kept = bus.subscribe(STATIC, "worker-0", 0)
        got, also = brief.fetch(10, 2.0), kept.fetch(10, 2.0)
        assert len(got) == len(also) == 1
        brief.ack(got[-1])  # as the relays do: a consumer with unacked messages is kept
        kept.ack(also[-1])
        brief.close()
        kept.close()

        async def names() -> list[str]:
            return [c.name for c in await bus.js.consumers_info("PICKET_STATE")]

        assert sorted(bus._run(names(), 10.0)) == ["relay-run-1", "worker-0"]
        deadline = wall.monotonic() + 20.0
        while "relay-run-1" in bus._run(names(), 10.0) and wall.monotonic() < deadline:
            wall.sleep(0.5)
        assert bus._run(names(), 10.0) == ["worker-0"]
    finally:
        bus.close()
        nats.close()
