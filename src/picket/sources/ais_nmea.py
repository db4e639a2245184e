"""AIS over NMEA 0183 (`!AIVDM`/`!AIVDO`, any talker): the `ais-nmea` format.

Time. AIS payloads carry no date, so event time comes from the line: an NMEA
4.10 tag block `c:` (seconds or milliseconds), a trailing `*hh,<unix time>`,
or a DMA `$PGHP` line before the sentence. A sentence with none of these takes
the last time seen on this stream (DMA writes the tag block and `$PGHP` only
before the first fragment of a multi-part message, and receivers that stamp
once per burst do the same). Before any time has been seen, messages are
rejected as `ais.no_time` rather than stamped with an invented time, unless
the decoder has a `clock` (registry.Clock, docs/time.md): live, the arrival
time of the bytes; in replay, a start time and a line rate (a message at line
k is at start + (k - 1) / rate, by its last line).

Station. The tag block `s:` (or DMA's `si:`) names the receiving station; like
time it carries forward to the following untagged lines. Reports from a
stream without stations are attributed to the stream (file) name.

Accounting. Every non-blank input line ends up either accepted (a sentence of
a decoded message, or a tag-block / `$PGHP` line that stamped one) or rejected
with a reason, so `accepted + rejected` equals the number of non-blank lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from picket.codec import ais_decode as ad
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Reports
from picket.sources import ais_nmea_lines as al
from picket.sources.ais_nmea_parts import Fragment, Message, Reassembler
from picket.sources.registry import Clock, Format, clock_times, register

MAX_LINE = 1 << 16  # a "line" longer than this is junk; cut it so memory stays bounded
STATUS_REASON = {
    ad.TRUNCATED: "ais.truncated",
    ad.UNSUPPORTED: "ais.unsupported_type",
    ad.BAD_PAYLOAD: "ais.bad_payload",
}


class AisNmeaDecoder:
    """Incremental decoder: feed bytes as they come, flush at the end."""

    def __init__(
        self,
        rejects: Rejects,
        source: str,
        clock: Clock | Callable[[], float] | None = None,
        max_fragment_age_s: float = 10.0,
        max_fragment_lines: int = 100,
    ):
        self.rejects = rejects
        self.source = source
        self.clock = clock
        self._source_code = SOURCES.code(source)
        self._rest = b""
        self._next_line = 1
        self._time = math.nan
        self._station = -1  # SOURCES code of the last named station
        self._parts = Reassembler(max_fragment_age_s, max_fragment_lines)
        self._statics: dict[tuple[int, tuple[str, ...]], dict[str, Any]] = {}

    # -- Decoder protocol -----------------------------------------------------------------
    def feed(self, data: bytes) -> Decoded:
        buf = self._rest + data
        cut = buf.rfind(b"\n") + 1
        if cut == 0 and len(buf) > MAX_LINE:
            cut = len(buf)
            buf += b"\n"
        self._rest = buf[cut:]
        return self._safe(buf[:cut])

    def flush(self) -> Decoded:
        chunk, self._rest = self._rest, b""
        if chunk and not chunk.endswith(b"\n"):
            chunk += b"\n"
        out = self._safe(chunk)
        self._orphan(self._parts.drain())
        return out

    # -- internals ------------------------------------------------------------------------
    def _safe(self, chunk: bytes) -> Decoded:
        """Decode a chunk; an internal error rejects the chunk's lines instead of escaping."""
        first = self._next_line
        self._next_line += chunk.count(b"\n")
        accepted, counts = self.rejects.accepted, self.rejects.counts.copy()
        try:
            out = self._decode(chunk, first) if chunk else Decoded.empty()
        except Exception:  # never let a bug in one chunk take a live feed down
            self.rejects.accepted, self.rejects.counts = accepted, counts  # count each line once
            for i, line in enumerate(chunk.split(b"\n")[:-1]):
                if line.strip(b" \t\r"):
                    self.rejects.reject("ais.internal_error", f"{self.source}:{first + i}", line)
            out = Decoded.empty()
        return out

    def _where(self, line_no: int) -> str:
        return f"{self.source}:{line_no}"

    def _orphan(self, frags: list[Fragment]) -> None:
        for f in frags:
            self.rejects.reject("ais.orphan_fragment", self._where(f.line_no), f.raw)

    def _decode(self, chunk: bytes, first_line: int) -> Decoded:
        buf = np.frombuffer(chunk, np.uint8)
        ln = al.frame_lines(buf, first_line)
        n = len(ln.line_no)
        if n == 0:
            return Decoded.empty()

        bad = np.flatnonzero(ln.kind >= al.MALFORMED)
        for i in bad.tolist():
            self.rejects.reject(
                al.REASONS[int(ln.kind[i])],
                self._where(int(ln.line_no[i])),
                chunk[ln.start[i] : ln.end[i]],
            )
        self.rejects.accept(int(np.count_nonzero((ln.kind == al.TAG_ONLY) | (ln.kind == al.PGHP))))

        # carry time and station forward over lines that do not state their own
        good = ln.kind < al.MALFORMED
        time = _ffill(np.where(good, ln.time, np.nan), self._time)
        codes = self._station_codes(ln)
        station = _ffill_int(np.where(good, codes, -1), self._station)
        self._time = float(time[-1])
        self._station = int(station[-1])
        msg_station = np.where(station >= 0, station, self._source_code)

        vdm = np.flatnonzero(ln.kind == al.VDM)
        single = vdm[ln.count[vdm] == 1]
        multi = vdm[ln.count[vdm] > 1]
        done = self._fragments(chunk, ln, multi, time, msg_station)

        # one table of messages: single-sentence ones point into the chunk, others into extra
        extra = b"".join(m.payload for m in done)
        pbuf = np.frombuffer(chunk + extra, np.uint8)
        m_len = np.array([len(m.payload) for m in done], np.int64)
        m_start = len(chunk) + np.concatenate([[0], np.cumsum(m_len)[:-1]]).astype(np.int64)
        start = np.concatenate([ln.pay_start[single], m_start[: len(done)]])
        length = np.concatenate([ln.pay_len[single], m_len])
        fill = np.concatenate([ln.fill[single], np.array([m.fill for m in done], np.int64)])
        t = np.concatenate([time[single], np.array([m.time for m in done], np.float64)])
        st = np.concatenate(
            [msg_station[single], np.array([m.station for m in done], np.int64)]
        ).astype(np.int64)
        last = np.concatenate([ln.line_no[single], np.array([m.lines[-1] for m in done])])
        nlines = np.concatenate([np.ones(len(single), np.int64), [len(m.lines) for m in done]])
        lines_of = _LinesOf(chunk, ln, single, done)

        no_time = ~np.isfinite(t)
        if no_time.any() and self.clock is not None:
            t[no_time] = clock_times(self.clock, last[no_time])
            no_time[:] = False
        for j in np.flatnonzero(no_time).tolist():
            self._reject_message("ais.no_time", lines_of(j))

        res = ad.decode_payloads(pbuf, start, length, fill)
        status = res.status
        ok = (status == ad.OK) & ~no_time
        self.rejects.accept(int(nlines[ok].sum()))
        for j in np.flatnonzero((status != ad.OK) & ~no_time).tolist():
            self._reject_message(STATUS_REASON[int(status[j])], lines_of(j))

        keep = ok[res.rows]
        rows = res.rows[keep]
        cols = {c: v[keep] for c, v in res.cols.items()}
        order = np.argsort(last[rows], kind="stable")
        rows = rows[order]
        reports = Reports.build(
            n=len(rows),
            time=t[rows],
            source=st[rows],
            raw=last[rows],
            **{c: v[order] for c, v in cols.items()},
        )
        statics = self._new_statics(sorted(res.statics, key=lambda x: last[x[0]]), ok, t)
        return Decoded(reports, statics)

    def _station_codes(self, ln: al.Lines) -> np.ndarray:
        if not ln.stations:
            return ln.station
        table = np.array([SOURCES.code(s) for s in ln.stations], np.int64)
        return np.where(ln.station >= 0, table[np.maximum(ln.station, 0)], -1)

    def _fragments(
        self, chunk: bytes, ln: al.Lines, multi: np.ndarray, time: np.ndarray, st: np.ndarray
    ) -> list[Message]:
        """Offer the chunk's fragments to the reassembler in line order.

        Most multi-part traffic is two fragments on adjacent lines under one key
        (a type 5 every few minutes per vessel). Such a pair, met while no other
        group is open, can only complete: it is joined here directly, with the
        reassembler's own age and line limits, and everything else goes through
        the reassembler. The columns are turned into lists once: indexing NumPy
        arrays element by element cost more than the reassembly itself.
        """
        done: list[Message] = []
        m = len(multi)
        if not m:
            return done
        cols = (ln.line_no, ln.start, ln.end, ln.pay_start, ln.pay_len, ln.fill, time, st,
                ln.group_start, ln.group_end, ln.seq, ln.channel, ln.count, ln.frag)  # fmt: skip
        rows = list(zip(*(c[multi].tolist() for c in cols), strict=True))
        pair = self._clean_pairs(ln, multi, time, st).tolist()
        parts = self._parts
        add, orphan = parts.add, self._orphan
        k = 0
        while k < m:
            if pair[k] and parts.idle():
                la, a0, a1, pa, na, _, ta, sa = rows[k][:8]
                lb, b0, b1, pb, nb, fb = rows[k + 1][:6]
                payload = chunk[pa : pa + na] + chunk[pb : pb + nb]
                tm = ta if math.isfinite(ta) else rows[k + 1][6]
                done.append(Message(payload, fb, tm, sa, [la, lb], [chunk[a0:a1], chunk[b0:b1]]))
                k += 2
                continue
            line_no, a, b, p0, pn, fill, t, station, g0, g1, seq, chan, count, frag = rows[k]
            part = Fragment(line_no, chunk[a:b], chunk[p0 : p0 + pn], fill, t, station)
            if g0 >= 0:
                key: tuple[Any, ...] = ("g", chunk[g0:g1].rpartition(b"-")[2])
            else:
                key = (station, seq, chan)
            msg, orphans = add(key, count, frag, part)
            if orphans:
                orphan(orphans)
            if msg is not None:
                done.append(msg)
            k += 1
        return done

    def _clean_pairs(
        self, ln: al.Lines, multi: np.ndarray, time: np.ndarray, st: np.ndarray
    ) -> np.ndarray:
        """Per fragment: it is part 1 of 2 and the next fragment is its part 2 under the same
        key (no tag-block group), close enough in lines and time that the reassembler
        would not expire it in between."""
        pair = np.zeros(len(multi), bool)
        if len(multi) < 2:
            return pair
        a, b = multi[:-1], multi[1:]
        age = time[b] - time[a]
        pair[:-1] = (
            (ln.count[a] == 2) & (ln.count[b] == 2) & (ln.frag[a] == 1) & (ln.frag[b] == 2)
            & (ln.group_start[a] < 0) & (ln.group_start[b] < 0)
            & (st[a] == st[b]) & (ln.seq[a] == ln.seq[b]) & (ln.channel[a] == ln.channel[b])
            & (ln.line_no[b] - ln.line_no[a] <= self._parts.max_lines)
            & ~(np.isfinite(age) & (np.abs(age) > self._parts.max_age_s))
        )  # fmt: skip
        return pair

    def _reject_message(self, reason: str, lines: list[tuple[int, bytes]]) -> None:
        for line_no, raw in lines:
            self.rejects.reject(reason, self._where(line_no), raw)

    def _new_statics(
        self, found: list[tuple[int, int, dict[str, Any]]], ok: np.ndarray, t: np.ndarray
    ) -> list[Static]:
        """Identity facts, emitted when they change (vessels repeat them every few minutes);
        `found`'s dicts are the payload memo's own (`ais_decode._memoised`): what goes out is
        a copy, so a sink changing it cannot change what the memo gives the next vessel."""
        out = []
        for j, subject, fields in found:
            if not ok[j]:
                continue
            k = (subject, tuple(sorted(fields)))
            if self._statics.get(k) == fields:
                continue
            mine = dict(fields)
            self._statics[k] = mine
            out.append(Static(float(t[j]), subject, mine))
        return out


