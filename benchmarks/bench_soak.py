"""Soak: a live SBS feed over loopback TCP into `run_live` with 1% hostile lines.

A feeder process sends 5,000 SBS reports a second (500 aircraft at 10 Hz on straight
lines over the Baltic, one squawking 7700 every 30 s) to a `listen_tcp` source for
`--seconds` (default 600). One line in a hundred is hostile: dated from 15 minutes to
three centuries ahead, a latitude of 1e308, invalid UTF-8 and terminal escapes in the
address, a line cut short, or a 10 KB line; good lines are also split across two sends.
The feeder writes the good lines to a file; the same file then goes through `run_live`
(a file source, same decoder and door) as the clean reference.

Reported: RSS at start, after warm-up (10% of the run) and at the end; the alert set of the
hostile run against the clean run (identical expected); every hostile line accounted per
reject reason; the live counters (bytes in = bytes decoded + counted losses).

Run: ``picket bench soak [--seconds 60] [--rate 5000] [--hostile 0.01]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import socket
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from picket.config import Config, SourceConfig
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.sinks.jsonl import MemorySink

SLICE_S = 0.1
N_AIRCRAFT = 500
KINDS = ("future", "huge", "unicode", "cut", "overlong")
# the reject reason each hostile kind must land in
REASON = {"future": "time.ahead_of_clock", "huge": "value.position_out_of_range",
          "unicode": "sbs.bad_line", "cut": "sbs.bad_line", "overlong": "sbs.line_too_long"}


def _rss_mb() -> float:
    """Resident set size now (Linux /proc), MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _stamp(t: float) -> str:
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y/%m/%d,%H:%M:%S.") + f"{d.microsecond // 1000:03d}"


def _line(icao: int, t: float, lat: float, lon: float, squawk: str = "") -> bytes:
    s = _stamp(t)
    return (f"MSG,3,1,1,{icao:06X},1,{s},{s},,11000,450,90,{lat:.5f},{lon:.5f},0,"
            f"{squawk},0,0,0,0\r\n").encode()  # fmt: skip


def _hostile(kind: str, rnd: random.Random, t: float) -> bytes:
    icao = 0xE00000 + rnd.randrange(0x10000)
    if kind == "future":
        return _line(icao, t + rnd.uniform(900, 300 * 365.25 * 86400), 58.0, 20.0)
    if kind == "huge":
        return _line(icao, t, 1e308, 20.0)
    if kind == "unicode":
        return (b"MSG,3,1,1,\xff\xfe\x1b[31m\xe2\x80\xae,1," + _stamp(t).encode() + b","
                + _stamp(t).encode() + b",,11000,,,58.0,20.0,,,0,0,0,0\r\n")  # fmt: skip
    if kind == "cut":
        return _line(icao, t, 58.0, 20.0)[:40] + b"\r\n"
    return b"MSG,3,1,1," + b"9" * 10_000 + b"\r\n"  # overlong


def feeder(port: int, seconds: float, rate: float, hostile: float, clean_path: str,
           report_path: str, t0: float) -> None:  # fmt: skip
    """Send the feed (in its own process, so the measured process holds picket only)."""
    rnd = random.Random(13)
    rng = np.random.default_rng(13)
    per_slice = max(1, round(rate * SLICE_S))
    lat0, lon0 = rng.uniform(54.5, 60.0, N_AIRCRAFT), rng.uniform(12.0, 28.0, N_AIRCRAFT)
    course = np.radians(rng.uniform(0, 360, N_AIRCRAFT))
    dlat = 200.0 * np.cos(course) / 111_195.0
    dlon = 200.0 * np.sin(course) / (111_195.0 * np.cos(np.radians(lat0)))
    counts = dict.fromkeys(KINDS, 0)
    good = split = 0
    n_slices = int(seconds / SLICE_S)
    with socket.create_connection(("127.0.0.1", port)) as c, open(clean_path, "wb") as clean:
        start = time.monotonic()
        for k in range(n_slices):
            t = t0 + k * SLICE_S
            lines = []
            for j in range(per_slice):
                a = (k * per_slice + j) % N_AIRCRAFT
                el = t - t0
                sq = "7700" if a == int(el // 30) % N_AIRCRAFT and el % 30 < 20 else ""
                lines.append(_line(0x480000 + a, t + j * SLICE_S / per_slice,
                                   lat0[a] + dlat[a] * el, lon0[a] + dlon[a] * el, sq))
            clean.write(b"".join(lines))
            good += len(lines)
            out = []
            for ln in lines:
                if rnd.random() < hostile:
                    kind = KINDS[rnd.randrange(len(KINDS))]
                    counts[kind] += 1
                    out.append(_hostile(kind, rnd, t))
                out.append(ln)
            buf = b"".join(out)
            cut = rnd.randrange(1, len(buf))  # a line split across two sends
            c.sendall(buf[:cut])
            time.sleep(0.001)
            c.sendall(buf[cut:])
            split += 1
            lag = start + (k + 1) * SLICE_S - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        behind = time.monotonic() - start - seconds
    Path(report_path).write_text(json.dumps(
        {"good": good, "hostile": counts, "split_sends": split, "sender_behind_s": behind}))


def _alerts(mem: MemorySink) -> set[tuple[str, str, str]]:
    return {(a.kind, a.subject, a.time) for a in mem.alerts.values()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench soak", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--rate", type=float, default=5000.0, help="good reports per second")
    ap.add_argument("--hostile", type=float, default=0.01, help="hostile lines per good line")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="picket-soak-"))
    clean_path, report_path = work / "clean.sbs", work / "report.json"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    # the hostile live run
    mem = MemorySink()
    asm = assemble(Config(store_path=None), console=False, store=False, extra_sinks=[mem],
                   dead_letter=work / "dead-letter.jsonl")  # fmt: skip
    src = SourceConfig(name="sbs-live", format="sbs", listen_tcp=f"127.0.0.1:{port}")
    stop, logs, stats = threading.Event(), [], {}
    th = threading.Thread(target=run_live, args=(asm, [src], work),
                          kwargs={"batch_s": 1.0, "stop": stop, "log": logs.append,
                                  "stats": stats}, daemon=True)  # fmt: skip
    rss0 = _rss_mb()
    th.start()
    while not any("listening" in x for x in logs):
        time.sleep(0.05)
    t0 = float(int(time.time()))
    proc = mp.get_context("spawn").Process(
        target=feeder, args=(port, args.seconds, args.rate, args.hostile, str(clean_path),
                             str(report_path), t0))  # fmt: skip
    wall0 = time.monotonic()
    proc.start()
    rss_warm, samples = None, []
    while proc.is_alive():
        proc.join(timeout=1.0)
        el = time.monotonic() - wall0
        samples.append((el, _rss_mb()))
        if rss_warm is None and el >= 0.1 * args.seconds:
            rss_warm = samples[-1][1]
    while stats.get("sources", {}).get("sbs-live", {}).get("decoders_open", 1):
        time.sleep(0.2)  # the connection closed and its decoder was flushed
    time.sleep(1.5)
    stop.set()
    th.join()
    rss_end = _rss_mb()
    rep = json.loads(report_path.read_text())
    live_rej = asm.rejects

    # the clean reference: the good lines alone, same decoder and door, from a file
    mem2 = MemorySink()
    asm2 = assemble(Config(store_path=None), console=False, store=False, extra_sinks=[mem2])
    stop2, stats2, size = threading.Event(), {}, clean_path.stat().st_size
    th2 = threading.Thread(target=run_live, args=(asm2, [SourceConfig(
        name="sbs-live", format="sbs", file=str(clean_path))], work), kwargs={
        "batch_s": 1.0, "stop": stop2, "log": lambda _: None, "stats": stats2}, daemon=True)
    th2.start()
    while stats2.get("sources", {}).get("sbs-live", {}).get("bytes_decoded", 0) < size:
        time.sleep(0.2)
    time.sleep(1.5)
    stop2.set()
    th2.join()

    a, b = _alerts(mem), _alerts(mem2)
    s = stats["sources"]["sbs-live"]
    n_host = sum(rep["hostile"].values())
    want: dict[str, int] = {}
    for kind, n in rep["hostile"].items():
        want[REASON[kind]] = want.get(REASON[kind], 0) + n
    got = {r: live_rej.counts.get(r, 0) for r in want}
    other = {r: k for r, k in live_rej.counts.items() if r not in want}
    uncounted = s["bytes_in"] - s["bytes_decoded"] - s["queue_dropped_bytes"] - \
        s["shutdown_lost_bytes"]  # fmt: skip
    lines_sent = rep["good"] + n_host
    # every line is accepted or rejected once; a 1e308 line is dropped after acceptance
    lines_counted = live_rej.accepted + live_rej.rejected - want.get(REASON["huge"], 0)
    print(f"soak: {args.seconds:.0f} s at {args.rate:.0f} reports/s, {rep['good']} good lines, "
          f"{n_host} hostile ({', '.join(f'{k} {v}' for k, v in rep['hostile'].items())}), "
          f"{rep['split_sends']} split sends; sender behind by {rep['sender_behind_s']:.2f} s")
    print(f"RSS: start {rss0:.0f} MB, after warm-up {rss_warm or rss0:.0f} MB, end "
          f"{rss_end:.0f} MB (growth after warm-up {rss_end - (rss_warm or rss0):+.0f} MB; "
          f"peak sample {max(v for _, v in samples):.0f} MB)")
    print(f"alerts: hostile run {len(a)}, clean run {len(b)}, identical: {a == b}"
          + ("" if a == b else f" (only hostile {sorted(a - b)[:5]}, only clean "
                               f"{sorted(b - a)[:5]})"))  # fmt: skip
    print(f"hostile lines by reject reason: expected {want}, counted {got}; other rejects "
          f"{other or 'none'}")
    print(f"lines: sent {lines_sent}, accepted + rejected (less value rejects) {lines_counted}")
    print(f"live counters: bytes in {s['bytes_in']}, decoded {s['bytes_decoded']}, queue drops "
          f"{s['queue_dropped_bytes']}, shutdown lost {s['shutdown_lost_bytes']}, queue waits "
          f"{s['queue_waits']}, peak queue {stats['queue_peak_bytes']} B; uncounted {uncounted}")
    print(f"dead letter: {live_rej.dead_letter_dropped} dropped by the cap")
    ok = a == b and got == want and not other and uncounted == 0 and lines_counted == lines_sent
    print("PASS" if ok else "FAIL")
    asm.close()
    asm2.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
