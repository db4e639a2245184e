"""Per-cell aircraft counts and the colours gpsjam.org paints them."""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np

from picket.detect.gnss import InterferenceThresholds, cell_fraction

GREEN, YELLOW, RED = "green", "yellow", "red"
RGB = {GREEN: "#2ca02c", YELLOW: "#ffcc00", RED: "#d62728"}


@dataclass
class CellCounts:
    """One map: H3 cells (as uint64) with good and bad aircraft counts, sorted by cell."""

    cells: np.ndarray  # uint64 H3 indexes
    good: np.ndarray  # int64
    bad: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.cells)

    @classmethod
    def empty(cls) -> CellCounts:
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def hexes(self) -> list[str]:
        return [h3.int_to_str(c) for c in self.cells.tolist()]

    def fraction(self) -> np.ndarray:
        return cell_fraction(self.good, self.bad)

    def colours(self, th: InterferenceThresholds | None = None) -> np.ndarray:
        return colours(self.good, self.bad, th)


def colours(
    good: np.ndarray, bad: np.ndarray, th: InterferenceThresholds | None = None
) -> np.ndarray:
    """'green' / 'yellow' / 'red' per cell from (bad - 1) / (good + bad), as gpsjam.org does."""
    th = th or InterferenceThresholds()
    frac = cell_fraction(np.asarray(good), np.asarray(bad))
    return np.where(frac >= th.red, RED, np.where(frac >= th.yellow, YELLOW, GREEN))
