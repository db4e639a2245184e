"""`picket query`: who was in an area between two times, with their trajectories."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_query(a: argparse.Namespace) -> int:
    import numpy as np

    from picket import config as cfgmod
    from picket.model.alerts import parse_time
    from picket.serve.picture import DOMAIN_CODES
    from picket.serve.queries import StoreReader
    from picket.share.trajectories import gather, write
    from picket.store import describe, missing, store_target

    cfg = cfgmod.load(a.config)
    store = store_target(a.store, cfg)
    if missing(store):
        print(f"picket query: no store at {describe(store)}", file=sys.stderr)
        return 2
    w, s, e, n = a.bbox
    if not (-90 <= s <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        print("picket query: --bbox W S E N in degrees, south <= north", file=sys.stderr)
        return 2
    domains = None
    if a.domain:
        bad = [d for d in a.domain.split(",") if d not in DOMAIN_CODES]
        if bad:
            print(f"picket query: unknown domain {bad[0]!r}; one of {', '.join(DOMAIN_CODES)}",
                  file=sys.stderr)  # fmt: skip
            return 2
        domains = tuple(DOMAIN_CODES[d] for d in a.domain.split(","))
    since = parse_time(a.since) if a.since else -np.inf
    until = parse_time(a.until) if a.until else np.inf
    reader = StoreReader(store)
    try:  # read page by page: memory follows the answer, not the window
        end = until if np.isfinite(until) else (reader.latest_time() or np.inf)
        tr = gather(lambda: reader.point_pages(since, end), (w, s, e, n), domains)
    finally:
        reader.close()
    fmt = a.format or _format_of(a.out)
    try:
        data = write(fmt, tr)
    except ValueError as err:
        print(f"picket query: {err}", file=sys.stderr)
        return 2
    if a.out in (None, "-"):
        sys.stdout.buffer.write(data)
    else:
        Path(a.out).write_bytes(data)
    print(f"{len(tr)} subjects in the box, {len(tr.cols['time'])} points", file=sys.stderr)
    return 0


def _format_of(out: str | None) -> str:
    """The format an output file's name implies (`.parquet` GeoParquet...), else a table."""
    if not out or out == "-":
        return "table"
    suffix = Path(out).suffix.lower()
    return {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".kml": "kml",
            ".parquet": "geoparquet", ".geoparquet": "geoparquet"}.get(suffix, "table")


def add_parser(sub) -> None:
    q = sub.add_parser("query", help="who was in an area between two times, with trajectories")
    q.add_argument("--bbox", nargs=4, type=float, required=True, metavar=("W", "S", "E", "N"),
                   help="degrees; west > east crosses the antimeridian")
    q.add_argument("--since", help="ISO time or unix seconds")
    q.add_argument("--until", help="ISO time or unix seconds")
    q.add_argument("--domain", help="comma list: air, maritime, space")
    q.add_argument("--format", choices=["table", "csv", "geojson", "kml", "geoparquet"],
                   help="default: from --out's suffix, else a table")
    q.add_argument("--out", help="output file (default stdout)")
    q.add_argument("--store", help="SQLite store or postgresql:// URL (default from config)")
    q.add_argument("--config", help="TOML config")
    q.set_defaults(func=cmd_query)
