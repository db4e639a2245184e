"""`picket replay`: recorded files through the pipeline, merged in event time.

Clockless files (docs/time.md): Beast, AVR and AIS NMEA lines without tag
block, `$PGHP` or trailing time carry no date. Their clock is `--start-time`
(else a unix time in the file name) and `--rate` (items per second in file
order). With neither, each such file is sampled first; when more than half of
the sampled items have no time, picket stops before processing anything and
says which file, how many, and both ways out. A file where only a few lines
lack a time replays, those lines counted as `ais.no_time`.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picket.sources.registry import Format

SAMPLE_BYTES = 4 << 20  # how much of a clockless file the pre-pass decodes
NO_TIME_MAX = 0.5  # stop when more than this share of the sampled items has no time


def expand(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Input paths with directories replaced by their files (sorted); and errors."""
    out, errors = [], []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files = sorted(q for q in path.iterdir() if q.is_file() and not q.name.startswith("."))
            if not files:
                errors.append(f"{p}: an empty directory")
            out.extend(files)
        elif path.exists():
            out.append(path)
        else:
            errors.append(f"{p}: no such file")
    return out, errors


def _unit(fmt: Format) -> str:
    return "frames" if fmt.name == "beast" else "lines"


def untimed(path: Path, fmt: Format) -> tuple[int, int]:
    """(items without a time, items) in the first SAMPLE_BYTES of a clockless file.

    The sample goes through the format's own decoder with no clock and a
    scratch `Rejects`: what it rejects as `*.no_time` is what lacks a time.
    """
    from picket.model.rejects import Rejects
    from picket.sources.registry import open_binary

    rej = Rejects()
    dec = fmt.decoder(rej, path.name)
    with open_binary(path) as fh:
        data = fh.read(SAMPLE_BYTES)
    dec.feed(data)
    if len(data) < SAMPLE_BYTES:
        dec.flush()
    n_none = sum(k for r, k in rej.counts.items() if r.endswith(".no_time"))
    return n_none, rej.accepted + n_none


def count_items(path: Path, fmt: Format) -> int:
    """Lines (frames for Beast) in a whole file: the length of a recording at --rate."""
    from picket.sources.beast import split_frames
    from picket.sources.registry import open_binary

    n, carry = 0, b""
    with open_binary(path) as fh:
        while data := fh.read(1 << 24):
            if fmt.name != "beast":
                n += data.count(b"\n")
                continue
            buf = carry + data
            starts, _, _, used, _ = split_frames(buf)
            n += len(starts)
            carry = buf[used:]
    if fmt.name == "beast" and carry:
        n += len(split_frames(carry, final=True)[0])
    return n


def clocks(inputs: list[tuple[Path, Format]], start: float | None,
           rate: float | None) -> tuple[dict[Path, dict[str, object]], list[str]]:  # fmt: skip
    """Each clockless input's `clock`, and the message for each that has no way to a time."""
    from picket.sources.beast import time_from_name
    from picket.sources.registry import Clock

    args: dict[Path, dict[str, object]] = {}
    errors = []
    for path, fmt in inputs:
        if not fmt.clockless:
            continue
        t0 = start if start is not None else time_from_name(path.name)
        if t0 is None and rate:  # a recording ends when its file was last written
            t0 = path.stat().st_mtime - max(count_items(path, fmt) - 1, 0) / rate
        if t0 is not None:
            args[path] = {"clock": Clock(start=t0, rate=rate)}
            continue
        n_none, n = untimed(path, fmt)
        if n and n_none > NO_TIME_MAX * n:
            unit = _unit(fmt)
            errors.append(
                f"{path}: {n_none:,} of the first {n:,} {unit} carry no time ({fmt.name}"
                f"{' without tag block, $PGHP or trailing time' if fmt.name == 'ais-nmea' else ''}"
                f", and the file name holds none). Give it one: --start-time ISO (the time of "
                f"the first {unit[:-1]}), or --rate N ({unit} per second in file order; the "
                f"recording is then taken to end at the file's modification time)"
            )
    return args, errors


