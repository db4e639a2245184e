"""The shared store: alerts, triage and track history in PostgreSQL with PostGIS.

Why PostgreSQL: several analysts and several picket workers need one alert
store, and sites that run TAK Server clusters already run PostgreSQL. The
interface is the SQLite `Store`'s, method for method, so the pipeline, the
server and the CLI do not know which one they hold (tests/test_store_contract.py
runs both through the same cases).

Why these choices:
- Alerts are upserted by their deterministic id (`INSERT ... ON CONFLICT (id) DO
  UPDATE`) and events, triage and track points are inserted with `ON CONFLICT DO
  NOTHING`, so every write can be retried, by a restarted worker or after a lost
  connection, without duplicating anything.
- Track history is partitioned by UTC day (partitions made on demand), so old days
  are dropped as whole tables and time windows touch only their days; a BRIN index
  on time (tiny, fits append-mostly data) and a GiST index on a PostGIS geography
  point serve time windows and "near this cable" questions. Points arrive by binary
  `COPY` built from the NumPy columns (no Python object per point), through a
  staging table so a rerun's duplicates are skipped.
- A lost server does not stop the pipeline: writes are queued in order and applied by
  one writer thread, retried with backoff; reads wait for the server up to `retry_s`.
  The queue of track points is bounded (`max_pending_points`, oldest dropped and
  counted); alert writes are never dropped while the process lives.
- Text columns compared or sorted use the "C" collation, so ordering matches
  SQLite's byte order whatever the database's locale.

The driver is psycopg 3 (LGPL-3.0, used unmodified as an optional dependency: the
`postgres` extra). See docs/scaling.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time as wall
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from picket.model.alerts import Alert, Event, iso
from picket.store.sqlite import (
    COUNT_OPEN_AT_SQL,
    WATCH_COLS,
    _f,
    _kind_subject,
    alerts_at_sql,
    fold_alerts_at,
    incident_row,
    incidents_sql,
    watch_row,
)

log = logging.getLogger(__name__)

DAY_S = 86400.0
LOCK_SCHEMA = 0x7069636B01  # advisory lock keys ("pick" + n): schema, partitions
LOCK_PARTITIONS = 0x7069636B02

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id text COLLATE "C" PRIMARY KEY,
    kind text COLLATE "C" NOT NULL,
    severity text NOT NULL,
    time double precision NOT NULL,
    last_time double precision NOT NULL,
    closed_time double precision,
    status text NOT NULL,
    domain text NOT NULL,
    subject text COLLATE "C" NOT NULL,
    lat double precision,
    lon double precision,
    summary text NOT NULL,
    evidence text NOT NULL,
    updates integer NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts (time);
CREATE INDEX IF NOT EXISTS alerts_kind ON alerts (kind, time);
CREATE TABLE IF NOT EXISTS triage (
    alert_id text COLLATE "C" NOT NULL,
    time double precision NOT NULL,
    who text COLLATE "C" NOT NULL,
    action text COLLATE "C" NOT NULL,
    comment text,
    event_time double precision,
    PRIMARY KEY (alert_id, time, who, action)
);
CREATE TABLE IF NOT EXISTS alert_events (
    alert_id text COLLATE "C" NOT NULL,
    time double precision NOT NULL,
    updates integer NOT NULL,
    what text COLLATE "C" NOT NULL,
    severity text NOT NULL,
    status text NOT NULL,
    lat double precision,
    lon double precision,
    summary text NOT NULL,
    evidence text NOT NULL,
    last_time double precision NOT NULL,
    closed_time double precision,
    PRIMARY KEY (alert_id, time, updates, what)
);
CREATE INDEX IF NOT EXISTS alert_events_time ON alert_events (time);
CREATE TABLE IF NOT EXISTS track_points (
    subject bigint NOT NULL,
    time double precision NOT NULL,
    domain smallint NOT NULL,
    lat double precision NOT NULL,
    lon double precision NOT NULL,
    alt double precision,
    speed double precision,
    course double precision,
    geog geography(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED,
    PRIMARY KEY (subject, time)
) PARTITION BY RANGE (time);
CREATE TABLE IF NOT EXISTS incidents (
    id text COLLATE "C" PRIMARY KEY,
    time double precision NOT NULL,
    last_time double precision NOT NULL,
    status text NOT NULL,
    severity text NOT NULL,
    record text NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents (time);
CREATE TABLE IF NOT EXISTS harbour_cells (
    cell bigint PRIMARY KEY,
    since double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS watchlist (
    id text COLLATE "C" PRIMARY KEY,
    match text NOT NULL,
    label text NOT NULL,
    severity text NOT NULL,
    note text NOT NULL,
    who text NOT NULL,
    time double precision NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    name text COLLATE "C" PRIMARY KEY,
    time double precision NOT NULL,
    wall double precision NOT NULL,
    state bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS track_points_geog ON track_points USING gist (geog);
CREATE INDEX IF NOT EXISTS track_points_time ON track_points USING brin (time);
"""

