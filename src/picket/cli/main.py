"""picket: fuse air, maritime, space and GNSS-interference feeds into tracks and alerts.

Commands: demo, replay, run, serve, export, query, jamming, space, track, alerts, formats,
config, bench; scale-out over NATS JetStream: feed, decode, worker, cluster, share.
`picket COMMAND --help` for each.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
from typing import TYPE_CHECKING

from picket import __version__

if TYPE_CHECKING:
    from pathlib import Path

# options that take a time, by argparse dest: checked once in main() for every command
TIME_OPTIONS = ("since", "until", "start", "start_time", "at")


# alerts -------------------------------------------------------------------------------
def cmd_alerts(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.model.alerts import parse_time
    from picket.store import describe, missing, open_store, store_target

    cfg = cfgmod.load(a.config)
    path = store_target(a.store, cfg)
    if missing(path):
        print(f"picket alerts: no store at {describe(path)} (run a demo, replay or run first)",
              file=sys.stderr)  # fmt: skip
        return 2
    if a.kind and not known_kind(a.kind):
        from picket.model.alerts import KINDS

        print(f"picket alerts: warning: no alert kind matches --kind {a.kind!r}; known kinds: "
              f"{', '.join(KINDS)} (or a namespace: "
              f"{', '.join(sorted({k.split('.')[0] for k in KINDS}))}, or NS.*)",
              file=sys.stderr)  # fmt: skip
    import json

    st = open_store(path)
    filters = {
        "since": parse_time(a.since) if a.since else None,
        "until": parse_time(a.until) if a.until else None,
        "kind": a.kind, "subject": a.subject, "status": a.status,
    }  # fmt: skip
    if a.at:  # each alert as it was then, from its stored events (docs/api.md)
        rows = st.alerts_at(parse_time(a.at), **filters)
        total = len(rows)
        rows = rows[: a.limit]
    else:
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
        from picket.config import describe_settings

        cur = None
        for s in describe_settings():  # [serve] and the like, before the thresholds
            if s["section"] != cur:
                cur = s["section"]
                print(f"[{cur}]")
            print(f"{s['name']} = {_toml(s['default'])}  # {s['doc']}")
        for r in rows:
            if r["detector"] != cur:
                cur = r["detector"]
                print(f'\n[detectors."{cur}"]')
            print(f"{r['name']} = {_toml(r['default'])}  # {r['doc']} ({r['source']})")
    return 0


def _toml(v: object) -> str:
    """A default as TOML writes it, so `picket config`'s output is a config file."""
    import json

    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + "}"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return json.dumps(v)


# bench --------------------------------------------------------------------------------
def bench_dir() -> Path:
    from pathlib import Path  # here: pathlib imports urllib.parse, most commands need neither

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
    sys.modules[spec.name] = mod  # type: ignore[union-attr]  # dataclasses look their module up
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return int(mod.main(a.args) or 0)


# Commands that live in their own modules (picket.cli.<module>_cmd: add_parser(sub) and, if
# it sets no func, run(args)), in the order `picket --help` lists them, with the one line the
# listing shows. Only the module of the command being run is imported: building the whole
# parser would import the tracker, SciPy and numba to print a help text.
MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("live", "run the Baltic scenario (simulated feeds, real decoders)"),
    "replay": ("replay", "replay recorded files through the pipeline"),
    "run": ("live", "run live from the sources in a config file"),
    "serve": ("serve", "serve the web picture and API over a store"),
    "export": ("export", "export tracks, alerts and zones as GeoJSON, KML or KMZ"),
    "query": ("query", "who was in an area between two times, with trajectories"),
    "jamming": ("jamming", "GNSS interference maps (gpsjam.org format)"),
    "space": ("space", "space catalogue: conjunctions, passes, manoeuvres"),
    "track": ("track", "track anonymous plots (radar, drone detectors)"),
    "feed": ("worker", "decode inputs and publish them, partitioned, to the bus (NATS)"),
    "decode": ("worker", "decode one raw feed from the bus and publish its reports"),
    "worker": ("worker", "run fusion and detectors on one partition of the bus"),
    "cluster": ("cluster", "start NATS, PostgreSQL, feeds, workers and the server on one machine"),
    "share": ("share", "send a cluster's tracks and alerts to [[outputs]] from its bus"),
}


