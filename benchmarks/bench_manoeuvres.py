"""Manoeuvre detection against operators' published manoeuvre times.

The benchmark of Shorten et al. ("Wide-scale Monitoring of Satellite Lifetimes:
Pitfalls and a Benchmark Dataset"): TLE histories of 8 satellites (LEO
altimetry: CryoSat-2, Jason-2, Jason-3, SARAL, Sentinel-3B; GEO: Fengyun-2D,
-2F, -4A) with the operators' manoeuvre times. Per satellite and per class:
true manoeuvres inside the history, those outside it, detections, one-to-one
matches within the window, duplicates (a second detection of a matched burn),
false alarms, recall, precision and the median offset of the true time from the
detection's interval (0 when inside). Scoring: `picket.space.score`.

Run: ``picket bench manoeuvres [--data DIR] [--window-days 2]``.
"""

from __future__ import annotations

import argparse
import sys

from picket.space.score import WINDOW_S, score_folder, table
from shared_data import SHARED

DEFAULT = SHARED / "space" / "manoeuvre_benchmark"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="picket bench manoeuvres", description=__doc__)
    p.add_argument("--data", default=str(DEFAULT), help="folder of <name>.tle + manoeuvres_*.yaml")
    p.add_argument("--window-days", type=float, default=WINDOW_S / 86400.0)
    a = p.parse_args(argv)
    rows = score_folder(a.data, window_s=a.window_days * 86400.0)
    if not rows:
        print(f"bench manoeuvres: no <name>.tle with manoeuvres_<name>.yaml in {a.data}",
              file=sys.stderr)  # fmt: skip
        return 2
    print(f"window +-{a.window_days:g} days around each detection's interval; one to one")
    print(table(rows))
    print(f"detection time: {sum(r.seconds for r in rows):.1f} s for {len(rows)} histories")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
