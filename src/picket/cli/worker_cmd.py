"""`picket feed` and `picket worker`: the two ends of the distributed pipeline.

`picket feed` decodes inputs (files, or the demo's simulated wire bytes), one decoder per
feed, merges them by event time, cuts the stream as a replay does and publishes each cut
partitioned by subject to NATS JetStream. `picket worker --partition k/N` runs fusion and
the subject detectors on shard k of N (`--role area`: the detectors that need neighbours,
on all of it; `--role both`: shard k and an area partition in one process, so N workers
are N processes) and writes alerts to the shared store (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time as wall
from pathlib import Path
from types import SimpleNamespace
from typing import Any

log = logging.getLogger(__name__)


def partition(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a partition is k/N, e.g. 0/2") from None
    if n < 1 or not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= k < N")
    return k, n


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _setup_logging(quiet: bool) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")  # fmt: skip


# worker --------------------------------------------------------------------------------
def cmd_worker(a: argparse.Namespace) -> int:
    from picket import config as cfgmod
    from picket.bus import open_bus
    from picket.bus.jetstream import BusUnavailable
    from picket.bus.stages import BOTH, Both, Worker
    from picket.pipeline.assemble import assemble
    from picket.store.postgres import StoreUnavailable, is_url, redact

    _setup_logging(a.quiet)
    k, n = a.partition
    cfg = cfgmod.load(a.config)
    if a.store:
        if is_url(a.store):
            cfg.store_url = a.store
        else:
            cfg.store_url, cfg.store_path = None, a.store
    if not cfg.store_url:
        print("picket worker: --store postgresql://... is needed: workers share one store "
              "(docs/scaling.md)", file=sys.stderr)  # fmt: skip
        return 2
    stop = _stop_on_signals()
    try:
        bus = open_bus(a.nats)

        sky = _sky_layer(a.sky) if a.sky else None

        def make(role: str, part: int, parts: int) -> Worker:
            asm = assemble(cfg, console=False, zone_files=a.zones, line_files=a.infrastructure)
            asm.pipeline.world.sky = sky  # named in the static picture by shard 0's worker
            return Worker(asm, bus, part, parts, role, checkpoint_s=a.checkpoint_s,
                          probe_latency=a.probe_latency, feeds=a.feeds, idle_s=a.idle_s,
                          publish_tracks=a.publish_tracks)  # fmt: skip

        w: Any = Both(make, k, n, a.area_shards) if a.role == BOTH else make(a.role, k, n)
    except (BusUnavailable, StoreUnavailable, OSError, ValueError, KeyError, TypeError) as e:
        print(f"picket worker: {e!s}", file=sys.stderr)
        return 1
    warm = w.warm_up()
    ndet = sum(len(x.pipe.detectors) for x in getattr(w, "workers", [w]))
    print(f"picket worker {w.name}: reading {w.subject} from {redact(a.nats)}, "
          f"{ndet} detectors, store {redact(cfg.store_url)}"
          + (f", resumed after sequence {w.last_seq}" if w.last_seq else "")
          + f" (start-up {warm:.1f} CPU s)", flush=True)  # fmt: skip
    if a.go_file:  # a benchmark starts every worker's clock at once
        while not Path(a.go_file).exists() and not stop.is_set():
            wall.sleep(0.01)
    t0 = wall.perf_counter()
    try:
        st = w.run(stop.is_set, until_eof=a.until_eof)
    finally:
        w.close()  # the store flushed: every alert is stored
        closed = wall.time()
        bus.close()
    dt = wall.perf_counter() - t0
    if a.stats_out:
        import json
        from dataclasses import asdict

        Path(a.stats_out).write_text(json.dumps({**asdict(st), "wall_s": dt,
                                                 "busy_s": w.busy_s,
                                                 "closed_wall": closed}))  # fmt: skip
    print(f"picket worker {w.name}: {st.batches} batches, {st.reports} reports, {st.events} "
          f"alert events in {dt:.1f} s; {st.skipped} repeats skipped, {st.rewinds} rewinds"
          + (f"; {st.idle_feeds} feeds went silent, {st.late} late reports" if a.feeds > 1
             else ""), flush=True)  # fmt: skip
    return 0


# feed ------------------------------------------------------------------------------------
def demo_stream(seed: int, duration_s: float, workdir: Path, rejects: Any) -> Any:
    """The demo's simulated feeds through the real decoders (`picket demo`'s input), and
    its geography written beside (zones.geojson, infrastructure.geojson in `workdir`)."""
    from picket.demo.run import decoded_chunks, write_geography
    from picket.sim import scenario

    scn = scenario.build(seed=seed, duration_s=duration_s)
    write_geography(scn, workdir)
    return decoded_chunks(scn, SimpleNamespace(rejects=rejects), 10.0)


def file_stream(inputs: list[str], fmt: str, rejects: Any) -> Any:
    from picket.pipeline.replay import merge
    from picket.sources.registry import MAX_AHEAD_S, MIN_TIME, at_the_door, read_file

    def door(p: Path) -> Any:
        for d in read_file(p, rejects, fmt):
            yield at_the_door(d, rejects, p.name, wall.time(), MIN_TIME, MAX_AHEAD_S)

    return merge([door(Path(p)) for p in inputs])


def _commands(bus: Any, source: str, off: bool) -> Any:
    """The operators' commands this feed stamps into its cuts (`picket.cmd.>`), read by a
    durable consumer of its own from the stream's start: the newest zone edit applies."""
    from picket.bus import CMD

    return None if off else bus.subscribe(f"{CMD}.>", f"picket-feed-commands-{source}")


