"""Beast binary (Mode-S Beast / dump1090 / readsb port 30005) framing, vectorised.

A frame is 0x1A, a type byte ('1' Mode A/C, '2' short, '3' long Mode S, '4'
status), a 6-byte 12 MHz MLAT counter, a signal byte and the payload; any 0x1A
inside is doubled. A frame start is therefore a 0x1A ending an odd-length run
of 0x1A bytes and followed by a type byte; every second 0x1A of a run is an
escape. Both facts are array operations, so a whole chunk is split into frames
without a Python loop. Anything between frames is garbage (counted); a frame
cut by the end of a chunk waits for the next `feed`.

Time: Beast carries no wall clock. With an explicit `base_time` a frame's time
is base_time + ticks / 12e6 (the simulator's convention). With `start_time`,
or else a unix time in the file name (`...--1522782148.136310917--...`), the
*first* frame is at that time and later frames follow the counter (a receiver's
counter starts at power-on, not at the epoch). Failing all, time is
ticks / 12e6 after the epoch, i.e. not wall-clock. The 2**48 wrap is undone.
"""

from __future__ import annotations

import re

import numpy as np

from picket.codec.modes_decode import ModeSDecoder
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.sources.registry import Format, register

ESC = 0x1A
PAYLOAD = {ord("1"): 2, ord("2"): 7, ord("3"): 14, ord("4"): 14}
_LEN = np.zeros(256, dtype=np.int64)
for _t, _n in PAYLOAD.items():
    _LEN[_t] = 2 + 6 + 1 + _n
TICKS_PER_S = 12e6
WRAP = 1 << 48
MAX_CARRY = 1 << 16
_NAME_TIME = re.compile(r"(?<![\d.])(1[0-9]{9}(?:\.[0-9]+)?)(?![\d])")


def time_from_name(name: str) -> float | None:
    """A plausible unix time (2001..2286) embedded in a file name, else None."""
    m = _NAME_TIME.search(name)
    return float(m.group(1)) if m else None


