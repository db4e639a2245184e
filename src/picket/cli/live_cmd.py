"""`picket demo` and `picket run`: the pipeline on simulated or live feeds, served."""

from __future__ import annotations

import argparse
import sys
from typing import Any


# outputs from flags (docs/outputs.md) ---------------------------------------------------
def output_specs(a: argparse.Namespace) -> list[Any]:
    """`--cot`, `--webhook` (repeatable) as checked outputs; a bad flag is a ConfigError
    that names it."""
    from picket.share.outputs_config import check_output

    specs = []
    for url in a.cot:
        t: dict[str, Any] = {"kind": "cot", "url": url, "protocol": a.cot_protocol}
        for k in ("cert", "key", "p12", "p12_password_env", "ca", "bbox", "domains"):
            v = getattr(a, f"cot_{k}")
            if v is not None:
                t[k] = v
        if not a.cot_verify_hostname:
            t["verify_hostname"] = False
        specs.append(check_output(t, f"--cot {url}"))
    headers = {}
    for h in a.webhook_header:
        name, sep, value = h.partition(":")
        if not sep:
            from picket.config import ConfigError

            raise ConfigError(f"--webhook-header {h!r}: expected 'Name: value'")
        headers[name.strip()] = value.strip()
    for url in a.webhook:
        t = {"kind": "webhook", "url": url, "min_severity": a.webhook_min_severity}
        if headers:
            t["headers"] = headers
        specs.append(check_output(t, f"--webhook {url}"))
    return specs


def print_outputs(outputs: list[Any]) -> None:
    from picket.share.outputs_config import summary

    for o in outputs:
        print(summary(o))


def add_output_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("outputs", "share tracks and alerts (docs/outputs.md); "
                             "[[outputs]] in the config does the same")  # fmt: skip
    g.add_argument("--cot", action="append", default=[], metavar="URL",
                   help="send tracks as Cursor on Target to tcp://, tls:// or udp://host:port "
                   "(repeatable; TAK Server: tls://host:8089 with a client certificate)")
    g.add_argument("--cot-protocol", choices=("xml", "tak"), default="xml",
                   help="xml (default) or tak: TAK protocol v1 protobuf, streamed over "
                   "TCP/TLS, mesh over UDP")
    g.add_argument("--cot-cert", help="client certificate, PEM (tls://)")
    g.add_argument("--cot-key", help="its private key, PEM (when not in --cot-cert)")
    g.add_argument("--cot-p12", help="client certificate and key as a .p12 bundle (tls://)")
    g.add_argument("--cot-p12-password-env", metavar="VAR",
                   help="environment variable holding the .p12 password")
    g.add_argument("--cot-ca", help="CA that signed the server's certificate (PEM or .p12)")
    g.add_argument("--cot-no-verify-hostname", dest="cot_verify_hostname",
                   action="store_false",
                   help="accept a server certificate issued for another name (still verified "
                   "against --cot-ca)")
    g.add_argument("--cot-bbox", help="only tracks in west,south,east,north")
    g.add_argument("--cot-domains", help="only these domains, e.g. maritime,air")
    g.add_argument("--webhook", action="append", default=[], metavar="URL",
                   help="POST each alert event as JSON to this http(s) URL (repeatable)")
    g.add_argument("--webhook-header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="a header on every webhook request, e.g. an Authorization header")
    g.add_argument("--webhook-min-severity", choices=("info", "warning", "critical"),
                   default="info")


# serving: tokens and the bind ----------------------------------------------------------
class ServeError(Exception):
    """The picture could not be served (port busy, bind refused, bad token file)."""


def load_serve_tokens(a: argparse.Namespace) -> dict | None:
    """`--tokens FILE` (the format of `picket serve --tokens`), or None."""
    from picket.serve.auth import load_tokens

    try:
        return load_tokens(a.tokens) if a.tokens else None
    except (OSError, ValueError) as e:
        raise ServeError(str(e)) from None


def serve(asm: Any, a: argparse.Namespace, tokens: dict | None) -> Any:
    """Serve an assembled pipeline with the command's bind, tokens and allowed hosts."""
    from picket.serve import serve_assembly

    try:
        return serve_assembly(asm, host=a.host, port=a.port, tokens=tokens,
                              allowed_hosts=a.allow_host or None)  # fmt: skip
    except (OSError, ValueError, TimeoutError) as e:
        raise ServeError(str(e)) from None


def add_serve_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tokens", help="token file: '<token> viewer|operator <name>' per line "
                   "(as picket serve --tokens; needed off loopback)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer to this Host name (default: loopback names only "
                   "without tokens)")


# demo ---------------------------------------------------------------------------------
def cmd_demo(a: argparse.Namespace) -> int:
    try:
        return _demo(a)
    except ServeError as e:
        print(f"picket demo: {e}", file=sys.stderr)
        return 2


