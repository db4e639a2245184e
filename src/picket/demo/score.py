"""Score a run's alerts against the scenario's ground truth.

An incident is found when an alert of its kind names its subject (or, for
incidents without a subject such as the anonymous drone or a jamming area,
lies within `radius_m` of it) and fired inside its time window, give or take
`slack_s`. Background alerts are those that match no incident's subject or
place: the quiet traffic should raise almost none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from picket.geo.geodesy import haversine_m
from picket.model.alerts import parse_time


@dataclass
class Score:
    found: dict[int, list[str]] = field(default_factory=dict)  # incident index -> alert ids
    missed: list[dict[str, Any]] = field(default_factory=list)
    background: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)  # other kinds on incident subjects

    def report(self) -> str:
        lines = [f"{len(self.found)} incidents found, {len(self.missed)} missed, "
                 f"{len(self.background)} background alerts"]  # fmt: skip
        for m in self.missed:
            lines.append(f"  MISSED {m['kind']} {m.get('subject')}: {m.get('description', '')}")
        for b in self.background:
            lines.append(f"  BACKGROUND {b['kind']} {b['subject']}: {b['summary']}")
        return "\n".join(lines)


def _t(x: Any) -> float:
    return parse_time(x) if isinstance(x, str) else float(x)


CELL_MARGIN_M = 30_000.0  # an H3 resolution-4 cell is ~25 km across: its centre may lie outside


def _near(a: dict[str, Any], inc: dict[str, Any], radius_m: float) -> bool:
    if a.get("lat") is None or inc.get("lat") is None:
        return False
    margin = CELL_MARGIN_M if str(a.get("subject", "")).startswith("h3:") else 0.0
    return bool(haversine_m(a["lat"], a["lon"], inc["lat"], inc["lon"]) <= radius_m + margin)


def score(
    alerts: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    slack_s: float = 900.0,
    radius_m: float = 60_000.0,
) -> Score:
    sc = Score()
    subjects = {i["subject"] for i in incidents if i.get("subject")}
    used: set[str] = set()
    for k, inc in enumerate(incidents):
        t0, t1 = _t(inc["start"]) - slack_s, _t(inc["end"]) + slack_s
        rad = float(inc.get("radius_m") or radius_m)
        hits = []
        for a in alerts:
            if a["kind"] != inc["kind"] or not (t0 <= _t(a["time"]) <= t1):
                continue
            ok = a["subject"] == inc["subject"] if inc.get("subject") else _near(a, inc, rad)
            if ok:
                hits.append(a["id"])
        if hits:
            sc.found[k] = hits
            used.update(hits)
        else:
            sc.missed.append(inc)
    for a in alerts:
        if a["id"] in used:
            continue
        on_incident = a["subject"] in subjects or any(
            _near(a, inc, float(inc.get("radius_m") or radius_m))
            and _t(inc["start"]) - slack_s <= _t(a["time"]) <= _t(inc["end"]) + slack_s
            for inc in incidents
            if not inc.get("subject") or a["subject"].startswith(("track:", "h3:", "rid:"))
        )
        (sc.related if on_incident else sc.background).append(a)
    return sc


def kinds_found(sc: Score, incidents: list[dict[str, Any]]) -> set[str]:
    return {incidents[k]["kind"] for k in sc.found}


def score_incidents(records: list[dict[str, Any]], alerts: list[dict[str, Any]],
                    truth: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """Cross-domain incidents against the scenario: each truth incident with `extra.joins`
    must be one record holding its subject and an alert of every kind it joins; no record
    may hold the subjects of two different scripted incidents (unrelated alerts stay
    apart). Returns {"joined": [names], "missed": [names], "mixed": [record ids]}."""
    kind_of = {a["id"]: a["kind"] for a in alerts}
    out: dict[str, Any] = {"joined": [], "missed": [], "mixed": []}
    for inc in truth:
        joins = (inc.get("extra") or {}).get("joins")
        if not joins:
            continue
        name = inc["extra"].get("incident") or inc["kind"]
        ok = any(inc["subject"] in r["subjects"]
                 and set(joins) <= {kind_of.get(a) for a in r["alerts"]} for r in records)
        out["joined" if ok else "missed"].append(name)
    scripted = {i["subject"] for i in truth if i.get("subject")}
    scripted |= {(i.get("extra") or {}).get("other") for i in truth} - {None}
    for r in records:
        if len(scripted & set(r["subjects"])) > 1:
            out["mixed"].append(r["id"])
    return out
