"""Churn: subjects that come and go for good, with and without forgetting them.

Vessels cross a receiver's coverage eastwards (one AIS position every 10 s, 20-30 kn,
about 25 minutes in view, reception fading with range at the far edge) and never come
back; `--new-per-min` of them arrive every minute. A national feed sees this in
ports and lanes over days; random identities (spoofed MMSIs, Remote ID session ids) see it
all the time. The same scene runs in two processes through the default pipeline (every
default detector): one forgets subjects silent for `--forget-after-h`, one never does.

Reported per process, every few hours of event time: slots in use, slots ever made, the
state a checkpoint holds (the pipeline's memory that spans batches, uncompressed), and
RSS (after `malloc_trim`; it also moves with the allocator's fragmentation); then the
alert counts (the same expected: nothing forgotten was still judged) and CPU. Forgetting
bounds the slots at the subjects seen in the last `forget-after-h` plus those in view,
so the state levels off; without it, it grows with every subject met.

Run: ``picket bench churn [--hours 8] [--new-per-min 100] [--forget-after-h 1]``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import multiprocessing as mp
import resource
import time
from typing import Any

import numpy as np

from picket.config import Config
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.assemble import assemble

STEP_S = 10.0  # a class A vessel under way reports every 2-10 s; one report per 10 s here
T0 = 1.7e9
KNOT = 1852 / 3600
WEST, FADE, EDGE = 11.0, 11.2, 11.3  # lon: where vessels appear, coverage fades, ends
MAX_STAY_S = 3600.0  # the slowest vessel is past EDGE by then


def rss_mb() -> float:
    """RSS after handing freed heap back to the system: glibc keeps freed blocks of the
    batches' temporaries mapped (100 MB more in one run, the same live objects), which
    says how busy the allocator was, not what the process holds."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS as it is
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scene_batch(k: int, new_per_min: float, rng: np.random.Generator) -> Decoded:
    """The reports of step k (STEP_S of event time) heard from every vessel in view.

    Vessel i appears at lon WEST at time i / rate and sails east at 20-30 kn. Coverage
    fades with range as a receiver's does: every report is heard up to lon FADE, then
    fewer and fewer, none past EDGE; vessels therefore leave the picture through cells of
    poor reception, where silence is no AIS gap, and never come back.
    """
    t = T0 + k * STEP_S
    per_step = new_per_min * STEP_S / 60.0
    oldest = int(np.floor((k - MAX_STAY_S / STEP_S) * per_step)) + 1
    ids = np.arange(max(oldest, 0), int(np.floor(k * per_step)) + 1)
    age = t - (T0 + ids / per_step * STEP_S)
    lat0 = 55.6 + (ids * 0.61803 % 1.0) * 1.6
    course = 80.0 + (ids * 0.41421 % 1.0) * 20.0
    speed = 20.0 + (ids % 11)  # knots
    d = speed * KNOT * age
    lat = lat0 + d * np.cos(np.radians(course)) / 111_320.0
    lon = WEST + d * np.sin(np.radians(course)) / (111_320.0 * np.cos(np.radians(lat0)))
    heard = rng.random(len(ids)) < np.clip((EDGE - lon) / (EDGE - FADE), 0.0, 1.0)
    ids, lat, lon, course, speed = (v[heard] for v in (ids, lat, lon, course, speed))
    n = len(ids)
    r = Reports.build(
        n=n, time=t + rng.uniform(0, STEP_S, n), domain=Domain.MARITIME, kind=Kind.POSITION,
        subject=key(Namespace.MMSI, 219_000_000 + ids), lat=lat, lon=lon,
        speed=speed * KNOT, course=course, heading=course, nav_status=0, msg=1,
    )  # fmt: skip
    return Decoded(r.sorted_by_time(), [])


def run(args: argparse.Namespace, forget_after_s: float, out: Any) -> None:
    asm = assemble(Config(store_path=None), store=False, console=False)
    pipe = asm.pipeline
    pipe.forget_after_s = dict.fromkeys(pipe.forget_after_s, forget_after_s)
    rng = np.random.default_rng(1)
    steps = int(args.hours * 3600 / STEP_S)
    every = max(1, int(steps / 8))
    rows = []
    c0 = time.process_time()
    n_alerts = 0
    batch = max(1, int(60 / STEP_S))  # one minute of reports per batch
    for k0 in range(0, steps, batch):
        parts = [scene_batch(k, args.new_per_min, rng).reports
                 for k in range(k0, min(k0 + batch, steps))]  # fmt: skip
        d = Decoded(Reports.concat(parts).sorted_by_time(), [])
        n_alerts += sum(1 for what, _ in pipe.process(d) if what == "open")
        if (k0 // batch) % max(1, every // batch) == 0 or k0 + batch >= steps:
            state = len(pipe.snapshot(compress=False)) / 1e6  # what a checkpoint holds
            rows.append((k0 * STEP_S / 3600, pipe.tracks.n_live, pipe.tracks.n, state,
                         rss_mb()))  # fmt: skip
    out.put({"rows": rows, "alerts": n_alerts, "cpu": time.process_time() - c0,
             "forgotten": pipe.n_forgotten})  # fmt: skip


def child(args: argparse.Namespace, forget_after_s: float) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=run, args=(args, forget_after_s, q))
    p.start()
    res = q.get()
    p.join()
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench churn", description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0, help="event time to run")
    ap.add_argument("--new-per-min", type=float, default=100.0,
                    help="vessels arriving a minute (each in view for about 25 min)")
    ap.add_argument("--forget-after-h", type=float, default=1.0,
                    help="silence before a subject is forgotten, in the forgetting run")
    args = ap.parse_args(argv)
    print(f"scene: {args.new_per_min:g} vessels a minute cross the coverage and leave it for "
          f"good, {args.hours:g} h of event time")
    runs = [(f"forgets after {args.forget_after_h:g} h", args.forget_after_h * 3600),
            ("never forgets", float("inf"))]
    res = {}
    for name, fa in runs:
        r = child(args, fa)
        res[name] = r
        print(f"\n{name}: {r['alerts']} alerts opened, {r['forgotten']:,} subjects "
              f"forgotten, {r['cpu']:.1f} s CPU")
        print("  event h   slots in use   slots made   state MB   RSS MB")
        for h, live, made, state, rss in r["rows"]:
            print(f"  {h:7.1f}   {live:12,}   {made:10,}   {state:8.1f}   {rss:6.0f}")
    a, b = (res[n] for n, _ in runs)
    same = a["alerts"] == b["alerts"]
    half = len(a["rows"]) // 2
    grow_a = a["rows"][-1][3] - a["rows"][half][3]
    grow_b = b["rows"][-1][3] - b["rows"][half][3]
    print(f"\nsame alert count: {same}; state over the second half: forgetting "
          f"{grow_a:+.1f} MB, never {grow_b:+.1f} MB")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
