"""Alert lifecycle: dedup per (subject, kind), deterministic ids, the JSON contract."""

import json

from picket.model.alerts import KINDS, AlertBook, Signal, alert_id


def sig(t, kind="maritime.drift", subject="mmsi:212123000", sev="warning", ended=False, **ev):
    return Signal(kind, subject, t, 55.0, 15.0, sev, f"s{t}", ev, "maritime", ended)


def test_one_open_alert_per_subject_and_kind_then_closed():
    book = AlertBook(min_update_s=0)
    e1 = book.apply([sig(100), sig(110, a=1)])
    assert [w for w, _ in e1] == ["open", "update"]
    # each event carries its own state: the open is not rewritten by the update after it
    assert e1[0][1].id == e1[1][1].id and (e1[0][1].updates, e1[1][1].updates) == (1, 2)
    e2 = book.apply([sig(120, subject="mmsi:1"), sig(130, ended=True, b=2)])
    assert [w for w, _ in e2] == ["open", "close"]
    closed = e2[1][1]
    assert closed.status == "closed" and closed.closed_time == 130
    assert closed.evidence == {"a": 1, "b": 2}
    assert list(book.open) == [("mmsi:1", "maritime.drift")]


def test_escalation_is_reported_and_kept():
    book = AlertBook(min_update_s=1e9)
    book.apply([sig(0)])
    ev = book.apply([sig(5, sev="critical"), sig(6, sev="warning")])
    assert [w for w, _ in ev] == ["update"]  # escalation always reported, plain updates throttled
    assert ev[0][1].severity == "critical"


def test_quiet_alerts_close_and_ids_are_deterministic():
    book = AlertBook(quiet_close_s=60)
    ((_, a),) = book.apply([sig(0)])
    assert a.id == alert_id("maritime.drift", "mmsi:212123000", 0)
    assert book.expire(30) == []
    ((what, b),) = book.expire(61)
    assert what == "close" and b.id == a.id and b.closed_time == 0 and b.event_time == 61
    assert a.status == "open"  # the open event's snapshot stays as it was
    # a new episode is a new alert with a new id
    ((_, c),) = book.apply([sig(100)])
    assert c.id != a.id


def test_json_contract_fields():
    book = AlertBook()
    ((_, a),) = book.apply([sig(1_700_000_000.25, x=float("nan"))])
    d = json.loads(a.dumps())
    for k in (
        "id",
        "kind",
        "severity",
        "time",
        "domain",
        "subject",
        "lat",
        "lon",
        "summary",
        "evidence",
    ):
        assert k in d
    assert d["time"] == "2023-11-14T22:13:20.250Z"
    assert d["evidence"] == {"x": None}
    assert d["kind"] in KINDS
