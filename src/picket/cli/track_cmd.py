"""``picket track PLOTS.csv --out TRACKS.csv``: run the plot tracker over a plot file."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

import numpy as np

from picket.geo.geodesy import geodetic_to_enu
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Kind, Reports
from picket.model.subjects import number
from picket.sources.plots_csv import PlotsCsvDecoder
from picket.sources.registry import open_binary
from picket.track import PlotTracker, TrackerConfig
from picket.track.config import SensorModel, parse_confirm

if TYPE_CHECKING:
    from pathlib import Path

HELP = """Plot file: CSV with a header, `time,x,y[,z][,sensor][,sigma]` (seconds, metres east/north
of `# origin: lat, lon` or 0°N 0°E) or `time,lat,lon[,alt][,sensor][,sigma]`. Writes
`time,track_id,x,y` (or lat,lon) for every confirmed track at every scan. Plots that each
carry their own time (a rotating radar's azimuth time) need --scan-quantum, or a
`# site: [sensor,] lat, lon` line before the header for revolution scans: see
docs/tracking.md."""


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "track", help="track anonymous plots (radar, drone detectors)", description=HELP
    )
    p.add_argument("plots", help="plot CSV (see above)")
    p.add_argument("--out", required=True, help="tracks CSV to write")
    p.add_argument("--process-noise", type=float, default=1.0, help="q, m²/s³ (default 1)")
    p.add_argument("--measurement-sigma", type=float, default=50.0, help="m per axis")
    p.add_argument("--detection-probability", type=float, default=0.9)
    p.add_argument("--clutter-rate", type=float, default=0.0, help="mean clutter plots per scan")
    p.add_argument("--gate-sigma", type=float, default=3.0, help="Mahalanobis gate")
    p.add_argument(
        "--max-distance", type=float, default=0.0, metavar="M",
        help="never pair a plot farther than M metres from a track's prediction (0: no limit)",
    )  # fmt: skip
    p.add_argument("--confirm", default="3/3", help="M/N confirmation (default 3/3)")
    p.add_argument("--delete-after", type=int, default=5, help="missed scans before deletion")
    p.add_argument("--initial-velocity-sigma", type=float, default=50.0, help="m/s")
    p.add_argument("--dims", type=int, choices=(2, 3), default=2)
    p.add_argument(
        "--cost", choices=("distance", "likelihood"), default="distance",
        help="GNN cost: Mahalanobis distance, or log-likelihood using Pd and clutter",
    )  # fmt: skip
    p.add_argument(
        "--model", choices=("cv", "imm"), default="cv",
        help="motion model: constant velocity, or IMM of CV and coordinated turns",
    )  # fmt: skip
    p.add_argument("--turn-rate", type=float, default=3.0, help="IMM turn modes, deg/s")
    p.add_argument("--window", type=float, default=0.0, help="out-of-order window, s")
    p.add_argument(
        "--scan-quantum", type=float, default=0.0, metavar="S",
        help="plots of one sensor within S seconds form one scan: the sensor's revisit time "
        "(a radar's rotation period, 10 s for OpenSky state vectors); 0: one scan per time "
        "stamp, for plots already grouped by scan",
    )  # fmt: skip
    p.add_argument("--dead-letter", help="JSON Lines file for rejected input")
    return p


def config_from(args: argparse.Namespace) -> TrackerConfig:
    return TrackerConfig(
        process_noise=args.process_noise,
        measurement_sigma=args.measurement_sigma,
        detection_probability=args.detection_probability,
        clutter_rate=args.clutter_rate,
        gate_sigma=args.gate_sigma,
        max_distance=args.max_distance,
        confirm=parse_confirm(args.confirm),
        delete_after=args.delete_after,
        initial_velocity_sigma=args.initial_velocity_sigma,
        dims=args.dims,
        cost=args.cost,
        out_of_order_window=args.window,
        scan_quantum=args.scan_quantum,
        model=args.model,
        turn_rate_deg_s=args.turn_rate,
    )


def run(args: argparse.Namespace) -> int:
    """The command, with the objects alive at its start (NumPy's and picket's modules, tens
    of thousands) frozen out of the garbage collector: they are never garbage, yet every
    collection the run's allocations trigger would walk them again (about a tenth of the
    run's CPU). Unfrozen after, for a caller that runs the command in-process."""
    import gc

    gc.freeze()
    try:
        return _run(args)
    finally:
        gc.unfreeze()


def _run(args: argparse.Namespace) -> int:
    try:
        cfg = config_from(args)
    except ValueError as e:
        print(f"picket track: {e}", file=sys.stderr)
        return 2
    rejects = Rejects(args.dead_letter)
    dec = PlotsCsvDecoder(rejects, os.path.basename(args.plots))
    dec.keep_plane = cfg.dims == 2  # x/y plots reach the tracker as they are
    parts = []
    with open_binary(args.plots) as fh:
        while chunk := fh.read(1 << 20):
            parts.append(dec.feed(chunk).reports)
    parts.append(dec.flush().reports)
    plots = Reports.concat(parts)
    plot = plots.kind == Kind.PLOT
    plots = plots if plot.all() else plots.where(plot)
    xy = None
    if dec.plane_only():
        xy = np.concatenate(dec.plane_xy) if dec.plane_xy else np.zeros((0, 2))
        xy = xy[plot]
    if dec.sites:  # sensors with a `# site:` line have their scans cut at revolutions
        cfg.sensors = {
            code: SensorModel(cfg.measurement_sigma, cfg.vertical_sigma,
                              cfg.detection_probability, dec.sites.get(SOURCES.name(code)))
            for code in sorted(set(plots.source.tolist()))
        }  # fmt: skip
    tracker = PlotTracker(cfg, origin=dec.origin if dec.cartesian else None,
                          plane_output=dec.cartesian)  # fmt: skip
    tracker.rejects = Rejects(args.dead_letter) if args.dead_letter else Rejects()
    out = Reports.concat([tracker.update(plots, xy), tracker.flush()])
    ids = np.asarray(number(out.subject))
    if dec.cartesian and tracker.plane_output:  # 2-D: the tracks' own plane coordinates
        xy = np.concatenate(tracker.plane_xy) if tracker.plane_xy else np.zeros((0, 2))
        head, a, b = "time,track_id,x,y", xy[:, 0], xy[:, 1]
    elif dec.cartesian:
        x, y, _ = geodetic_to_enu(out.lat, out.lon, 0.0, *dec.origin)
        head, a, b = "time,track_id,x,y", x, y
    else:
        head, a, b = "time,track_id,lat,lon", out.lat, out.lon
    write_tracks(args.out, head, out.time, ids, a, b, 3 if dec.cartesian else 7)
    n_tracks = len(set(ids.tolist()))  # not np.unique: its first call imports numpy.ma
    print(f"{len(out)} track points, {n_tracks} tracks", file=sys.stderr)
    if n_tracks == 0:
        print(tracker.reason(), file=sys.stderr)
    print(f"read: {rejects.summary()}", file=sys.stderr)
    print(f"tracker: {tracker.rejects.summary()}", file=sys.stderr)
    rejects.close()
    tracker.rejects.close()
    return 0


def write_tracks(
    path: str | Path,
    head: str,
    t: np.ndarray,
    ids: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    places: int,
) -> None:
    """The track table as one formatted block (np.savetxt formats row by row, which cost
    more than the tracking on a benchmark run): digits made as arrays when every value
    allows it (`_fixed`), else by %-formatting, which gives the same text."""
    cols = [_runs(t, 3), _integers(ids), _fixed(a, places), _fixed(b, places)]
    if len(t) and all(c is not None for c in cols):
        n = len(t)
        comma = (np.full((n, 1), 44, np.uint8), np.ones((n, 1), bool))
        nl = (np.full((n, 1), 10, np.uint8), np.ones((n, 1), bool))
        parts = [cols[0], comma, cols[1], comma, cols[2], comma, cols[3], nl]
        chars = np.concatenate([c for c, _ in parts], axis=1)  # type: ignore[misc]
        used = np.concatenate([m for _, m in parts], axis=1)  # type: ignore[misc]
        with open(path, "wb") as fh:
            fh.write(head.encode() + b"\n" + chars[used].tobytes())
        return
    row = f"%.3f,%d,%.{places}f,%.{places}f\n"
    cells = np.column_stack([t, ids, a, b]).astype(object)
    cells[:, 1] = ids.astype(np.int64).tolist()
    text = (row * len(t)) % tuple(cells.ravel().tolist()) if len(t) else ""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"{head}\n{text}")


