"""Tracking benchmark: picket's plot tracker against Stone Soup on Stone Soup's own scenario.

Scenario (Stone Soup simulators, seeded): N targets start on a grid one per 50 x 50 m with
velocities drawn from N(0, 1 m/s) per axis, move under ``ConstantVelocity(0.05)`` for 100
scans at 1 s; ``SimpleDetectionSimulator`` sees each with probability 0.9 through a
position sensor of sigma 1 m and adds Poisson clutter (mean 10 per scan) uniformly over the
grid padded by 200 m.

Stone Soup runs ``MultiTargetTracker`` with Kalman predictor/updater, a Mahalanobis
``DistanceHypothesiser`` (missed distance 3), ``DetectionKDTreeGNN2D`` (k-d tree prefilter,
max distance 10 m), ``UpdateTimeStepsDeleter(5)`` and a ``MultiMeasurementInitiator``
needing 3 points (holding tracks dropped on their first miss). picket's
``CartesianTracker`` gets the same detections as arrays with matching settings (gate 3,
confirm 3/3, delete after 5, initial velocity sigma 2 m/s in both).

Reported: tracker CPU time per scan (process time around the tracker calls only) and, over
scans 51-100, mean OSPA (c = 10 m, p = 1) and mean GOSPA missed + false (counts of points).
Rows marked "IMM" run picket with ``model="imm"`` (CV plus 3 deg/s turns) on the same
detections, for information: the bars are the CV tracker's. With ``--spread S``, rows
marked "own times" run the CV tracker with each detection stamped at its own time up to S
seconds before its scan's and moved back along its target's path (the per-pair prediction
path, docs/tracking.md).

In clutter (``--pd 0.7 --clutter 50 --spacing 20``: targets every 20 m, 400 m² each) rows
marked "SS JPDA" add Stone Soup's JPDA (``JPDAwithLBP``, a ``PDAHypothesiser`` with the
scene's Pd and clutter density, ``MultiTargetMixtureTracker``, the same initiator and
deleter; the exhaustive ``JPDA`` enumerates all tracks' joint hypotheses at once and does
not finish) and the bar is picket's OSPA against the better of GNN and JPDA plus
``CLUTTER_TOLERANCE``. With ``--cli``, rows marked "CLI" run ``picket track`` on the plots
written to CSV: the child's CPU (getrusage) minus ``python -c "import numpy"``, bar 150x
Stone Soup's GNN at 200 targets with the in-process OSPA.

Run: ``python benchmarks/bench_tracking.py [--targets 20 200 1000] [--seeds 0 1 2]``.
Needs ``stonesoup==1.9.1`` (MIT) in the environment; it is not a runtime dependency.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from picket.metrics import gospa, ospa
from picket.track import CartesianTracker, TrackerConfig

Q, SIGMA, PD, CLUTTER, SPACING, GATE, V0 = 0.05, 1.0, 0.9, 10.0, 50.0, 3.0, 2.0
C_OSPA, P_OSPA = 10.0, 1.0
MAX_DISTANCE = 10.0  # m: Stone Soup's k-d tree GNN pairs nothing farther; picket likewise
# In clutter (Pd below 0.9 or more than 10 false plots a scan) picket's mean OSPA may exceed
# the better of Stone Soup's GNN and JPDA by this much (m): run-to-run noise of a few tracks
# confirmed a scan earlier or later.
CLUTTER_TOLERANCE = 0.02


class Scenario(NamedTuple):  # not a dataclass: `picket bench` loads this file unregistered
    times: list[datetime.datetime]
    detections: list[set]  # Stone Soup Detection objects per scan
    plots: list[np.ndarray]  # the same as (m, 2) arrays
    truth: list[np.ndarray]  # true positions (n, 2) per scan
    velocity: list[np.ndarray]  # true velocity (m, 2) of each plot's target (0 for clutter)
    pd: float = PD
    clutter: float = CLUTTER  # mean clutter plots per scan
    area: float = 1.0  # m², where the clutter falls


def make_scenario(
    n_targets: int,
    seed: int,
    scans: int = 100,
    pd: float = PD,
    clutter: float = CLUTTER,
    spacing: float = SPACING,
) -> Scenario:
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.simulator.simple import (
        MultiTargetGroundTruthSimulator,
        SimpleDetectionSimulator,
    )
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import GaussianState

    np.random.seed(seed)  # Stone Soup's models draw their noise from the global generator
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_targets)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)
    grid = grid[:n_targets] * spacing
    vel = rng.normal(0.0, 1.0, (n_targets, 2))
    start = datetime.datetime(2024, 1, 1)
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q), ConstantVelocity(Q)])
    states = [StateVector([g[0], v[0], g[1], v[1]]) for g, v in zip(grid, vel, strict=True)]
    truth_sim = MultiTargetGroundTruthSimulator(
        transition_model=transition,
        initial_state=GaussianState([[0], [0], [0], [0]], np.diag([1, 1, 1, 1]), timestamp=start),
        timestep=datetime.timedelta(seconds=1),
        number_steps=scans,
        birth_rate=0,
        death_probability=0,
        preexisting_states=states,
        seed=seed,
    )
    meas = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.eye(2) * SIGMA**2)
    pad = 200.0
    lo, hi = grid.min(0) - pad, grid.max(0) + pad
    det_sim = SimpleDetectionSimulator(
        groundtruth=truth_sim,
        measurement_model=meas,
        meas_range=np.array([[lo[0], hi[0]], [lo[1], hi[1]]]),
        detection_probability=pd,
        clutter_rate=clutter,
        seed=seed,
    )
    area = float(np.prod(hi - lo))
    sc = Scenario([], [], [], [], [], pd, clutter, area)
    for when, dets in det_sim:
        dets = set(dets)
        sc.times.append(when)
        sc.detections.append(dets)
        sc.plots.append(np.array([np.ravel(d.state_vector) for d in dets], float).reshape(-1, 2))
        vel = [
            np.ravel(d.groundtruth_path[-1].state_vector)[[1, 3]]
            if hasattr(d, "groundtruth_path") else np.zeros(2)
            for d in dets
        ]  # fmt: skip
        sc.velocity.append(np.array(vel, float).reshape(-1, 2))
        paths = truth_sim.current[1]
        sc.truth.append(np.array([[p[-1].state_vector[0], p[-1].state_vector[2]] for p in paths]))
    return sc


def picket_config(model: str = "cv", pd: float = PD, clutter: float = CLUTTER) -> TrackerConfig:
    return TrackerConfig(
        model=model,
        process_noise=Q,
        measurement_sigma=SIGMA,
        detection_probability=pd,
        clutter_rate=clutter,
        gate_sigma=GATE,
        max_distance=MAX_DISTANCE,
        confirm=(3, 3),
        delete_after=5,
        initial_velocity_sigma=V0,
    )


def run_picket(
    sc: Scenario, model: str = "cv", spread: float = 0.0
) -> tuple[float, list[np.ndarray]]:
    """CPU seconds in the tracker and confirmed-track positions per scan.

    `spread` > 0 stamps each detection at its own time, up to `spread` s before the scan's,
    moved back along its target's true velocity, to time the own-time path."""
    tracker = CartesianTracker(picket_config(model, sc.pd, sc.clutter))
    t0 = sc.times[0]
    r = [np.full_like(z, SIGMA**2) for z in sc.plots]
    rng = np.random.default_rng(0)
    out, cpu = [], 0.0
    for when, z, rz, v in zip(sc.times, sc.plots, r, sc.velocity, strict=True):
        t = (when - t0).total_seconds()
        tz = None
        if spread > 0:
            back = rng.uniform(0.0, spread, len(z))
            z, tz = z - v * back[:, None], t - back
        c0 = time.process_time()
        tracker.step(t, z, rz, tz=tz)
        tracks = tracker.confirmed()
        cpu += time.process_time() - c0
        out.append(tracks.state.pos.copy())
    return cpu, out


