"""Alerts: the contract with analysts, stores and sinks.

Detectors emit `Signal`s (a condition seen now); the `AlertBook` turns them
into deduplicated `Alert`s: one open alert per (subject, kind), updated while
the condition holds and closed when the detector says it ended or it goes
quiet. Alert ids are derived from kind, subject and first time, so a replay of
the same input reproduces the same ids and a store upsert keeps each alert
exactly once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}



def __getattr__(name: str) -> Any:
    """`KINDS`: the alert kind vocabulary (kind -> one line for analysts), the contract
    tests and users rely on; read from the detector registry (`picket.detect.registry`)
    on first use, so it lists exactly the kinds the detectors raise."""
    if name == "KINDS":
        from picket.detect.registry import kinds

        return kinds()
    raise AttributeError(name)


def iso(t: float) -> str:
    """ISO 8601 UTC with millisecond precision and a Z."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> float:
    """ISO 8601 (Z or offset) or unix seconds to unix seconds."""
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def clean(value: Any) -> Any:
    """Make evidence JSON-safe: NumPy scalars to Python, NaN to None, floats to 10 digits."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist"):
        return clean(value.tolist())
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.10g}")  # significant digits: a 1e-8 probability stays 1e-8
    return value


@dataclass(slots=True)
class Signal:
    """A detector's statement about one subject at one time."""

    kind: str
    subject: str
    time: float
    lat: float | None
    lon: float | None
    severity: Severity
    summary: str
    evidence: dict[str, Any]
    domain: str
    ended: bool = False  # the detector says the condition is over


