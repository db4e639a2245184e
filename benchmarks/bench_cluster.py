"""Bench cluster: the same input in one process, through the bus abstraction, and on NATS
JetStream + PostgreSQL with 1 and 2 workers; alert sets compared, messages/s, bus
overhead, and feed-to-stored-alert latency (p50/p99) in a paced run.

The input is the demo's Baltic hour (simulated AIS, Beast and radar plots through the
real decoders), decoded once up front: the decoder stage is the same in every mode, so
what is timed is cutting, publishing, fusion, detectors and the store. "1 worker" is one
process running both stages (`picket worker --role all`); "2 workers" is two subject
workers plus the area worker (three processes). Everything shares this machine's cores
with the servers and whatever else runs: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"


def _key(a: Any) -> tuple:
    return (a.id, a.kind, a.subject, round(a.time, 6), round(a.last_time or a.time, 6),
            a.status, None if a.closed_time is None else round(a.closed_time, 6))  # fmt: skip


def _copy(d: Any) -> Any:
    from picket.model.decoded import Decoded
    from picket.model.reports import Reports

    return Decoded(Reports({c: v.copy() for c, v in d.reports.cols.items()}), list(d.statics))


def prepare(duration_s: float, limit_s: float, work: Path) -> dict[str, Any]:
    from picket.demo.run import decoded_chunks, write_geography
    from picket.model.rejects import Rejects
    from picket.sim import scenario

    scn = scenario.build(seed=7, duration_s=duration_s)
    z, i = write_geography(scn, work)

    class Rj:
        rejects = Rejects(None)

    cuts = list(itertools.takewhile(
        lambda d: not len(d.reports) or d.reports.time[0] < scn.start + limit_s,
        decoded_chunks(scn, Rj, 10.0)))  # fmt: skip
    return {"cuts": cuts, "zones": z, "infra": i, "n": sum(len(d.reports) for d in cuts)}


def in_process(inp: dict, edge: bool = False, store: str | None = None) -> dict[str, Any]:
    """One pipeline as `picket demo`/`replay` runs it; `edge`: with the bus sink (alerts and
    track snapshots on the in-process bus); `store`: writing to this PostgreSQL."""
    from picket.bus import InProcessBus
    from picket.bus.sink import BusSink
    from picket.config import Config
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import run_stream
    from picket.sinks.jsonl import MemorySink

    mem = MemorySink()
    extra: list[Any] = [mem] + ([BusSink(InProcessBus())] if edge else [])
    cfg = Config(store_path=None, store_url=store)
    asm = assemble(cfg, store=store is not None, console=False, zone_files=[inp["zones"]],
                   line_files=[inp["infra"]], extra_sinks=extra)  # fmt: skip
    cuts = [_copy(d) for d in inp["cuts"]]
    t0, c0 = time.perf_counter(), time.process_time()
    run_stream(asm.pipeline, iter(cuts), 10.0)
    if asm.store is not None:
        asm.store.flush(120.0)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    asm.close()
    return {"wall_s": dt, "cpu": cpu, "alerts": sorted(_key(a) for a in mem.alerts.values())}


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The least wall and the least CPU of repeated runs (a shared machine only adds)."""
    return {**runs[0], "wall_s": min(r["wall_s"] for r in runs),
            "cpu": min(r["cpu"] for r in runs), "same": all(r["alerts"] == runs[0]["alerts"]
                                                           for r in runs)}  # fmt: skip


def memory_cluster(inp: dict) -> dict[str, Any]:
    """Publisher and one all-stage worker on the in-process bus, one after the other: the
    cost of cutting, encoding and decoding batches without a server."""
    from picket.bus import InProcessBus
    from picket.bus.stages import ALL, Publisher, Worker
    from picket.config import Config
    from picket.model.decoded import Decoded
    from picket.pipeline.assemble import assemble
    from picket.sinks.jsonl import MemorySink

    bus, mem = InProcessBus(), MemorySink()
    asm = assemble(Config(store_path=None), store=False, console=False,
                   zone_files=[inp["zones"]], line_files=[inp["infra"]], extra_sinks=[mem])
    cuts = [_copy(d) for d in inp["cuts"]]
    t0, c0 = time.perf_counter(), time.process_time()
    pub = Publisher(bus, 0)
    last = float("nan")
    for d in cuts:
        last = float(d.reports.time[-1]) if len(d.reports) else last
        pub.publish(d, last)
    pub.publish(Decoded.empty(), last, eof=True)
    w = Worker(asm, bus, 0, 1, ALL)
    w.run(lambda: False, until_eof=True)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall_s": dt, "cpu": cpu, "alerts": sorted(_key(a) for a in mem.alerts.values())}


