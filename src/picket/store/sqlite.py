"""The embedded store: one SQLite file for alerts, triage and track history.

Why SQLite: it ships with Python (nothing to install or run), its WAL mode
lets the web server read while the pipeline writes, and an upsert keyed on
the deterministic alert id gives exactly-once alerts across restarts and
reruns. Track history is written in batches, downsampled per subject, so the
file grows with time covered, not with message rate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from picket.model.alerts import Alert, iso

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
"""


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
        q, args = "SELECT * FROM alerts WHERE 1=1", []
        if since is not None:
            q += " AND last_time >= ?"
            args.append(since)
        if until is not None:
            q += " AND time <= ?"
            args.append(until)
        if kind:
            if kind.endswith(".*") or "." not in kind:
                q += " AND kind LIKE ?"
                args.append(kind.removesuffix(".*") + ".%")
            else:
                q += " AND kind = ?"
                args.append(kind)
        if subject:
            q += " AND subject = ?"
            args.append(subject)
        if status:
            q += " AND status = ?"
            args.append(status)
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

    # triage ---------------------------------------------------------------------
    def triage(self, alert_id: str, who: str, action: str, comment: str | None, t: float) -> None:
        self.db.execute("INSERT INTO triage VALUES (?,?,?,?,?)",
                        (alert_id, t, who, action, comment))  # fmt: skip
        self.db.commit()

    def triage_log(self, alert_id: str) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT time, who, action, comment FROM triage WHERE alert_id=? ORDER BY time",
            (alert_id,),
        )
        return [{"time": iso(t), "who": w, "action": a, "comment": c} for t, w, a, c in cur]

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