def run_stonesoup(sc: Scenario, method: str = "gnn") -> tuple[float, list[np.ndarray]]:
    """Stone Soup's CPU seconds and track positions per scan: `method` "gnn" (k-d tree GNN,
    `MultiTargetTracker`) or "jpda" (`JPDA` over a `PDAHypothesiser` with the scenario's Pd
    and clutter density, `MultiTargetMixtureTracker`, as Stone Soup's JPDA tutorial), both
    with the same initiator and deleter."""
    from stonesoup.dataassociator.probability import JPDAwithLBP
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.hypothesiser.probability import PDAHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetMixtureTracker, MultiTargetTracker
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q), ConstantVelocity(Q)])
    meas = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.eye(2) * SIGMA**2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(meas)
    hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=GATE)

    def associator() -> DetectionKDTreeGNN2D:
        return DetectionKDTreeGNN2D(
            hypothesiser=hyp, predictor=predictor, updater=updater, max_distance=MAX_DISTANCE
        )

    initiator = MultiMeasurementInitiator(
        prior_state=GaussianState(np.zeros((4, 1)), np.diag([0, V0**2, 0, V0**2])),
        measurement_model=meas,
        deleter=UpdateTimeStepsDeleter(1),
        data_associator=associator(),
        updater=updater,
        min_points=3,
    )
    feed = list(zip(sc.times, sc.detections, strict=True))
    if method == "jpda":
        pda = PDAHypothesiser(
            predictor=predictor,
            updater=updater,
            clutter_spatial_density=sc.clutter / sc.area,
            prob_detect=sc.pd,
        )
        tracker = MultiTargetMixtureTracker(
            initiator=initiator,
            deleter=UpdateTimeStepsDeleter(5),
            detector=feed,
            data_associator=JPDAwithLBP(hypothesiser=pda),
            updater=updater,
        )
    else:
        tracker = MultiTargetTracker(
            initiator=initiator,
            deleter=UpdateTimeStepsDeleter(5),
            detector=feed,
            data_associator=associator(),
            updater=updater,
        )
    out, cpu = [], 0.0
    it = iter(tracker)
    for _ in feed:
        c0 = time.process_time()
        _, tracks = next(it)
        cpu += time.process_time() - c0
        pos = [np.ravel(t.state_vector)[[0, 2]] for t in tracks]
        out.append(np.array(pos, float).reshape(-1, 2))
    return cpu, out


