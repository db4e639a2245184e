"""`space.manoeuvre`: element-set steps beyond drag and noise, as alerts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from picket.detect.base import Thresholds, th
from picket.fusion.context import BatchContext
from picket.model.alerts import Signal, iso
from picket.space.elements import ElementSets
from picket.space.manoeuvres import ManoeuvreConfig, Manoeuvres, detect_manoeuvres


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


class SpaceManoeuvre:
    """The same detection inside `picket replay`/`run`: element sets arrive as `Static`s
    (from the `space-elements` reader) and each object's recent history is re-examined
    when a new set comes; a step is reported once its after-window is complete.
    """

    kind = "space.manoeuvre"
    keep = 200  # element sets of history kept per object

    def __init__(self, th: ManoeuvreThresholds | None = None) -> None:
        self.th = th or ManoeuvreThresholds()
        self.cfg = self.th.config()
        self.hist: dict[int, list[tuple]] = {}
        self.last: dict[int, float] = {}

    def update(self, ctx: BatchContext) -> list[Signal]:
        fresh: set[int] = set()
        for s in ctx.statics:
            f = s.fields
            if "mean_motion_rev_day" not in f or "raan_deg" not in f:
                continue
            h = self.hist.setdefault(s.subject, [])
            h.append((float(f["epoch"]), f["mean_motion_rev_day"], f["eccentricity"],
                      f["inclination_deg"], f["raan_deg"], f.get("mean_motion_dot", 0.0),
                      str(f.get("name", ""))))  # fmt: skip
            if len(h) > 2 * self.keep:
                del h[: -self.keep]
            fresh.add(s.subject)
        out: list[Signal] = []
        for subj in fresh:
            h = sorted(self.hist[subj])[-self.keep :]
            if len(h) < 2 * self.cfg.window:
                continue
            cols = list(zip(*h, strict=True))
            n = len(h)
            es = ElementSets.build(
                n, norad=np.full(n, subj & ((1 << 48) - 1)), epoch=np.array(cols[0]),
                mean_motion=np.array(cols[1]), ecc=np.array(cols[2]), incl=np.array(cols[3]),
                raan=np.array(cols[4]), ndot=np.array(cols[5]), name=np.array(cols[6]),
            )  # fmt: skip
            m = detect_manoeuvres(es, self.cfg)
            last = self.last.get(subj, -np.inf)
            new = np.flatnonzero(m.t_after > last + self.cfg.suppress_s)
            if not len(new):
                continue
            self.last[subj] = float(m.t_after[new].max())
            idx = np.array(new)
            sub = Manoeuvres(**{k: getattr(m, k)[idx] for k in Manoeuvres.__dataclass_fields__})
            out += manoeuvre_signals(sub, self.th)
        return out
