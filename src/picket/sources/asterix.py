"""ASTERIX: radar plots (CAT048, with CAT034 service messages), ADS-B reports (CAT021)
and SDPS system tracks (CAT062, with CAT065 status messages). docs/asterix.md.

Input is a pcap or pcapng capture of the UDP feed (the usual way ASTERIX is recorded)
or a raw stream of ASTERIX data blocks. Every record is walked with its category's full
UAP (`picket.sources.asterix_uap`), so items picket does not use are skipped exactly.

CAT048 plots are placed on WGS84 from their polar position (I048/040) and the radar's
site: from the `sites` argument (picket.toml ``[asterix] sites``, ``--radar-site``) or
from CAT034 I034/120 in the same feed. Plots of a radar nothing locates are held until
a site arrives, then rejected at the end (``asterix.unknown_site``) rather than guessed.
Slant range becomes ground distance on a sphere using the plot's flight level (or the
radar's own height when there is none).

Times of day (I048/140, I021/073-074 or 071, I062/070) are placed on the day nearest the
capture record's time; a raw stream has no date of its own, so the format is `clockless`:
the decoder takes a `clock` (arrival time live, start time in replay) and rejects records
it cannot date as `asterix.no_time` rather than putting them in 1970.

Subjects: a Mode S address (I048/220, I021/080 with an ICAO address type, I062/380 ADR)
makes an identified `icao:` report; a CAT062 track without one is its system track
``sdps:SAC/SIC/TRACK``; other CAT048 plots and CAT021 reports with non-ICAO addresses are
anonymous `Kind.PLOT` for the plot tracker. The sensor (``source``) is ``asterix:SAC/SIC``.
Callsigns and emitter categories are `Static` facts, sent when they change.

A raw stream is cut into data blocks by their length field, so a block split across
reads is whole again; a corrupt capture record costs that record (see `CaptureStream`).
Records are walked one at a time to find where each item sits, then every field is
extracted for the whole batch at once with NumPy.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.geo.geodesy import destination
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key, systrack_number
from picket.model.text import clean_text
from picket.sources.asterix_uap import SUB, UAP62_017, UAPS, Truncated, walk
from picket.sources.registry import Format, register

NAME = "asterix"
EARTH_R = 6_371_008.8
FT = 0.3048
NM = 1852.0
FPM = FT / 60.0  # ft/min in m/s

Site = tuple[float, float, float]  # lat, lon deg WGS84, height m
SITE_KEYS = ("sac", "sic", "lat", "lon", "height_m")


def _check_site(sac: Any, sic: Any, lat: Any, lon: Any, h: Any,
                what: str) -> tuple[tuple[int, int], Site]:  # fmt: skip
    try:
        sac_i, sic_i = int(sac), int(sic)
        la, lo, hm = float(lat), float(lon), float(h)
    except (TypeError, ValueError):
        raise ValueError(f"radar site {what}: sac, sic are integers; lat, lon, height_m "
                         "numbers") from None  # fmt: skip
    if sac_i != sac or sic_i != sic or not (0 <= sac_i <= 255 and 0 <= sic_i <= 255):
        raise ValueError(f"radar site {what}: SAC and SIC are integers 0..255")
    if not (-90 <= la <= 90 and -180 <= lo <= 180 and -500 <= hm <= 10_000):
        raise ValueError(f"radar site {what}: lat -90..90, lon -180..180, height_m "
                         "-500..10000 (metres above the ellipsoid)")  # fmt: skip
    return (sac_i, sic_i), (la, lo, hm)


def parse_site(text: str) -> tuple[tuple[int, int], Site]:
    """``SAC/SIC:LAT,LON,HEIGHT_M`` (the ``--radar-site`` form) as ((sac, sic), site)."""
    ident, _, pos = text.partition(":")
    a, _, b = ident.partition("/")
    parts = pos.split(",")
    if len(parts) != 3 or not a.strip().isdigit() or not b.strip().isdigit():
        raise ValueError(f"radar site {text!r}: expected SAC/SIC:LAT,LON,HEIGHT_M, "
                         "e.g. 25/13:45.81,15.97,120")  # fmt: skip
    return _check_site(int(a), int(b), *parts, what=repr(text))


def site_table(entries: Mapping[Any, Any] | Iterable[Any] | None) -> dict[tuple[int, int], Site]:
    """Radar sites from config tables (``{sac, sic, lat, lon, height_m}``), ``--radar-site``
    strings, or a ready ``{(sac, sic): (lat, lon, height_m)}``; raises ValueError."""
    out: dict[tuple[int, int], Site] = {}
    if entries is None:
        return out
    if isinstance(entries, Mapping):
        for (sac, sic), (lat, lon, h) in entries.items():
            k, v = _check_site(sac, sic, lat, lon, h, f"{sac}/{sic}")
            out[k] = v
        return out
    for i, e in enumerate(entries):
        if isinstance(e, str):
            k, v = parse_site(e)
        elif isinstance(e, Mapping):
            missing = [x for x in SITE_KEYS if x not in e]
            extra = sorted(set(e) - set(SITE_KEYS))
            if missing or extra:
                raise ValueError(f"radar site [{i}]: missing {missing}, unknown {extra}; "
                                 f"keys: {', '.join(SITE_KEYS)}")  # fmt: skip
            k, v = _check_site(*(e[x] for x in SITE_KEYS), what=f"[{i}]")
        else:
            raise ValueError(f"radar site [{i}]: a table {{sac, sic, lat, lon, height_m}}")
        out[k] = v
    return out


OLD62 = 620  # our key for CAT062 records of edition 0.17

# item offsets kept per record for the columnar decode: FRN (or FRN*SUB + sub-item)
_KEEP = {
    48: (1, 2, 4, 5, 6, 8, 9, 13),
    # 010 040 071 130 131 080 073 074 090 210 070 145 200 155 157 160 170 020
    21: (1, 2, 5, 6, 7, 11, 12, 13, 17, 18, 19, 21, 23, 24, 25, 26, 29, 30),
    # 010 070 105 185 060 245 040 136 135 220 380/ADR 380/ID
    62: (1, 4, 5, 7, 9, 10, 12, 17, 19, 20, 11 * SUB + 1, 11 * SUB + 2),
    # CAT062 edition 0.17: 010 070 040 105 060 136 180 220 380/ADR 380/ID 390/CSN
    OLD62: (1, 3, 4, 5, 7, 10, 11, 13, 19 * SUB + 2, 19 * SUB + 3, 21 * SUB + 2),
}
_POSITION = {48: 4, 62: 5}  # the item without which a record is no use (CAT021: decode)
_COMPOUND = {62: (11,), OLD62: (19, 21)}  # compound items whose sub-items are wanted
# CAT062 item FRNs by edition: 1.1x, 0.17
_F62 = {62: {"tod": 4, "pos": 5, "m3a": 9, "tn": 12, "fl": 17, "roc": 20, "adr": 11 * SUB + 1,
             "id": 11 * SUB + 2},
        OLD62: {"tod": 3, "pos": 5, "m3a": 7, "tn": 4, "fl": 10, "roc": 13, "adr": 19 * SUB + 2,
                "id": 19 * SUB + 3}}  # fmt: skip


@dataclass
class _Recs:
    """Item offsets of one category's records, gathered before the columnar decode."""

    keys: tuple[int, ...] = ()
    offs: dict[int, list[int]] = field(default_factory=dict)  # key -> per-record offset or -1
    ref: list[float] = field(default_factory=list)  # capture or clock time: dates the record
    where: list[int] = field(default_factory=list)
    n: int = 0

    def add(self, items: dict[int, int], base: int, ref: float, where: int) -> None:
        offs = self.offs
        for k in self.keys:
            col = offs.get(k)
            if col is None:  # (not setdefault: its default list would be built every call)
                col = offs[k] = [-1] * self.n
            v = items.get(k, -1)
            col.append(v + base if v >= 0 else -1)
        self.ref.append(ref)
        self.where.append(where)
        self.n += 1

    def arrays(self) -> dict[int, np.ndarray]:
        return {k: np.asarray(self.offs.get(k, [-1] * self.n), np.int64) for k in self.keys}


