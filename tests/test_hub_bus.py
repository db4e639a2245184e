"""The live hub reads only the bus: its picture is built from the snapshots a pipeline
publishes (never the pipeline's `TrackTable`), and zone edits reach the detectors only
as bus commands. Real pipeline, real bus, real HTTP server."""

from __future__ import annotations

import gc
import json
import weakref

import httpx
import numpy as np
import pytest

from picket.bus import CMD, InProcessBus, global_ids
from picket.bus.picture import PICTURE
from picket.bus.sink import BusSink
from picket.geo.zones import ZoneSet
from picket.model.alerts import Alert
from picket.model.decoded import Decoded, Static
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, LiveSink, start_server
from picket.serve.picture import snapshot
from picket.store.sqlite import Store

T0 = 1_736_935_200.0
SHIPS = [key(Namespace.MMSI, 211000000 + i) for i in range(40)]
OPERATOR = "operator-token-0123456789"


def batch(k: int) -> Decoded:
    """Batch k: a changing subset of the ships moves (so merges are partial), one new ship
    joins every batch, and one ship's name arrives in batch 3."""
    rng = np.random.default_rng(k)
    who = np.array(sorted({*rng.choice(SHIPS[: 20 + k], 8, replace=False).tolist()}))
    n = len(who)
    r = Reports.build(time=np.full(n, T0 + 10 * k), domain=np.full(n, Domain.MARITIME),
                      kind=np.full(n, Kind.POSITION), subject=who,
                      lat=55.0 + rng.random(n) * 0.01 + 0.001 * k,
                      lon=14.0 + rng.random(n) * 0.01, speed=rng.random(n) * 10,
                      course=rng.random(n) * 360)  # fmt: skip
    st = [Static(T0 + 10 * k, int(who[0]), {"name": "NORDIC STAR"})] if k == 3 else []
    return Decoded(r, st)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def test_hub_serves_the_picture_after_the_pipeline_is_gone(tmp_path):
    bus = InProcessBus()
    pipe = Pipeline(detectors=[], sinks=[BusSink(bus, reports=False, picture=True)])
    for k in range(12):
        pipe.process(batch(k))
    table = pipe.tracks
    want = snapshot(table, T0 + 110)
    named = int(table.slot(batch(3).statics[0].subject))
    hist = table.history(named)
    gone = weakref.ref(table)
    del pipe, table
    gc.collect()
    assert gone() is None  # nothing (the bus, the sink) kept the pipeline's table alive

    hub = LiveHub(tick_s=0.05, bus=bus)  # a hub made afterwards, from the bus alone
    pic = hub.current()
    assert len(pic) == len(want) > 20
    for c, v in want.cols.items():
        assert _same(pic[c], v), c
    assert hub.labels == {named: "NORDIC STAR"}
    got = hub.tracks_ref.history(named)
    assert all(_same(a, b) for a, b in zip(got, hist, strict=True))

    store = Store(tmp_path / "picket.sqlite")
    srv = start_server(store, hub, port=0, tokens={OPERATOR: ("olga", "operator")})
    try:
        h = {"authorization": f"Bearer {OPERATOR}"}
        rows = httpx.get(srv.url + "/api/tracks", headers=h, params={"limit": 1000}).json()
        assert rows["total"] == len(want)
        one = httpx.get(srv.url + "/api/tracks/mmsi:" + str(SHIPS[0] & 0xFFFFFFFF),
                        headers=h).json()  # fmt: skip
        assert one["history"] and one["history"][-1]["lat"] == pytest.approx(
            float(want["lat"][int(one["wire_id"])]))  # fmt: skip
        # the track's id is its global id, as text, and names it in the API as well
        assert one["id"] == str(int(global_ids(np.array([SHIPS[0]]))[0]))
        again = httpx.get(srv.url + "/api/tracks/" + one["id"], headers=h).json()
        assert again["subject"] == one["subject"] and again["id"] == one["id"]
    finally:
        srv.stop()
        store.close()


