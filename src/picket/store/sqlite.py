"""The embedded store: one SQLite file for alerts, triage and track history.

Why SQLite: it ships with Python (nothing to install or run), its WAL mode
lets the web server read while the pipeline writes, and an upsert keyed on
the deterministic alert id gives exactly-once alerts across restarts and
reruns. Track history is written in batches, downsampled per subject, so the
file grows with time covered, not with message rate.

Why alert events as well as alerts: the `alerts` row is the latest state,
but a replay or a stored run shown at an earlier time must show each alert
as it was then. `alert_events` keeps every open, update and close with its
event time and the state it carried, keyed so a rerun inserts nothing new;
`picket.store.asof` derives the state as of any time from them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from picket.model.alerts import Alert, Event, iso
from picket.store.asof import LAST_EVENT_SQL, state_as_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    time REAL NOT NULL,
    last_time REAL NOT NULL,
    closed_time REAL,
    status TEXT NOT NULL,
    domain TEXT NOT NULL,
    subject TEXT NOT NULL,
    lat REAL,
    lon REAL,
    summary TEXT NOT NULL,
    evidence TEXT NOT NULL,
    updates INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);
CREATE INDEX IF NOT EXISTS alerts_kind ON alerts(kind, time);
CREATE TABLE IF NOT EXISTS triage (
    alert_id TEXT NOT NULL,
    time REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    comment TEXT
);
CREATE INDEX IF NOT EXISTS triage_alert ON triage(alert_id, time);
CREATE TABLE IF NOT EXISTS alert_events (
    alert_id TEXT NOT NULL,
    time REAL NOT NULL,
    updates INTEGER NOT NULL,
    what TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    lat REAL,
    lon REAL,
    summary TEXT NOT NULL,
    evidence TEXT NOT NULL,
    last_time REAL NOT NULL,
    closed_time REAL,
    PRIMARY KEY (alert_id, time, updates, what)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS alert_events_time ON alert_events(time);
CREATE TABLE IF NOT EXISTS track_points (
    subject INTEGER NOT NULL,
    time REAL NOT NULL,
    domain INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    alt REAL,
    speed REAL,
    course REAL,
    PRIMARY KEY (subject, time)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS track_points_time ON track_points(time);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    last_time REAL NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents(time);
CREATE TABLE IF NOT EXISTS watchlist (
    id TEXT PRIMARY KEY,
    match TEXT NOT NULL,
    label TEXT NOT NULL,
    severity TEXT NOT NULL,
    note TEXT NOT NULL,
    who TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    time REAL NOT NULL,
    wall REAL NOT NULL,
    state BLOB NOT NULL
);
"""


def _kind_subject(q: str, args: list[Any], kind: str | None, subject: str | None,
                  p: str) -> tuple[str, list[Any]]:  # fmt: skip
    """Kind (`maritime`, `maritime.*` or exact) and subject filters on table prefix `p`."""
    if kind:
        if kind.endswith(".*") or "." not in kind:
            q += f" AND {p}kind LIKE ?"
            args.append(kind.removesuffix(".*") + ".%")
        else:
            q += f" AND {p}kind = ?"
            args.append(kind)
    if subject:
        q += f" AND {p}subject = ?"
        args.append(subject)
    return q, args


COUNT_OPEN_AT_SQL = (
    f"SELECT count(*) FROM alerts a LEFT JOIN ({LAST_EVENT_SQL}) e "
    f"ON e.alert_id = a.id AND e.rn = 1 WHERE a.time <= ? AND "
    f"((e.alert_id IS NOT NULL AND e.status = 'open') OR (e.alert_id IS NULL "
    f"AND (a.closed_time IS NULL OR a.closed_time > ?)))"
)  # how many alerts were open as of a time: args (at, at, at)


