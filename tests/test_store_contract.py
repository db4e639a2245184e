"""One contract for both stores: SQLite and PostgreSQL give the same outputs for the same
inputs, through every public method the pipeline, the server and the CLI call.

Known truth (as tests/test_past.py): a drift alert opens at T0+100 (warning), is escalated
at T0+200 (critical) and closes at T0+300; a GNSS cell opens at T0+150 and closes at
T0+250; an emergency is upserted directly, without events. Inputs go through the real
`Pipeline` and `StoreSink`; the PostgreSQL server is real (tests/test_store_postgres.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.bus.local import LocalPostgres, why_no_postgres
from picket.model.alerts import Alert, AlertBook, Signal, iso
from picket.serve.queries import StoreReader
from picket.sinks.store_sink import StoreSink
from picket.store import newest_points, open_store
from tests.test_past import CELL, T0, run

BACKENDS = ["sqlite", "postgres"]
PUBLIC = {"upsert_alerts", "record", "alert_events", "alerts_at", "count_open_at",
          "latest_time", "alerts", "count_alerts", "triage", "triage_log", "add_track_points",
          "track_points", "close", "dead_letter_path", "save_checkpoint", "load_checkpoint",
          "open_alerts", "has_event", "track_points_page",
          "alert_objects", "alerts_touched_after", "upsert_incidents", "incidents", "incident",
          "add_watch", "delete_watch", "watch_entries", "save_harbour_cells",
          "harbour_cells"}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    why = why_no_postgres()
    if why:
        yield why
        return
    s = LocalPostgres()
    yield s
    s.close()


@pytest.fixture(params=BACKENDS)
def target(request, server, tmp_path):
    """A fresh, empty store's target (file path or URL) for each backend."""
    if request.param == "sqlite":
        return tmp_path / "picket.sqlite"
    if isinstance(server, str):
        pytest.skip(server)
    return server.new_database()


def fill(st, analysts: bool = True) -> None:
    """The scripted run, an alert upserted without events, a checkpoint and (`analysts`)
    triage: a rerun replays the input, not the analysts' actions."""
    run(st)
    book = AlertBook(min_update_s=0)
    ev = book.apply([Signal("air.emergency", "icao:4b1801", T0 + 120, 56.0, 21.0, "critical",
                            "7700", {"squawk": 7700}, "air")])  # fmt: skip
    ev += book.apply([Signal("air.emergency", "icao:4b1801", T0 + 180, None, None, "info", "",
                             {}, "air", ended=True)])  # fmt: skip
    st.upsert_alerts([a for _, a in ev])
    # and one left open, upserted without events (what a restart hands back to the book)
    st.upsert_alerts([a for _, a in AlertBook(min_update_s=0).apply([Signal(
        "maritime.encounter", "mmsi:244000001", T0 + 380, 55.5, 15.0, "warning", "side by side",
        {"other": "mmsi:244000002"}, "maritime")])])  # fmt: skip
    st.save_checkpoint(b"\x00state\xff" * 1000, T0 + 390)
    if not analysts:
        return
    drift = st.alerts(kind="maritime.drift")[0]["id"]
    st.triage(drift, "ana", "acknowledge", "seen", 1_800_000_000.0, T0 + 220)
    st.triage(drift, "bo", "assign:bo", None, 1_800_000_010.0, None)
    st.triage(drift, "bo", "resolve", "false echo? no: real", 1_800_000_020.0, T0 + 390)