def split_frames(
    data: bytes, final: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Find complete frames in `data`.

    Returns (starts, unescaped buffer, unescaped start positions, bytes consumed,
    garbage bytes skipped). `starts` are offsets of each frame in `data`. Unless
    `final`, a trailing 0x1A may be half an escape, so the frame it ends waits.
    """
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b)
    empty = np.zeros(0, np.int64)
    if n == 0:
        return empty, b, empty, 0, 0
    # work on the 0x1A positions only: a few per frame, not every byte
    esc = np.flatnonzero(b == ESC)
    k = np.arange(len(esc))
    new_run = np.r_[True, np.diff(esc) != 1] if len(esc) else np.zeros(0, bool)
    run_first = np.maximum.accumulate(np.where(new_run, k, 0)) if len(esc) else k
    in_run = k - run_first
    run_end = np.r_[new_run[1:], True] if len(esc) else new_run  # last 0x1A of its run
    nxt = b[np.minimum(esc + 1, n - 1)]
    nxt = np.where(esc + 1 < n, nxt, 0)
    is_start = run_end & (in_run % 2 == 0) & (_LEN[nxt] > 0)
    starts = esc[is_start]
    if len(starts) == 0:
        # keep a trailing run of 0x1A: it may begin the next frame
        tail = int(in_run[-1] + 1) if len(esc) and esc[-1] == n - 1 else 0
        return empty, b[:0], empty, n - tail, n - tail
    drop = esc[(in_run % 2 == 1) & ~is_start]
    ub = np.delete(b, drop) if len(drop) else b
    ustarts = starts - np.searchsorted(drop, starts)
    ends_in_esc = bool(b[-1] == ESC)
    need = _LEN[b[starts + 1]]
    avail = np.r_[ustarts[1:], len(ub)] - ustarts
    # the last frame is complete only if all its bytes are here and no escape is cut
    last_ok = avail[-1] >= need[-1] and (final or not ends_in_esc)
    if last_ok:
        consumed = n
    else:
        consumed = int(starts[-1])
        ub = ub[: ustarts[-1]]
        starts, ustarts = starts[:-1], ustarts[:-1]
    garbage = int(starts[0]) if len(starts) else consumed
    return starts, ub, ustarts, consumed, garbage


class BeastDecoder:
    """Incremental Beast decoder; Mode S frames go to a shared `ModeSDecoder`."""

    def __init__(
        self,
        rejects: Rejects,
        source: str,
        base_time: float | None = None,
        reference: tuple[float, float] | None = None,
        start_time: float | None = None,
    ) -> None:
        self.rejects = rejects
        self.source = source
        self.modes = ModeSDecoder(rejects, source, reference)
        self.carry = b""
        self.offset = 0  # stream offset of carry[0]
        if start_time is None and base_time is None:
            start_time = time_from_name(source)
        self.anchor_first = base_time is None and start_time is not None
        self.base = base_time if base_time is not None else (start_time or 0.0)
        self.t0: int | None = None  # first frame's unwrapped ticks (file-name anchoring)
        self.last_ticks = -1
        self.wraps = 0

    def feed(self, data: bytes) -> Decoded:
        try:
            return self._feed(data, final=False)
        except Exception as exc:  # defensive: a decoder must never take the feed down
            self.rejects.reject("beast.internal_error", f"{self.source}:{self.offset}", repr(exc))
            self.carry = b""
            return Decoded.empty()

    def flush(self) -> Decoded:
        try:
            out = self._feed(b"", final=True)
        except Exception as exc:
            self.rejects.reject("beast.internal_error", f"{self.source}:{self.offset}", repr(exc))
            out = Decoded.empty()
        if self.carry:
            self.rejects.reject("beast.truncated", f"{self.source}:{self.offset}", self.carry)
            self.offset += len(self.carry)
            self.carry = b""
        return out

    def _feed(self, data: bytes, final: bool) -> Decoded:
        buf = self.carry + data
        base_off = self.offset
        starts, ub, us, consumed, garbage = split_frames(buf, final)
        if garbage:
            self.rejects.reject("beast.garbage", f"{self.source}:{base_off}", buf[:garbage][:64])
        self.carry = buf[consumed:]
        self.offset = base_off + consumed
        if len(self.carry) > MAX_CARRY:  # a run with no frame start: drop, counted
            self.rejects.reject("beast.garbage", f"{self.source}:{self.offset}", self.carry[:64])
            self.offset += len(self.carry)
            self.carry = b""
        if len(starts) == 0:
            return Decoded.empty()
        typ = ub[us + 1]
        need = _LEN[typ]
        avail = np.r_[us[1:], len(ub)] - us
        short = avail < need
        extra = np.maximum(avail - need, 0)
        if short.any():
            i = int(np.flatnonzero(short)[0])
            self.rejects.reject(
                "beast.truncated", f"{self.source}:{base_off + int(starts[i])}",
                ub[us[i] : us[i] + avail[i]].tobytes(), n=int(short.sum()),
            )  # fmt: skip
        if extra.any():
            i = int(np.flatnonzero(extra)[0])
            self.rejects.reject(
                "beast.garbage", f"{self.source}:{base_off + int(starts[i])}",
                ub[us[i] + need[i] : us[i] + avail[i]].tobytes()[:64], n=int((extra > 0).sum()),
            )  # fmt: skip
        ok = ~short
        us, starts, typ = us[ok], starts[ok], typ[ok]
        # 6-byte counter
        ticks = np.zeros(len(us), dtype=np.int64)
        for j in range(6):
            ticks = (ticks << 8) | ub[us + 2 + j].astype(np.int64)
        ticks = self._unwrap(ticks)
        modes = (typ == ord("2")) | (typ == ord("3"))
        for code, reason in ((ord("1"), "beast.mode_ac"), (ord("4"), "beast.status_frame")):
            other = typ == code  # anonymous Mode A/C replies, receiver status: unused
            if other.any():
                i = int(np.flatnonzero(other)[0])
                self.rejects.reject(
                    reason, f"{self.source}:{base_off + int(starts[i])}",
                    ub[us[i] : us[i] + need[ok][i]].tobytes(), n=int(other.sum()),
                )  # fmt: skip
        sel = np.flatnonzero(modes)
        if len(sel) == 0:
            return Decoded.empty()
        nb = np.where(typ[sel] == ord("3"), 14, 7)
        frames = np.zeros((len(sel), 14), dtype=np.uint8)
        p0 = us[sel] + 9
        cols = np.arange(14)
        gather = np.minimum(p0[:, None] + cols[None, :], len(ub) - 1)
        frames[:] = ub[gather]
        frames[nb == 7, 7:] = 0
        if self.anchor_first and self.t0 is None:
            self.t0 = int(ticks[sel[0]])
        t0 = self.t0 if self.anchor_first and self.t0 is not None else 0
        time = self.base + (ticks[sel] - t0) / TICKS_PER_S
        raw = base_off + starts[sel]
        return self.modes.decode(frames, nb, time, raw)

    def _unwrap(self, ticks: np.ndarray) -> np.ndarray:
        """Undo the 48-bit counter wrap: a jump back by more than half the range."""
        prev = np.r_[self.last_ticks if self.last_ticks >= 0 else ticks[0], ticks[:-1]]
        wrapped = (prev - ticks) > (WRAP // 2)
        w = self.wraps + np.cumsum(wrapped)
        self.wraps = int(w[-1])
        self.last_ticks = int(ticks[-1])
        return ticks + w * WRAP


def _sniff(head: bytes, name: str) -> bool:
    if name.endswith((".beast", ".bin")) and head[:1] == b"\x1a":
        return True
    starts, _, _, _, garbage = split_frames(head)
    return head[:1] == b"\x1a" and len(starts) >= 3 and garbage == 0


register(
    Format(
        name="beast",
        domain="air",
        description="Mode-S Beast binary (dump1090/readsb port 30005), 12 MHz MLAT counter",
        sniff=_sniff,
        decoder=BeastDecoder,
        priority=20,
    )
)
