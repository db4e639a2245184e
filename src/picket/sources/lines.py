"""Decoders of whole lines (CSV, JSON Lines): framing and fault isolation in one place.

Why: a line reader must give the same rows however the bytes are cut (`LineFramer`) and
a bug in decoding one batch of lines must cost those lines only, counted and logged with
its traceback, never the feed.
"""

from __future__ import annotations

import logging

from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.text import LineFramer

log = logging.getLogger(__name__)


class LineDecoder:
    """Base of a line decoder: `decode_lines(lines, first)` is all a reader writes.

    `what` names its rejects: `<what>.line_too_long`, `<what>.internal_error`."""

    what = "lines"
    rejects: Rejects
    source: str
    lines: LineFramer

    def frame(self, rejects: Rejects, source: str, max_line: int) -> None:
        self.rejects, self.source = rejects, source
        self.lines = LineFramer(rejects, source, f"{self.what}.line_too_long", max_line)

    def feed(self, data: bytes) -> Decoded:
        return self._safe(*self.lines.feed(data))

    def flush(self) -> Decoded:
        return self._safe(*self.lines.flush())

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        raise NotImplementedError

    def _safe(self, lines: list[bytes], first: int) -> Decoded:
        if not lines:
            return Decoded.empty()
        try:
            return self.decode_lines(lines, first)
        except Exception as exc:  # defensive: a line must never take the feed down
            log.exception("%s lines %s:%d+ failed", self.what, self.source, first)
            self.rejects.reject(f"{self.what}.internal_error", f"{self.source}:{first}",
                                repr(exc), n=len(lines))  # fmt: skip
            return Decoded.empty()
