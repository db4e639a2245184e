"""gpsjam.org's daily CSV: ``hex,count_good_aircraft,count_bad_aircraft`` (H3 res 4).

Reading never raises on bad rows: each is rejected with its line number, so a
half-broken download still maps what it holds.
"""

from __future__ import annotations

import io
from pathlib import Path

import h3
import numpy as np

from picket.em.cells import CellCounts
from picket.model.rejects import Rejects

HEADER = "hex,count_good_aircraft,count_bad_aircraft"


def parse(text: str, rejects: Rejects, source: str = "gpsjam") -> CellCounts:
    """Cells of one CSV text; duplicate cells add up (a file may be a concatenation)."""
    cells: list[int] = []
    good: list[int] = []
    bad: list[int] = []
    cols: tuple[int, int, int] | None = None
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")]
        if cols is None and "hex" in parts:
            try:
                cols = (parts.index("hex"), parts.index("count_good_aircraft"),
                        parts.index("count_bad_aircraft"))  # fmt: skip
            except ValueError:
                rejects.reject("gpsjam.bad_header", f"{source}:{no}", line)
                return CellCounts.empty()
            continue
        ih, ig, ib = cols or (0, 1, 2)
        try:
            c = h3.str_to_int(parts[ih])
            g, b = int(parts[ig]), int(parts[ib])
            if not h3.is_valid_cell(parts[ih]) or g < 0 or b < 0:
                raise ValueError(line)
        except (ValueError, IndexError, h3.H3BaseException):  # a malformed row: counted
            rejects.reject("gpsjam.bad_row", f"{source}:{no}", line)
            continue
        cells.append(c)
        good.append(g)
        bad.append(b)
    rejects.accept(len(cells))
    return merge(np.array(cells, np.uint64), np.array(good, np.int64), np.array(bad, np.int64))


def merge(cells: np.ndarray, good: np.ndarray, bad: np.ndarray) -> CellCounts:
    u, inv = np.unique(cells, return_inverse=True)
    return CellCounts(
        u.astype(np.uint64),
        np.bincount(inv, weights=good, minlength=len(u)).astype(np.int64),
        np.bincount(inv, weights=bad, minlength=len(u)).astype(np.int64),
    )


def read(path: str | Path, rejects: Rejects | None = None) -> CellCounts:
    p = Path(path)
    text = p.read_bytes().decode("utf-8", errors="replace")
    return parse(text, rejects if rejects is not None else Rejects(), p.name)


def format_csv(counts: CellCounts) -> str:
    out = io.StringIO()
    out.write(HEADER + "\n")
    for hx, g, b in zip(counts.hexes(), counts.good.tolist(), counts.bad.tolist(), strict=True):
        out.write(f"{hx},{g},{b}\n")
    return out.getvalue()


def write(path: str | Path, counts: CellCounts) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(format_csv(counts), encoding="utf-8")
    return p
