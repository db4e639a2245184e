"""`picket cluster up`: the distributed pipeline on one machine, to try it.

Starts nats-server (JetStream), PostgreSQL with PostGIS (a throwaway server in a temp
folder, when `initdb` is found), N workers (each a subject partition, the last M of them an
area partition by H3 cell too: `--role both`; or M area workers of their own with
`--area-apart`), the feed (the demo's simulated sources through the real decoders, or
recorded files), with `--outputs CONFIG` a `picket share` for the config's `[[outputs]]`,
and `picket serve` (the live picture from the bus: workers publish their
tracks and the zones and cables they judge against; history and triage in the shared
store). Ctrl-C (or SIGTERM) stops them all and removes the servers' temp
folders. Every process is an ordinary picket command, the same one a deployment runs on
its own machine (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time as wall
from pathlib import Path
from typing import Any

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"


def _picket(*args: str, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 (the child keeps it)
    return subprocess.Popen([sys.executable, "-c", RUN, *args], cwd=cwd, stdout=out,
                            stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip


def _demo_sky(scn: Any, work: Path) -> list[str]:
    """The demo's satellites layer, as `picket demo` shows it, for the workers to name in
    the static picture (`picket worker --sky`); none without the shared catalogue."""
    import json

    from picket.demo.run import BALTIC_BBOX
    from picket.serve.satellites import SkyLayer, find_catalogue

    path = find_catalogue()
    if path is None:
        return []
    spec = work / "sky.json"
    spec.write_text(json.dumps(SkyLayer(path, scn.start, scn.end, BALTIC_BBOX).spec()))
    return ["--sky", str(spec)]


def cmd_cluster(a: argparse.Namespace) -> int:
    from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres

    if a.action != "up":
        print(f"picket cluster: unknown action {a.action!r} (up)", file=sys.stderr)
        return 2
    if not a.demo and not a.inputs:
        print("picket cluster up: give --demo or input files", file=sys.stderr)
        return 2
    for why in (why_no_nats(), why_no_postgres()):
        if why:
            print(f"picket cluster up: {why}", file=sys.stderr)
            return 2
    work = Path(a.workdir).resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    nats = pg = None
    try:
        nats = LocalNats()
        pg = LocalPostgres()
        db = pg.new_database("picket")
        geo: list[str] = []
        if a.demo:
            from picket.demo.run import write_geography
            from picket.sim import scenario

            scn = scenario.build(seed=a.seed, duration_s=a.duration)
            z, i = write_geography(scn, work)
            geo = ["--zones", str(z), "--infrastructure", str(i), *_demo_sky(scn, work)]
        if a.outputs:  # before the feed: the outputs send every alert from the first on
            procs["share"] = _picket("share", "--nats", nats.url, "--config",
                                     str(Path(a.outputs).resolve()), log=logs / "share.log",
                                     cwd=work)  # fmt: skip
        common = ["--nats", nats.url, "--store", db, *geo, "--publish-tracks"]
        if not a.area_apart and not 1 <= a.area_workers <= a.workers:
            print("picket cluster: --area-workers is 1..--workers (or use --area-apart)",
                  file=sys.stderr)  # fmt: skip
            return 2
        # default: N processes, each a subject shard, the last ones an area partition too
        role = [] if a.area_apart else ["--role", "both", "--area-shards", str(a.area_workers)]
        for k in range(a.workers):
            procs[f"worker {k}/{a.workers}"] = _picket(
                "worker", "--partition", f"{k}/{a.workers}", *role, *common,
                log=logs / f"worker-{k}.log", cwd=work)  # fmt: skip
        for k in range(a.area_workers if a.area_apart else 0):
            procs[f"area worker {k}/{a.area_workers}"] = _picket(
                "worker", "--role", "area", "--partition", f"{k}/{a.area_workers}", *common,
                log=logs / f"worker-area-{k}.log", cwd=work)  # fmt: skip
        feed = ["feed", "--nats", nats.url, "--shards", str(a.workers), "--area-shards",
                str(a.area_workers), "--speed", str(a.speed), "--workdir", str(work)]  # fmt: skip
        feed += (["--demo", "--duration", str(a.duration), "--seed", str(a.seed)] if a.demo
                 else [str(Path(p).resolve()) for p in a.inputs])  # fmt: skip
        procs["feed"] = _picket(*feed, log=logs / "feed.log", cwd=work)
        # the live picture from the bus: tracks, alerts and the zones and cables the workers
        # judge against (`picket.static`); the store for history and triage
        procs["server"] = _picket("serve", "--nats", nats.url, "--store", db, "--host", a.host,
                                  "--port", str(a.port), log=logs / "serve.log",
                                  cwd=work)  # fmt: skip
        print(f"picket cluster: nats {nats.url}, store {db}\n"
              f"  {a.workers} workers ({a.area_workers} area partitions"
              f"{' in their own workers' if a.area_apart else ''}), the feed, "
              f"{'the outputs of ' + a.outputs + ', ' if a.outputs else ''}and "
              f"the picture at http://{a.host}:{a.port}/ (logs in {logs}); Ctrl-C stops all",
              flush=True)  # fmt: skip
        until = wall.monotonic() + a.seconds if a.seconds else float("inf")
        while not stop.is_set() and wall.monotonic() < until:
            for name, p in procs.items():
                rc = p.poll()
                if rc is not None and name != "feed":
                    print(f"picket cluster: {name} exited ({rc}); see {logs}", file=sys.stderr)
                    stop.set()
                    break
            stop.wait(0.5)
    finally:
        for p in procs.values():  # our own children, each by its process
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = wall.monotonic() + 20.0
        for p in procs.values():
            try:
                p.wait(max(0.1, end - wall.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if nats is not None:
            nats.close()
        if pg is not None:
            pg.close()
    print("picket cluster: stopped", flush=True)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("cluster", help="start NATS, PostgreSQL, feeds, workers and the server "
                                       "on one machine")  # fmt: skip
    c.add_argument("action", choices=["up"], help="up: start everything; Ctrl-C stops it")
    c.add_argument("inputs", nargs="*", metavar="INPUT", help="recorded files to feed")
    c.add_argument("--workers", type=int, default=2,
                   help="worker processes, one subject partition each (2)")  # fmt: skip
    c.add_argument("--area-workers", type=int, default=1,
                   help="area partitions by H3 cell (1), run by the last workers beside "
                        "their subject partition (--role both)")  # fmt: skip
    c.add_argument("--outputs", metavar="CONFIG",
                   help="also run `picket share` with this config's [[outputs]] (CoT/TAK, "
                        "webhooks, tar1090 JSON...; docs/outputs.md)")  # fmt: skip
    c.add_argument("--area-apart", action="store_true",
                   help="run each area partition in a worker of its own (--role area), for "
                        "more cores than subject partitions")  # fmt: skip
    c.add_argument("--demo", action="store_true", help="feed the demo's simulated sources")
    c.add_argument("--duration", type=float, default=3600.0, help="demo length, event seconds")
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--speed", type=float, default=10.0,
                   help="x real time for the feed (0 = as fast as possible; default 10)")
    c.add_argument("--workdir", default="var/cluster", help="logs and the demo's geography")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8642)
    c.add_argument("--seconds", type=float, default=None, help="stop after this long")
    c.set_defaults(func=cmd_cluster)
