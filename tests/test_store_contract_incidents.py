"""Incidents and API watchlist entries: the same answers from SQLite and PostgreSQL.

Truth: three alerts, two of them (a vessel drifting over a cable and GNSS interference
around it) close in space and time across domains, the third far away. The joiner's
records go into each store and come back the same, filtered the same; watchlist entries
added and deleted come back the same."""

from __future__ import annotations

import pytest

from picket.detect.incidents import IncidentRules, join, merged
from picket.model.alerts import iso
from picket.store import open_store
from tests.test_store_contract import server, target  # noqa: F401  (fixtures)

T0 = 1_736_935_200.0


def alert(aid, kind, domain, subject, t, lat, lon, closed=None, **ev):
    return {"id": aid, "kind": kind, "domain": domain, "subject": subject, "time": iso(t),
            "last_time": iso(closed or t + 600), "closed_time": iso(closed) if closed else None,
            "status": "closed" if closed else "open", "severity": "warning", "lat": lat,
            "lon": lon, "summary": kind, "evidence": ev}  # fmt: skip


ALERTS = [
    alert("a1", "maritime.drift", "maritime", "mmsi:277000001", T0 + 1200, 55.62, 20.3,
          closed=T0 + 3300),
    alert("a2", "gnss.interference", "em", "h3:841f72dffffffff", T0, 55.0, 20.0,
          cells=[{"cell": "x", "lat": 55.55, "lon": 20.4},
                 {"cell": "y", "lat": 55.0, "lon": 20.0}]),
    alert("a3", "maritime.anchor_drag", "maritime", "mmsi:518000001", T0 + 600, 59.77, 26.6),
    alert("a4", "air.emergency", "air", "icao:4cacea", T0 + 900, 59.8, 26.7),  # near a3 ...
]
ALERTS[3]["time"] = iso(T0 + 3600 * 5)  # ... but hours later: not joined


def test_join_truth():
    recs = join(ALERTS)
    assert len(recs) == 1
    r = recs[0]
    assert r["alerts"] == ["a2", "a1"] and r["domains"] == ["em", "maritime"]
    assert r["status"] == "open" and [e["what"] for e in r["timeline"]] == ["opened", "opened",
                                                                           "closed"]
    w, s, e, n = r["extent"]["bbox"]
    assert w < 20.0 < 20.4 < e and s < 55.0 < 55.62 < n
    # kinds that may not join, or a distance too short, leave the alerts apart
    assert join(ALERTS, IncidentRules(exclude=["gnss.*"])) == []
    far = [dict(ALERTS[0], lat=56.0), ALERTS[1]]  # ~50 km from the nearest cell's centre
    assert join(far) == [] and len(join(far, IncidentRules(distance_m=30_000.0))) == 1
    assert join(ALERTS, IncidentRules(window_s=0.0)) == []  # the spans do not overlap
    late = [dict(ALERTS[0], time=iso(T0 + 9 * 3600), closed_time=iso(T0 + 10 * 3600)),
            dict(ALERTS[1], last_time=iso(T0 + 1800))]
    assert join(late) == []  # too far apart in time
    with pytest.raises(ValueError, match="unknown keys"):
        IncidentRules.from_dict({"distance": 3})


def test_a_merged_incident_points_at_its_holder():
    old = join(ALERTS[:2])
    earlier = alert("a0", "air.transponder_loss", "air", "icao:111111", T0 - 600, 55.5, 20.35)
    new = join([earlier, *ALERTS])
    assert new[0]["id"] != old[0]["id"]
    (m,) = merged({old[0]["id"]}, new, old)
    assert m["status"] == "merged" and m["merged_into"] == new[0]["id"]


def test_incidents_and_watch_entries_on_each_backend(target):  # noqa: F811
    st = open_store(target)
    try:
        recs = join(ALERTS)
        st.upsert_incidents(recs)
        st.upsert_incidents(recs)  # a rerun keeps one record per id
        got = st.incidents()
        assert got == recs
        assert st.incident(recs[0]["id"]) == recs[0] and st.incident("inc-none") is None
        assert st.incidents(status="closed") == []
        assert st.incidents(since=T0 + 4 * 3600) == []
        assert st.incidents(until=T0 - 1) == []
        st.upsert_incidents([{**recs[0], "status": "merged"}])
        assert st.incidents() == [] and st.incidents(status="merged")[0]["id"] == recs[0]["id"]
        e1 = {"id": "w1", "match": "mmsi:277000001", "label": "drifter", "severity": "critical",
              "note": "", "who": "ana", "time": T0}
        e2 = {**e1, "id": "w2", "match": "name:*STAR*", "time": T0 + 1}
        st.add_watch(e1)
        st.add_watch(e2)
        assert st.watch_entries() == [e1, e2]
        assert st.delete_watch("w1") and not st.delete_watch("w1")
        assert st.watch_entries() == [e2]
    finally:
        st.close()