BUILTIN_COMMANDS = ("alerts", "formats", "config", "bench")  # defined below, in this module


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `command` ("" for none), only that command's module is imported
    (the others are listed with their one line but take no arguments)."""
    p = argparse.ArgumentParser(prog="picket", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--version", action="version", version=f"picket {__version__}")
    p.add_argument("--log-level", metavar="LEVEL",
                   help="debug, info, warning (default), error; or name=level pairs "
                        "(also PICKET_LOG)")  # fmt: skip
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND", title="commands")
    lazy = command is not None
    loaded: set[str] = set()
    for name, (module, help_) in MODULE_COMMANDS.items():
        if lazy and MODULE_COMMANDS.get(command, ("",))[0] != module:
            sub.add_parser(name, help=help_)
        elif module not in loaded:
            loaded.add(module)
            _add_module(sub, module)

    al = sub.add_parser("alerts", help="query stored alerts")
    al.add_argument("--since", help="ISO time or unix seconds")
    al.add_argument("--until", help="ISO time or unix seconds")
    al.add_argument("--kind", help="e.g. maritime.ais_gap, or maritime.* / maritime")
    al.add_argument("--subject", help="e.g. mmsi:212123000")
    al.add_argument("--status", choices=["open", "closed"])
    al.add_argument("--at", help="each alert as it was at this ISO time or unix seconds")
    al.add_argument("--limit", type=positive_int, default=100, help="at most this many (100)")
    al.add_argument("--store", help="SQLite store path or postgresql:// URL")
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
    return p


def _add_module(sub: argparse._SubParsersAction, module: str) -> None:
    modname = f"picket.cli.{module}_cmd"
    if importlib.util.find_spec(modname) is None:
        return
    mod = importlib.import_module(modname)
    before = set(sub.choices)
    mod.add_parser(sub)
    for cmd in set(sub.choices) - before:
        sp = sub.choices[cmd]
        if sp.get_default("func") is None and hasattr(mod, "run"):
            sp.set_defaults(func=mod.run)
    # the listing shows MODULE_COMMANDS' line whichever way the parser was built
    for act in sub._choices_actions:
        if act.dest in MODULE_COMMANDS:
            act.help = MODULE_COMMANDS[act.dest][1]


def positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def bad_time_option(a: argparse.Namespace) -> str | None:
    """The first time option that does not parse, as a one-line message; None if all do.

    Checked here, before any command runs, so every command answers a bad time the same way.
    """
    for dest in TIME_OPTIONS:
        text = getattr(a, dest, None)
        if not isinstance(text, str):
            continue
        from picket.model.alerts import parse_time  # here: most commands take no time

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
    import signal

    # commands that run until stopped (run, worker, share, cluster) take SIGTERM and SIGINT;
    # called in a process that goes on (a test, a notebook), the handlers are put back, or
    # every process it forks later would inherit one that only sets a flag and ignore
    # `terminate()` (a space screen's worker pool hung on that once)
    kept = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
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
    finally:
        for sig, handler in kept.items():
            if handler is not None and signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)  # only a command in the main thread changed it
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
    args = sys.argv[1:] if argv is None else argv
    word = next((x for x in args if not x.startswith("-")), "")
    if word in MODULE_COMMANDS or word in BUILTIN_COMMANDS or not word:
        parser = build_parser(word)
    else:  # not a command we know of: the full parser finds a module's new one, or says no
        parser = build_parser()
    a = parser.parse_args(args)
    from picket import log

    log.setup(a.log_level)
    name = " ".join(x for x in (a.cmd, getattr(a, f"{a.cmd}_cmd", None)) if x)
    if err := bad_time_option(a):
        print(f"picket {name}: {err}", file=sys.stderr)
        return 2
    try:
        return int(a.func(a) or 0)
    except Exception as e:
        if not _user_error(e):
            raise
        print(f"picket {name}: {e}", file=sys.stderr)
        return 2


def _user_error(e: Exception) -> bool:
    """A missing file, a bad config or a missing extra: one line, not a traceback.

    Their classes are looked up only if their modules were imported (whatever raised them
    was), so a light command does not import the config's detectors to be able to fail.
    """
    kinds: list[type] = [FileNotFoundError]
    for modname, cls in (("picket.config", "ConfigError"),
                         ("picket.sources.opensky_parquet", "MissingExtra")):  # fmt: skip
        mod = sys.modules.get(modname)
        if mod is not None and isinstance(getattr(mod, cls, None), type):
            kinds.append(getattr(mod, cls))
    return isinstance(e, tuple(kinds))


if __name__ == "__main__":
    sys.exit(main())
