"""Reassembly of multi-sentence AIS messages (types 5, 19, 21, long binary messages).

Fragments are matched on a key: the tag-block group id when the line has one
(`g:1-2-3454`; the later fragments often carry no station), else (station,
sequential id, channel). A group completes only when its fragments arrive in
order 1..n under the same key; anything else is an orphan and is handed back
to be counted, never glued to an unrelated fragment. A group left open for more
than `max_age_s` of event time or `max_lines` input lines is orphaned too.

Multi-part messages are a few percent of traffic, so plain Python is fine here.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class Fragment:
    line_no: int
    raw: bytes  # the whole line, for the dead-letter file
    payload: bytes
    fill: int
    time: float
    station: int  # SOURCES code, for the message as a whole


@dataclass(slots=True)
class Message:
    """A reassembled message: payload, first fragment's time/station, every line it used."""

    payload: bytes
    fill: int
    time: float
    station: int
    lines: list[int]
    raws: list[bytes]


@dataclass(slots=True)
class _Open:
    count: int
    parts: list[Fragment] = field(default_factory=list)


class Reassembler:
    def __init__(self, max_age_s: float = 10.0, max_lines: int = 100):
        self.max_age_s = max_age_s
        self.max_lines = max_lines
        self._open: dict[Hashable, _Open] = {}

    def idle(self) -> bool:
        """No group is open: a fragment 1 offered now cannot orphan or expire anything."""
        return not self._open

    def add(
        self, key: Hashable, count: int, frag: int, part: Fragment
    ) -> tuple[Message | None, list[Fragment]]:
        """Offer one fragment; returns a completed message (or None) and any orphans."""
        orphans = self._expire(part.line_no, part.time)
        cur = self._open.get(key)
        if frag == 1:
            if cur is not None:
                orphans += self._open.pop(key).parts
            cur = self._open[key] = _Open(count)
        elif cur is None or cur.count != count or len(cur.parts) + 1 != frag:
            if cur is not None:
                orphans += self._open.pop(key).parts
            return None, [*orphans, part]
        cur.parts.append(part)
        if frag < count:
            return None, orphans
        del self._open[key]
        ps = cur.parts
        t = next((p.time for p in ps if math.isfinite(p.time)), math.nan)
        msg = Message(
            payload=b"".join(p.payload for p in ps),
            fill=ps[-1].fill,
            time=t,
            station=ps[0].station,
            lines=[p.line_no for p in ps],
            raws=[p.raw for p in ps],
        )
        return msg, orphans

    def _expire(self, line_no: int, time: float) -> list[Fragment]:
        out: list[Fragment] = []
        if not self._open:
            return out
        for k in list(self._open):
            first = self._open[k].parts[0]
            stale = line_no - self._open[k].parts[-1].line_no > self.max_lines
            age = time - first.time
            if stale or (math.isfinite(age) and abs(age) > self.max_age_s):
                out += self._open.pop(k).parts
        return out

    def drain(self) -> list[Fragment]:
        """End of input: every open group is an orphan."""
        out = [p for o in self._open.values() for p in o.parts]
        self._open.clear()
        return out
