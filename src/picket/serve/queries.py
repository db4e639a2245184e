"""Reads for the REST API: the live picture as JSON and the store behind a lock.

Why a lock: the server keeps its own SQLite connection (WAL lets it read
while the pipeline writes) and handlers run in a thread pool.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from picket.model.alerts import iso, parse_time
from picket.model.codes import human
from picket.model.subjects import format_subject
from picket.serve import triage as tri
from picket.serve.picture import (
    DOMAIN_NAMES,
    FLAG_STALE,
    IDENTITIES,
    Picture,
    gid_text,
    identity_of,
    track_gids,
)
from picket.serve.views import ViewKey, in_bbox, parse_bbox
from picket.store import newest_points, open_store
from picket.store.sqlite import Store

MAX_LIMIT = 5000


MAX_OFFSET = 1_000_000_000
TIME_MIN, TIME_MAX = 0.0, 253_402_300_799.0  # 1970 to the end of year 9999 (ISO 8601's range)


def clamp(limit: Any, default: int) -> int:
    """A `limit` parameter: a positive integer, clamped to MAX_LIMIT (ValueError: a 400)."""
    if limit in (None, ""):
        return default
    try:
        v = int(str(limit).strip())
    except (TypeError, ValueError):
        raise ValueError(f"limit must be a positive integer, not {str(limit)[:40]!r}") from None
    if v < 1:
        raise ValueError(f"limit must be a positive integer, not {v}")
    return min(v, MAX_LIMIT)


def offset_param(v: Any) -> int:
    """An `offset` parameter: an integer from 0 to MAX_OFFSET (ValueError: a 400)."""
    if v in (None, ""):
        return 0
    try:
        k = int(str(v).strip())
    except (TypeError, ValueError):
        raise ValueError(f"offset must be an integer >= 0, not {str(v)[:40]!r}") from None
    if not 0 <= k <= MAX_OFFSET:
        raise ValueError(f"offset must be from 0 to {MAX_OFFSET}")
    return k


def opt_time(v: str | None) -> float | None:
    """A time parameter (ISO 8601 or unix seconds), finite and within ISO 8601's years."""
    if v in (None, ""):
        return None
    try:
        t = parse_time(v)
    except (ValueError, OverflowError, TypeError):
        raise ValueError(f"bad time {str(v)[:40]!r} (ISO 8601 or unix seconds)") from None
    if not (np.isfinite(t) and TIME_MIN <= t <= TIME_MAX):
        raise ValueError(f"time {str(v)[:40]!r} out of range (1970 to 9999)")
    return t


