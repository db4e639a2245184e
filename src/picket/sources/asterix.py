"""ASTERIX radar target reports (CAT048) and radar service messages (CAT034).

Input is a pcap or pcapng capture of the UDP feed (the usual way ASTERIX is recorded)
or a raw stream of ASTERIX data blocks. CAT048 plots are placed on WGS84 from their
polar position (I048/040) and the radar's site: the site comes from CAT034 I034/120 in
the same feed or from `RADAR_SITES` ((SAC, SIC) -> lat, lon, height m), which a
deployment fills. Plots of a radar whose site is never learnt are rejected at the end
(``asterix.unknown_site``) rather than guessed. Slant range becomes ground distance on a
sphere using the plot's flight level (or the radar's own height when there is none).

Time is I048/140 (seconds since midnight UTC) placed on the day nearest the capture
record's time; a raw stream has no date of its own, so the format is `clockless`: the
decoder takes a `clock` (arrival time live, start time in replay) and rejects raw plots
it cannot date as `asterix.no_time` rather than putting them in 1970.

A plot carrying a Mode S address (I048/220) is an identified report (`Kind.POSITION`,
subject ICAO); all others are anonymous `Kind.PLOT` for the plot tracker. The sensor
(``source``) is ``asterix:SAC/SIC``. Callsigns (I048/240) are `Static` facts.

A raw stream is cut into data blocks by their length field, so a block split across
reads is whole again; a corrupt capture record costs that record (see `CaptureStream`).

Records are walked one at a time to find where each item sits (ASTERIX is a variable-
length format), then every field is extracted for the whole batch at once with NumPy.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.geo.geodesy import destination
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text
from picket.sources.registry import Format, register

NAME = "asterix"
RADAR_SITES: dict[tuple[int, int], tuple[float, float, float]] = {}
EARTH_R = 6_371_008.8
FT = 0.3048
NM = 1852.0

# UAPs: FRN -> item length rule. int = fixed; "fx" = extends while bit 1 is set;
# "rep<n>" = 1-byte count then n bytes each; "sp" = explicit length; tuples = compound.
_UAP48: list[object] = [
    2,
    3,
    "fx",
    4,
    2,
    2,
    ("c130",),  # 010 140 020 040 070 090 130
    3,
    6,
    "rep8",
    2,
    4,
    4,
    "fx",  # 220 240 250 161 042 200 170
    4,
    "fx",
    2,
    4,
    2,
    ("c120",),
    2,  # 210 030 080 100 110 120 230
    7,
    1,
    2,
    1,
    2,
    "sp",
    "sp",  # 260 055 050 065 060 SP RE
]
_UAP34: list[object] = [
    2,
    1,
    3,
    1,
    2,
    ("c050",),
    ("c060",),  # 010 000 030 020 041 050 060
    "rep2",
    8,
    1,
    8,
    2,
    "sp",
    "sp",  # 070 100 110 120 090 RE SP
]
_COMPOUND = {  # subfield lengths in primary-octet bit order (bit 8 first), None = spare
    "c130": [1, 1, 1, 1, 1, 1, 1],
    "c050": [1, None, None, 1, 1, 2, None],
    "c060": [1, None, None, 1, 1, 1, None],
}


class Truncated(Exception):
    pass


def _item_len(buf: bytes, p: int, rule: object) -> int:
    """Length of one data item starting at p (raises Truncated past the end)."""
    if isinstance(rule, int):
        n = rule
    elif rule == "fx":
        n = 1
        while p + n - 1 < len(buf) and buf[p + n - 1] & 1:
            n += 1
    elif isinstance(rule, str) and rule.startswith("rep"):
        if p >= len(buf):
            raise Truncated
        n = 1 + buf[p] * int(rule[3:])
    elif rule == "sp":
        if p >= len(buf):
            raise Truncated
        n = buf[p]
        if n < 1:
            raise Truncated
    elif isinstance(rule, tuple) and rule[0] == "c120":
        if p >= len(buf):
            raise Truncated
        n = 1 + (2 if buf[p] & 0x80 else 0)
        if buf[p] & 0x40:
            if p + n >= len(buf):
                raise Truncated
            n += 1 + 6 * buf[p + n]
    elif isinstance(rule, tuple):
        n = 1
        while p + n - 1 < len(buf) and buf[p + n - 1] & 1:
            n += 1
        prim = buf[p : p + n]
        subs = _COMPOUND[rule[0]]
        for i, ln in enumerate(subs):  # first primary octet only carries known subfields
            if prim and prim[0] & (0x80 >> i) and ln:
                n += ln
    else:  # pragma: no cover - table error
        raise ValueError(rule)
    if p + n > len(buf):
        raise Truncated
    return n


def _walk(buf: bytes, p: int, end: int, uap: list[object]) -> tuple[dict[int, int], int]:
    """Item offsets (FRN -> offset) of the record at p, and where the next one starts."""
    fspec = []
    while True:
        if p >= end:
            raise Truncated
        b = buf[p]
        fspec.append(b)
        p += 1
        if not b & 1:
            break
    items: dict[int, int] = {}
    view = buf[:end]
    for oi, b in enumerate(fspec):
        for bit in range(7):
            if b & (0x80 >> bit):
                frn = oi * 7 + bit + 1
                if frn > len(uap):
                    raise Truncated  # an item this UAP does not know: cannot skip it
                items[frn] = p
                p += _item_len(view, p, uap[frn - 1])
    return items, p


@dataclass
class _Plots:
    """Item offsets of CAT048 records, gathered before the columnar decode."""

    offs: dict[int, list[int]] = field(default_factory=dict)  # FRN -> per-record offset or -1
    ref: list[float] = field(default_factory=list)  # capture or clock time: dates the plot
    where: list[int] = field(default_factory=list)
    n: int = 0

    def add(self, items: dict[int, int], ref: float, where: int) -> None:
        for frn in (1, 2, 4, 5, 6, 8, 9, 13):
            self.offs.setdefault(frn, [-1] * self.n).append(items.get(frn, -1))
        self.ref.append(ref)
        self.where.append(where)
        self.n += 1


# ---- capture containers ------------------------------------------------------------
class CaptureStream:
    """Incremental pcap / pcapng / raw reader yielding (time, payload, file offset).

    Payloads are the UDP payloads of IPv4/IPv6 packets (or, for link types without IP,
    the link-layer frame itself, see `raw_link`). A raw stream is cut into ASTERIX data
    blocks by their length field when `raw_blocks` is set, else it is rejected whole
    (`<fmt>.not_a_capture`, once, with its size).

    A record or block header that cannot be right (a length past any snapshot, a
    fraction of a second over one, a pcapng trailer that disagrees) costs that record
    only: the reader skips forward to the next plausible header and counts the skipped
    bytes once (`<fmt>.capture_resync`). Every decision waits for the bytes it needs,
    so the records are the same however the input is cut.
    """

    MAX_RECORD = 1 << 18

    def __init__(self, rejects: Rejects, source: str, fmt: str, raw_blocks: bool = False):
        self.rejects, self.source, self.fmt = rejects, source, fmt
        self.raw_blocks = raw_blocks
        self.buf = b""
        self.base = 0  # file offset of buf[0]
        self.kind: str | None = None  # pcap | pcapng | raw
        self.endian = "<"
        self.tsdiv = 1e6
        self.linktype = 1
        self.ifaces: list[tuple[int, float]] = []
        self.last_sec: int | None = None
        self.skip_from = -1  # file offset where a skipped run began, -1 when in step
        self.skip_head = b""

    def feed(self, data: bytes, final: bool = False) -> Iterator[tuple[float, int, bytes, int]]:
        """(capture time or NaN, link type, frame, offset) for each complete record."""
        self.buf += data
        if self.kind is None:
            if len(self.buf) < 4 and not final:
                return
            magic = self.buf[:4]
            if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
                self.kind, self.endian = "pcap", "<"
            elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
                self.kind, self.endian = "pcap", ">"
            elif magic == b"\x0a\x0d\x0d\x0a":
                self.kind = "pcapng"
            else:
                self.kind = "raw"
            if self.kind == "pcap":
                if len(self.buf) < 24:
                    self.kind = None if not final else "raw"
                    if self.kind is None:
                        return
                else:
                    self.tsdiv = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
                    self.linktype = struct.unpack(self.endian + "I", self.buf[20:24])[0] & 0xFFFF
                    self._drop(24)
        if self.kind == "raw":
            if self.raw_blocks:
                yield from self._records(self._raw_check, self._raw_record, final)
            elif self.buf:  # no frames to find in it: counted once, at the end, unheld
                if self.skip_from < 0:
                    self.skip_from, self.skip_head = self.base, self.buf[:64]
                self._drop(len(self.buf))
            if final and self.skip_from >= 0 and not self.raw_blocks:
                where = f"{self.source}:@0 ({self.base} bytes)"
                self.rejects.reject(f"{self.fmt}.not_a_capture", where, self.skip_head)
                self.skip_from = -1
        elif self.kind == "pcap":
            yield from self._records(self._pcap_check, self._pcap_record, final)
        else:
            yield from self._records(self._pcapng_check, self._pcapng_record, final)
        if final:
            self._resynced()
            if self.buf:
                self.rejects.reject(
                    f"{self.fmt}.truncated_capture", f"{self.source}:@{self.base}", self.buf[:64]
                )
                self._drop(len(self.buf))

    def _drop(self, n: int) -> None:
        self.buf = self.buf[n:]
        self.base += n

    def _records(self, check: Any, record: Any, final: bool) -> Iterator[Any]:
        """Walk records; `check(p)` is the length of a plausible record at p, 0 if none
        can start there, -1 if more bytes are needed to tell."""
        p = 0
        buf = self.buf
        step = 4 if self.kind == "pcapng" else 1
        while True:
            n = check(p)
            if n < 0:  # need more bytes
                if final and self.skip_from >= 0:  # the rest is part of the skipped run
                    p = len(buf)
                break
            if n == 0:  # not a record: skip forward (counted once when back in step)
                if self.skip_from < 0:
                    self.skip_from, self.skip_head = self.base + p, buf[p : p + 64]
                p = self._next_plausible(p + step)
                continue
            if self.skip_from >= 0:
                self._drop(p)
                buf, p = self.buf, 0
                self._resynced()
            out = record(p, n)
            if out is not None:
                yield out
            p += n
        self._drop(p)

    def _next_plausible(self, p: int) -> int:
        """The first offset from p (within a window) whose header could be right, by the
        same tests as the checks below, in NumPy: junk is skipped at array speed. The
        exact check still runs there; only offsets that cannot pass are jumped over."""
        win = np.frombuffer(self.buf, np.uint8)[p : p + (1 << 16) + 16]
        e = "little" if self.endian == "<" else "big"

        def u32(at: int, n: int, stride: int = 1) -> np.ndarray:
            parts = [win[at + k : at + k + (n - 1) * stride + 1 : stride].astype(np.int64)
                     for k in range(4)]  # fmt: skip
            if e == "big":
                parts.reverse()
            return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24

        if self.kind == "pcap":
            n = len(win) - 15
            if n <= 0:
                return p
            incl, orig, frac = u32(8, n), u32(12, n), u32(4, n)
            ok = (incl > 0) & (incl <= self.MAX_RECORD) & (incl <= orig) & (frac < self.tsdiv)
            if self.last_sec is not None:
                ok &= np.abs(u32(0, n) - self.last_sec) <= 30 * 86400
            step = 1
        elif self.kind == "pcapng":
            n = (len(win) - 8) // 4
            if n <= 0:
                return p
            btype, blen = u32(0, n, 4), u32(4, n, 4)
            ok = (btype == 0x0A0D0D0A) | ((btype >= 1) & (btype <= 10))
            ok &= ((blen >= 12) & (blen % 4 == 0) & (blen <= 1 << 20)) | (btype == 0x0A0D0D0A)
            step = 4
        else:
            n = len(win) - 2
            if n <= 0:
                return p
            ln = win[1 : 1 + n].astype(np.int64) << 8 | win[2 : 2 + n]
            ok = (win[:n] != 0) & (ln >= 4)
            step = 1
        hit = np.flatnonzero(ok)
        return p + step * (int(hit[0]) if len(hit) else n)

    def _resynced(self) -> None:
        if self.skip_from >= 0:
            skipped = self.base - self.skip_from
            where = f"{self.source}:@{self.skip_from} ({skipped} bytes skipped)"
            self.rejects.reject(f"{self.fmt}.capture_resync", where, self.skip_head)
            self.skip_from = -1

    # pcap: 16-byte record headers
    def _pcap_check(self, p: int) -> int:
        if len(self.buf) - p < 16:
            return -1
        sec, frac, incl, orig = struct.unpack_from(self.endian + "IIII", self.buf, p)
        if not (0 < incl <= self.MAX_RECORD and incl <= orig and frac < self.tsdiv):
            return 0
        if self.last_sec is not None and abs(sec - self.last_sec) > 30 * 86400:
            return 0
        if len(self.buf) - p < 16 + incl:
            return -1
        return 16 + incl

    def _pcap_record(self, p: int, n: int) -> tuple[float, int, bytes, int]:
        sec, frac = struct.unpack_from(self.endian + "II", self.buf, p)
        self.last_sec = sec
        return sec + frac / self.tsdiv, self.linktype, self.buf[p + 16 : p + n], self.base + p + 16

    # pcapng: blocks with their length at both ends
    def _pcapng_check(self, p: int) -> int:
        if len(self.buf) - p < 12:
            return -1
        btype = struct.unpack_from(self.endian + "I", self.buf, p)[0]
        endian = self.endian
        if btype == 0x0A0D0D0A:
            endian = "<" if self.buf[p + 8 : p + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        elif btype not in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10):
            return 0
        blen = struct.unpack_from(endian + "I", self.buf, p + 4)[0]
        if blen < 12 or blen % 4 or blen > 1 << 20:
            return 0
        if len(self.buf) - p < blen:
            return -1
        if struct.unpack_from(endian + "I", self.buf, p + blen - 4)[0] != blen:
            return 0
        return blen

    def _pcapng_record(self, p: int, blen: int) -> tuple[float, int, bytes, int] | None:
        btype = struct.unpack_from(self.endian + "I", self.buf, p)[0]
        if btype == 0x0A0D0D0A:
            self.endian = "<" if self.buf[p + 8 : p + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            self.ifaces = []
            btype = 0x0A0D0D0A
        body = self.buf[p + 8 : p + blen - 4]
        if btype == 1 and len(body) >= 8:  # interface description
            link = struct.unpack(self.endian + "H", body[:2])[0]
            self.ifaces.append((link, self._tsresol(body[8:])))
        elif btype == 6 and (len(body) < 20 or struct.unpack_from(self.endian + "I", body, 12)[0]
                             > len(body) - 20):  # fmt: skip
            self.rejects.reject(f"{self.fmt}.truncated_packet", f"{self.source}:@{self.base + p}",
                                body[:64])  # fmt: skip
        elif btype == 6:  # enhanced packet
            iface, hi, lo, cap = struct.unpack(self.endian + "IIII", body[:16])
            link, div = self.ifaces[iface] if iface < len(self.ifaces) else (1, 1e6)
            return ((hi << 32) | lo) / div, link, body[20 : 20 + cap], self.base + p + 28
        elif btype == 3 and len(body) >= 4:  # simple packet
            link, _ = self.ifaces[0] if self.ifaces else (1, 1e6)
            return np.nan, link, body[4:], self.base + p + 12
        return None

    # raw ASTERIX: data blocks of CAT (1 byte) and LEN (2 bytes, the whole block)
    def _raw_check(self, p: int) -> int:
        if len(self.buf) - p < 3:
            return -1
        ln = int.from_bytes(self.buf[p + 1 : p + 3], "big")
        if ln < 4 or self.buf[p] == 0:
            return 0
        return ln if len(self.buf) - p >= ln else -1

    def _raw_record(self, p: int, n: int) -> tuple[float, int, bytes, int]:
        return np.nan, -1, self.buf[p : p + n], self.base + p

    def _tsresol(self, opts: bytes) -> float:
        p = 0
        while p + 4 <= len(opts):
            code, ln = struct.unpack(self.endian + "HH", opts[p : p + 4])
            if code == 0:
                break
            if code == 9 and ln >= 1:
                v = opts[p + 4]
                return float(2 ** (v & 0x7F)) if v & 0x80 else 10.0**v
            p += 4 + ((ln + 3) & ~3)
        return 1e6


def udp_payload(link: int, frame: bytes) -> bytes | None:
    """The UDP payload of an Ethernet / SLL / raw-IP / loopback frame, else None."""
    if link == -1:
        return frame
    if link == 1:  # Ethernet, optional VLAN tags
        p, etype = 14, frame[12:14]
        while etype in (b"\x81\x00", b"\x88\xa8") and len(frame) >= p + 4:
            etype, p = frame[p + 2 : p + 4], p + 4
    elif link == 113:
        p, etype = 16, frame[14:16]
    elif link == 276:
        p, etype = 20, frame[0:2]
    elif link in (101, 12, 14):
        p, etype = 0, b"\x08\x00" if frame[:1] and frame[0] >> 4 == 4 else b"\x86\xdd"
    elif link in (0, 108):
        p, etype = 4, b"\x08\x00" if frame[4:5] and frame[4] >> 4 == 4 else b"\x86\xdd"
    else:
        return None
    if etype == b"\x08\x00" and len(frame) >= p + 20:
        ihl = (frame[p] & 0x0F) * 4
        if frame[p + 9] != 17:
            return None
        total = int.from_bytes(frame[p + 2 : p + 4], "big")
        udp = frame[p + ihl : p + total] if total else frame[p + ihl :]
    elif etype == b"\x86\xdd" and len(frame) >= p + 40:
        if frame[p + 6] != 17:
            return None
        udp = frame[p + 40 :]
    else:
        return None
    return udp[8:] if len(udp) >= 8 else None


# ---- decoder -------------------------------------------------------------------------
class AsterixDecoder:
    """ASTERIX plots from pcap(ng) or a raw block stream; see the module docstring.

    `clock` (a `Clock` or any callable giving unix time) or `start_time` dates a raw
    stream, whose records carry only the time of day: live the arrival time, in replay
    the recording's start. Without either, raw plots are rejected as `asterix.no_time`.
    """

    def __init__(self, rejects: Rejects, source: str, clock: Callable[[], float] | None = None,
                 start_time: float | None = None, **_: object) -> None:  # fmt: skip
        self.rejects = rejects
        self.source = source
        self.clock = clock
        self.start_time = start_time
        self.cap = CaptureStream(rejects, source, NAME, raw_blocks=True)
        self.sites = dict(RADAR_SITES)
        self.pending = _Plots()
        self.buf = b""  # the bytes the pending offsets point into
        self.max_pending = 200_000

    def feed(self, data: bytes) -> Decoded:
        return self._run(self.cap.feed(data))

    def flush(self) -> Decoded:
        out = self._run(self.cap.feed(b"", final=True), final=True)
        return out

    def _clock_time(self) -> float:
        """The time a raw block is dated by: the clock's, the start time, or NaN."""
        if self.clock is not None:
            t = float(self.clock())
            if math.isfinite(t):
                return t
        return float(self.start_time) if self.start_time is not None else math.nan

    def _run(self, frames: Iterator[tuple[float, int, bytes, int]], final: bool = False) -> Decoded:
        plots = _Plots()
        chunks: list[bytes] = []
        base = 0
        for ts, link, frame, off in frames:
            payload = udp_payload(link, frame)
            if payload is None:
                self.rejects.reject(f"{NAME}.not_udp", f"{self.source}:@{off}", frame[:64])
                continue
            poff = off + len(frame) - len(payload)
            ref = ts if np.isfinite(ts) else self._clock_time()
            self._blocks(payload, poff, base, ts, ref, plots)
            chunks.append(payload)
            base += len(payload)
        buf = self.buf + b"".join(chunks)
        if self.pending.n:  # earlier plots waiting for their radar's site
            plots = _merge(self.pending, plots, len(self.buf))
        else:
            buf = b"".join(chunks)
        self.pending, self.buf = _Plots(), b""
        return self._decode(np.frombuffer(buf, np.uint8), plots, final)

    def _blocks(
        self, pl: bytes, poff: int, base: int, ts: float, ref: float, plots: _Plots
    ) -> None:
        p = 0
        while p < len(pl):
            where = f"{self.source}:@{poff + p}"
            if len(pl) - p < 3:
                self.rejects.reject(f"{NAME}.truncated", where, pl[p:])
                return
            cat, ln = pl[p], int.from_bytes(pl[p + 1 : p + 3], "big")
            if ln < 3 or p + ln > len(pl):
                self.rejects.reject(f"{NAME}.truncated", where, pl[p:])
                return
            if cat in (48, 34):
                self._records(pl, p + 3, p + ln, cat, poff, base, ts, ref, plots)
            else:
                self.rejects.reject(f"{NAME}.unsupported_category", where, pl[p : p + ln])
            p += ln

    def _records(
        self, pl: bytes, p: int, end: int, cat: int, poff: int, base: int, ts: float,
        ref: float, plots: _Plots,
    ) -> None:  # fmt: skip
        uap = _UAP48 if cat == 48 else _UAP34
        while p < end:
            try:
                items, nxt = _walk(pl, p, end, uap)
            except Truncated:
                self.rejects.reject(f"{NAME}.truncated", f"{self.source}:@{poff + p}", pl[p:end])
                return
            if cat == 34:
                self._service(pl, items)
                self.rejects.accept(1)
            elif 1 not in items or 4 not in items:
                self.rejects.reject(f"{NAME}.no_position", f"{self.source}:@{poff + p}", pl[p:nxt])
            else:
                plots.add({k: v + base for k, v in items.items()}, ref, poff + p)
            p = nxt

    def _service(self, pl: bytes, items: dict[int, int]) -> None:
        """CAT034: learn the radar's position from I034/120."""
        if 1 in items and 11 in items:
            sac, sic = pl[items[1]], pl[items[1] + 1]
            q = items[11]
            h = int.from_bytes(pl[q : q + 2], "big", signed=True)
            lat = int.from_bytes(pl[q + 2 : q + 5], "big", signed=True) * 180.0 / (1 << 23)
            lon = int.from_bytes(pl[q + 5 : q + 8], "big", signed=True) * 180.0 / (1 << 23)
            self.sites[(sac, sic)] = (lat, lon, float(h))

    def _decode(self, b: np.ndarray, pl: _Plots, final: bool) -> Decoded:
        if pl.n == 0:
            return Decoded.empty()
        o = {k: np.asarray(v, np.int64) for k, v in pl.offs.items()}
        sac, sic = b[o[1]].astype(np.int64), b[o[1] + 1].astype(np.int64)
        sitekey = sac * 256 + sic
        known = np.isin(sitekey, np.array([s * 256 + c for s, c in self.sites] or [-1]))
        if not known.all():
            wait = ~known
            if final or pl.n > self.max_pending:
                for i in np.flatnonzero(wait):
                    where = f"{self.source}:@{pl.where[i]}"
                    self.rejects.reject(f"{NAME}.unknown_site", where)
            else:  # keep them (and the bytes) until a CAT034 tells us where the radar is
                self.pending = _select(pl, wait)
                self.buf = b.tobytes()
            pl, o, sac, sic, sitekey = (
                _select(pl, known), {k: v[known] for k, v in o.items()},
                sac[known], sic[known], sitekey[known],
            )  # fmt: skip
        n = pl.n
        if n == 0:
            return Decoded.empty()

        def u(frn: int, at: int, size: int) -> tuple[np.ndarray, np.ndarray]:
            off = o[frn]
            has = off >= 0
            v = np.zeros(n, np.int64)
            for k in range(size):
                v = (v << 8) | b[np.where(has, off + at + k, 0)].astype(np.int64)
            return v, has

        tod, has_t = u(2, 0, 3)
        ref = np.asarray(pl.ref, dtype=np.float64)
        t = np.floor(ref / 86400.0) * 86400.0 + tod / 128.0  # time of day on ref's date...
        t = np.where(t - ref > 43200, t - 86400, np.where(t - ref < -43200, t + 86400, t))
        t = np.where(has_t, t, np.nan)  # ...the one nearest ref (midnight either side)
        timed = np.isfinite(t)
        rho, _ = u(4, 0, 2)
        theta, _ = u(4, 2, 2)
        rng_m = rho / 256.0 * NM
        az = theta * (360.0 / 65536.0)
        fl, has_fl = u(6, 0, 2)
        fl = np.where(fl & 0x2000, (fl & 0x3FFF) - 0x4000, fl & 0x3FFF) / 4.0
        alt = np.where(has_fl, fl * 100.0 * FT, np.nan)
        site = np.array([self.sites[(int(a), int(c))] for a, c in zip(sac, sic, strict=True)])
        hr = site[:, 2]
        ht = np.where(has_fl, alt, hr)
        ra, rb = EARTH_R + hr, EARTH_R + ht
        cosg = np.clip((ra * ra + rb * rb - rng_m * rng_m) / (2 * ra * rb), -1.0, 1.0)
        lat, lon = destination(site[:, 0], site[:, 1], az, EARTH_R * np.arccos(cosg))
        m3a, has_a = u(5, 0, 2)
        c = m3a & 0x0FFF
        squawk = (c >> 9 & 7) * 1000 + (c >> 6 & 7) * 100 + (c >> 3 & 7) * 10 + (c & 7)
        addr, has_addr = u(8, 0, 3)
        gs, has_v = u(13, 0, 2)
        hdg, _ = u(13, 2, 2)
        subject = np.where(has_addr, key(Namespace.ICAO, addr), -1)
        names = [f"asterix:{int(a)}/{int(c)}" for a, c in zip(sac, sic, strict=True)]
        source = np.array([SOURCES.code(s) for s in names], np.uint16)
        reports = Reports.build(
            n,
            time=t,
            domain=Domain.AIR,
            kind=np.where(has_addr, Kind.POSITION, Kind.PLOT),
            source=source,
            subject=subject,
            lat=lat,
            lon=lon,
            alt=alt,
            speed=np.where(has_v, gs * NM / 16384.0, np.nan),
            course=np.where(has_v, hdg * (360.0 / 65536.0), np.nan),
            squawk=np.where(has_a & ~(m3a & 0x8000).astype(bool), squawk, -1),
            msg=48,
            raw=np.asarray(pl.where),
        )
        if not timed.all():  # no I048/140, or a raw stream with no clock to date it
            for i in np.flatnonzero(~timed).tolist():
                self.rejects.reject(f"{NAME}.no_time", f"{self.source}:@{pl.where[i]}")
            reports = reports.where(timed)
        self.rejects.accept(len(reports))
        return Decoded(reports, self._callsigns(b, o[9], t, np.where(timed, subject, -1)))

    @staticmethod
    def _callsigns(b: np.ndarray, off: np.ndarray, t: np.ndarray, subj: np.ndarray) -> list[Static]:
        out = []
        for i in np.flatnonzero((off >= 0) & (subj >= 0)):  # a few per aircraft per scan
            bits = int.from_bytes(b[off[i] : off[i] + 6].tobytes(), "big")
            chars = [(bits >> (42 - 6 * k)) & 0x3F for k in range(8)]
            text = clean_text("".join(_IA5[ch] for ch in chars), 8)
            if text and "#" not in text:  # '#': not an IA-5 character, an empty field
                out.append(Static(float(t[i]), int(subj[i]), {"callsign": text}))
        return out


