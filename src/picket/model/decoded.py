"""What a reader hands to the pipeline: a batch of reports plus identity facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model.reports import SCHEMA, Reports


@dataclass(slots=True)
class Static:
    """Slow-changing identity data for one subject (AIS type 5/24, ADS-B callsign...).

    Low volume (a vessel sends its name every few minutes), so a small object is fine.
    """

    time: float
    subject: int
    fields: dict[str, Any]


def _frozen_empty_columns() -> dict[str, np.ndarray]:
    cols = {c: np.full(0, miss, dtype=dt) for c, (dt, miss) in SCHEMA.items()}
    for v in cols.values():
        v.flags.writeable = False
    return cols


# Zero-length columns hold no values to change, so every empty batch shares one set
# (decoders return an empty batch for most chunks; 20-odd np.full calls each added up).
_EMPTY_COLUMNS = _frozen_empty_columns()


@dataclass(slots=True)
class Decoded:
    reports: Reports
    statics: list[Static] = field(default_factory=list)

    @classmethod
    def empty(cls) -> Decoded:
        """An empty batch: its own `Reports` and list, the shared read-only empty columns."""
        return cls(Reports(_EMPTY_COLUMNS), [])
