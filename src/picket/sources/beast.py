"""Beast binary (Mode-S Beast / dump1090 / readsb port 30005) framing, vectorised.

A frame is 0x1A, a type byte ('1' Mode A/C, '2' short, '3' long Mode S, '4'
status), a 6-byte 12 MHz MLAT counter, a signal byte and the payload; any 0x1A
inside is doubled. A frame start is therefore a 0x1A ending an odd-length run
of 0x1A bytes and followed by a type byte; every second 0x1A of a run is an
escape. Both facts are array operations, so a whole chunk is split into frames
without a Python loop. Anything between frames is garbage (counted); a frame
cut by the end of a chunk waits for the next `feed`.

Time (docs/time.md): Beast carries no wall clock, only a 12 MHz counter that
orders frames and refines sub-second time but never sets the date.
`CounterTime` turns ticks into unix time, one policy for Beast and AVR `@`
lines: with `base_time`, base_time + ticks / 12e6 (the simulator's
convention); with a live `clock`, the counter anchored to the arrival time of
the bytes and re-anchored when the two disagree by more than `REANCHOR_S`;
with a start time (`start_time`, the clock's start, or a unix time in the
file name, `...--1522782148.136310917--...`) the first frame is at the start
and later ones follow the counter, or, with a replay rate and a counter that
is not sane, frame k is at start + (k - 1) / rate. With none of these a frame
has no time and is rejected as `beast.no_time`, never stamped 1970.
The 2**48 wrap is undone.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable

import numpy as np

from picket.codec.modes_decode import ModeSDecoder
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.sources.registry import Clock, Format, clock_times, register

log = logging.getLogger(__name__)

ESC = 0x1A
PAYLOAD = {ord("1"): 2, ord("2"): 7, ord("3"): 14, ord("4"): 14}
_LEN = np.zeros(256, dtype=np.int64)
for _t, _n in PAYLOAD.items():
    _LEN[_t] = 2 + 6 + 1 + _n
TICKS_PER_S = 12e6
WRAP = 1 << 48
MAX_CARRY = 1 << 16
# live: counter time + offset may stray this far from the arrival time before the counter is
# re-anchored (a reset on reconnect or power-on, drift, or a receiver that puts GPS
# seconds-of-day in the counter, which then re-anchors on every chunk)
REANCHOR_S = 2.0
UNUSED = {ord("1"): "Mode A/C replies", ord("4"): "receiver status frames"}
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


class CounterTime:
    """12 MHz counter ticks to unix time (the policy in the module docstring)."""

    def __init__(
        self,
        source: str,
        base_time: float | None = None,
        start_time: float | None = None,
        clock: Clock | Callable[[], float] | None = None,
    ) -> None:
        self.source = source
        self.base = base_time
        self.clock = clock
        self.live = clock is not None and (not isinstance(clock, Clock) or clock.live)
        self.rate = clock.rate if isinstance(clock, Clock) and not self.live else None
        if start_time is None and isinstance(clock, Clock) and not self.live:
            start_time = clock.start if math.isfinite(clock.start) else None
        if start_time is None and base_time is None and not self.live:
            start_time = time_from_name(source)
        self.start = start_time
        self.t0: int | None = None  # first counted frame's ticks (start anchoring)
        self.counter_ok = True  # replay with a rate: False once the counter proved useless
        self.recent = np.zeros(0, np.int64)  # the last two ticks, for the sanity test
        self.rate_from = math.inf  # replay with a rate: the frame ordinal the rate took over
        self.offset: float | None = None  # live: receive time minus counter time
        self.reanchors = 0
        self.last_ticks = -1
        self.wraps = 0

    def unwrap(self, ticks: np.ndarray) -> np.ndarray:
        """Undo the 48-bit counter wrap: a jump back by more than half the range."""
        if not len(ticks):
            return ticks
        prev = np.r_[self.last_ticks if self.last_ticks >= 0 else ticks[0], ticks[:-1]]
        wrapped = (prev - ticks) > (WRAP // 2)
        w = self.wraps + np.cumsum(wrapped)
        self.wraps = int(w[-1])
        self.last_ticks = int(ticks[-1])
        return ticks + w * WRAP

    def times(self, ticks: np.ndarray, ordinals: np.ndarray) -> np.ndarray:
        """Times of frames with unwrapped `ticks` (-1: no counter), numbered `ordinals`.

        NaN where nothing gives a time.
        """
        has = ticks >= 0
        tsec = ticks / TICKS_PER_S
        if self.base is not None:
            return np.where(has, self.base + tsec, self.base)
        if self.live:
            return self._live(tsec, has, float(self.clock()))  # type: ignore[misc]
        if self.start is None:
            return np.full(len(ticks), np.nan)
        by_rate = self.start + (ordinals - 1.0) / self.rate if self.rate else None
        if self.rate and self.counter_ok and has.any():
            j = _first_insane(ticks[has], self.recent)
            self.recent = np.r_[self.recent, ticks[has]][-2:]
            if j >= 0:  # from this frame on (by frame, so batching never moves the switch)
                self.counter_ok = False
                self.rate_from = float(ordinals[has][j])
                log.info("%s: the counter does not keep time; frames timed by --rate",
                         self.source)  # fmt: skip
        if by_rate is not None and not self.counter_ok and ordinals[0] >= self.rate_from:
            return by_rate
        if self.t0 is None and has.any():
            self.t0 = int(ticks[has][0])
        t0 = self.t0 if self.t0 is not None else 0
        other = clock_times(self.clock, ordinals) if self.clock is not None else self.start
        out = np.where(has, self.start + (ticks - t0) / TICKS_PER_S, other)
        if by_rate is not None and not self.counter_ok:
            out = np.where(ordinals >= self.rate_from, by_rate, out)
        return out

    def _live(self, tsec: np.ndarray, has: np.ndarray, recv: float) -> np.ndarray:
        """Counter anchored to the arrival time `recv` of the chunk these frames came in.

        The offset (receive time minus counter time) kept is the least seen,
        i.e. the least network latency; a chunk whose last frame disagrees with
        it by more than REANCHOR_S re-anchors it. A frame that still strays
        (a reset inside the chunk) takes the arrival time itself.
        """
        out = np.full(len(tsec), recv)
        if not has.any():
            return out
        off = recv - tsec[has]
        if self.offset is None or abs(off[-1] - self.offset) > REANCHOR_S:
            if self.offset is not None:
                self.reanchors += 1
                log.info("%s: Beast counter re-anchored to the receive clock (%d so far)",
                         self.source, self.reanchors)  # fmt: skip
            self.offset = float(off[-1])
        else:
            self.offset = min(self.offset, float(off[-1]))
        t = tsec[has] + self.offset
        out[has] = np.where(np.abs(t - recv) > REANCHOR_S, recv, t)
        return out


def _first_insane(ticks: np.ndarray, recent: np.ndarray) -> int:
    """Index of the first frame where the counter stops keeping time, else -1: it jumps
    back more than 1 s (real receivers emit frames a fraction of a second out of order)
    or ahead more than 10 min, or it stands still for three frames (some feeders send a
    zero counter). `recent`: the ticks of the (up to two) frames before these."""
    p = len(recent)
    t = np.r_[recent, ticks]
    e = np.arange(p, len(t))
    d = t[e] - t[np.maximum(e - 1, 0)]
    jump = (e >= 1) & ((d <= -TICKS_PER_S) | (d >= 600 * TICKS_PER_S))
    still = (e >= 2) & (d == 0) & (t[np.maximum(e - 1, 0)] == t[np.maximum(e - 2, 0)])
    bad = np.flatnonzero(jump | still)
    return int(bad[0]) if len(bad) else -1


class BeastDecoder:
    """Incremental Beast decoder; Mode S frames go to a shared `ModeSDecoder`."""

    def __init__(
        self,
        rejects: Rejects,
        source: str,
        base_time: float | None = None,
        reference: tuple[float, float] | None = None,
        start_time: float | None = None,
        clock: Clock | Callable[[], float] | None = None,
    ) -> None:
        self.rejects = rejects
        self.source = source
        self.modes = ModeSDecoder(rejects, source, reference)
        self.carry = b""
        self.offset = 0  # stream offset of carry[0]
        self.frames_seen = 0  # frame ordinal, for line-rate timing
        self.junk_at: int | None = None  # stream offset where an open run of junk began
        self.junk_head = b""
        self.clock = CounterTime(source, base_time, start_time, clock)
        self.internal_errors = 0  # decoder bugs met (the first is logged with its traceback)

    def feed(self, data: bytes) -> Decoded:
        try:
            return self._feed(data, final=False)
        except Exception as exc:  # defensive: a decoder must never take the feed down
            self._internal(exc)
            self.carry = b""
            return Decoded.empty()

    def _internal(self, exc: Exception) -> None:
        """A decoder bug: counted and dead-lettered; logged with its traceback the first
        time, at debug after (a feed that trips it every chunk must not flood the log)."""
        self.rejects.reject("beast.internal_error", f"{self.source}:{self.offset}", repr(exc))
        self.internal_errors += 1
        first = self.internal_errors == 1
        log.log(logging.ERROR if first else logging.DEBUG,
                "beast decoder bug at %s offset %d (counted as beast.internal_error): %r",
                self.source, self.offset, exc, exc_info=first)  # fmt: skip

    def flush(self) -> Decoded:
        try:
            out = self._feed(b"", final=True)
        except Exception as exc:  # as in feed
            self._internal(exc)
            out = Decoded.empty()
        if self.carry:
            self.rejects.reject("beast.truncated", f"{self.source}:{self.offset}", self.carry)
            self.offset += len(self.carry)
            self.carry = b""
        return out

    def _junk(self, at: int, data: bytes) -> None:
        """Bytes between frames: a run of them, however many chunks it spans, is one reject,
        dead-lettered at `at` (its offset, or that of the frame it follows) with its head."""
        if self.junk_at is None:
            self.junk_at, self.junk_head = at, data[:64]
        elif len(self.junk_head) < 64:
            self.junk_head += data[: 64 - len(self.junk_head)]

    def _end_junk(self) -> None:
        if self.junk_at is not None:
            self.rejects.reject("beast.garbage", f"{self.source}:{self.junk_at}", self.junk_head)
            self.junk_at, self.junk_head = None, b""

    def _feed(self, data: bytes, final: bool) -> Decoded:
        buf = self.carry + data
        base_off = self.offset
        starts, ub, us, consumed, garbage = split_frames(buf, final)
        if garbage:
            self._junk(base_off, buf[:garbage])
        if len(starts):
            self._end_junk()  # a frame starts: the run of junk before it is one reject
        self.carry = buf[consumed:]
        self.offset = base_off + consumed
        if len(self.carry) > MAX_CARRY:  # a run with no frame start: dropped, counted
            self._junk(self.offset, self.carry)
            self.offset += len(self.carry)
            self.carry = b""
        if final:
            self._end_junk()
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
        if extra[-1] and not final:  # junk after the last frame may go on in the next chunk
            self._junk(base_off + int(starts[-1]), ub[us[-1] + need[-1] :].tobytes())
            extra = extra.copy()
            extra[-1] = 0
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
        ticks = self.clock.unwrap(ticks)
        ordinals = self.frames_seen + 1 + np.arange(len(ticks))
        self.frames_seen += len(ticks)
        modes = (typ == ord("2")) | (typ == ord("3"))
        for code, what in UNUSED.items():  # anonymous Mode A/C replies, receiver status
            k = int(np.count_nonzero(typ == code))
            if k:
                self.rejects.note_unused(what, k)
        sel = np.flatnonzero(modes)
        if len(sel) == 0:
            return Decoded.empty()
        time = self.clock.times(ticks[sel], ordinals[sel])
        timeless = ~np.isfinite(time)
        if timeless.any():
            i = int(sel[np.flatnonzero(timeless)[0]])
            self.rejects.reject(
                "beast.no_time", f"{self.source}:{base_off + int(starts[i])}",
                ub[us[i] : us[i] + need[ok][i]].tobytes(), n=int(timeless.sum()),
            )  # fmt: skip
            sel, time = sel[~timeless], time[~timeless]
            if len(sel) == 0:
                return Decoded.empty()
        nb = np.where(typ[sel] == ord("3"), 14, 7)
        frames = np.zeros((len(sel), 14), dtype=np.uint8)
        p0 = us[sel] + 9
        cols = np.arange(14)
        gather = np.minimum(p0[:, None] + cols[None, :], len(ub) - 1)
        frames[:] = ub[gather]
        frames[nb == 7, 7:] = 0
        raw = base_off + starts[sel]
        return self.modes.decode(frames, nb, time, raw)


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
        clockless=True,
    )
)
