"""Cursor on Target in: markers and tracks from TAK clients and servers join the picture.

Accepts what TAK speaks on its ports: CoT XML events (one after another, as on TAK
Server's plain TCP input or a saved log), TAK protocol v1 streaming frames (0xbf,
varint length, protobuf) and mesh datagrams (0xbf 0x01 0xbf, protobuf; one per UDP
datagram). The first byte of a connection tells which.

Each event with a point becomes a position report in its own namespace (`cot:` and
48 bits of the uid's BLAKE2 hash, stable across processes and machines), its uid,
callsign and CoT type a static fact. The domain follows the CoT type's battle
dimension (a-?-A air, a-?-S and a-?-U sea, a-?-P space; ground and others none).
Events picket sent itself (uid `picket.*`, echoed by a TAK Server) are counted as
unused, never fused again. Drawn shapes (`u-d-*`) are kept as statics with their
points, counted as shapes.

CoT rates are low (a client reports every few seconds), so events are parsed one by
one; the XML parser refuses DOCTYPE and entities (no entity expansion on input from
the network) and an event longer than `MAX_EVENT` bytes is rejected, counted.
"""

from __future__ import annotations

import hashlib
import logging
import math
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text
from picket.sources.registry import Format, register

log = logging.getLogger(__name__)

NAME = "cot"
MAGIC = 0xBF
MESH = b"\xbf\x01\xbf"
MAX_EVENT = 64 * 1024
UNKNOWN_ERR = 9_999_999.0  # CoT's "not known" for hae, ce, le
DIMENSION = {"A": Domain.AIR, "S": Domain.MARITIME, "U": Domain.MARITIME, "P": Domain.SPACE}


def cot_key(uid: str) -> int:
    """A stable 48-bit subject key for a CoT uid (the same on every machine)."""
    n = int.from_bytes(hashlib.blake2b(uid.encode(), digest_size=6).digest(), "big")
    return int(key(Namespace.COT, n))


def domain_of(cot_type: str) -> int:
    parts = cot_type.split("-")
    if len(parts) >= 3 and parts[0] == "a":
        return int(DIMENSION.get(parts[2], Domain.NONE))
    return int(Domain.NONE)


def _time(s: str | None) -> float:
    if not s:
        return math.nan
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.nan


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return math.nan if not math.isfinite(x) or x >= UNKNOWN_ERR else x


