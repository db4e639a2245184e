"""`picket`: demo, replay, run, alerts, formats, config, bench, track."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path

from picket import __version__


def _progress_bar(total: int, label: str) -> tuple:
    """(advance(n_bytes), stop) for a transient byte progress bar."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), transient=True)  # fmt: skip
    task = prog.add_task(label, total=total)
    prog.start()
    return (lambda n: prog.advance(task, n)), prog.stop


# demo ---------------------------------------------------------------------------------
def cmd_demo(a: argparse.Namespace) -> int:
    from picket.demo.run import run_demo
    from picket.demo.score import score
    from picket.sim.scenario import MIN_DURATION_S

    if not a.duration >= MIN_DURATION_S:
        print(f"picket demo: --duration must be at least {MIN_DURATION_S:.0f} s: the scripted "
              "incidents run for most of an hour", file=sys.stderr)  # fmt: skip
        return 2
    speed = a.speed if a.speed is not None else (0.0 if a.headless else 60.0)
    handles: list = []

    def serve(asm) -> None:
        from picket.serve import serve_assembly

        h = serve_assembly(asm, host=a.host, port=a.port)
        handles.append(h)
        print(f"picket demo: the picture is on http://{a.host}:{a.port}/", file=sys.stderr)

    try:
        res = run_demo(seed=a.seed, duration_s=a.duration, speed=speed, workdir=a.workdir,
                       alerts_out=a.alerts_out, console=not a.quiet,
                       on_assembly=None if a.headless else serve)  # fmt: skip
        if handles and a.linger:
            print("scenario finished; the picture stays up (Ctrl-C to stop)", file=sys.stderr)
            _wait_forever()
    finally:
        for h in handles:
            h.stop()
    sc = score(res.alerts, res.incidents)
    print(f"\n{res.summary.reports} reports in {res.summary.seconds:.1f} s; "
          f"{len(res.alerts)} alerts; input: {res.rejects}")  # fmt: skip
    print(sc.report())
    if a.alerts_out:
        print(f"alerts written to {a.alerts_out}")
    return 0


def _wait_forever() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


# replay -------------------------------------------------------------------------------
CLOCKLESS = ("beast", "avr")  # formats whose frames carry no wall-clock time


