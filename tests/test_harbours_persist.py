"""Harbours learned in one run are in the store for the next (and for the picture)."""

from __future__ import annotations

import sqlite3

import pytest

from picket.cli.main import main
from picket.store.harbours import harbours_geojson


@pytest.mark.realdata
@pytest.mark.slow
def test_learned_harbours_persist_in_the_store(shared_data, tmp_path):
    store = tmp_path / "s.sqlite"
    solent = shared_data / "ais/solent_ais_20160112.csv"
    assert main(["replay", str(solent), "--store", str(store), "--quiet", "--no-progress"]) == 0
    db = sqlite3.connect(store)
    n = db.execute("SELECT count(*) FROM harbour_cells").fetchone()[0]
    fc = harbours_geojson(db)
    db.close()
    assert n > 0 and len(fc["features"]) == n
    # Portsmouth harbour (50.80 N, 1.11 W) is among them
    assert any(abs(f["geometry"]["coordinates"][0][0][1] - 50.80) < 0.03
               and abs(f["geometry"]["coordinates"][0][0][0] + 1.11) < 0.05
               for f in fc["features"])  # fmt: skip
    # a rerun on the same store loads them and keeps them (cells upserted, none doubled)
    assert main(["replay", str(solent), "--store", str(store), "--quiet", "--no-progress"]) == 0
    db = sqlite3.connect(store)
    assert db.execute("SELECT count(*) FROM harbour_cells").fetchone()[0] == n
    db.close()