def outputs(st) -> dict:
    """Everything the store answers about the filled run, as plain data."""
    ids = {a["kind"]: a["id"] for a in st.alerts(limit=-1)}
    out: dict = {"count": st.count_alerts(), "latest": st.latest_time(), "ids": ids}
    for k, q in {"all": {}, "air": {"kind": "air"}, "mar*": {"kind": "maritime.*"},
                 "exact": {"kind": "gnss.interference"}, "subj": {"subject": "mmsi:211000001"},
                 "closed": {"status": "closed"}, "since": {"since": T0 + 260},
                 "until": {"until": T0 + 130}, "page": {"limit": 1, "offset": 1},
                 "rest": {"limit": -1, "offset": 1}}.items():  # fmt: skip
        out[f"alerts/{k}"] = st.alerts(**q)
    for at in (T0 + 50, T0 + 100, T0 + 150, T0 + 199.5, T0 + 200, T0 + 260, T0 + 300, T0 + 400):
        out[f"at/{at - T0}"] = st.alerts_at(at)
        out[f"open/{at - T0}"] = st.count_open_at(at)
    out["at/filters"] = [st.alerts_at(T0 + 400, since=T0 + 260), st.alerts_at(T0 + 400,
                         until=T0 + 120), st.alerts_at(T0 + 400, kind="gnss"),
                         st.alerts_at(T0 + 400, subject=CELL), st.alerts_at(T0 + 160,
                         status="open"), st.alerts_at(T0 + 400, ids=[ids["maritime.drift"]])]
    for kind, i in ids.items():
        out[f"events/{kind}"] = st.alert_events(i)
        out[f"triage/{kind}"] = st.triage_log(i)
    out["triage_as_of"] = st._triage_logs(list(ids.values()), T0 + 300)
    out["points"] = list(st.track_points(limit=-1))
    out["points/filters"] = [list(st.track_points(subject=1 << 48 | 211000001, since=T0 + 60,
                                                  until=T0 + 200)),
                             list(st.track_points(limit=3)), list(st.track_points(subject=7))]
    pages, cursor = [], (float("-inf"), -(1 << 63))
    while page := st.track_points_page(T0 + 400, cursor, 3):
        pages.append(page)
        cursor = (page[-1][1], page[-1][0])
    out["pages"] = pages
    out["pages/window"] = st.track_points_page(T0 + 120, (T0 + 60, 0), 100)
    out["newest"] = [newest_points(st, T0 + 100, T0 + 250), newest_points(st, T0, T0 + 240,
                                                                          inclusive=False)]
    out["checkpoint"] = st.load_checkpoint()[:2], st.load_checkpoint("other")
    out["open_alerts"] = [a.to_json() for a in st.open_alerts()]
    out["objects"] = [[(a.to_json(), a.event_time) for a in x] for x in (
        st.alert_objects(), st.alert_objects("kind = ? AND time < ?", ("maritime.drift", T0 + 1e3)),
        st.alerts_touched_after(T0 + 250), st.alerts_touched_after(T0 + 300))]  # fmt: skip
    drift = ids["maritime.drift"]
    out["has_event"] = [st.has_event(w, Alert(id=i, kind="", severity="info", time=0.0,
                                              domain="", subject="", lat=None, lon=None,
                                              summary="", evidence={}, updates=2,
                                              last_time=t, event_time=t))
                        for w, i, t in (("open", drift, T0 + 100), ("close", drift, T0 + 300),
                                        ("open", "no-such-id", T0 + 100),
                                        ("update", drift, T0 + 200),
                                        ("update", drift, T0 + 250))]  # fmt: skip
    return out


def test_every_public_method_is_covered():
    from picket.store.postgres import PostgresStore
    from picket.store.sqlite import Store

    public = {m for m in dir(Store) if not m.startswith("_")}
    assert public <= PUBLIC | {"db"}, f"new Store methods to add here and in postgres.py: " \
        f"{sorted(public - PUBLIC)}"
    missing = {m for m in public if not hasattr(PostgresStore, m)} - {"db", "path"}
    assert not missing, f"PostgresStore lacks {sorted(missing)}"


def test_known_truth_on_each_backend(target):
    st = open_store(target, target.parent if hasattr(target, "parent") else None)
    fill(st)
    o = outputs(st)
    assert o["count"] == 4
    assert o["latest"] == T0 + 390
    drift = o["ids"]["maritime.drift"]
    assert [(e["what"], e["time"] - T0, e["severity"]) for e in o["events/maritime.drift"]] == [
        ("open", 100, "warning"), ("update", 200, "critical"), ("close", 300, "critical")]
    assert o["events/air.emergency"] == []  # upserted without events: the row stands alone
    assert [r["kind"] for r in o["alerts/all"]] == ["maritime.encounter", "gnss.interference",
                                                    "air.emergency", "maritime.drift"]  # fmt: skip
    assert [r["kind"] for r in o["alerts/air"]] == ["air.emergency"]
    assert [r["kind"] for r in o["alerts/mar*"]] == ["maritime.encounter", "maritime.drift"]
    assert len(o["alerts/page"]) == 1 and len(o["alerts/rest"]) == 3
    assert [o[f"open/{x}"] for x in (50.0, 100.0, 150.0, 199.5, 200.0, 260.0, 300.0, 400.0)] \
        == [0, 1, 3, 2, 2, 1, 0, 1]
    a = next(r for r in o["at/150.0"] if r["id"] == drift)
    assert (a["status"], a["severity"], a["evidence"]) == ("open", "warning", {"n": 1})
    assert o["triage/maritime.drift"][0] == {"time": iso(1_800_000_000.0), "who": "ana",
                                             "action": "acknowledge", "comment": "seen"}
    late = next(r for r in o["at/260.0"] if r["id"] == drift)["triage"]
    assert late["state"] == "acknowledged"  # at T0+220; the assign went by its later wall time
    assert next(r for r in o["at/400.0"] if r["id"] == drift)["triage"]["state"] == "resolved"
    assert len(o["points"]) == 14 and o["points"][0][1] == T0
    assert [p[1] - T0 for p in o["points/filters"][0]] == [60, 90, 120, 150, 180]
    assert o["points/filters"][2] == []
    assert [len(p) for p in o["pages"]] == [3, 3, 3, 3, 2]
    assert [r for p in o["pages"] for r in p] == o["points"]
    assert [r[1] - T0 for r in o["pages/window"]] == [60, 90, 120]
    assert [r[1] - T0 for r in o["newest"][0]] == [240] and o["newest"][1][0][1] == T0 + 210
    assert o["checkpoint"] == ((b"\x00state\xff" * 1000, T0 + 390), None)
    assert [a["kind"] for a in o["open_alerts"]] == ["maritime.encounter"]
    assert [[a["kind"] for a, _ in x] for x in o["objects"]] == [
        ["maritime.drift", "air.emergency", "gnss.interference", "maritime.encounter"],
        ["maritime.drift"], ["maritime.drift"], []]
    assert o["objects"][1][0][0]["status"] == "closed"
    assert o["has_event"] == [True, True, False, True, False]
    assert not st.has_event("open", st.open_alerts()[0])  # upserted without events
    # rerun and restart: nothing added, nothing changed
    fill(st, analysts=False)
    st.close()
    again = open_store(target, target.parent if hasattr(target, "parent") else None)
    o2 = outputs(again)
    assert o2 == o
    assert str(again.dead_letter_path).endswith("dead-letter.jsonl")
    again.close()


