"""Conjunction lists for people: SOCRATES-style columns, computed once for CSV, CDM and alerts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from picket.space.elements import ElementSets
from picket.space.probability import hard_body_m, max_probability, probability
from picket.space.screen import Conjunctions

SOCRATES_COLUMNS = (
    "NORAD_CAT_ID_1",
    "OBJECT_NAME_1",
    "DSE_1",
    "NORAD_CAT_ID_2",
    "OBJECT_NAME_2",
    "DSE_2",
    "TCA",
    "TCA_RANGE",
    "TCA_RELATIVE_SPEED",
    "MAX_PROB",
    "DILUTION",
)


@dataclass
class ConjunctionReport:
    """Per-conjunction columns: identities, days since epoch, range, speed, probabilities."""

    conj: Conjunctions
    elements: ElementSets  # the screened catalogue (indexed by conj.i / conj.j)
    hbr_km: np.ndarray
    max_prob: np.ndarray
    dilution_km: np.ndarray
    prob: np.ndarray  # at the assumed sigma
    sigma_km: float

    @classmethod
    def build(cls, conj: Conjunctions, elements: ElementSets, sigma_km: float = 1.0):
        hbr = (hard_body_m(elements.name[conj.i]) + hard_body_m(elements.name[conj.j])) / 1000
        pmax, dil = max_probability(conj.miss_km, hbr)
        return cls(
            conj, elements, hbr, pmax, dil, probability(conj.miss_km, hbr, sigma_km), sigma_km
        )

    def __len__(self) -> int:
        return len(self.conj)

    def dse(self, which: int) -> np.ndarray:
        idx = self.conj.i if which == 1 else self.conj.j
        return (self.conj.tca - self.elements.epoch[idx]) / 86400.0

    def rows(self) -> list[dict[str, object]]:
        c, e = self.conj, self.elements
        tca = np.datetime_as_string((c.tca * 1e3).astype("datetime64[ms]"), unit="ms")
        return [
            {
                "NORAD_CAT_ID_1": int(e.norad[i]),
                "OBJECT_NAME_1": str(e.name[i]),
                "DSE_1": f"{d1:.3f}",
                "NORAD_CAT_ID_2": int(e.norad[j]),
                "OBJECT_NAME_2": str(e.name[j]),
                "DSE_2": f"{d2:.3f}",
                "TCA": t.replace("T", " "),
                "TCA_RANGE": f"{m:.3f}",
                "TCA_RELATIVE_SPEED": f"{s:.3f}",
                "MAX_PROB": f"{p:.3E}",
                "DILUTION": f"{dl:.3f}",
            }
            for i, j, d1, d2, t, m, s, p, dl in zip(
                c.i.tolist(),
                c.j.tolist(),
                self.dse(1).tolist(),
                self.dse(2).tolist(),
                tca.tolist(),
                c.miss_km.tolist(),
                c.speed_kms.tolist(),
                self.max_prob.tolist(),
                self.dilution_km.tolist(),
                strict=True,
            )
        ]

    def write_csv(self, path: str | Path) -> int:
        """SOCRATES columns: range km, speed km/s, TCA UTC, MAX_PROB, DILUTION km."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=SOCRATES_COLUMNS)
            w.writeheader()
            w.writerows(self.rows())
        return len(self)
