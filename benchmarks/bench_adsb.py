"""ADS-B speed: picket's full replay against pyModeS 3's `PipeDecoder` (decode only).

The real Beast capture (Gulf of Finland, 61 s) is tiled in time to at least
`--frames` Mode S frames: each copy's 12 MHz counters are shifted by the
capture's span, so time runs forward and the same aircraft fly the same
minute again (their positions jump back at each seam, which `gnss.spoofing`
duly reports). Both sides see the same frames:

- pyModeS 3 (GPL-3.0, never a picket dependency) is installed into a throwaway
  venv under /tmp by this benchmark and decodes the hex messages one by one with
  their timestamps through `PipeDecoder.decode` (per-aircraft CPR state included).
  `--pymodes-max` caps how many it decodes (its rate is per message, steady).
- picket replays the tiled Beast bytes through `picket.pipeline`: Beast framing,
  Mode S decoding, fusion into tracks, every default detector (interference
  cells included), alert book; no store, no console.

Run: ``picket bench adsb [--frames 1000000] [--pymodes-max 300000]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from picket.config import Config
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import run_stream
from picket.sources.beast import _LEN, ESC, BeastDecoder, split_frames
from shared_data import SHARED

DATA = SHARED / "air"
CAPTURE = DATA / "beast_capture_gulf_of_finland_20180403_61s.bin"
START = 1522782148.0  # 2018-04-03, the capture's day
VENV = Path(tempfile.gettempdir()) / "picket-bench-pymodes"

PYMODES_RUN = r"""
import sys, time
from pyModeS import PipeDecoder
msgs, ts = [], []
with open(sys.argv[1]) as fh:
    for line in fh:
        h, t = line.split(",")
        msgs.append(h)
        ts.append(float(t))
dec = PipeDecoder()
w, c = time.perf_counter(), time.process_time()
for m, t in zip(msgs, ts):
    dec.decode(m, timestamp=t)
dec.flush()
print(len(msgs), time.perf_counter() - w, time.process_time() - c)
"""


def records(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(unescaped bytes, record starts, record lengths, 12 MHz ticks) of every frame."""
    _, ub, us, _, _ = split_frames(data, final=True)
    need = _LEN[ub[us + 1]]
    ok = us + need <= len(ub)
    us, need = us[ok], need[ok]
    ticks = np.zeros(len(us), np.int64)
    for j in range(6):
        ticks = (ticks << 8) | ub[us + 2 + j].astype(np.int64)
    return ub, us, need, ticks


def tile(data: bytes, min_modes: int) -> tuple[bytes, list[str], np.ndarray, int]:
    """Tiled Beast bytes, the Mode S hex messages and their times, and the copy count."""
    ub, us, need, ticks = records(data)
    modes = np.isin(ub[us + 1], (ord("2"), ord("3")))
    per_copy = int(modes.sum())
    copies = -(-min_modes // per_copy)
    span = int(ticks.max() - ticks.min()) + 12_000_000  # one second between copies
    idx = np.repeat(us, need) + (np.arange(need.sum()) - np.repeat(np.cumsum(need) - need, need))
    flat = ub[idx]
    rec_start = np.zeros(len(flat), bool)
    rec_start[np.cumsum(need) - need] = True
    tick_pos = np.repeat(np.cumsum(need) - need, 6) + np.tile(np.arange(2, 8), len(need))
    parts = []
    for k in range(copies):
        f = flat.copy()
        tk = (ticks + k * span) & ((1 << 48) - 1)
        f[tick_pos] = ((tk[:, None] >> (8 * np.arange(5, -1, -1))) & 0xFF).ravel()
        parts.append(np.repeat(f, np.where((f == ESC) & ~rec_start, 2, 1)).tobytes())
    # hex messages and times for pyModeS, as picket will time them
    plen = np.where(ub[us + 1] == ord("3"), 14, 7)
    hexes = [ub[s + 9 : s + 9 + n].tobytes().hex().upper()
             for s, n in zip(us[modes].tolist(), plen[modes].tolist(), strict=True)]  # fmt: skip
    t = START + (ticks[modes] - ticks.min()) / 12e6
    times = np.concatenate([t + k * span / 12e6 for k in range(copies)])
    return b"".join(parts), hexes * copies, times, copies


def ensure_pymodes() -> Path | None:
    py = VENV / "bin" / "python"
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        ok = subprocess.run([str(py), "-c", "import pyModeS; from pyModeS import PipeDecoder"],
                            capture_output=True)  # fmt: skip
        if ok.returncode != 0:
            subprocess.run([str(py), "-m", "pip", "install", "-q", "pyModeS>=3"], check=True)
        return py
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"pyModeS venv could not be made ({e}); skipping pyModeS", file=sys.stderr)
        return None


