"""`space.conjunction`: close approaches from a catalogue screening, as alerts.

One signal per primary object (the lower catalogue number of each pair is the
primary, as SOCRATES lists it), carrying its closest conjunction in full and
the others briefly, so the alert book's one-alert-per-subject holds without
losing any. Signals are timed at the screening time (the catalogue's "now"),
the TCA is evidence: an alert is a warning ahead of the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from picket.detect.base import Thresholds, th
from picket.model.alerts import Signal, iso
from picket.space.propagate import subpoints
from picket.space.report import ConjunctionReport


@dataclass
class ConjunctionThresholds(Thresholds):
    alert_km: float = th(
        1.0,
        "conjunctions closer than this become alerts (km)",
        "picket: SOCRATES lists 5 km; 1 km keeps alerts to the actionable few",
    )
    critical_km: float = th(
        0.2,
        "closer than this is critical (km)",
        "picket: 200 m is inside typical TLE 1-sigma errors",
    )
    critical_prob: float = th(
        1e-4,
        "maximum probability at or above this is critical",
        "NASA CARA / ESA practice: 1e-4 manoeuvre threshold",
    )
    max_listed: int = th(10, "other conjunctions listed in one object's evidence", "picket")


def _one(rep: ConjunctionReport, k: int) -> dict[str, Any]:
    c, e = rep.conj, rep.elements
    i, j = int(c.i[k]), int(c.j[k])
    return {
        "other": f"norad:{int(e.norad[j])}",
        "other_name": str(e.name[j]),
        "tca": iso(float(c.tca[k])),
        "miss_distance_m": round(float(c.miss_km[k]) * 1000, 1),
        "relative_speed_ms": round(float(c.speed_kms[k]) * 1000, 1),
        # as text: alert evidence rounds floats to 6 decimals, probabilities go to 1e-12
        "max_probability": f"{rep.max_prob[k]:.3e}",
        "dilution_km": round(float(rep.dilution_km[k]), 3),
        "probability": f"{rep.prob[k]:.3e}",
        "probability_assumptions": (
            f"isotropic {rep.sigma_km:g} km 1-sigma per object (TLEs carry no covariance), "
            f"hard-body radius {rep.hbr_km[k] * 1000:.1f} m from object types; max_probability "
            "is the worst case over covariance size (SOCRATES MAX_PROB), dilution its sigma"
        ),
        "days_since_epoch": [round(float(rep.dse(1)[k]), 3), round(float(rep.dse(2)[k]), 3)],
        "element_sets": [
            {"provider": str(e.provider[x]), "row": int(e.row[x]), "epoch": iso(float(e.epoch[x]))}
            for x in (i, j)
        ],
    }


def conjunction_signals(
    rep: ConjunctionReport, now: float, th: ConjunctionThresholds | None = None
) -> list[Signal]:
    th = th or ConjunctionThresholds()
    c, e = rep.conj, rep.elements
    sel = np.flatnonzero(c.miss_km <= th.alert_km)
    if not len(sel):
        return []
    lat, lon, _ = subpoints(c.r1[sel], c.tca[sel])
    where = {int(k): (float(a), float(b)) for k, a, b in zip(sel, lat, lon, strict=True)}
    out: list[Signal] = []
    prim = c.i[sel]
    for p in np.unique(prim).tolist():
        ks = sel[prim == p]
        ks = ks[np.argsort(c.miss_km[ks])]
        k = int(ks[0])
        crit = bool(
            (c.miss_km[ks] <= th.critical_km).any() or (rep.max_prob[ks] >= th.critical_prob).any()
        )
        ev = _one(rep, k)
        ev["name"] = str(e.name[p])
        ev["count"] = len(ks)
        ev["others"] = [
            {
                "other": f"norad:{int(e.norad[c.j[x]])}",
                "tca": iso(float(c.tca[x])),
                "miss_distance_m": round(float(c.miss_km[x]) * 1000, 1),
            }
            for x in ks[1 : 1 + th.max_listed].tolist()
        ]
        ev["thresholds"] = {
            "alert_km": th.alert_km,
            "critical_km": th.critical_km,
            "critical_prob": th.critical_prob,
        }
        out.append(
            Signal(
                kind="space.conjunction",
                subject=f"norad:{int(e.norad[p])}",
                time=float(now),
                lat=where[k][0],
                lon=where[k][1],
                severity="critical" if crit else "warning",
                summary=(
                    f"norad:{int(e.norad[p])} ({e.name[p]}) passes {ev['miss_distance_m']:.0f} m "
                    f"from {ev['other']} ({ev['other_name']}) at {ev['tca']}, "
                    f"{ev['relative_speed_ms'] / 1000:.1f} km/s"
                ),
                evidence=ev,
                domain="space",
            )
        )
    return out
