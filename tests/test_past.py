"""The past as it was: alert events in the store, state as of a time, replay and stored runs.

Known truth: one alert opens at T0+100 (warning), is escalated at T0+200 (critical), and
closes at T0+300; a GNSS interference cell opens at T0+150 and closes at T0+250. Each
comes from the real `AlertBook` through the real `Pipeline` and `StoreSink` into SQLite,
and is read back over a real socket.
"""

import json

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from picket.model.alerts import AlertBook, Signal, iso
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.runtime import Pipeline
from picket.serve import LiveHub, frames, start_server
from picket.serve.picture import FLAG_ALERT
from picket.sinks.store_sink import StoreSink
from picket.store.asof import state_as_of
from picket.store.sqlite import Store

T0 = 1_736_935_200.0  # 2025-01-15T10:00:00Z
SHIP = key(Namespace.MMSI, 211000001)
CELL = "h3:841f9dbffffffff"


class Script:
    """A detector that says what it is told at given event times."""

    def __init__(self, at: dict[float, list[Signal]]):
        self.at = at

    def update(self, ctx):
        t = ctx.reports.time
        return [s for when, sigs in self.at.items() if len(t) and t.min() <= when <= t.max()
                for s in sigs]  # fmt: skip


def sig(t, sev, summary, ended=False, kind="maritime.drift", subject="mmsi:211000001", **ev):
    return Signal(kind, subject, t, 55.0, 14.0, sev, summary, ev, kind.split(".")[0], ended)


SCRIPT = {
    T0 + 100: [sig(T0 + 100, "warning", "drifting", n=1)],
    T0 + 150: [
        sig(T0 + 150, "warning", "jammed", kind="gnss.interference", subject=CELL, bad_fraction=0.4)
    ],
    T0 + 200: [sig(T0 + 200, "critical", "drifting over a cable", n=2)],
    T0 + 250: [sig(T0 + 250, "warning", "", True, kind="gnss.interference", subject=CELL)],
    T0 + 300: [sig(T0 + 300, "info", "stopped drifting", True, n=3)],
}


def run(store: Store) -> Pipeline:
    """Reports every 10 s for 400 s through the pipeline; the script raises the alerts."""
    pipe = Pipeline(detectors=[Script(SCRIPT)], sinks=[StoreSink(store, 30.0)])
    pipe.book = AlertBook(min_update_s=0)
    for k in range(41):
        t = T0 + 10 * k
        pipe.process(Decoded(Reports.build(time=[t], domain=Domain.MARITIME,
                                           kind=Kind.POSITION, subject=[SHIP],
                                           lat=[55.0 + 0.001 * k], lon=[14.0], speed=[3.0],
                                           course=[90.0]), []))  # fmt: skip
    pipe.finish()
    return pipe


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    path = tmp_path_factory.mktemp("past") / "picket.sqlite"
    st = Store(path)
    run(st)
    yield st
    st.close()


def test_every_alert_event_is_kept_once_with_its_event_time(tmp_path):
    st = Store(tmp_path / "p.sqlite")
    run(st)
    drift = st.alerts(kind="maritime.drift")[0]["id"]
    ev = st.alert_events(drift)
    assert [(e["what"], e["time"] - T0, e["severity"]) for e in ev] == [
        ("open", 100, "warning"), ("update", 200, "critical"), ("close", 300, "critical")]
    assert json.loads(ev[0]["evidence"]) == {"n": 1}  # the open as it was, not as it ended
    n = st.db.execute("SELECT count(*) FROM alert_events").fetchone()[0]
    run(st)  # the same input again: the same events, nothing added
    assert st.db.execute("SELECT count(*) FROM alert_events").fetchone()[0] == n == 5
    assert len(st.alerts()) == 2


