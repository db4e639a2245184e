"""Alert triage: the analyst's actions and the state they fold into.

The store keeps the log (who, when, action, comment); the state is derived
from it, so the log is the one truth and nothing can disagree with it.
"""

from __future__ import annotations

from typing import Any

from picket.store.asof import STATE_OF, fold, log_entry

__all__ = ["ACTIONS", "STATES", "STATE_OF", "TriageError", "fold", "log_entry", "store_action",
           "validate"]

ACTIONS = ("acknowledge", "assign", "comment", "resolve", "false_alarm", "reopen")
STATES = ("new", "acknowledged", "assigned", "resolved", "false_alarm")
MAX_COMMENT = 4000


class TriageError(ValueError):
    pass


def store_action(action: str, assignee: str | None) -> str:
    """The action as stored: the store has no assignee column, so `assign:<who>`."""
    return f"assign:{assignee}" if action == "assign" else action


def validate(body: Any) -> tuple[str, str | None, str | None]:
    """(action, assignee, comment) from a request body, or TriageError."""
    if not isinstance(body, dict):
        raise TriageError("body must be a JSON object")
    action = body.get("action")
    if action not in ACTIONS:
        raise TriageError(f"action must be one of {', '.join(ACTIONS)}")
    assignee, comment = body.get("assignee"), body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
        raise TriageError(f"comment must be a string of at most {MAX_COMMENT} characters")
    if action == "assign":
        if not isinstance(assignee, str) or not assignee.strip() or len(assignee) > 200:
            raise TriageError("assign needs an assignee (a name of at most 200 characters)")
        assignee = assignee.strip()
    else:
        assignee = None
    if action == "comment" and not (comment and comment.strip()):
        raise TriageError("comment needs a comment")
    return action, assignee, comment