def test_same_outputs_on_both_backends(server, tmp_path):
    if isinstance(server, str):
        pytest.skip(server)
    stores = [open_store(tmp_path / "picket.sqlite"), open_store(server.new_database(), tmp_path)]
    for st in stores:
        fill(st)
    a, b = (outputs(st) for st in stores)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], k
    # the server's reads (serve.queries) on each: alerts, one alert, changes, points, picture
    ra, rb = (StoreReader(st) for st in stores)
    drift = a["ids"]["maritime.drift"]
    for q in ({}, {"at": str(T0 + 150)}, {"triage": "resolved"}, {"severity": "critical"}):
        assert ra.alerts(q, 100, 0) == rb.alerts(q, 100, 0), q
    assert ra.alert(drift) == rb.alert(drift)
    assert ra.alert(drift, at=T0 + 250) == rb.alert(drift, at=T0 + 250)
    assert ra.changes(T0, T0 + 1000) == rb.changes(T0, T0 + 1000)
    assert ra.count_open(T0 + 160) == rb.count_open(T0 + 160) == 3
    for lead in (0.0, 120.0):
        pa, pb = ra.points(T0 + 150, T0 + 300, lead), rb.points(T0 + 150, T0 + 300, lead)
        for k in pa:
            np.testing.assert_array_equal(pa[k], pb[k])
        ga, gb = (list(r.point_pages(T0 + 150, T0 + 300, lead, page=2)) for r in (ra, rb))
        assert len(ga) == len(gb) > 2
        for x, y in zip(ga, gb, strict=True):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
    ca, cb = ra.picture_at(T0 + 200).cols, rb.picture_at(T0 + 200).cols
    for k in ca:
        np.testing.assert_array_equal(ca[k], cb[k])
    assert ra.history(1 << 48 | 211000001, None, None, 100) == \
        rb.history(1 << 48 | 211000001, None, None, 100)
    assert ra.triage(drift, "cy", "reopen", None, "again", 1_800_000_030.0) == \
        rb.triage(drift, "cy", "reopen", None, "again", 1_800_000_030.0)
    for r in (ra, rb):
        r.close()
    for st in stores:
        st.close()


def test_store_sink_into_postgres_matches_sqlite(server, tmp_path):
    """The pipeline's sink writes the same track history through COPY as through SQLite."""
    if isinstance(server, str):
        pytest.skip(server)
    stores = [open_store(tmp_path / "s.sqlite"), open_store(server.new_database(), tmp_path)]
    for st in stores:
        sink = StoreSink(st, 30.0)
        assert sink.store is st
        run(st)
        sink.close()
    assert list(stores[0].track_points(limit=-1)) == list(stores[1].track_points(limit=-1))


def test_harbour_cells_keep_their_earliest_time(target):
    st = open_store(target, target.parent if hasattr(target, "parent") else None)
    try:
        assert st.harbour_cells() == {}
        st.save_harbour_cells({1: 10.0, 2: 20.0, (1 << 40) + 7: 3.5})
        st.save_harbour_cells({1: 5.0, 2: 30.0, 3: 1.0})
        assert st.harbour_cells() == {1: 5.0, 2: 20.0, 3: 1.0, (1 << 40) + 7: 3.5}
    finally:
        st.close()