def _num(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def track_json(pic: Picture, i: int, flags: np.ndarray, alert_ids: dict[str, list[str]],
               statics: dict | None) -> dict[str, Any]:  # fmt: skip
    c = pic.cols
    subj = format_subject(int(c["subject"][i]))
    tid = int(c["id"][i])
    sq = int(c["squawk"][i])
    ns = int(c["nav_status"][i])

    def f(k: str, nd: int = 6) -> Any:
        v = float(c[k][i])
        return round(v, nd) if np.isfinite(v) else None

    def t(k: str) -> Any:
        v = float(c[k][i])
        return iso(v) if np.isfinite(v) else None

    st = {k: v for k, v in (statics or {}).items() if isinstance(v, str | int | float | bool)}
    return {
        "id": gid_text(track_gids(pic, [i])[0]), "wire_id": tid, "subject": subj,
        "domain": DOMAIN_NAMES.get(int(c["domain"][i]), "none"),
        "label": pic.labels.get(tid) or subj, "lat": f("lat", 7), "lon": f("lon", 7),
        "alt": f("alt", 1), "speed": f("speed", 2), "course": f("course", 1),
        "heading": f("heading", 1), "time": t("last_time"), "pos_time": t("pos_time"),
        "first_time": t("first_time"), "n_reports": int(c["n_reports"][i]),
        "squawk": sq if sq >= 0 else None, "nav_status": ns if ns >= 0 else None,
        "stale": bool(flags[i] & FLAG_STALE), "identity": IDENTITIES[int(identity_of(flags[i]))],
        "alerts": alert_ids.get(subj, []), "static": st,
    }  # fmt: skip


def select_tracks(pic: Picture, q: dict[str, str]) -> np.ndarray:
    """Rows of the picture matching the query, newest report first."""
    key = ViewKey.parse(q.get("domain"), None)
    m = pic.alive() if q.get("all") != "1" else np.isfinite(pic["lat"])
    if key.domains is not None:
        m &= np.isin(pic["domain"], key.domains)
    bbox = parse_bbox(q.get("bbox"))
    if bbox is not None:
        m &= in_bbox(pic["lat"], pic["lon"], bbox)
    since, until = opt_time(q.get("since")), opt_time(q.get("until"))
    if since is not None:
        m &= pic["last_time"] >= since
    if until is not None:
        m &= pic["last_time"] <= until
    if q.get("subject"):
        from picket.model.subjects import parse_subject

        m &= pic["subject"] == parse_subject(q["subject"])
    idx = np.flatnonzero(m)
    return idx[np.argsort(-pic["last_time"][idx], kind="stable")]


class StoreReader:
    def __init__(self, store: Store | str | Path | None):
        self.store = open_store(store) if store else None  # its own connection or file handle
        self.lock = threading.Lock()

    def close(self) -> None:
        if self.store is not None:
            with self.lock:
                self.store.close()

    def _need(self) -> Store:
        if self.store is None:
            raise LookupError("no store configured")
        return self.store

    def alerts(self, q: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
        """Filtered alerts with triage state; filters the store cannot do are done here."""
        st = self._need()
        kind = q.get("kind") or None
        sev = set(filter(None, (q.get("severity") or "").split(",")))
        tstates = set(filter(None, (q.get("triage") or "").split(",")))
        domain = q.get("domain") or None
        bbox = parse_bbox(q.get("bbox"))
        post = bool(sev or tstates or domain or bbox)
        at = opt_time(q.get("at"))
        with self.lock:
            if at is not None:  # each alert as it was then (store.asof), triage folded too
                rows = st.alerts_at(at, since=opt_time(q.get("since")),
                                    until=opt_time(q.get("until")), kind=kind,
                                    subject=q.get("subject") or None,
                                    status=q.get("status") or None)  # fmt: skip
                states, post = {r["id"]: r["triage"] for r in rows}, True
            else:
                rows = st.alerts(since=opt_time(q.get("since")), until=opt_time(q.get("until")),
                                 kind=kind, subject=q.get("subject") or None,
                                 status=q.get("status") or None,
                                 limit=MAX_LIMIT * 4 if post else limit,
                                 offset=0 if post else offset)  # fmt: skip
                states = self._states([r["id"] for r in rows])
        out = []
        for r in rows:
            r["triage"] = states[r["id"]]
            r["human"] = human(r["kind"], r.get("evidence"))
            if sev and r["severity"] not in sev:
                continue
            if tstates and r["triage"]["state"] not in tstates:
                continue
            if domain and r["domain"] != domain:
                continue
            if bbox is not None and (
                r["lat"] is None or not in_bbox(np.array([r["lat"]]), np.array([r["lon"]]), bbox)[0]
            ):
                continue
            out.append(r)
        return out[offset : offset + limit] if post else out

    def _states(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        st = self._need()
        logs: dict[str, list] = {i: [] for i in ids}
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            cur = st.db.execute(
                f"SELECT alert_id, time, who, action, comment FROM triage WHERE alert_id IN "
                f"({','.join('?' * len(part))}) ORDER BY time",
                part,
            )
            for aid, t, who, action, comment in cur:
                logs[aid].append(tri.log_entry({"time": iso(t), "who": who, "action": action,
                                                "comment": comment}))  # fmt: skip
        return {i: tri.fold(v) for i, v in logs.items()}

    def alert(self, alert_id: str, at: float | None = None) -> dict[str, Any] | None:
        """One alert with its triage log; with `at`, as it was then (None if not yet open)."""
        st = self._need()
        if at is not None:
            with self.lock:
                rows = st.alerts_at(at, ids=[alert_id])
                logs = st._triage_logs([alert_id], at).get(alert_id, [])
            if not rows:
                return None
            rows[0]["log"] = [tri.log_entry(e) for e in logs]
            rows[0]["human"] = human(rows[0]["kind"], rows[0].get("evidence"))
            return rows[0]
        with self.lock:
            cur = st.db.execute("SELECT * FROM alerts WHERE id=?", (alert_id,))
            row = cur.fetchone()
            if row is None:
                return None
            a = dict(zip([d[0] for d in cur.description], row, strict=True))
            log = [tri.log_entry(e) for e in st.triage_log(alert_id)]
        a["evidence"] = json.loads(a["evidence"])
        for k in ("time", "last_time", "closed_time"):
            a[k] = iso(a[k]) if a[k] is not None else None
        a["triage"] = tri.fold(log)
        a["log"] = log
        a["human"] = human(a["kind"], a["evidence"])
        return a

    def triage(self, alert_id: str, who: str, action: str, assignee: str | None,
               comment: str | None, t: float,
               event_time: float | None = None) -> dict[str, Any] | None:  # fmt: skip
        st = self._need()
        with self.lock:
            if st.db.execute("SELECT 1 FROM alerts WHERE id=?", (alert_id,)).fetchone() is None:
                return None
            st.triage(alert_id, who, tri.store_action(action, assignee), comment, t, event_time)
        return self.alert(alert_id)

    def count_open(self, at: float) -> int:
        """Alerts open as of `at`, derived as `alerts(at=...)` derives them."""
        st = self._need()
        with self.lock:
            return st.count_open_at(at)

    def alerts_for(self, ids: list[str], at: float) -> list[dict[str, Any]]:
        """These alerts as of `at` (replay steps)."""
        st = self._need()
        with self.lock:
            rows = st.alerts_at(at, ids=ids)
        for r in rows:  # as `alerts(at=...)` gives them
            r["human"] = human(r["kind"], r.get("evidence"))
        return rows

    def changes(self, since: float, until: float) -> list[tuple[float, str]]:
        """(event time, alert id) of everything that changed an alert in (since, until]:
        its events, its triage, and for alerts stored without events their first and
        closing times."""
        st = self._need()
        w = "> ? AND {0} <= ?"
        q = " UNION ALL ".join([
            f"SELECT time, alert_id FROM alert_events WHERE time {w.format('time')}",
            f"SELECT coalesce(event_time, time) t, alert_id FROM triage WHERE "
            f"coalesce(event_time, time) {w.format('coalesce(event_time, time)')}",
            f"SELECT time, id FROM alerts WHERE time {w.format('time')}",
            f"SELECT closed_time, id FROM alerts WHERE closed_time {w.format('closed_time')}",
        ])  # fmt: skip
        with self.lock:
            rows = st.db.execute(q + " ORDER BY 1", [since, until] * 4).fetchall()
        return [(float(t), str(a)) for t, a in rows]

    def picture_at(self, at: float) -> Picture:
        """The picture as of `at` from stored track history (`serve.stored`)."""
        from picket.serve.stored import picture_at

        st = self._need()
        with self.lock:
            return picture_at(st, at)

    def latest_time(self) -> float | None:
        if self.store is None:
            return None
        with self.lock:
            return self.store.latest_time()

    def history(self, subject: int, since: float | None, until: float | None, limit: int):
        st = self._need()
        with self.lock:
            rows = list(st.track_points(subject, since, until, limit))
        return [{"time": iso(r[1]), "lat": r[3], "lon": r[4], "alt": r[5], "speed": r[6],
                 "course": r[7]} for r in rows]  # fmt: skip

    def points(self, since: float, until: float, lead_s: float = 0.0) -> dict[str, np.ndarray]:
        """Stored track points of a window as columns sorted by time (replay, export).
        `lead_s`: also each subject's newest point in the `lead_s` before `since`, so a
        replay starts with the picture as it was at `since`."""
        st = self._need()
        with self.lock:
            rows = st.db.execute(
                "SELECT subject, time, domain, lat, lon, alt, speed, course FROM track_points "
                "WHERE time >= ? AND time <= ? ORDER BY time",
                (since, until),
            ).fetchall()
            if lead_s > 0:
                lead = newest_points(st, since - lead_s, since, inclusive=False)
                rows = sorted(lead, key=lambda r: r[1]) + rows
        names = ("subject", "time", "domain", "lat", "lon", "alt", "speed", "course")
        if not rows:
            return {k: np.zeros(0, np.int64 if k in ("subject", "domain") else float)
                    for k in names}  # fmt: skip
        arr = list(zip(*rows, strict=True))
        out = {}
        for k, col in zip(names, arr, strict=True):
            if k in ("subject", "domain"):
                out[k] = np.array(col, np.int64)
            else:
                out[k] = np.array([np.nan if v is None else v for v in col], float)
        return out

    def point_pages(self, since: float, until: float, lead_s: float = 0.0,
                    page: int = 20_000) -> Iterator[dict[str, np.ndarray]]:  # fmt: skip
        """The points of `points()` as time-sorted pages of at most `page` rows, read one at
        a time (keyset paging on (time, subject)), so a window of any width costs a page of
        memory. The lock is held per page: other requests go between pages."""
        st = self._need()
        if lead_s > 0:
            with self.lock:
                lead = newest_points(st, since - lead_s, since, inclusive=False)
            lead.sort(key=lambda r: r[1])
            for k in range(0, len(lead), page):
                yield _columns(lead[k : k + page])
        cursor = (since, -(1 << 63))
        while True:
            with self.lock:
                rows = st.track_points_page(until, cursor, page)
            if not rows:
                return
            yield _columns(rows)
            if len(rows) < page:
                return
            cursor = (rows[-1][1], rows[-1][0])


POINT_COLS = ("subject", "time", "domain", "lat", "lon", "alt", "speed", "course")


def _columns(rows: list[tuple]) -> dict[str, np.ndarray]:
    """Store rows (subject, time, domain, lat, lon, alt, speed, course) as columns."""
    if not rows:
        return {k: np.zeros(0, np.int64 if k in ("subject", "domain") else float)
                for k in POINT_COLS}  # fmt: skip
    out = {}
    for k, col in zip(POINT_COLS, zip(*rows, strict=True), strict=True):
        if k in ("subject", "domain"):
            out[k] = np.array(col, np.int64)
        else:
            out[k] = np.array([np.nan if v is None else v for v in col], float)
    return out
