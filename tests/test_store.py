"""The embedded store keeps every alert exactly once across reruns and restarts."""

from picket.model.alerts import AlertBook, Signal
from picket.store.sqlite import Store


def run_once(store: Store) -> None:
    book = AlertBook(min_update_s=0)
    sigs = [
        Signal("air.emergency", "icao:4b1801", t, 55.0, 21.0, "critical", "7700", {"n": t}, "air")
        for t in (10.0, 20.0, 30.0)
    ]
    sigs.append(
        Signal("air.emergency", "icao:4b1801", 40.0, None, None, "info", "", {}, "air", ended=True)
    )
    for s in sigs:
        store.upsert_alerts([a for _, a in book.apply([s])])


def test_rerun_and_restart_keep_alerts_exactly_once(tmp_path):
    path = tmp_path / "p.sqlite"
    st = Store(path)
    run_once(st)
    run_once(st)  # the same input replayed: same ids, no duplicates
    st.close()
    st = Store(path)  # restart
    rows = st.alerts()
    assert len(rows) == 1
    a = rows[0]
    assert a["status"] == "closed" and a["evidence"] == {"n": 30.0}
    assert a["time"].startswith("1970-01-01T00:00:10")
    assert st.alerts(kind="air.*") == rows and st.alerts(kind="maritime") == []
    st.triage(a["id"], "analyst", "acknowledge", "seen", 50.0)
    st.close()
    assert Store(path).triage_log(a["id"])[0]["action"] == "acknowledge"