def _digits(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers as right-aligned ASCII digits (n, width) and which are shown
    (no leading zeros, at least one digit)."""
    top = int(v.max()) if len(v) else 0
    width = len(str(top))
    p = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    d = (v[:, None] // p) % 10
    shown = (v[:, None] >= p) | (p == 1)
    return (d + 48).astype(np.uint8), shown


def _integers(v: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """`%d` of each value as (characters, shown) rows; None if any is negative. Track ids
    are few and small: each is made once and its row taken."""
    v = np.asarray(v).astype(np.int64)
    if len(v) and v.min() < 0:
        return None
    top = int(v.max()) if len(v) else 0
    if top + 1 < len(v) // 4:
        chars, shown = _digits(np.arange(top + 1))
        return chars.take(v, 0), shown.take(v, 0)
    return _digits(v)


def _runs(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`_fixed` of a column that comes in runs of one value (a scan's time on each of its
    rows): each run's value made once and repeated. Runs are of equal bits, so 0.0 and
    -0.0 are not one run."""
    x = np.asarray(x, float)
    bits = x.view(np.int64)
    start = np.flatnonzero(np.r_[True, bits[1:] != bits[:-1]]) if len(x) else bits
    if len(start) * 4 > len(x):
        return _fixed(x, places)
    one = _fixed(x.take(start), places)
    if one is None:
        return None
    rep = np.diff(np.r_[start, len(x)])
    return one[0].repeat(rep, 0), one[1].repeat(rep, 0)


def _fixed(x: np.ndarray, places: int) -> tuple[np.ndarray, np.ndarray] | None:
    """`%.{places}f` of each value as (characters, shown) rows, or None when a value is
    not finite, too large, or so near a rounding tie that the scaled double could round
    the other way than the exact binary value does (the caller %-formats then).

    x * 10**places is one correctly rounded product, within half a unit in the last place
    of the exact one: away from a tie, both round to the same integer."""
    x = np.asarray(x, float)
    y = x * 10.0**places
    if len(y) == 0 or not bool(np.isfinite(y).all()) or float(np.abs(y).max()) >= 2.0**52:
        return None
    ay = np.abs(y)
    if bool((np.abs(ay - np.floor(ay) - 0.5) <= 1e-15 * np.maximum(ay, 1.0)).any()):
        return None
    whole, frac = np.divmod(np.rint(ay).astype(np.int64), 10**places)
    wd, ws = _digits(whole)
    n = len(x)
    sign = np.full((n, 1), 45, np.uint8), np.signbit(x)[:, None]  # "-0.000" as % writes it
    dot = np.full((n, 1), 46, np.uint8), np.ones((n, 1), bool)
    p = 10 ** np.arange(places - 1, -1, -1, dtype=np.int64)
    fd = ((frac[:, None] // p) % 10 + 48).astype(np.uint8)
    parts = [sign, (wd, ws), dot, (fd, np.ones(fd.shape, bool))]
    return (
        np.concatenate([c for c, _ in parts], axis=1),
        np.concatenate([m for _, m in parts], axis=1),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket")
    add_parser(ap.add_subparsers(dest="command", required=True))
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
