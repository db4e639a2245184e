"""Columnar truth tables: a dict of equal-length NumPy columns (lists for text)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

Table = dict[str, Any]


def concat(tables: Sequence[Table]) -> Table:
    tabs = [t for t in tables if t]
    if not tabs:
        return {}
    out: Table = {}
    for c in tabs[0]:
        vals = [t[c] for t in tabs]
        if isinstance(vals[0], list):
            out[c] = [x for v in vals for x in v]
        else:
            out[c] = np.concatenate(vals)
    return out


def take(table: Table, index: np.ndarray) -> Table:
    idx = np.asarray(index)
    out: Table = {}
    for c, v in table.items():
        out[c] = [v[i] for i in idx] if isinstance(v, list) else v[idx]
    return out


def sort_by(table: Table, *cols: str) -> Table:
    """Stable sort; the first column named is the primary key."""
    order = np.lexsort(tuple(table[c] for c in reversed(cols)))
    return take(table, order)


def length(table: Table) -> int:
    return len(next(iter(table.values()))) if table else 0