def alerts_at_sql(at: float, until: float | None, kind: str | None, subject: str | None,
                  ids: list[str] | None) -> tuple[str, list[Any]]:  # fmt: skip
    """The query behind `alerts_at` (`?` placeholders; both stores run it): each alert that
    had opened by `at`, beside its newest event at or before `at`."""
    q = (f"SELECT a.id, a.kind, a.domain, a.subject, a.time, a.severity, a.last_time, "
         f"a.closed_time, a.status, a.lat, a.lon, a.summary, a.evidence, a.updates, "
         f"e.what AS e_what, e.time AS e_time, e.updates AS e_updates, "
         f"e.severity AS e_severity, e.status AS e_status, e.lat AS e_lat, e.lon AS e_lon, "
         f"e.summary AS e_summary, e.evidence AS e_evidence, e.last_time AS e_last_time, "
         f"e.closed_time AS e_closed_time FROM alerts a LEFT JOIN ({LAST_EVENT_SQL}) e "
         f"ON e.alert_id = a.id AND e.rn = 1 WHERE a.time <= ?")  # fmt: skip
    args: list[Any] = [at, at]
    if until is not None:
        q += " AND a.time <= ?"
        args.append(until)
    q, args = _kind_subject(q, args, kind, subject, "a.")
    if ids is not None:  # an empty list selects nothing (PostgreSQL has no `IN ()`)
        q += f" AND a.id IN ({','.join('?' * len(ids))})" if ids else " AND 1 = 0"
        args += ids
    return q + " ORDER BY a.time DESC, a.id", args


def fold_alerts_at(rows: list[dict[str, Any]], logs: dict[str, list[dict[str, Any]]], at: float,
                   since: float | None, status: str | None) -> list[dict[str, Any]]:  # fmt: skip
    """`alerts_at`'s rows (alert + newest event) as API dicts in their state as of `at`."""
    out = []
    for r in rows:
        ev = {k[2:]: r.pop(k) for k in list(r) if k.startswith("e_")}
        d = state_as_of(r, [ev] if ev["what"] is not None else [], logs.get(r["id"], []), at)
        if d is None or (status and d["status"] != status):
            continue
        if since is not None and d["_last"] < since:
            continue
        d.pop("_last")
        out.append(d)
    return out


WATCH_COLS = ("id", "match", "label", "severity", "note", "who", "time")


def watch_row(e: dict[str, Any]) -> tuple:
    return tuple(e[k] for k in WATCH_COLS)


def incident_row(r: dict[str, Any]) -> tuple:
    """(id, time, last_time, status, severity, record JSON) of an incident record."""
    from picket.model.alerts import parse_time

    return (r["id"], parse_time(r["time"]), parse_time(r["last_time"]), r["status"],
            r["severity"], json.dumps(r, sort_keys=True))  # fmt: skip


def _span_where(q: str, since: float | None, until: float | None,
                status: str | None) -> tuple[str, list[Any]]:  # fmt: skip
    """`q` narrowed to records active in [since, until] (`time`..`last_time`) and a status."""
    args: list[Any] = []
    if since is not None:
        q += " AND last_time >= ?"
        args.append(since)
    if until is not None:
        q += " AND time <= ?"
        args.append(until)
    if status:
        q += " AND status = ?"
        args.append(status)
    return q, args