def test_alert_events_and_bad_messages_on_the_bus():
    bus = InProcessBus()
    hub = LiveHub(tick_s=0.05, bus=bus)
    sink = BusSink(bus, reports=False, picture=True)
    a = Alert(id="a" + "0" * 15, kind="maritime.ais_gap", severity="warning", time=T0,
              domain="maritime", subject="mmsi:211000001", lat=55.0, lon=14.0,
              summary="gap", evidence={}, last_time=T0)  # fmt: skip
    sink.emit([("open", a)])
    bus.publish(PICTURE, b"not a snapshot")
    bus.publish("picket.alerts", b"{broken")
    assert list(hub.open_alerts) == [a.id]
    assert hub.bus_errors == 2
    sink.emit([("close", a)])
    assert hub.open_alerts == {}
    evs = [json.loads(d)["event"] for _, e, d in hub.events.since(0) if e == "alert"]
    assert evs == ["open", "close"]


def test_zone_edit_reaches_the_detectors_only_through_the_bus_command(tmp_path):
    far = ZoneSet.from_features(
        [("EXISTING", "restricted", [[20, 50], [21, 50], [21, 51], [20, 51], [20, 50]], {})]
    )
    hub = LiveHub(tick_s=0.05)
    pipe = Pipeline(detectors=[], sinks=[], world=World(zones=far))
    live = LiveSink(hub, min_interval_s=0.0, pipeline=pipe)
    pipe.sinks.append(live)
    # a second pipeline whose edge reads another bus: the same hub's edits never reach it
    other = Pipeline(detectors=[], sinks=[], world=World(zones=far))
    other.sinks.append(LiveSink(hub, pipeline=other, bus=InProcessBus()))
    store = Store(tmp_path / "picket.sqlite")
    srv = start_server(store, hub, port=0, tokens={OPERATOR: ("olga", "operator")})
    try:
        zone = {"type": "Feature", "properties": {"name": "TEMP R-1", "kind": "restricted"},
                "geometry": {"type": "Polygon", "coordinates": [
                    [[14.1, 54.9], [14.6, 54.9], [14.6, 55.1], [14.1, 55.1], [14.1, 54.9]]]}}
        r = httpx.post(srv.url + "/api/layers/zones", json=zone,
                       headers={"authorization": f"Bearer {OPERATOR}"})  # fmt: skip
        assert r.status_code == 201
        cmds = list(hub.bus.messages(f"{CMD}.zones"))
        assert len(cmds) == 1
        sent = json.loads(cmds[0].data)  # the one zone added, by its id
        assert [(o["op"], o["zone"]["name"]) for o in sent["ops"]] == [("put", "TEMP R-1")]
        assert sent["ops"][0]["zone"]["properties"]["id"] == r.json()["properties"]["id"]
        assert pipe.world.zones.names == ["EXISTING"]  # not until the pipeline's next batch
        pipe.process(batch(0))
        other.process(batch(0))
        assert pipe.world.zones.names == ["EXISTING", "TEMP R-1"]
        assert other.world.zones.names == ["EXISTING"]
        assert live.commands["zones"] == 1
        got = pipe.world.zones.features[1]
        assert got.kind == "restricted" and got.properties["id"] == r.json()["properties"]["id"]
    finally:
        srv.stop()
        store.close()


def test_in_process_bus_forgets_what_was_read_and_caps_what_was_not():
    bus = InProcessBus(retain_bytes=1000)
    fast, slow = bus.subscribe("x.>", "fast"), bus.subscribe("x.>", "slow")
    for i in range(200):
        bus.publish("x.y", bytes([i % 256]) * 10)  # 2000 bytes in all: under twice the cap
        assert len(fast.fetch(10, 0)) == 1
    assert bus.skipped == 0 and len(bus.messages("x.>")) == 200  # `slow` has read nothing
    got = slow.fetch(1000, 0)
    assert [m.seq for m in got] == list(range(1, 201))
    for _ in range(200):  # both read as they go: the log keeps a chunk at most
        bus.publish("x.y", b"0123456789")
        fast.fetch(10, 0), slow.fetch(10, 0)
    assert len(bus.messages("x.>")) < 70 and bus.skipped == 0
    for _ in range(300):  # `slow` stops reading: past twice the cap the oldest go
        bus.publish("x.y", b"0123456789")
        fast.fetch(10, 0)
    got = slow.fetch(1000, 0)
    assert [m.seq for m in got] == list(range(got[0].seq, 701))
    assert bus.skipped == got[0].seq - 401 > 0 and len(got) <= 200


