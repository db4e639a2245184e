"""Manoeuvres from element-set history: each new set judged against the last good one.

Per object, element sets in epoch order. Each set is compared with the last
accepted set propagated to its epoch with SGP4 (the theory the sets were fitted
in), in SGP4's mean elements:

- `sma`: mean semi-major axis (km), the in-plane, along-track burn. Drag lowers it
  steadily; the object's own drift (the median residual rate of its recent sets)
  is removed, so drag decay, or a B* that mispredicts it, is not a burn.
- `normal`: the out-of-plane burn. Geostationary orbits: the change of the
  inclination vector (sin i sin W, -sin i cos W), defined at zero inclination, so
  an ill-defined RAAN cannot make a detection; elsewhere the inclination change
  (sin(i) dRAAN is evidence only: it follows every along-track error).
- `ecc`: the change of the eccentricity vector, evidence only (it is the noisiest
  element of a near-circular orbit and alone was wrong more often than right).

Each residual is judged against THIS object's noise: after the drift, 1.4826 x
the median absolute deviation of its last `history` accepted residuals (a
robust standard deviation; causal, so a set is judged on what came before it),
with floors at what the TLE format resolves. A set is a manoeuvre when a residual
exceeds `k_sigma` of its scale and the step persists: the first set fitted to
later observations (`confirm_gap_s` on) still differs from the reference by
`k_confirm` sigmas in the same direction. A lone bad fit is skipped and the set
after it is judged against the last good one. A burn the fits split over two
sets (the first beyond `k_ramp`, both together beyond `k_sigma`) is one burn.
The sets right after a burn settle onto the new orbit: a smaller step (under
`settle_frac` of the delta-v), or one carrying on in the same direction, within
`settle_s` of the last is the same event. Sets SGP4 refuses (decayed on the way,
eccentricity out of range) lose that comparison only.

Geostationary objects (0.9-1.1 rev/day, e < 0.1) report east-west (`sma`) and
north-south (`normal`) station keeping, each only above the size station
keeping has (`geo_ew_floor_km`, `geo_ns_floor_deg`, docs/space.md); others
in-plane and out-of-plane. Delta-v is the smallest impulse for the observed
change (Gauss's equations, near-circular orbit): v*da/(2a) or v*de/2 in plane,
v*di out of plane.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from picket.space.elements import ElementSets, unix_to_jd

RE_KM = 6378.135  # WGS72 as SGP4
MU = 398600.8


@dataclass
class ManoeuvreConfig:
    """Defaults and their reasons: `ManoeuvreThresholds` in detect/space_manoeuvre.py."""

    k_sigma: float = 8.0
    k_confirm: float = 4.0
    k_ramp: float = 4.0
    history: int = 60
    min_history: int = 10
    sigma_floor_sma_km: float = 0.0002
    sigma_floor_normal_deg: float = 0.0002
    sigma_floor_ecc: float = 2e-6
    geo_ew_floor_km: float = 1.5
    geo_ns_floor_deg: float = 0.05
    confirm_gap_s: float = 43200.0
    settle_s: float = 86400.0
    settle_frac: float = 0.5
    min_sma_km: float = 0.0
    min_incl_deg: float = 0.0


@dataclass
class Manoeuvres:
    norad: np.ndarray
    name: np.ndarray
    t_before: np.ndarray  # epoch of the last set before the step
    t_after: np.ndarray  # epoch of the first set after
    d_sma_km: np.ndarray
    d_incl_deg: np.ndarray
    d_raan_deg: np.ndarray
    which: np.ndarray  # residuals beyond k_sigma: "sma", "normal", "ecc" joined with "+"
    sigma_sma_km: np.ndarray  # the object's robust SMA residual scale at the time
    d_normal_deg: np.ndarray  # angle between the orbit normals
    d_ecc: np.ndarray  # |change of the eccentricity vector|
    z: np.ndarray  # largest residual in robust sigmas
    kind: np.ndarray  # "east-west", "north-south" (GEO); "in-plane", "out-of-plane"
    regime: np.ndarray  # "GEO" or "other"
    dv_ms: np.ndarray  # minimum delta-v for the observed change, m/s

    def __len__(self) -> int:
        return len(self.norad)

    def take(self, idx: np.ndarray) -> Manoeuvres:
        return Manoeuvres(**{k: getattr(self, k)[idx] for k in Manoeuvres.__dataclass_fields__})


def _mean_state(sat, t: float) -> np.ndarray | None:
    """SGP4's mean elements at unix time t: [a km, incl, raan, e, argp] (radians); None
    where SGP4 fails (decayed, eccentricity out of range)."""
    jd, fr = unix_to_jd(t)
    err, _, _ = sat.sgp4(float(jd), float(fr))
    x = np.array([sat.am * RE_KM, sat.im, sat.Om, sat.em, sat.om])
    return x if err == 0 and np.isfinite(x).all() else None


def _wrap(x: float) -> float:
    return float(np.remainder(x + np.pi, 2 * np.pi) - np.pi)


def _channels(own: np.ndarray, pred: np.ndarray, geo: bool) -> np.ndarray:
    """Residual [da, normal 1, normal 2, ecc 1, ecc 2, d_incl, d_raan] of own vs predicted.

    The out-of-plane pair is the change of the orbit normal. Away from the equator it
    is taken in the orbit's own frame (d_incl, sin(i) d_raan), so the object's steady
    residual drift keeps its direction while the node precesses by degrees a day;
    geostationary orbits use the inclination vector (sin i sin W, -sin i cos W), whose
    lunisolar drift is fixed in inertial space and which stays defined at i = 0.
    The eccentricity vector likewise: from the node line (e cos w, e sin w), or for
    geostationary orbits from the vernal equinox (e cos(w+W), e sin(w+W)).
    """
    a1, i1, n1, e1, w1 = own
    a0, i0, n0, e0, w0 = pred
    dn = _wrap(n1 - n0)
    if geo:
        s1, s0 = np.sin(i1), np.sin(i0)
        h = s1 * np.sin(n1) - s0 * np.sin(n0), s0 * np.cos(n0) - s1 * np.cos(n1)
        u1, u0 = w1 + n1, w0 + n0
    else:
        h = i1 - i0, np.sin(i0) * dn
        u1, u0 = w1, w0
    ev = e1 * np.cos(u1) - e0 * np.cos(u0), e1 * np.sin(u1) - e0 * np.sin(u0)
    return np.array([a1 - a0, *h, *ev, i1 - i0, dn])


class _Noise:
    """The object's own residual model: per component a drift rate (median of
    residual/dt, e.g. drag lowering the semi-major axis) and a robust scale (1.4826 x
    the median absolute deviation after the drift) over its last `m` accepted sets."""

    def __init__(self, m: int, floors: np.ndarray) -> None:
        self.m, self.floors = m, floors
        self.res: list[np.ndarray] = []
        self.dt: list[float] = []
        self.rate = np.zeros(len(floors))
        self.scale = floors.copy()

    def __len__(self) -> int:
        return len(self.res)

    def add(self, r: np.ndarray, dt: float) -> None:
        self.res.append(r)
        self.dt.append(dt)
        if len(self.res) > self.m:
            del self.res[0], self.dt[0]
        x, d = np.array(self.res), np.array(self.dt)[:, None]
        self.rate = np.median(x / d, axis=0)
        e = x - self.rate * d
        mad = np.median(np.abs(e - np.median(e, axis=0)), axis=0)
        self.scale = np.maximum(1.4826 * mad, self.floors)

    def z(self, r: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """(drift-removed residual, the same in robust sigmas)."""
        step = r - self.rate * dt
        return step, step / self.scale


# residual components per group (see `_channels`); the group's z is their quadrature sum
GROUPS_GEO = {"sma": [0], "normal": [1, 2], "ecc": [3, 4]}
# away from the equator the out-of-plane trigger is the inclination alone: sin(i) dRAAN
# also follows every along-track error (the nodal drift depends on the semi-major axis),
# so it is reported as evidence but cannot raise an alert
GROUPS_LEO = {"sma": [0], "normal": [1], "ecc": [3, 4]}


def _same_way(d: np.ndarray, ev: np.ndarray) -> bool:
    """Both steps in-plane with the same sign of da, or out-of-plane within 90 deg, and
    neither adds a kind of step the other lacks."""
    if (d[0] != 0) != (ev[0] != 0) or (d[1:] @ d[1:] > 0) != (ev[1:] @ ev[1:] > 0):
        return False
    return bool(d[0] * ev[0] >= 0 and d[1:] @ ev[1:] >= 0)


TRIGGERS = ("sma", "normal")  # the eccentricity vector is evidence, not a trigger


def _big_enough(g: str, step: np.ndarray, geo: bool, cfg: ManoeuvreConfig) -> bool:
    """Geostationary station keeping has a physical size (see the module notes); an
    analyst may also ask for steps of at least `min_sma_km` / `min_incl_deg` only."""
    if g == "sma":
        return abs(float(step[0])) >= max(cfg.min_sma_km, cfg.geo_ew_floor_km if geo else 0.0)
    floor = max(cfg.min_incl_deg, cfg.geo_ns_floor_deg if geo else 0.0)
    return float(np.degrees(np.hypot(step[1], step[2]))) >= floor


def _object(e: ElementSets, cfg: ManoeuvreConfig) -> dict[str, np.ndarray] | None:
    """Judge every set of one object in epoch order; its manoeuvres as columns.

    The reference is the last set accepted: a set whose residual is beyond
    `k_sigma` but is not confirmed by the next set is a bad fit and is skipped, so
    the set after it is judged against the last good one, not against the bad one.
    """
    keep = np.ones(len(e), bool)
    keep[1:] = np.diff(e.epoch) > 60.0  # the same set twice (or re-fitted within a minute)
    e = e.take(np.flatnonzero(keep))
    n = len(e)
    if n < cfg.min_history + 2:
        return None
    t = e.epoch.tolist()
    sats = e.satrecs()
    ok = [s.error == 0 for s in sats]
    geo = bool(0.9 < np.median(e.mean_motion) < 1.1 and np.median(e.ecc) < 0.1)
    groups = GROUPS_GEO if geo else GROUPS_LEO
    own = [_mean_state(s, x) if g else None for s, x, g in zip(sats, t, ok, strict=True)]
    ok = [x is not None for x in own]
    floors = np.array([cfg.sigma_floor_sma_km, *[np.radians(cfg.sigma_floor_normal_deg)] * 2,
                       cfg.sigma_floor_ecc, cfg.sigma_floor_ecc])  # fmt: skip
    noise = _Noise(cfg.history, floors)

    def resid(ref: int, k: int) -> np.ndarray | None:
        if not (ok[ref] and ok[k]):
            return None
        pred = _mean_state(sats[ref], t[k])
        if pred is None:  # decayed or out of range on the way
            return None
        return _channels(own[k], pred, geo)  # type: ignore[arg-type]

    rows: list[tuple] = []

    def judge(ref: int, k: int) -> tuple | None:
        r = resid(ref, k)
        if r is None:
            return None
        step, z = noise.z(r[:5], t[k] - t[ref])
        return r, step, z, {g: float(np.sqrt(np.sum(z[c] ** 2))) for g, c in groups.items()}

    def confirmed(ref: int, last: int, j: tuple) -> tuple[list[str], int, bool]:
        """The groups beyond k_sigma at `last` that a later set still shows (vs ref),
        that set's index, and whether the step is large enough to report."""
        # the first set fitted mostly to later observations: consecutive sets of a
        # high-cadence object share their fit span and are no independent evidence
        later = bisect.bisect_left(t, t[last] + cfg.confirm_gap_s, lo=last + 1)
        nxt = judge(ref, later) if later < n else None
        if nxt is None:
            return [], later, False
        _, step, z, zg = j
        hit = []
        for g, c in groups.items():
            along = float(nxt[2][c] @ z[c]) / zg[g] if zg[g] > 0 else 0.0
            if zg[g] > cfg.k_sigma and along > cfg.k_confirm:
                hit.append(g)
        if not any(g in TRIGGERS for g in hit):
            return [], later, False
        # what is reported: the triggers of reportable size (a GEO inclination wobble
        # under the north-south floor does not make an east-west burn "north-south")
        big = [g for g in hit if g not in TRIGGERS or _big_enough(g, step, geo, cfg)]
        report = any(g in TRIGGERS for g in big)
        return (big if report else hit), later, report

    ref = 0 if ok[0] else -1
    k = 1
    while k < n:
        if ref < 0:
            ref = k if ok[k] else -1
            k += 1
            continue
        j = judge(ref, k)
        if j is None:
            k += 1
            continue
        top = max(j[3][g] for g in TRIGGERS)
        if len(noise) < cfg.min_history or top <= cfg.k_ramp:
            noise.add(j[0][:5], t[k] - t[ref])
            ref, k = k, k + 1
            continue
        if top > cfg.k_sigma:
            hit, later, report = confirmed(ref, k, j)
            if hit:  # a real step; below the floors it is not reported, but it happened
                if report:
                    rows.append((ref, k, j, hit, noise.scale[0]))
                # sets between the burn and the confirming set are still settling onto
                # the new orbit (their fit spans straddle the burn): judged from there on
                ref = later if later > k + 1 else k
                k = ref + 1
            else:
                k += 1  # a lone bad fit (or the last set): skipped, the reference stays
            continue
        # between k_ramp and k_sigma: a burn split over two sets by fits that straddle it?
        j2 = judge(ref, k + 1) if k + 1 < n else None
        if j2 is not None and max(j2[3][g] for g in TRIGGERS) > cfg.k_sigma:
            part = [float(j2[2][c] @ j[2][c]) for c in (groups[g] for g in TRIGGERS)]
            hit, later, report = confirmed(ref, k + 1, j2) if max(part) > 0 else ([], k, False)
            if hit:
                if report:
                    rows.append((ref, k, j2, hit, noise.scale[0]))
                ref = later if later > k + 2 else k + 1
                k = ref + 1
                continue
        noise.add(j[0][:5], t[k] - t[ref])
        ref, k = k, k + 1
    if not rows:
        return None
    a = e.semi_major_axis_km()[[x[1] for x in rows]]
    v_ms = np.sqrt(MU / a) * 1000.0
    step = np.array([x[2][1] for x in rows])
    raw = np.array([x[2][0] for x in rows])
    d_sma = step[:, 0]
    d_nrm = np.hypot(step[:, 1], step[:, 2])  # rad, small angle
    d_ecc = np.hypot(step[:, 3], step[:, 4])
    which = ["+".join(x[3]) for x in rows]
    names = ("east-west", "north-south") if geo else ("in-plane", "out-of-plane")
    inp = np.array([("sma" in w or "ecc" in w) for w in which])
    oop = np.array(["normal" in w for w in which])
    kind = ["+".join(x for x, on in zip(names, (i, o), strict=True) if on)
            for i, o in zip(inp, oop, strict=True)]  # fmt: skip
    dv_in = np.maximum(v_ms * np.abs(d_sma) / (2 * a), v_ms * d_ecc / 2)
    dv_in = np.where(inp, dv_in, 0.0)
    dv_out = np.where(oop, v_ms * d_nrm, 0.0)
    t_after = np.array([t[x[1]] for x in rows])
    # the sets fitted just after a burn settle onto the new orbit in further steps
    # (fit spans of days take in more post-burn tracking each time): within `settle_s`
    # of the event's last step, a step under `settle_frac` of its delta-v, or one that
    # carries on in the same direction, is the same event, not a new manoeuvre
    keep = np.ones(len(rows), bool)
    ev_t, ev_in, ev_out, ev_dir = -np.inf, 0.0, 0.0, np.zeros(3)
    for j in range(len(rows)):
        d = np.array([np.sign(d_sma[j]) if "sma" in which[j] else 0.0,
                      *(step[j, 1:3] if "normal" in which[j] else (0.0, 0.0))])  # fmt: skip
        if t_after[j] - ev_t <= cfg.settle_s and (
            (dv_in[j] <= cfg.settle_frac * ev_in and dv_out[j] <= cfg.settle_frac * ev_out)
            or _same_way(d, ev_dir)
        ):
            keep[j] = False
            ev_t = float(t_after[j])
            continue
        ev_t, ev_in, ev_out, ev_dir = float(t_after[j]), float(dv_in[j]), float(dv_out[j]), d
    dv = np.hypot(dv_in, dv_out)
    m = len(rows)
    out = {
        "norad": np.full(m, int(e.norad[0])), "name": np.full(m, str(e.name[-1]), dtype=object),
        "t_before": np.array([t[x[0]] for x in rows]), "t_after": t_after,
        "d_sma_km": d_sma, "d_incl_deg": np.degrees(raw[:, 5]), "d_raan_deg": np.degrees(raw[:, 6]),
        "which": np.array(which, dtype=object), "sigma_sma_km": np.array([x[4] for x in rows]),
        "d_normal_deg": np.degrees(d_nrm), "d_ecc": d_ecc,
        "z": np.array([max(x[2][3].values()) for x in rows]),
        "kind": np.array(kind, dtype=object), "regime": np.full(m, "GEO" if geo else "other"),
        "dv_ms": dv,
    }  # fmt: skip
    return {k: v[keep] for k, v in out.items()}


def detect_manoeuvres(history: ElementSets, cfg: ManoeuvreConfig | None = None) -> Manoeuvres:
    """Manoeuvres of every object in a history (any order, many objects)."""
    cfg = cfg or ManoeuvreConfig()
    order = np.lexsort((history.epoch, history.norad))
    h = history.take(order)
    cuts = np.flatnonzero(np.diff(h.norad)) + 1
    parts = [r for idx in np.split(np.arange(len(h)), cuts) if len(idx)
             if (r := _object(h.take(idx), cfg)) is not None]  # fmt: skip
    names = list(Manoeuvres.__dataclass_fields__)
    if not parts:
        empty = {k: np.zeros(0) for k in names}
        for k in ("name", "which", "kind", "regime"):
            empty[k] = np.zeros(0, dtype=object)
        empty["norad"] = np.zeros(0, np.int64)
        return Manoeuvres(**empty)
    return Manoeuvres(**{k: np.concatenate([p[k] for p in parts]) for k in names})
