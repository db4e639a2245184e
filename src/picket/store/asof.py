"""An alert as it was at a given event time, derived from its stored events.

Why one function: the REST API (`?at=`), the replay over the WebSocket, the
GNSS layer, the health and metrics counts and the page must all agree on
what an alert looked like at the picture's time, so all of them go through
`state_as_of`. The triage state is folded from the triage log the same way
(`fold`), keeping the log the one truth.
"""

from __future__ import annotations

import json
from typing import Any

from picket.model.alerts import iso

WHAT_RANK = {"open": 0, "update": 1, "close": 2}

# The newest event per alert at or before a time (one `?`): newest time first, then the
# higher update number, then close before update before open at one instant.
LAST_EVENT_SQL = (
    "SELECT *, row_number() OVER (PARTITION BY alert_id ORDER BY time DESC, updates DESC, "
    "CASE what WHEN 'close' THEN 2 WHEN 'update' THEN 1 ELSE 0 END DESC) AS rn "
    "FROM alert_events WHERE time <= ?"
)

STATE_OF = {"acknowledge": "acknowledged", "assign": "assigned", "resolve": "resolved",
            "false_alarm": "false_alarm", "reopen": "new"}  # fmt: skip


def log_entry(row: dict[str, Any]) -> dict[str, Any]:
    """A stored triage row as the API shows it (assignee split out of `assign:<who>`)."""
    action, _, who = str(row["action"]).partition(":")
    return {"time": row["time"], "who": row["who"], "action": action,
            "comment": row.get("comment"), "assignee": who or None}  # fmt: skip


def fold(log: list[dict[str, Any]]) -> dict[str, Any]:
    """The triage state from an API log, oldest first."""
    st: dict[str, Any] = {"state": "new", "assignee": None, "who": None, "time": None,
                          "comments": 0}  # fmt: skip
    for e in log:
        a = e["action"]
        if e.get("comment"):
            st["comments"] += 1
        if a in STATE_OF:
            st["state"] = STATE_OF[a]
            st["who"], st["time"] = e["who"], e["time"]
            if a == "assign":
                st["assignee"] = e.get("assignee")
            elif a == "reopen":
                st["assignee"] = None
    return st


def _evidence(v: Any) -> Any:
    return json.loads(v) if isinstance(v, str) else v


def state_as_of(
    alert: dict[str, Any],
    events: list[dict[str, Any]],
    triage: list[dict[str, Any]],
    at: float | None,
) -> dict[str, Any] | None:
    """The API view of `alert` (an `alerts` row, unix-second times) as of event time `at`.

    `events` are its stored events (any order, any subset that holds the newest one at or
    before `at`); `triage` its triage rows already cut at `at`. None when the alert had
    not opened by `at`. With no events at all (a store written before events were kept,
    or alerts upserted directly) the row stands for itself: open from `time`, closed from
    `closed_time`. `at` None: the latest state. The result carries `_last`, the state's
    last_time in seconds, for the caller's `since` filter.
    """
    if at is not None and alert["time"] > at:
        return None
    ev = [e for e in events if at is None or e["time"] <= at]
    base = {k: alert[k] for k in ("id", "kind", "domain", "subject", "time")}
    if ev:
        e = max(ev, key=lambda e: (e["time"], e["updates"], WHAT_RANK.get(e["what"], 0)))
        st = {k: e[k] for k in ("severity", "status", "lat", "lon", "summary", "evidence",
                                "last_time", "closed_time", "updates")}  # fmt: skip
    elif events:
        return None  # its first event is after `at`
    else:
        st = {k: alert[k] for k in ("severity", "status", "lat", "lon", "summary", "evidence",
                                    "last_time", "closed_time", "updates")}  # fmt: skip
        if at is not None and st["closed_time"] is not None and st["closed_time"] > at:
            st.update(status="open", closed_time=None)
        if at is not None:
            st["last_time"] = min(st["last_time"], max(at, alert["time"]))
    d = {**base, **st}
    d["evidence"] = _evidence(d["evidence"])
    d["_last"] = d["last_time"]
    for k in ("time", "last_time", "closed_time"):
        d[k] = iso(d[k]) if d[k] is not None else None
    log = [log_entry(r) for r in triage]
    d["triage"] = fold(log)
    return d
