"""picket: fuse air, maritime, space and GNSS-interference feeds into tracks and alerts.

Commands: demo, replay, run, serve, export, jamming, space, alerts, formats, config,
track, bench. `picket COMMAND --help` for each.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
from pathlib import Path

from picket import __version__

# options that take a time, by argparse dest: checked once in main() for every command
TIME_OPTIONS = ("since", "until", "start", "start_time")


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
    if a.kind and not known_kind(a.kind):
        from picket.model.alerts import KINDS

        print(f"picket alerts: warning: no alert kind matches --kind {a.kind!r}; known kinds: "
              f"{', '.join(KINDS)} (or a namespace: "
              f"{', '.join(sorted({k.split('.')[0] for k in KINDS}))}, or NS.*)",
              file=sys.stderr)  # fmt: skip
    st = Store(path)
    filters = {
        "since": parse_time(a.since) if a.since else None,
        "until": parse_time(a.until) if a.until else None,
        "kind": a.kind, "subject": a.subject, "status": a.status,
    }  # fmt: skip
    rows = st.alerts(**filters, limit=a.limit + 1)  # one more tells whether the limit cut
    total = len(rows)
    if total > a.limit:
        rows = rows[: a.limit]
        total = a.limit + len(st.alerts(**filters, limit=-1, offset=a.limit))
    for d in rows:
        if a.json:
            print(json.dumps(d))
        else:
            print(f"{d['time']}  {d['severity']:<8} {d['kind']:<28} {d['subject']:<22} "
                  f"{d['summary']}")  # fmt: skip
    if total > len(rows):
        print(f"showing {len(rows)} of {total}; --limit to see more", file=sys.stderr)
    elif not a.json:
        print(f"{len(rows)} alerts", file=sys.stderr)
    st.close()
    return 0


def known_kind(kind: str) -> bool:
    """Whether `--kind` can match anything: a kind, a namespace, or `namespace.*`."""
    from picket.model.alerts import KINDS

    spaces = {k.split(".")[0] for k in KINDS}
    return kind in KINDS or kind in spaces or kind.removesuffix(".*") in spaces


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
    al.add_argument("--until", help="ISO time or unix seconds")
    al.add_argument("--kind", help="e.g. maritime.ais_gap, or maritime.* / maritime")
    al.add_argument("--subject", help="e.g. mmsi:212123000")
    al.add_argument("--status", choices=["open", "closed"])
    al.add_argument("--limit", type=positive_int, default=100, help="at most this many (100)")
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


def positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def bad_time_option(a: argparse.Namespace) -> str | None:
    """The first time option that does not parse, as a one-line message; None if all do.

    Checked here, before any command runs, so every command answers a bad time the same way.
    """
    from picket.model.alerts import parse_time

    for dest in TIME_OPTIONS:
        text = getattr(a, dest, None)
        if not isinstance(text, str):
            continue
        try:
            ok = math.isfinite(parse_time(text))
        except (ValueError, OverflowError, OSError):
            ok = False
        if not ok:
            flag = "--" + dest.replace("_", "-")
            return (f"{flag} {text!r} is not a time: give ISO 8601 UTC "
                    "(2024-11-01T12:00:00Z) or unix seconds")  # fmt: skip
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        rc = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        if not _stdout_closed():  # a socket or a child's pipe: a real error, not `| head`
            raise
        # the reader (head, less) left: stop quietly; the interpreter's own final flush
        # would raise again, so stdout goes to devnull first (the Python docs' recipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a command a pipe stopped
    return rc


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), stdout replaced
        return True


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    name = " ".join(x for x in (a.cmd, getattr(a, f"{a.cmd}_cmd", None)) if x)
    if err := bad_time_option(a):
        print(f"picket {name}: {err}", file=sys.stderr)
        return 2
    from picket.config import ConfigError
    from picket.sources.opensky_parquet import MissingExtra

    try:
        return int(a.func(a) or 0)
    except (ConfigError, FileNotFoundError, MissingExtra) as e:
        print(f"picket {name}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
