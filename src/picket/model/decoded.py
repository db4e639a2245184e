"""What a reader hands to the pipeline: a batch of reports plus identity facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from picket.model.reports import Reports


@dataclass(slots=True)
class Static:
    """Slow-changing identity data for one subject (AIS type 5/24, ADS-B callsign...).

    Low volume (a vessel sends its name every few minutes), so a small object is fine.
    """

    time: float
    subject: int
    fields: dict[str, Any]


@dataclass(slots=True)
class Decoded:
    reports: Reports
    statics: list[Static] = field(default_factory=list)

    @classmethod
    def empty(cls) -> Decoded:
        return cls(Reports.empty(0), [])
