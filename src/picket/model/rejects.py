"""Rejected input: counted per reason and kept, never silently lost.

Every reader gets a `Rejects` and calls `reject()` for anything it cannot use.
The dead-letter file is JSON Lines beside the store: one object per rejected
item with the reason, where it was (file, line or byte offset) and the raw
bytes (text when printable, else hex).

Input that decodes fine but that picket has no use for (Mode A/C replies,
receiver status frames) is not a reject: it is counted apart in `unused`,
shown in the summary, and not dead-lettered.

The dead letter is capped so a hostile feed cannot fill the disk: past `max_bytes`
the file is rotated (`dead-letter.jsonl.1` ... `.N`, the oldest deleted); with
`backups` 0 it is not rotated and records past the cap are dropped. Either way every
record that leaves the disk, or never reaches it, is counted in `dead_letter_dropped`
(the reject counts themselves stay exact). docs/bad_input.md.
"""

from __future__ import annotations

from collections import Counter
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

MIB = 1 << 20
DEAD_LETTER_MAX_BYTES = 64 * MIB  # one dead-letter file at most this big before rotation
DEAD_LETTER_BACKUPS = 4  # rotated files kept: at most 5 x 64 MiB of dead letter on disk


class Rejects:
    def __init__(self, dead_letter: str | Path | None = None, keep_raw: int = 4096,
                 max_bytes: int = DEAD_LETTER_MAX_BYTES,
                 backups: int = DEAD_LETTER_BACKUPS) -> None:  # fmt: skip
        self.counts: Counter[str] = Counter()
        self.accepted = 0
        self.unused: Counter[str] = Counter()  # what (e.g. "Mode A/C replies") -> count
        self.geography = 0  # zone/infrastructure features loaded: configuration, not input
        self.path: Path | None = None
        if dead_letter:  # pathlib and json only with a dead letter: `picket track` has none
            from pathlib import Path

            self.path = Path(dead_letter)
        self._fh: IO[str] | None = None
        self.keep_raw = keep_raw
        self.max_bytes = max(int(max_bytes), 1024)
        self.backups = max(int(backups), 0)
        self._size = 0  # bytes in the current dead-letter file
        self.dead_letter_dropped = 0  # records removed by rotation or never written (the cap)
        self.dead_letter_rotations = 0

    def reject(self, reason: str, where: str, raw: bytes | str | None = None, n: int = 1) -> None:
        """Count `n` rejected items for `reason`; keep the raw input in the dead-letter file."""
        self.counts[reason] += n
        if self.path is None:
            return
        if self._fh is None:
            self._open()
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
        import json

        line = json.dumps(rec) + "\n"
        if self._size + len(line) > self.max_bytes and not self._rotate():
            self.dead_letter_dropped += 1  # full and not rotated: counted, not written
            return
        assert self._fh is not None
        self._fh.write(line)
        self._size += len(line)

    def _open(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        self._size = self._fh.tell()  # a file left by an earlier run counts toward the cap

    def _rotate(self) -> bool:
        """Shift dead-letter.jsonl -> .1 -> ... -> .N (the oldest's records counted as
        dropped) and start a new file; False when rotation is off (`backups` 0)."""
        if not self.backups or self.path is None or self._fh is None:
            return False
        self._fh.close()
        oldest = self.path.with_name(f"{self.path.name}.{self.backups}")
        if oldest.exists():
            with oldest.open("rb") as fh:
                self.dead_letter_dropped += sum(
                    chunk.count(b"\n") for chunk in iter(lambda: fh.read(MIB), b"")
                )
            oldest.unlink()
        for k in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{k}")
            if src.exists():
                src.replace(self.path.with_name(f"{self.path.name}.{k + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self.dead_letter_rotations += 1
        self._fh = self.path.open("a", encoding="utf-8")
        self._size = 0
        return True

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
        if self.dead_letter_dropped:
            s += f"; {self.dead_letter_dropped} dead letters dropped (dead_letter_dropped, cap)"
        return s

    def as_dict(self) -> dict[str, object]:
        """The counters as plain data (for `/api/metrics` and JSON reports)."""
        return {
            "accepted": self.accepted, "rejected": self.rejected, "rejects": dict(self.counts),
            "unused": dict(self.unused), "geography": self.geography,
            "dead_letter_dropped": self.dead_letter_dropped,
            "dead_letter_rotations": self.dead_letter_rotations,
            "dead_letter_max_bytes": self.max_bytes, "dead_letter_backups": self.backups,
        }  # fmt: skip

    metrics = as_dict

    def flush(self) -> None:
        if self._fh:
            self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()
            self._fh = None
