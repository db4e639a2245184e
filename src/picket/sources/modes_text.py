"""Mode S as text: AVR raw hex, `timestamp,hex` CSV, and SBS-1 BaseStation CSV.

AVR (`*8D...;`, or `@` + 12 hex digits of 12 MHz MLAT counter + hex + `;`) and
the CSV of timestamped hex are turned into the same (n, 14) frame matrix the
Beast reader builds, by grouping lines of equal length and hex-decoding each
group with one table lookup, then decoded by `ModeSDecoder`. SBS lines are
already decoded by dump1090/readsb: their fields become report columns.

Lines are framed by `picket.model.text.LineFramer`: the same lines whatever the
chunking, a partial last line waits for the next `feed`, and a line over `MAX_LINE`
bytes is rejected once (`avr.line_too_long`, ...) without shifting the line numbers.
SBS callsigns go through `clean_text`.

Time: AVR lines carry none; `@` lines carry the 12 MHz counter. Both go
through the Beast reader's `CounterTime` (start time, replay rate or live
receive clock; docs/time.md); a line nothing can time is rejected as
`avr.no_time`. AVR Mode A/C replies (`*7700;`) are counted as unused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from picket.codec.modes_decode import ModeSDecoder
from picket.codec.modes_fields import FPM, FT, KT
from picket.model.decoded import Decoded, Static
from picket.model.parse import floats, iso_seconds
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import LineFramer, clean_text
from picket.sources.beast import CounterTime
from picket.sources.registry import Clock, Format, register

log = logging.getLogger(__name__)

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
MAX_LINE = 4096  # longer lines are rejected as <fmt>.line_too_long
MAX_CALLSIGN = 16  # as the other air readers: ADS-B carries 8 characters, room for suffixes


def hex_matrix(texts: list[bytes], width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width/2) bytes from equal-length hex strings, and a row validity mask."""
    if not texts:
        return np.zeros((0, width // 2), np.uint8), np.zeros(0, bool)
    nib = _HEX[np.frombuffer(b"".join(texts), dtype=np.uint8)].reshape(-1, width)
    ok = np.all(nib != 255, axis=1)
    return ((nib[:, 0::2] << 4) | (nib[:, 1::2] & 0xF)).astype(np.uint8), ok


class LineDecoder:
    """Lines framed by `LineFramer` (chunking-independent, over-long lines rejected once as
    `<fmt>.line_too_long` with line numbers kept right); subclasses decode lines."""

    fmt = "text"

    def __init__(self, rejects: Rejects, source: str) -> None:
        self.rejects = rejects
        self.source = source
        self.framer = LineFramer(rejects, source, f"{self.fmt}.line_too_long", MAX_LINE)
        self.internal_errors = 0  # decoder bugs met (the first is logged with its traceback)

    def feed(self, data: bytes) -> Decoded:
        lines, first = self.framer.feed(data)
        return self._run(lines, first) if lines else Decoded.empty()

    def flush(self) -> Decoded:
        lines, first = self.framer.flush()
        return self._run(lines, first) if any(ln.strip() for ln in lines) else Decoded.empty()

    def _run(self, lines: list[bytes], first: int) -> Decoded:
        try:
            return self.decode_lines(lines, first)
        except Exception as exc:  # defensive: never let a line take the feed down
            self.rejects.reject(
                f"{self.fmt}.internal_error", f"{self.source}:{first}", repr(exc), n=len(lines)
            )
            self.internal_errors += 1
            log.log(logging.ERROR if self.internal_errors == 1 else logging.DEBUG,
                    "%s decoder bug at %s line %d: %d lines counted as %s.internal_error",
                    self.fmt, self.source, first, len(lines), self.fmt,
                    exc_info=self.internal_errors == 1)  # fmt: skip
            return Decoded.empty()

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        raise NotImplementedError

    def reject_lines(self, reason: str, idx: np.ndarray, lines: list[bytes], first: int) -> None:
        """Dead-letter each rejected line (aggregated beyond the first 100 of a batch)."""
        for i in idx[:100]:
            self.rejects.reject(reason, f"{self.source}:{first + int(i)}", lines[int(i)][:512])
        if len(idx) > 100:
            i = int(idx[100])
            self.rejects.reject(reason, f"{self.source}:{first + i}+", None, n=len(idx) - 100)


class HexFramesDecoder(LineDecoder):
    """Common path of AVR and timestamped-hex CSV: hex payloads -> ModeSDecoder."""

    def __init__(
        self,
        rejects: Rejects,
        source: str,
        base_time: float | None = None,
        reference: tuple[float, float] | None = None,
        start_time: float | None = None,
        clock: Clock | Callable[[], float] | None = None,
    ) -> None:
        super().__init__(rejects, source)
        self.modes = ModeSDecoder(rejects, source, reference)
        self.clock = CounterTime(source, base_time, start_time, clock)

    def frames(
        self, payloads: list[bytes], times: np.ndarray, rows: np.ndarray, lines: list[bytes],
        first: int,
    ) -> Decoded:  # fmt: skip
        """Hex-decode payloads (14 or 28 digits) and decode; reject the rest by line."""
        lens = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
        mats, nbs, ts, raws = [], [], [], []
        bad = np.ones(len(payloads), dtype=bool)
        mode_ac = lens == 4  # a Mode A/C reply: 12 bits of squawk or altitude, no address
        if mode_ac.any():
            _, ok = hex_matrix([payloads[i] for i in np.flatnonzero(mode_ac)], 4)
            bad[np.flatnonzero(mode_ac)[ok]] = False
            self.rejects.note_unused("Mode A/C replies", int(ok.sum()))
        timeless = ~np.isfinite(times) & ~mode_ac
        if timeless.any():
            self.reject_lines(f"{self.fmt}.no_time", rows[timeless] - first, lines, first)
            bad[timeless] = False
        for width in (14, 28):
            sel = np.flatnonzero((lens == width) & ~timeless)
            m, ok = hex_matrix([payloads[i] for i in sel], width)
            sel, m = sel[ok], m[ok]
            bad[sel] = False
            full = np.zeros((len(sel), 14), dtype=np.uint8)
            full[:, : width // 2] = m
            mats.append(full)
            nbs.append(np.full(len(sel), width // 2))
            ts.append(times[sel])
            raws.append(rows[sel])
        self.reject_lines(f"{self.fmt}.bad_hex", rows[bad] - first, lines, first)
        f = np.concatenate(mats)
        o = np.argsort(np.concatenate(raws), kind="stable")
        return self.modes.decode(
            f[o], np.concatenate(nbs)[o], np.concatenate(ts)[o], np.concatenate(raws)[o]
        )


class AvrDecoder(HexFramesDecoder):
    fmt = "avr"

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        s = [ln.strip() for ln in lines]
        keep = [i for i, ln in enumerate(s) if ln]
        payloads, ticks, rows, bad = [], [], [], []
        for i in keep:
            ln = s[i]
            if ln[:1] == b"*" and ln[-1:] == b";":
                payloads.append(ln[1:-1])
                ticks.append(-1)
                rows.append(first + i)
            elif ln[:1] == b"@" and ln[-1:] == b";" and len(ln) > 14:
                try:
                    ticks.append(int(ln[1:13], 16))
                except ValueError:
                    bad.append(i)
                    continue
                payloads.append(ln[13:-1])
                rows.append(first + i)
            else:
                bad.append(i)
        self.reject_lines("avr.bad_line", np.array(bad, dtype=np.int64), lines, first)
        tk = np.array(ticks, dtype=np.int64)
        has = tk >= 0
        tk[has] = self.clock.unwrap(tk[has])
        rows_a = np.array(rows, dtype=np.int64)
        times = self.clock.times(tk, rows_a)
        return self.frames(payloads, times, rows_a, lines, first)


class HexCsvDecoder(HexFramesDecoder):
    """`timestamp,hex[,...]` lines (pyModeS sample format); timestamp is unix seconds."""

    fmt = "modes_csv"

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        payloads, times, rows, bad = [], [], [], []
        for i, ln in enumerate(lines):
            parts = ln.strip().split(b",")
            if len(parts) < 2 or not parts[0]:
                if ln.strip():
                    bad.append(i)
                continue
            try:
                t = float(parts[0])
            except ValueError:
                bad.append(i)  # a header line is rejected too: counted, harmless
                continue
            payloads.append(parts[1].strip().strip(b'"').removeprefix(b"*").removesuffix(b";"))
            times.append(t)
            rows.append(first + i)
        self.reject_lines("modes_csv.bad_line", np.array(bad, dtype=np.int64), lines, first)
        return self.frames(
            payloads, np.array(times, dtype=np.float64), np.array(rows, np.int64), lines, first
        )


def _epoch(dates: list[bytes], times: list[bytes]) -> np.ndarray:
    """SBS `yyyy/mm/dd`, `hh:mm:ss.fff` (UTC) to unix seconds; NaN where malformed."""
    iso = [d.replace(b"/", b"-").decode("ascii", "replace") + "T" + t.decode("ascii", "replace")
           for d, t in zip(dates, times, strict=True)]  # fmt: skip
    zoned = [i for i, t in enumerate(times) if b"+" in t or b"-" in t or b"Z" in t]
    for i in zoned:  # SBS times are UTC without a zone: an offset is malformed (NaN)
        iso[i] = "bad"
    return iso_seconds(iso, "ms")


class SbsDecoder(LineDecoder):
    """SBS-1 BaseStation `MSG,1..8` lines; `msg` is the transmission type 1..8."""

    fmt = "sbs"

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        super().__init__(rejects, source)
        self.source_code = SOURCES.code(source)
        self.callsigns: dict[int, str] = {}

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        fields = [ln.rstrip(b"\r").split(b",") for ln in lines]
        good, bad = [], []
        for i, f in enumerate(fields):
            ok = len(f) >= 22 and f[0] == b"MSG" and f[1] in b"12345678" and len(f[1]) == 1
            if ok:
                try:
                    int(f[4], 16)
                except ValueError:
                    ok = False
            if ok:
                good.append(i)
            elif lines[i].strip():
                bad.append(i)
        self.reject_lines("sbs.bad_line", np.array(bad, dtype=np.int64), lines, first)
        if not good:
            return Decoded.empty()
        rows = [fields[i] for i in good]
        col = [[r[k] for r in rows] for k in range(22)]
        tt = np.array([int(v) for v in col[1]], dtype=np.int64)
        icao = np.array([int(v, 16) for v in col[4]], dtype=np.int64) & 0xFFFFFF
        t = _epoch(col[6], col[7])
        alt, gs, trk = floats(col[11]) * FT, floats(col[12]) * KT, floats(col[13])
        lat, lon, vr = floats(col[14]), floats(col[15]), floats(col[16]) * FPM
        sq = floats(col[17])
        no_time = ~np.isfinite(t)
        if no_time.any():
            self.reject_lines("sbs.bad_time", np.asarray(good)[no_time], lines, first)
        kind = np.select(
            [(tt == 2) | (tt == 3), tt == 4, (tt >= 5) & (tt <= 7)],
            [Kind.POSITION, Kind.VELOCITY, Kind.IDENTITY], 0,
        )  # fmt: skip
        has_data = np.isfinite(alt) | np.isfinite(lat) | np.isfinite(gs) | np.isfinite(sq)
        out_rows = (kind > 0) & ~no_time & has_data
        s = np.flatnonzero(out_rows)
        rep = Reports.build(
            time=t[s], domain=Domain.AIR, kind=kind[s], source=self.source_code,
            subject=key(Namespace.ICAO, icao[s]), lat=lat[s], lon=lon[s], alt=alt[s],
            speed=gs[s], course=trk[s], vrate=vr[s],
            squawk=np.where(np.isfinite(sq[s]), sq[s], -1).astype(np.int64),
            msg=tt[s], raw=np.asarray(good, dtype=np.int64)[s] + first,
        )  # fmt: skip
        statics = []
        for j in np.flatnonzero((tt == 1) & ~no_time):
            name = clean_text(col[10][j], MAX_CALLSIGN)
            a = int(icao[j])
            if name and self.callsigns.get(a) != name:
                self.callsigns[a] = name
                statics.append(Static(float(t[j]), key(Namespace.ICAO, a), {"callsign": name}))  # type: ignore[arg-type]
        self.rejects.accept(len(good) - int(no_time.sum()))
        return Decoded(rep, statics)


def _lines(head: bytes) -> list[bytes]:
    return [ln.strip() for ln in head.split(b"\n")[:-1] if ln.strip()][:20]


def _sniff_avr(head: bytes, name: str) -> bool:
    ls = _lines(head)
    good = sum(ln[:1] in (b"*", b"@") and ln.endswith(b";") for ln in ls)
    return bool(ls) and good >= max(1, 0.6 * len(ls))


def _sniff_csv(head: bytes, name: str) -> bool:
    ls = _lines(head)
    if not ls:
        return False
    for ln in ls:
        p = ln.split(b",")
        if len(p) < 2:
            return False
        h = p[1].strip().strip(b'"')
        if len(h) not in (14, 28) or not all(c in b"0123456789abcdefABCDEF" for c in h):
            return False
        try:
            float(p[0])
        except ValueError:
            return False
    return True


def _sniff_sbs(head: bytes, name: str) -> bool:
    ls = _lines(head)
    return bool(ls) and sum(ln.startswith(b"MSG,") for ln in ls) >= max(1, len(ls) // 2)


def _reg(name: str, desc: str, sniff: Callable[[bytes, str], bool], dec: type,
         clockless: bool = False) -> None:  # fmt: skip
    register(Format(name=name, domain="air", description=desc, sniff=sniff, decoder=dec,
                    priority=10, clockless=clockless))  # fmt: skip


_reg("avr", "AVR raw Mode S hex lines (*...; or @<12 MHz ticks>...;)", _sniff_avr, AvrDecoder,
     clockless=True)  # fmt: skip
_reg("modes-csv", "timestamp,hex CSV of raw Mode S frames", _sniff_csv, HexCsvDecoder)
_reg("sbs", "SBS-1 BaseStation CSV (MSG,1..8), port 30003", _sniff_sbs, SbsDecoder)