def incidents_sql(since: float | None, until: float | None,
                  status: str | None) -> tuple[str, list[Any]]:  # fmt: skip
    """The incident listing's query (`?` placeholders; both stores run it)."""
    q, args = _span_where("SELECT record FROM incidents WHERE 1=1", since, until, status)
    if not status:
        q += " AND status <> 'merged'"
    return q + " ORDER BY time DESC, id", args


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(triage)")}
        if "event_time" not in cols:  # a store from before triage kept the picture's time
            self.db.execute("ALTER TABLE triage ADD COLUMN event_time REAL")
        self.db.commit()

    @property
    def dead_letter_path(self) -> Path:
        """Rejected input is kept beside the store."""
        return self.path.with_name("dead-letter.jsonl")

    # alerts ---------------------------------------------------------------------
    def upsert_alerts(self, alerts: list[Alert]) -> None:
        rows = [
            (a.id, a.kind, a.severity, a.time, a.last_time or a.time, a.closed_time, a.status,
             a.domain, a.subject, _f(a.lat) if a.lat is not None else None,
             _f(a.lon) if a.lon is not None else None, a.summary,
             json.dumps(a.to_json()["evidence"]), a.updates)
            for a in alerts
        ]  # fmt: skip
        self.db.executemany(
            """INSERT INTO alerts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET severity=excluded.severity,
               last_time=max(last_time, excluded.last_time), closed_time=excluded.closed_time,
               status=excluded.status, lat=excluded.lat, lon=excluded.lon,
               summary=excluded.summary, evidence=excluded.evidence,
               updates=max(updates, excluded.updates)""",
            rows,
        )
        self.db.commit()

    def record(self, events: list[Event]) -> None:
        """Keep each alert event (insert-or-ignore: a rerun adds nothing) and upsert the
        latest state of every alert they touch, in one transaction."""
        if not events:
            return
        rows = [
            (a.id, a.event_time or a.last_time or a.time, a.updates, what, a.severity, a.status,
             _f(a.lat) if a.lat is not None else None, _f(a.lon) if a.lon is not None else None,
             a.summary, json.dumps(a.to_json()["evidence"]), a.last_time or a.time, a.closed_time)
            for what, a in events
        ]  # fmt: skip
        self.db.executemany("INSERT OR IGNORE INTO alert_events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            rows)  # fmt: skip
        latest = {a.id: a for _, a in events}
        self.upsert_alerts(list(latest.values()))

    def alert_events(self, alert_id: str) -> list[dict[str, Any]]:
        """One alert's events, oldest first (times as unix seconds)."""
        cur = self.db.execute(
            "SELECT * FROM alert_events WHERE alert_id=? ORDER BY time, updates, "
            "CASE what WHEN 'open' THEN 0 WHEN 'update' THEN 1 ELSE 2 END",
            (alert_id,),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def alerts_at(
        self,
        at: float,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        subject: str | None = None,
        status: str | None = None,
        ids: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts that had opened by `at`, each in its state as of `at` (`state_as_of`), newest
        first, triage folded as of `at` too. `since` keeps those active since then."""
        q, args = alerts_at_sql(at, until, kind, subject, ids)
        cur = self.db.execute(q, args)
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        return fold_alerts_at(rows, self._triage_logs([r["id"] for r in rows], at), at, since,
                              status)  # fmt: skip

    def count_open_at(self, at: float) -> int:
        """How many alerts were open as of `at` (the same derivation as `alerts_at`)."""
        return int(self.db.execute(COUNT_OPEN_AT_SQL, (at, at, at)).fetchone()[0])

    def latest_time(self) -> float | None:
        """The newest event time the store holds (track points, alert events, alerts)."""
        row = self.db.execute(
            "SELECT max(t) FROM (SELECT max(time) t FROM track_points UNION ALL "
            "SELECT max(time) FROM alert_events UNION ALL SELECT max(last_time) FROM alerts)"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def _triage_logs(self, ids: list[str], at: float | None) -> dict[str, list[dict[str, Any]]]:
        """Triage rows per alert, oldest first; with `at`, only those acted by then (in the
        picture's event time, or wall time where a row has none)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            q = (f"SELECT alert_id, time, who, action, comment FROM triage WHERE alert_id IN "
                 f"({','.join('?' * len(part))})")  # fmt: skip
            args: list[Any] = list(part)
            if at is not None:
                q += " AND coalesce(event_time, time) <= ?"
                args.append(at)
            for aid, t, who, action, comment in self.db.execute(q + " ORDER BY time", args):
                out.setdefault(aid, []).append({"time": iso(t), "who": who, "action": action,
                                                "comment": comment})  # fmt: skip
        return out

    def alerts(
        self,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        subject: str | None = None,
        status: str | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        q, args = _span_where("SELECT * FROM alerts WHERE 1=1", since, until, status)
        q, args = _kind_subject(q, args, kind, subject, "")
        q += " ORDER BY time DESC, id LIMIT ? OFFSET ?"
        args += [limit, offset]
        cur = self.db.execute(q, args)
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            d = dict(zip(names, row, strict=True))
            d["evidence"] = json.loads(d["evidence"])
            for k in ("time", "last_time", "closed_time"):
                d[k] = iso(d[k]) if d[k] is not None else None
            out.append(d)
        return out

    def count_alerts(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM alerts").fetchone()[0])

    # restarts (docs/restart.md) ---------------------------------------------------
    def save_checkpoint(self, state: bytes, event_time: float, name: str = "pipeline") -> None:
        """Keep the pipeline's state (one row, replaced): one transaction, so a kill leaves
        the previous checkpoint or this one, never half of either."""
        import time as _wall

        self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?,?,?,?)",
                        (name, event_time, _wall.time(), state))  # fmt: skip
        self.db.commit()

    def load_checkpoint(self, name: str = "pipeline") -> tuple[bytes, float, float] | None:
        """The saved state, its event time and the wall time it was saved, or None."""
        row = self.db.execute("SELECT state, time, wall FROM checkpoints WHERE name=?",
                              (name,)).fetchone()  # fmt: skip
        return None if row is None else (bytes(row[0]), float(row[1]), float(row[2]))

    def open_alerts(self) -> list[Alert]:
        """Every alert the store holds open, as `Alert`s (for the book on a restart)."""
        return self.alert_objects("status = 'open'")

    def alert_objects(self, where: str = "1=1", args: tuple[Any, ...] = ()) -> list[Alert]:
        """Alerts in their latest stored state as `Alert`s, oldest first; `where` is SQL
        over the `alerts` table written by picket itself (values go in `args`)."""
        cur = self.db.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY time, id", args)
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            d = dict(zip(names, row, strict=True))
            out.append(Alert(
                id=d["id"], kind=d["kind"], severity=d["severity"], time=d["time"],
                domain=d["domain"], subject=d["subject"], lat=d["lat"], lon=d["lon"],
                summary=d["summary"], evidence=json.loads(d["evidence"]), status=d["status"],
                last_time=d["last_time"], closed_time=d["closed_time"], updates=d["updates"],
                event_time=d["last_time"],
            ))  # fmt: skip
        return out

    def alerts_touched_after(self, t: float) -> list[Alert]:
        """Alerts with an event after event time `t` (what changed since a checkpoint)."""
        return self.alert_objects("id IN (SELECT alert_id FROM alert_events WHERE time > ?)",
                                  (t,))  # fmt: skip

    def has_event(self, what: str, a: Alert) -> bool:
        """Whether the store already holds this event's news: an alert opens once and closes
        once (whatever batch time stamped it), and an update is old news when a stored one
        reached its `last_time`. A restart's replayed overlap re-derives such events."""
        if what == "update":
            q = "SELECT 1 FROM alert_events WHERE alert_id=? AND what=? AND last_time>=? LIMIT 1"
            args: tuple[Any, ...] = (a.id, what, a.last_time or a.time)
        else:
            q, args = "SELECT 1 FROM alert_events WHERE alert_id=? AND what=? LIMIT 1", (a.id, what)
        return self.db.execute(q, args).fetchone() is not None

    # triage ---------------------------------------------------------------------
    def triage(self, alert_id: str, who: str, action: str, comment: str | None, t: float,
               event_time: float | None = None) -> None:  # fmt: skip
        """Log an action at wall time `t`; `event_time` is the picture's time then (what a
        replay or a stored run as of a time goes by)."""
        self.db.execute(
            "INSERT INTO triage (alert_id, time, who, action, comment, event_time) "
            "VALUES (?,?,?,?,?,?)",
            (alert_id, t, who, action, comment, event_time),
        )
        self.db.commit()

    def triage_log(self, alert_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT time, who, action, comment FROM triage WHERE alert_id=? ORDER BY time",
            (alert_id,),
        )
        return [{"time": iso(t), "who": w, "action": a, "comment": c} for t, w, a, c in cur]

    # incidents (detect/incidents.py) ----------------------------------------------
    def upsert_incidents(self, records: list[dict[str, Any]]) -> None:
        """Keep incident records by id (the joiner's output replaces the stored one)."""
        rows = [incident_row(r) for r in records]
        self.db.executemany(
            "INSERT INTO incidents VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
            "time=excluded.time, last_time=excluded.last_time, status=excluded.status, "
            "severity=excluded.severity, record=excluded.record", rows)  # fmt: skip
        self.db.commit()

    def incidents(self, since: float | None = None, until: float | None = None,
                  status: str | None = None, limit: int = 1000,
                  offset: int = 0) -> list[dict[str, Any]]:  # fmt: skip
        """Incident records, newest first; `since`/`until` on their active span."""
        q, args = incidents_sql(since, until, status)
        rows = self.db.execute(q + " LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
        return [json.loads(r[0]) for r in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT record FROM incidents WHERE id=?",
                              (incident_id,)).fetchone()  # fmt: skip
        return None if row is None else json.loads(row[0])

    # watchlist entries added from the API (detect/watchlist.py reads them) ----------
    def add_watch(self, entry: dict[str, Any]) -> None:
        """Keep one entry (`id`, `match`, `label`, `severity`, `note`, `who`, `time`)."""
        self.db.execute("INSERT OR REPLACE INTO watchlist VALUES (?,?,?,?,?,?,?)",
                        watch_row(entry))  # fmt: skip
        self.db.commit()

    def delete_watch(self, entry_id: str) -> bool:
        n = self.db.execute("DELETE FROM watchlist WHERE id=?", (entry_id,)).rowcount
        self.db.commit()
        return n > 0

    def save_harbour_cells(self, cells: dict[int, float]) -> None:
        """Keep learned harbour cells (cell -> since); a cell keeps its earliest time."""
        from picket.store import harbours

        harbours.save_cells(self.db, cells)

    def harbour_cells(self) -> dict[int, float]:
        """The learned harbour cells kept so far (cell -> since)."""
        from picket.store import harbours

        return harbours.load_cells(self.db)

    def watch_entries(self) -> list[dict[str, Any]]:
        """The entries added from the API, oldest first."""
        cur = self.db.execute("SELECT id, match, label, severity, note, who, time FROM "
                              "watchlist ORDER BY time, id")  # fmt: skip
        return [dict(zip(WATCH_COLS, r, strict=True)) for r in cur.fetchall()]

    # tracks ---------------------------------------------------------------------
    def add_track_points(self, cols: dict[str, np.ndarray]) -> None:
        if not len(cols["subject"]):
            return
        rows = zip(
            cols["subject"].tolist(), cols["time"].tolist(), cols["domain"].tolist(),
            cols["lat"].tolist(), cols["lon"].tolist(),
            *[[None if not np.isfinite(v) else v for v in cols[c].tolist()]
              for c in ("alt", "speed", "course")],
            strict=True,
        )  # fmt: skip
        self.db.executemany("INSERT OR IGNORE INTO track_points VALUES (?,?,?,?,?,?,?,?)", rows)
        self.db.commit()

    def track_points(
        self,
        subject: int | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100_000,
    ) -> Iterator[tuple]:
        q, args = "SELECT * FROM track_points WHERE 1=1", []
        if subject is not None:
            q += " AND subject = ?"
            args.append(subject)
        if since is not None:
            q += " AND time >= ?"
            args.append(since)
        if until is not None:
            q += " AND time <= ?"
            args.append(until)
        q += " ORDER BY time LIMIT ?"
        args.append(limit)
        return iter(self.db.execute(q, args).fetchall())

    def close(self) -> None:
        self.db.close()

    def track_points_page(self, until: float, after: tuple[float, int], limit: int) -> list[tuple]:
        """Up to `limit` track points after the cursor `after` = (time, subject) and at or
        before `until`, in (time, subject) order: a window read page by page in bounded
        memory (the server's replay). Rows: subject, time, domain, lat, lon, alt, speed,
        course; the next cursor is the last row's (time, subject)."""
        t, s = after
        return self.db.execute(
            "SELECT subject, time, domain, lat, lon, alt, speed, course FROM track_points "
            "WHERE time >= ? AND time <= ? AND (time > ? OR subject > ?) "
            "ORDER BY time, subject LIMIT ?",
            (t, until, t, s, limit),
        ).fetchall()
