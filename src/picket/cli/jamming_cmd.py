"""``picket jamming show FILE`` and ``picket jamming daily INPUT...``: GNSS-interference maps.

`show` renders a gpsjam.org daily CSV (or picket's own, same format) as PNG and
GeoJSON; `daily` replays ADS-B files into that CSV, one file per UTC day.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from picket.model.rejects import Rejects


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser("jamming", help="GNSS interference maps (gpsjam.org format)")
    sub = p.add_subparsers(dest="jamming_cmd", required=True)

    s = sub.add_parser("show", help="render a gpsjam-format CSV as PNG and GeoJSON")
    s.add_argument("file", type=Path, help="hex,count_good_aircraft,count_bad_aircraft CSV")
    s.add_argument("--png", type=Path, help="PNG to write (default: ./FILE-NAME.png)")
    s.add_argument("--geojson", type=Path, help="GeoJSON to write (default: ./FILE-NAME.geojson)")
    s.add_argument("--outline", nargs="*", default=None, metavar="GEOJSON",
                   help="coastline/border GeoJSON drawn under the cells "
                        "(default: the config's zone files)")  # fmt: skip
    s.add_argument("--config", help="TOML config (zone files, interference thresholds)")
    s.add_argument("--min-aircraft", type=int, default=1, help="hide cells with fewer aircraft")
    s.add_argument("--bbox", type=float, nargs=4, metavar=("W", "S", "E", "N"))
    s.set_defaults(func=cmd_show)

    d = sub.add_parser("daily", help="replay ADS-B files into daily gpsjam-format CSVs")
    d.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    d.add_argument("--out", type=Path, required=True, help="directory for YYYY-MM-DD-h3_4.csv")
    d.add_argument("--format", default="auto", help="auto (sniffed) or a name from `formats`")
    d.add_argument("--config", help="TOML config (interference thresholds)")
    d.add_argument(
        "--start-time",
        help="ISO time of the first frame for clockless formats (Beast, AVR); "
        "default: from the file name when it holds a unix time",
    )
    d.set_defaults(func=cmd_daily)
    return p


def _thresholds(config: str | None):  # type: ignore[no-untyped-def]
    from picket import config as cfgmod
    from picket.detect.gnss import InterferenceThresholds

    cfg = cfgmod.load(config)
    over = getattr(cfg, "detectors", {}).get("gnss.interference", {}) if config else {}
    th = InterferenceThresholds(**over) if isinstance(over, dict) else InterferenceThresholds()
    return cfg, th


def cmd_show(a: argparse.Namespace) -> int:
    from picket.em import gpsjam_csv, render

    if not a.file.exists():
        print(f"picket jamming show: {a.file}: no such file", file=sys.stderr)
        return 2
    cfg, th = _thresholds(a.config)
    rej = Rejects()
    counts = gpsjam_csv.read(a.file, rej)
    outline = a.outline if a.outline is not None else list(cfg.zone_files)
    outline = [f for f in outline if str(f).lower().endswith((".geojson", ".json"))]
    # outputs default to the current directory: the input's folder may be read-only or shared
    here = Path(a.file.name)
    gj = render.write_geojson(a.geojson or here.with_suffix(".geojson"), counts, th=th,
                              min_aircraft=a.min_aircraft)  # fmt: skip
    col = counts.colours(th)
    print(f"{a.file.name}: {len(counts)} cells, {int((col == 'red').sum())} red, "
          f"{int((col == 'yellow').sum())} yellow; input: {rej.summary()}")  # fmt: skip
    print(f"GeoJSON: {gj}")
    try:
        png = render.write_png(a.png or here.with_suffix(".png"), counts, th=th,
                               outline_files=outline, title=a.file.stem,
                               min_aircraft=a.min_aircraft,
                               bbox=tuple(a.bbox) if a.bbox else None)  # fmt: skip
    except RuntimeError as e:
        print(f"picket jamming show: {e}", file=sys.stderr)
        return 1
    print(f"PNG: {png}")
    return 0


def cmd_daily(a: argparse.Namespace) -> int:
    from picket.em import gpsjam_csv
    from picket.em.daily import DailyProduct, day_name
    from picket.model.alerts import parse_time
    from picket.sources.registry import UnknownFormat, detect, get_format, read_file

    _, th = _thresholds(a.config)
    prod = DailyProduct(th)
    rej = Rejects()
    for path in a.inputs:
        if not path.exists():
            print(f"picket jamming daily: {path}: no such file", file=sys.stderr)
            return 2
        try:
            fmt = detect(path) if a.format == "auto" else get_format(a.format)
            dargs = {"start_time": parse_time(a.start_time)} if a.start_time and fmt.name in (
                "beast", "avr") else {}  # fmt: skip
            prod.add_all(read_file(path, rej, fmt.name, **dargs))
        except UnknownFormat as e:
            print(f"picket jamming daily: {e}", file=sys.stderr)
            return 2
    days = prod.days()
    for day in days:
        out = gpsjam_csv.write(a.out / f"{day_name(day)}-h3_{th.resolution}.csv", prod.counts(day))
        print(f"{out}: {len(prod.counts(day))} cells")
    if not days:
        print("picket jamming daily: no aircraft positions with integrity fields", file=sys.stderr)
    print(f"input: {rej.summary()}")
    return 0
