"""Receive time for live feeds, over real loopback sockets (docs/time.md).

A Beast feed has no date: its frames must land at the time they arrive, not in
1970. AIS without tag blocks takes the arrival time too. A line dated far in
the future is rejected at the door, counted, and the run goes on.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from picket.codec.ais_encode import encode_positions
from picket.config import Config, SourceConfig
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.sources.beast import REANCHOR_S, TICKS_PER_S, BeastDecoder
from picket.sources.registry import Clock
from tests.test_live import free_port

CAPTURE = "air/beast_capture_gulf_of_finland_20180403_61s.bin"


def _run(tmp_path, sources, send, until, max_seconds=30.0):
    """Run `run_live` in a thread, call `send()` once the feeds are up, stop at `until()`."""
    asm = assemble(Config(store_path=str(tmp_path / "p.sqlite")), console=False)
    stop = threading.Event()
    logs: list[str] = []
    th = threading.Thread(target=run_live, args=(asm, sources, tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": logs.append,
                                  "max_seconds": max_seconds}, daemon=True)  # fmt: skip
    th.start()
    send(logs)
    deadline = time.monotonic() + max_seconds
    while not until(asm) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the batch holding the last reports goes through the pipeline
    stop.set()
    th.join(timeout=15)
    assert not th.is_alive()
    return asm, logs


def _wait_for(logs: list[str], words: tuple[str, ...], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(any(w in x for x in logs) for w in words) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.realdata
def test_live_beast_feed_is_timed_by_arrival_not_1970(shared_data, tmp_path):
    data = (shared_data / CAPTURE).read_bytes()
    port = free_port()
    srv = socket.create_server(("127.0.0.1", port))
    sent = threading.Event()

    def feeder() -> None:  # a dump1090/readsb port 30005: serves Beast to whoever connects
        conn, _ = srv.accept()
        with conn:
            step = len(data) // 20
            for a in range(0, len(data), step):
                conn.sendall(data[a : a + step])
                time.sleep(0.05)
            sent.set()
            time.sleep(3)

    threading.Thread(target=feeder, daemon=True).start()
    t_start = time.time()
    src = SourceConfig(name="beast-live", format="beast", tcp=f"127.0.0.1:{port}")
    asm, logs = _run(tmp_path, [src], lambda logs: None,
                     lambda asm: sent.is_set() and asm.rejects.accepted >= 8922)  # fmt: skip
    srv.close()
    t_end = time.time()
    tracks = asm.pipeline.tracks
    assert len(tracks) == 11, (asm.rejects.summary(), logs)
    first = tracks["first_time"][: len(tracks)]
    last = tracks["last_time"][: len(tracks)]
    assert np.all(first >= t_start - REANCHOR_S) and np.all(last <= t_end + 1), (
        [datetime.fromtimestamp(t, UTC).isoformat() for t in first], t_start, t_end,
    )  # fmt: skip
    # every Mode S frame accepted; Mode A/C replies are unused input, not rejects
    # (six replies precede their aircraft's first squitter: unknown address, at any chunking)
    assert asm.rejects.accepted == 8922, asm.rejects.summary()
    assert asm.rejects.counts == {"modes.unknown_address": 6}, asm.rejects.summary()
    assert asm.rejects.unused["Mode A/C replies"] == 5026
    assert "5026 Mode A/C replies (not used)" in asm.rejects.summary()


def _sbs(icao: str, t: float, lat: float, lon: float) -> bytes:
    d = datetime.fromtimestamp(t, UTC)
    day, tod = d.strftime("%Y/%m/%d"), d.strftime("%H:%M:%S.000")
    return (f"MSG,3,1,1,{icao},1,{day},{tod},{day},{tod},,35000,,,{lat:.5f},{lon:.5f},"
            ",,0,0,0,0\n").encode()  # fmt: skip


def test_future_dates_are_rejected_at_the_door_and_the_run_goes_on(tmp_path):
    sbs_port, ais_port = free_port(), free_port()
    dead = tmp_path / "dead-letter.jsonl"
    sources = [
        SourceConfig(name="sbs-feed", format="sbs", listen_tcp=f"127.0.0.1:{sbs_port}"),
        SourceConfig(name="ais-feed", format="ais-nmea", listen_tcp=f"127.0.0.1:{ais_port}"),
    ]
    year_2300 = datetime(2300, 1, 1, tzinfo=UTC).timestamp()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n_good = 40

    def send(logs: list[str]) -> None:
        _wait_for(logs, (f":{sbs_port}", f":{ais_port}"))
        now = time.time()
        with socket.create_connection(("127.0.0.1", sbs_port)) as c:
            c.sendall(_sbs("4CA7B5", now - 30, 59.5, 24.5))
            c.sendall(_sbs("4CA7B6", year_2300, 59.6, 24.6))  # a feeder's broken clock
            c.sendall(_sbs("4CA7B7", now + 3 * 3600, 59.7, 24.7))  # three hours ahead
            for k in range(n_good):
                c.sendall(_sbs("4CA7B5", now - 29 + k * 0.5, 59.5 + k * 1e-3, 24.5))
        t = np.array([now - 20, 1e10, now - 10])  # c:10000000000 is the year 2286
        lines = encode_positions(t, np.array([230000001, 230000002, 230000003]),
                                 np.full(3, 59.5), np.full(3, 24.5), np.full(3, 10.0),
                                 np.full(3, 90.0), np.full(3, 90.0), np.zeros(3, int))  # fmt: skip
        with socket.create_connection(("127.0.0.1", ais_port)) as c:
            c.sendall(b"\r\n".join(lines) + b"\r\n")

    asm = assemble(Config(store_path=str(tmp_path / "p.sqlite")), console=False)
    asm.rejects.path = dead
    stop = threading.Event()
    logs: list[str] = []
    th = threading.Thread(target=run_live, args=(asm, sources, tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": logs.append,
                                  "max_seconds": 30}, daemon=True)  # fmt: skip
    th.start()
    send(logs)
    deadline = time.monotonic() + 20
    while asm.rejects.accepted < n_good + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # one more batch through the pipeline
    stop.set()
    th.join(timeout=15)
    assert not th.is_alive()
    c = asm.rejects.counts
    assert c["time.ahead_of_clock"] == 3, asm.rejects.summary()  # two SBS, one AIS
    assert asm.rejects.accepted == n_good + 3  # every good line went through after them
    tracks = asm.pipeline.tracks
    last = tracks["last_time"][: len(tracks)]
    assert len(tracks) == 3 and np.all(last <= time.time()), asm.rejects.summary()
    rows = [json.loads(x) for x in dead.read_text().splitlines()]
    ahead = [r for r in rows if r["reason"] == "time.ahead_of_clock"]
    assert {r["where"].split(":")[0] for r in ahead} == {"sbs-feed", "ais-feed"}
    # no ticker stretched to the year 2300: the process did not grow by gigabytes
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    assert grown_mb < 300, grown_mb


def test_ais_without_tag_blocks_takes_the_arrival_time(tmp_path):
    port = free_port()
    t = 1.7e9 + np.arange(0, 300, 10.0)
    n = len(t)
    lon = 24.0 + np.arange(n) * 1e-3
    tagged = encode_positions(t, np.full(n, 276123000), np.full(n, 59.5), lon, np.full(n, 3.0),
                              np.full(n, 90.0), np.full(n, 90.0), np.ones(n, int))  # fmt: skip
    bare = [ln[ln.rindex(b"\\") + 1 :] for ln in tagged]  # what an AIS receiver prints
    src = SourceConfig(name="ais-rx", format="ais-nmea", listen_tcp=f"127.0.0.1:{port}")
    t0 = time.time()

    def send(logs: list[str]) -> None:
        _wait_for(logs, ("listening on",))
        with socket.create_connection(("127.0.0.1", port)) as c:
            for ln in bare:
                c.sendall(ln + b"\r\n")

    asm, _ = _run(tmp_path, [src], send, lambda asm: asm.rejects.accepted >= n)
    assert asm.rejects.accepted == n and not asm.rejects.counts, asm.rejects.summary()
    tr = asm.pipeline.tracks
    assert len(tr) == 1
    assert t0 - 1 <= tr["first_time"][0] <= tr["last_time"][0] <= time.time()


def test_clock_message_rejects_what_has_no_time_and_receive_overrides(tmp_path):
    port1, port2 = free_port(), free_port()
    tagged = encode_positions(np.array([1.7e9]), np.array([276123000]), np.array([59.5]),
                              np.array([24.0]), np.array([3.0]), np.array([90.0]),
                              np.array([90.0]), np.array([1]))  # fmt: skip
    bare = tagged[0][tagged[0].rindex(b"\\") + 1 :]
    sources = [
        SourceConfig(name="strict", format="ais-nmea", listen_tcp=f"127.0.0.1:{port1}",
                     clock="message"),
        SourceConfig(name="rx", format="ais-nmea", listen_tcp=f"127.0.0.1:{port2}",
                     clock="receive"),
    ]  # fmt: skip
    t0 = time.time()

    def send(logs: list[str]) -> None:
        _wait_for(logs, (f":{port1}", f":{port2}"))
        with socket.create_connection(("127.0.0.1", port1)) as c:
            c.sendall(bare + b"\r\n" + tagged[0] + b"\r\n")
        with socket.create_connection(("127.0.0.1", port2)) as c:
            c.sendall(tagged[0] + b"\r\n")  # a tag block dated 2023, stamped on arrival

    asm, _ = _run(tmp_path, sources, send, lambda asm: asm.rejects.accepted >= 2)
    assert asm.rejects.counts == {"ais.no_time": 1}, asm.rejects.summary()
    tr = asm.pipeline.tracks
    assert len(tr) == 1  # one MMSI, heard on both sources
    assert tr["first_time"][0] == pytest.approx(1.7e9)
    assert tr["last_time"][0] >= t0


def _beast_frames(ticks: np.ndarray) -> bytes:
    """Beast long frames (one airborne position) with the given 12 MHz counter values."""
    from picket.codec import modes_encode

    n = len(ticks)
    frames = modes_encode.beast_stream(
        modes_encode.airborne_position(np.full(n, 0x4CA7B5), 59.5, 24.5, 1000.0, np.arange(n) & 1),
        ticks / TICKS_PER_S,
    )
    return frames


def test_beast_counter_is_anchored_to_arrival_and_reanchored_on_reset():
    clock = Clock(live=True)
    rej = Rejects()
    dec = BeastDecoder(rej, "rx", clock=clock)
    now = 1.78e9
    # a receiver up for a day: counter at 86400 s; 10 frames 0.1 s apart, arriving 50 ms late
    tk = (86400.0 + np.arange(10) * 0.1) * TICKS_PER_S
    clock.now = now + 0.95
    a = dec.feed(_beast_frames(tk)).reports
    assert a.time.max() == pytest.approx(now + 0.95) and np.all(np.diff(a.time) > 0.09)
    # a second later: counter and receive clock agree, the counter refines sub-second order
    clock.now = now + 2.0
    b = dec.feed(_beast_frames(tk + 1.0 * TICKS_PER_S)).reports
    assert b.time == pytest.approx(a.time + 1.0)
    # the receiver restarts: counter back near zero; re-anchored, not 1970 nor a day back
    clock.now = now + 5.0
    c = dec.feed(_beast_frames(np.arange(10) * 0.1 * TICKS_PER_S + 1000)).reports
    assert c.time.max() == pytest.approx(now + 5.0) and np.all(c.time > now + 3.9)
    assert dec.clock.reanchors == 1 and rej.rejected == 0


def test_untimed_beast_frames_are_rejected_not_1970():
    rej = Rejects()
    out = BeastDecoder(rej, "capture.bin").feed(_beast_frames(np.arange(5) * 1e6))
    assert len(out.reports) == 0 and rej.counts["beast.no_time"] == 5
    out = BeastDecoder(Rejects(), "capture.bin", clock=Clock(start=1.6e9)).feed(
        _beast_frames(np.arange(5) * 1.2e6)
    )
    assert out.reports.time == pytest.approx(1.6e9 + np.arange(5) * 0.1)


def test_the_door_is_one_function_for_live_and_replay():
    from picket.sources.registry import MIN_TIME, at_the_door

    now = 1.78e9
    r = Reports.build(time=np.array([now - 5, np.nan, 1000.0, now + 601, now + 599]),
                      raw=np.arange(5))  # fmt: skip
    rej = Rejects()
    out = at_the_door(Decoded(r, []), rej, "src", now)
    assert out.reports.time.tolist() == [now - 5, now + 599]
    assert rej.counts == {"time.missing": 1, "time.before_min": 1, "time.ahead_of_clock": 1}
    assert datetime(1980, 1, 1, tzinfo=UTC).timestamp() == MIN_TIME
