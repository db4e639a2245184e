"""Bench cluster: the same input in one process, through the bus abstraction, and on NATS
JetStream + PostgreSQL with 1 and 2 workers; alert sets compared, messages/s, bus
overhead, and feed-to-stored-alert latency (p50/p99) in a paced run.

The input is the demo's Baltic hour (simulated AIS, Beast and radar plots through the
real decoders), decoded once up front: the decoder stage is the same in every mode, so
what is timed is cutting, publishing, fusion, detectors and the store. The throughput
runs cut the stream as `picket feed` and `picket replay` cut a recording read at full
speed (whole 10 s windows merged up to 20,000 reports: the cut size of a feed at scale,
where a 10 s cut of a national feed holds 10^5-10^6 reports); `--cuts demo` uses the
demo's 10 s cuts of a few hundred reports instead. The paced latency run always uses the
demo's 10 s cuts, as a live feed delivers them. "1 worker" is one
process running every detector on whole cuts (`picket worker --role all`); "2 workers" is
two processes (`--role both`): subject shard 0, and subject shard 1 with the area stage;
"2 subject + 1 area" is the three-process layout. Each runs live (workers reading as the
feed publishes from this process, which shares the cores) and from a backlog (the stream
stored in JetStream first: worker throughput alone; `--repeat` interleaved rounds, the
least wall of each layout kept, as a run of a few seconds is moved by anything else on
the cores). Everything shares this machine's
cores with the servers and whatever else runs: compare ratios within one run.
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
    return {"cuts": cuts, "zones": z, "infra": i, "n": sum(len(d.reports) for d in cuts),
            "rows": 0, "span": 0.0}  # fmt: skip


def as_replay(inp: dict[str, Any]) -> dict[str, Any]:
    """The same stream cut as `picket replay` and `picket feed` cut a recording read as
    fast as possible (`MERGE_ROWS` reports or `MERGE_SPAN_S` event seconds of whole 10 s
    windows): a feed's rate, not the demo's wall clock, fills the cuts. Every mode gets
    these same cuts, so the alert sets still compare."""
    from picket.pipeline.replay import MERGE_ROWS, MERGE_SPAN_S, batches

    cuts = [d for d, _ in batches(iter(inp["cuts"]), 10.0, MERGE_ROWS, MERGE_SPAN_S)]
    return {**inp, "cuts": cuts, "rows": MERGE_ROWS, "span": MERGE_SPAN_S}


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
    run_stream(asm.pipeline, iter(cuts), 10.0, 0.0, None, inp["rows"], inp["span"])
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


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least wall time, as it was (its CPU split and servers' CPU), and
    whether every run stored the same alerts."""
    r = min(runs, key=lambda x: x["wall_s"])
    walls = ", ".join(f"{x['wall_s']:.1f}" for x in runs)
    return {**r, "same": all(x["alerts"] == r["alerts"] for x in runs), "walls": walls}


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


