"""`picket`: demo, replay, run, alerts, formats, config, bench, track."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from pathlib import Path

from picket import __version__


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
    for name in ("live", "replay", "track", "space", "jamming", "serve", "export"):
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