def test_state_as_of_a_time_from_the_events(stored):
    drift = stored.alerts(kind="maritime.drift")[0]["id"]
    before = stored.alerts_at(T0 + 50)
    assert before == []  # nothing had opened
    a = stored.alerts_at(T0 + 150, kind="maritime.drift")[0]
    assert (a["status"], a["severity"], a["summary"]) == ("open", "warning", "drifting")
    assert a["closed_time"] is None and a["evidence"] == {"n": 1}
    b = stored.alerts_at(T0 + 250, kind="maritime.drift")[0]
    assert (b["status"], b["severity"], b["evidence"]) == ("open", "critical", {"n": 2})
    c = stored.alerts_at(T0 + 400, kind="maritime.drift")[0]
    assert c["status"] == "closed" and c["closed_time"] == iso(T0 + 300)
    assert [stored.count_open_at(T0 + x) for x in (50, 120, 160, 260, 310)] == [0, 1, 2, 1, 0]
    # the pure function: an alert stored without events stands for itself
    row = {"id": "x", "kind": "air.emergency", "domain": "air", "subject": "icao:1",
           "time": 10.0, "severity": "critical", "status": "closed", "lat": None, "lon": None,
           "summary": "s", "evidence": "{}", "last_time": 30.0, "closed_time": 30.0,
           "updates": 3}  # fmt: skip
    assert state_as_of(row, [], [], 5.0) is None
    assert state_as_of(row, [], [], 20.0)["status"] == "open"
    assert state_as_of(row, [], [], 40.0)["status"] == "closed"
    assert stored.alert_events(drift)[0]["what"] == "open"


@pytest.fixture(scope="module")
def server(stored):
    from picket.cli.serve_cmd import load_stored

    hub = LiveHub(tick_s=0.05)
    t = load_stored(hub, stored.path)
    srv = start_server(stored.path, hub, port=0)
    yield srv, t
    srv.stop()


