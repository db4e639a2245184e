"""`/api/watchlist`: watchlist entries added and deleted from the page, kept in the store.

Files under `[watchlist] files` stay the configured lists; entries from the API come on
top, are kept in the store (so a restart keeps them) and reach the running detector
through a `WatchBox` in the pipeline's geography (detect/watchlist.py) from its next
batch. An entry is checked exactly as a CSV row is (`parse_entry`); its id derives from
its match text, so adding the same match again replaces it.
"""

from __future__ import annotations

import hashlib
import time as wall
from typing import Any

from picket.detect.watchlist import WatchBox, WatchlistError, parse_entry
from picket.model.text import clean_text
from picket.serve.queries import StoreReader

MAX_ENTRIES = 10_000


def entry_id(match: str) -> str:
    return "w-" + hashlib.sha1(match.strip().lower().encode()).hexdigest()[:12]


def validate(body: Any, who: str) -> dict[str, Any]:
    """A stored entry from a request body (WatchlistError: a 422)."""
    if not isinstance(body, dict):
        raise WatchlistError("body must be a JSON object")
    vals = {}
    for k, n in (("match", 200), ("label", 200), ("severity", 20), ("note", 2000)):
        v = body.get(k)
        if v is not None and not isinstance(v, str):
            raise WatchlistError(f"{k} must be a string")
        vals[k] = clean_text(v or "", n)
    e = parse_entry(vals["match"], vals["label"], vals["severity"], vals["note"], "api")
    return {"id": entry_id(vals["match"]), "match": vals["match"].strip(),
            "label": vals["label"], "severity": e.severity, "note": vals["note"], "who": who,
            "time": wall.time()}  # fmt: skip


class Watchlist:
    """The API's entries over the server's store, mirrored into the pipeline's WatchBox."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.box = WatchBox()
        if reader.store is not None:
            self.box.set(self.entries())

    def entries(self) -> list[dict[str, Any]]:
        r = self.reader
        with r.lock:
            return r._need().watch_entries()

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        r = self.reader
        with r.lock:
            st = r._need()
            if len(st.watch_entries()) >= MAX_ENTRIES:
                raise WatchlistError(f"at most {MAX_ENTRIES} entries from the API")
            st.add_watch(entry)
            rows = st.watch_entries()
        self.box.set(rows)
        return entry

    def delete(self, entry_id: str) -> bool:
        r = self.reader
        with r.lock:
            st = r._need()
            ok = st.delete_watch(entry_id)
            rows = st.watch_entries()
        self.box.set(rows)
        return ok
