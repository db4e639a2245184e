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


# CDMs from an operator or Space-Track (space/cdm_read.py) ---------------------------------
INERTIAL = ("TEME", "EME2000", "GCRF", "ICRF", "J2000", "")  # placed as TEME: a map point


def _cdm_where(cdm: Any) -> tuple[float | None, float | None]:
    """The sub-point of OBJECT1 at TCA. Inertial frames are placed as TEME (EME2000/GCRF
    differ from it by precession, a fraction of a degree: enough for a map symbol); ITRF is
    Earth-fixed already; other frames (RTN, ...) have no place on the map."""
    from picket.geo.geodesy import ecef_to_geodetic

    o = cdm.objects[0]
    if o.r_km is None:
        return None, None
    if o.ref_frame in INERTIAL:
        lat, lon, _ = subpoints(o.r_km[None, :], np.array([cdm.tca]))
        return float(lat[0]), float(lon[0])
    if o.ref_frame.startswith("ITRF"):
        lat, lon, _ = ecef_to_geodetic(*(o.r_km * 1000.0))
        return float(lat), float(lon)
    return None, None


def _cdm_entry(cdm: Any, primary: int) -> dict[str, Any]:
    from picket.space.cdm_read import provenance

    other = next((o for o in cdm.objects if o.norad != primary), cdm.objects[1])
    return {
        "other": f"norad:{other.norad}" if other.norad is not None else other.designator,
        "other_name": other.name,
        "tca": iso(cdm.tca),
        "miss_distance_m": round(cdm.miss_distance_m, 1),
        "relative_speed_ms": None if cdm.relative_speed_ms is None
        else round(cdm.relative_speed_ms, 1),
        "probability": None if cdm.probability is None else f"{cdm.probability:.3e}",
        "probability_method": cdm.probability_method,
        "provenance": provenance(cdm),
    }  # fmt: skip


def latest_cdms(cdms: list[Any]) -> list[Any]:
    """One CDM per conjunction (the same two objects, TCAs within a minute): the newest
    CREATION_DATE, as operators reissue a CDM while the event approaches."""
    best: dict[tuple, Any] = {}
    for c in sorted(cdms, key=lambda c: c.creation_date):
        key_ = (tuple(sorted(o.designator for o in c.objects)), round(c.tca / 60.0))
        best[key_] = c
    return list(best.values())


def cdm_signals(cdms: list[Any], th: ConjunctionThresholds | None = None) -> list[Signal]:
    """`space.conjunction` signals from CDMs, by the rules picket's own screening uses: one
    per primary object (the lower catalogue number), closer than `alert_km` (or at or above
    `critical_prob`), critical by the same thresholds; timed at the newest CDM's
    CREATION_DATE; each CDM's originator, message id and creation date kept in `cdm`."""
    th = th or ConjunctionThresholds()
    by_primary: dict[int, list[Any]] = {}
    for c in latest_cdms(cdms):
        nums = [o.norad for o in c.objects]
        if any(n is None for n in nums):
            continue  # not a SATCAT number: no subject picket can name
        hot = c.probability is not None and c.probability >= th.critical_prob
        if c.miss_distance_m <= th.alert_km * 1000 or hot:
            by_primary.setdefault(min(nums), []).append(c)  # type: ignore[type-var]
    out = []
    for p, cs in by_primary.items():
        cs.sort(key=lambda c: c.miss_distance_m)
        first = cs[0]
        crit = any(c.miss_distance_m <= th.critical_km * 1000 or (
            c.probability is not None and c.probability >= th.critical_prob) for c in cs)
        entries = [_cdm_entry(c, p) for c in cs[: 1 + th.max_listed]]
        me = next(o for o in first.objects if o.norad == p)
        ev = {**entries[0], "name": me.name, "count": len(cs), "source": "cdm", "cdm": entries,
              "thresholds": {"alert_km": th.alert_km, "critical_km": th.critical_km,
                             "critical_prob": th.critical_prob}}  # fmt: skip
        lat, lon = _cdm_where(first)
        out.append(Signal(
            kind="space.conjunction", subject=f"norad:{p}",
            time=max(c.creation_date for c in cs), lat=lat, lon=lon,
            severity="critical" if crit else "warning",
            summary=(f"norad:{p} ({me.name}) passes {first.miss_distance_m:.0f} m from "
                     f"{ev['other']} ({ev['other_name']}) at {ev['tca']} (CDM "
                     f"{first.message_id} from {first.originator})"),
            evidence=ev, domain="space"))  # fmt: skip
    return out