class _LinesOf:
    """Line numbers and raw bytes behind message j (only built for rejected messages)."""

    def __init__(self, chunk: bytes, ln: al.Lines, single: np.ndarray, done: list[Message]):
        self.chunk, self.ln, self.single, self.done = chunk, ln, single, done

    def __call__(self, j: int) -> list[tuple[int, bytes]]:
        if j < len(self.single):
            i = int(self.single[j])
            return [(int(self.ln.line_no[i]), self.chunk[self.ln.start[i] : self.ln.end[i]])]
        m = self.done[j - len(self.single)]
        return list(zip(m.lines, m.raws, strict=True))


def _ffill(v: np.ndarray, carry: float) -> np.ndarray:
    idx = np.where(np.isfinite(v), np.arange(len(v)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, v[np.maximum(idx, 0)], carry)


def _ffill_int(v: np.ndarray, carry: int) -> np.ndarray:
    idx = np.where(v >= 0, np.arange(len(v)), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, v[np.maximum(idx, 0)], carry)


def sniff(head: bytes, name: str) -> bool:
    """AIS NMEA if one of the first lines is a VDM/VDO sentence, maybe behind a tag block."""
    for line in head.splitlines()[:20]:
        s = line.strip()
        if s.startswith(b"\\"):
            s = s[s.find(b"\\", 1) + 1 :] if b"\\" in s[1:] else b""
        if len(s) > 7 and s[:1] in (b"!", b"$") and s[3:6] in (b"VDM", b"VDO"):
            return True
        if s.startswith(b"$PGHP,"):
            return True
    return False


FORMAT = register(
    Format(
        name="ais-nmea",
        domain="maritime",
        description="AIS NMEA 0183 (!AIVDM/!AIVDO, tag blocks, DMA $PGHP, trailing unix times)",
        sniff=sniff,
        decoder=AisNmeaDecoder,
        priority=10,
        clockless=True,
    )
)