def _demo(a: argparse.Namespace) -> int:
    from picket.demo.run import run_demo
    from picket.demo.score import score
    from picket.sim.scenario import MIN_DURATION_S

    if not a.duration >= MIN_DURATION_S:
        print(f"picket demo: --duration must be at least {MIN_DURATION_S:.0f} s: the scripted "
              "incidents run for most of an hour", file=sys.stderr)  # fmt: skip
        return 2
    speed = a.speed if a.speed is not None else (0.0 if a.headless else 60.0)
    from picket import config as cfgmod

    rules = cfgmod.load(a.config).incidents if a.config else None  # its [incidents] only
    tokens = None if a.headless else load_serve_tokens(a)
    handles: list = []
    specs = output_specs(a)
    outputs: list = []

    def attach(asm) -> None:
        """Outputs from flags, then (unless headless) the web picture."""
        from picket.pipeline.assemble import attach_outputs

        outputs.extend(attach_outputs(asm, specs))
        if a.headless:
            return
        h = serve(asm, a, tokens)
        handles.append(h)
        print(f"picket demo: the picture is on {h.url}/", file=sys.stderr)

    try:
        res = run_demo(seed=a.seed, duration_s=a.duration, speed=speed, workdir=a.workdir,
                       alerts_out=a.alerts_out, console=not a.quiet, incidents=rules,
                       on_assembly=None if a.headless and not specs else attach)  # fmt: skip
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
    print_outputs(outputs)
    return 0


def _wait_forever() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


# run (live) ---------------------------------------------------------------------------
def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop) raises KeyboardInterrupt in the main thread, so the
    live loop stops cleanly: last batch, final checkpoint, outputs drained."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def cmd_run(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.pipeline.assemble import assemble
    from picket.pipeline.live import run_live

    cfg = cfgmod.load(a.config)
    if not cfg.sources and not cfg.space_cdm:  # a CDM folder alone is a source too
        print(f"picket run: {a.config}: no [[sources]] configured", file=sys.stderr)
        return 2
    from picket.sources.registry import UnknownFormat, get_format

    for i, src in enumerate(cfg.sources):  # a typo in a format is one line, before anything runs
        if src.format != "auto":
            try:
                get_format(src.format)
            except UnknownFormat as e:
                print(f"picket run: {a.config}: sources[{i}] ({src.name}): {e}", file=sys.stderr)
                return 2
    try:
        tokens = None if a.no_serve else load_serve_tokens(a)
    except ServeError as e:
        print(f"picket run: {e}", file=sys.stderr)
        return 2
    asm = assemble(cfg, alerts_out=a.alerts_out, extra_outputs=output_specs(a), resume=True)
    from picket.pipeline.warm import warm_up

    warm_up(asm.pipeline)  # a live service loads at start what its first batches would
    handle = None
    if not a.no_serve:
        try:
            handle = serve(asm, a, tokens)
        except ServeError as e:
            print(f"picket run: {e}", file=sys.stderr)
            asm.close()
            return 2
        print(f"picket run: the picture is on {handle.url}/", file=sys.stderr)
    if getattr(asm, "resumed", None):
        print(f"picket run: {asm.resumed}", file=sys.stderr)
    _stop_on_sigterm()  # a service manager's stop ends the run as Ctrl-C does: checkpointed
    try:
        counts = run_live(asm, cfg.sources, cfg.base, batch_s=a.batch_s, max_seconds=a.seconds,
                          decoder_args=cfg.decoder_args())
    finally:
        if handle is not None:
            handle.stop()
    print(f"bytes per source: {counts}; {asm.rejects.summary()}")
    print_outputs(asm.outputs)
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
    d.add_argument("--config", help="TOML config: its [incidents] rules (the rest is scripted)")
    d.add_argument("--quiet", action="store_true", help="do not print alerts as they fire")
    d.add_argument("--host", default="127.0.0.1", help="where the picture is served")
    d.add_argument("--port", type=int, default=8642)
    add_serve_flags(d)
    d.add_argument(
        "--no-linger",
        dest="linger",
        action="store_false",
        help="stop serving when the scenario ends",
    )
    add_output_flags(d)
    d.set_defaults(func=cmd_demo)

    u = sub.add_parser("run", help="run live from the sources in a config file")
    u.add_argument("config")
    u.add_argument("--batch-s", type=float, default=1.0, help="micro-batch, wall seconds")
    u.add_argument("--seconds", type=float, default=None, help="stop after this long")
    u.add_argument("--no-serve", action="store_true", help="no web picture / API")
    u.add_argument("--host", default="127.0.0.1")
    u.add_argument("--port", type=int, default=8642)
    add_serve_flags(u)
    u.add_argument("--alerts-out", help="also write alerts as JSON Lines here")
    add_output_flags(u)
    u.set_defaults(func=cmd_run)
