"""`picket space screen|passes|manoeuvres`: the common space picture from element-set files."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from picket.cli.progress import terminal_progress


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    sp = subparsers.add_parser("space", help="space catalogue: conjunctions, passes, manoeuvres")
    sub = sp.add_subparsers(dest="space_cmd", required=True)

    s = sub.add_parser("screen", help="conjunction screening of catalogues against themselves")
    s.add_argument("catalogs", nargs="*", help="TLE/3LE/OMM files; PROVIDER=FILE names a provider")
    s.add_argument("--cdm", nargs="+", default=[], metavar="FILE",
                   help="CCSDS CDMs (KVN or XML; files or directories) from an operator or "
                   "Space-Track: conjunctions shown beside picket's own, same alert kind "
                   "(also [space] cdm in --config)")
    s.add_argument("--days", type=float, default=7.0, help="window length (7, as SOCRATES)")
    s.add_argument("--threshold-km", type=float, default=5.0, help="report closer than (5 km)")
    s.add_argument("--start", help="window start, ISO 8601 UTC (default: the catalogue's now)")
    s.add_argument("--out", default="conjunctions.csv", help="SOCRATES-column CSV")
    s.add_argument("--cdm-dir", help="also write one CCSDS CDM (KVN) per conjunction here")
    s.add_argument("--alerts-out", help="space.conjunction alerts as JSON Lines")
    s.add_argument("--alert-km", type=float, default=1.0, help="alert below this range (1 km)")
    s.add_argument(
        "--opsmode",
        choices=("a", "i"),
        default="a",
        help="SGP4 mode: a = AFSPC as SOCRATES (default), i = improved",
    )
    s.add_argument("--step", type=float, default=60.0, help="screening time step, s (60)")
    s.add_argument("--workers", type=int, default=2, help="processes (2)")
    s.add_argument(
        "--max-age-days",
        type=float,
        default=30.0,
        help="leave out objects whose newest element set is older (30)",
    )
    s.add_argument(
        "--sigma-km",
        type=float,
        default=1.0,
        help="assumed 1-sigma position error per object for the probability (1 km)",
    )
    s.add_argument("--dead-letter", help="keep rejected element sets here (JSON Lines)")
    _alert_options(s)
    s.set_defaults(func=cmd_screen)

    p = sub.add_parser("passes", help="which satellites see an area, and when")
    p.add_argument("catalogs", nargs="+")
    p.add_argument("--area", required=True, nargs="+", help="GeoJSON/KML polygon file(s)")
    p.add_argument("--start", help="ISO 8601 UTC (default: the catalogue's now)")
    p.add_argument("--hours", type=float, default=6.0)
    p.add_argument("--step", type=float, default=30.0, help="s (30)")
    p.add_argument("--min-elevation", type=float, default=10.0, help="deg above horizon (10)")
    p.add_argument("--out", default="passes.csv")
    p.add_argument("--geojson-out", help="ground tracks of the passes as a GeoJSON layer")
    p.add_argument("--max-age-days", type=float, default=30.0)
    p.set_defaults(func=cmd_passes)

    m = sub.add_parser("manoeuvres", help="manoeuvres from element-set history")
    m.add_argument("histories", nargs="+", help="TLE/OMM files with many epochs per object")
    m.add_argument("--out", default="manoeuvres.csv")
    m.add_argument("--alerts-out", help="space.manoeuvre alerts as JSON Lines")
    m.add_argument(
        "--sma-floor-km",
        type=float,
        default=0.0,
        help="report in-plane steps from this semi-major-axis change on (km; 0: noise decides)",
    )
    _alert_options(m)
    m.set_defaults(func=cmd_manoeuvres)
    return sp


def default_start(epochs: np.ndarray) -> float:
    """The catalogue's "now": its 99th-percentile epoch, to the minute.

    Not the newest epoch: catalogues hold a few element sets dated days ahead.
    """
    return float(np.floor(np.quantile(epochs, 0.99) / 60.0) * 60.0) if len(epochs) else 0.0


def _catalogue(paths: list[str], rejects, start: str | None, max_age_days: float):
    from picket.model.alerts import parse_time
    from picket.space.catalog import fuse
    from picket.space.read import read_catalogues

    stack = read_catalogues(paths, rejects)
    fused = fuse(stack)
    t0 = parse_time(start) if start else default_start(fused.elements.epoch)
    stale = fused.stale(t0, max_age_days)
    print(
        f"{len(stack)} element sets, {len(fused.elements)} objects after fusion "
        f"({int((fused.n_providers > 1).sum())} from several providers, "
        f"{len(fused.disagreements)} provider disagreements, {fused.rejected} refused by SGP4, "
        f"{int(stale.sum())} older than {max_age_days:g} days left out); "
        f"input: {rejects.summary()}"
    )
    return fused, fused.elements.take(np.flatnonzero(~stale)), t0


def _alert_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config: its store, alert file and [[outputs]] "
                   "(CoT, webhooks, ...) receive the alerts as in replay and run")
    p.add_argument("--store", help="SQLite store path or postgresql:// URL to keep the alerts "
                   "in (over the config's [store]); without --store or --config: none")


def _through_pipeline(a: argparse.Namespace, det: Any, signals: list) -> tuple[int, Any]:
    """Alerts go through the pipeline's one alert book and its sinks (store, JSONL, console
    off, [[outputs]]), as every other alert: `det` is offered the signals and gives them at
    the pipeline's detector pass of one empty batch. Returns (alert events, the store or
    None). Nothing is assembled when no sink wants them."""
    from picket import config as cfgmod
    from picket.model.decoded import Decoded
    from picket.pipeline.assemble import assemble

    if not (a.alerts_out or a.config or a.store):
        return 0, None
    cfg = cfgmod.load(a.config)
    if a.store:
        cfg.store_path, cfg.store_url = a.store, None
    asm = assemble(cfg, alerts_out=a.alerts_out, console=False,
                   store=bool(a.store or a.config))  # fmt: skip
    pipe = asm.pipeline
    mine = next((d for d in pipe.detectors if getattr(d, "kind", "") == det.kind), None)
    if mine is not None and hasattr(mine, "offer"):
        det = mine
        if hasattr(mine, "paths"):  # the [space] cdm follower: its CDMs are in `signals`
            mine.paths = []
    else:
        pipe.detectors.append(det)
    det.offer(signals)
    try:
        # no reports: the batch's event time stays unknown, so no quiet-close of alerts
        # timed days apart (a CDM issued last week and one today are both open)
        n = len(pipe.process(Decoded.empty()))
        pipe.finish()
    finally:
        where = asm.store
        asm.close()
    return n, where


def _sinks(a: argparse.Namespace, store: Any) -> str:
    from picket.store import describe

    out = [a.alerts_out] if a.alerts_out else []
    if store is not None:
        out.append(f"store {describe(getattr(store, 'path', None) or store)}")
    if a.config:
        out.append(f"the outputs of {a.config}")
    return ", ".join(out) or "nowhere"


def cmd_screen(a: argparse.Namespace) -> int:
    from picket.detect.space_conjunction import (
        ConjunctionThresholds,
        SpaceConjunction,
        cdm_signals,
        conjunction_signals,
        merge_signals,
    )
    from picket.model.alerts import iso
    from picket.model.rejects import Rejects
    from picket.space.cdm import write_cdms
    from picket.space.cdm_read import read_cdms
    from picket.space.propagate import Propagator
    from picket.space.report import ConjunctionReport
    from picket.space.screen import ScreenConfig, screen, screen_steps

    if a.config:  # [space] cdm: the config's CDM files and folders, beside --cdm
        from picket import config as cfgmod

        try:
            cfg = cfgmod.load(a.config)
        except cfgmod.ConfigError as e:
            print(f"picket space screen: {e}", file=sys.stderr)
            return 2
        a.cdm = [*a.cdm, *(str(cfg.path(p)) for p in cfg.space_cdm)]
    if not a.catalogs and not a.cdm:
        print("picket space screen: give element-set files, --cdm files, [space] cdm in "
              "--config, or both",
              file=sys.stderr)  # fmt: skip
        return 2
    for p in a.catalogs + a.cdm:
        if not Path(p.rpartition("=")[2] if "=" in p else p).exists():
            print(f"picket space screen: {p}: no such file", file=sys.stderr)
            return 2
    rejects = Rejects(a.dead_letter)
    th = ConjunctionThresholds(alert_km=a.alert_km)
    signals: list = []
    if a.catalogs:
        _, el, t0 = _catalogue(a.catalogs, rejects, a.start, a.max_age_days)
        prop = Propagator(el, a.opsmode)
        cfg = ScreenConfig(threshold_km=a.threshold_km, step_s=a.step, workers=a.workers)
        advance, stop = terminal_progress(screen_steps(a.days * 86400.0, cfg), "screen", "steps")
        try:
            conj, st = screen(prop, t0, a.days * 86400.0, cfg, progress=advance)
        finally:
            stop()
        rep = ConjunctionReport.build(conj, prop.elements, a.sigma_km)
        rep.write_csv(a.out)
        print(
            f"{iso(t0)} + {a.days:g} days, {a.threshold_km:g} km: {len(conj)} conjunctions "
            f"-> {a.out} in {st.seconds['wall']:.1f} s"
        )
        print(
            f"pairs: {st.pairs_total:,} in catalogue, {st.pairs_after_ap:,} after "
            f"apogee/perigee; pair-steps: {st.spatial:,} spatial, {st.spatial_after_ap:,} after "
            f"apogee/perigee, {st.linear:,} after linear bound, {st.refined:,} with a minimum "
            "in-step"
        )
        if st.unphysical:
            print(f"{st.unphysical:,} propagated states off any Earth orbit (decaying element "
                  "sets) left out of the screen")  # fmt: skip
        if prop.failures:
            print(
                f"{len(prop.failures)} objects SGP4 could not initialise (e.g. norad:"
                f"{prop.failures[0].norad}: {prop.failures[0].reason})"
            )
        if a.cdm_dir:
            n = write_cdms(rep, a.cdm_dir, time.time())
            print(f"{n} CDMs -> {a.cdm_dir}")
        signals = conjunction_signals(rep, t0, th)
    if a.cdm:
        cdms = read_cdms(a.cdm, rejects)
        from_cdm = cdm_signals(cdms, th)
        origins = sorted({c.originator for c in cdms})
        print(f"{len(cdms)} CDMs read ({', '.join(origins[:5]) or 'none'}): {len(from_cdm)} "
              f"objects with a conjunction closer than {a.alert_km:g} km; input: "
              f"{rejects.summary()}")  # fmt: skip
        signals = merge_signals(signals, from_cdm)
    n, where = _through_pipeline(a, SpaceConjunction(th), signals)
    if n:
        print(f"{n} space.conjunction alert events (< {a.alert_km:g} km) -> {_sinks(a, where)}")
    rejects.close()
    return 0


def cmd_passes(a: argparse.Namespace) -> int:
    from picket.geo.zones import load_zones
    from picket.model.alerts import iso
    from picket.model.rejects import Rejects
    from picket.space.passes import find_passes, pass_steps
    from picket.space.propagate import Propagator, subpoints

    rejects = Rejects()
    zones = load_zones(a.area, rejects)
    if not len(zones):
        print(f"picket space passes: no polygon in {a.area}: {rejects.summary()}", file=sys.stderr)
        return 2
    _, el, t0 = _catalogue(a.catalogs, rejects, a.start, a.max_age_days)
    prop = Propagator(el)
    advance, stop = terminal_progress(pass_steps(a.hours * 3600.0, a.step), "passes", "steps")
    try:
        ps = find_passes(prop, zones, t0, a.hours * 3600.0, a.step, a.min_elevation,
                         progress=advance)  # fmt: skip
    finally:
        stop()
    e = prop.elements
    with open(a.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "NORAD_CAT_ID",
                "OBJECT_NAME",
                "AREA",
                "START",
                "END",
                "DURATION_S",
                "MAX_ELEVATION_DEG",
                "MIN_GROUND_DISTANCE_KM",
            ]
        )
        for k in np.argsort(ps.start, kind="stable").tolist():
            s = int(ps.sat[k])
            w.writerow(
                [
                    int(e.norad[s]),
                    e.name[s],
                    zones.names[int(ps.zone[k])],
                    iso(ps.start[k]),
                    iso(ps.end[k]),
                    round(ps.end[k] - ps.start[k]),
                    round(float(ps.max_elevation_deg[k]), 1),
                    round(float(ps.min_ground_km[k]), 1),
                ]
            )
    print(
        f"{len(ps)} passes of {len(np.unique(ps.sat))} objects over "
        f"{', '.join(zones.names)} in {a.hours:g} h from {iso(t0)} -> {a.out}"
    )
    if a.geojson_out:
        feats = []
        for k in range(len(ps)):
            s = int(ps.sat[k])
            ts = np.arange(ps.start[k], ps.end[k] + a.step / 2, a.step)
            r, _, _ = prop.states(ts, np.array([s]))
            lat, lon, alt = subpoints(r[0], ts)
            feats.append(
                {
                    "type": "Feature",
                    "properties": {
                        "subject": f"norad:{int(e.norad[s])}",
                        "name": str(e.name[s]),
                        "start": iso(ps.start[k]),
                        "end": iso(ps.end[k]),
                        "layer": "space",
                        "max_elevation_deg": round(float(ps.max_elevation_deg[k]), 1),
                    },
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [
                            [round(float(x), 5), round(float(y), 5), round(float(z), 0)]
                            for x, y, z in zip(lon, lat, alt, strict=True)
                        ],
                    },
                }
            )
        Path(a.geojson_out).write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
        print(f"ground tracks -> {a.geojson_out}")
    return 0


def cmd_manoeuvres(a: argparse.Namespace) -> int:
    from picket.detect.space_manoeuvre import (
        ManoeuvreThresholds,
        SpaceManoeuvre,
        manoeuvre_signals,
    )
    from picket.model.alerts import iso
    from picket.model.rejects import Rejects
    from picket.space.manoeuvres import detect_manoeuvres
    from picket.space.read import read_catalogues

    rejects = Rejects()
    hist = read_catalogues(a.histories, rejects)
    th = ManoeuvreThresholds(min_sma_km=a.sma_floor_km)
    m = detect_manoeuvres(hist, th.config())
    with open(a.out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "NORAD_CAT_ID",
                "OBJECT_NAME",
                "BEFORE",
                "AFTER",
                "DELTA_SMA_KM",
                "DELTA_INCLINATION_DEG",
                "DELTA_RAAN_DEG",
                "CHANGED",
            ]
        )
        for k in range(len(m)):
            w.writerow(
                [
                    int(m.norad[k]),
                    m.name[k],
                    iso(m.t_before[k]),
                    iso(m.t_after[k]),
                    f"{m.d_sma_km[k]:.3f}",
                    f"{m.d_incl_deg[k]:.4f}",
                    f"{m.d_raan_deg[k]:.4f}",
                    m.which[k],
                ]
            )
    print(
        f"{len(hist)} element sets of {len(np.unique(hist.norad))} objects: "
        f"{len(m)} manoeuvres -> {a.out}; input: {rejects.summary()}"
    )
    n, where = _through_pipeline(a, SpaceManoeuvre(th), manoeuvre_signals(m, th))
    if n:
        print(f"{n} space.manoeuvre alert events -> {_sinks(a, where)}")
    return 0