def merge_signals(own: list[Signal], cdm: list[Signal]) -> list[Signal]:
    """picket's own conjunctions and the CDMs' side by side: where both name the same
    primary, one signal (picket's own, timed and placed as screened) that also carries the
    CDMs under `cdm` and the worse severity; CDM-only primaries keep their own signal."""
    by_subject = {s.subject: s for s in cdm}
    out = []
    for s in own:
        c = by_subject.pop(s.subject, None)
        if c is not None:
            sev = "critical" if "critical" in (s.severity, c.severity) else s.severity
            s = Signal(kind=s.kind, subject=s.subject, time=s.time, lat=s.lat, lon=s.lon,
                       severity=sev, summary=s.summary + f"; CDM: {c.summary}",
                       evidence={**s.evidence, "cdm": c.evidence["cdm"]}, domain=s.domain)
        out.append(s)
    return out + list(by_subject.values())


class SpaceConjunction:
    """Conjunction alerts inside the pipeline: screening results and CDMs are offered to it
    (`offer`) and come out of the next batch's detector pass, so they go through the one
    alert book and every sink (store, JSONL, CoT, webhooks) as every other alert does."""

    kind = "space.conjunction"

    def __init__(self, th: ConjunctionThresholds | None = None) -> None:
        self.th = th or ConjunctionThresholds()
        self.pending: list[Signal] = []

    def offer(self, signals: list[Signal]) -> None:
        self.pending.extend(signals)

    def forget(self, slots: np.ndarray) -> None:
        """No per-slot state: pending signals, and `CdmFollower`'s files and subjects."""

    def update(self, ctx: Any) -> list[Signal]:
        out, self.pending = self.pending, []
        return out


# CDM folders followed live (`[space] cdm` in picket.toml, docs/space.md) ----------------
SETTLE_S = 1.0  # a file modified this recently may still be being written: next look
KEEPALIVE_S = 600.0  # an open conjunction is signalled again this often (event time)
AHEAD_S = 600.0  # a CREATION_DATE further ahead of the clock than this is refused


