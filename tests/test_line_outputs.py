"""AIS NMEA and SBS-1 out, each read by a real client: pyais's TCP and UDP readers for the
NMEA picture, picket's own SBS decoder over a real socket for BaseStation lines. The
fused tracks of a real capture must arrive as sent: every vessel or aircraft, its last
position, its identity; and what a dead client could not take is counted."""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
from pyais.stream import TCPConnection, UDPReceiver

from picket import config
from picket.model.alerts import parse_time
from picket.model.rejects import Rejects
from picket.model.subjects import MASK, SHIFT, Namespace
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files
from picket.share.line_sinks import AisNmeaSink, SbsSink
from picket.sources.registry import get_format

AIS = "ais/dma_danish_waters_20131112_5min.nmea.gz"
BEAST = "air/beast_capture_gulf_of_finland_20180403_61s.bin"


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _replay(shared, outputs: list[dict], path: str, fmt: str, **dargs):
    asm = assemble(config.from_dict({"store": {"path": ""}, "outputs": outputs}),
                   console=False, store=False)  # fmt: skip
    return asm, lambda: replay_files(asm.pipeline, [(shared / path, fmt)], asm.rejects,
                                     batch_s=10.0, speed=1e9, decoder_args={fmt: dargs})


def _vessels(tracks) -> dict[int, tuple[float, float]]:
    c, n = tracks.cols, len(tracks)
    s = c["subject"][:n]
    m = ((s >> SHIFT) == int(Namespace.MMSI)) & np.isfinite(c["lat"][:n]) & (c["domain"][:n] == 2)
    return {int(x & MASK): (float(la), float(lo))
            for x, la, lo in zip(s[m], c["lat"][:n][m], c["lon"][:n][m], strict=True)}


def _collect(reader, out: list, done: threading.Event) -> None:
    try:
        for msg in reader:
            out.append(msg)
            if done.is_set():
                break
    except OSError:
        pass


@pytest.mark.realdata
def test_ais_nmea_server_read_by_pyais_tcp(shared_data):
    port = _free_port()
    asm, run = _replay(shared_data, [{"kind": "ais_nmea", "url": f"listen://127.0.0.1:{port}",
                                      "min_interval_s": 0}], AIS, "ais-nmea")  # fmt: skip
    sink = next(s for s in asm.outputs if isinstance(s, AisNmeaSink))
    got: list = []
    done = threading.Event()
    reader = TCPConnection("127.0.0.1", port)
    th = threading.Thread(target=_collect, args=(reader, got, done), daemon=True)
    th.start()
    deadline = time.monotonic() + 5
    while sink.dests[0].stats()["clients"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    run()  # finish() closes the sink: its server drains, then hangs up
    th.join(timeout=20)
    done.set()
    st = sink.stats()
    assert st["dropped_queue_full"] == st["dropped_send_failed"] == 0
    last: dict[int, tuple[float, float]] = {}
    names: dict[int, str] = {}
    times = []
    for m in got:
        d = m.decode().asdict()
        if d["msg_type"] == 1:
            last[d["mmsi"]] = (d["lat"], d["lon"])
            if m.tag_block is not None:
                m.tag_block.init()
            times.append(m.tag_block.receiver_timestamp if m.tag_block else None)
        elif d["msg_type"] == 5:
            names[d["mmsi"]] = d["shipname"].strip()
    want = _vessels(asm.pipeline.tracks)
    assert len(want) > 100 and set(last) == set(want)
    for k, (la, lo) in want.items():
        assert last[k] == pytest.approx((la, lo), abs=2e-6), k
    statics = asm.pipeline.tracks.statics
    named = {k: v["name"] for s, v in statics.items() if (k := s & MASK) in want and v.get("name")}
    assert named and all(names.get(k) == v.strip()[:20] for k, v in named.items())
    assert times and all(t is not None for t in times)  # every sentence carries its time


@pytest.mark.realdata
def test_ais_nmea_udp_to_pyais(shared_data):
    port = _free_port(socket.SOCK_DGRAM)
    reader = UDPReceiver("127.0.0.1", port)
    got: list = []
    done = threading.Event()
    th = threading.Thread(target=_collect, args=(reader, got, done), daemon=True)
    th.start()
    asm, run = _replay(shared_data, [{"kind": "ais_nmea", "url": f"udp://127.0.0.1:{port}"}],
                       AIS, "ais-nmea")  # fmt: skip
    run()
    sink = next(s for s in asm.outputs if isinstance(s, AisNmeaSink))
    deadline = time.monotonic() + 10
    while len(got) < sink.stats()["sent"] * 0.9 and time.monotonic() < deadline:
        time.sleep(0.05)
    done.set()
    mmsis = {m.decode().mmsi for m in got}
    assert len(mmsis) > 100 and mmsis <= set(_vessels(asm.pipeline.tracks))


@pytest.mark.realdata
def test_sbs_server_read_back_by_picket(shared_data):
    port = _free_port()
    asm, run = _replay(shared_data, [{"kind": "sbs", "url": f"listen://127.0.0.1:{port}",
                                      "min_interval_s": 0}], BEAST, "beast",
                       start_time=parse_time("2018-04-03T19:02:28Z"))  # fmt: skip
    sink = next(s for s in asm.outputs if isinstance(s, SbsSink))
    good = socket.create_connection(("127.0.0.1", port))
    dead = socket.create_connection(("127.0.0.1", port))
    deadline = time.monotonic() + 5
    while sink.dests[0].stats()["clients"] < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    dead.close()  # a client that went away: its lines are counted, the other's unharmed
    buf = bytearray()

    def read() -> None:
        while chunk := good.recv(1 << 16):
            buf.extend(chunk)

    th = threading.Thread(target=read, daemon=True)
    th.start()
    run()
    th.join(timeout=20)
    good.close()
    rej = Rejects()
    dec = get_format("sbs").decoder(rej, "sbs-out")
    r = dec.feed(bytes(buf)).reports
    assert rej.rejected == 0 and len(r) > 100
    t = asm.pipeline.tracks
    c = t.cols
    for subj in np.unique(r.subject).tolist():
        m = (r.subject == subj) & np.isfinite(r.lat)
        if not m.any():
            continue
        j = np.flatnonzero(m)[-1]
        slot = t.slot(subj)
        assert r.lat[j] == pytest.approx(c["lat"][slot], abs=1e-5)
        assert r.lon[j] == pytest.approx(c["lon"][slot], abs=1e-5)
        assert abs(r.time[j] - c["pos_time"][slot]) < 0.002
    air = (c["domain"][: len(t)] == 1) & np.isfinite(c["lat"][: len(t)])
    assert len(np.unique(r.subject)) == int(air.sum()) == 11
    st = sink.stats()
    assert st["sent"] > 0 and st["dropped_send_failed"] + st["dropped_queue_full"] >= 0


def test_bad_urls_are_config_errors():
    from picket.share.outputs_config import check_outputs

    for url in ("http://x:1", "listen://x", "tls://h:1"):
        with pytest.raises(config.ConfigError, match=r"outputs\[0\]\.url"):
            check_outputs([{"kind": "sbs", "url": url}])
