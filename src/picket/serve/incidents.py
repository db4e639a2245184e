"""`/api/incidents`: cross-domain incidents joined from the stored alerts, kept in the store.

Why join on read: the joiner (detect/incidents.py) needs only alert states, and every
picture the server shows (live run, demo, stored run) has its alerts in the store. The
server re-joins when the store's alerts changed since it last looked (a cheap count and
newest time), upserts the records, and answers from the store, so triage on an incident
(kept in the triage log under the incident's id) survives restarts and reruns.
"""

from __future__ import annotations

import json
import threading
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from picket.detect.incidents import IncidentRules, join, merged
from picket.model.alerts import iso, parse_time
from picket.serve import triage as tri
from picket.serve.queries import StoreReader, opt_time

MAX_ALERTS = 20_000  # the newest alerts joined (older ones keep their stored incidents)


class Incidents:
    """The server's view of incidents over one store.

    With a time (`?at=`, or the stored picture's time when `picket serve` shows a past
    run), the incidents are those of that moment: the alerts as they were then
    (`state_as_of`, through the store's `alerts_at`) joined by the same rules, triage
    folded as of then. Those are derived, never stored: the store keeps the latest."""

    def __init__(self, reader: StoreReader, rules: IncidentRules | None = None,
                 hub: Any = None) -> None:  # fmt: skip
        self.reader = reader
        self.rules = rules or IncidentRules()
        self.hub = hub  # a stored picture's time is the default `at`
        self._seen: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._then: tuple[tuple[Any, ...], list[dict[str, Any]]] | None = None

    def when(self, at: str | float | None) -> float | None:
        """The time incidents are asked as of: `at` (ISO 8601 or unix s; ValueError when
        bad), else the stored picture's time, else None (the latest, from the store)."""
        if isinstance(at, float):
            return at
        t = opt_time(at)
        if t is None and self.hub is not None and getattr(self.hub, "mode", "") == "stored":
            pic_t = float(self.hub.current().time)
            t = pic_t if np.isfinite(pic_t) else None
        return t

    def as_of(self, at: float) -> list[dict[str, Any]]:
        """The incidents as they were at `at`, oldest first, each with its triage then."""
        r = self.reader
        with r.lock:
            st = r._need()
            mark = (at, *st.db.execute(
                "SELECT count(*), max(last_time), sum(updates) FROM alerts").fetchone(),
                *st.db.execute("SELECT count(*), max(time) FROM triage").fetchone())  # fmt: skip
            if self._then is not None and self._then[0] == mark:
                return self._then[1]
            alerts = st.alerts_at(at)
        alerts.sort(key=lambda a: (a["time"], a["id"]))
        records = join(alerts[-MAX_ALERTS:], self.rules)
        with r.lock:
            logs = r._need()._triage_logs([x["id"] for x in records], at) if records else {}
        for x in records:
            x["triage"] = tri.fold([tri.log_entry(e) for e in logs.get(x["id"], [])])
            x["as_of"] = iso(at)
        self._then = (mark, records)
        return records

    def refresh(self) -> None:
        """Join again if the stored alerts changed since the last join."""
        r = self.reader
        st = r._need()
        with self._lock:
            with r.lock:
                mark = tuple(st.db.execute(
                    "SELECT count(*), max(last_time), sum(updates) FROM alerts").fetchone())
                if mark == self._seen:
                    return
                alerts = st.alerts(limit=MAX_ALERTS)
                before = st.incidents(limit=MAX_ALERTS)
            records = join(alerts, self.rules)
            gone = merged({p["id"] for p in before}, records, before)
            with r.lock:
                st.upsert_incidents(records + gone)
            self._seen = mark

    def list(self, q: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
        status = q.get("status") or None
        if status not in (None, "open", "closed", "merged"):
            raise ValueError("status must be open, closed or merged")
        at = self.when(q.get("at"))
        if at is not None:
            since, until = opt_time(q.get("since")), opt_time(q.get("until"))
            rows = [x for x in reversed(self.as_of(at))
                    if (status is None or x["status"] == status)
                    and (since is None or parse_time(x["last_time"]) >= since)
                    and (until is None or parse_time(x["time"]) <= until)]  # fmt: skip
            rows.sort(key=lambda x: x["time"], reverse=True)  # newest first, as stored
            return rows[offset : offset + limit]
        self.refresh()
        r = self.reader
        with r.lock:
            rows = r._need().incidents(since=opt_time(q.get("since")),
                                       until=opt_time(q.get("until")), status=status,
                                       limit=limit, offset=offset)  # fmt: skip
        states = r._states([x["id"] for x in rows]) if rows else {}
        return [{**x, "triage": states.get(x["id"], tri.fold([]))} for x in rows]

    def one(self, incident_id: str, at: str | float | None = None) -> dict[str, Any] | None:
        """One incident with its triage log and who passed through it; with a time (as
        `list`), as it was then (None when it did not stand as one incident then)."""
        t = self.when(at)
        if t is not None:
            rec = next((x for x in self.as_of(t) if x["id"] == incident_id), None)
            if rec is None:
                return None
            r = self.reader
            with r.lock:
                st = r._need()
                logs = st._triage_logs([incident_id], t).get(incident_id, [])
                passed = _passed(st, rec)
            return {**rec, "log": [tri.log_entry(e) for e in logs], "passed": passed}
        self.refresh()
        r = self.reader
        with r.lock:
            st = r._need()
            rec = st.incident(incident_id)
            if rec is None:
                return None
            log = [tri.log_entry(e) for e in st.triage_log(incident_id)]
            passed = _passed(st, rec)
        return {**rec, "triage": tri.fold(log), "log": log, "passed": passed}

    def triage(self, incident_id: str, who: str, action: str, assignee: str | None,
               comment: str | None, t: float,
               event_time: float) -> dict[str, Any] | None:  # fmt: skip
        r = self.reader
        with r.lock:
            st = r._need()
            if st.incident(incident_id) is None:
                return None
            st.triage(incident_id, who, tri.store_action(action, assignee), comment, t,
                      event_time)  # fmt: skip
        return self.one(incident_id)


MAX_PASSED = 100


def _passed(st: Any, rec: dict[str, Any]) -> dict[str, Any]:
    """Who passed through the incident's extent while it was active (stored track points):
    per domain the subjects, first and last time seen there, newest first, at most 100."""
    from picket.model.subjects import format_subject
    from picket.serve.picture import DOMAIN_NAMES

    w, s, e, n = rec["extent"]["bbox"]
    t0, t1 = parse_time(rec["time"]), parse_time(rec["last_time"])
    rows = st.db.execute(
        "SELECT subject, domain, min(time), max(time), count(*) FROM track_points "
        "WHERE time >= ? AND time <= ? AND lat >= ? AND lat <= ? AND lon >= ? AND lon <= ? "
        "GROUP BY subject, domain ORDER BY max(time) DESC, subject", (t0, t1, s, n, w, e),
    ).fetchall()  # fmt: skip
    mine = set(rec.get("subjects", []))
    out: dict[str, Any] = {"total": len(rows)}
    for subj, dom, a, b, k in rows:
        name = DOMAIN_NAMES.get(int(dom), "none")
        lst = out.setdefault(name, [])
        if len(lst) < MAX_PASSED:
            sub = format_subject(int(subj))
            lst.append({"subject": sub, "first": iso(float(a)), "last": iso(float(b)),
                        "points": int(k), "in_incident": sub in mine})  # fmt: skip
    return out


# exports --------------------------------------------------------------------------------
def _ring(bbox: list[float]) -> list[list[float]]:
    w, s, e, n = bbox
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def geojson(incidents: list[dict[str, Any]]) -> dict[str, Any]:
    """One Polygon (the extent) per incident, its timeline and alert ids in properties."""
    feats = []
    for x in incidents:
        props = {k: x.get(k) for k in ("id", "time", "last_time", "status", "severity",
                                       "summary", "domains", "kinds", "subjects", "alerts")}
        props["place"] = (x.get("place") or {}).get("text")
        props["triage"] = (x.get("triage") or {}).get("state")
        props["layer"] = "incident"
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Polygon",
                                   "coordinates": [_ring(x["extent"]["bbox"])]}})  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def kml(incidents: list[dict[str, Any]]) -> bytes:
    """KML: a Placemark per incident (its extent, a time span, the timeline as text)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>picket incidents'
             '</name>']  # fmt: skip
    for x in incidents:
        coords = " ".join(f"{a:.5f},{b:.5f}" for a, b in _ring(x["extent"]["bbox"]))
        lines = "\n".join(f"{e['time']} {e['what']} {e['kind']} {e.get('subject') or ''}"
                          for e in x.get("timeline", []))  # fmt: skip
        data = "".join(f'<Data name="{k}"><value>{escape(str(x.get(k)))}</value></Data>'
                       for k in ("id", "status", "severity"))  # fmt: skip
        parts.append(
            f"<Placemark><name>{escape(x['summary'])}</name>"
            f"<TimeSpan><begin>{x['time']}</begin><end>{x['last_time']}</end></TimeSpan>"
            f"<description>{escape(lines)}</description><ExtendedData>{data}</ExtendedData>"
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates>"
            "</LinearRing></outerBoundaryIs></Polygon></Placemark>")  # fmt: skip
    parts.append("</Document></kml>")
    return "\n".join(parts).encode()


def cot(incidents: list[dict[str, Any]], stale_s: float = 3600.0) -> bytes:
    """Cursor on Target: one event per incident at its centre (a point of interest,
    `b-m-p-s-p-i`), the extent's half-diagonal as `ce`, the summary as remarks."""
    from picket.geo.geodesy import haversine_m

    out = []
    for x in incidents:
        w, s, e, n = x["extent"]["bbox"]
        ce = float(haversine_m(s, w, n, e)) / 2
        t = parse_time(x["last_time"])
        out.append(
            f'<?xml version="1.0" encoding="UTF-8"?><event version="2.0" '
            f'uid={quoteattr("picket.incident." + x["id"])} type="b-m-p-s-p-i" how="h-e" '
            f'time="{iso(t)}" start="{x["time"]}" stale="{iso(t + stale_s)}">'
            f'<point lat="{x["lat"]:.6f}" lon="{x["lon"]:.6f}" hae="0.0" ce="{ce:.0f}" '
            f'le="9999999.0"/><detail><contact callsign={quoteattr(x["id"])}/>'
            f"<remarks>{escape(x['summary'])}</remarks></detail></event>")  # fmt: skip
    return "\n".join(out).encode()


def export(incidents: list[dict[str, Any]], fmt: str) -> tuple[bytes, str]:
    """(body, media type) of the incidents as GeoJSON, KML or CoT."""
    if fmt == "geojson":
        return json.dumps(geojson(incidents)).encode(), "application/geo+json"
    if fmt == "kml":
        return kml(incidents), "application/vnd.google-earth.kml+xml"
    if fmt == "cot":
        return cot(incidents), "application/xml"
    raise ValueError("format must be json, geojson, kml or cot")
