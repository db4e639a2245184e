"""`picket demo` and `picket run`: the pipeline on simulated or live feeds, served."""

from __future__ import annotations

import argparse
import sys


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


def add_parser(sub) -> None:
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

    u = sub.add_parser("run", help="run live from the sources in a config file")
    u.add_argument("config")
    u.add_argument("--batch-s", type=float, default=1.0, help="micro-batch, wall seconds")
    u.add_argument("--seconds", type=float, default=None, help="stop after this long")
    u.add_argument("--no-serve", action="store_true", help="no web picture / API")
    u.add_argument("--host", default="127.0.0.1")
    u.add_argument("--port", type=int, default=8642)
    u.set_defaults(func=cmd_run)