def test_triage_goes_out_as_a_command_the_pipeline_edge_takes():
    hub = LiveHub(tick_s=0.05)
    pipe = Pipeline(detectors=[], sinks=[])
    live = LiveSink(hub, pipeline=pipe)
    pipe.sinks.append(live)
    state = {"state": "acknowledged", "assignee": None, "who": "olga", "time": T0,
             "comments": 0}  # fmt: skip
    hub.triage_event({"alert_id": "a1", "action": "acknowledge"}, state, None)
    (m,) = hub.bus.messages(f"{CMD}.triage")
    assert json.loads(m.data) == {"alert_id": "a1", "state": state}
    pipe.process(batch(0))
    assert live.commands == {"zones": 0, "triage": 1, "refused": 0}


def test_a_zone_command_that_is_not_one_is_refused_and_counted():
    far = ZoneSet.from_features(
        [("EXISTING", "restricted", [[20, 50], [21, 50], [21, 51], [20, 51], [20, 50]], {})]
    )
    hub = LiveHub(tick_s=0.05)
    pipe = Pipeline(detectors=[], sinks=[], world=World(zones=far))
    live = LiveSink(hub, pipeline=pipe)
    pipe.sinks.append(live)
    bowtie = {"name": "X", "kind": "restricted", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}
    hub.bus.publish(f"{CMD}.zones", json.dumps({"zones": [bowtie]}).encode())
    pipe.process(batch(0))
    hub.bus.publish(f"{CMD}.zones", b"\xff not json")
    pipe.process(batch(1))
    assert live.commands["refused"] == 2 and pipe.world.zones.names == ["EXISTING"]


def test_static_layers_reach_the_server_only_over_the_bus(tmp_path):
    """The satellites layer and the `[incidents]` rules go out as one `picket.static`
    message; the server makes its own sky layer from it and never holds the pipeline's
    World, and rules published after the server started (a pipeline elsewhere) are used."""
    from picket.serve.app import _incidents, _sky, build_app
    from picket.serve.hub import STATIC
    from picket.serve.satellites import SkyLayer

    world = World(incidents={"distance_m": 4000.0})
    world.sky = SkyLayer(tmp_path / "none.csv", T0, T0 + 600, (9.0, 53.5, 30.5, 66.0))
    hub = LiveHub(tick_s=0.05)
    LiveSink(hub, world=world)
    assert not hasattr(hub, "world") and not hasattr(hub, "env")
    st = build_app(hub, Store(tmp_path / "p.sqlite")).state.picket
    assert _incidents(st).rules.distance_m == 4000.0
    sky = _sky(st)
    assert isinstance(sky, SkyLayer) and sky is not world.sky
    assert sky.spec() == world.sky.spec() and _sky(st) is sky  # made once per spec
    assert (sky.start, sky.end, sky.bbox) == (world.sky.start, world.sky.end, world.sky.bbox)
    hub.bus.publish(STATIC, json.dumps({"sky": None, "incidents": {"distance_m": 900.0}}).encode())
    assert _incidents(st).rules.distance_m == 900.0 and _sky(st) is None
    hub.bus.publish(STATIC, b"[1, 2]")  # not an object: counted, the last good one kept
    assert _incidents(st).rules.distance_m == 900.0 and hub.bus_errors == 1


def test_a_snapshot_decodes_to_aligned_columns():
    """An odd number of tracks puts the 8-byte columns after the 1- and 2-byte ones at odd
    offsets of the payload; the decoded columns are aligned (NumPy's loops over a view at
    an odd offset are several times slower) and equal to what was sent."""
    from picket.bus.picture import PICTURE_COLUMNS, Snapshot, decode, encode

    small = {"domain": np.uint8, "squawk": np.int16, "n_reports": np.int32, "emergency": np.int8,
             "nav_status": np.int8, "nic": np.int8, "nacp": np.int8, "sil": np.int8,
             "version": np.int8}  # fmt: skip
    for n in (5, 6):
        cols = {c: np.arange(n).astype(small.get(c, np.float64)) + 1
                for c in (*PICTURE_COLUMNS, "slot")}  # fmt: skip
        cols["subject"] = cols["subject"].astype(np.int64)
        hist = {"row": np.arange(3, dtype=np.int32), "t": np.arange(3.0),
                "lat": np.arange(3.0) + 50, "lon": np.arange(3.0) + 10}  # fmt: skip
        got = decode(encode(Snapshot(1.7e9, cols, hist)))
        for sent, back in ((cols, got.cols), (hist, got.hist)):
            assert set(back) == set(sent)
            for c, a in back.items():
                assert a.flags.aligned, (n, c)
                np.testing.assert_array_equal(a, sent[c])
