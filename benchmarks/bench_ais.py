"""picket's full AIS replay against pyais decode-only, on the same tiled real data.

The real NMEA files in ../shared/data/ais/ are tiled to at least `--min-sentences`
sentences. Each copy is shifted by whole days (DMA `$PGHP` dates and NMEA 4.10
tag-block `c:`/`t:` times rewritten, checksums recomputed), so event time moves
forward as it would in a long capture and the detectors see realistic time.

Baseline: pyais `FileReaderStream` over the same files, `msg.decode()` on every
message, nothing more. picket: `picket replay` minus printing: decode -> fusion
-> tracks -> all detectors -> alerts, with zones and the TeleGeography cables as
infrastructure. Both are timed in the same run, as process CPU time and wall
time; the ratio uses CPU time (the machine may be shared). `--memory` replays a
10x longer input in a subprocess and reports both peak RSS values. `--stages` replays once
more with CPU timers on every stage (decode, door, fusion, corridor, each detector, alert
book, sinks) and prints where the time goes (docs/performance.md).

Run: ``picket bench ais [--min-sentences 1000000] [--memory] [--stages]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from picket.config import Config
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ais_decode
from shared_data import SHARED
from stages import print_stages, stage_times, timed

TARGET = 5.0  # picket end to end against pyais decode only (issue #18)

FILES = (
    "ais/dma_danish_waters_20131112_5min.nmea.gz",
    "ais/aislib_stream_example_20100611.nmea",
    "ais/dma_212123000_drift_bornholm_20141002.nmea",
    "ais/dma_219165000_sudden_speed_change.nmea",
    "ais/aisdb_global_20211101_1min.nm4",
)
PGHP = re.compile(rb"^\$PGHP,1,(\d+),(\d+),(\d+),(.*)\*([0-9A-Fa-f]{2})\s*$")
TAG = re.compile(rb"^\\([^\\]*)\*([0-9A-Fa-f]{2})\\")


def _cs(body: bytes) -> bytes:
    c = 0
    for b in body:
        c ^= b
    return f"{c:02X}".encode()


def shift_line(line: bytes, days: int) -> bytes:
    """The same line, `days` later (PGHP date, tag-block c:/t:), with valid checksums."""
    if not days:
        return line
    m = PGHP.match(line)
    if m:
        d = dt.date(int(m[1]), int(m[2]), int(m[3])) + dt.timedelta(days=days)
        body = b"PGHP,1,%d,%d,%d,%s" % (d.year, d.month, d.day, m[4])
        return b"$" + body + b"*" + _cs(body) + b"\n"
    m = TAG.match(line)
    if m:
        fields = []
        for f in m[1].split(b","):
            if f[:2] in (b"c:", b"t:") and f[2:].isdigit():
                v = int(f[2:])
                v += days * 86400 * (1000 if v > 10**11 else 1)  # seconds or milliseconds
                f = f[:2] + str(v).encode()
            fields.append(f)
        body = b",".join(fields)
        return b"\\" + body + b"*" + _cs(body) + b"\\" + line[m.end() :]
    return line


def read_lines(path: Path) -> list[bytes]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [ln if ln.endswith(b"\n") else ln + b"\n" for ln in data.splitlines()]


def count_sentences(lines: list[bytes]) -> int:
    return sum(1 for ln in lines if b"VDM," in ln or b"VDO," in ln)


def build_tiles(outdir: Path, min_sentences: int, factor: int = 1) -> tuple[list[Path], int]:
    sources = {f: read_lines(SHARED / f) for f in FILES}
    per_tile = sum(count_sentences(v) for v in sources.values())
    tiles = max(1, -(-min_sentences // per_tile)) * factor
    paths = []
    for f, lines in sources.items():
        p = outdir / (Path(f).name.removesuffix(".gz") + f".x{tiles}")
        with open(p, "wb") as fh:
            for k in range(tiles):
                fh.writelines(shift_line(ln, k) for ln in lines)
        paths.append(p)
    return paths, per_tile * tiles


def run_pyais(paths: list[Path]) -> int:
    """The baseline: pyais decode only, the same loop as the decode benchmark."""
    return sum(bench_ais_decode.run_pyais(p) for p in paths)


class EventDigest:
    """A sink hashing every alert event as it is emitted (sha256 of its JSON, in order): two
    checkouts printing the same count and digest raised the same alerts, field for field,
    which is what a speed-up must keep."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.n = 0
        self.closed = False

    def emit(self, events: list[Any]) -> None:
        for what, a in events:
            self.n += 1
            row = [what, a.to_json(), a.event_time]
            self.sha.update(json.dumps(row, sort_keys=True, default=str).encode())

    def tracks(self, ctx: Any) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def hexdigest(self) -> str:
        return self.sha.hexdigest()[:16]


