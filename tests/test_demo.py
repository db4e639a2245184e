"""The Baltic demo end to end: simulator wire bytes -> picket's decoders -> alerts vs truth.

This is the foundation's acceptance test: every scripted incident raises its
alert kind with evidence, and the quiet background raises (almost) nothing.
"""

import json

import pytest

from picket.cli.main import main
from picket.demo.score import score
from picket.model.alerts import KINDS

# The quiet background may raise at most this many alerts in the 1-hour scenario (README).
MAX_BACKGROUND_ALERTS = 2


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    out = d / "a.jsonl"
    assert main(["demo", "--headless", "--duration", "3600", "--alerts-out", str(out),
                 "--workdir", str(d / "work"), "--quiet"]) == 0  # fmt: skip
    from picket.sim import scenario

    scn = scenario.build(seed=7, duration_s=3600)
    incidents = [i.to_json() for i in scn.incidents]
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    return alerts, incidents, d


def test_every_scripted_incident_raises_its_kind(demo_run):
    alerts, incidents, _ = demo_run
    sc = score(alerts, incidents)
    assert not sc.missed, sc.report()
    assert {i["kind"] for i in incidents} >= {
        "maritime.anchor_drag", "maritime.ais_gap", "maritime.encounter",
        "maritime.identity_conflict", "air.emergency", "air.airspace_entry",
        "gnss.interference", "gnss.spoofing",
    }  # fmt: skip
    assert len(sc.background) <= MAX_BACKGROUND_ALERTS, sc.report()


def test_alerts_follow_the_contract_and_carry_evidence(demo_run):
    alerts, _, _ = demo_run
    ids = [a["id"] for a in alerts]
    assert len(ids) == len(set(ids))  # one object per alert
    for a in alerts:
        assert a["kind"] in KINDS and a["severity"] in ("info", "warning", "critical")
        assert a["summary"] and a["evidence"] and a["time"].endswith("Z")
    by_kind = {a["kind"]: a for a in alerts}
    drag = by_kind["maritime.anchor_drag"]
    assert drag["severity"] == "critical"
    assert drag["evidence"]["infrastructure"]["name"] == "Estlink 2"
    gap = by_kind["maritime.ais_gap"]
    assert gap["evidence"]["infrastructure"]["name"] == "Balticconnector"
    assert {"start", "end"} <= set(gap["evidence"])
    assert by_kind["air.emergency"]["evidence"]["squawk"] == "7700"
    assert by_kind["gnss.spoofing"]["evidence"]["jumps"]
    assert by_kind["air.airspace_entry"]["subject"].startswith("track:")


def test_rerun_starts_its_own_run_and_keeps_each_alert_once(demo_run, tmp_path):
    """A second demo archives the first (store, triage, dead letters) under runs/ and starts
    a fresh store: no alert or triage of the earlier run shows as current."""
    alerts, _, d = demo_run
    from picket.store.sqlite import Store

    first = Store(d / "work" / "picket.sqlite")
    n_events = first.db.execute("SELECT count(*) FROM alert_events").fetchone()[0]
    first.triage(alerts[0]["id"], "analyst", "acknowledge", "seen in run 1", 1.0)
    first.close()
    out = tmp_path / "b.jsonl"
    assert main(["demo", "--headless", "--duration", "3600", "--alerts-out", str(out),
                 "--workdir", str(d / "work"), "--quiet"]) == 0  # fmt: skip
    st = Store(d / "work" / "picket.sqlite")
    assert st.count_alerts() == len(alerts)
    assert sorted(a["id"] for a in st.alerts(limit=10_000)) == sorted(a["id"] for a in alerts)
    assert st.triage_log(alerts[0]["id"]) == []  # the earlier run's triage is not current
    assert st.db.execute("SELECT count(*) FROM alert_events").fetchone()[0] == n_events
    (run1,) = [p for p in (d / "work" / "runs").iterdir()]
    old = Store(run1 / "picket.sqlite")
    assert old.triage_log(alerts[0]["id"])[0]["comment"] == "seen in run 1"
    assert old.count_alerts() == len(alerts)


def test_a_demo_too_short_for_its_incidents_is_refused_with_a_reason(capsys):
    import pytest

    from picket.cli.main import main
    from picket.sim import scenario

    assert main(["demo", "--headless", "--duration", "600", "--quiet"]) == 2
    assert "at least 3600 s" in capsys.readouterr().err
    with pytest.raises(ValueError, match="at least 3600 s"):
        scenario.build(seed=1, duration_s=1200)
