"""Global track ids in the live picture: a track's id is its `picket.bus.global_ids` value
(as text), the same after a server restart over the same replay and whichever worker
publishes it; the live frames' numbers stay per server life. Real pipeline, real server."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from picket.bus import global_ids
from picket.bus.picture import PICTURE, PictureTap
from picket.bus.sink import BusSink
from picket.config import Config
from picket.fusion.tracks import TrackTable
from picket.model.alerts import Alert
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, format_subject, key
from picket.serve import LiveHub, serve_assembly

FILE = "ais/dma_danish_waters_20131112_5min.nmea.gz"


def _serve_replay(path, first: Decoded | None) -> dict[str, tuple[str, int]]:
    """subject -> (id, wire id) of every track the server shows after the replay."""
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import merge, run_stream
    from picket.sources.registry import read_file

    asm = assemble(Config(store_path=None), console=False, store=False)
    h = serve_assembly(asm, port=0)
    try:
        if first is not None:  # one more track first: every table slot after it moves on
            asm.pipeline.process(first)
        run_stream(asm.pipeline, merge([read_file(path, asm.rejects)]), 60.0)
        asm.pipeline.finish()
        rows = httpx.get(h.url + "/api/tracks", params={"all": "1", "limit": "100000"},
                         timeout=60).json()["tracks"]  # fmt: skip
        one = rows[len(rows) // 2]
        by_id = httpx.get(h.url + "/api/tracks/" + one["id"], timeout=60).json()
        assert by_id["subject"] == one["subject"]  # an id names its track in the API
    finally:
        h.stop()
        asm.close()
    return {r["subject"]: (r["id"], r["wire_id"]) for r in rows}


def _one_ship(t: float) -> Decoded:
    return Decoded(Reports.build(1, time=np.array([t]), domain=np.array([Domain.MARITIME]),
                                 kind=np.array([Kind.POSITION]),
                                 subject=np.array([key(Namespace.MMSI, 999000001)]),
                                 lat=np.array([55.5]), lon=np.array([11.0])))  # fmt: skip


@pytest.mark.realdata
def test_a_tracks_id_is_the_same_after_a_server_restart(shared_data):
    path = shared_data / FILE
    before = _serve_replay(path, None)
    after = _serve_replay(path, _one_ship(1384256000.0))
    assert len(before) > 50
    common = sorted(set(before) & set(after))
    assert len(common) == len(before)
    assert [before[s][0] for s in common] == [after[s][0] for s in common]
    # the wire numbers did move (they are table order): an id by slot would have changed
    assert sum(before[s][1] != after[s][1] for s in common) > len(common) // 2
    for gid, _ in before.values():
        assert gid.isdigit() and int(gid) < 2**63
    assert len({g for g, _ in before.values()}) == len(before)


def test_ids_a_worker_publishes_are_the_servers():
    """A named subject's id does not depend on the worker; an anonymous plot track's mixes in
    its worker's shard (two trackers' track 7 are two tracks), and the server keeps it."""
    ship, plot = key(Namespace.MMSI, 211000001), key(Namespace.TRACK, 7)
    table = TrackTable()
    r = Reports.build(2, time=np.array([100.0, 100.0]),
                      domain=np.array([Domain.MARITIME, Domain.AIR]),
                      kind=np.array([Kind.POSITION, Kind.POSITION]),
                      subject=np.array([ship, plot]), lat=np.array([55.0, 56.0]),
                      lon=np.array([14.0, 15.0]))  # fmt: skip
    slots = table.slots_for(r.subject)
    table.update(r, slots, np.ones(2, bool))

    class Batch:
        tracks, statics, now, world = table, [], 100.0, None

    Batch.slots = slots
    hub = LiveHub()
    hub.bus.publish(PICTURE, PictureTap(shard=3).snapshot(Batch, 2))
    pic = hub.current()
    got = dict(zip(pic["subject"].tolist(), pic["gid"].tolist(), strict=True))
    assert got[ship] == global_ids(np.array([ship]), 0)[0] == global_ids(np.array([ship]), 3)[0]
    assert got[plot] == global_ids(np.array([plot]), 3)[0] != global_ids(np.array([plot]), 0)[0]
    from picket.serve.views import meta_rows

    rows = {r[1]: r for r in meta_rows(pic, np.arange(len(pic)))}
    assert rows[format_subject(plot)][5] == str(got[plot])  # the page's key: text
    # alert events (SSE, the open set) name the track they are on by the same id
    sink = BusSink(hub.bus, reports=False, picture=False)
    other = key(Namespace.MMSI, 211000099)  # a named subject the picture has not seen
    for i, subj in enumerate((plot, ship, other)):
        sink.emit([("open", Alert(id=f"a{i:015d}", kind="maritime.ais_gap", severity="warning",
                                  time=100.0, domain="maritime", subject=format_subject(subj),
                                  lat=55.0, lon=14.0, summary="x", evidence={},
                                  last_time=100.0))])  # fmt: skip
    sink.emit([("open", Alert(id="b" + "0" * 15, kind="gnss.interference", severity="warning",
                              time=100.0, domain="air", subject="h3:851f1d4bfffffff",
                              lat=55.0, lon=14.0, summary="x", evidence={},
                              last_time=100.0))])  # fmt: skip
    hub.sync()
    sent = [json.loads(d)["alert"] for _, e, d in hub.events.since(0) if e == "alert"]
    assert [a.get("track") for a in sent] == [
        str(got[plot]), str(got[ship]), str(global_ids(np.array([other]), 0)[0]), None]