def prepare_picket(compiled: bool = True) -> Any:
    """Set-up outside the timing, as pyais's import is: the pipeline, its cable grid and the
    event digest, and the compiled loops a replay's batches load (`warm_kernels`: numba's
    load); `main` times this set-up and prints the ratio counting it too."""
    cables = SHARED / "geo" / "submarine_cables_telegeography_2021.geojson"
    asm = assemble(Config(store_path=None), console=False, store=False, line_files=[cables])
    asm.pipeline.sinks.append(EventDigest())
    asm.pipeline.world.lines.grid()
    if compiled:
        warm_kernels()
    return asm


def warm_kernels() -> None:
    """numba's load and the AIS replay's compiled loops: NMEA framing, payloads, `Sustain`."""
    from picket.codec.ais_decode_kernel import warm_up as payload_warm_up
    from picket.detect.sustain_kernels import warm_up as sustain_warm_up
    from picket.sources.ais_nmea_frame_kernel import warm_up as frame_warm_up

    frame_warm_up()
    payload_warm_up()
    sustain_warm_up()


def run_picket(paths: list[Path], asm: Any = None) -> dict:
    asm = asm or prepare_picket()
    s = replay_files(asm.pipeline, [(p, "ais-nmea") for p in paths], asm.rejects, batch_s=60.0)
    return {"reports": s.reports, "accepted": asm.rejects.accepted,
            "rejected": asm.rejects.rejected, "tracks": len(asm.pipeline.tracks),
            "alerts": asm.pipeline.n_opened, "asm": asm}  # fmt: skip


def event_digest(asm: Any) -> tuple[int, str]:
    """(events, digest) of the run, the end-of-replay flush included once (a replay that
    did not finish the pipeline is finished here, after the timing)."""
    dig = next(s for s in asm.pipeline.sinks if isinstance(s, EventDigest))
    if not dig.closed:
        asm.pipeline.finish()
    return dig.n, dig.hexdigest()