def cmd_replay(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.cli.progress import progress_bar
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import replay_files
    from picket.sinks.tracks_csv import TracksCsvSink
    from picket.sources.registry import UnknownFormat, detect, get_format

    cfg = cfgmod.load(a.config)
    if a.store:  # a file path or a postgresql:// URL, over the config's [store]
        cfg.store_path, cfg.store_url = a.store, None
    if a.rate is not None and not (math.isfinite(a.rate) and a.rate > 0):
        print(f"picket replay: --rate {a.rate}: lines (or frames) per second, above 0",
              file=sys.stderr)  # fmt: skip
        return 2
    paths, errors = expand(a.inputs)
    for e in errors:
        print(f"picket replay: {e}", file=sys.stderr)
    if errors:
        return 2
    found: list[tuple[Path, Format]] = []
    for path in paths:
        try:
            found.append((path, detect(path) if a.format == "auto" else get_format(a.format)))
        except UnknownFormat as e:
            print(f"picket replay: {e}", file=sys.stderr)
            return 2
    start = None
    if a.start_time:
        from picket.model.alerts import parse_time

        start = parse_time(a.start_time)
    file_args, errors = clocks(found, start, a.rate)
    for e in errors:
        print(f"picket replay: {e}", file=sys.stderr)
    if errors:
        return 2
    dargs = cfg.decoder_args()
    if a.radar_site:  # over the config's [asterix] sites, same radar replaced
        from picket.sources.asterix import site_table

        try:
            sites = {**cfg.asterix_sites, **site_table(a.radar_site)}
        except ValueError as e:
            print(f"picket replay: --radar-site: {e}", file=sys.stderr)
            return 2
        dargs["asterix"] = {"sites": sites}
    inputs = [(p, f.name) for p, f in found]
    extra = [TracksCsvSink(a.tracks_out)] if a.tracks_out else []
    asm = assemble(
        cfg, alerts_out=a.alerts_out, console=not a.quiet, zone_files=a.zones,
        line_files=a.infrastructure, extra_sinks=extra, store=not a.no_store,
    )  # fmt: skip
    total = sum(p.stat().st_size for p, _ in inputs)
    advance, stop = (progress_bar(total, "replay") if not a.no_progress and sys.stderr.isatty()
                     else (None, lambda: None))  # fmt: skip
    try:
        s = replay_files(asm.pipeline, inputs, asm.rejects, batch_s=a.batch_s, speed=a.speed,
                         progress=advance, file_args=file_args,
                         decoder_args=dargs)  # fmt: skip
    finally:
        stop()
    tracks = asm.pipeline.tracks
    names = ", ".join(f"{p.name} ({f})" for p, f in inputs[:5])
    if len(inputs) > 5:
        names += f" and {len(inputs) - 5} more"
    print(f"{names}: {asm.rejects.summary()}")
    if asm.pipeline.n_duplicates:
        print(f"{asm.pipeline.n_duplicates} duplicate reports (same message, another receiver)")
    print(f"{s.reports} reports, {len(tracks)} tracks, {asm.pipeline.n_opened} alerts "
          f"in {s.seconds:.1f} s ({s.reports / max(s.seconds, 1e-9):,.0f} reports/s)")  # fmt: skip
    if asm.rejects.rejected and asm.rejects.path:
        print(f"rejected input kept in {asm.rejects.path}")
    if asm.outputs:
        from picket.cli.live_cmd import print_outputs

        print_outputs(asm.outputs)  # what each output sent and could not deliver
    asm.close()
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser("replay", help="replay recorded files through the pipeline")
    r.add_argument("inputs", nargs="+", metavar="INPUT", help="files, or directories of them")
    r.add_argument("--format", default="auto", help="auto (sniffed) or a name from `formats`")
    r.add_argument("--zones", nargs="*", default=[], help="GeoJSON/KML zone polygons")
    r.add_argument("--infrastructure", nargs="*", default=[], help="GeoJSON/KML cables, pipes")
    r.add_argument("--config", help="TOML config (thresholds, zones, store)")
    r.add_argument("--alerts-out", help="write alerts as JSON Lines here")
    r.add_argument("--tracks-out", help="write fused track positions as CSV here")
    r.add_argument("--store", help="SQLite store path or postgresql:// URL (default from config: "
                   "var/picket.sqlite)")
    r.add_argument("--no-store", action="store_true", help="keep nothing on disk but outputs")
    r.add_argument("--speed", type=float, default=0.0, help="x real time (0 = as fast as possible)")
    r.add_argument("--batch-s", type=float, default=10.0, help="micro-batch, event seconds")
    r.add_argument(
        "--start-time",
        help="ISO time of the first line or frame of clockless input (Beast, AVR, AIS NMEA "
        "without tag blocks); default: a unix time in the file name (docs/time.md)",
    )
    r.add_argument(
        "--rate",
        type=float,
        metavar="N",
        help="clockless input: N lines (Beast: frames, unless its counter keeps time) per "
        "second in file order; without --start-time the file is taken to end at its "
        "modification time",
    )
    r.add_argument(
        "--radar-site",
        action="append",
        default=[],
        metavar="SAC/SIC:LAT,LON,HEIGHT_M",
        help="where an ASTERIX radar stands (repeat per radar; over [asterix] sites in the "
        "config): its CAT048 plots are placed from it (docs/asterix.md)",
    )
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--quiet", action="store_true", help="do not print alerts as they fire")
    r.set_defaults(func=cmd_replay)
