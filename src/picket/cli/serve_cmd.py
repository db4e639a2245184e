"""`picket serve`: the web picture, API and alert stream over a store (no live pipeline).

`picket demo` and `picket run` start the same server beside their pipeline;
this command serves what a past run left in the store (alerts, triage,
history, replay). With no pipeline, the picture is built from the stored
track history as of the store's newest event time (or `--at`), and the open
alerts are those open then: the page, `/api/health` and `/api/metrics` all
count from that one instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import time as wall
from pathlib import Path

from picket.model.alerts import iso


def cmd_serve(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.serve import LiveHub, start_server
    from picket.serve.auth import load_tokens
    from picket.store import describe, missing, store_target
    from picket.store.postgres import StoreUnavailable, redact

    cfg = cfgmod.load(a.config)
    store = store_target(a.store, cfg)
    if missing(store):
        print(f"picket serve: no store at {describe(store)} (run a demo, replay or run first)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        tokens = load_tokens(a.tokens) if a.tokens else None
    except (OSError, ValueError) as e:
        print(f"picket serve: {e}", file=sys.stderr)
        return 2
    if a.nats:  # live: the picture, alerts and static layers from the cluster's bus
        from picket.bus import open_bus
        from picket.bus.jetstream import BusUnavailable

        try:
            hub = LiveHub(bus=open_bus(a.nats))
        except (BusUnavailable, ValueError) as e:
            print(f"picket serve: {e}", file=sys.stderr)
            return 2
    else:
        hub = LiveHub()
    if cfg.incidents:  # [incidents] rules for the joiner, as `picket run` carries them
        hub.incident_rules = dict(cfg.incidents)
    for name, path in (("zones", a.zones), ("infrastructure", a.infrastructure)):
        if path:
            hub.layers[name] = json.loads(Path(path).read_text())
    try:
        at = None if a.nats else load_stored(hub, store, a.at)
    except (ValueError, StoreUnavailable) as e:
        print(f"picket serve: {e}", file=sys.stderr)
        return 2
    try:
        h = start_server(store, hub, host=a.host, port=a.port, static_dir=a.static,
                         tokens=tokens, cors_origins=a.cors_origin,
                         allowed_hosts=a.allow_host or None)  # fmt: skip
    except (ValueError, OSError, TimeoutError) as e:
        print(f"picket serve: {e}", file=sys.stderr)
        return 2
    when = iso(at) if at is not None else "no events stored"
    what = f"live from {redact(a.nats)}" if a.nats else f"as of {when}"
    print(f"picket: serving {describe(store)} {what} at {h.url} (Ctrl-C to stop)",
          file=sys.stderr)  # fmt: skip
    try:
        deadline = wall.monotonic() + a.seconds if a.seconds else None
        while h.thread.is_alive() and (deadline is None or wall.monotonic() < deadline):
            wall.sleep(0.2)
    except KeyboardInterrupt:
        pass
    h.stop()
    if a.nats:
        hub.bus.close()
    return 0


def load_stored(hub, store: Path | str, at: str | None = None) -> float | None:
    """Put the stored run's picture as of `at` (default: its newest event time) and the
    alerts open then into `hub`; returns that time (None for an empty store)."""
    from picket.serve.queries import StoreReader, opt_time

    reader = StoreReader(store)
    try:
        t = opt_time(at) if at else reader.latest_time()
        if t is None:
            hub.mode = "stored"
            return None
        open_now = reader.alerts({"at": str(t), "status": "open"}, 5000, 0)
        hub.show_stored(reader.picture_at(t), open_now)
        return t
    finally:
        reader.close()


def add_parser(sub) -> None:
    s = sub.add_parser("serve", help="serve the web picture and API over a store")
    s.add_argument("--store", help="SQLite store or postgresql:// URL (default from config: "
                   "var/picket.sqlite)")
    s.add_argument("--config", help="TOML config")
    s.add_argument("--host", default="127.0.0.1", help="bind address (non-loopback needs --tokens)")
    s.add_argument("--port", type=int, default=8642)
    s.add_argument("--tokens", help="token file: '<token> viewer|operator <name>' per line")
    s.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer to this Host name (default: loopback names only "
                   "without tokens)")
    s.add_argument("--cors-origin", action="append", default=[], help="allow this origin (CORS)")
    s.add_argument("--static", help="front-end directory (default web/dist when built)")
    s.add_argument("--zones", help="GeoJSON zones to show")
    s.add_argument("--infrastructure", help="GeoJSON cables/pipelines to show")
    s.add_argument("--at", help="show the run as of this time (ISO 8601 or unix seconds; "
                   "default: the store's newest event time)")
    s.add_argument("--seconds", type=float, default=None, help="stop after this long")
    s.add_argument("--nats", help="NATS server URL: serve the cluster's live picture, alerts "
                   "and static layers from the bus (workers with --publish-tracks)")
    s.set_defaults(func=cmd_serve)
