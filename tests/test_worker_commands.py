"""Operators' commands in a cluster: the feed stamps a zone edit into the next cut it
publishes, so every worker applies it at that cut, and their alerts are those of one
process that took the edit before the same batch; a restarted worker keeps the edit."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
import shapely

from picket.bus import CMD, InProcessBus
from picket.bus.stages import AREA_STAGE, SUBJECT, Publisher, Worker, publish_stream
from tests.demo_case import alert_key, demo_case

EDIT_AT = 40  # the cut before which the operator's edit lands


def _zone_command(world: Any, box: tuple[float, float, float, float]) -> bytes:
    """The hub's `picket.cmd.zones` body: every zone, and a new restricted one."""
    zones = [{"name": f.name, "kind": f.kind, "where": f.where,
              "properties": dict(f.properties), "geometry": shapely.geometry.mapping(f.geometry)}
             for f in world.zones.features]  # fmt: skip
    w, s, e, n = box
    zones.append({"name": "TEMP R-9", "kind": "restricted", "where": "api",
                  "properties": {"name": "TEMP R-9", "kind": "restricted"},
                  "geometry": {"type": "Polygon",
                               "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}})
    return json.dumps({"zones": zones, "reindexed": False}).encode()


def test_a_zone_edit_reaches_every_worker_at_the_same_cut(tmp_path):
    from picket.pipeline.commands import Commands
    from picket.pipeline.replay import run_stream
    from picket.sinks.jsonl import MemorySink

    case = demo_case(tmp_path)
    cuts, asm, key = list(case.cuts(900.0)), case.assemble, alert_key

    # the new zone: a box around where the aircraft are at the edit
    air = np.concatenate([d.reports.lat[d.reports.domain == 1] for d in cuts[EDIT_AT:EDIT_AT + 3]])
    lon = np.concatenate([d.reports.lon[d.reports.domain == 1] for d in cuts[EDIT_AT:EDIT_AT + 3]])
    lat0, lon0 = float(np.nanmedian(air)), float(np.nanmedian(lon))
    box = (lon0 - 1.0, lat0 - 0.6, lon0 + 1.0, lat0 + 0.6)

    ref = MemorySink()
    one = asm(ref)
    body = _zone_command(one.pipeline.world, box)
    take, done = Commands(one.pipeline), [0]

    def after(now: float) -> None:  # batch `done` is next: the edit lands before it
        done[0] += 1
        if done[0] == EDIT_AT:
            assert take.apply([("zones", body)])

    run_stream(one.pipeline, iter(cuts), 10.0, on_batch=after)
    want = sorted(key(a) for a in ref.alerts.values())
    entered = [a for a in ref.alerts.values() if a.kind == "air.airspace_entry"
               and "TEMP R-9" in json.dumps(a.evidence)]  # fmt: skip
    assert entered, "the edited zone raises alerts in one process"

    bus = InProcessBus()

    def stream() -> Any:
        for k, d in enumerate(cuts):
            if k == EDIT_AT:
                bus.publish(f"{CMD}.zones", body)  # the operator's edit, from a server
            yield d

    pub = Publisher(bus, 2, source="feed-1", commands=bus.subscribe(f"{CMD}.>", "feed-cmds"))
    assert publish_stream(pub, stream(), 10.0) == len(cuts) + 1  # a cut per chunk, and eof
    got, zones = [], []
    for role, part in ((SUBJECT, 0), (SUBJECT, 1), (AREA_STAGE, 0)):
        mem = MemorySink()
        w = Worker(asm(mem), bus, part, 2 if role == SUBJECT else 1, role)
        w.run(lambda: False, until_eof=True)
        zones.append(w.pipe.world.zones.names[-1])
        got += [key(a) for a in mem.alerts.values()]
    assert zones == ["TEMP R-9"] * 3
    assert sorted(got) == want


def _zone_ops(world: Any, box: tuple[float, float, float, float]) -> bytes:
    """The hub's `picket.cmd.zones` body for per-zone edits: the new zone put by its id,
    and the first zone of the start-up files deleted (those zones carry no id: the
    pipeline names them z1, z2, ... as a server's editor does)."""
    new = json.loads(_zone_command(world, box))["zones"][-1]
    new["properties"]["id"] = "z-new"
    return json.dumps({"ops": [{"op": "put", "zone": new}, {"op": "delete", "id": "z1"}],
                       "reindexed": True}).encode()  # fmt: skip


@pytest.mark.parametrize("make", [_zone_command, _zone_ops], ids=["whole list", "per zone"])
def test_a_restarted_worker_judges_against_the_edited_zones(tmp_path, make):
    """The edit came once, in a cut before the checkpoint: the restored worker must not go
    back to its start-up zone files."""
    from picket.config import Config

    case = demo_case(tmp_path)
    cuts = list(itertools.islice(case.cuts(), 12))
    cfg = Config(store_path=str(tmp_path / "picket.sqlite"))

    def worker(bus: Any) -> Worker:
        return Worker(case.assemble(cfg=cfg, store=True), bus, 0, 1, SUBJECT)

    bus = InProcessBus()
    pub = Publisher(bus, 1, source="feed-1", commands=bus.subscribe(f"{CMD}.>", "feed-cmds"))
    w = worker(bus)
    first = w.pipe.world.zones.names
    body = make(w.pipe.world, (20.0, 59.0, 21.0, 59.5))
    want = [*(first if make is _zone_command else first[1:]), "TEMP R-9"]
    last = float("nan")
    for k, d in enumerate(cuts):
        if k == 3:
            bus.publish(f"{CMD}.zones", body)
        last = float(d.reports.time[-1]) if len(d.reports) else last
        pub.publish(d, last)
    while w.step(64, 0.01):
        pass
    assert w.pipe.world.zones.names == want
    w.checkpoint()
    w.close()
    again = worker(bus)
    assert again.last_seq == w.last_seq > 0  # resumed from the checkpoint
    assert again.pipe.world.zones.names == want
    again.close()