_IA5 = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def _select(pl: _Plots, mask: np.ndarray) -> _Plots:
    idx = np.flatnonzero(mask).tolist()
    out = _Plots()
    out.offs = {k: [v[i] for i in idx] for k, v in pl.offs.items()}
    out.ref = [pl.ref[i] for i in idx]
    out.where = [pl.where[i] for i in idx]
    out.n = len(idx)
    return out


def _merge(old: _Plots, new: _Plots, shift: int) -> _Plots:
    """Pending plots first (offsets into the old bytes), then new ones moved by `shift`."""
    out = _Plots()
    for k in set(old.offs) | set(new.offs):
        a = old.offs.get(k, [-1] * old.n)
        bb = [v + shift if v >= 0 else -1 for v in new.offs.get(k, [-1] * new.n)]
        out.offs[k] = a + bb
    out.ref = old.ref + new.ref
    out.where = old.where + new.where
    out.n = old.n + new.n
    return out


def _sniff(head: bytes, name: str) -> bool:
    if name.endswith(".ast"):
        return True
    if not (name.endswith((".pcap", ".pcapng", ".cap")) and "asterix" in name):
        return False
    return head[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a")


register(
    Format(
        name=NAME,
        domain="air",
        description="ASTERIX CAT048 radar plots (+ CAT034 radar sites) in pcap/pcapng or raw",
        sniff=_sniff,
        decoder=AsterixDecoder,
        priority=4,
        clockless=True,
    )
)
