"""One kept position per track per `every_s` of event time, chosen vectorised."""

from __future__ import annotations

import numpy as np

from picket.fusion.context import BatchContext


class Downsampler:
    def __init__(self, every_s: float):
        self.every_s = every_s
        self._bucket = np.full(0, -1, np.int64)

    def select(self, ctx: BatchContext) -> tuple[np.ndarray, np.ndarray]:
        """(rows, slots) of the positions to keep from this batch."""
        r = ctx.reports
        rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier)
        if not len(rows):
            return rows, rows
        s = ctx.slots[rows]
        b = np.floor(r.time[rows] / self.every_s).astype(np.int64)
        if ctx.tracks.n > len(self._bucket):
            grown = np.full(max(ctx.tracks.n, 2 * len(self._bucket)), -1, np.int64)
            grown[: len(self._bucket)] = self._bucket
            self._bucket = grown
        first = np.r_[True, (s[1:] != s[:-1]) | (b[1:] != b[:-1])]
        keep = first & (b > self._bucket[s])
        rows, s, b = rows[keep], s[keep], b[keep]
        if len(rows):
            last = np.r_[s[1:] != s[:-1], True]
            self._bucket[s[last]] = b[last]
        return rows, s

    def forget(self, slots: np.ndarray) -> None:
        """Slots given to new subjects keep nothing from the old ones (`Pipeline.forget_slots`)."""
        s = slots[slots < len(self._bucket)]
        self._bucket[s] = -1

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """Which bucket each track slot last kept a position in (slots are the restored
        track table's)."""
        return {"bucket": self._bucket.copy()}

    def restore_state(self, st: dict[str, np.ndarray]) -> None:
        self._bucket = np.asarray(st["bucket"], np.int64).copy()
