"""`picket track` end to end with every fast path against none of them, byte for byte.

The benchmark's kind of scene (a grid of 200 targets, Pd 0.9, clutter, sigma 1 m, the
benchmark's settings) written as a plot CSV: the tracks CSV must be the same file
whether the plots are parsed in one call or cell by cell, reach the tracker as written
or through the ground, are associated by the one-time CV path or the general one, and
the table is written from array digits or by %-formatting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from picket.cli import track_cmd
from picket.sources import plots_csv
from picket.track import CartesianTracker


def _scene(path: Path, n: int = 200, scans: int = 60, seed: int = 4) -> None:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    pos = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n] * 50.0
    vel = rng.normal(0, 1.0, (n, 2))
    rows = []
    for k in range(scans):
        pos = pos + vel + rng.normal(0, np.sqrt(0.05), (n, 2))
        seen = pos[rng.random(n) < 0.9]
        seen = seen + rng.normal(0, 1.0, seen.shape)
        clutter = rng.uniform(pos.min(0) - 200, pos.max(0) + 200, (rng.poisson(10), 2))
        for x, y in np.concatenate([seen, clutter]):
            rows.append(f"{k:.3f},{x:.3f},{y:.3f}")
    path.write_text("time,x,y\n" + "\n".join(rows) + "\n")


ARGS = ["--process-noise", "0.05", "--measurement-sigma", "1.0", "--clutter-rate", "10",
        "--gate-sigma", "3", "--max-distance", "10", "--confirm", "3/3", "--delete-after",
        "5", "--initial-velocity-sigma", "2"]  # fmt: skip


def test_fast_paths_write_the_same_tracks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plots = tmp_path / "plots.csv"
    _scene(plots)
    fast, slow = tmp_path / "fast.csv", tmp_path / "slow.csv"
    assert track_cmd.main(["track", str(plots), "--out", str(fast), *ARGS]) == 0
    monkeypatch.setattr(CartesianTracker, "fast_plain", False)
    monkeypatch.setattr(plots_csv.PlotsCsvDecoder, "plane_only", lambda self: False)
    monkeypatch.setattr(plots_csv, "decimals", lambda *a: None)
    monkeypatch.setattr(track_cmd, "_fixed", lambda *a: None)
    assert track_cmd.main(["track", str(plots), "--out", str(slow), *ARGS]) == 0
    text = slow.read_text()
    assert text.count("\n") > 150 * 40  # most targets tracked over most scans
    assert fast.read_text() == text