def write_plots(sc: Scenario, path: Path) -> None:
    """The scenario's detections as a plot CSV for `picket track` (time in s from the start,
    x/y in metres; the same numbers the in-process run gets, to 1 mm)."""
    t0 = sc.times[0]
    t = np.concatenate(
        [np.full(len(z), (w - t0).total_seconds()) for w, z in zip(sc.times, sc.plots, strict=True)]
    )
    z = np.concatenate(sc.plots)
    np.savetxt(path, np.column_stack([t, z]), fmt="%.3f", delimiter=",", header="time,x,y",
               comments="")  # fmt: skip


def child_cpu(cmd: list[str]) -> float:
    """CPU seconds of one child process, run as an installed picket runs, with the BLAS
    thread count picket's commands take (`picket.cli.one_blas_thread`) for the baseline
    too: NumPy's import with OpenBLAS's default threads costs some 50 ms more CPU, which
    would otherwise be subtracted in picket's favour."""
    from children import child_cpu as cpu_of
    from children import installed_env
    from picket.cli import one_blas_thread

    env = installed_env()
    one_blas_thread(env)
    return cpu_of(cmd, env, check=True)[0]


def run_cli(sc: Scenario, workdir: Path, repeats: int = 5) -> tuple[float, list[np.ndarray]]:
    """`picket track` on the scenario's plots as CSV: the child's CPU seconds minus the
    interpreter's start with NumPy (`python -c "import numpy"` with one BLAS thread: every
    picket command pays it, 60-90 ms; picket's own imports count), best of `repeats` each
    as the machine is shared, and the confirmed tracks per scan read back from its CSV."""
    plots, tracks = workdir / "plots.csv", workdir / "tracks.csv"
    write_plots(sc, plots)
    cfg = picket_config("cv", sc.pd, sc.clutter)
    m, n = cfg.confirm
    main = "import sys; from picket.cli.main import main; sys.exit(main())"
    cmd = [sys.executable, "-c", main, "track", str(plots), "--out", str(tracks),
           "--process-noise", str(cfg.process_noise), "--measurement-sigma", str(SIGMA),
           "--detection-probability", str(cfg.detection_probability),
           "--clutter-rate", str(cfg.clutter_rate), "--gate-sigma", str(cfg.gate_sigma),
           "--max-distance", str(cfg.max_distance),
           "--confirm", f"{m}/{n}", "--delete-after", str(cfg.delete_after),
           "--initial-velocity-sigma", str(cfg.initial_velocity_sigma)]  # fmt: skip
    start = min(child_cpu([sys.executable, "-c", "import numpy"]) for _ in range(repeats))
    cpu = min(child_cpu(cmd) for _ in range(repeats)) - start
    rows = np.loadtxt(tracks, delimiter=",", skiprows=1, ndmin=2)
    t0 = sc.times[0]
    out = []
    for when in sc.times:
        at = rows[np.abs(rows[:, 0] - (when - t0).total_seconds()) < 1e-3]
        out.append(at[:, 2:4].copy())
    return cpu, out