def nats_cluster(inp: dict, workers: int, nats: Any, pg: Any, work: Path,
                 speed: float = 0.0, area: int = 1) -> dict[str, Any]:  # fmt: skip
    """Workers as processes on a fresh stream set and database; the feed published from
    here (as fast as possible, or paced at `speed` x event time); `area` area workers
    (partitions by H3 cell) beside `workers` > 1 subject workers."""
    from picket.bus.jetstream import JetStreamBus
    from picket.bus.stages import Publisher
    from picket.model.decoded import Decoded
    from picket.store import open_store

    nats.stop()
    for f in (nats.root / "js").glob("*"):  # a fresh JetStream store: no earlier streams
        import shutil

        shutil.rmtree(f, ignore_errors=True)
    nats.start()
    db = pg.new_database()
    roles = ([("all", "0/1")] if workers == 1 else
             [("subject", f"{k}/{workers}") for k in range(workers)]
             + [("area", f"{k}/{area}") for k in range(area)])  # fmt: skip
    procs, stats = [], []
    for role, part in roles:
        out = work / f"w-{role}-{part.replace('/', 'of')}-{workers}-{area}-{speed}.json"
        stats.append(out)
        cmd = [sys.executable, "-c", RUN, "worker", "--role", role, "--partition", part,
               "--nats", nats.url, "--store", db, "--zones", str(inp["zones"]),
               "--infrastructure", str(inp["infra"]), "--until-eof", "--quiet",
               "--stats-out", str(out)] + (["--probe-latency"] if speed > 0 else [])
        procs.append(subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, text=True,
                                      stderr=open(work / "workers.log", "ab")))  # noqa: SIM115
    for p in procs:  # imports, connection and start-up work happen before the clock starts
        while (line := p.stdout.readline()) and "reading" not in line:  # type: ignore[union-attr]
            pass
    bus = JetStreamBus(nats.url)
    pub = Publisher(bus, 0 if workers == 1 else workers,  # 1: whole cuts, for `--role all`
                    area_parts=area if workers > 1 else 1)  # fmt: skip
    cuts = [_copy(d) for d in inp["cuts"]]
    t0 = time.time()
    first, last = None, float("nan")
    for d in cuts:
        last = float(d.reports.time[-1]) if len(d.reports) else last
        if speed > 0 and np.isfinite(last):
            first = last if first is None else first
            delay = t0 + (last - first) / speed - time.time()
            if delay > 0:
                time.sleep(delay)
        pub.publish(d, last)
    pub.publish(Decoded.empty(), last, eof=True)
    published = time.time() - t0
    bus.close()
    for p in procs:
        p.wait(900)
    got = [json.loads(s.read_text()) for s in stats]
    end = max(g["last_wall"] for g in got)
    st = open_store(db)
    alerts = sorted(_key(a) for a in st.alert_objects())
    st.close()
    lat = np.array([x for g in got for x in g["alert_latency_s"]])
    return {"wall_s": end - t0, "publish_s": published, "alerts": alerts,
            "busy_s": [round(g["busy_s"], 1) for g in got], "latency": lat,
            "cpu_s": [round(g["cpu_s"], 1) for g in got], "cpu": sum(g["cpu_s"] for g in got),
            "bytes": pub.sent_bytes}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench cluster", description=__doc__.splitlines()[0])
    ap.add_argument("--limit-s", type=float, default=3600.0,
                    help="event seconds of the demo hour to use (3600)")  # fmt: skip
    ap.add_argument("--latency-limit-s", type=float, default=900.0,
                    help="event seconds for the paced latency run (900)")  # fmt: skip
    ap.add_argument("--latency-speed", type=float, default=30.0,
                    help="x event time for the paced latency run (30)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3,
                    help="in-process runs, interleaved, best kept (3)")  # fmt: skip
    a = ap.parse_args(argv)
    from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres

    work = Path(tempfile.mkdtemp(prefix="picket-bench-cluster-"))
    inp = prepare(3600.0, a.limit_s, work)
    n = inp["n"]
    print(f"input: the demo's first {a.limit_s:.0f} s, {n:,} decoded reports in "
          f"{len(inp['cuts'])} cuts; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    rows: list[tuple[str, dict]] = []
    in_process(inp)  # warm-up: imports, JIT and caches paid once, outside the rows
    plain, edged, mem = [], [], []
    for _ in range(a.repeat):  # interleaved, so a busy spell hits every mode alike
        plain.append(in_process(inp))
        edged.append(in_process(inp, edge=True))
        mem.append(memory_cluster(inp))
    base = best(plain)
    rows.append(("in-process (default)", base))
    rows.append(("in-process + bus edge (alerts, track snapshots)", best(edged)))
    rows.append(("in-process bus, publisher + 1 worker", best(mem)))
    why = why_no_nats() or why_no_postgres()
    lat_rows: list[tuple[str, np.ndarray]] = []
    if why:
        print(f"NATS/PostgreSQL rows skipped: {why}")
    else:
        nats, pg = LocalNats(), LocalPostgres()
        try:
            rows.append(("in-process + PostgreSQL store", in_process(inp, store=pg.new_database())))
            rows.append(("NATS + PostgreSQL, 1 worker", nats_cluster(inp, 1, nats, pg, work)))
            rows.append(("NATS + PostgreSQL, 2 workers", nats_cluster(inp, 2, nats, pg, work)))
            rows.append(("NATS + PostgreSQL, 2 subject + 2 area workers (H3 cells)",
                          nats_cluster(inp, 2, nats, pg, work, area=2)))  # fmt: skip
            short = {**inp, "cuts": [d for d in inp["cuts"] if not len(d.reports) or
                                     d.reports.time[0] < inp["cuts"][0].reports.time[0]
                                     + a.latency_limit_s]}  # fmt: skip
            for w in (1, 2):
                r = nats_cluster(short, w, nats, pg, work, speed=a.latency_speed)
                lat_rows.append((f"{w} worker{'s' if w > 1 else ''}", r["latency"]))
        finally:
            nats.close()
            pg.close()
    print("\n| run | wall s | reports/s | CPU s | alerts | same alerts |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        same = "yes" if r["alerts"] == base["alerts"] and r.get("same", True) else "NO"
        extra = (f" (per worker: busy s {r['busy_s']}, CPU s {r['cpu_s']})" if "busy_s" in r
                 else "")  # fmt: skip
        print(f"| {name}{extra} | {r['wall_s']:.1f} | {n / r['wall_s']:,.0f} | "
              f"{r['cpu']:.1f} | {len(r['alerts'])} | {same} |")
    print(f"\n(in-process rows: best of {a.repeat}; CPU s is this process's, or the sum of the "
          f"workers', without nats-server and PostgreSQL)")  # fmt: skip
    edge_w = rows[1][1]["wall_s"] / base["wall_s"] - 1
    edge_c = rows[1][1]["cpu"] / base["cpu"] - 1
    print(f"bus edge on the default path: {edge_c * 100:+.1f}% CPU, {edge_w * 100:+.1f}% wall "
          f"(goal < 5%)")  # fmt: skip
    two = dict(rows).get("NATS + PostgreSQL, 2 workers")
    one = dict(rows).get("NATS + PostgreSQL, 1 worker")
    if one and two:
        print(f"2 workers vs 1: {one['wall_s'] / two['wall_s']:.2f}x wall (goal >= 1.6x); "
              f"CPU: 1 worker {sum(one['cpu_s']):.1f} s, 2 workers {two['cpu_s']} s, so with "
              f"a core each the slowest would bound the speed-up at "
              f"{sum(one['cpu_s']) / max(two['cpu_s']):.2f}x")
        print(f"bytes on the bus per report: {one['bytes'] / n:.0f} (1 worker), "
              f"{two['bytes'] / n:.0f} (2 workers: shards + the area stage's whole cuts)")
    four = dict(rows).get("NATS + PostgreSQL, 2 subject + 2 area workers (H3 cells)")
    if one and four:
        print(f"2 subject + 2 area workers vs 1: {one['wall_s'] / four['wall_s']:.2f}x wall; "
              f"CPU {four['cpu_s']} s; bytes per report {four['bytes'] / n:.0f}")
    for name, lat in lat_rows:
        if len(lat):
            print(f"feed to stored alert, paced at {a.latency_speed:g}x, {name}: "
                  f"p50 {np.percentile(lat, 50) * 1e3:.0f} ms, "
                  f"p99 {np.percentile(lat, 99) * 1e3:.0f} ms ({len(lat)} batches with alerts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
