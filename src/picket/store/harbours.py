"""Learned harbours kept in the store, so a restart or a later run starts with them.

One table, `harbour_cells` (cell id, when it became harbour), in the Store's own SQLite
connection: `save` writes the learner's cells (upsert, the earliest time kept), `load`
seeds a learner with them. `harbours_geojson` is the layer the picture can draw.
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


def save(conn: sqlite3.Connection, learner: HarbourLearner) -> int:
    """Write the learner's harbour cells; returns how many it holds."""
    ensure(conn)
    rows = [(int(c), float(t)) for c, t in learner.cells.items()]
    conn.executemany(
        "INSERT INTO harbour_cells (cell, since) VALUES (?, ?) "
        "ON CONFLICT(cell) DO UPDATE SET since = MIN(since, excluded.since)",
        rows,
    )
    conn.commit()
    return len(rows)


def load(conn: sqlite3.Connection, learner: HarbourLearner | None = None) -> HarbourLearner:
    """A learner seeded with the stored cells (harbour from their stored time on)."""
    ensure(conn)
    h = learner or HarbourLearner()
    for cell, since in conn.execute("SELECT cell, since FROM harbour_cells"):
        h.cells[int(cell)] = min(float(since), h.cells.get(int(cell), float("inf")))
    return h


def harbours_geojson(conn: sqlite3.Connection) -> dict[str, Any]:
    """The stored harbours as a GeoJSON FeatureCollection of ~0.5 km cells."""
    return load(conn).geojson()