def _u(b: np.ndarray, off: np.ndarray, at: int, size: int, signed: bool = False) -> np.ndarray:
    """Big-endian unsigned (or two's complement) integers of `size` octets at off + at,
    for every record at once; 0 where the item is absent (off < 0)."""
    idx = np.where(off >= 0, off + at, 0)
    v = np.zeros(len(off), np.int64)
    last = len(b) - 1  # an extension octet read for every record, used only where present
    for k in range(size):
        v = (v << 8) | b[np.minimum(idx + k, last)].astype(np.int64)
    if signed:
        bits = 8 * size
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    return v


def _signed(v: np.ndarray, bits: int) -> np.ndarray:
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def _dated(tod: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Seconds since midnight on the day nearest `ref` (midnight either side); NaN stays,
    and a time of day past the day's end (a wrong edition, damage) becomes NaN."""
    tod = np.where((tod >= 0) & (tod < 86401), tod, np.nan)  # 86400.x: I021/074 rounding
    t = np.floor(ref / 86400.0) * 86400.0 + tod
    return np.where(t - ref > 43200, t - 86400, np.where(t - ref < -43200, t + 86400, t))


def _squawk(v: np.ndarray) -> np.ndarray:
    c = v & 0x0FFF
    return (c >> 9 & 7) * 1000 + (c >> 6 & 7) * 100 + (c >> 3 & 7) * 10 + (c & 7)


def _sensor(sac: np.ndarray, sic: np.ndarray) -> np.ndarray:
    k = sac * 256 + sic
    uniq, inv = np.unique(k, return_inverse=True)
    codes = np.array([SOURCES.code(f"asterix:{int(x) >> 8}/{int(x) & 255}") for x in uniq],
                     np.uint16)  # fmt: skip
    return codes[inv]


# I021/020 emitter category -> the ADS-B (DO-260B) category set and code, as Mode S gives it
_ECAT = {1: "A1", 2: "A2", 3: "A3", 4: "A4", 5: "A5", 6: "A6", 10: "A7", 11: "B1", 12: "B2",
         13: "B6", 14: "B7", 15: "B4", 16: "B3", 20: "C1", 21: "C2", 22: "C3", 23: "C4",
         24: "C5"}  # fmt: skip
_IA5 = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"


def callsign(bits: int) -> str | None:
    """Eight 6-bit ICAO characters (48 bits) as text; None where a character is invalid."""
    chars = "".join(_IA5[(bits >> (42 - 6 * k)) & 0x3F] for k in range(8))
    text = clean_text(chars, 8)
    return text if text and "#" not in text else None


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
_CAT034_MESSAGES = {1: "north marker", 2: "sector crossing", 3: "geographical filtering",
                    4: "jamming strobe", 5: "solar storm", 6: "SSR jamming strobe",
                    7: "Mode S jamming strobe"}  # fmt: skip


class AsterixDecoder:
    """ASTERIX from pcap(ng) or a raw block stream; see the module docstring.

    `clock` (a `Clock` or any callable giving unix time) or `start_time` dates a raw
    stream, whose records carry only the time of day: live the arrival time, in replay
    the recording's start. Without either, raw records are rejected as `asterix.no_time`.
    `sites` are the radars' positions (`site_table` forms); a CAT034 I034/120 in the feed
    updates its radar's. `radar_state` holds each radar's latest CAT034 service message.
    """

    def __init__(self, rejects: Rejects, source: str, clock: Callable[[], float] | None = None,
                 start_time: float | None = None, sites: Any = None,
                 **_: object) -> None:  # fmt: skip
        self.rejects = rejects
        self.source = source
        self.clock = clock
        self.start_time = start_time
        self.cap = CaptureStream(rejects, source, NAME, raw_blocks=True)
        self.sites = site_table(sites)
        self.radar_state: dict[tuple[int, int], dict[str, Any]] = {}
        self.pending = _Recs(_KEEP[48])
        self.buf = b""  # the bytes the pending offsets point into
        self.max_pending = 200_000
        self._ident: dict[int, tuple[int, int]] = {}  # subject -> last (callsign bits, category)
        self._plans: dict[int, str] = {}  # subject -> last flight plan callsign (CAT062 0.17)

    def feed(self, data: bytes) -> Decoded:
        return self._run(self.cap.feed(data))

    def flush(self) -> Decoded:
        return self._run(self.cap.feed(b"", final=True), final=True)

    def _clock_time(self) -> float:
        """The time a raw block is dated by: the clock's, the start time, or NaN."""
        if self.clock is not None:
            t = float(self.clock())
            if math.isfinite(t):
                return t
        return float(self.start_time) if self.start_time is not None else math.nan

    def _run(self, frames: Iterator[tuple[float, int, bytes, int]], final: bool = False) -> Decoded:
        recs = {c: _Recs(k) for c, k in _KEEP.items()}
        chunks: list[bytes] = []
        base = 0
        for ts, link, frame, off in frames:
            payload = udp_payload(link, frame)
            if payload is None:
                self.rejects.reject(f"{NAME}.not_udp", f"{self.source}:@{off}", frame[:64])
                continue
            poff = off + len(frame) - len(payload)
            ref = ts if np.isfinite(ts) else self._clock_time()
            self._blocks(payload, poff, base, ref, recs)
            chunks.append(payload)
            base += len(payload)
        new = b"".join(chunks)
        plots = recs[48]
        if self.pending.n:  # earlier plots waiting for their radar's site
            buf = self.buf + new
            plots = _merge(self.pending, plots, len(self.buf))
        else:
            buf = new
        self.pending, self.buf = _Recs(_KEEP[48]), b""
        bn = np.frombuffer(new, np.uint8)
        parts = [self._decode48(np.frombuffer(buf, np.uint8), plots, final),
                 self._decode21(bn, recs[21]), self._decode62(bn, recs[62], 62),
                 self._decode62(bn, recs[OLD62], OLD62)]  # fmt: skip
        parts = [p for p in parts if len(p.reports) or p.statics]
        if not parts:
            return Decoded.empty()
        if len(parts) == 1:
            return parts[0]
        return Decoded(Reports.concat([p.reports for p in parts]),
                       [s for p in parts for s in p.statics])  # fmt: skip

    def _blocks(self, pl: bytes, poff: int, base: int, ref: float,
                recs: dict[int, _Recs]) -> None:  # fmt: skip
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
            if cat in UAPS:
                self._records(pl, p + 3, p + ln, cat, poff, base, ref, recs)
            else:
                self.rejects.reject(f"{NAME}.unsupported_category", where, pl[p : p + ln])
            p += ln

    def _records(self, pl: bytes, p: int, end: int, cat: int, poff: int, base: int,
                 ref: float, recs: dict[int, _Recs]) -> None:  # fmt: skip
        uap, comp = UAPS[cat], _COMPOUND.get(cat, ())
        while p < end:
            try:
                if cat == 62:
                    cat, items, nxt = _walk62(pl, p, end)
                else:
                    items, nxt = walk(pl, p, end, uap, comp)
            except Truncated:
                self.rejects.reject(f"{NAME}.truncated", f"{self.source}:@{poff + p}", pl[p:end])
                return
            if cat == 34:
                self._service(pl, items, ref)
                self.rejects.note_unused("ASTERIX CAT034 radar service messages")
            elif cat == 65:
                self.rejects.note_unused("ASTERIX CAT065 SDPS service messages")
            elif 1 not in items:  # I0xx/010: whose report it is
                self.rejects.reject(f"{NAME}.no_source", f"{self.source}:@{poff + p}", pl[p:nxt])
            elif _POSITION.get(cat, 5 if cat == OLD62 else 1) not in items:
                self.rejects.reject(f"{NAME}.no_position", f"{self.source}:@{poff + p}", pl[p:nxt])
            else:
                recs[cat].add(items, base, ref, poff + p)
            p = nxt
            cat = 62 if cat == OLD62 else cat

    def _service(self, pl: bytes, items: dict[int, int], ref: float) -> None:
        """CAT034: the radar's position (I034/120) and its latest service message."""
        if 1 not in items:
            return
        sac, sic = pl[items[1]], pl[items[1] + 1]
        if 11 in items:
            q = items[11]
            h = int.from_bytes(pl[q : q + 2], "big", signed=True)
            lat = int.from_bytes(pl[q + 2 : q + 5], "big", signed=True) * 180.0 / (1 << 23)
            lon = int.from_bytes(pl[q + 5 : q + 8], "big", signed=True) * 180.0 / (1 << 23)
            self.sites[(sac, sic)] = (lat, lon, float(h))
        st = self.radar_state.setdefault((sac, sic), {"messages": 0})
        st["messages"] += 1
        if 2 in items:
            mt = pl[items[2]]
            st["message"] = _CAT034_MESSAGES.get(mt, f"type {mt}")
        if 4 in items:  # I034/020 sector number: the azimuth the antenna just crossed
            st["sector_deg"] = pl[items[4]] * 360.0 / 256.0
        if 3 in items and math.isfinite(ref):
            t = math.floor(ref / 86400.0) * 86400.0 + int.from_bytes(
                pl[items[3] : items[3] + 3], "big") / 128.0  # as _dated, for one message
            st["time"] = t - 86400 if t - ref > 43200 else t + 86400 if t - ref < -43200 else t

    def _untimed(self, t: np.ndarray, recs: _Recs) -> np.ndarray:
        """Count records without a usable time (`asterix.no_time`); the mask of timed ones."""
        timed = np.isfinite(t)
        for i in np.flatnonzero(~timed).tolist():
            self.rejects.reject(f"{NAME}.no_time", f"{self.source}:@{recs.where[i]}")
        return timed

    # -- CAT048 -----------------------------------------------------------------------
    def _decode48(self, b: np.ndarray, pl: _Recs, final: bool) -> Decoded:
        if pl.n == 0:
            return Decoded.empty()
        o = pl.arrays()
        tod = np.where(o[2] >= 0, _u(b, o[2], 0, 3) / 128.0, np.nan)
        t = _dated(tod, np.asarray(pl.ref, np.float64))
        timed = self._untimed(t, pl)  # no I048/140, or a raw stream with no clock to date it
        if not timed.all():
            pl, t = _select(pl, timed), t[timed]
            o = pl.arrays()
        sac, sic = _u(b, o[1], 0, 1), _u(b, o[1], 1, 1)
        sitekey = sac * 256 + sic
        known = np.isin(sitekey, np.array([s * 256 + c for s, c in self.sites] or [-1]))
        if not known.all():
            wait = ~known
            if final or pl.n > self.max_pending:
                for i in np.flatnonzero(wait):
                    self.rejects.reject(f"{NAME}.unknown_site", f"{self.source}:@{pl.where[i]}")
            else:  # keep them (and the bytes) until a CAT034 tells us where the radar is
                self.pending = _select(pl, wait)
                self.buf = b.tobytes()
            pl, t = _select(pl, known), t[known]
            o, sac, sic = pl.arrays(), sac[known], sic[known]
        n = pl.n
        if n == 0:
            return Decoded.empty()
        rng_m = _u(b, o[4], 0, 2) / 256.0 * NM
        az = _u(b, o[4], 2, 2) * (360.0 / 65536.0)
        has_fl = o[6] >= 0
        fl = _signed(_u(b, o[6], 0, 2) & 0x3FFF, 14) / 4.0
        alt = np.where(has_fl, fl * 100.0 * FT, np.nan)
        site = np.array([self.sites[(int(a), int(c))] for a, c in zip(sac, sic, strict=True)])
        hr = site[:, 2]
        ht = np.where(has_fl, alt, hr)
        ra, rb = EARTH_R + hr, EARTH_R + ht
        cosg = np.clip((ra * ra + rb * rb - rng_m * rng_m) / (2 * ra * rb), -1.0, 1.0)
        lat, lon = destination(site[:, 0], site[:, 1], az, EARTH_R * np.arccos(cosg))
        m3a = _u(b, o[5], 0, 2)
        has_addr, has_v = o[8] >= 0, o[13] >= 0
        subject = np.where(has_addr, key(Namespace.ICAO, _u(b, o[8], 0, 3)), -1)
        reports = Reports.build(
            n, time=t, domain=Domain.AIR, kind=np.where(has_addr, Kind.POSITION, Kind.PLOT),
            source=_sensor(sac, sic), subject=subject, lat=lat, lon=lon, alt=alt,
            speed=np.where(has_v, _u(b, o[13], 0, 2) * NM / 16384.0, np.nan),
            course=np.where(has_v, _u(b, o[13], 2, 2) * (360.0 / 65536.0), np.nan),
            squawk=np.where((o[5] >= 0) & ~(m3a & 0x8000).astype(bool), _squawk(m3a), -1),
            msg=48, raw=np.asarray(pl.where),
        )  # fmt: skip
        self.rejects.accept(n)
        return Decoded(reports, self._statics(b, t, subject, o[9], 0))

    # -- CAT021 -----------------------------------------------------------------------
    def _decode21(self, b: np.ndarray, r: _Recs) -> Decoded:
        """ADS-B reports (edition 2.x); the address type decides the subject (docs)."""
        if r.n == 0:
            return Decoded.empty()
        o = r.arrays()
        ref = np.asarray(r.ref, np.float64)
        # time of reception of position (I021/073, refined by 074), else applicability (071)
        t73 = _u(b, o[12], 0, 3) / 128.0
        hp = _u(b, o[13], 0, 4)
        fsi, frac = hp >> 30, (hp & 0x3FFFFFFF) / float(1 << 30)
        sec = np.floor(t73) + np.where(fsi == 1, 1, np.where(fsi == 2, -1, 0))
        t73 = np.where((o[13] >= 0) & (fsi != 3), sec + frac, t73)
        tod = np.where(o[12] >= 0, t73, np.where(o[5] >= 0, _u(b, o[5], 0, 3) / 128.0, np.nan))
        t = _dated(tod, ref)
        timed = self._untimed(t, r)
        if not timed.all():
            r, t = _select(r, timed), t[timed]
            o = r.arrays()
        n = r.n
        if n == 0:
            return Decoded.empty()
        trd = _u(b, o[2], 0, 1)
        ext = (o[2] >= 0) & (trd & 1 == 1)
        trd1 = np.where(ext, _u(b, o[2], 1, 1), 0)
        atp = np.where(o[2] >= 0, trd >> 5, 0)  # 0 ICAO, 1 duplicate ICAO, 2 surface, 3 anon.
        icao = (o[11] >= 0) & (atp <= 1)
        subject = np.where(icao, key(Namespace.ICAO, _u(b, o[11], 0, 3)), -1)
        hi, lo = o[7] >= 0, o[6] >= 0
        lat = np.where(hi, _u(b, o[7], 0, 4, True) * (180.0 / (1 << 30)),
                       np.where(lo, _u(b, o[6], 0, 3, True) * (180.0 / (1 << 23)), np.nan))
        lon = np.where(hi, _u(b, o[7], 4, 4, True) * (180.0 / (1 << 30)),
                       np.where(lo, _u(b, o[6], 3, 3, True) * (180.0 / (1 << 23)), np.nan))
        has_pos = (hi | lo) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        lat, lon = np.where(has_pos, lat, np.nan), np.where(has_pos, lon, np.nan)
        keep = has_pos | icao  # an anonymous report without a position says nothing usable
        if not keep.all():
            for i in np.flatnonzero(~keep).tolist():
                self.rejects.reject(f"{NAME}.no_position", f"{self.source}:@{r.where[i]}")
        gv = _u(b, o[26], 0, 2)
        vr = np.where(o[24] >= 0, _u(b, o[24], 0, 2), _u(b, o[25], 0, 2))
        has_vr = (o[24] >= 0) | (o[25] >= 0)
        qi = _u(b, o[17], 0, 1)
        qi1 = np.where((o[17] >= 0) & (qi & 1 == 1), _u(b, o[17], 1, 1), -1)
        kind = np.where(has_pos, np.where(icao, Kind.POSITION, Kind.PLOT),
                        np.where(o[26] >= 0, Kind.VELOCITY, Kind.IDENTITY))  # fmt: skip
        reports = Reports.build(
            n, time=t, domain=Domain.AIR, kind=kind,
            source=_sensor(_u(b, o[1], 0, 1), _u(b, o[1], 1, 1)), subject=subject,
            lat=lat, lon=lon,
            alt=np.where(o[21] >= 0, _u(b, o[21], 0, 2, True) / 4.0 * 100.0 * FT, np.nan),
            speed=np.where(o[26] >= 0, (gv & 0x7FFF) * (NM / 16384.0), np.nan),
            course=np.where(o[26] >= 0, _u(b, o[26], 2, 2) * (360.0 / 65536.0), np.nan),
            vrate=np.where(has_vr, _signed(vr & 0x7FFF, 15) * 6.25 * FPM, np.nan),
            squawk=np.where(o[19] >= 0, _squawk(_u(b, o[19], 0, 2)), -1),
            emergency=np.where(o[23] >= 0, _u(b, o[23], 0, 1) >> 2 & 7, -1),
            nic=np.where(o[17] >= 0, qi >> 1 & 0xF, -1),
            nacp=np.where(qi1 >= 0, qi1 >> 1 & 0xF, -1),
            sil=np.where(qi1 >= 0, qi1 >> 5 & 3, -1),
            version=np.where(o[18] >= 0, _u(b, o[18], 0, 1) >> 3 & 7, -1),
            on_ground=np.where(ext, trd1 >> 6 & 1, -1),
            msg=21, raw=np.asarray(r.where),
        )  # fmt: skip
        if not keep.all():
            reports, t, subject = reports.where(keep), t[keep], subject[keep]
            o = {k: v[keep] for k, v in o.items()}
        self.rejects.accept(len(reports))
        cat = np.where(o[30] >= 0, _u(b, o[30], 0, 1), -1)
        return Decoded(reports, self._statics(b, t, subject, o[29], 0, cat))

    # -- CAT062 -----------------------------------------------------------------------
    def _decode62(self, b: np.ndarray, r: _Recs, ed: int) -> Decoded:
        """SDPS system tracks (edition 1.1x, or 0.17 as `OLD62`): icao: with a Mode S
        address, else sdps:SAC/SIC/TRACK."""
        if r.n == 0:
            return Decoded.empty()
        f = _F62[ed]
        o = r.arrays()
        tod = np.where(o[f["tod"]] >= 0, _u(b, o[f["tod"]], 0, 3) / 128.0, np.nan)
        t = _dated(tod, np.asarray(r.ref, np.float64))
        timed = self._untimed(t, r)
        if not timed.all():
            r, t = _select(r, timed), t[timed]
            o = r.arrays()
        n = r.n
        if n == 0:
            return Decoded.empty()
        sac, sic = _u(b, o[1], 0, 1), _u(b, o[1], 1, 1)
        adr, tn = o[f["adr"]], o[f["tn"]]
        track = systrack_number(sac, sic, _u(b, tn, 0, 2) & (0x7FFF if ed == OLD62 else 0xFFFF))
        subject = np.where(adr >= 0, key(Namespace.ICAO, _u(b, adr, 0, 3)),
                           np.where(tn >= 0, key(Namespace.SYSTRACK, track), -1))  # fmt: skip
        pos = o[f["pos"]]
        if ed == OLD62:  # 24-bit WGS84, polar velocity (I062/180), FL only (I062/136)
            lat = _u(b, pos, 0, 3, True) * (180.0 / (1 << 23))
            lon = _u(b, pos, 3, 3, True) * (180.0 / (1 << 23))
            has_v = o[11] >= 0
            speed = _u(b, o[11], 0, 2) * (NM / 16384.0)
            course = _u(b, o[11], 2, 2) * (360.0 / 65536.0)
            fl = np.where(o[10] >= 0, _u(b, o[10], 0, 2, True) / 4.0, np.nan)
        else:
            lat = _u(b, pos, 0, 4, True) * (180.0 / (1 << 25))
            lon = _u(b, pos, 4, 4, True) * (180.0 / (1 << 25))
            vx, vy = _u(b, o[7], 0, 2, True) * 0.25, _u(b, o[7], 2, 2, True) * 0.25
            has_v = o[7] >= 0
            speed, course = np.hypot(vx, vy), np.degrees(np.arctan2(vx, vy)) % 360.0
            fl = np.where(o[17] >= 0, _u(b, o[17], 0, 2, True) / 4.0,
                          np.where(o[19] >= 0, _signed(_u(b, o[19], 0, 2) & 0x7FFF, 15) / 4.0,
                                   np.nan))  # fmt: skip
        roc, m3a = o[f["roc"]], o[f["m3a"]]
        reports = Reports.build(
            n, time=t, domain=Domain.AIR, kind=np.where(subject >= 0, Kind.POSITION, Kind.PLOT),
            source=_sensor(sac, sic), subject=subject, lat=lat, lon=lon, alt=fl * 100.0 * FT,
            speed=np.where(has_v, speed, np.nan), course=np.where(has_v, course, np.nan),
            vrate=np.where(roc >= 0, _u(b, roc, 0, 2, True) * 6.25 * FPM, np.nan),
            squawk=np.where(m3a >= 0, _squawk(_u(b, m3a, 0, 2)), -1),
            msg=62, raw=np.asarray(r.where),
        )  # fmt: skip
        self.rejects.accept(n)
        # the track's own identification (I062/245, after its STI octet), else the aircraft's
        cs_off = np.where(o[10] >= 0, o[10] + 1, o[f["id"]]) if ed == 62 else o[f["id"]]
        out = self._statics(b, t, subject, cs_off, 0)
        if ed == OLD62:  # no downlinked identification: the flight plan's callsign (ASCII)
            out += self._plan_callsigns(b, t, subject, o[21 * SUB + 2], cs_off)
        return Decoded(reports, out)

    def _plan_callsigns(self, b: np.ndarray, t: np.ndarray, subj: np.ndarray,
                        off: np.ndarray, downlinked: np.ndarray) -> list[Static]:  # fmt: skip
        """I062/390 CSN (seven ASCII characters) where no downlinked identification came,
        once per subject and name."""
        out = []
        for i in np.flatnonzero((off >= 0) & (downlinked < 0) & (subj >= 0)).tolist():
            name = clean_text(b[off[i] : off[i] + 7].tobytes().decode("ascii", "replace"), 8)
            s = int(subj[i])
            if name and name.replace(" ", "").isalnum() and self._plans.get(s) != name:
                self._plans[s] = name
                out.append(Static(float(t[i]), s, {"callsign": name}))
        return out

    # -- identity facts ---------------------------------------------------------------
    def _statics(self, b: np.ndarray, t: np.ndarray, subj: np.ndarray, cs_off: np.ndarray,
                 at: int, cat: np.ndarray | None = None) -> list[Static]:  # fmt: skip
        """Callsign (and emitter category) facts where they change for a subject: Python
        work per distinct (subject, callsign, category) in the batch, not per record."""
        cs = np.where(cs_off >= 0, _u(b, cs_off, at, 6), -1)
        cat = cat if cat is not None else np.full(len(cs), -1, np.int64)
        rows = np.flatnonzero(((cs >= 0) | (cat >= 0)) & (subj >= 0))
        if not len(rows):
            return []
        trip = np.stack([subj[rows], cs[rows], cat[rows]], axis=1)
        _, first = np.unique(trip, axis=0, return_index=True)
        out = []
        if len(self._ident) > 100_000:  # a bound: forgetting costs one repeated fact
            self._ident.clear()
        for i in sorted(rows[first].tolist()):
            s, c, e = int(subj[i]), int(cs[i]), int(cat[i])
            if self._ident.get(s) == (c, e):
                continue
            self._ident[s] = (c, e)
            fields: dict[str, Any] = {}
            name = callsign(c) if c >= 0 else None
            if name:
                fields["callsign"] = name
            if e in _ECAT:
                fields["category"] = _ECAT[e]
            if fields:
                out.append(Static(float(t[i]), s, fields))
        return out


def _walk62(pl: bytes, p: int, end: int) -> tuple[int, dict[int, int], int]:
    """A CAT062 record by edition 1.1x, else 0.17: the edition whose walk succeeds and
    whose time of day and WGS84 position are possible (the two cannot be told apart by
    any field; a wrong edition's time runs past midnight or its latitude past 90)."""
    for ed, uap, tod_frn, size in ((62, UAPS[62], 4, 4), (OLD62, UAP62_017, 3, 3)):
        try:
            items, nxt = walk(pl, p, end, uap, _COMPOUND[ed])
        except Truncated:
            continue
        q = items.get(tod_frn)
        if q is not None and int.from_bytes(pl[q : q + 3], "big") >= 86400 * 128:
            continue
        q = items.get(5)
        if q is not None:
            lsb = 180.0 / (1 << (8 * size + 1))  # 180/2^25 in 1.1x, 180/2^23 in 0.17
            lat = int.from_bytes(pl[q : q + size], "big", signed=True) * lsb
            lon = int.from_bytes(pl[q + size : q + 2 * size], "big", signed=True) * lsb
            if abs(lat) > 90 or abs(lon) > 180:
                continue
        return ed, items, nxt
    raise Truncated


def _select(pl: _Recs, mask: np.ndarray) -> _Recs:
    idx = np.flatnonzero(mask).tolist()
    out = _Recs(pl.keys)
    out.offs = {k: [v[i] for i in idx] for k, v in pl.offs.items()}
    out.ref = [pl.ref[i] for i in idx]
    out.where = [pl.where[i] for i in idx]
    out.n = len(idx)
    return out


def _merge(old: _Recs, new: _Recs, shift: int) -> _Recs:
    """Pending plots first (offsets into the old bytes), then new ones moved by `shift`."""
    out = _Recs(old.keys)
    for k in old.keys:
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
        description="ASTERIX CAT048 radar plots (+ CAT034), CAT021 ADS-B, CAT062 system "
        "tracks (+ CAT065) in pcap/pcapng or raw",
        sniff=_sniff,
        decoder=AsterixDecoder,
        priority=4,
        clockless=True,
    )
)
