"""Manoeuvres from element-set history: steps in mean elements beyond drag and noise.

Per object, element sets in epoch order. At every boundary between two
consecutive sets, the sets just before and just after (`window` each side)
are carried to the boundary time with the expected drift: semi-major axis decays at the
object's median set-to-set rate over its history (not the TLE's ndot: the
sets right after a burn carry a distorted ndot that absorbed the burn); RAAN
drifts at the J2 secular rate. The step is the
median after minus the median before, so one badly fitted set cannot make a
manoeuvre on its own (a median needs most of the window to move) and a real
step persists.

A step is a manoeuvre when it exceeds both an absolute floor and `k_noise`
standard deviations of the step statistic itself, estimated from the object's
own robust scatter (MAD of set-to-set residuals),
and is the largest within +- `suppress_s`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from picket.space.elements import ElementSets

J2 = 0.001082616
RE_KM = 6378.135


@dataclass
class ManoeuvreConfig:
    window: int = 5  # element sets each side of a boundary (odd: a true median)
    sma_floor_km: float = 0.25  # ISS debris avoidance ~0.5 m/s is ~0.9 km; TLE noise ~0.05 km
    incl_floor_deg: float = 0.02  # TLE inclination noise ~0.005 deg
    raan_floor_deg: float = 0.05
    k_noise: float = 6.0
    suppress_s: float = 86400.0  # one manoeuvre per day per object at most


@dataclass
class Manoeuvres:
    norad: np.ndarray
    name: np.ndarray
    t_before: np.ndarray  # epoch of the last set before the step
    t_after: np.ndarray  # epoch of the first set after
    d_sma_km: np.ndarray
    d_incl_deg: np.ndarray
    d_raan_deg: np.ndarray
    which: np.ndarray  # "sma", "incl", "raan" joined with "+"
    sigma_sma_km: np.ndarray  # the object's robust SMA scatter

    def __len__(self) -> int:
        return len(self.norad)


def _median_windows(x: np.ndarray, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Median of the w values before and the w values from each boundary k (k = w..n-w)."""
    win = sliding_window_view(x, w, axis=0)
    med = np.median(win, axis=-1)
    return med[:-w], med[w:]  # before boundary k: x[k-w:k]; after: x[k:k+w]


