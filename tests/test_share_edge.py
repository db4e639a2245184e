"""The outputs at the bus's edge (`picket.share.edge`): `[[outputs]]` read only the alert
events and track snapshots the pipeline publishes, in `picket run`/`replay` (an in-process
bus) and in `picket share` beside a cluster (a real nats-server). What they write must
equal what the pipeline holds: the same alerts in their latest state, the same aircraft.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time as wall
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from picket import config
from picket.model.reports import Domain
from picket.model.subjects import MASK, SHIFT, Namespace
from picket.share.readsb_out import DROP_S
from picket.sinks.jsonl import MemorySink
from tests.demo_case import demo_case

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Any:
    return demo_case(tmp_path_factory.mktemp("edge"))


def file_outputs(folder: Path) -> dict[str, Any]:
    return {"outputs": [{"kind": "alerts_jsonl", "path": str(folder / "alerts.jsonl")},
                        {"kind": "readsb_json", "path": str(folder / "tar1090")}]}  # fmt: skip


def _key(a: dict[str, Any]) -> tuple:
    return (a["kind"], a["status"], a["time"], a["last_time"], a.get("closed_time"))


def alerts_in(path: Path) -> dict[str, tuple]:
    return {(a := json.loads(line))["id"]: _key(a) for line in path.read_text().splitlines()}


def alerts_of(mem: MemorySink) -> dict[str, tuple]:
    return {a.id: _key(json.loads(a.dumps())) for a in mem.alerts.values()}


def aircraft_of(tracks: Any) -> dict[str, tuple]:
    """hex -> (lat, lon) of the air tracks a tar1090 page would list at the table's time,
    read from the pipeline's own table (what the edge must have rebuilt from the bus)."""
    n = len(tracks)
    c = {k: v[:n] for k, v in tracks.cols.items()}
    now = float(np.nanmax(c["last_time"]))
    keep = (c["domain"] == Domain.AIR) & (now - c["last_time"] <= DROP_S)
    out = {}
    for i in np.flatnonzero(keep).tolist():
        s = int(c["subject"][i])
        tilde = "" if s >> SHIFT == int(Namespace.ICAO) else "~"
        pos = (round(float(c["lat"][i]), 6), round(float(c["lon"][i]), 6))
        out[f"{tilde}{s & MASK & 0xFFFFFF:06x}"] = pos if np.isfinite(pos[0]) else None
    return out


def aircraft_json(folder: Path) -> dict[str, tuple]:
    doc = json.loads((folder / "tar1090" / "aircraft.json").read_text())
    return {a["hex"]: (a["lat"], a["lon"]) if "lat" in a else None for a in doc["aircraft"]}


def test_outputs_read_the_bus_and_write_what_the_pipeline_holds(case, tmp_path):
    """`[[outputs]]` of an in-process run: not among the pipeline's sinks, fed from its
    bus; the alert file holds every alert the pipeline raised in its final state and
    aircraft.json the pipeline's air tracks, for the demo's first 20 minutes."""
    cfg = config.from_dict({"store": {"path": ""}, **file_outputs(tmp_path)}, base=tmp_path)
    mem = MemorySink()
    asm = case.assemble(mem, cfg=cfg)
    pipe = asm.pipeline
    assert asm.outputs and not set(map(id, asm.outputs)) & set(map(id, pipe.sinks))
    assert [o for e in pipe.edges for o in e.outputs] == asm.outputs
    for d in case.cuts():
        pipe.process(d)
    tracks = aircraft_of(pipe.tracks)
    pipe.finish()  # the edge takes everything published, then the outputs close
    got = alerts_in(tmp_path / "alerts.jsonl")
    assert len(got) >= 5 and got == alerts_of(mem)
    assert len(tracks) > 20 and aircraft_json(tmp_path) == tracks
    assert pipe.edges[0].snapshots > 100 and pipe.edges[0].errors == 0
    asm.close()


def _why_not() -> str | None:
    from picket.bus.local import why_no_nats

    return why_no_nats()


@pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "")
def test_picket_share_sends_what_the_cluster_publishes(case, tmp_path):
    """`picket share --nats` (its own process, a real nats-server) runs the config's
    outputs from the bus a worker with `--publish-tracks` publishes on: its alert file and
    aircraft.json equal the worker's alerts and air tracks, written at SIGTERM."""
    from picket.bus.jetstream import JetStreamBus
    from picket.bus.local import LocalNats
    from picket.bus.sink import BusSink

    (tmp_path / "picket.toml").write_text(
        "".join(f'[[outputs]]\nkind = "{o["kind"]}"\npath = "{o["path"]}"\n\n'
                for o in file_outputs(tmp_path)["outputs"]))  # fmt: skip
    nats = LocalNats()
    bus = None
    proc = None
    log = tmp_path / "share.log"
    try:
        with open(log, "ab") as fh:
            proc = subprocess.Popen([sys.executable, "-c", RUN, "share", "--nats", nats.url,
                                     "--config", str(tmp_path / "picket.toml")], cwd=tmp_path,
                                    stdout=fh, stderr=subprocess.STDOUT,
                                    env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
        end = wall.monotonic() + 60
        while "outputs from" not in log.read_text() and wall.monotonic() < end:
            assert proc.poll() is None, log.read_text()
            wall.sleep(0.1)
        assert "outputs from" in log.read_text(), log.read_text()
        bus = JetStreamBus(nats.url)
        mem = MemorySink()
        # what `picket worker --publish-tracks` adds to its pipeline
        asm = case.assemble(mem, BusSink(bus, reports=False, picture=True, global_ids=True))
        for d in case.cuts():
            asm.pipeline.process(d)
        tracks = aircraft_of(asm.pipeline.tracks)
        asm.pipeline.finish()
        want = alerts_of(mem)

        def written() -> bool:
            try:
                return alerts_in(tmp_path / "alerts.jsonl") == want
            except (OSError, ValueError):
                return False

        end = wall.monotonic() + 60  # the file is rewritten every 2 s while it runs
        while not written() and wall.monotonic() < end:
            wall.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, log.read_text()
        assert len(want) >= 5 and alerts_in(tmp_path / "alerts.jsonl") == want
        assert len(tracks) > 20 and aircraft_json(tmp_path) == tracks
        out = log.read_text()
        assert "0 unreadable, 0 output errors" in out and "alerts_jsonl" in out, out
        asm.close()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if bus is not None:
            bus.close()
        nats.close()
