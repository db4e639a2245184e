"""Learned harbours kept in the store, so a restart or a later run starts with them.

One table, `harbour_cells` (cell id, when it became harbour), in SQLite and PostgreSQL
alike (`Store.save_harbour_cells` / `Store.harbour_cells`): `save` writes the learner's
cells (upsert, the earliest time kept), `load` seeds a learner with them, and
`harbours_geojson` is the layer the picture draws (`/api/layers/harbours`). Each takes a
store, or a bare SQLite connection (the SQLite store's own).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from picket.detect.harbours import HarbourLearner

TABLE = """
CREATE TABLE IF NOT EXISTS harbour_cells (
    cell INTEGER PRIMARY KEY,
    since REAL NOT NULL
);
"""


def ensure(conn: sqlite3.Connection) -> None:
    conn.executescript(TABLE)


def save_cells(conn: sqlite3.Connection, cells: dict[int, float]) -> None:
    """SQLite: upsert cells, a cell keeping its earliest time."""
    ensure(conn)
    conn.executemany(
        "INSERT INTO harbour_cells (cell, since) VALUES (?, ?) "
        "ON CONFLICT(cell) DO UPDATE SET since = MIN(since, excluded.since)",
        [(int(c), float(t)) for c, t in cells.items()],
    )
    conn.commit()


def load_cells(conn: sqlite3.Connection) -> dict[int, float]:
    ensure(conn)
    return {int(c): float(t) for c, t in conn.execute("SELECT cell, since FROM harbour_cells")}


def _cells_of(where: Any) -> dict[int, float]:
    return load_cells(where) if isinstance(where, sqlite3.Connection) else where.harbour_cells()


def save(where: Any, learner: HarbourLearner) -> int:
    """Write the learner's harbour cells to a store (or SQLite connection); returns how
    many it holds."""
    cells = dict(learner.cells)
    if isinstance(where, sqlite3.Connection):
        save_cells(where, cells)
    else:
        where.save_harbour_cells(cells)
    return len(cells)


def load(where: Any, learner: HarbourLearner | None = None) -> HarbourLearner:
    """A learner seeded with the stored cells (harbour from their stored time on)."""
    h = learner or HarbourLearner()
    for cell, since in _cells_of(where).items():
        h.cells[cell] = min(since, h.cells.get(cell, float("inf")))
    return h


def harbours_geojson(where: Any) -> dict[str, Any]:
    """The stored harbours as a GeoJSON FeatureCollection of ~0.5 km cells."""
    return load(where).geojson()
