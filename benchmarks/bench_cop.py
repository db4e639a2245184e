"""`picket bench cop`: the live picture under load.

1. 20,000 tracks at 1 Hz for 60 s through the real pipeline, `LiveSink`, hub
   and server: per-tick encode time (wall and CPU) and bytes (goal <= 10 ms,
   <= 400 KB), with a real WebSocket client receiving every delta and one
   joining half-way (the keyframe of all tracks). The generator and the
   pipeline share the interpreter with the hub, as in `picket run`; the hub
   builds its picture from the tracks each batch changed, read off the bus
   (serve/hub.py), so the pipeline is never parked (the parked share printed
   should read 0 %, and a tick's wait is what merging the bus costs).
2. Alert latency from the report's arrival at the pipeline to a real SSE
   client (goal p99 <= 1 s).
3. CoT output rate for 10,000 tracks (event building + encoding, XML and TAK
   protobuf), and end to end through a TCP output to a local listener.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import socket
import sys
import threading
import time as wall

import numpy as np


class BurstDetector:
    """Opens `n` alerts per batch on subjects flagged in the batch (a stand-in detector)."""

    def __init__(self, n: int):
        self.n, self.k = n, 0

    def update(self, ctx):
        from picket.model.alerts import Signal
        from picket.model.subjects import format_subject

        r = ctx.reports
        out = []
        for i in range(min(self.n, len(r))):
            j = (self.k * 7919 + i * 104729) % len(r)
            self.k += 1
            out.append(Signal(kind="air.emergency", subject=format_subject(int(r.subject[j])),
                              time=float(r.time[j]), lat=float(r.lat[j]), lon=float(r.lon[j]),
                              severity="critical", summary="bench", evidence={"k": self.k},
                              domain="air"))  # fmt: skip
        return out


def pct(a, q):
    return float(np.percentile(a, q)) if len(a) else float("nan")


def bench_live(n_tracks: int, seconds: int, alerts_per_tick: int) -> dict:
    import httpx
    from websockets.sync.client import connect

    from picket.model.decoded import Decoded
    from picket.pipeline.runtime import Pipeline
    from picket.serve import LiveHub, LiveSink, frames, start_server
    from picket.sim.crowd import StraightTraffic

    crowd = StraightTraffic(n_tracks)
    hub = LiveHub(tick_s=1.0)
    pipe = Pipeline(detectors=[BurstDetector(alerts_per_tick)], sinks=[])
    pipe.sinks.append(LiveSink(hub, pipeline=pipe))
    srv = start_server(None, hub, port=0)
    t_batch: dict[str, float] = {}
    lat_ms: list[float] = []
    ws_bytes: list[int] = []
    key_bytes: list[int] = []
    stop = threading.Event()
    sse_resp: list = []

    def sse():
        with (
            contextlib.suppress(httpx.HTTPError),  # closed at the end of the run
            httpx.stream("GET", srv.url + "/api/alerts/stream", timeout=None) as r,
        ):
            sse_resp.append(r)
            for line in r.iter_lines():
                if line.startswith("data:") and '"event":"open"' in line:
                    a = json.loads(line[5:])["alert"]
                    t0 = t_batch.get(a["time"])
                    if t0 is not None:
                        lat_ms.append((wall.perf_counter() - t0) * 1e3)

    def ws(out: list[int], want_key: bool):
        """A real WebSocket client; `want_key`: keep the keyframe it gets on joining."""
        with connect(srv.url.replace("http", "ws") + "/api/ws/tracks",
                     max_size=None) as c:  # fmt: skip
            while not stop.is_set():
                try:
                    m = c.recv(timeout=1)
                except TimeoutError:
                    continue
                if isinstance(m, bytes):
                    f = frames.decode(m)
                    if (f.ftype == frames.KEYFRAME) == want_key:
                        out.append(len(m))
                        if want_key:
                            return

    threads = [threading.Thread(target=sse, daemon=True),
               threading.Thread(target=ws, args=(ws_bytes, False), daemon=True)]  # fmt: skip
    for th in threads:
        th.start()
    wall.sleep(1.0)
    from picket.model.alerts import iso

    start = wall.perf_counter()
    proc_ms = []
    for k in range(seconds):
        due = start + k
        wall.sleep(max(0.0, due - wall.perf_counter()))
        if k == seconds // 2:  # a client joining: the full 20k-track keyframe
            threads.append(threading.Thread(target=ws, args=(key_bytes, True), daemon=True))
            threads[-1].start()
        r = crowd.reports(k)
        t_batch[iso(crowd.t0 + k)] = t0 = wall.perf_counter()
        pipe.process(Decoded(r, []))
        proc_ms.append((wall.perf_counter() - t0) * 1e3)
    wall.sleep(2.0)
    stop.set()
    for resp in sse_resp:
        resp.close()
    for th in threads:
        th.join(timeout=5)
    t0 = wall.perf_counter()
    from picket.serve.picture import snapshot

    for _ in range(10):
        snapshot(pipe.tracks, pipe.now)
    snap_ms = (wall.perf_counter() - t0) * 100
    # the SSE response the server is still streaming is cut at shutdown: not an error here
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    srv.stop()
    # ticks after the first two (which carry 20,000 new tracks' meta) and before the end
    log = [e for e in hub.tick_log if e[0] > 2 and e[4] > 10_000]
    wait = np.array([e[1] for e in log])
    enc = np.array([e[2] for e in log])
    cpu = np.array([e[3] for e in log])
    fb = np.array([e[4] for e in log])
    parked = float(np.mean([e[6] for e in log])) if log else float("nan")
    return {
        "tracks": n_tracks, "seconds": seconds, "ticks": len(enc),
        "ticks_with_pipeline_parked": parked,
        "pipeline_batch_ms_p50": pct(proc_ms, 50), "pipeline_batch_ms_p99": pct(proc_ms, 99),
        "tick_wait_ms_p50": pct(wait, 50), "tick_wait_ms_p99": pct(wait, 99),
        "encode_cpu_ms_p50": pct(cpu, 50), "encode_cpu_ms_p99": pct(cpu, 99),
        "encode_ms_p50": pct(enc, 50), "encode_ms_p99": pct(enc, 99),
        "encode_ms_max": float(enc.max()) if len(enc) else float("nan"),
        "delta_bytes_p50": pct(fb, 50), "delta_bytes_max": float(fb.max()) if len(fb) else 0.0,
        "keyframe_bytes": key_bytes[0] if key_bytes else 0,
        "ws_frames_received": len(ws_bytes), "snapshot_ms": snap_ms,
        "alerts_received": len(lat_ms), "alert_latency_ms_p50": pct(lat_ms, 50),
        "alert_latency_ms_p99": pct(lat_ms, 99), "alert_latency_ms_max": max(lat_ms or [np.nan]),
    }  # fmt: skip


def bench_cot(n_tracks: int) -> dict:
    from picket.model.reports import Domain
    from picket.model.subjects import Namespace, key
    from picket.serve.picture import Picture
    from picket.share.cot import events_for
    from picket.share.outputs import CotFilter, CotOutput

    rng = np.random.default_rng(5)
    n = n_tracks
    p = Picture.empty()
    p.time = 1_736_935_200.0
    p.cols.update(
        subject=key(Namespace.MMSI, np.arange(n, dtype=np.int64) + 211_000_000),
        id=np.arange(n, dtype=np.int64), domain=np.full(n, int(Domain.MARITIME), np.uint8),
        lat=rng.uniform(54, 60, n), lon=rng.uniform(10, 28, n), alt=np.full(n, np.nan),
        speed=rng.uniform(0, 12, n), course=rng.uniform(0, 360, n), heading=np.full(n, np.nan),
        last_time=np.full(n, p.time), pos_time=np.full(n, p.time), first_time=np.full(n, p.time),
        squawk=np.full(n, -1, np.int16), emergency=np.full(n, -1, np.int8),
        nav_status=np.full(n, -1, np.int8), n_reports=np.ones(n, np.int64),
    )  # fmt: skip
    idx = np.arange(n)
    out = {"tracks": n}
    t0 = wall.perf_counter()
    evs = events_for(p, idx, {}, {})
    out["build_events_per_s"] = n / (wall.perf_counter() - t0)
    for fmt in ("xml", "tak-stream"):
        o = CotOutput("tcp://127.0.0.1:9", fmt, CotFilter())
        t0 = wall.perf_counter()
        data = [o.encode(e) for e in evs]
        dt = wall.perf_counter() - t0
        out[f"{fmt}_encode_events_per_s"] = n / dt
        out[f"{fmt}_bytes_per_event"] = sum(map(len, data)) / n
    # end to end: pipeline-side selection + encoding, socket thread, a local TCP listener
    srv = socket.create_server(("127.0.0.1", 0))
    got = bytearray()

    def listen():
        conn, _ = srv.accept()
        conn.settimeout(5)
        with conn:
            while True:
                try:
                    b = conn.recv(1 << 20)
                except OSError:
                    return
                if not b:
                    return
                got.extend(b)

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    o = CotOutput(f"tcp://127.0.0.1:{srv.getsockname()[1]}", "tak-stream",
                  CotFilter(min_interval_s=0.0, max_rate=1e9), queue_events=n * 4)  # fmt: skip
    o.start()
    t0 = wall.perf_counter()
    rounds = 3
    for _ in range(rounds):
        p.cols["pos_time"] = p.cols["pos_time"] + 1.0
        for e in events_for(p, o.due(p), {}, {}):
            o.put(o.encode(e))
    o.stop(drain_s=30)
    dt = wall.perf_counter() - t0
    th.join(timeout=10)
    srv.close()
    out["tcp_end_to_end_events_per_s"] = o.sent / dt
    out["tcp_sent"], out["tcp_dropped"], out["tcp_bytes"] = o.sent, o.dropped, len(got)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench cop", description=__doc__)
    ap.add_argument("--tracks", type=int, default=20_000)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--alerts-per-tick", type=int, default=5)
    ap.add_argument("--cot-tracks", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(sys.argv[1:] if argv is None else argv)
    live = bench_live(a.tracks, a.seconds, a.alerts_per_tick)
    cot = bench_cot(a.cot_tracks)
    if a.json:
        print(json.dumps({"live": live, "cot": cot}, indent=1))
        return 0
    big = max(live["keyframe_bytes"], live["delta_bytes_max"])
    ok_wall, ok_cpu = live["encode_ms_p99"] <= 10, live["encode_cpu_ms_p99"] <= 10
    ok_lat = live["alert_latency_ms_p99"] <= 1000
    print(
        f"live picture: {live['tracks']} tracks at 1 Hz for {live['seconds']} s, "
        f"{live['ticks']} ticks, {live['ws_frames_received']} WebSocket frames received; "
        f"pipeline batch p50 {live['pipeline_batch_ms_p50']:.0f} ms, "
        f"p99 {live['pipeline_batch_ms_p99']:.0f} ms"
    )
    print(
        f"  encode per tick, wall: p50 {live['encode_ms_p50']:.2f} ms, "
        f"p99 {live['encode_ms_p99']:.2f} ms, max {live['encode_ms_max']:.2f} ms; CPU: p50 "
        f"{live['encode_cpu_ms_p50']:.2f} ms, p99 {live['encode_cpu_ms_p99']:.2f} ms "
        f"(goal <= 10 ms: wall {'OK' if ok_wall else 'MISSED'}, CPU {'OK' if ok_cpu else 'MISSED'})"
    )
    print(
        f"  the pipeline was parked at a batch boundary in "
        f"{100 * live['ticks_with_pipeline_parked']:.0f} % of ticks; a tick waited for that "
        f"boundary p50 {live['tick_wait_ms_p50']:.0f} ms, p99 {live['tick_wait_ms_p99']:.0f} ms"
    )
    print(
        f"  bytes: keyframe of all tracks {live['keyframe_bytes']:,} B, delta p50 "
        f"{live['delta_bytes_p50']:,.0f} B, max {live['delta_bytes_max']:,.0f} B "
        f"(goal <= 400,000 B) {'OK' if big <= 400_000 else 'MISSED'}; track table snapshot "
        f"{live['snapshot_ms']:.2f} ms"
    )
    print(f"  alert latency report -> SSE client: p50 {live['alert_latency_ms_p50']:.0f} ms, "
          f"p99 {live['alert_latency_ms_p99']:.0f} ms, max {live['alert_latency_ms_max']:.0f} ms "
          f"over {live['alerts_received']} alerts (goal p99 <= 1000 ms) "
          f"{'OK' if ok_lat else 'MISSED'}")  # fmt: skip
    print(f"CoT, {cot['tracks']} tracks: build {cot['build_events_per_s']:,.0f} events/s; "
          f"XML encode {cot['xml_encode_events_per_s']:,.0f}/s "
          f"({cot['xml_bytes_per_event']:.0f} B); TAK protobuf encode "
          f"{cot['tak-stream_encode_events_per_s']:,.0f}/s "
          f"({cot['tak-stream_bytes_per_event']:.0f} B); end to end over TCP "
          f"{cot['tcp_end_to_end_events_per_s']:,.0f} events/s "
          f"({cot['tcp_sent']} sent, {cot['tcp_dropped']} dropped)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
