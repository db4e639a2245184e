"""`picket replay`: recorded files through the pipeline, merged in event time."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# replay -------------------------------------------------------------------------------
CLOCKLESS = ("beast", "avr")  # formats whose frames carry no wall-clock time


def cmd_replay(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.cli.progress import progress_bar
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import replay_files
    from picket.sinks.tracks_csv import TracksCsvSink
    from picket.sources.registry import UnknownFormat, detect, get_format

    cfg = cfgmod.load(a.config)
    if a.store:
        cfg.store_path = a.store
    inputs = []
    for p in a.inputs:
        path = Path(p)
        if not path.exists():
            print(f"picket replay: {p}: no such file", file=sys.stderr)
            return 2
        try:
            fmt = detect(path) if a.format == "auto" else get_format(a.format)
        except UnknownFormat as e:
            print(f"picket replay: {e}", file=sys.stderr)
            return 2
        inputs.append((path, fmt.name))
    extra = [TracksCsvSink(a.tracks_out)] if a.tracks_out else []
    asm = assemble(
        cfg, alerts_out=a.alerts_out, console=not a.quiet, zone_files=a.zones,
        line_files=a.infrastructure, extra_sinks=extra, store=not a.no_store,
    )  # fmt: skip
    total = sum(p.stat().st_size for p, _ in inputs)
    advance, stop = (progress_bar(total, "replay") if not a.no_progress and sys.stderr.isatty()
                     else (None, lambda: None))  # fmt: skip
    try:
        dargs = {}
        if a.start_time:
            from picket.model.alerts import parse_time

            t0 = parse_time(a.start_time)
            dargs = {f: {"start_time": t0} for f in CLOCKLESS}
        s = replay_files(asm.pipeline, inputs, asm.rejects, batch_s=a.batch_s, speed=a.speed,
                         progress=advance, decoder_args=dargs)  # fmt: skip
    finally:
        stop()
    tracks = asm.pipeline.tracks
    print(f"{', '.join(f'{p.name} ({f})' for p, f in inputs)}: {asm.rejects.summary()}")
    if asm.pipeline.n_duplicates:
        print(f"{asm.pipeline.n_duplicates} duplicate reports (same message, another receiver)")
    print(f"{s.reports} reports, {len(tracks)} tracks, {asm.pipeline.n_opened} alerts "
          f"in {s.seconds:.1f} s ({s.reports / max(s.seconds, 1e-9):,.0f} reports/s)")  # fmt: skip
    if asm.rejects.rejected and asm.rejects.path:
        print(f"rejected input kept in {asm.rejects.path}")
    asm.close()
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("replay", help="replay recorded files through the pipeline")
    r.add_argument("inputs", nargs="+", metavar="INPUT")
    r.add_argument("--format", default="auto", help="auto (sniffed) or a name from `formats`")
    r.add_argument("--zones", nargs="*", default=[], help="GeoJSON/KML zone polygons")
    r.add_argument("--infrastructure", nargs="*", default=[], help="GeoJSON/KML cables, pipes")
    r.add_argument("--config", help="TOML config (thresholds, zones, store)")
    r.add_argument("--alerts-out", help="write alerts as JSON Lines here")
    r.add_argument("--tracks-out", help="write fused track positions as CSV here")
    r.add_argument("--store", help="SQLite store path (default from config: var/picket.sqlite)")
    r.add_argument("--no-store", action="store_true", help="keep nothing on disk but outputs")
    r.add_argument("--speed", type=float, default=0.0, help="x real time (0 = as fast as possible)")
    r.add_argument("--batch-s", type=float, default=10.0, help="micro-batch, event seconds")
    r.add_argument(
        "--start-time",
        help="ISO time of the first frame for clockless formats "
        "(Beast, AVR); default: from the file name when it holds a unix time",
    )
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--quiet", action="store_true", help="do not print alerts as they fire")
    r.set_defaults(func=cmd_replay)
