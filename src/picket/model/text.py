"""Text from the wire is data: cleaned once at decode, framed by bytes, never trusted.

`clean_text` makes any free-text field a decoder hands on (callsigns, vessel and object
names, registrations, Remote ID operator and self-ID text) safe for every consumer after
it: valid Unicode that encodes to UTF-8 and JSON, no control characters to break CoT XML
or a terminal, no bidirectional overrides to make a label read backwards, and a bounded
length. Decoders call it once; sinks can then trust the strings.

`LineFramer` splits a byte stream into lines exactly as the whole input would split,
whatever the chunking, and rejects (counts, dead-letters) a line longer than its limit as
one line, without holding it in memory, so line numbers after it stay right.
"""

from __future__ import annotations

import csv
import re

from picket.model.rejects import Rejects

# C0 and C1 controls, DEL, and the bidirectional embedding/override/isolate controls.
_DROP = {c: None for c in (*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F),
                           *range(0x2066, 0x206A), 0xFEFF)}  # fmt: skip
_SPACE = {0x09: " ", 0x0A: " ", 0x0D: " "}  # line breaks and tabs become one space
_TABLE = {**_DROP, **_SPACE}
_SURROGATE = re.compile("[\ud800-\udfff]")  # in a Python str a surrogate is always lone


def clean_text(s: object, max_len: int = 64) -> str:
    """`s` as safe text: lone surrogates and invalid UTF-8 become U+FFFD, controls go,
    outer spaces are stripped, and at most `max_len` characters are kept.

    Bytes are decoded as UTF-8; anything that is not text (None, numbers) gives "".
    """
    if isinstance(s, bytes | bytearray):
        s = bytes(s).decode("utf-8", "replace")
    elif not isinstance(s, str):
        return ""
    if not s.isascii() or not s.isprintable():
        s = _SURROGATE.sub("\ufffd", s).translate(_TABLE)
    return s.strip()[:max_len].strip()


class LineFramer:
    """Complete lines of a byte stream, chunking-independent, with a length cap.

    `feed` returns the complete lines in the bytes so far (without the newline) and
    the 1-based number of the first; an over-long line comes back as b"" (so numbering
    holds and readers skip it as blank) after being rejected once as `reason`.
    """

    def __init__(self, rejects: Rejects, source: str, reason: str, max_line: int) -> None:
        self.rejects, self.source, self.reason, self.max_line = rejects, source, reason, max_line
        self.carry = b""
        self.skipping = False  # inside an over-long line: its bytes are being dropped
        self.skip_head = b""
        self.skipped = 0
        self.next_line = 1  # number of the line `carry` belongs to

    def feed(self, data: bytes) -> tuple[list[bytes], int]:
        first = self.next_line
        cut = data.rfind(b"\n")
        if cut < 0:
            self._hold(data)
            return [], first
        lines = (self.carry + data[:cut]).split(b"\n") if self.carry else data[:cut].split(b"\n")
        if self.skipping:  # the first "line" is the tail of the over-long one
            self.skipped += len(lines[0])
            self._reject_skipped(first)
            lines[0] = b""
        self.carry = b""
        self.next_line += len(lines)
        self._check(lines, first)
        self._hold(data[cut + 1 :])
        return lines, first

    def flush(self) -> tuple[list[bytes], int]:
        """The last line when the input does not end with a newline."""
        first = self.next_line
        if self.skipping:
            self._reject_skipped(first)
            self.next_line += 1
            return [b""], first
        rest, self.carry = self.carry, b""
        if not rest:
            return [], first
        self.next_line += 1
        lines = [rest]
        self._check(lines, first)
        return lines, first

    def _hold(self, tail: bytes) -> None:
        if self.skipping:
            self.skipped += len(tail)
            return
        self.carry += tail
        if len(self.carry) > self.max_line:
            self.skipping, self.skip_head, self.skipped = True, self.carry[:256], len(self.carry)
            self.carry = b""

    def _reject_skipped(self, line_no: int) -> None:
        where = f"{self.source}:{line_no} ({self.skipped} bytes)"
        self.rejects.reject(self.reason, where, self.skip_head)
        self.skipping, self.skip_head, self.skipped = False, b"", 0

    def _check(self, lines: list[bytes], first: int) -> None:
        if max(map(len, lines), default=0) <= self.max_line:
            return
        for i, ln in enumerate(lines):
            if len(ln) > self.max_line:
                where = f"{self.source}:{first + i} ({len(ln)} bytes)"
                self.rejects.reject(self.reason, where, ln[:256])
                lines[i] = b""


def csv_line(line: str) -> list[str]:
    """One line as CSV fields; an unclosed quote ends at the end of its line."""
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return [line, "\0unparsable"]  # a field count no header has: rejected as a bad row


def csv_lines(lines: list[str]) -> list[list[str]]:
    """Each line as its own CSV record, so a stray quote cannot swallow the lines after it
    (fast path: one reader over all lines; per line only when that went wrong)."""
    try:
        rows = list(csv.reader(lines))
    except csv.Error:
        rows = []
    if len(rows) != len(lines):  # a quote ran over a line end, or the reader gave up
        rows = [csv_line(x) for x in lines]
    return rows
