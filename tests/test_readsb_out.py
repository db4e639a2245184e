"""readsb/tar1090 JSON out: picket's fused air picture written as readsb documents it
(aircraft.json, receiver.json, history_N.json), read back by picket's own readsb reader
and checked field by field against the pipeline's tracks and readsb's schema."""

from __future__ import annotations

import json
import re

import pytest

from picket import config
from picket.model.alerts import parse_time
from picket.model.rejects import Rejects
from picket.model.subjects import format_subject, parse_subject
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files
from picket.share.outputs_config import check_outputs
from picket.sources.registry import read_file

BEAST = "air/beast_capture_gulf_of_finland_20180403_61s.bin"
EMERGENCY = {"none", "general", "lifeguard", "minfuel", "nordo", "unlawful", "downed",
             "reserved"}  # fmt: skip


@pytest.fixture()
def written(shared_data, tmp_path):
    """The real capture replayed in 10 s batches (as a live feed's ticks would), with the
    readsb output configured as a user would; the pipeline's own tracks beside it."""
    out = tmp_path / "tar1090"
    cfg = config.from_dict({
        "store": {"path": ""},
        "outputs": [{"kind": "readsb_json", "path": str(out), "history_every_s": 10,
                     "receiver": [59.9, 30.3]}],
    })  # fmt: skip
    asm = assemble(cfg, console=False, store=False)
    t0 = parse_time("2018-04-03T19:02:28Z")
    replay_files(asm.pipeline, [(shared_data / BEAST, "beast")], asm.rejects, batch_s=10.0,
                 speed=1e9, decoder_args={"beast": {"start_time": t0}})  # fmt: skip
    return out, asm.pipeline.tracks


@pytest.mark.realdata
def test_aircraft_json_follows_readsbs_schema_and_the_tracks(written):
    out, tracks = written
    doc = json.loads((out / "aircraft.json").read_text())
    assert isinstance(doc["now"], float) and doc["messages"] > 0
    ac = doc["aircraft"]
    assert len(ac) == 11  # the capture's 11 aircraft
    for a in ac:
        assert re.fullmatch(r"[0-9a-f]{6}", a["hex"]) and a["type"] == "adsb_icao"
        assert a["seen"] >= 0 and a["messages"] > 0
        if "alt_baro" in a:
            assert isinstance(a["alt_baro"], int) or a["alt_baro"] == "ground"
        if "squawk" in a:
            assert re.fullmatch(r"[0-7]{4}", a["squawk"])
        if "emergency" in a:
            assert a["emergency"] in EMERGENCY
        if "flight" in a:
            assert len(a["flight"]) == 8
        slot = tracks.slot(parse_subject(f"icao:{a['hex']}"))
        if "lat" in a:
            assert a["lat"] == pytest.approx(float(tracks.cols["lat"][slot]), abs=2e-6)
            assert a["lon"] == pytest.approx(float(tracks.cols["lon"][slot]), abs=2e-6)
            assert a["seen_pos"] == pytest.approx(doc["now"] - tracks.cols["pos_time"][slot],
                                                  abs=0.11)  # now is rounded to 0.1 s
        if "alt_baro" in a and a["alt_baro"] != "ground":
            assert a["alt_baro"] == round(float(tracks.cols["alt"][slot]) / 0.3048)
    assert sum("lat" in a for a in ac) >= 8


@pytest.mark.realdata
def test_readsb_reader_reads_it_back(written):
    out, _ = written
    doc = json.loads((out / "aircraft.json").read_text())
    rej = Rejects()
    reps = [d.reports for d in read_file(out / "aircraft.json", rej, "readsb-json")]
    assert rej.rejected == 0
    got = {format_subject(int(s)) for r in reps for s in r.subject.tolist()}
    assert got == {f"icao:{a['hex']}" for a in doc["aircraft"]}
    with_pos = {f"icao:{a['hex']}": a for a in doc["aircraft"] if "lat" in a}
    for r in reps:
        for i in range(len(r)):
            a = with_pos.get(format_subject(int(r.subject[i])))
            if a is not None and r.lat[i] == r.lat[i]:
                assert r.lat[i] == pytest.approx(a["lat"], abs=1e-6)


@pytest.mark.realdata
def test_receiver_and_history_ring(written):
    out, _ = written
    rec = json.loads((out / "receiver.json").read_text())
    assert rec["refresh"] == 1000 and rec["lat"] == 59.9 and rec["lon"] == 30.3
    hist = sorted(out.glob("history_*.json"))
    assert rec["history"] == len(hist) >= 5  # a 61 s capture, one every 10 s of event time
    assert all(json.loads(h.read_text())["aircraft"] is not None for h in hist)
    assert not list(out.glob(".*.tmp"))  # written atomically


@pytest.mark.parametrize("table, msg", [
    ({"kind": "readsb_json"}, "'path' is required"),
    ({"kind": "readsb_json", "path": "x", "receiver": [95, 0]}, "outputs[0].receiver"),
    ({"kind": "readsb_json", "path": "x", "history": 0}, "outputs[0].history"),
    ({"kind": "readsb_json", "path": "x", "every": 1}, "unknown key 'every'"),
])  # fmt: skip
def test_bad_tables_name_the_key(table, msg):
    with pytest.raises(config.ConfigError, match=re.escape(msg)):
        check_outputs([table])
