"""AIS NMEA decode speed: picket's `ais-nmea` reader against pyais on the same file.

picket reads the gzip file through `read_file` (decompression included) and
produces report columns and statics. pyais reads the decompressed text with
`FileReaderStream` and decodes every message (`msg.decode()`), nothing more.
Each side runs `--repeat` times; the best wall time is reported, with process
CPU time alongside because the machine may be shared.

Run: ``python benchmarks/bench_ais_decode.py [--file ../shared/data/ais/...nmea.gz]``.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

from pyais.stream import FileReaderStream

from picket.model.rejects import Rejects
from picket.sources.registry import read_file
from shared_data import SHARED

DEFAULT = SHARED / "ais" / "dma_danish_waters_20131112_5min.nmea.gz"


def run_picket(path: Path) -> int:
    rj = Rejects()
    return sum(len(d.reports) for d in read_file(path, rj, fmt="ais-nmea"))


def run_pyais(path: Path) -> int:
    n = 0
    for msg in FileReaderStream(str(path)):
        try:
            msg.decode()
            n += 1
        except Exception:
            pass
    return n


def best(fn, arg, repeat: int) -> tuple[float, float, int]:
    walls, cpus, n = [], [], 0
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        n = fn(arg)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus), n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench ais_decode",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=DEFAULT)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    raw = args.file.read_bytes()
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    lines = text.count(b"\n")
    with tempfile.NamedTemporaryFile(suffix=".nmea") as tmp:
        tmp.write(text)
        tmp.flush()
        pw, pc, pn = best(run_picket, args.file, args.repeat)
        yw, yc, yn = best(run_pyais, Path(tmp.name), args.repeat)
    print(f"{args.file.name}: {lines} lines")
    print(f"picket ais-nmea : {pn:6d} reports  {pw * 1e3:7.1f} ms wall  {pc * 1e3:7.1f} ms cpu")
    print(f"pyais decode    : {yn:6d} messages {yw * 1e3:7.1f} ms wall  {yc * 1e3:7.1f} ms cpu")
    print(f"speed-up        : {yw / pw:.1f}x wall, {yc / pc:.1f}x cpu")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