def _mad(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if len(x) else 0.0


def _object_steps(e: ElementSets, cfg: ManoeuvreConfig) -> dict[str, np.ndarray] | None:
    w = cfg.window
    keep = np.ones(len(e), bool)
    keep[1:] = np.diff(e.epoch) > 1.0  # the same epoch twice: keep the first
    e = e.take(np.flatnonzero(keep))
    n = len(e)
    if n < 2 * w:
        return None
    t = e.epoch
    a = e.semi_major_axis_km()
    nrad = e.mean_motion * 2 * np.pi / 86400.0  # rad/s
    # decay rate: the object's own typical set-to-set rate (robust to the burns themselves)
    dt = np.diff(t)
    spaced = dt > 3600.0
    adot = np.full(n, float(np.median(np.diff(a)[spaced] / dt[spaced])) if spaced.any() else 0.0)
    p = a * (1 - e.ecc**2)
    raandot = np.degrees(-1.5 * nrad * J2 * (RE_KM / p) ** 2 * np.cos(np.radians(e.incl)))
    if spaced.any():  # plus the object's median departure from J2-only drift (J4, drag...)
        draan = np.diff(np.unwrap(e.raan, period=360.0))[spaced] / dt[spaced]
        raandot = raandot + float(np.median(draan - raandot[:-1][spaced]))
    tb = 0.5 * (t[w - 1 : n - w] + t[w : n - w + 1])  # boundary times k = w..n-w
    k = np.arange(w, n - w + 1)
    out = {"k": k, "t0": t[k - 1], "t1": t[k], "t": t}
    # each window carried to its boundary with the window-median rate
    win_t = sliding_window_view(t, w)
    for name, x, rate in (("sma", a, adot), ("incl", e.incl, np.zeros(n)),
                          ("raan", np.unwrap(e.raan, period=360.0), raandot)):  # fmt: skip
        rw = np.median(sliding_window_view(rate, w), axis=-1)
        xw = sliding_window_view(x, w)
        before = np.median(xw[:-w] + rw[:-w, None] * (tb[:, None] - win_t[:-w]), axis=-1)
        after = np.median(xw[w:] + rw[w:, None] * (tb[:, None] - win_t[w:]), axis=-1)
        out[name] = after - before
        out[f"jump_{name}"] = np.append(0.0, np.diff(x) - rate[:-1] * np.diff(t))  # into set k
        # set-to-set residual scatter after the predicted drift, for the noise scale
        out[f"s_{name}"] = np.array(_mad(np.diff(x) - rate[:-1] * np.diff(t)))
    return out


def detect_manoeuvres(history: ElementSets, cfg: ManoeuvreConfig | None = None) -> Manoeuvres:
    cfg = cfg or ManoeuvreConfig()
    rows: dict[str, list] = {k: [] for k in Manoeuvres.__dataclass_fields__}
    order = np.lexsort((history.epoch, history.norad))
    h = history.take(order)
    cuts = np.flatnonzero(np.diff(h.norad)) + 1
    for idx in np.split(np.arange(len(h)), cuts):
        e = h.take(idx)
        s = _object_steps(e, cfg)
        if s is None:
            continue
        # noise of the step statistic: two medians of `window` sets, each set-to-set
        # difference sqrt(2) sigma, a median 1.2533 sigma / sqrt(window)
        f = cfg.k_noise * 1.2533 / np.sqrt(cfg.window)
        lim = {
            "sma": max(cfg.sma_floor_km, f * float(s["s_sma"])),
            "incl": max(cfg.incl_floor_deg, f * float(s["s_incl"])),
            "raan": max(cfg.raan_floor_deg, f * float(s["s_raan"])),
        }
        score = np.maximum.reduce([np.abs(s[q]) / lim[q] for q in ("sma", "incl", "raan")])
        cand = np.flatnonzero(score > 1.0)
        # non-maximum suppression in time: strongest first
        taken: list[int] = []
        for c in cand[np.argsort(-score[cand])].tolist():
            if all(abs(s["t1"][c] - s["t1"][o]) > cfg.suppress_s for o in taken):
                taken.append(c)
        placed: set[int] = set()
        for c in sorted(taken):
            which = [q for q in ("sma", "incl", "raan") if abs(s[q][c]) > lim[q]]
            # the step is smeared over neighbouring boundaries: the burn sits at the
            # largest single set-to-set jump of the same sign near the strongest one
            q = max(which, key=lambda q: abs(s[q][c]) / lim[q])
            lo, hi = max(0, c - cfg.window + 1), min(len(s["k"]), c + cfg.window)
            near = s["k"][lo:hi]
            jumps = s[f"jump_{q}"][near] * np.sign(s[q][c])
            kk = int(near[int(np.argmax(jumps))])
            if kk in placed:  # two smeared candidates found the same burn
                continue
            placed.add(kk)
            s["t0"][c], s["t1"][c] = s["t"][kk - 1], s["t"][kk]
            rows["norad"].append(int(e.norad[0]))
            rows["name"].append(str(e.name[-1]))
            rows["t_before"].append(float(s["t0"][c]))
            rows["t_after"].append(float(s["t1"][c]))
            rows["d_sma_km"].append(float(s["sma"][c]))
            rows["d_incl_deg"].append(float(s["incl"][c]))
            rows["d_raan_deg"].append(float(s["raan"][c]))
            rows["which"].append("+".join(which))
            rows["sigma_sma_km"].append(float(s["s_sma"]))
    return Manoeuvres(**{k: np.asarray(v) for k, v in rows.items()})  # type: ignore[arg-type]
