"""Incidents: alerts close in space and time, across domains and subjects, joined into one.

A cable cut is not one alert: a vessel goes dark or drags its anchor over the cable,
GNSS is jammed over the same sea area, aircraft and satellites pass. Each detector
sees its own part; an analyst needs them on one card. The rule (docs/incidents.md) is
simple and configurable under `[incidents]`: two alerts are linked when their kinds
may join, they lie within `distance_m` of each other (an area alert: of its nearest
cell) and their active spans [first fired, closed or last seen] come within
`window_s`; an incident is a connected group of linked alerts that spans at least
`min_domains` domains and `min_subjects` subjects. Single-domain groups stay alerts.

Joining reads alert states only, never reports, so it can run over a store as well as
live; the ids derive from the incident's earliest alert, so a rerun gives the same ids
and an analyst's triage stays attached.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from picket.geo.geodesy import haversine_m
from picket.model.alerts import SEVERITY_RANK, iso, parse_time

CELL_RADIUS_M = 22_600.0  # an H3 resolution-4 cell's centre to its corners (edge ~22.6 km)
DOMAIN_NAMES = {"em": "GNSS", "maritime": "maritime", "air": "air", "space": "space"}


class IncidentRulesError(ValueError):
    pass


@dataclass
class IncidentRules:
    """What joins. Defaults: picket's judgement for the Baltic picture (docs/incidents.md)."""

    distance_m: float = 10_000.0  # alerts this close (to the edge of an area) may join
    window_s: float = 3600.0  # ... when their active spans come this close in time
    kinds: list[str] = field(default_factory=lambda: [
        "maritime.*", "air.*", "gnss.*", "space.*", "watchlist.hit"])  # fmt: skip
    exclude: list[str] = field(default_factory=list)  # kinds that never join (patterns)
    min_domains: int = 2
    min_subjects: int = 2

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, where: str = "[incidents]") -> IncidentRules:
        d = dict(d or {})
        names = {f for f in cls.__dataclass_fields__}
        bad = set(d) - names
        if bad:
            raise IncidentRulesError(f"{where}: unknown keys {sorted(bad)}; known: "
                                     f"{sorted(names)}")  # fmt: skip
        r = cls(**d)
        if not (r.distance_m > 0 and r.window_s >= 0 and r.min_domains >= 1
                and r.min_subjects >= 1):  # fmt: skip
            raise IncidentRulesError(f"{where}: distance_m > 0, window_s >= 0, min_domains and "
                                     "min_subjects >= 1")  # fmt: skip
        if not all(isinstance(k, str) for k in [*r.kinds, *r.exclude]):
            raise IncidentRulesError(f"{where}: kinds and exclude are lists of kind patterns")
        return r

    def joins(self, kind: str) -> bool:
        def hit(pats: list[str]) -> bool:
            return any(fnmatch.fnmatchcase(kind, p) for p in pats)

        return hit(self.kinds) and not hit(self.exclude)


def _t(v: Any) -> float | None:
    if v is None:
        return None
    return parse_time(v) if isinstance(v, str) else float(v)


