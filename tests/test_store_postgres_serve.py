"""Two `picket serve` processes over one PostgreSQL store show the same alerts, and a triage
made on one is seen on the other; `picket replay --store postgresql://...` fills the store
from a real AIS capture. Real processes, real sockets, a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from picket.bus.local import LocalPostgres, why_no_postgres
from picket.model.alerts import iso
from picket.store import open_store
from tests.conftest import SHARED
from tests.test_live import free_port
from tests.test_past import T0, run

DRIFT = SHARED / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"
CABLES = SHARED / "geo" / "submarine_cables_telegeography_2021.geojson"


def picket() -> list[str]:
    script = Path(sys.executable).parent / "picket"
    return [str(script)] if script.exists() else [sys.executable, "-m", "picket.cli.main"]


@pytest.fixture(scope="module")
def pg():
    why = why_no_postgres()
    if why:
        pytest.skip(why)
    s = LocalPostgres()
    yield s
    s.close()


def wait_up(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"picket serve exited: {proc.communicate()[1]}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("picket serve did not come up")


def test_two_servers_one_store_same_alerts(pg, tmp_path):
    url = pg.new_database()
    st = open_store(url, tmp_path)
    run(st)  # the scripted drift and GNSS cell (tests/test_past.py), through the real sink
    st.close()
    if DRIFT.exists() and CABLES.exists():  # and a real capture, replayed by the CLI
        r = subprocess.run([*picket(), "replay", str(DRIFT), "--infrastructure", str(CABLES),
                            "--store", url, "--quiet", "--no-progress"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
    # picket alerts and picket export read the same store by URL
    r = subprocess.run([*picket(), "alerts", "--store", url, "--json"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    listed = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    assert {"maritime.drift", "gnss.interference"} <= {a["kind"] for a in listed}
    r = subprocess.run([*picket(), "export", "--store", url, "--format", "geojson", "--out",
                        str(tmp_path / "x.geojson"), "--all-tracks"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    feats = json.loads((tmp_path / "x.geojson").read_text())["features"]
    assert any(f["properties"].get("subject") == "mmsi:211000001" for f in feats)
    # a password in the URL is never printed (trust auth here ignores it)
    secret_url = url.replace("postgres@", "postgres:s3cret-pw@")
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen([*picket(), "serve", "--store", secret_url, "--port", str(p),
                               "--seconds", "120"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for p in ports]  # fmt: skip
    try:
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for u, proc in zip(urls, procs, strict=True):
            wait_up(u, proc)
        lists = [httpx.get(u + "/api/alerts", timeout=10).json()["alerts"] for u in urls]
        assert lists[0] == lists[1]
        kinds = {a["kind"] for a in lists[0]}
        assert {"maritime.drift", "gnss.interference"} <= kinds
        if DRIFT.exists() and CABLES.exists():
            assert any(a["subject"] == "mmsi:212123000" for a in lists[0])
        # as of a time, too
        at = [httpx.get(u + "/api/alerts", params={"at": str(T0 + 150)}, timeout=10).json()
              for u in urls]  # fmt: skip
        assert at[0]["alerts"] == at[1]["alerts"]
        assert {a["status"] for a in at[0]["alerts"] if a["time"] >= iso(T0)} == {"open"}
        assert len([a for a in at[0]["alerts"] if a["time"] >= iso(T0)]) == 2
        # an analyst acknowledges on the first server; the second shows it
        drift = next(a["id"] for a in lists[0] if a["subject"] == "mmsi:211000001")
        r = httpx.post(urls[0] + f"/api/alerts/{drift}/triage", json={"action": "acknowledge"},
                       timeout=10)  # fmt: skip
        assert r.status_code == 200, r.text
        other = httpx.get(urls[1] + f"/api/alerts/{drift}", timeout=10).json()
        assert other["triage"]["state"] == "acknowledged"
        assert [a["triage"] for a in httpx.get(urls[0] + "/api/alerts", timeout=10).json()
                ["alerts"]] == [a["triage"] for a in httpx.get(
                    urls[1] + "/api/alerts", timeout=10).json()["alerts"]]  # fmt: skip
    finally:
        errs = []
        for proc in procs:
            proc.terminate()
            try:
                errs.append(proc.communicate(timeout=20)[1])
            except subprocess.TimeoutExpired:
                proc.kill()
                errs.append(proc.communicate()[1])
    assert all("s3cret-pw" not in e for e in errs), errs
    assert any("serving postgresql://postgres:***@127.0.0.1" in e for e in errs), errs
