"""`space.manoeuvre`: element-set steps beyond drag and noise, as alerts."""

from __future__ import annotations

from dataclasses import dataclass

from picket.detect.base import Thresholds, th
from picket.model.alerts import Signal, iso
from picket.space.manoeuvres import ManoeuvreConfig, Manoeuvres


@dataclass
class ManoeuvreThresholds(Thresholds):
    sma_floor_km: float = th(
        0.25,
        "smallest semi-major-axis step called a manoeuvre (km)",
        "picket: TLE SMA noise ~0.05 km; ISS debris avoidance ~0.5-1 km",
    )
    incl_floor_deg: float = th(
        0.02, "smallest inclination step (deg)", "picket: TLE inclination noise ~0.005 deg"
    )
    raan_floor_deg: float = th(
        0.05, "smallest RAAN step after J2 drift (deg)", "picket: TLE RAAN noise ~0.01 deg"
    )
    k_noise: float = th(
        6.0, "step must also exceed this many robust sigmas of the object's scatter", "picket"
    )
    critical_km: float = th(
        5.0,
        "SMA steps at least this large are critical (km)",
        "picket: orbit raising/lowering rather than station keeping",
    )

    def config(self) -> ManoeuvreConfig:
        return ManoeuvreConfig(
            sma_floor_km=self.sma_floor_km,
            incl_floor_deg=self.incl_floor_deg,
            raan_floor_deg=self.raan_floor_deg,
            k_noise=self.k_noise,
        )


def manoeuvre_signals(m: Manoeuvres, th: ManoeuvreThresholds | None = None) -> list[Signal]:
    """Per manoeuvre a signal and its end, timed at the first element set that shows it.

    A manoeuvre is an event, not a condition that lasts: each becomes its own
    closed alert rather than updating the object's previous one.
    """
    th = th or ManoeuvreThresholds()
    out = []
    for k in range(len(m)):
        subj = f"norad:{int(m.norad[k])}"
        ev = {
            "name": str(m.name[k]),
            "between": [iso(float(m.t_before[k])), iso(float(m.t_after[k]))],
            "delta_sma_km": round(float(m.d_sma_km[k]), 3),
            "delta_inclination_deg": round(float(m.d_incl_deg[k]), 4),
            "delta_raan_deg": round(float(m.d_raan_deg[k]), 4),
            "elements_changed": str(m.which[k]),
            "sma_scatter_km": round(float(m.sigma_sma_km[k]), 4),
            "thresholds": {
                "sma_floor_km": th.sma_floor_km,
                "incl_floor_deg": th.incl_floor_deg,
                "raan_floor_deg": th.raan_floor_deg,
                "k_noise": th.k_noise,
            },
        }
        sev = "critical" if abs(m.d_sma_km[k]) >= th.critical_km else "warning"
        summary = (
            f"{subj} ({m.name[k]}) manoeuvred between {ev['between'][0]} and "
            f"{ev['between'][1]}: semi-major axis {ev['delta_sma_km']:+.2f} km"
        )
        for ended in (False, True):
            out.append(
                Signal(
                    kind="space.manoeuvre",
                    subject=subj,
                    time=float(m.t_after[k]),
                    lat=None,
                    lon=None,
                    severity=sev,
                    summary=summary,
                    evidence=ev,
                    domain="space",
                    ended=ended,
                )
            )
    return out
