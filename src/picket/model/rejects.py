"""Rejected input: counted per reason and kept, never silently lost.

Every reader gets a `Rejects` and calls `reject()` for anything it cannot use.
The dead-letter file is JSON Lines beside the store: one object per rejected
item with the reason, where it was (file, line or byte offset) and the raw
bytes (text when printable, else hex).

Input that decodes fine but that picket has no use for (Mode A/C replies,
receiver status frames) is not a reject: it is counted apart in `unused`,
shown in the summary, and not dead-lettered.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import IO


class Rejects:
    def __init__(self, dead_letter: str | Path | None = None, keep_raw: int = 4096):
        self.counts: Counter[str] = Counter()
        self.accepted = 0
        self.unused: Counter[str] = Counter()  # what (e.g. "Mode A/C replies") -> count
        self.geography = 0  # zone/infrastructure features loaded: configuration, not input
        self.path = Path(dead_letter) if dead_letter else None
        self._fh: IO[str] | None = None
        self.keep_raw = keep_raw

    def reject(self, reason: str, where: str, raw: bytes | str | None = None, n: int = 1) -> None:
        """Count `n` rejected items for `reason`; keep the raw input in the dead-letter file."""
        self.counts[reason] += n
        if self.path is None:
            return
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        rec: dict[str, object] = {"reason": reason, "where": where}
        if raw is not None:
            if isinstance(raw, bytes):
                try:
                    text = raw.decode("ascii")
                    rec["raw"] = text[: self.keep_raw] if text.isprintable() else None
                except UnicodeDecodeError:
                    rec["raw"] = None
                if rec.get("raw") is None:
                    rec.pop("raw")
                    rec["raw_hex"] = raw[: self.keep_raw].hex()
            else:
                rec["raw"] = raw[: self.keep_raw]
        if n != 1:
            rec["count"] = n
        self._fh.write(json.dumps(rec) + "\n")

    def accept(self, n: int) -> None:
        self.accepted += n

    def note_geography(self, n: int = 1) -> None:
        """Count `n` zone or infrastructure features loaded (not accepted input)."""
        self.geography += n

    def note_unused(self, what: str, n: int = 1) -> None:
        """Count `n` items of `what`, decoded but not used: no reject, no dead letter."""
        self.unused[what] += n

    @property
    def rejected(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """``N accepted, M rejected: reason (k), ...; K Mode A/C replies (not used)``"""
        s = f"{self.accepted} accepted, {self.rejected} rejected"
        if self.counts:
            s += ": " + ", ".join(f"{r} ({k})" for r, k in self.counts.most_common())
        if self.unused:
            s += "; " + ", ".join(f"{k} {w} (not used)" for w, k in self.unused.most_common())
        return s

    def flush(self) -> None:
        if self._fh:
            self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None