def get(srv, path, **params):
    r = httpx.get(srv.url + path, params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def test_api_alerts_at_and_triage_as_of(server):
    srv, _ = server
    rows = get(srv, "/api/alerts", at=iso(T0 + 150))["alerts"]
    assert {(a["kind"], a["status"], a["severity"]) for a in rows} == {
        ("maritime.drift", "open", "warning"), ("gnss.interference", "open", "warning")}
    drift = next(a for a in rows if a["kind"] == "maritime.drift")["id"]
    one = get(srv, f"/api/alerts/{drift}", at=str(T0 + 210))
    assert (one["severity"], one["summary"]) == ("critical", "drifting over a cable")
    assert httpx.get(srv.url + f"/api/alerts/{drift}", params={"at": T0}).status_code == 404
    # an operator acknowledges while the stored picture is at its newest time
    r = httpx.post(srv.url + f"/api/alerts/{drift}/triage", json={"action": "acknowledge"})
    assert r.status_code == 200 and r.json()["triage"]["state"] == "acknowledged"
    assert get(srv, f"/api/alerts/{drift}", at=str(T0 + 210))["triage"]["state"] == "new"
    assert get(srv, f"/api/alerts/{drift}")["triage"]["state"] == "acknowledged"
    assert get(srv, "/api/alerts", at=str(T0 + 120), status="open")["alerts"][0]["id"] == drift
    cells = get(srv, "/api/layers/gnss", at=str(T0 + 200))["features"]
    assert [f["properties"]["cell"] for f in cells] == [CELL[3:]]
    assert get(srv, "/api/layers/gnss", at=str(T0 + 260))["features"] == []


def test_stored_run_shows_its_own_time_tracks_and_agreeing_counts(server):
    srv, t = server
    assert t == T0 + 390  # the newest stored event time: the last 30 s history point
    h = get(srv, "/api/health")
    m = get(srv, "/api/metrics")
    assert h["mode"] == m["mode"] == "stored"
    assert h["event_time"] == m["event_time"] == iso(T0 + 390)
    assert h["tracks"] == m["tracks"] == 1
    open_now = get(srv, "/api/alerts", at=h["event_time"], status="open")["alerts"]
    assert h["alerts_open"] == m["alerts_open"] == len(open_now) == 0
    tr = get(srv, "/api/tracks")["tracks"]
    assert [x["subject"] for x in tr] == ["mmsi:211000001"]
    assert tr[0]["lat"] == pytest.approx(55.039) and tr[0]["time"] == iso(T0 + 390)
    past = get(srv, "/api/tracks/mmsi:211000001", at=str(T0 + 125))
    assert past["time"] == iso(T0 + 120) and past["history"][-1]["time"] == iso(T0 + 120)
    # the track channel carries the stored picture at the store's time
    with connect(srv.url.replace("http", "ws") + "/api/ws/tracks") as ws:
        for _ in range(50):
            msg = ws.recv(timeout=5)
            if isinstance(msg, bytes):
                f = frames.decode(msg)
                break
    assert f.time == T0 + 390 and len(f.cols["id"]) == 1


def test_replay_shows_alerts_as_they_were_at_each_step(server):
    srv, _ = server
    states: dict[str, list] = {}
    gnss: list[tuple[str, int]] = []
    flagged: list[tuple[float, int]] = []  # (step time, the ship's alert flag)
    with connect(srv.url.replace("http", "ws") + "/api/ws/tracks") as ws:
        # 50 s steps (speed 1000 x tick 0.05 s) from T0+50 to T0+350
        ws.send(json.dumps({"type": "replay", "since": T0 + 50, "until": T0 + 350,
                            "speed": 1000}))  # fmt: skip
        for _ in range(500):
            m = ws.recv(timeout=5)
            if isinstance(m, bytes):
                f = frames.decode(m)
                if f.flags & frames.FLAG_REPLAY:  # the ship from its T0+30 point on
                    flagged.append((f.time - T0, int(f.cols["flags"][0]) & FLAG_ALERT))
                continue
            d = json.loads(m)
            if d["type"] == "replay_alerts":
                for a in d["alerts"]:
                    states.setdefault(a["kind"], []).append(
                        (d["time"][11:19], a["status"], a["severity"]))
                if d.get("reset"):
                    assert d["alerts"] == []  # nothing had opened by T0+50
            elif d["type"] == "replay_layer":
                gnss.append((d["time"][11:19], len(d["data"]["features"])))
            elif d["type"] == "replay" and d["state"] == "end":
                break
    assert states["maritime.drift"] == [
        ("10:01:40", "open", "warning"), ("10:03:20", "open", "critical"),
        ("10:05:00", "closed", "critical")]  # fmt: skip
    assert states["gnss.interference"] == [("10:02:30", "open", "warning"),
                                           ("10:04:10", "closed", "warning")]  # fmt: skip
    assert gnss == [("10:00:50", 0), ("10:02:30", 1), ("10:04:10", 0)]
    # the track carries the alert flag only while its alert was open
    assert flagged == [(50, 0), (100, 1), (150, 1), (200, 1), (250, 1), (300, 0), (350, 0)]


def test_replay_steps_are_the_same_function_as_the_api(stored):
    """`replay_steps` hands each changed alert to `state_at`; with the store's reader that is
    `alerts_at`, the function behind `?at=` (no second derivation)."""
    from picket.serve.queries import StoreReader
    from picket.serve.replay import replay_steps

    r = StoreReader(stored.path)
    pts = r.points(T0, T0 + 400)
    got = [fired for _, _, fired in replay_steps(pts, r.changes(T0, T0 + 400), T0, T0 + 400,
                                                 100.0, state_at=r.alerts_for)]  # fmt: skip
    for k, fired in enumerate(got):
        want = {a["id"]: a for a in r.alerts({"at": str(T0 + 100 * k)}, 100, 0)}
        for a in fired:
            assert a == want[a["id"]]
    assert np.array_equal(pts["time"], np.sort(pts["time"]))
    r.close()
