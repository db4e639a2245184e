"""`space.manoeuvre`: element sets that depart from the last good one beyond the object's
own noise, as alerts with the burn's type and delta-v (method: space/manoeuvres.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from picket.detect.base import Thresholds, th
from picket.fusion.context import BatchContext
from picket.model.alerts import Signal, iso
from picket.space.elements import ElementSets
from picket.space.manoeuvres import ManoeuvreConfig, Manoeuvres, detect_manoeuvres

_SCORE = "scored on operators' manoeuvre times (docs/space.md, Manoeuvres)"
_D = ManoeuvreConfig()  # the offline pass's defaults: one place for each value


@dataclass
class ManoeuvreThresholds(Thresholds):
    k_sigma: float = th(
        _D.k_sigma,
        "a residual beyond this many robust sigmas of the object's own history is a step",
        "picket: 1.4826 MAD is the normal sigma (Huber, Robust Statistics); element-set "
        "residuals are heavy-tailed, so 8 not 3-5; " + _SCORE,
    )
    k_confirm: float = th(
        _D.k_confirm,
        "the first set fitted to later observations must still show the step (sigmas)",
        "picket: a bad fit is corrected by the next set, a burn persists",
    )
    k_ramp: float = th(
        _D.k_ramp,
        "a partial step this large that the next set completes is one burn (sigmas)",
        "picket: sets whose fit span straddles the burn show part of it",
    )
    history: int = th(
        _D.history,
        "accepted residuals in the object's noise model (sets)",
        "picket: about two months of daily sets, long enough for a stable median, short "
        "enough to follow the solar cycle's drag",
    )
    min_history: int = th(
        _D.min_history,
        "residuals needed before an object's sets are judged",
        "picket: a median of 10",
    )
    sigma_floor_sma_km: float = th(
        _D.sigma_floor_sma_km,
        "smallest semi-major-axis noise scale (km)",
        "picket: quiet altimetry satellites scatter 0.2-0.5 m; the TLE's 8-digit mean "
        "motion resolves mm",
    )
    sigma_floor_normal_deg: float = th(
        _D.sigma_floor_normal_deg,
        "smallest out-of-plane noise scale (deg)",
        "TLE format: inclination and RAAN to 1e-4 deg",
    )
    sigma_floor_ecc: float = th(
        _D.sigma_floor_ecc,
        "smallest eccentricity-vector noise scale",
        "TLE format: eccentricity to 1e-7",
    )
    geo_ew_floor_km: float = th(
        _D.geo_ew_floor_km,
        "smallest geostationary east-west step (semi-major axis, km)",
        "Soop, Handbook of Geostationary Orbits: reversing the triaxiality drift "
        "(0.0005-0.0017 deg/day^2) inside a +-0.05 deg box takes 1.6-2.9 km",
    )
    geo_ns_floor_deg: float = th(
        _D.geo_ns_floor_deg,
        "smallest geostationary north-south step (inclination vector, deg)",
        "Soop: the lunisolar pull tilts the orbit 0.75-0.95 deg/year; a correction "
        "smaller than a +-0.05 deg box is not made",
    )
    confirm_gap_s: float = th(
        _D.confirm_gap_s,
        "the confirming set lies at least this long after the step (s)",
        "picket: 18 SDS fits span a day or more; sets hours apart share observations",
    )
    settle_s: float = th(
        _D.settle_s,
        "after a burn, steps this soon that are smaller or go the same way are the same event (s)",
        "picket: fit spans of days take in post-burn tracking set by set (ISS reboosts, "
        "CryoSat-2 burns seen over three daily sets)",
    )
    settle_frac: float = th(
        _D.settle_frac,
        "'smaller': under this fraction of the burn's delta-v",
        "picket: ISS reboosts",
    )
    min_sma_km: float = th(
        _D.min_sma_km,
        "report in-plane steps only from this semi-major-axis change on (km); 0: the noise "
        "model decides",
        "analyst's choice (e.g. 0.25 for ISS reboosts and debris avoidance only)",
    )
    min_incl_deg: float = th(
        _D.min_incl_deg,
        "report out-of-plane steps only from this change of the orbit normal on (deg); 0: "
        "the noise model decides",
        "analyst's choice (e.g. 0.02 with min_sma_km 0.25 for the ISS)",
    )
    critical_km: float = th(
        5.0,
        "semi-major-axis steps at least this large are critical (km)",
        "picket: orbit raising/lowering rather than station keeping",
    )
    critical_dv_ms: float = th(
        1.0,
        "burns of at least this delta-v are critical (m/s)",
        "picket: above station keeping (LEO maintenance cm/s, GEO east-west 0.1-0.5 m/s)",
    )

    def config(self) -> ManoeuvreConfig:
        return ManoeuvreConfig(
            **{k: getattr(self, k) for k in ManoeuvreConfig.__dataclass_fields__}
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
            "type": str(m.kind[k]),
            "regime": str(m.regime[k]),
            "delta_v_ms": round(float(m.dv_ms[k]), 4),
            "delta_sma_km": round(float(m.d_sma_km[k]), 4),
            "delta_inclination_deg": round(float(m.d_incl_deg[k]), 4),
            "delta_raan_deg": round(float(m.d_raan_deg[k]), 4),
            "delta_normal_deg": round(float(m.d_normal_deg[k]), 4),
            "delta_eccentricity": round(float(m.d_ecc[k]), 7),
            "elements_changed": str(m.which[k]),
            "sigmas": round(float(m.z[k]), 1),
            "sma_scatter_km": round(float(m.sigma_sma_km[k]), 5),
            "thresholds": {
                "k_sigma": th.k_sigma,
                "k_confirm": th.k_confirm,
                "geo_ew_floor_km": th.geo_ew_floor_km,
                "geo_ns_floor_deg": th.geo_ns_floor_deg,
            },
        }
        big = abs(m.d_sma_km[k]) >= th.critical_km or m.dv_ms[k] >= th.critical_dv_ms
        summary = (
            f"{subj} ({m.name[k]}) manoeuvred ({m.kind[k]}, about {m.dv_ms[k] * 100:.1f} cm/s) "
            f"between {ev['between'][0]} and {ev['between'][1]}: semi-major axis "
            f"{m.d_sma_km[k] * 1000:+.0f} m, inclination {m.d_incl_deg[k]:+.4f} deg"
        )
        for ended in (False, True):
            out.append(
                Signal(
                    kind="space.manoeuvre",
                    subject=subj,
                    time=float(m.t_after[k]),
                    lat=None,
                    lon=None,
                    severity="critical" if big else "warning",
                    summary=summary,
                    evidence=ev,
                    domain="space",
                    ended=ended,
                )
            )
    return out


# what a streamed element set carries (sources/space_elements.py statics); SGP4 needs all
_FIELDS = ("epoch", "mean_motion_rev_day", "eccentricity", "inclination_deg", "raan_deg",
           "argp_deg", "mean_anomaly_deg", "bstar", "mean_motion_dot")  # fmt: skip


class SpaceManoeuvre:
    """The same detection inside `picket replay`/`run`: element sets arrive as `Static`s
    (from the `space-elements` reader) and each object's recent history is re-judged
    when a new set comes; a step is reported once a later set has confirmed it.
    Sets without argument of perigee and mean anomaly (older readers) are taken as
    0 there: the semi-major axis and inclination residuals do not depend on them.
    """

    kind = "space.manoeuvre"
    keep = 200  # sets kept per object: the noise model's 60, and a reference chain long
    # enough that the streamed pass settles onto the offline one (tests: ISS)

    def __init__(self, th: ManoeuvreThresholds | None = None) -> None:
        self.th = th or ManoeuvreThresholds()
        self.cfg = self.th.config()
        self.hist: dict[int, list[tuple]] = {}
        self.last: dict[int, float] = {}
        self.pending: list[Signal] = []  # offered by `picket space manoeuvres` (offline pass)

    def forget(self, slots: np.ndarray) -> None:
        """No per-slot state: histories are keyed by catalogue subject, not slot."""

    def offer(self, signals: list[Signal]) -> None:
        """Signals of the offline pass, given out at the next batch: through the pipeline's
        alert book and sinks like every other alert."""
        self.pending.extend(signals)

    def update(self, ctx: BatchContext) -> list[Signal]:
        offered, self.pending = self.pending, []
        fresh: set[int] = set()
        for s in ctx.statics:
            f = s.fields
            if "mean_motion_rev_day" not in f or "raan_deg" not in f:
                continue
            h = self.hist.setdefault(s.subject, [])
            h.append((*(float(f.get(k) or 0.0) for k in _FIELDS), str(f.get("name", ""))))
            if len(h) > 2 * self.keep:
                del h[: -self.keep]
            fresh.add(s.subject)
        out: list[Signal] = offered
        for subj in fresh:
            h = sorted(self.hist[subj])[-self.keep :]
            if len(h) < self.cfg.min_history + 2:
                continue
            c = [np.array(x) for x in zip(*h, strict=True)]
            n = len(h)
            es = ElementSets.build(
                n, norad=np.full(n, subj & ((1 << 48) - 1)), epoch=c[0], mean_motion=c[1],
                ecc=c[2], incl=c[3], raan=c[4], argp=c[5], mean_anomaly=c[6], bstar=c[7],
                ndot=c[8], nddot=np.zeros(n), name=c[9],
            )  # fmt: skip
            m = detect_manoeuvres(es, self.cfg)
            new = np.flatnonzero(m.t_after > self.last.get(subj, -np.inf))
            if not len(new):
                continue
            self.last[subj] = float(m.t_after[new].max())
            out += manoeuvre_signals(m.take(new), self.th)
        return out