@dataclass
class Alert:
    id: str
    kind: str
    severity: Severity
    time: float  # when it first fired
    domain: str
    subject: str
    lat: float | None
    lon: float | None
    summary: str
    evidence: dict[str, Any]
    status: Literal["open", "closed"] = "open"
    last_time: float = 0.0
    closed_time: float | None = None
    updates: int = 1
    triage: dict[str, Any] = field(default_factory=dict)
    # event time at which the book emitted this state (an expiry closes at `now`, later
    # than `closed_time`): what the store keys the alert's history on, not part of the JSON
    event_time: float = 0.0

    def snapshot(self, at: float) -> Alert:
        """A copy frozen at event time `at`: the book goes on changing the live object, and an
        alert that opens and closes in one batch must reach the sinks as two states."""
        c = copy.copy(self)
        c.event_time = at
        return c

    def to_json(self) -> dict[str, Any]:
        return clean(
            {
                "id": self.id,
                "kind": self.kind,
                "severity": self.severity,
                "time": iso(self.time),
                "domain": self.domain,
                "subject": self.subject,
                "lat": self.lat,
                "lon": self.lon,
                "summary": self.summary,
                "evidence": self.evidence,
                "status": self.status,
                "last_time": iso(self.last_time or self.time),
                "closed_time": iso(self.closed_time) if self.closed_time else None,
                "updates": self.updates,
            }
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Alert:
        return cls(
            id=d["id"],
            kind=d["kind"],
            severity=d["severity"],
            time=parse_time(d["time"]),
            domain=d["domain"],
            subject=d["subject"],
            lat=d.get("lat"),
            lon=d.get("lon"),
            summary=d["summary"],
            evidence=d.get("evidence", {}),
            status=d.get("status", "open"),
            last_time=parse_time(d["last_time"]) if d.get("last_time") else 0.0,
            closed_time=parse_time(d["closed_time"]) if d.get("closed_time") else None,
            updates=d.get("updates", 1),
        )


def alert_id(kind: str, subject: str, first_time: float) -> str:
    h = hashlib.blake2s(f"{kind}|{subject}|{first_time:.3f}".encode(), digest_size=8)
    return h.hexdigest()


# Each event carries a snapshot of the alert as it was then (`Alert.event_time` says when).
Event = tuple[Literal["open", "update", "close"], Alert]


class AlertBook:
    """Deduplicates signals into alerts and reports their lifecycle events.

    An open alert closes when its detector sends `ended`, or when no signal for
    it arrived for `quiet_close_s` of event time (the condition faded).
    """

    def __init__(self, quiet_close_s: float = 1800.0, min_update_s: float = 60.0):
        self.open: dict[tuple[str, str], Alert] = {}
        self.quiet_close_s = quiet_close_s
        self.min_update_s = min_update_s  # rate-limit update events for a sustained condition
        self._last_emit: dict[str, float] = {}
        # alerts the store holds open that this book did not know on a restart
        # (`load_open`): a later signal continues them, quiet closes them
        self.provisional: dict[tuple[str, str], Alert] = {}

    def apply(self, signals: list[Signal]) -> list[Event]:
        events: list[Event] = []
        for s in sorted(signals, key=lambda s: s.time):
            k = (s.subject, s.kind)
            a = self.open.get(k)
            if a is None and k in self.provisional:
                a = self._adopt(k, s)
            if a is None:
                if s.ended:
                    continue
                a = Alert(
                    id=alert_id(s.kind, s.subject, s.time),
                    kind=s.kind,
                    severity=s.severity,
                    time=s.time,
                    domain=s.domain,
                    subject=s.subject,
                    lat=s.lat,
                    lon=s.lon,
                    summary=s.summary,
                    evidence=clean(s.evidence),
                    last_time=s.time,
                )
                self.open[k] = a
                self._last_emit[a.id] = s.time
                events.append(("open", a.snapshot(s.time)))
                continue
            escalated = SEVERITY_RANK[s.severity] > SEVERITY_RANK[a.severity]
            a.last_time = max(a.last_time, s.time)
            if s.ended:
                a.status, a.closed_time = "closed", s.time
                if escalated:
                    a.severity = s.severity
                if s.summary:
                    a.summary = s.summary
                if s.evidence:
                    a.evidence = {**a.evidence, **clean(s.evidence)}
                del self.open[k]
                self._last_emit.pop(a.id, None)
                events.append(("close", a.snapshot(s.time)))
                continue
            a.updates += 1
            if escalated:
                a.severity = s.severity
            a.summary = s.summary or a.summary
            a.lat, a.lon = (
                s.lat if s.lat is not None else a.lat,
                s.lon if s.lon is not None else a.lon,
            )
            a.evidence = {**a.evidence, **clean(s.evidence)}
            if escalated or s.time - self._last_emit.get(a.id, 0) >= self.min_update_s:
                self._last_emit[a.id] = s.time
                events.append(("update", a.snapshot(s.time)))
        return events

    def expire(self, now: float) -> list[Event]:
        """Close alerts whose condition has not been seen for `quiet_close_s`."""
        events: list[Event] = []
        for k, a in list(self.open.items()):
            if now - a.last_time > self.quiet_close_s:
                a.status, a.closed_time = "closed", a.last_time
                del self.open[k]
                self._last_emit.pop(a.id, None)
                events.append(("close", a.snapshot(now)))
        for k, a in list(self.provisional.items()):
            if now - a.last_time > self.quiet_close_s:
                a.status, a.closed_time = "closed", a.last_time
                del self.provisional[k]
                events.append(("close", a.snapshot(now)))
        return events

    def close_all(self, now: float) -> list[Event]:
        """End of a replay: leave alerts open (the condition may go on) but flush updates."""
        # only what the update rate limit held back: a state already emitted is not sent twice
        return [("update", a.snapshot(max(a.last_time, a.event_time))) for a in self.open.values()
                if self._last_emit.get(a.id) != a.last_time]  # fmt: skip

    def load_open(self, alerts: list[Alert]) -> int:
        """On a restart: alerts the store holds open that this book does not (it started empty,
        or from a checkpoint older than they are). Each waits as provisional: a signal for
        its subject and kind at or after its first time continues it (same id), an older one
        is a condition before it and goes its own way (a feed replaying from before the
        alert re-derives it), and `quiet_close_s` without a signal closes it, so no alert
        stays open forever. Returns how many were taken."""
        known = {a.id for a in self.open.values()}
        n = 0
        for a in sorted(alerts, key=lambda a: a.time):
            k = (a.subject, a.kind)
            if a.id in known or a.status != "open":
                continue
            p = self.provisional.get(k)
            if p is None or a.time > p.time:
                self.provisional[k] = copy.copy(a)
                n += 1
        return n

    def _adopt(self, k: tuple[str, str], s: Signal) -> Alert | None:
        """A provisional alert meets a signal: one after its first time continues it; one at
        its first time opens it afresh (the same id: the condition re-derived); an older one
        leaves it waiting."""
        p = self.provisional[k]
        if s.time < p.time:
            return None
        del self.provisional[k]
        if s.time == p.time:
            return None
        p.status, p.closed_time = "open", None
        self.open[k] = p
        self._last_emit[p.id] = p.last_time
        return p