def run_pymodes(py: Path, hexes: list[str], times: np.ndarray) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as d:
        msgs = Path(d) / "msgs.csv"
        with msgs.open("w") as fh:
            for h, t in zip(hexes, times.tolist(), strict=True):
                fh.write(f"{h},{t:.6f}\n")
        script = Path(d) / "run.py"
        script.write_text(PYMODES_RUN)
        out = subprocess.run([str(py), str(script), str(msgs)], capture_output=True, text=True,
                             check=True)  # fmt: skip
    n, wall, cpu = out.stdout.split()
    return int(n), float(wall), float(cpu)


def decoded_stream(data: bytes, rejects: Rejects, chunk: int = 1 << 20) -> Iterator[Decoded]:
    dec = BeastDecoder(rejects, "bench.bin", start_time=START)
    for i in range(0, len(data), chunk):
        out = dec.feed(data[i : i + chunk])
        if len(out.reports) or out.statics:
            yield out
    out = dec.flush()
    if len(out.reports) or out.statics:
        yield out


def run_picket(data: bytes) -> tuple[int, float, float, Rejects, int]:
    asm = assemble(Config(), console=False, store=False)
    w, c = time.perf_counter(), time.process_time()
    summary = run_stream(asm.pipeline, decoded_stream(data, asm.rejects))
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    return summary.reports, wall, cpu, asm.rejects, summary.alert_events


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench adsb", description=__doc__.split("\n")[0])
    ap.add_argument("--capture", type=Path, default=CAPTURE)
    ap.add_argument("--frames", type=int, default=1_000_000, help="Mode S frames, at least")
    ap.add_argument("--pymodes-max", type=int, default=300_000,
                    help="messages pyModeS decodes (0: all)")  # fmt: skip
    ap.add_argument("--no-pymodes", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if not a.capture.exists():
        print(f"bench adsb: {a.capture} not found (../shared/data beside the repo)",
              file=sys.stderr)  # fmt: skip
        return 2
    data, hexes, times, copies = tile(a.capture.read_bytes(), a.frames)
    n_frames = len(hexes)
    print(f"tiled {a.capture.name} x{copies}: {n_frames} Mode S frames, {len(data) / 1e6:.1f} MB")
    res: dict[str, object] = {"frames": n_frames, "copies": copies}

    n_rep, wall, cpu, rej, n_alerts = run_picket(data)
    p_rate = n_frames / wall
    print(f"picket full replay: {n_frames} frames in {wall:.2f} s ({cpu:.2f} s CPU) = "
          f"{p_rate:,.0f} msg/s; {n_rep} reports, {n_alerts} alert events")  # fmt: skip
    print(f"  input: {rej.summary()}")
    res.update(picket_wall_s=wall, picket_cpu_s=cpu, picket_msgs_per_s=p_rate)

    py = None if a.no_pymodes else ensure_pymodes()
    if py is not None:
        k = n_frames if a.pymodes_max <= 0 else min(a.pymodes_max, n_frames)
        n, pw, pc = run_pymodes(py, hexes[:k], times[:k])
        m_rate = n / pw
        print(f"pyModeS {VENV.name} PipeDecoder: {n} frames in {pw:.2f} s ({pc:.2f} s CPU) = "
              f"{m_rate:,.0f} msg/s (decode only)")  # fmt: skip
        cpu_ratio = (n_frames / cpu) / (n / pc)
        print(f"ratio picket full / pyModeS decode: {p_rate / m_rate:.2f}x wall, "
              f"{cpu_ratio:.2f}x CPU (target >= 2x)")  # fmt: skip
        res.update(pymodes_frames=n, pymodes_wall_s=pw, pymodes_msgs_per_s=m_rate,
                   ratio=p_rate / m_rate, cpu_ratio=cpu_ratio)  # fmt: skip
    if a.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