def _points(a: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """Where an alert is: its cells for an area alert (with their radius), else its point."""
    cells = (a.get("evidence") or {}).get("cells")
    if isinstance(cells, list) and cells and all(isinstance(c, dict) and "lat" in c
                                                 for c in cells):  # fmt: skip
        return (np.array([float(c["lat"]) for c in cells]),
                np.array([float(c["lon"]) for c in cells]), CELL_RADIUS_M)  # fmt: skip
    if str(a.get("subject", "")).startswith("h3:"):  # a single cell
        return np.array([float(a["lat"])]), np.array([float(a["lon"])]), CELL_RADIUS_M
    return np.array([float(a["lat"])]), np.array([float(a["lon"])]), 0.0


def incident_id(first_alert_id: str) -> str:
    return "inc-" + hashlib.sha1(first_alert_id.encode()).hexdigest()[:12]


def join(alerts: list[dict[str, Any]], rules: IncidentRules | None = None) -> list[dict[str, Any]]:
    """Incidents (as JSON records, oldest first) from alerts in the API's JSON form."""
    rules = rules or IncidentRules()
    cand = [a for a in alerts if rules.joins(str(a.get("kind", "")))
            and a.get("lat") is not None and a.get("lon") is not None]  # fmt: skip
    cand.sort(key=lambda a: (_t(a["time"]), a["id"]))
    n = len(cand)
    if n < 2:
        return []
    t0 = np.array([_t(a["time"]) for a in cand])
    t1 = np.array([_t(a.get("closed_time")) or _t(a.get("last_time")) or _t(a["time"])
                   for a in cand])  # fmt: skip
    where = [_points(a) for a in cand]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        # spans that come within the window: t0[j] <= t1[i] + w and t1[j] >= t0[i] - w
        near_t = np.flatnonzero((t0[i + 1:] <= t1[i] + rules.window_s)
                                & (t1[i + 1:] >= t0[i] - rules.window_s)) + i + 1  # fmt: skip
        la, lo, ri = where[i]
        for j in near_t.tolist():
            lb, lob, rj = where[j]
            d = haversine_m(la[:, None], lo[:, None], lb[None, :], lob[None, :])
            if float(np.min(d)) - ri - rj <= rules.distance_m:
                parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    out = []
    for members in groups.values():
        group = [cand[i] for i in members]
        domains = {str(a.get("domain")) for a in group}
        subjects = {str(a.get("subject")) for a in group}
        if len(group) < 2 or len(domains) < rules.min_domains or len(subjects) < rules.min_subjects:
            continue
        out.append(_record(group, [where[i] for i in members], rules))
    return sorted(out, key=lambda r: (r["time"], r["id"]))


def _record(group: list[dict[str, Any]], where: list[tuple], rules: IncidentRules
            ) -> dict[str, Any]:  # fmt: skip
    from picket.detect.places import describe

    first = group[0]
    lat = np.concatenate([w[0] for w in where])
    lon = np.concatenate([w[1] for w in where])
    pad = max(w[2] for w in where) / 111_000.0
    bbox = [float(lon.min()) - pad, float(lat.min()) - pad, float(lon.max()) + pad,
            float(lat.max()) + pad]  # fmt: skip
    pts = np.array([[float(a["lat"]), float(a["lon"])] for a in group])
    clat, clon = float(pts[:, 0].mean()), float(pts[:, 1].mean())
    place = describe(clat, clon)
    timeline = []
    for a in group:
        timeline.append({"time": iso(_t(a["time"])), "what": "opened", "alert_id": a["id"],
                         "kind": a["kind"], "domain": a.get("domain"),
                         "subject": a.get("subject"), "summary": a.get("summary")})  # fmt: skip
        if a.get("status") == "closed" and a.get("closed_time"):
            timeline.append({"time": iso(_t(a["closed_time"])), "what": "closed",
                             "alert_id": a["id"], "kind": a["kind"], "domain": a.get("domain"),
                             "subject": a.get("subject")})  # fmt: skip
    timeline.sort(key=lambda e: (e["time"], e["what"] != "opened", e["alert_id"]))
    sev = max((a.get("severity", "info") for a in group), key=lambda s: SEVERITY_RANK.get(s, 0))
    domains = sorted({str(a.get("domain")) for a in group})
    kinds = sorted({a["kind"] for a in group})
    last = max(_t(a.get("closed_time")) or _t(a.get("last_time")) or _t(a["time"])
               for a in group)  # fmt: skip
    status = "open" if any(a.get("status") == "open" for a in group) else "closed"
    what = ", ".join(k.split(".", 1)[1].replace("_", " ") for k in kinds)
    summary = (f"{' and '.join(DOMAIN_NAMES.get(d, d) for d in domains)} alerts near "
               f"{place['text']}: {what} ({len(group)} alerts, "
               f"{len({a.get('subject') for a in group})} subjects)")  # fmt: skip
    return {
        "id": incident_id(first["id"]),
        "time": iso(_t(first["time"])),
        "last_time": iso(last),
        "status": status,
        "severity": sev,
        "lat": round(clat, 5),
        "lon": round(clon, 5),
        "place": place,
        "extent": {"bbox": [round(v, 4) for v in bbox]},
        "summary": summary,
        "domains": domains,
        "kinds": kinds,
        "subjects": sorted({str(a.get("subject")) for a in group}),
        "alerts": [a["id"] for a in group],
        "timeline": timeline,
        "rules": asdict(rules),
    }


def merged(old_ids: set[str], records: list[dict[str, Any]],
           previous: list[dict[str, Any]]) -> list[dict[str, Any]]:  # fmt: skip
    """Stored incidents that no longer stand on their own (their alerts joined an older
    group): kept, marked `merged` with the id of the incident that holds their first alert,
    so triage on them stays readable."""
    now = {r["id"] for r in records}
    holder = {aid: r["id"] for r in records for aid in r["alerts"]}
    out = []
    for p in previous:
        if p["id"] in now or p.get("status") == "merged" or p["id"] not in old_ids:
            continue
        into = next((holder[a] for a in p.get("alerts", []) if a in holder), None)
        out.append({**p, "status": "merged", "merged_into": into})
    return out
