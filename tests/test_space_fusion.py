"""Catalogue fusion across providers and epochs: newest wins, provenance, disagreements."""

from __future__ import annotations

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.space.catalog import fuse
from picket.space.elements import ElementSets
from picket.space.read import read_catalogues, read_elements

pytestmark = pytest.mark.realdata


def test_two_providers_reconciled(shared_data):
    d = shared_data / "space"
    rj = Rejects()
    stack = read_catalogues(
        [f"celestrak={d / 'celestrak_omm_catalog_20241101.csv'}",
         f"3le={d / 'catalog_3le_20220715.txt'}"], rj,
    )  # fmt: skip
    assert len(stack) == 26834 + 24132 and rj.rejected == 0
    f = fuse(stack)
    both = np.intersect1d(stack.norad[stack.provider == "celestrak"],
                          stack.norad[stack.provider == "3le"])  # fmt: skip
    assert len(f.elements) == len(np.unique(stack.norad))
    assert int((f.n_providers == 2).sum()) == len(both)
    # the 2024 sets are newer wherever an object is in both, so they win
    won = f.elements.provider[np.isin(f.elements.norad, both)]
    assert (won == "celestrak").all()
    only_old = ~np.isin(f.elements.norad, stack.norad[stack.provider == "celestrak"])
    assert (f.elements.provider[only_old] == "3le").all()
    # provenance: the row is the TLE's line 1 in the 3LE file (its name on the line above)
    k = int(np.flatnonzero(only_old)[0])
    line = (d / "catalog_3le_20220715.txt").read_text().splitlines()[int(f.elements.row[k]) - 1]
    assert line.startswith("1 ") and int(line[2:7].strip()) == f.elements.norad[k]
    # epochs two years apart are not compared; stale ones are named
    assert f.disagreements == []
    assert f.stale(np.quantile(f.elements.epoch, 0.99), 30).sum() >= len(f.elements) - 26834


def test_disagreements_flagged_where_providers_differ(shared_data):
    es = read_elements(shared_data / "space/celestrak_omm_catalog_20241101.csv", Rejects())
    leo = np.flatnonzero(es.mean_motion > 14)[:500]
    a = es.take(leo)
    b = a.take(np.arange(len(a)))
    b.provider = np.full(len(b), "other")
    # same epochs (a tie: the first provider listed wins), compared at that epoch
    b.mean_anomaly = a.mean_anomaly.copy()
    shifted = np.arange(0, len(a), 50)
    b.mean_anomaly[shifted] += 1.0  # ~120 km along track
    c = a.take(np.arange(3))
    c.provider = np.full(3, "newer")
    c.epoch = a.epoch[:3] + 86400.0  # a day newer: wins, too far apart to compare at 0.5 days
    f = fuse(ElementSets.concat([a, b, c]), max_gap_days=0.5, disagree_km=25.0)
    assert f.elements.provider[:3].tolist() == ["newer"] * 3
    assert (f.elements.provider[3:] == a.provider[0]).all()
    assert f.n_sets[:3].tolist() == [3, 3, 3] and f.n_providers[:3].tolist() == [3, 3, 3]
    flagged = sorted(x.norad for x in f.disagreements)
    assert flagged == sorted(a.norad[shifted[shifted >= 3]].tolist())
    assert all(x.distance_km > 80 for x in f.disagreements)