def _proc_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (and of its children it has waited for) from /proc."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu(nats: Any, pg: Any) -> np.ndarray:
    """CPU seconds of nats-server and of PostgreSQL (the postmaster, its ended backends and
    its live ones): what the servers cost beside the workers, on the same cores."""
    out = np.zeros(2)
    out[0] = _proc_cpu(nats.proc.pid) if nats.proc is not None else 0.0
    try:
        pm = int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return out
    out[1] = _proc_cpu(pm, children=True)
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(st.read_text().rsplit(")", 1)[1].split()[1]) == pm:
                out[1] += _proc_cpu(int(st.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


BOTH1, BOTH2 = ("--area-shards", "1"), ("--area-shards", "2")
LAYOUTS = {  # name -> (worker role, partition, options; subject shards, area partitions)
    "1": ([("all", "0/1", ())], 0, 1),  # whole cuts, every detector: one process
    # two processes: subject shard 0; subject shard 1 and the area stage whole
    "2": ([("both", "0/2", BOTH1), ("both", "1/2", BOTH1)], 2, 1),
    "2+1": ([("subject", "0/2", ()), ("subject", "1/2", ()), ("area", "0/1", ())], 2, 1),
    # two processes, the area stage in two H3 partitions, one beside each subject shard
    "2a": ([("both", "0/2", BOTH2), ("both", "1/2", BOTH2)], 2, 2),
}


def nats_cluster(inp: dict, layout: str, nats: Any, pg: Any, work: Path,
                 speed: float = 0.0, backlog: bool = False) -> dict[str, Any]:  # fmt: skip
    """Workers as processes on a fresh stream set and database, on the same servers for
    every layout. Live (default): the workers are reading when the feed starts to publish
    from here (as fast as possible, or paced at `speed` x event time), so the publisher
    shares the cores with them. `backlog`: the whole stream is in JetStream before the
    workers start, and they all start reading at once (`--go-file`). Wall time runs from
    then to the last worker's store holding its last alert."""
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
    roles, shards, area = LAYOUTS[layout]
    tag = f"{layout}-{speed}-{int(backlog)}"
    go = work / f"go-{tag}"

    def publish() -> tuple[Any, float]:
        bus = JetStreamBus(nats.url)
        pub = Publisher(bus, shards, source=f"bench-{tag}", area_parts=area)
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
        bus.close()
        return pub, time.time() - t0

    if backlog:
        pub, published = publish()
    procs, stats = [], []
    for role, part, opts in roles:
        out = work / f"w-{role}-{part.replace('/', 'of')}-{tag}.json"
        stats.append(out)
        cmd = [sys.executable, "-c", RUN, "worker", "--role", role, "--partition", part,
               "--nats", nats.url, "--store", db, "--zones", str(inp["zones"]),
               "--infrastructure", str(inp["infra"]), "--until-eof", "--quiet",
               "--stats-out", str(out), *opts] + (["--probe-latency"] if speed > 0 else []) + (
               ["--go-file", str(go)] if backlog else [])  # fmt: skip
        procs.append(subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, text=True,
                                      stderr=open(work / "workers.log", "ab")))  # noqa: SIM115
    for p in procs:  # imports, connection and start-up work happen before the clock starts
        while (line := p.stdout.readline()) and "reading" not in line:  # type: ignore[union-attr]
            pass
    s0 = server_cpu(nats, pg)
    t0 = time.time()
    if backlog:
        go.touch()
    else:
        pub, published = publish()
    for p in procs:
        p.wait(900)
    servers = server_cpu(nats, pg) - s0
    got = [json.loads(s.read_text()) for s in stats]
    end = max(g["closed_wall"] for g in got)
    st = open_store(db)
    alerts = sorted(_key(a) for a in st.alert_objects())
    st.close()
    lat = np.array([x for g in got for x in g["alert_latency_s"]])
    return {"wall_s": end - t0, "publish_s": published, "alerts": alerts,
            "busy_s": [round(g["busy_s"], 1) for g in got], "latency": lat,
            "cpu_s": [round(g["cpu_s"], 1) for g in got], "cpu": sum(g["cpu_s"] for g in got),
            "bytes": pub.sent_bytes, "servers_cpu": servers}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench cluster", description=__doc__.splitlines()[0])
    ap.add_argument("--limit-s", type=float, default=3600.0,
                    help="event seconds of the demo hour to use (3600)")  # fmt: skip
    ap.add_argument("--latency-limit-s", type=float, default=900.0,
                    help="event seconds for the paced latency run (900)")  # fmt: skip
    ap.add_argument("--latency-speed", type=float, default=30.0,
                    help="x event time for the paced latency run (30)")  # fmt: skip
    ap.add_argument("--cuts", choices=["replay", "demo"], default="replay",
                    help="cuts of the throughput runs: as a replay or feed of a recording "
                         "at full speed (up to 20,000 reports; default), or the demo's 10 s "
                         "cuts (each worker then pays every detector's per-cut cost on a "
                         "few hundred reports)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3,
                    help="in-process and backlog runs, interleaved, best kept (3)")  # fmt: skip
    a = ap.parse_args(argv)
    from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres

    work = Path(tempfile.mkdtemp(prefix="picket-bench-cluster-"))
    demo = prepare(3600.0, a.limit_s, work)
    inp = as_replay(demo) if a.cuts == "replay" else demo
    n = inp["n"]
    print(f"input: the demo's first {a.limit_s:.0f} s, {n:,} decoded reports in "
          f"{len(inp['cuts'])} cuts ({a.cuts}; the paced latency run: the demo's "
          f"{len(demo['cuts'])} cuts of 10 s); {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
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
            for lay, name in (("1", "1 worker"), ("2", "2 workers (--role both)"),
                              ("2+1", "2 subject + 1 area worker")):  # fmt: skip
                rows.append((f"NATS + PostgreSQL, live feed, {name}",
                             nats_cluster(inp, lay, nats, pg, work)))
            # the throughput rows: interleaved rounds on the same servers, the least wall
            # of each kept (a run of a few seconds is moved by anything else on the cores)
            runs: dict[str, list[dict[str, Any]]] = {"1": [], "2": []}
            for _ in range(a.repeat):
                for lay in runs:
                    runs[lay].append(nats_cluster(inp, lay, nats, pg, work, backlog=True))
            for lay, name in (("1", "1 worker"), ("2", "2 workers (--role both)")):
                rows.append((f"NATS + PostgreSQL, backlog, {name}", fastest(runs[lay])))
            short = {**demo, "cuts": [d for d in demo["cuts"] if not len(d.reports) or
                                      d.reports.time[0] < demo["cuts"][0].reports.time[0]
                                      + a.latency_limit_s]}  # fmt: skip
            for lay, name in (("1", "1 worker"), ("2", "2 workers")):
                r = nats_cluster(short, lay, nats, pg, work, speed=a.latency_speed)
                lat_rows.append((name, r["latency"]))
        finally:
            nats.close()
            pg.close()
    print("\n| run | wall s | reports/s | CPU s | alerts | same alerts |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        same = "yes" if r["alerts"] == base["alerts"] and r.get("same", True) else "NO"
        extra = (f" (per worker: busy s {r['busy_s']}, CPU s {r['cpu_s']}; CPU s of "
                 f"nats-server {r['servers_cpu'][0]:.1f}, PostgreSQL {r['servers_cpu'][1]:.1f})"
                 if "busy_s" in r else "")  # fmt: skip
        if "walls" in r:
            extra += f" (least of walls {r['walls']} s)"
        print(f"| {name}{extra} | {r['wall_s']:.1f} | {n / r['wall_s']:,.0f} | "
              f"{r['cpu']:.1f} | {len(r['alerts'])} | {same} |")
    print(f"\n(in-process and backlog rows: best of {a.repeat}, interleaved; CPU s is this "
          f"process's, or the sum of the workers', without nats-server and PostgreSQL)")
    edge_w = rows[1][1]["wall_s"] / base["wall_s"] - 1
    edge_c = rows[1][1]["cpu"] / base["cpu"] - 1
    print(f"bus edge on the default path: {edge_c * 100:+.1f}% CPU, {edge_w * 100:+.1f}% wall "
          f"(goal < 5%)")  # fmt: skip
    d = dict(rows)
    for how in ("live feed", "backlog"):
        one = d.get(f"NATS + PostgreSQL, {how}, 1 worker")
        two = d.get(f"NATS + PostgreSQL, {how}, 2 workers (--role both)")
        if not (one and two):
            continue
        print(f"{how}: 2 workers vs 1: {one['wall_s'] / two['wall_s']:.2f}x wall (goal >= "
              f"1.6x), {n / one['wall_s']:,.0f} vs {n / two['wall_s']:,.0f} reports/s; CPU: 1 "
              f"worker {sum(one['cpu_s']):.1f} s, 2 workers {two['cpu_s']} s: with a core "
              f"each, the slower bounds the speed-up at "
              f"{sum(one['cpu_s']) / max(two['cpu_s']):.2f}x")  # fmt: skip
        print(f"{how}: NATS + PostgreSQL vs in-process: 1 worker {one['cpu'] / base['cpu']:.2f}x"
              f" CPU; bytes on the bus per report: {one['bytes'] / n:.0f} (1 worker), "
              f"{two['bytes'] / n:.0f} (2 workers)")  # fmt: skip
    for name, lat in lat_rows:
        if len(lat):
            print(f"feed to stored alert, paced at {a.latency_speed:g}x, {name}: "
                  f"p50 {np.percentile(lat, 50) * 1e3:.0f} ms, "
                  f"p99 {np.percentile(lat, 99) * 1e3:.0f} ms ({len(lat)} batches with alerts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
