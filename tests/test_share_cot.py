"""CoT/TAK output: a TCP listener receives the demo's tracks; each event parses with takproto.

The demo's first ten minutes go through the real decoders and pipeline with a
`CotSink` attached; the listener checks every event's type, time, stale and
position against the pipeline's own final track state.
"""

import socket
import threading

import numpy as np
import pytest
import takproto

from picket.model.reports import Domain
from picket.model.subjects import Namespace, key
from picket.serve.picture import DROP_S, Picture
from picket.share import tak
from picket.share.cot import uid_of
from picket.share.outputs import MULTICAST_MAX_RATE, CotFilter, CotOutput, CotSink


class Listener:
    """A TCP server that accepts one connection and keeps every byte (bounded by timeouts)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(20)
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(5)
        with conn:
            while True:
                try:
                    chunk = conn.recv(1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                self.data += chunk

    def join(self):
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="module")
def demo_cot(tmp_path_factory):
    from picket.config import Config
    from picket.demo.run import decoded_chunks, write_geography
    from picket.pipeline.assemble import assemble, edge_outputs
    from picket.sim import scenario

    d = tmp_path_factory.mktemp("cot")
    scn = scenario.build(seed=7, duration_s=3600)
    z, i = write_geography(scn, d)
    asm = assemble(Config(store_path=None, base=d), console=False, store=False,
                   zone_files=[z], line_files=[i], dead_letter=d / "dl.jsonl")  # fmt: skip
    lp, lx = Listener(), Listener()
    wide = {"min_interval_s": 0.0, "max_rate": 1e9}
    sink = CotSink([CotOutput(f"tcp://127.0.0.1:{lp.port}", "tak-stream", CotFilter(**wide)),
                    CotOutput(f"tcp://127.0.0.1:{lx.port}", "xml",
                              CotFilter.parse(domains="maritime", **wide))],
                   min_interval_s=0.0)  # fmt: skip
    edge = edge_outputs(asm.pipeline, [sink])  # the CoT output reads the bus, as in `picket run`
    for k, dec in enumerate(decoded_chunks(scn, asm, 10.0)):
        asm.pipeline.process(dec)
        if k == 59:  # ten minutes (plot tracks confirm by then)
            break
    edge.close()  # takes every snapshot published, then closes the output
    lp.join()
    lx.join()
    yield {"tracks": asm.pipeline.tracks, "proto": bytes(lp.data), "xml": bytes(lx.data),
           "sink": sink}  # fmt: skip
    asm.close()


def final_state(tracks):
    """uid -> (domain, pos_time, lat, lon) of every track with a position."""
    c = tracks.cols
    out = {}
    for s in range(len(tracks)):
        if np.isfinite(c["lat"][s]):
            row = (int(c["domain"][s]), float(c["pos_time"][s]), float(c["lat"][s]),
                   float(c["lon"][s]))  # fmt: skip
            out[uid_of(int(c["subject"][s]))] = row
    return out


def test_tak_stream_events_parse_and_match_the_tracks(demo_cot):
    msgs = tak.split_stream(bytearray(demo_cot["proto"]))
    assert len(msgs) > 500
    last = {}
    for m in msgs:
        ev = takproto.parse_proto(bytearray(m)).cotEvent
        last[ev.uid] = ev
    truth = final_state(demo_cot["tracks"])
    assert set(last) == set(truth)  # every demo track with a position was shared
    # affiliation from the picture's identity: unknown aircraft, neutral AIS vessels, suspect
    # while a behaviour alert is open on the track (the demo's incidents)
    types = {int(Domain.AIR): {"a-u-A", "a-s-A"}, int(Domain.MARITIME): {"a-n-S", "a-s-S"}}
    seen = set()
    for uid, ev in last.items():
        dom, t, lat, lon = truth[uid]
        assert ev.type in types[dom]
        seen.add(ev.type)
        assert ev.sendTime == ev.startTime == round(t * 1000)
        assert ev.staleTime - ev.startTime == DROP_S[Domain(dom)] * 1000
        assert ev.lat == pytest.approx(lat, abs=1e-9) and ev.lon == pytest.approx(lon, abs=1e-9)
    assert {"a-u-A", "a-n-S"} <= seen
    assert seen & {"a-s-A", "a-s-S"}  # the demo's incident tracks go out as suspects
    assert any(ev.how == "m-f" and ev.uid.startswith("picket.track-") for ev in last.values())


def test_xml_output_filtered_to_vessels_parses(demo_cot):
    text = demo_cot["xml"].decode()
    events = [e + "</event>" for e in text.split("</event>") if e.strip()]
    assert len(events) > 100
    truth = final_state(demo_cot["tracks"])
    last = {}
    for e in events:
        ev = takproto.parse_proto(bytearray(e.encode())).cotEvent
        last[ev.uid] = ev
    assert {ev.type for ev in last.values()} == {"a-n-S"}
    vessels = {u for u, v in truth.items() if v[0] == int(Domain.MARITIME)}
    assert set(last) == vessels
    for uid, ev in last.items():
        _, t, lat, lon = truth[uid]
        assert ev.startTime == round(t * 1000)
        assert ev.lat == pytest.approx(lat, abs=1e-7) and ev.lon == pytest.approx(lon, abs=1e-7)
        assert ev.detail.contact.callsign


def pic_of(n, t=1000.0):
    p = Picture.empty()
    p.time = t
    p.cols.update(
        subject=np.array([key(Namespace.MMSI, 1 + i) for i in range(n)], np.int64),
        id=np.arange(n, dtype=np.int64), domain=np.full(n, 2, np.uint8),
        lat=np.linspace(54, 58, n), lon=np.linspace(10, 20, n), alt=np.full(n, np.nan),
        speed=np.ones(n), course=np.ones(n), heading=np.full(n, np.nan),
        last_time=np.full(n, t), pos_time=np.full(n, t), first_time=np.full(n, t),
        squawk=np.full(n, -1, np.int16), emergency=np.full(n, -1, np.int8),
        nav_status=np.full(n, -1, np.int8), n_reports=np.ones(n, np.int64),
    )  # fmt: skip
    return p


def test_filters_area_domain_interval_and_rate():
    p = pic_of(100)
    o = CotOutput("udp://127.0.0.1:9", "xml", CotFilter.parse(bbox="10,54,15,56", max_rate=1e9))
    idx = o.due(p)
    assert len(idx) > 0 and np.all(p["lon"][idx] <= 15) and np.all(p["lat"][idx] <= 56)
    assert len(o.due(p)) == 0  # nothing newer than min_interval_s
    p.cols["pos_time"] = p.cols["pos_time"] + 5.0
    assert len(o.due(p)) == len(idx)
    air = CotOutput("udp://127.0.0.1:9", "xml", CotFilter.parse(domains="air", max_rate=1e9))
    assert len(air.due(p)) == 0
    capped = CotOutput("udp://127.0.0.1:9", "xml", CotFilter(min_interval_s=0.0, max_rate=10))
    first = capped.due(p)
    assert len(first) == 10
    second = capped.due(p)  # the bucket is empty; the rest wait their turn
    assert len(second) <= 1 and not set(second) & set(first)


def test_multicast_is_capped():
    o = CotOutput("udp://239.2.3.1:6969", "tak-mesh", CotFilter(max_rate=10_000))
    assert o.multicast and o.filter.max_rate == MULTICAST_MAX_RATE


def test_bad_outputs_are_refused():
    with pytest.raises(ValueError):
        CotOutput("http://127.0.0.1:1")
    with pytest.raises(ValueError):
        CotOutput("tcp://127.0.0.1:1", fmt="json")


def test_stream_framing_round_trip():
    payloads = [b"", b"x" * 127, b"y" * 128, b"z" * 70_000]
    buf = bytearray(b"".join(tak.stream(p) for p in payloads) + tak.stream(b"partial")[:-2])
    out = tak.split_stream(buf)
    assert [m[-len(p) :] if p else b"" for m, p in zip(out, payloads, strict=True)] == payloads
    assert len(buf) == len(tak.stream(b"partial")) - 2  # the incomplete tail waits
