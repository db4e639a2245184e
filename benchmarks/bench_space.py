"""Space screening speed: the full 2024 catalogue, 7 days, 5 km, against the propagation floor.

In one run: (1) the floor, merely propagating the whole catalogue at the
screening step with SatrecArray over the window; (2) picket's full screening
(apogee/perigee, per-step sieve, exact SGP4 refinement), with the pairs left
after each filter, CPU and wall against the floor's; (3) with `--check`, the correctness check at
the issue's size: a random sample of `--check-n` objects from the whole
catalogue over one day, picket against the dense brute-force reference
(`picket.space.brute`), recall under 5 km, TCA and range differences.

Run: ``picket bench space [--days 7] [--workers 2] [--index grid|kdtree] [--exact]
[--check] [--skip-full]``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from picket.model.rejects import Rejects
from picket.space.brute import brute_force
from picket.space.propagate import Propagator
from picket.space.read import read_elements
from picket.space.screen import ScreenConfig, propagation_floor, screen
from shared_data import SHARED

DEFAULT = SHARED / "space" / "celestrak_omm_catalog_20241101.csv"


def check(prop_all: Propagator, es, start: float, n: int, seed: int, coarse_s: float) -> None:
    idx = np.sort(np.random.default_rng(seed).choice(len(es), n, replace=False))
    prop = Propagator(es.take(idx))
    c = time.perf_counter()
    conj, _ = screen(prop, start, 86400.0, ScreenConfig(workers=1))
    t_pk = time.perf_counter() - c
    c = time.perf_counter()
    ref = brute_force(prop, start, 86400.0, coarse_s=coarse_s)
    t_ref = time.perf_counter() - c
    mine = {}
    for i, j, t, m in zip(conj.i.tolist(), conj.j.tolist(), conj.tca.tolist(),
                          conj.miss_km.tolist(), strict=True):  # fmt: skip
        mine.setdefault((i, j), []).append((t, m))
    found, dts, drs = 0, [], []
    for i, j, t, m in ref:
        near = [x for x in mine.get((i, j), []) if abs(x[0] - t) < 30]
        if near:
            found += 1
            dts.append(abs(near[0][0] - t))
            drs.append(abs(near[0][1] - m))
    recall = found / len(ref) if ref else float("nan")
    dt, dr = max(dts, default=0.0), max(drs, default=0.0) * 1e3
    print(f"check: {n} random objects, 1 day: reference {len(ref)} events in {t_ref:.0f} s, "
          f"picket {len(conj)} in {t_pk:.1f} s; recall {recall:.4f}; "
          f"max |dTCA| {dt:.2e} s, max |drange| {dr:.2e} m")  # fmt: skip


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker pools)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="picket bench space", description=__doc__)
    p.add_argument("--catalog", default=str(DEFAULT))
    p.add_argument("--days", type=float, default=7.0)
    p.add_argument("--threshold-km", type=float, default=5.0)
    p.add_argument("--step", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--index", choices=("grid", "kdtree"), default="grid",
                   help="per-step pair search: numba cell grid or SciPy KD-tree")  # fmt: skip
    p.add_argument("--exact", action="store_true",
                   help="propagate every step (no interpolated half-steps)")  # fmt: skip
    p.add_argument("--check", action="store_true", help="also the brute-force check")
    p.add_argument("--check-n", type=int, default=2000)
    p.add_argument("--check-coarse", type=float, default=30.0,
                   help="reference all-pairs step before its 1 s scan (s)")  # fmt: skip
    p.add_argument("--skip-full", action="store_true")
    a = p.parse_args(argv)
    path = Path(a.catalog)
    if not path.exists():
        print(f"bench space: {path} not found (../shared/data beside the checkout)")
        return 2
    c = time.perf_counter()
    es = read_elements(path, Rejects())
    prop = Propagator(es)
    t_load = time.perf_counter() - c
    start = float(np.floor(np.quantile(es.epoch, 0.99) / 60) * 60)
    dur = a.days * 86400.0
    n_steps = int(np.ceil(dur / a.step)) + 1
    print(f"{path.name}: {len(es)} objects read and initialised in {t_load:.1f} s; "
          f"{a.days:g} days at {a.step:g} s = {n_steps} steps, {a.workers} workers")  # fmt: skip
    if not a.skip_full:
        load0 = _load()
        cpu0 = _cpu()
        t_floor = propagation_floor(prop, start, dur, a.step, a.workers)
        cpu_floor = _cpu() - cpu0
        rate = len(prop) * n_steps / t_floor
        print(f"propagation floor: {t_floor:.1f} s wall, {cpu_floor:.0f} s CPU "
              f"({rate / 1e6:.2f} M object-epochs/s, {rate / a.workers / 1e6:.2f} M per "
              f"worker)")  # fmt: skip
        cfg = ScreenConfig(threshold_km=a.threshold_km, step_s=a.step, workers=a.workers,
                           index=a.index, interpolate=not a.exact)  # fmt: skip
        cpu0 = _cpu()
        conj, st = screen(prop, start, dur, cfg)
        s, cpu = st.seconds, _cpu() - cpu0
        how = f"{cfg.index}{', interpolated half-steps' if cfg.interpolate else ''}"
        print(f"screening ({how}): {s['wall']:.1f} s wall ({s['wall'] / t_floor:.2f} x "
              f"floor), {cpu:.0f} s CPU ({cpu / cpu_floor:.2f} x floor); CPU: propagate "
              f"{s['propagate']:.0f} s, interpolate {s['interpolate']:.0f} s, sieve "
              f"{s['sieve']:.0f} s, refine {s['refine']:.0f} s, velocity slack "
              f"{s['velocity_slack']:.1f} s")  # fmt: skip
        print(f"pairs: catalogue {st.pairs_total:,}; after apogee/perigee {st.pairs_after_ap:,}")
        if cfg.index == "grid":
            print(f"pair-steps: neighbouring cells in the radius window {st.joined:,}; "
                  f"after radial gate {st.radial:,}; within search radius {st.spatial:,}; "
                  f"after apogee/perigee {st.spatial_after_ap:,}; after linear bound "
                  f"{st.linear:,}")  # fmt: skip
        else:
            print(f"pair-steps: KD-tree {st.spatial:,}; after apogee/perigee "
                  f"{st.spatial_after_ap:,}; after linear bound {st.linear:,}")  # fmt: skip
        print(f"minimum inside the step {st.refined:,}; conjunctions {len(conj):,}; "
              f"states off any Earth orbit dropped {st.unphysical:,}")  # fmt: skip
        print(f"goal 300 s: {'met' if s['wall'] <= 300 else 'NOT met'} "
              f"(load average before/after: {load0} / {_load()})")  # fmt: skip
    if a.check:
        check(prop, es, start, a.check_n, 7, a.check_coarse)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