class CotDecoder:
    """Incremental decoder for CoT XML, TAK stream frames and TAK mesh datagrams."""

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.rejects, self.source = rejects, source
        self.source_code = SOURCES.code(source)
        self.buf = bytearray()
        self.offset = 0  # stream offset of buf[0]
        self.rows: list[tuple] = []
        self.statics: list[Static] = []

    # framing ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> Decoded:
        self.buf += data
        try:
            while self.buf:
                if self.buf[0] == MAGIC:
                    if not self._binary():
                        break
                elif not self._xml(final=False):
                    break
        except Exception as exc:  # a decoder must never take the feed down: counted, resync
            log.exception("cot decoder, %s at %d", self.source, self.offset)
            self._reject("cot.internal_error", repr(exc).encode()[:256])
            self._take(len(self.buf))
        return self._out()

    def flush(self) -> Decoded:
        if self.buf.strip():
            if self.buf[0] != MAGIC:
                self._xml(final=True)
            if self.buf.strip():
                self._reject("cot.truncated", bytes(self.buf[:256]))
        self.offset += len(self.buf)
        self.buf.clear()
        return self._out()

    def _take(self, n: int) -> bytes:
        out = bytes(self.buf[:n])
        del self.buf[:n]
        self.offset += n
        return out

    def _binary(self) -> bool:
        """One TAK protocol message off the front; False when more bytes are needed."""
        from takproto import parse_proto

        at = self.offset
        if self.buf[:3] == MESH:  # a datagram: the rest of it is the message
            body = self._take(len(self.buf))[3:]
            msg = _parse(parse_proto, body) or _parse(parse_proto, body.rstrip(b"\n"))
        else:
            n, shift, i = 0, 0, 1
            while True:
                if i >= len(self.buf):
                    return False
                b = self.buf[i]
                n |= (b & 0x7F) << shift
                shift += 7
                i += 1
                if not b & 0x80:
                    break
                if shift > 28:
                    self._reject("cot.bad_frame", self._take(i), at)
                    return True
            if n > MAX_EVENT:
                self._reject("cot.event_too_long", self._take(min(len(self.buf), i)), at)
                return True
            if len(self.buf) < i + n:
                return False
            body = self._take(i + n)[i:]
            msg = _parse(parse_proto, body)
        if msg is None or not msg.HasField("cotEvent"):
            self._reject("cot.bad_protobuf", body[:256], at)
            return True
        ev = msg.cotEvent
        d = ev.detail
        fields = {"uid": ev.uid, "type": ev.type, "time": ev.sendTime / 1000.0,
                  "lat": ev.lat, "lon": ev.lon, "hae": ev.hae, "ce": ev.ce,
                  "callsign": d.contact.callsign if d.HasField("contact") else "",
                  "speed": d.track.speed if d.HasField("track") else math.nan,
                  "course": d.track.course if d.HasField("track") else math.nan,
                  "shape": None}  # fmt: skip
        self._event(fields, at, body)
        return True

    def _xml(self, final: bool) -> bool:
        """One XML event off the front; False when more bytes are needed."""
        start = self.buf.find(b"<event")
        if start < 0:
            if self.buf.lstrip()[:1] not in (b"", b"<") or len(self.buf) > MAX_EVENT:
                self._reject("cot.garbage", self._take(len(self.buf))[:256])
                return True
            if final:
                self._take(len(self.buf))
            return False
        if start > 0:  # an XML declaration, whitespace or junk before the event
            head = self._take(start)
            if b"<!" in head:  # a DOCTYPE with entities: refused, never expanded
                self._reject("cot.doctype", head[:256])
            elif head.strip() and not head.lstrip().startswith(b"<?xml"):
                self._reject("cot.garbage", head[:256])
        end = self.buf.find(b"</event>")
        if end < 0:
            if len(self.buf) > MAX_EVENT:
                self._reject("cot.event_too_long", self._take(len(self.buf))[:256])
                return True
            return False
        at = self.offset
        raw = self._take(end + len(b"</event>"))
        if len(raw) > MAX_EVENT:
            self._reject("cot.event_too_long", raw[:256], at)
            return True
        if b"<!" in raw:  # DOCTYPE, ENTITY, CDATA: not in CoT; refused before parsing
            self._reject("cot.doctype", raw[:256], at)
            return True
        try:
            el = ET.fromstring(raw)
        except ET.ParseError:
            self._reject("cot.bad_xml", raw[:256], at)
            return True
        pt = el.find("point")
        contact = el.find("detail/contact")
        track = el.find("detail/track")
        links = [(_num(x.get("point", ",").split(",")[0]), _num(x.get("point", ",").split(",")[1]))
                 for x in el.findall("detail/link") if x.get("point")]  # fmt: skip
        fields = {"uid": el.get("uid", ""), "type": el.get("type", ""),
                  "time": _time(el.get("time")),
                  "lat": _num(pt.get("lat")) if pt is not None else math.nan,
                  "lon": _num(pt.get("lon")) if pt is not None else math.nan,
                  "hae": _num(pt.get("hae")) if pt is not None else math.nan,
                  "ce": _num(pt.get("ce")) if pt is not None else math.nan,
                  "callsign": contact.get("callsign", "") if contact is not None else "",
                  "speed": _num(track.get("speed")) if track is not None else math.nan,
                  "course": _num(track.get("course")) if track is not None else math.nan,
                  "shape": links or None}  # fmt: skip
        self._event(fields, at, raw)
        return True

    # events -------------------------------------------------------------------------------
    def _event(self, f: dict[str, Any], at: int, raw: bytes) -> None:
        uid = clean_text(f["uid"], 256)
        if not uid:
            self._reject("cot.no_uid", raw[:256], at)
            return
        if uid.startswith("picket."):  # our own output, echoed back by a server
            self.rejects.note_unused("cot.own_echo")
            return
        t = f["time"]
        if not math.isfinite(t):
            self._reject("cot.bad_time", raw[:256], at)
            return
        cot_type = clean_text(f["type"], 64)
        subject = cot_key(uid)
        st: dict[str, Any] = {"uid": uid, "cot_type": cot_type}
        cs = clean_text(f["callsign"], 64)
        if cs:
            st["callsign"] = cs
        if f["shape"]:
            st["shape"] = [[lat, lon] for lat, lon in f["shape"]]
            self.statics.append(Static(t, subject, st))
            self.rejects.note_unused("cot.shape")
            return
        lat, lon = f["lat"], f["lon"]
        if not (math.isfinite(lat) and math.isfinite(lon)) or (lat == 0 and lon == 0):
            self._reject("cot.no_point", raw[:256], at)
            return
        self.statics.append(Static(t, subject, st))
        speed, course, ce = f["speed"], f["course"], f["ce"]
        self.rows.append((t, domain_of(cot_type), subject, lat, lon, f["hae"],
                          speed if speed >= 0 else math.nan,
                          course if 0 <= course <= 360 else math.nan,
                          ce if ce > 0 else math.nan, at))  # fmt: skip
        self.rejects.accept(1)

    def _reject(self, reason: str, raw: bytes, at: int | None = None) -> None:
        self.rejects.reject(reason, f"{self.source}:{self.offset if at is None else at}", raw)

    def _out(self) -> Decoded:
        if not self.rows:
            statics, self.statics = self.statics, []
            return Decoded(Reports.empty(0), statics) if statics else Decoded.empty()
        rows, self.rows = self.rows, []
        statics, self.statics = self.statics, []
        t, dom, subj, lat, lon, hae, spd, crs, ce, at = (list(c) for c in zip(*rows, strict=True))
        r = Reports.build(
            n=len(t), time=np.array(t), domain=np.array(dom, np.uint8), kind=Kind.POSITION,
            source=self.source_code, subject=np.array(subj, np.int64), lat=np.array(lat),
            lon=np.array(lon), alt=np.array(hae), speed=np.array(spd), course=np.array(crs),
            accuracy=np.array(ce), raw=np.array(at, np.int64),
        )  # fmt: skip
        return Decoded(r, statics)


def _parse(parse_proto: Any, body: bytes) -> Any:
    try:
        return parse_proto(bytearray(body))
    except Exception:  # a malformed protobuf raises DecodeError and friends: counted by caller
        return None


def _sniff(head: bytes, name: str) -> bool:
    s = head.lstrip()
    if s[:1] == bytes([MAGIC]) and name.endswith((".cot", ".tak", ".takproto")):
        return True
    return s.startswith(b"<event") or (s.startswith(b"<?xml") and b"<event" in s[:200])


register(
    Format(
        name=NAME,
        domain="air",
        description="Cursor on Target: XML events, TAK protocol v1 stream and mesh (TAK clients)",
        sniff=_sniff,
        decoder=CotDecoder,
        priority=15,
    )
)
