"""`picket export`: tracks, alerts and zones from a store as GeoJSON, KML or KMZ.

Tracks are trajectories over the whole stored window by default (every subject that has a
stored point in it); `--at T` writes the snapshot as of T instead."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cmd_export(a: argparse.Namespace) -> int:
    import numpy as np

    from picket import config as cfgmod
    from picket.model.alerts import parse_time
    from picket.serve.queries import StoreReader
    from picket.share.export import export_picture, picture_from_points
    from picket.share.trajectories import gather
    from picket.store import describe, missing, store_target

    cfg = cfgmod.load(a.config)
    store = store_target(a.store, cfg)
    if missing(store):
        print(f"picket export: no store at {describe(store)}", file=sys.stderr)
        return 2
    layers = [x for x in a.layers.split(",") if x]
    reader = None
    try:
        since = parse_time(a.since) if a.since else -np.inf
        until = parse_time(a.until) if a.until else np.inf
        reader = StoreReader(store)
        pic = idx = tr = None
        if a.at:  # a snapshot: each subject's newest stored point at or before --at
            at = parse_time(a.at)
            pic = picture_from_points(reader.points(since, min(until, at)), at)
            # tracks seen within their drop time, unless --all-tracks
            idx = np.flatnonzero(pic.alive()) if not a.all_tracks else np.arange(len(pic))
            n = len(idx)
        else:  # trajectories over the whole window (every stored point of each subject)
            end = until if np.isfinite(until) else (reader.latest_time() or np.inf)
            tr = gather(lambda: reader.point_pages(since, end), None)
            n = len(tr)
        q = {"since": a.since or "", "until": a.until or ""}
        alerts = reader.alerts(q, 5000, 0) if "alerts" in layers else []
        zones = json.loads(Path(a.zones).read_text()) if a.zones else None
        data, _ = export_picture(a.format, pic, idx, alerts, zones, layers, trajectories=tr)
    except ValueError as e:
        print(f"picket export: {e}", file=sys.stderr)
        return 2
    finally:
        if reader is not None:
            reader.close()
    if a.out in (None, "-"):
        sys.stdout.buffer.write(data)
    else:
        Path(a.out).write_bytes(data)
        what = "trajectories" if tr is not None else "tracks"
        print(f"{a.out}: {n} {what}, {len(alerts)} alerts", file=sys.stderr)
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("export",
                       help="export trajectories, alerts and zones as GeoJSON, KML or KMZ")
    e.add_argument("--format", choices=["geojson", "kml", "kmz"], default="geojson")
    e.add_argument("--out", help="output file (default stdout)")
    e.add_argument("--store", help="SQLite store or postgresql:// URL (default from config)")
    e.add_argument("--config", help="TOML config")
    e.add_argument("--layers", default="tracks,alerts,zones", help="comma list")
    e.add_argument("--since", help="ISO time or unix seconds")
    e.add_argument("--until", help="ISO time or unix seconds")
    e.add_argument("--zones", help="GeoJSON zones to include")
    e.add_argument("--at", help="a snapshot as of this time (ISO or unix seconds) instead of "
                   "trajectories over the whole window")
    e.add_argument("--all-tracks", action="store_true",
                   help="with --at: also tracks gone quiet")
    e.set_defaults(func=cmd_export)