def quality(tracks: list[np.ndarray], truth: list[np.ndarray], first: int) -> tuple[float, float]:
    """Mean OSPA and mean GOSPA missed + false (points) over scans `first`..end."""
    o = [ospa(a, b, C_OSPA, P_OSPA) for a, b in zip(tracks[first:], truth[first:], strict=True)]
    g = [gospa(a, b, C_OSPA, P_OSPA) for a, b in zip(tracks[first:], truth[first:], strict=True)]
    return float(np.mean(o)), float(np.mean([x.n_missed + x.n_false for x in g]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench tracking", description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, nargs="+", default=[20, 200, 1000])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--scans", type=int, default=100)
    ap.add_argument(
        "--stonesoup-max", type=int, default=1000, help="skip Stone Soup above this many targets"
    )
    ap.add_argument(
        "--imm-targets", type=int, nargs="*", default=[200], help="also run picket's IMM here"
    )
    ap.add_argument(
        "--spread", type=float, default=0.0,
        help="also run picket with each detection at its own time, up to this many s apart",
    )  # fmt: skip
    ap.add_argument("--pd", type=float, default=PD, help=f"detection probability ({PD})")
    ap.add_argument("--clutter", type=float, default=CLUTTER, help=f"clutter/scan ({CLUTTER:g})")
    ap.add_argument("--spacing", type=float, default=SPACING, help=f"grid, m ({SPACING:g})")
    ap.add_argument(
        "--jpda", action="store_true",
        help="also run Stone Soup's JPDA (on by default with --clutter above 10 or --pd below 0.9)",
    )  # fmt: skip
    ap.add_argument(
        "--cli", action="store_true",
        help="also run `picket track` on the plots as CSV (child CPU minus interpreter start)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    try:
        import stonesoup  # noqa: F401
    except ImportError:
        print("needs stonesoup: pip install stonesoup==1.9.1", file=sys.stderr)
        return 2
    hard = args.clutter > CLUTTER or args.pd < PD
    jpda = args.jpda or hard
    first = args.scans // 2
    print(f"Pd {args.pd:g}, clutter {args.clutter:g}/scan, targets every {args.spacing:g} m")
    print(
        "| targets | seed | Stone Soup ms/scan | picket ms/scan | speed-up "
        "| OSPA SS | OSPA picket | miss+false SS | miss+false picket |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ok = True
    tmp = Path(tempfile.mkdtemp(prefix="bench_tracking_")) if args.cli else None
    for n in args.targets:
        for seed in args.seeds:
            sc = make_scenario(n, seed, args.scans, args.pd, args.clutter, args.spacing)
            p_cpu, p_out = run_picket(sc)
            p_ms = 1e3 * p_cpu / args.scans
            p_ospa, p_mf = quality(p_out, sc.truth, first)
            s_ms = None
            if n <= args.stonesoup_max:
                s_cpu, s_out = run_stonesoup(sc)
                s_ms = 1e3 * s_cpu / args.scans
                s_ospa, s_mf = quality(s_out, sc.truth, first)
                speed = s_ms / p_ms
                best = s_ospa
                if jpda:
                    j_cpu, j_out = run_stonesoup(sc, "jpda")
                    j_ospa, j_mf = quality(j_out, sc.truth, first)
                    best = min(best, j_ospa)
                if hard:  # against the better of GNN and JPDA, by OSPA
                    ok &= p_ospa <= best + CLUTTER_TOLERANCE
                else:
                    ok &= p_ospa <= s_ospa + 0.01 and p_mf <= s_mf
                if n == 200:
                    ok &= speed >= 100
                cells = f"{s_ms:.1f} | {p_ms:.2f} | {speed:.0f}x | {s_ospa:.3f} | {p_ospa:.3f}"
                cells += f" | {s_mf:.2f} | {p_mf:.2f}"
            else:
                cells = f"- | {p_ms:.2f} | - | - | {p_ospa:.3f} | - | {p_mf:.2f}"
            if n >= 1000 and not hard:
                ok &= p_ms <= 14.0
            print(f"| {n} | {seed} | {cells} |", flush=True)
            if jpda and s_ms is not None:
                j_ms = 1e3 * j_cpu / args.scans
                cells = (
                    f"{j_ms:.1f} | {p_ms:.2f} | {j_ms / p_ms:.0f}x | {j_ospa:.3f} | {p_ospa:.3f}"
                )
                cells += f" | {j_mf:.2f} | {p_mf:.2f}"
                print(f"| {n} SS JPDA | {seed} | {cells} |", flush=True)
            if args.cli and tmp is not None:
                c_cpu, c_out = run_cli(sc, tmp)
                c_ms = 1e3 * c_cpu / args.scans
                c_ospa, c_mf = quality(c_out, sc.truth, first)
                ok &= abs(c_ospa - p_ospa) <= 0.005
                if s_ms is not None:
                    c_speed = s_ms / c_ms
                    ok &= n != 200 or c_speed >= 150
                    cells = (
                        f"{s_ms:.1f} | {c_ms:.2f} | {c_speed:.0f}x | {s_ospa:.3f} | {c_ospa:.3f}"
                    )
                    cells += f" | {s_mf:.2f} | {c_mf:.2f}"
                else:
                    cells = f"- | {c_ms:.2f} | - | - | {c_ospa:.3f} | - | {c_mf:.2f}"
                print(f"| {n} CLI | {seed} | {cells} |", flush=True)
            if n in args.imm_targets:
                i_cpu, i_out = run_picket(sc, "imm")
                i_ospa, i_mf = quality(i_out, sc.truth, first)
                cells = (
                    f"- | {1e3 * i_cpu / args.scans:.2f} | - | - | {i_ospa:.3f} | - | {i_mf:.2f}"
                )
                print(f"| {n} IMM | {seed} | {cells} |", flush=True)
            if args.spread > 0:
                a_cpu, a_out = run_picket(sc, "cv", args.spread)
                a_ospa, a_mf = quality(a_out, sc.truth, first)
                cells = (
                    f"- | {1e3 * a_cpu / args.scans:.2f} | - | - | {a_ospa:.3f} | - | {a_mf:.2f}"
                )
                print(f"| {n} own times | {seed} | {cells} |", flush=True)
    print("bars met" if ok else "BARS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
