"""picket.store: the embedded SQLite store or the shared PostgreSQL one, behind one interface.

`open_store` is the one place a store is made: a file path opens SQLite, a
`postgresql://` URL opens PostgreSQL (docs/scaling.md), and an open store is
opened again on a connection of its own (the web server reads on its own
connection while the pipeline writes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from picket.store.postgres import is_url, redact

__all__ = ["describe", "is_url", "missing", "newest_points", "open_store", "store_target"]


def open_store(target: Any, local_dir: str | Path | None = None) -> Any:
    """A `Store` (SQLite file) or `PostgresStore` (URL) for `target`; a store object gives a
    new one on the same file or database. `local_dir`: where a PostgreSQL store keeps the
    dead letter and zone edits on this machine (default `var`)."""
    from picket.store.sqlite import Store

    if isinstance(target, Store):
        return Store(target.path)
    if hasattr(target, "url") and hasattr(target, "local_dir"):  # a PostgresStore
        return type(target)(target.url, target.local_dir, target.retry_s)
    if is_url(target):
        from picket.store.postgres import PostgresStore

        return PostgresStore(str(target), local_dir)
    return Store(Path(target))


def store_target(arg: str | None, cfg: Any) -> str | Path:
    """What `--store ARG` (or the config's `[store] url`/`path`) names: a URL or a path."""
    if arg:
        return arg if is_url(arg) else Path(arg)
    return cfg.store_target() or cfg.path("var/picket.sqlite")


def missing(target: str | Path) -> bool:
    """A store file that is not there (a URL is checked when connecting)."""
    return not is_url(target) and not Path(target).exists()


def describe(target: Any) -> str:
    """The target for messages (a URL without its password)."""
    return redact(target) if is_url(target) else str(target)


def newest_points(store: Any, after: float, until: float, inclusive: bool = True) -> list[tuple]:
    """Each subject's newest stored track point with time in (after, until] (`inclusive`) or
    (after, until), ordered by subject, as (subject, time, domain, lat, lon, alt, speed,
    course) rows: a query that is written differently in SQLite and PostgreSQL."""
    if hasattr(store, "newest_points"):
        return store.newest_points(after, until, inclusive)
    op = "<=" if inclusive else "<"
    # SQLite returns the other columns of the row that holds max(time)
    return store.db.execute(
        "SELECT subject, max(time), domain, lat, lon, alt, speed, course FROM track_points "
        f"WHERE time > ? AND time {op} ? GROUP BY subject ORDER BY subject",
        (after, until),
    ).fetchall()
