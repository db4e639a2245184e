"""Incidents as they were, and `[incidents]` from `--config` everywhere, on the Baltic demo's
store: `/api/incidents?at=T` and `/api/incidents/{id}?at=T` join the alerts as they were at T
(`state_as_of`), so an incident's member is there at T after its alert opened and not
before; `picket serve --at T` lists the incidents of that moment; `picket demo --config`
and `picket serve --config` join by the file's rules."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from picket.cli.main import main
from picket.model.alerts import iso, parse_time
from tests.test_live import free_port


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    """A headless `picket demo --config` run; its [incidents] widen nothing the scripted
    incident needs (a 50-minute window instead of an hour)."""
    d = tmp_path_factory.mktemp("incidents_as_of")
    cfg = d / "picket.toml"
    cfg.write_text("[incidents]\nwindow_s = 3000.0\n")
    assert main(["demo", "--headless", "--quiet", "--duration", "3600", "--workdir",
                 str(d / "work"), "--config", str(cfg)]) == 0  # fmt: skip
    return d / "work" / "picket.sqlite"


class Served:
    """`picket serve` over a store in a subprocess, on a free port."""

    def __init__(self, store: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.p = subprocess.Popen([sys.executable, "-m", "picket.cli.main", "serve", "--store",
                                   str(store), "--port", str(self.port), "--seconds", "120",
                                   *args], env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.p.poll() is None, self.p.communicate()[0].decode()[-2000:]
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("picket serve did not answer")

    def get(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(self.url + path, params=params, timeout=60)

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.communicate()


def _drift(incidents: list[dict]) -> dict:
    """The scripted cross-domain incident: the vessel adrift under the jamming."""
    (inc,) = [x for x in incidents if x["domains"] == ["em", "maritime"]
              and "Kaliningrad" in x["place"]["text"]]  # fmt: skip
    return inc


def test_demo_config_rules_reach_its_stored_incidents(demo_store):
    db = sqlite3.connect(demo_store)
    recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM incidents")]
    db.close()
    assert recs and all(r["rules"]["window_s"] == 3000.0 for r in recs)


def test_an_incident_member_is_there_after_its_alert_opened_and_not_before(demo_store):
    s = Served(demo_store)
    try:
        inc = _drift(s.get("/api/incidents").json()["incidents"])
        opened = sorted((parse_time(e["time"]), e["alert_id"]) for e in inc["timeline"]
                        if e["what"] == "opened")  # fmt: skip
        assert len(opened) >= 2
        t_last, last = opened[-1]  # the member that joined last
        if opened[-2][0] == t_last:
            pytest.fail("two members opened at one instant: no moment between them")
        after, before = iso(t_last + 1.0), iso(t_last - 1.0)

        then = s.get("/api/incidents", at=after).json()["incidents"]
        (now_inc,) = [x for x in then if x["id"] == inc["id"]]
        assert last in now_inc["alerts"] and now_inc["as_of"] == after
        assert now_inc["status"] == "open"  # its alerts were open then
        assert parse_time(now_inc["last_time"]) <= t_last + 1.0
        one = s.get(f"/api/incidents/{inc['id']}", at=after).json()
        assert last in one["alerts"] and one["triage"]["state"] == "new"

        earlier = s.get("/api/incidents", at=before).json()["incidents"]
        assert all(last not in x["alerts"] for x in earlier)
        r = s.get(f"/api/incidents/{inc['id']}", at=before)
        assert r.status_code == 404 or last not in r.json()["alerts"]
        # before the incident's first alert, nothing of it
        first = iso(opened[0][0] - 1.0)
        assert s.get(f"/api/incidents/{inc['id']}", at=first).status_code == 404
        assert s.get("/api/incidents", at="yesterday").status_code == 400
        assert s.get(f"/api/incidents/{inc['id']}", at="yesterday").status_code == 400
    finally:
        s.stop()
    # `picket serve --at`: the page's incidents are those of that moment, unasked
    s = Served(demo_store, "--at", after)
    try:
        got = s.get("/api/incidents").json()["incidents"]
        assert [(x["id"], x["alerts"]) for x in got] == [(x["id"], x["alerts"]) for x in then]
    finally:
        s.stop()


def test_serve_reads_incident_rules_from_config(demo_store, tmp_path):
    cfg = tmp_path / "picket.toml"
    cfg.write_text("[incidents]\nmin_domains = 3\n")  # the demo's incidents span two
    s = Served(demo_store, "--config", str(cfg))
    try:
        assert s.get("/api/incidents").json()["incidents"] == []
    finally:
        s.stop()