def peak_rss_mb(paths: list[Path], compiled: bool = True) -> tuple[float, float]:
    """(peak RSS, file-backed RSS at the end) in MB of a replay in a fresh process. The peak
    is the process's own high-water mark (`VmHWM`), not `ru_maxrss`: Linux carries a child's
    `ru_maxrss` over from the parent it was forked from, so a child of this benchmark's
    process, which holds pyais's run, reported at least the parent's RSS. The
    second part is mostly shared libraries' mapped pages (numba's LLVM: ~85 MB), which the
    kernel may drop and reload, and which processes share; the rest is picket's own.
    `compiled=False` runs it with `PICKET_COMPILED=0` (the NumPy forms, no numba)."""
    here = str(Path(__file__).parent)
    code = (
        f"import sys, json, resource; sys.path.insert(0, {here!r}); import bench_ais as b; "
        "from pathlib import Path; ps = [Path(p) for p in json.loads(sys.argv[1])]; "
        "from picket.numba_boot import wanted; b.run_picket(ps, b.prepare_picket(wanted())); "
        "st = dict(l.split(':', 1) for l in open('/proc/self/status')); "
        "kb = lambda k: int(st[k].split()[0]) / 1024 if k in st else float('nan'); "
        "print(kb('VmHWM') if 'VmHWM' in st else "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, kb('RssFile'))"
    )
    env = {**os.environ, "PICKET_COMPILED": "1" if compiled else "0"}
    out = subprocess.run([sys.executable, "-c", code, json.dumps([str(p) for p in paths])],
                         capture_output=True, text=True, check=True, env=env)  # fmt: skip
    peak, file_backed = out.stdout.strip().splitlines()[-1].split()
    return float(peak), float(file_backed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench ais", description=__doc__.splitlines()[0])
    ap.add_argument("--min-sentences", type=int, default=1_000_000)
    ap.add_argument("--memory", action="store_true", help="also compare peak RSS at 1x and 10x")
    ap.add_argument("--stages", action="store_true", help="also print CPU time per stage")
    a = ap.parse_args(argv)
    if not (SHARED / "MANIFEST.tsv").exists():
        print(f"bench ais: real data not found at {SHARED}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        paths, n_sent = build_tiles(Path(tmp), a.min_sentences)
        print(f"input: {len(paths)} files tiled to {n_sent:,} AIS sentences", flush=True)
        n_py, cpu_py, wall_py = timed(run_pyais, paths)
        asm, cpu_setup, _ = timed(prepare_picket)
        res, cpu_pk, wall_pk = timed(run_picket, paths, asm)
        rate_py, rate_pk = n_sent / cpu_py, n_sent / cpu_pk
        print(f"pyais FileReaderStream decode only: {n_py:,} messages, {cpu_py:.2f} s CPU "
              f"({wall_py:.2f} s wall): {rate_py:,.0f} sentences/s")  # fmt: skip
        print(f"picket full replay (decode, tracks, detectors, alerts): {res['reports']:,} "
              f"reports, {res['tracks']:,} tracks, {res['alerts']} alerts, {cpu_pk:.2f} s CPU "
              f"({wall_pk:.2f} s wall): {rate_pk:,.0f} sentences/s")  # fmt: skip
        n_ev, digest = event_digest(res.pop("asm"))  # and let the pipeline go (peak RSS)
        print(f"alert events: {n_ev:,}, sha256 of their JSON {digest} (a faster picket must "
              "print the same)")  # fmt: skip
        ratio = rate_pk / rate_py
        verdict = "PASS" if ratio >= TARGET else "FAIL"
        both = cpu_py / (cpu_pk + cpu_setup)
        print(f"set-up before the timed run (pipeline, cable grid, compiled loops): "
              f"{cpu_setup:.2f} s CPU; counting it: {both:.2f}x")  # fmt: skip
        print(f"ratio picket/pyais: {ratio:.2f}x (target >= {TARGET:g}x): {verdict}", flush=True)
        if a.stages:
            spent, total = stage_times(lambda asm: run_picket(paths, asm), prepare_picket())
            print_stages(spent, total, n_sent, "sentences")
        if a.memory:
            (Path(tmp) / "x10").mkdir()
            big, n_big = build_tiles(Path(tmp) / "x10", a.min_sentences, factor=10)
            (m1, f1), (m10, f10) = peak_rss_mb(paths), peak_rss_mb(big)
            print(f"peak RSS: {m1:.0f} MB for {n_sent:,} sentences, {m10:.0f} MB for "
                  f"{n_big:,} ({m10 / m1:.2f}x memory for 10x input); file-backed pages "
                  f"(shared libraries) at the end: {f1:.0f} and {f10:.0f} MB")  # fmt: skip
            m0, f0 = peak_rss_mb(paths, compiled=False)
            print(f"peak RSS with PICKET_COMPILED=0 (NumPy forms, no numba): {m0:.0f} MB for "
                  f"{n_sent:,} sentences (file-backed {f0:.0f} MB)")  # fmt: skip
        print("resource:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MB peak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