STAGE = """CREATE TEMP TABLE IF NOT EXISTS picket_points_stage (
    subject bigint, time double precision, domain smallint, lat double precision,
    lon double precision, alt double precision, speed double precision,
    course double precision) ON COMMIT DELETE ROWS"""

POINT_COLS = "subject, time, domain, lat, lon, alt, speed, course"

# binary COPY: one row is a field count, then (length, value) per field, big-endian
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
_FIELDS = [("subject", ">i8"), ("time", ">f8"), ("domain", ">i2"), ("lat", ">f8"),
           ("lon", ">f8"), ("alt", ">f8"), ("speed", ">f8"), ("course", ">f8")]  # fmt: skip
NULLABLE = ("alt", "speed", "course")


def is_url(target: Any) -> bool:
    """True for a PostgreSQL connection URL (what selects this store)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    p = urlsplit(url)
    if p.password is None:
        return url
    host = p.hostname or ""
    netloc = f"{p.username}:***@{host}" + (f":{p.port}" if p.port else "")
    return urlunsplit((p.scheme, netloc, p.path, p.query, p.fragment))


def qmarks(sql: str) -> str:
    """SQLite-style `?` placeholders as psycopg's `%s` (literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def day_name(day: int) -> str:
    return "track_points_" + datetime.fromtimestamp(day * DAY_S, UTC).strftime("%Y%m%d")


def copy_points(cols: dict[str, np.ndarray]) -> bytes:
    """Track point columns as one binary COPY stream, a missing (NaN) altitude, speed or
    course as NULL, as SQLite keeps it. A NULL field is its length -1 with no value, so
    rows are packed in groups by which of those three are missing (one fixed record layout
    per group; at most 8), the groups one after the other: COPY keeps no row order that
    matters here, and each group stays in time order."""
    n = len(cols["subject"])
    vals = {k: np.asarray(cols[k]) for k, _ in _FIELDS}
    missing = np.zeros(n, np.int8)
    for bit, k in enumerate(NULLABLE):
        vals[k] = vals[k].astype(float)
        missing |= (~np.isfinite(vals[k])).astype(np.int8) << bit
    parts = [COPY_HEADER]
    for m in np.unique(missing).tolist():
        rows = np.flatnonzero(missing == m)
        gone = {k for bit, k in enumerate(NULLABLE) if m >> bit & 1}
        fields = [("n", ">i2")] + [x for k, t in _FIELDS for x in (
            ((f"l_{k}", ">i4"),) if k in gone else ((f"l_{k}", ">i4"), (k, t)))]
        a = np.empty(len(rows), fields)
        a["n"] = len(_FIELDS)
        for k, t in _FIELDS:
            a[f"l_{k}"] = -1 if k in gone else np.dtype(t).itemsize
            if k not in gone:
                a[k] = vals[k][rows]
        parts.append(a.tobytes())
    parts.append(COPY_TRAILER)
    return b"".join(parts)


class StoreUnavailable(RuntimeError):
    """The server could not be reached within the retry time."""


class _Sql:
    """SQLite-style access (`execute` with `?`, `commit`) for callers that write portable
    SQL by hand (serve.queries, serve.stored, the demo's checks); retried like reads."""

    def __init__(self, store: PostgresStore):
        self.store = store

    def execute(self, sql: str, params: Any = ()) -> Any:
        q, args = (qmarks(sql), list(params)) if params else (sql, None)
        return self.store._read(lambda c: c.execute(q, args))

    def commit(self) -> None:
        self.store.flush()


