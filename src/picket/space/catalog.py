"""Catalogue fusion: many providers and epochs reconciled into one element set per object.

Rule: per catalogue number the newest epoch that SGP4 accepts wins; the
element sets it beat stay countable (how many, from which providers). Where
two providers hold sets of the same object whose epochs are close
(`max_gap_days`), the older is propagated to the newer epoch and compared:
a position difference beyond `disagree_km` is a disagreement worth an analyst's
look (cross-tagged objects, a manoeuvre one provider has not seen, bad data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from picket.space.elements import ElementSets, unix_to_jd


@dataclass
class Disagreement:
    norad: int
    provider_new: str
    provider_old: str
    epoch_new: float
    epoch_old: float
    distance_km: float


@dataclass
class FusedCatalogue:
    elements: ElementSets  # one per object, the winner's provenance in provider/row
    n_sets: np.ndarray  # element sets seen per object
    n_providers: np.ndarray  # providers that had the object
    rejected: int  # element sets SGP4 refused (error at epoch)
    disagreements: list[Disagreement] = field(default_factory=list)

    def stale(self, now: float, max_age_days: float) -> np.ndarray:
        """Objects whose winning element set is older than `max_age_days` at `now`."""
        return (now - self.elements.epoch) > max_age_days * 86400.0


def fuse(
    stack: ElementSets,
    max_gap_days: float = 3.0,
    disagree_km: float = 25.0,
    opsmode: str = "a",
) -> FusedCatalogue:
    if not len(stack):
        z = np.zeros(0, np.int64)
        return FusedCatalogue(stack, z, z, 0)
    sats = stack.satrecs(opsmode)
    valid = np.array([s.error == 0 for s in sats]) & np.isfinite(stack.epoch)
    idx = np.flatnonzero(valid)
    s = stack.take(idx)
    sats = [sats[k] for k in idx]
    # newest epoch first within each object; ties keep input order (the first provider)
    order = np.lexsort((np.arange(len(s)), -s.epoch, s.norad))
    norad = s.norad[order]
    first = np.ones(len(order), bool)
    first[1:] = norad[1:] != norad[:-1]
    starts = np.flatnonzero(first)
    n_sets = np.diff(np.append(starts, len(order)))
    win = order[starts]
    # providers per object
    prov_codes = np.unique(s.provider, return_inverse=True)[1]
    pairs = np.unique(np.stack([s.norad, prov_codes], axis=1), axis=0)
    nprov_norad, nprov = np.unique(pairs[:, 0], return_counts=True)
    n_providers = nprov[np.searchsorted(nprov_norad, norad[starts])]

    dis: list[Disagreement] = []
    multi = np.flatnonzero(n_providers > 1)
    for g in multi.tolist():
        rows = order[starts[g] : starts[g] + n_sets[g]]
        w = rows[0]
        others = rows[(s.provider[rows] != s.provider[w])]
        if not len(others):
            continue
        o = others[0]  # the newest set from another provider
        if s.epoch[w] - s.epoch[o] > max_gap_days * 86400.0:
            continue
        jd, fr = unix_to_jd(s.epoch[w])
        e1, r1, _ = sats[w].sgp4(float(jd), float(fr))
        e2, r2, _ = sats[o].sgp4(float(jd), float(fr))
        if e1 or e2:
            continue
        dist = float(np.linalg.norm(np.subtract(r1, r2)))
        if dist > disagree_km:
            dis.append(Disagreement(int(s.norad[w]), str(s.provider[w]), str(s.provider[o]),
                                    float(s.epoch[w]), float(s.epoch[o]), dist))  # fmt: skip
    return FusedCatalogue(s.take(win), n_sets, n_providers, int((~valid).sum()), dis)
