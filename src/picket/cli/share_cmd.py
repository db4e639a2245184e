"""`picket share`: a cluster's tracks and alerts to the `[[outputs]]`, from its bus.

The same outputs as `picket run` (CoT/TAK, webhooks, alert files, readsb JSON, SBS-1, AIS
NMEA; docs/outputs.md), at the edge of the cluster's NATS JetStream bus
(`picket.share.edge`): they read the workers' alert events and track snapshots
(`picket worker --publish-tracks`), never a worker's memory, so one share process serves
any number of workers and a worker's restart does not touch it.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time as wall

from picket.cli.live_cmd import _stop_on_sigterm, add_output_flags, output_specs, print_outputs

FORGET_S = 3600.0  # a stopped share process's readers are dropped from NATS after this


def add_parser(sub) -> None:
    s = sub.add_parser("share", help="send a cluster's tracks and alerts to [[outputs]] "
                       "(CoT/TAK, webhooks, SBS, ...) from its bus")  # fmt: skip
    s.add_argument("--nats", required=True, help="NATS server URL of the cluster")
    s.add_argument("--config", help="TOML config: its [[outputs]]")
    s.add_argument("--seconds", type=float, default=None, help="stop after this long")
    add_output_flags(s)
    s.set_defaults(func=cmd_share)


def cmd_share(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.bus import NEW, open_bus
    from picket.bus.jetstream import BusUnavailable
    from picket.config import ConfigError
    from picket.share.edge import OutputEdge
    from picket.share.outputs_config import build_outputs, check_outputs
    from picket.store.postgres import redact

    try:
        cfg = cfgmod.load(a.config)
        specs = check_outputs(cfg.outputs, cfg.base) + output_specs(a)
    except (ConfigError, OSError) as e:
        print(f"picket share: {e}", file=sys.stderr)
        return 2
    if not specs:
        print("picket share: nothing to send: give [[outputs]] in --config, or --cot or "
              "--webhook", file=sys.stderr)  # fmt: skip
        return 2
    try:
        bus = open_bus(a.nats)
    except (BusUnavailable, ValueError) as e:
        print(f"picket share: {e}", file=sys.stderr)
        return 2
    try:
        outputs = build_outputs(specs)
    except ConfigError as e:
        bus.close()
        print(f"picket share: {e}", file=sys.stderr)
        return 2
    # alerts from now on (a webhook is not sent the day's past alerts at every start); the
    # snapshots the stream still holds (its last 10 minutes) first, so the outputs know the
    # tracks' names and identities before the next change
    edge = OutputEdge(bus, outputs, name=f"picket-share-{secrets.token_hex(4)}",
                      alerts_from=NEW, picture_from=0, forget_after_s=FORGET_S,
                      wait_s=0.5)  # fmt: skip
    _stop_on_sigterm()
    print(f"picket share: {len(outputs)} outputs from {redact(a.nats)} (Ctrl-C to stop)",
          file=sys.stderr)  # fmt: skip
    try:
        deadline = wall.monotonic() + a.seconds if a.seconds else None
        while deadline is None or wall.monotonic() < deadline:
            wall.sleep(0.2)
    except KeyboardInterrupt:
        pass
    edge.close()
    bus.close()
    print(f"picket share: {edge.snapshots} snapshots, {edge.alert_messages} alert messages, "
          f"{edge.unreadable} unreadable, {edge.errors} output errors")  # fmt: skip
    print_outputs(outputs)
    return 0
