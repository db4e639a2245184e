"""`picket cluster up --demo`: real nats-server, PostgreSQL, workers, feed and server on one
machine; the picture's API answers and shows an alert the workers stored; Ctrl-C stops
every process it started."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time as wall
import urllib.request

import pytest

from picket.bus.local import free_port, why_no_nats, why_no_postgres
from picket.serve.satellites import find_catalogue

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"


def _get(url: str, timeout: float = 5) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except OSError:
        return None


def test_cluster_up_serves_the_demo_and_stops_on_ctrl_c(tmp_path):
    why = why_no_nats() or why_no_postgres()
    if why:
        pytest.skip(why)
    port = free_port()
    out = open(tmp_path / "out.log", "wb")  # noqa: SIM115
    shared = tmp_path / "shared"  # what `--outputs` sends: an alert file and tar1090 JSON
    (tmp_path / "outputs.toml").write_text(
        f'[[outputs]]\nkind = "alerts_jsonl"\npath = "{shared / "alerts.jsonl"}"\n\n'
        f'[[outputs]]\nkind = "readsb_json"\npath = "{shared / "tar1090"}"\n')
    p = subprocess.Popen([sys.executable, "-c", RUN, "cluster", "up", "--demo", "--workers", "2",
                          "--speed", "0", "--port", str(port), "--workdir", str(tmp_path),
                          "--outputs", str(tmp_path / "outputs.toml")],
                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        health = alerts = tracks = zones = sats = None
        want_sky = find_catalogue() is not None
        end = wall.monotonic() + 90.0
        while wall.monotonic() < end and p.poll() is None:
            health = health or _get(f"{base}/api/health")
            got = _get(f"{base}/api/alerts") if health else None
            if got and got.get("alerts"):
                alerts = got["alerts"]
            if health:  # the live picture comes from the workers over the bus
                tracks = tracks or (_get(f"{base}/api/tracks") or {}).get("tracks")
                zones = zones or (_get(f"{base}/api/layers/zones") or {}).get("features")
            if health and want_sky and not sats:  # propagated by the server at first ask
                got = _get(f"{base}/api/layers/satellites?window_s=600", timeout=30)
                sats = got if got and got.get("features") else None
            if alerts and tracks and zones and (sats or not want_sky):
                break
            wall.sleep(1.0)
        said = (tmp_path / "out.log").read_text()
        assert health is not None and health["status"] == "ok", said
        assert alerts, said
        a = alerts[0]
        assert a["id"] and a["kind"] and a["subject"], a
        assert tracks and len(tracks) > 50, said  # the demo has hundreds of ships and aircraft
        names = {f["properties"].get("name") for f in zones or []}
        assert len(names) > 10, names  # the demo's zones, published by worker 0
        if want_sky:  # the satellites layer `picket demo` shows, named by worker 0
            assert sats and sats["properties"]["sky_time"], said
        nats_port = int(re.search(r"nats://127\.0\.0\.1:(\d+)", said).group(1))
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(60)
    assert rc == 0
    assert "picket cluster: stopped" in (tmp_path / "out.log").read_text()
    # `picket share` ran the outputs from the bus and wrote what it held when stopped
    share_log = (tmp_path / "logs" / "share.log").read_text()
    sent = {json.loads(x)["id"] for x in (shared / "alerts.jsonl").read_text().splitlines()}
    assert {x["id"] for x in alerts} <= sent, share_log
    aircraft = json.loads((shared / "tar1090" / "aircraft.json").read_text())["aircraft"]
    assert aircraft and all("hex" in x for x in aircraft), share_log
    for port_ in (port, nats_port):  # the server and the broker are gone
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port_)) != 0