class CdmFollower(SpaceConjunction):
    """CDM files and folders read as they arrive, inside the pipeline's detector pass.

    Why a detector: it runs at every batch of `picket run` on the loop's own thread, its
    alerts go through the one alert book and every sink, and its memory (which files it has
    read) is saved with the pipeline's checkpoint, so a restart reads none of them again.
    Each file is read once, known by its content's SHA-256 (a copy under another name adds
    nothing); a bad one is counted and dead-lettered as `space.cdm_invalid` once. With live
    reports the pipeline's clock is finite: a conjunction is signalled at that clock, kept
    open (`KEEPALIVE_S`) until its TCA, and ended once the TCA has passed."""

    def __init__(self, paths: list[Any], th: ConjunctionThresholds | None = None,
                 poll_s: float = 5.0, rejects: Any = None) -> None:  # fmt: skip
        super().__init__(th)
        self.paths = [str(p) for p in paths]
        self.poll_s = poll_s
        self.rejects = rejects
        self.seen: dict[str, str] = {}  # sha256 -> file name, of every file judged
        self.kept: dict[str, Any] = {}  # sha256 -> Cdm whose TCA has not passed
        self.sent: dict[str, float] = {}  # subject -> clock of its last signal
        self._stat: dict[str, tuple[int, int]] = {}  # path -> (size, mtime_ns) judged
        self._looked = -np.inf

    # checkpoint (pipeline.snapshot): what was read, by hash; the CDMs kept, by file
    def checkpoint_state(self) -> dict[str, Any]:
        return {"seen": dict(self.seen), "kept": {h: c.file for h, c in self.kept.items()},
                "sent": dict(self.sent)}  # fmt: skip

    def restore_state(self, st: dict[str, Any]) -> None:
        from picket.space.cdm_read import parse_cdm, read_bytes

        if not isinstance(st, dict) or not isinstance(st.get("seen"), dict):
            raise ValueError("no CDM memory in the checkpoint")
        self.seen = {str(k): str(v) for k, v in st["seen"].items()}
        self.sent = {str(k): float(v) for k, v in st.get("sent", {}).items()}
        for h, f in st.get("kept", {}).items():
            try:  # a kept CDM whose file has gone leaves its alert to the book's quiet close
                self.kept[str(h)] = parse_cdm(read_bytes(f), str(f))
            except (OSError, ValueError):
                continue

    def update(self, ctx: Any) -> list[Signal]:
        import time as wall

        out = super().update(ctx)
        now = float(ctx.now)
        t = wall.monotonic()
        touched: set[str] = set()
        if t - self._looked >= self.poll_s:
            self._looked = t
            touched = self._look(wall.time())
        return out + self._signals(touched, now)

    def _look(self, clock: float) -> set[str]:
        """Read the files not judged yet; the subjects of the CDMs that arrived."""
        import hashlib
        from xml.etree.ElementTree import ParseError

        from picket.space.cdm_read import cdm_files, parse_cdm, read_bytes, refuse

        touched = set()
        for f in cdm_files(self.paths):
            try:
                st = f.stat()
            except OSError:
                continue  # gone between the listing and now
            key = (st.st_size, st.st_mtime_ns)
            if self._stat.get(str(f)) == key or clock - st.st_mtime < SETTLE_S:
                continue
            self._stat[str(f)] = key
            data = b""
            try:
                data = read_bytes(f)
                h = hashlib.sha256(data).hexdigest()
                if h in self.seen:  # a copy, or the same file again after a restart
                    if self.rejects is not None:
                        self.rejects.note_unused("CDM files read before", 1)
                    continue
                self.seen[h] = f.name
                c = parse_cdm(data, str(f))
                if c.creation_date > clock + AHEAD_S:
                    raise ValueError("CREATION_DATE is ahead of the clock")
            except (OSError, ValueError, ParseError) as e:
                refuse(f, e, data, self.rejects)
                continue
            self.kept[h] = c
            nums = [o.norad for o in c.objects]
            if all(n is not None for n in nums):
                touched.add(f"norad:{min(nums)}")  # type: ignore[type-var]
        return touched

    def _signals(self, touched: set[str], now: float) -> list[Signal]:
        """Signals of the conjunctions new CDMs touched; with a finite clock, the open
        ones again every KEEPALIVE_S, and an end for those whose TCAs have all passed."""
        live = np.isfinite(now)
        if not touched and not (live and self.sent):
            return []
        tca: dict[str, float] = {}
        for c in self.kept.values():
            nums = [o.norad for o in c.objects]
            if all(n is not None for n in nums):
                s = f"norad:{min(nums)}"  # type: ignore[type-var]
                tca[s] = max(tca.get(s, -np.inf), c.tca)
        out = []
        ended = {s for s in self.sent if live and tca.get(s, -np.inf) < now}
        for s in ended:
            out.append(Signal(kind=self.kind, subject=s, time=now, lat=None, lon=None,
                              severity="info", summary="", evidence={"tca_passed": True},
                              domain="space", ended=True))  # fmt: skip
            del self.sent[s]
        if ended:
            self.kept = {h: c for h, c in self.kept.items() if c.tca >= now}
        due = {s for s, t in self.sent.items() if live and now - t >= KEEPALIVE_S}
        want = touched | due
        if not want:
            return out
        for sig in cdm_signals(list(self.kept.values()), self.th):
            if sig.subject not in want or (live and tca[sig.subject] < now):
                continue  # a conjunction already past when its CDM came is no warning
            if live:
                sig.time = max(sig.time, now)
                self.sent[sig.subject] = sig.time
            out.append(sig)
        return out