def cmd_replay(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
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
    advance, stop = (_progress_bar(total, "replay") if not a.no_progress and sys.stderr.isatty()
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


# run (live) ---------------------------------------------------------------------------
def cmd_run(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.pipeline.assemble import assemble
    from picket.pipeline.live import run_live

    cfg = cfgmod.load(a.config)
    if not cfg.sources:
        print(f"picket run: {a.config}: no [[sources]] configured", file=sys.stderr)
        return 2
    asm = assemble(cfg)
    handle = None
    if not a.no_serve:
        from picket.serve import serve_assembly

        handle = serve_assembly(asm, host=a.host, port=a.port)
        print(f"picket run: the picture is on http://{a.host}:{a.port}/", file=sys.stderr)
    try:
        counts = run_live(asm, cfg.sources, cfg.base, batch_s=a.batch_s, max_seconds=a.seconds)
    finally:
        if handle is not None:
            handle.stop()
    print(f"bytes per source: {counts}; {asm.rejects.summary()}")
    asm.close()
    return 0


# alerts -------------------------------------------------------------------------------
def cmd_alerts(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.model.alerts import parse_time
    from picket.store.sqlite import Store

    cfg = cfgmod.load(a.config)
    path = Path(a.store) if a.store else cfg.path(cfg.store_path or "var/picket.sqlite")
    if not path.exists():
        print(f"picket alerts: no store at {path} (run a demo, replay or run first)",
              file=sys.stderr)  # fmt: skip
        return 2
    st = Store(path)
    rows = st.alerts(
        since=parse_time(a.since) if a.since else None,
        until=parse_time(a.until) if a.until else None,
        kind=a.kind, subject=a.subject, status=a.status, limit=a.limit,
    )  # fmt: skip
    for d in rows:
        if a.json:
            print(json.dumps(d))
        else:
            print(f"{d['time']}  {d['severity']:<8} {d['kind']:<28} {d['subject']:<22} "
                  f"{d['summary']}")  # fmt: skip
    if not a.json:
        print(f"{len(rows)} alerts", file=sys.stderr)
    st.close()
    return 0


def cmd_formats(a: argparse.Namespace) -> int:
    import picket.sources  # noqa: F401
    from picket.sources.registry import FORMATS

    for f in sorted(FORMATS.values(), key=lambda f: (f.domain, f.name)):
        print(f"{f.name:<14} {f.domain:<9} {f.description}")
    return 0


def cmd_config(a: argparse.Namespace) -> int:
    from picket.config import describe_defaults

    rows = describe_defaults()
    if a.markdown:
        print("| detector | threshold | default | meaning | source |\n|---|---|---|---|---|")
        def cell(x: object) -> str:  # a '|' inside a cell would end it
            return str(x).replace("|", "\\|")

        for r in rows:
            print(f"| `{r['detector']}` | `{r['name']}` | {cell(r['default'])} | {cell(r['doc'])} "
                  f"| {cell(r['source'])} |")  # fmt: skip
    else:
        cur = None
        for r in rows:
            if r["detector"] != cur:
                cur = r["detector"]
                print(f'\n[detectors."{cur}"]')
            print(f"{r['name']} = {json.dumps(r['default'])}  # {r['doc']} ({r['source']})")
    return 0


# bench --------------------------------------------------------------------------------
def bench_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "benchmarks"


def cmd_bench(a: argparse.Namespace) -> int:
    path = bench_dir() / f"bench_{a.name}.py"
    if not path.exists():
        names = sorted(p.stem.removeprefix("bench_") for p in bench_dir().glob("bench_*.py"))
        print(f"picket bench: no benchmark {a.name!r}; available: {', '.join(names) or 'none'} "
              f"(benchmarks run from a source checkout)", file=sys.stderr)  # fmt: skip
        return 2
    if str(bench_dir()) not in sys.path:  # benchmarks share helpers (shared_data.py)
        sys.path.insert(0, str(bench_dir()))
    spec = importlib.util.spec_from_file_location(f"bench_{a.name}", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return int(mod.main(a.args) or 0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="picket", description=__doc__)
    p.add_argument("--version", action="version", version=f"picket {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="run the Baltic scenario (simulated feeds, real decoders)")
    d.add_argument("--headless", action="store_true", help="no web picture, as fast as possible")
    d.add_argument(
        "--speed",
        type=float,
        default=None,
        help="x real time (0 = as fast as possible; default 60, or 0 headless)",
    )
    d.add_argument("--duration", type=float, default=3600.0,
                   help="scenario seconds (3600, the least that holds every incident)")
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--alerts-out", help="write alerts as JSON Lines here")
    d.add_argument("--workdir", default="var/demo", help="store, dead letters and geography")
    d.add_argument("--quiet", action="store_true", help="do not print alerts as they fire")
    d.add_argument("--host", default="127.0.0.1", help="where the picture is served")
    d.add_argument("--port", type=int, default=8642)
    d.add_argument(
        "--no-linger",
        dest="linger",
        action="store_false",
        help="stop serving when the scenario ends",
    )
    d.set_defaults(func=cmd_demo)

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

    u = sub.add_parser("run", help="run live from the sources in a config file")
    u.add_argument("config")
    u.add_argument("--batch-s", type=float, default=1.0, help="micro-batch, wall seconds")
    u.add_argument("--seconds", type=float, default=None, help="stop after this long")
    u.add_argument("--no-serve", action="store_true", help="no web picture / API")
    u.add_argument("--host", default="127.0.0.1")
    u.add_argument("--port", type=int, default=8642)
    u.set_defaults(func=cmd_run)

    al = sub.add_parser("alerts", help="query stored alerts")
    al.add_argument("--since", help="ISO time or unix seconds")
    al.add_argument("--until")
    al.add_argument("--kind", help="e.g. maritime.ais_gap, or maritime.* / maritime")
    al.add_argument("--subject", help="e.g. mmsi:212123000")
    al.add_argument("--status", choices=["open", "closed"])
    al.add_argument("--limit", type=int, default=100)
    al.add_argument("--store", help="SQLite store path")
    al.add_argument("--config")
    al.add_argument("--json", action="store_true", help="JSON Lines")
    al.set_defaults(func=cmd_alerts)

    f = sub.add_parser("formats", help="list the input formats")
    f.set_defaults(func=cmd_formats)
    c = sub.add_parser("config", help="print every detector threshold with default and source")
    c.add_argument("--markdown", action="store_true")
    c.set_defaults(func=cmd_config)

    b = sub.add_parser("bench", help="run a benchmark from benchmarks/ (ais, adsb, tracking...)")
    b.add_argument("name")
    b.add_argument("args", nargs=argparse.REMAINDER)
    b.set_defaults(func=cmd_bench)

    # commands that live in their own modules: add_parser(sub) and, if it sets no func, run(args)
    for name in ("track", "space", "jamming", "serve", "export"):
        modname = f"picket.cli.{name}_cmd"
        if importlib.util.find_spec(modname) is None:
            continue
        mod = importlib.import_module(modname)
        before = set(sub.choices)
        mod.add_parser(sub)
        for cmd in set(sub.choices) - before:
            sp = sub.choices[cmd]
            if sp.get_default("func") is None and hasattr(mod, "run"):
                sp.set_defaults(func=mod.run)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    from picket.config import ConfigError
    from picket.sources.opensky_parquet import MissingExtra

    try:
        return int(a.func(a) or 0)
    except (ConfigError, FileNotFoundError, MissingExtra) as e:
        print(f"picket {a.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