class PostgresStore:
    """The SQLite `Store`'s interface over a PostgreSQL server with PostGIS.

    `local_dir` holds what stays on this machine: the dead letter, the server's zone
    edits (`path` names a file there, as the SQLite store's path does; none is made).
    """

    def __init__(self, url: str, local_dir: str | Path | None = None, retry_s: float = 60.0,
                 max_pending_points: int = 2_000_000, connect_timeout_s: float = 5.0):  # fmt: skip
        import psycopg

        self._pg = psycopg
        self.url = url
        self.local_dir = Path(local_dir) if local_dir is not None else Path("var")
        self.path = self.local_dir / "picket.postgres"
        self.retry_s = retry_s
        self.max_pending_points = max_pending_points
        self.connect_timeout_s = connect_timeout_s
        self._lock = threading.RLock()
        self._conn: Any = None
        self._ever = False
        self._staged = False
        self._days: set[int] = set()
        self._page_span = 600.0  # s of track history one replay page covered last time
        self.checkpoint_compressed = False  # the server compresses checkpoints (lz4)
        self._pending: deque[tuple[str, Any]] = deque()
        self._pending_points = 0
        self._cv = threading.Condition(threading.Lock())  # guards the queue
        self._busy = False  # the writer is applying the queue's head
        self._closing = self._abandon = False
        self._thread: threading.Thread | None = None
        self.stats = {"reconnects": 0, "retried_writes": 0, "dropped_points": 0,
                      "skipped_points": 0, "failed_writes": 0, "point_conflicts": 0}  # fmt: skip
        self.db = _Sql(self)
        self._read(lambda c: None)  # connect now: a wrong URL fails at start, not later

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    @property
    def dead_letter_path(self) -> Path:
        """Rejected input is kept on this machine, in `local_dir`."""
        return self.local_dir / "dead-letter.jsonl"

    # connection ---------------------------------------------------------------------
    def _retryable(self) -> tuple[type[BaseException], ...]:
        return (self._pg.OperationalError, self._pg.InterfaceError)

    def _connection(self) -> Any:
        c = self._conn
        if c is not None and not c.closed and not c.broken:
            return c
        self._drop()
        c = self._pg.connect(self.url, autocommit=True, connect_timeout=max(1, round(
            self.connect_timeout_s)), application_name="picket")  # fmt: skip
        try:
            self._init_schema(c)
        except BaseException:
            c.close()
            raise
        if self._ever:
            self.stats["reconnects"] += 1
            log.warning("store: reconnected to %s", redact(self.url))
        self._ever = True
        self._conn = c
        return c

    def _drop(self, err: BaseException | None = None) -> None:
        if err is not None:
            log.warning("store: %s: %s", redact(self.url), str(err).strip().splitlines()[0]
                        if str(err).strip() else type(err).__name__)  # fmt: skip
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # a broken socket may fail to close; it is dropped either way
                log.debug("store: closing a broken connection", exc_info=True)
        self._conn = None
        self._staged = False

    def _init_schema(self, c: Any) -> None:
        """Tables and indexes, once per database; workers starting together take turns."""
        with c.transaction():
            c.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_SCHEMA,))
            if c.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
                try:
                    with c.transaction():
                        c.execute("CREATE EXTENSION postgis")
                except self._pg.errors.InsufficientPrivilege:
                    raise StoreUnavailable(
                        f"{redact(self.url)}: PostGIS is not installed in this database; "
                        "a superuser must run CREATE EXTENSION postgis") from None  # fmt: skip
            c.execute(SCHEMA)
            self.checkpoint_compressed = self._lz4_checkpoints(c)

    def _lz4_checkpoints(self, c: Any) -> bool:
        """Checkpoints kept with lz4 compression where the server has it (PostgreSQL 14 and
        later, built with lz4, as Debian's and the official images are). Workers then send
        their state uncompressed: on the demo's hour the server's lz4 takes 0.015 s per
        checkpoint where the worker's deflate took 0.16 s, for about the same size on
        disk. Otherwise (an older or smaller build) the workers deflate it themselves."""
        q = ("SELECT attcompression FROM pg_attribute WHERE attrelid = 'checkpoints'::regclass"
             " AND attname = 'state'")  # fmt: skip
        try:
            with c.transaction():
                if c.execute(q).fetchone()[0] == "l":
                    return True
                c.execute("ALTER TABLE checkpoints ALTER COLUMN state SET COMPRESSION lz4")
            return True
        except self._retryable():
            raise
        except self._pg.Error as e:  # no attcompression (< 14) or no lz4 in this build
            log.info("store: checkpoints compressed by the workers (%s)",
                     str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
            return False

    def _read(self, fn: Callable[[Any], Any]) -> Any:
        """Run `fn(connection)`, reconnecting with backoff for up to `retry_s`."""
        end = wall.monotonic() + self.retry_s
        delay = 0.1
        while True:
            with self._lock:
                try:
                    return fn(self._connection())
                except self._retryable() as e:
                    self._drop(e)
                    if wall.monotonic() + delay > end:
                        raise StoreUnavailable(f"{redact(self.url)}: {e}") from e
            wall.sleep(delay)
            delay = min(delay * 2, 5.0)

    # writes: queued in order, applied by one writer thread, one transaction each --------
    def _write(self, kind: str, payload: Any) -> None:
        """Queue a write and return: the pipeline never waits for the server."""
        with self._cv:
            first = 1 if self._busy else 0  # the head is being applied: leave it be
            if kind == "checkpoint":  # only the newest state of a name is worth keeping
                for i in [i for i, (k, p) in enumerate(self._pending)
                          if i >= first and k == "checkpoint" and p[0] == payload[0]][::-1]:
                    del self._pending[i]  # fmt: skip
            self._pending.append((kind, payload))
            if kind == "points":
                self._pending_points += len(payload["subject"])
                self._bound_points(first)
            if self._thread is None:
                self._thread = threading.Thread(target=self._writer, name="picket-store-writer",
                                                daemon=True)  # fmt: skip
                self._thread.start()
            self._cv.notify_all()

    def _bound_points(self, first: int) -> None:
        while self._pending_points > self.max_pending_points:
            i = next((i for i, (k, _) in enumerate(self._pending) if i >= first and k == "points"),
                     None)  # fmt: skip
            if i is None:
                return
            _, cols = self._pending[i]
            del self._pending[i]
            n = len(cols["subject"])
            self._pending_points -= n
            self.stats["dropped_points"] += n
            log.error("store: %s unreachable; dropped %d queued track points (oldest first)",
                      redact(self.url), n)  # fmt: skip

    def _writer(self) -> None:
        """Apply queued writes in order; on a lost connection keep the write at the head and
        try again with backoff (0.1 s doubling to 5 s) until it is applied or the store is
        abandoned at close."""
        delay = 0.1
        while True:
            with self._cv:
                while not self._pending and not self._closing:
                    self._cv.wait()
                if not self._pending or self._abandon:
                    return
                kind, payload = self._pending[0]
                self._busy = True
            done = True
            try:
                with self._lock:
                    self._apply(self._connection(), kind, payload)
            except self._retryable() as e:
                with self._lock:
                    self._drop(e)
                done = False
            except Exception:  # a write the server refuses for good: counted, never blocking
                self.stats["failed_writes"] += 1
                log.exception("store: %s refused a %s write; dropped", redact(self.url), kind)
            with self._cv:
                self._busy = False
                if done:
                    self._pending.popleft()
                    if kind == "points":
                        self._pending_points -= len(payload["subject"])
                    delay = 0.1
                    self._cv.notify_all()
                else:
                    self.stats["retried_writes"] += 1
                    # sleep the whole delay: new writes notify the condition, and waking on
                    # each would retry a down server every few milliseconds, not back off
                    until = wall.monotonic() + delay
                    while not self._abandon and (left := until - wall.monotonic()) > 0:
                        self._cv.wait(timeout=left)
                    if self._abandon:
                        return
                    delay = min(delay * 2, 5.0)

    def _apply(self, c: Any, kind: str, payload: Any) -> None:
        if kind == "events":
            with c.transaction(), c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO alert_events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                    "ON CONFLICT DO NOTHING", payload[0])  # fmt: skip
                self._upsert(cur, payload[1])
        elif kind == "alerts":
            with c.transaction(), c.cursor() as cur:
                self._upsert(cur, payload)
        elif kind == "points":
            self._insert_points(c, payload)
        elif kind == "checkpoint":
            c.execute("INSERT INTO checkpoints VALUES (%s,%s,%s,%s) ON CONFLICT (name) DO UPDATE "
                      "SET time = excluded.time, wall = excluded.wall, state = excluded.state",
                      payload)  # fmt: skip

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is applied (up to `retry_s`); False if some are
        still queued. Reads call it first, so a store reads its own writes."""
        end = wall.monotonic() + (self.retry_s if timeout is None else timeout)
        with self._cv:
            while self._pending:
                left = end - wall.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(timeout=min(left, 0.5))
            return True

    @property
    def pending(self) -> int:
        """Writes queued while the server is away."""
        return len(self._pending)

    # alerts ---------------------------------------------------------------------------
    @staticmethod
    def _alert_row(a: Alert) -> tuple:
        return (a.id, a.kind, a.severity, a.time, a.last_time or a.time, a.closed_time,
                a.status, a.domain, a.subject, _f(a.lat) if a.lat is not None else None,
                _f(a.lon) if a.lon is not None else None, a.summary,
                json.dumps(a.to_json()["evidence"]), a.updates)  # fmt: skip

    @staticmethod
    def _upsert(cur: Any, rows: list[tuple]) -> None:
        cur.executemany(
            """INSERT INTO alerts VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
               ON CONFLICT (id) DO UPDATE SET severity = excluded.severity,
               last_time = greatest(alerts.last_time, excluded.last_time),
               closed_time = excluded.closed_time, status = excluded.status,
               lat = excluded.lat, lon = excluded.lon, summary = excluded.summary,
               evidence = excluded.evidence,
               updates = greatest(alerts.updates, excluded.updates)""",
            rows,
        )

    def upsert_alerts(self, alerts: list[Alert]) -> None:
        if alerts:
            self._write("alerts", [self._alert_row(a) for a in alerts])

    def record(self, events: list[Event]) -> None:
        """Keep each alert event (a rerun adds nothing) and upsert the latest state of every
        alert they touch, in one transaction."""
        if not events:
            return
        rows = [
            (a.id, a.event_time or a.last_time or a.time, a.updates, what, a.severity, a.status,
             _f(a.lat) if a.lat is not None else None, _f(a.lon) if a.lon is not None else None,
             a.summary, json.dumps(a.to_json()["evidence"]), a.last_time or a.time, a.closed_time)
            for what, a in events
        ]  # fmt: skip
        latest = {a.id: a for _, a in events}
        # one key order for every writer: concurrent workers never wait on each other in a cycle
        rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
        ups = sorted((self._alert_row(a) for a in latest.values()), key=lambda r: r[0])
        self._write("events", (rows, ups))

    def _rows(self, sql: str, args: Any) -> list[dict[str, Any]]:
        def run(c: Any) -> list[dict[str, Any]]:
            cur = c.execute(sql, args)
            names = [d.name for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        self.flush()
        return self._read(run)

    def alert_events(self, alert_id: str) -> list[dict[str, Any]]:
        """One alert's events, oldest first (times as unix seconds)."""
        return self._rows(
            "SELECT * FROM alert_events WHERE alert_id = %s ORDER BY time, updates, "
            "CASE what WHEN 'open' THEN 0 WHEN 'update' THEN 1 ELSE 2 END",
            (alert_id,),
        )

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
        rows = self._rows(qmarks(q.replace(" LIKE ", " ILIKE ")), args)  # case as SQLite's LIKE
        return fold_alerts_at(rows, self._triage_logs([r["id"] for r in rows], at), at, since,
                              status)  # fmt: skip

    def count_open_at(self, at: float) -> int:
        """How many alerts were open as of `at` (the same derivation as `alerts_at`)."""
        self.flush()
        q = qmarks(COUNT_OPEN_AT_SQL)
        return int(self._read(lambda c: c.execute(q, (at, at, at)).fetchone()[0]))

    def latest_time(self) -> float | None:
        """The newest event time the store holds (track points, alert events, alerts). Track
        points are read from the newest day partition that has any (no full scan)."""

        def run(c: Any) -> float | None:
            t = c.execute("SELECT greatest((SELECT max(time) FROM alert_events), "
                          "(SELECT max(last_time) FROM alerts))").fetchone()[0]  # fmt: skip
            for (name,) in c.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'track_points'::regclass ORDER BY c.relname DESC"
            ).fetchall():
                p = c.execute(f'SELECT max(time) FROM "{name}"').fetchone()[0]
                if p is not None:
                    t = p if t is None else max(t, p)
                    break
            return None if t is None else float(t)

        self.flush()
        return self._read(run)

    def _triage_logs(self, ids: list[str], at: float | None) -> dict[str, list[dict[str, Any]]]:
        """Triage rows per alert, oldest first; with `at`, only those acted by then (in the
        picture's event time, or wall time where a row has none)."""
        out: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return out
        q = "SELECT alert_id, time, who, action, comment FROM triage WHERE alert_id = ANY(%s)"
        args: list[Any] = [list(ids)]
        if at is not None:
            q += " AND coalesce(event_time, time) <= %s"
            args.append(at)
        for r in self._rows(q + " ORDER BY time", args):
            out.setdefault(r["alert_id"], []).append({"time": iso(r["time"]), "who": r["who"],
                                                      "action": r["action"],
                                                      "comment": r["comment"]})  # fmt: skip
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
        q, args = "SELECT * FROM alerts WHERE 1=1", []
        if since is not None:
            q += " AND last_time >= ?"
            args.append(since)
        if until is not None:
            q += " AND time <= ?"
            args.append(until)
        q, args = _kind_subject(q, args, kind, subject, "")
        if status:
            q += " AND status = ?"
            args.append(status)
        q += " ORDER BY time DESC, id LIMIT ? OFFSET ?"
        args += [limit if limit >= 0 else None, offset]  # SQLite's LIMIT -1: no limit
        out = self._rows(qmarks(q.replace(" LIKE ", " ILIKE ")), args)
        for d in out:
            d["evidence"] = json.loads(d["evidence"])
            for k in ("time", "last_time", "closed_time"):
                d[k] = iso(d[k]) if d[k] is not None else None
        return out

    def count_alerts(self) -> int:
        self.flush()
        return int(self._read(lambda c: c.execute("SELECT count(*) FROM alerts").fetchone()[0]))

    # restarts (docs/restart.md) -----------------------------------------------------------
    def save_checkpoint(self, state: bytes, event_time: float, name: str = "pipeline") -> None:
        """Keep the pipeline's state (one row per name, replaced in one transaction), queued
        behind the writes it follows so a restored state never runs ahead of the alerts."""
        self._write("checkpoint", (name, event_time, wall.time(), bytes(state)))

    def load_checkpoint(self, name: str = "pipeline") -> tuple[bytes, float, float] | None:
        """The saved state, its event time and the wall time it was saved, or None."""
        rows = self._rows("SELECT state, time, wall FROM checkpoints WHERE name = %s", (name,))
        if not rows:
            return None
        r = rows[0]
        return bytes(r["state"]), float(r["time"]), float(r["wall"])

    def open_alerts(self) -> list[Alert]:
        """Every alert the store holds open, as `Alert`s (for the book on a restart)."""
        return self.alert_objects("status = 'open'")

    def alert_objects(self, where: str = "1=1", args: tuple[Any, ...] = ()) -> list[Alert]:
        """Alerts in their latest stored state as `Alert`s, oldest first; `where` is SQL over
        the `alerts` table written by picket itself, with `?` placeholders (as for SQLite)
        and the values in `args`."""
        rows = self._rows(qmarks(f"SELECT * FROM alerts WHERE {where} ORDER BY time, id"),
                          tuple(args))  # fmt: skip
        return [Alert(
            id=d["id"], kind=d["kind"], severity=d["severity"], time=d["time"],
            domain=d["domain"], subject=d["subject"], lat=d["lat"], lon=d["lon"],
            summary=d["summary"], evidence=json.loads(d["evidence"]), status=d["status"],
            last_time=d["last_time"], closed_time=d["closed_time"], updates=d["updates"],
            event_time=d["last_time"],
        ) for d in rows]  # fmt: skip

    def alerts_touched_after(self, t: float) -> list[Alert]:
        """Alerts with an event after event time `t` (what changed since a checkpoint)."""
        return self.alert_objects("id IN (SELECT alert_id FROM alert_events WHERE time > ?)",
                                  (t,))  # fmt: skip

    def has_event(self, what: str, a: Alert) -> bool:
        """Whether the store already holds this event's news: an alert opens once and closes
        once (whatever batch time stamped it), and an update is old news when a stored one
        reached its `last_time` (the SQLite store's rule, checked by the contract test)."""
        if what == "update":
            q = ("SELECT 1 AS one FROM alert_events WHERE alert_id = %s AND what = %s AND "
                 "last_time >= %s LIMIT 1")  # fmt: skip
            args: tuple[Any, ...] = (a.id, what, a.last_time or a.time)
        else:
            q, args = ("SELECT 1 AS one FROM alert_events WHERE alert_id = %s AND what = %s "
                       "LIMIT 1"), (a.id, what)  # fmt: skip
        return bool(self._rows(q, args))

    # triage -------------------------------------------------------------------------------
    def triage(self, alert_id: str, who: str, action: str, comment: str | None, t: float,
               event_time: float | None = None) -> None:  # fmt: skip
        """Log an action at wall time `t`; `event_time` is the picture's time then. Written at
        once (an analyst's action is confirmed or fails), retried idempotently."""
        self.flush()
        self._read(lambda c: c.execute(
            "INSERT INTO triage (alert_id, time, who, action, comment, event_time) "
            "VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (alert_id, t, who, action, comment, event_time)))  # fmt: skip

    def triage_log(self, alert_id: str) -> list[dict[str, Any]]:
        rows = self._rows("SELECT time, who, action, comment FROM triage WHERE alert_id = %s "
                          "ORDER BY time", (alert_id,))  # fmt: skip
        return [{"time": iso(r["time"]), "who": r["who"], "action": r["action"],
                 "comment": r["comment"]} for r in rows]  # fmt: skip

    # incidents and watchlist entries: written at once, as triage is ------------------------
    def upsert_incidents(self, records: list[dict[str, Any]]) -> None:
        """Keep incident records by id (the joiner's output replaces the stored one)."""
        if not records:
            return
        rows = sorted((incident_row(r) for r in records), key=lambda r: r[0])

        def run(c: Any) -> None:
            with c.transaction(), c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO incidents VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE "
                    "SET time = excluded.time, last_time = excluded.last_time, "
                    "status = excluded.status, severity = excluded.severity, "
                    "record = excluded.record", rows)  # fmt: skip

        self.flush()
        self._read(run)

    def incidents(self, since: float | None = None, until: float | None = None,
                  status: str | None = None, limit: int = 1000,
                  offset: int = 0) -> list[dict[str, Any]]:  # fmt: skip
        """Incident records, newest first; `since`/`until` on their active span."""
        q, args = incidents_sql(since, until, status)
        rows = self._rows(qmarks(q + " LIMIT ? OFFSET ?"), [*args, limit, offset])
        return [json.loads(r["record"]) for r in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT record FROM incidents WHERE id = %s", (incident_id,))
        return json.loads(rows[0]["record"]) if rows else None

    def add_watch(self, entry: dict[str, Any]) -> None:
        """Keep one entry (`id`, `match`, `label`, `severity`, `note`, `who`, `time`)."""
        self.flush()
        self._read(lambda c: c.execute(
            "INSERT INTO watchlist VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET "
            "match = excluded.match, label = excluded.label, severity = excluded.severity, "
            "note = excluded.note, who = excluded.who, time = excluded.time",
            watch_row(entry)))  # fmt: skip

    def delete_watch(self, entry_id: str) -> bool:
        self.flush()
        cur = self._read(lambda c: c.execute("DELETE FROM watchlist WHERE id = %s", (entry_id,)))
        return bool(cur.rowcount)

    def save_harbour_cells(self, cells: dict[int, float]) -> None:
        """Keep learned harbour cells (cell -> since); a cell keeps its earliest time."""
        if not cells:
            return
        rows = sorted((int(c), float(t)) for c, t in cells.items())

        def run(c: Any) -> None:
            with c.transaction(), c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO harbour_cells VALUES (%s,%s) ON CONFLICT (cell) DO UPDATE "
                    "SET since = LEAST(harbour_cells.since, excluded.since)", rows)  # fmt: skip

        self.flush()
        self._read(run)

    def harbour_cells(self) -> dict[int, float]:
        """The learned harbour cells kept so far (cell -> since)."""
        rows = self._rows("SELECT cell, since FROM harbour_cells", ())
        return {int(r["cell"]): float(r["since"]) for r in rows}

    def watch_entries(self) -> list[dict[str, Any]]:
        """The entries added from the API, oldest first."""
        rows = self._rows("SELECT id, match, label, severity, note, who, time FROM watchlist "
                          "ORDER BY time, id", ())  # fmt: skip
        return [{k: r[k] for k in WATCH_COLS} for r in rows]

    # tracks -------------------------------------------------------------------------------
    def add_track_points(self, cols: dict[str, np.ndarray]) -> None:
        if not len(cols["subject"]):
            return
        t = np.asarray(cols["time"], float)
        ok = np.isfinite(t) & np.isfinite(cols["lat"]) & np.isfinite(cols["lon"])
        if not ok.all():  # the SQLite store refuses these too (NOT NULL); never expected
            self.stats["skipped_points"] += int((~ok).sum())
            log.warning("store: %d track points without time or position skipped",
                        int((~ok).sum()))  # fmt: skip
        if not ok.any():
            return
        self._write("points", {k: np.asarray(cols[k])[ok] for k, _ in _FIELDS})

    def _ensure_days(self, c: Any, days: np.ndarray) -> None:
        """Day partitions for these UTC days, made once (workers take turns)."""
        new = [int(d) for d in np.unique(days) if int(d) not in self._days]
        if not new:
            return
        with c.transaction():
            c.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_PARTITIONS,))
            for d in new:
                c.execute(f'CREATE TABLE IF NOT EXISTS "{day_name(d)}" PARTITION OF track_points '
                          f"FOR VALUES FROM ({d * DAY_S!r}) TO ({(d + 1) * DAY_S!r})")  # fmt: skip
        self._days.update(new)

    def _insert_points(self, c: Any, cols: dict[str, np.ndarray], again: bool = True) -> None:
        days = np.floor(np.asarray(cols["time"], float) / DAY_S).astype(np.int64)
        self._ensure_days(c, days)
        if not self._staged:
            c.execute(STAGE)
            self._staged = True
        data = copy_points(cols)
        try:
            with c.transaction(), c.cursor() as cur:
                if self._copy_direct(c, cur, data):
                    return
                with cur.copy(f"COPY picket_points_stage ({POINT_COLS}) FROM STDIN "
                              f"(FORMAT BINARY)") as cp:  # fmt: skip
                    cp.write(data)
                cur.execute(f"INSERT INTO track_points ({POINT_COLS}) SELECT {POINT_COLS} "
                            f"FROM picket_points_stage ON CONFLICT DO NOTHING")  # fmt: skip
        except self._pg.errors.CheckViolation:  # a day partition dropped behind our back
            if not again:
                raise
            self._days.clear()
            self._insert_points(c, cols, again=False)

    def _copy_direct(self, c: Any, cur: Any, data: bytes) -> bool:
        """COPY the points straight into `track_points`, in a savepoint; False when one of
        them is stored already (a restarted worker writes again what it wrote after its
        checkpoint), and the caller then takes the staging table's `ON CONFLICT DO
        NOTHING`. The straight path costs the server a quarter less CPU per point (no
        staging copy, no conflict arbitration), and conflicts are rare: one batch in a
        restart's first minutes."""
        try:
            with c.transaction(), cur.copy(f"COPY track_points ({POINT_COLS}) FROM STDIN "
                                           f"(FORMAT BINARY)") as cp:  # fmt: skip
                cp.write(data)
            return True
        except self._pg.errors.UniqueViolation:
            self.stats["point_conflicts"] += 1
            return False

    def track_points(
        self,
        subject: int | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100_000,
    ) -> Iterator[tuple]:
        q, args = f"SELECT {POINT_COLS} FROM track_points WHERE true", []
        if subject is not None:
            q += " AND subject = %s"
            args.append(int(subject))
        if since is not None:
            q += " AND time >= %s"
            args.append(since)
        if until is not None:
            q += " AND time <= %s"
            args.append(until)
        q += " ORDER BY time, subject LIMIT %s"
        args.append(limit if limit >= 0 else None)
        self.flush()
        return iter(self._read(lambda c: c.execute(q, args).fetchall()))

    def track_points_page(self, until: float, after: tuple[float, int], limit: int) -> list[tuple]:
        """Up to `limit` track points after the cursor `after` = (time, subject) and at or
        before `until`, in (time, subject) order (the server's replay reads a window page by
        page). Each query is bounded to a time span guessed from the last page's and widened
        until the page is full or reaches `until`, so a page reads about a page of rows from
        the BRIN-indexed days instead of the rest of the window."""
        t, s = float(after[0]), int(after[1])
        q = (f"SELECT {POINT_COLS} FROM track_points WHERE time >= %s AND time <= %s AND "
             f"(time > %s OR subject > %s) ORDER BY time, subject LIMIT %s")  # fmt: skip
        self.flush()
        span = self._page_span
        while True:
            hi = until if not np.isfinite(t) or span > 4e9 else min(until, t + span)
            rows = self._read(lambda c, hi=hi: c.execute(q, (t, hi, t, s, limit)).fetchall())
            if len(rows) >= limit or hi >= until:
                break
            span *= 8
        if len(rows) >= limit and np.isfinite(t):
            self._page_span = max(1.0, 2 * (rows[-1][1] - t))
        return rows

    def newest_points(self, after: float, until: float, inclusive: bool = True) -> list[tuple]:
        """Each subject's newest point in (after, until] (`inclusive`) or (after, until),
        by subject: what SQLite's `max(time) ... GROUP BY subject` gives."""
        op = "<=" if inclusive else "<"
        q = (f"SELECT DISTINCT ON (subject) {POINT_COLS} FROM track_points "
             f"WHERE time > %s AND time {op} %s ORDER BY subject, time DESC")  # fmt: skip
        self.flush()
        return self._read(lambda c: c.execute(q, (after, until)).fetchall())

    def partitions(self) -> list[str]:
        """The day partitions of track history, oldest first."""
        return [r["relname"] for r in self._rows(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'track_points'::regclass ORDER BY c.relname", None)]  # fmt: skip

    def close(self) -> None:
        """Apply what is queued (waiting up to `retry_s` for the server), then disconnect."""
        if not self.flush():
            log.error("store: %s unreachable for %.0f s; %d queued writes lost at close",
                      redact(self.url), self.retry_s, len(self._pending))  # fmt: skip
        with self._cv:
            self._closing = self._abandon = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.connect_timeout_s + 1)
        with self._lock:
            self._drop()