def cmd_feed(a: argparse.Namespace) -> int:
    from picket.bus import open_bus
    from picket.bus.jetstream import BusUnavailable
    from picket.bus.stages import Publisher, publish_stream
    from picket.model.rejects import Rejects
    from picket.pipeline.replay import MERGE_ROWS, MERGE_SPAN_S
    from picket.store.postgres import redact

    _setup_logging(a.quiet)
    if not a.demo and not a.inputs:
        print("picket feed: give input files or --demo", file=sys.stderr)
        return 2
    rejects = Rejects(None)
    try:
        bus = open_bus(a.nats)
    except (BusUnavailable, ValueError) as e:
        print(f"picket feed: {e}", file=sys.stderr)
        return 1
    if a.demo:
        stream = demo_stream(a.seed, a.duration, Path(a.workdir), rejects)
        rows, span = 0, 0.0  # the demo's own 10 s cuts, as `picket demo` runs
    else:
        stream = file_stream(a.inputs, a.format, rejects)
        rows, span = (MERGE_ROWS, MERGE_SPAN_S) if a.speed <= 0 else (0, 0.0)
    # workers take each source's cuts in order, once: a new run is a new source, unless
    # named (a restarted feed given the same --source repeats cuts the workers skip)
    source = a.source or f"feed-{int(wall.time())}"
    pub = Publisher(bus, a.shards, source, area_parts=a.area_shards,
                    commands=_commands(bus, source, a.no_commands))  # fmt: skip
    t0 = wall.perf_counter()
    try:
        cuts = publish_stream(pub, stream, a.batch_s, rows, span, a.speed, eof=not a.no_eof)
    finally:
        bus.close()
        rejects.close()
    print(f"picket feed: {pub.sent_reports} reports in {cuts} cuts to {a.shards} shards on "
          f"{redact(a.nats)} in {wall.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    return 0


# raw feeds and their decoders -------------------------------------------------------------
def raw_chunks(a: argparse.Namespace) -> Any:
    """(bytes, arrival time) from a file (`--chunk-bytes` at a time) or a TCP feed."""
    if a.tcp:
        import socket

        host, _, port = a.tcp.rpartition(":")
        with socket.create_connection((host, int(port)), 10.0) as s:
            s.settimeout(None)
            while data := s.recv(1 << 16):
                yield data, wall.time()
        return
    for path in a.inputs:
        with open(path, "rb") as fh:
            while data := fh.read(a.chunk_bytes):
                yield data, wall.time()


def cmd_feed_raw(a: argparse.Namespace) -> int:
    """Publish a feed's bytes as they arrive to `picket.feed.<name>`, each chunk with its
    arrival time; a decoder (`picket decode`) reads them back in order."""
    from picket.bus import FEED, open_bus

    if not a.source or (not a.tcp and not a.inputs):
        print("picket feed --raw: needs --source NAME and input files or --tcp", file=sys.stderr)
        return 2

    bus = open_bus(a.nats)
    n = size = 0
    try:
        for data, t in raw_chunks(a):
            n += 1
            size += len(data)
            bus.publish(f"{FEED}.{a.source}", data, msg_id=f"{a.source}:raw:{n}",
                        headers={"t": repr(t)})  # fmt: skip
        if not a.no_eof:
            bus.publish(f"{FEED}.{a.source}", b"", msg_id=f"{a.source}:raw:eof",
                        headers={"t": repr(wall.time()), "eof": "1"})  # fmt: skip
    finally:
        bus.close()
    print(f"picket feed: {size} bytes in {n} chunks to {FEED}.{a.source}", flush=True)
    return 0


def cmd_decode(a: argparse.Namespace) -> int:
    """One decoder per feed: read `picket.feed.<name>` in order, decode with the feed's
    clock and the door check, cut by event time and publish partitioned report batches.
    A restarted decoder reads the feed again from its start: its cuts get the same numbers,
    so the bus drops repeats within its window and workers skip older cut numbers."""
    from picket.bus import FEED, open_bus
    from picket.bus.stages import Publisher, publish_stream
    from picket.model.rejects import Rejects
    from picket.sources.registry import MAX_AHEAD_S, MIN_TIME, Clock, at_the_door, get_format

    _setup_logging(a.quiet)
    stop = _stop_on_signals()
    fmt = get_format(a.format)
    rejects = Rejects(a.dead_letter)
    clock = Clock(live=True)
    dec = fmt.decoder(rejects, a.source, **({"clock": clock} if fmt.clockless else {}))
    bus = open_bus(a.nats)
    sub = bus.subscribe(f"{FEED}.{a.source}", f"picket-decode-{a.source}", 0)

    def stream() -> Any:
        while not stop.is_set():
            for m in sub.fetch(64, 0.5):
                t = float(m.headers.get("t", wall.time()))
                clock.now = t
                out = dec.flush() if m.headers.get("eof") else dec.feed(m.data)
                if len(out.reports) or out.statics:
                    out = at_the_door(out, rejects, a.source, t, MIN_TIME, MAX_AHEAD_S)
                    yield type(out)(out.reports.sorted_by_time(), out.statics)
                if m.headers.get("eof"):
                    return

    pub = Publisher(bus, a.shards, a.source, area_parts=a.area_shards,
                    commands=_commands(bus, a.source, a.no_commands))  # fmt: skip
    try:
        cuts = publish_stream(pub, stream(), a.batch_s)
    finally:
        sub.close()
        bus.close()
        rejects.close()
    print(f"picket decode {a.source}: {pub.sent_reports} reports in {cuts} cuts to {a.shards} "
          f"shards; rejected {sum(rejects.counts.values())}", flush=True)  # fmt: skip
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("worker", help="run fusion and detectors on one partition of the bus")
    w.add_argument("--partition", type=partition, default=(0, 1), help="k/N (default 0/1)")
    w.add_argument("--role", choices=["subject", "area", "all", "both"], default="subject",
                   help="subject: per-subject detectors on shard k; area: the detectors "
                        "that need neighbours, on area partition k (H3 cells and their "
                        "halo); all: every detector on whole cuts (one worker); both: "
                        "subject shard k and area partition N-1-k (if < --area-shards) in "
                        "one process: N such workers share the whole work")  # fmt: skip
    w.add_argument("--area-shards", type=int, default=1,
                   help="with --role both: area partitions, as the feed's --area-shards "
                        "(1..N; 1: the last worker runs the area stage whole)")  # fmt: skip
    w.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    w.add_argument("--store", help="postgresql:// URL of the shared store")
    w.add_argument("--config", help="TOML config (thresholds, zones)")
    w.add_argument("--zones", nargs="*", default=[], help="GeoJSON/KML zone polygons")
    w.add_argument("--infrastructure", nargs="*", default=[], help="GeoJSON/KML cables, pipes")
    w.add_argument("--checkpoint-s", type=float, default=2.0,
                   help="save state and bus position this often (wall seconds; less often "
                        "where a checkpoint would take over 5%% of the worker's CPU, but at "
                        "least every 60 s)")  # fmt: skip
    w.add_argument("--until-eof", action="store_true", help="stop when the feed has ended")
    w.add_argument("--feeds", type=int, default=1,
                   help="feeds (decoders) publishing: event time is the minimum of their "
                        "watermarks (1)")  # fmt: skip
    w.add_argument("--idle-s", type=float, default=30.0,
                   help="with --feeds: a feed silent this long (wall seconds) stops holding "
                        "event time back (30)")  # fmt: skip
    w.add_argument("--publish-tracks", action="store_true",
                   help="publish track snapshots with global ids (picket.tracks.<k>, "
                        "picket.picture) and alert events (picket.alerts), for "
                        "`picket serve --nats` and `picket share`")  # fmt: skip
    w.add_argument("--sky", metavar="SPEC.json",
                   help="the satellites layer (a JSON spec: catalogue path, start, end, "
                        "bbox, as `picket cluster up --demo` writes it) that shard 0's "
                        "worker names in the static picture for the servers' maps")  # fmt: skip
    w.add_argument("--stats-out", help="write the worker's counts and latencies here (JSON)")
    w.add_argument("--probe-latency", action="store_true",
                   help="wait for the store after each batch with alerts, and time it from "
                        "the feed (benchmarks)")  # fmt: skip
    w.add_argument("--go-file", help="after start-up, wait for this file to exist before "
                   "reading (benchmarks: every worker starts at once)")  # fmt: skip
    w.add_argument("--quiet", action="store_true")
    w.set_defaults(func=cmd_worker)

    f = sub.add_parser("feed", help="decode inputs and publish them, partitioned, to the bus")
    f.add_argument("inputs", nargs="*", metavar="INPUT", help="recorded files")
    f.add_argument("--format", default="auto")
    f.add_argument("--demo", action="store_true", help="the demo's simulated feeds")
    f.add_argument("--duration", type=float, default=3600.0, help="demo length, event seconds")
    f.add_argument("--seed", type=int, default=7)
    f.add_argument("--workdir", default="var/cluster", help="where the demo's geography goes")
    f.add_argument("--shards", type=int, default=1, help="subject partitions (workers)")
    f.add_argument("--area-shards", type=int, default=1,
                   help="area partitions by H3 cell (area workers; docs/scaling.md)")  # fmt: skip
    f.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    f.add_argument("--source", help="this feed's name (de-duplication ids; default: one per "
                   "run; with --raw: required)")  # fmt: skip
    f.add_argument("--speed", type=float, default=0.0, help="x real time (0 = as fast as possible)")
    f.add_argument("--batch-s", type=float, default=10.0, help="micro-batch, event seconds")
    f.add_argument("--no-eof", action="store_true", help="do not tell workers the feed ended")
    f.add_argument("--no-commands", action="store_true",
                   help="do not pass operators' commands (zone edits, watchlist) on to the "
                        "workers in the cuts")  # fmt: skip
    f.add_argument("--raw", action="store_true",
                   help="publish the bytes as they arrive to picket.feed.<source>, for "
                        "`picket decode` (one decoder per feed)")  # fmt: skip
    f.add_argument("--tcp", help="with --raw: read a feeder's TCP output at host:port")
    f.add_argument("--chunk-bytes", type=int, default=1 << 16, help="with --raw, from files")
    f.add_argument("--quiet", action="store_true")
    f.set_defaults(func=lambda a: cmd_feed_raw(a) if a.raw else cmd_feed(a))

    d = sub.add_parser("decode", help="decode one raw feed from the bus and publish its reports")
    d.add_argument("--source", required=True, help="the feed's name (picket.feed.<source>)")
    d.add_argument("--format", required=True, help="the feed's format (see `picket formats`)")
    d.add_argument("--shards", type=int, default=1, help="subject partitions (workers)")
    d.add_argument("--area-shards", type=int, default=1,
                   help="area partitions by H3 cell (area workers; docs/scaling.md)")  # fmt: skip
    d.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    d.add_argument("--batch-s", type=float, default=10.0, help="micro-batch, event seconds")
    d.add_argument("--dead-letter", help="where rejected input goes (JSON Lines)")
    d.add_argument("--no-commands", action="store_true",
                   help="do not pass operators' commands (zone edits, watchlist) on to the "
                        "workers in the cuts")  # fmt: skip
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_decode)


def _sky_layer(path: str) -> Any:
    """The satellites layer a spec file describes (`SkyLayer.spec()` as JSON). Only its
    spec travels (`picket.static`): each server propagates its own copy, so a worker
    loads no catalogue. A spec that is no layer is a KeyError, TypeError or ValueError."""
    import json

    from picket.serve.satellites import SkyLayer

    with open(path, encoding="utf-8") as fh:
        return SkyLayer.from_spec(json.load(fh))
