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

from picket.model import domains
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
DELETE = "t-x-d-d"  # CoT's "delete this uid" (TAK clients send it when a drawing is removed)
ELLIPSE_POINTS = 72
MAX_RADIUS_M = 1_000_000.0
EARTH_R = 6_371_008.8
# an inbound CoT type's dimension letter -> domain, from the domain table ("G", ground, is
# only the table's stand-in where CoT has no letter, so it names no domain); subsurface
# ("U") tracks are vessels
DIMENSION = {s.cot_dimension: s.domain for s in domains.SPECS if s.cot_dimension != "G"}
DIMENSION["U"] = Domain.MARITIME


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
                  "stale": ev.staleTime / 1000.0 if ev.staleTime else math.nan,
                  "lat": ev.lat, "lon": ev.lon, "hae": ev.hae, "ce": ev.ce,
                  "callsign": d.contact.callsign if d.HasField("contact") else "",
                  "speed": d.track.speed if d.HasField("track") else math.nan,
                  "course": d.track.course if d.HasField("track") else math.nan,
                  "shape": None, "ellipse": None, "link_uid": ""}  # fmt: skip
        if d.xmlDetail and "<!" not in d.xmlDetail:  # links and shapes travel as XML here
            try:
                fields.update(_drawn(ET.fromstring(f"<detail>{d.xmlDetail}</detail>")))
            except ET.ParseError:
                self._reject("cot.bad_xml", body[:256], at)
                return True
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
        det = el.find("detail")
        fields = {"uid": el.get("uid", ""), "type": el.get("type", ""),
                  "time": _time(el.get("time")), "stale": _time(el.get("stale")),
                  "lat": _num(pt.get("lat")) if pt is not None else math.nan,
                  "lon": _num(pt.get("lon")) if pt is not None else math.nan,
                  "hae": _num(pt.get("hae")) if pt is not None else math.nan,
                  "ce": _num(pt.get("ce")) if pt is not None else math.nan,
                  "callsign": contact.get("callsign", "") if contact is not None else "",
                  "speed": _num(track.get("speed")) if track is not None else math.nan,
                  "course": _num(track.get("course")) if track is not None else math.nan,
                  **_drawn(det)}  # fmt: skip
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
        if cot_type == DELETE:  # "remove this": the uid named by its link
            target = clean_text(f.get("link_uid") or "", 256)
            if not target:
                self._reject("cot.bad_delete", raw[:256], at)
                return
            self.statics.append(Static(t, cot_key(target), {"uid": target, "cot_type": cot_type,
                                                            "delete": True}))  # fmt: skip
            self.rejects.note_unused("cot.delete")
            return
        subject = cot_key(uid)
        st: dict[str, Any] = {"uid": uid, "cot_type": cot_type}
        cs = clean_text(f["callsign"], 64)
        if cs:
            st["callsign"] = cs
        if math.isfinite(f.get("stale", math.nan)):
            st["stale"] = f["stale"]
        ring = f.get("shape")
        if f.get("ellipse") and cot_type.startswith("u-d-c"):
            ring = _ellipse(f["lat"], f["lon"], *f["ellipse"])
            if ring is None:
                self._reject("cot.bad_shape", raw[:256], at)
                return
        if ring:
            if not all(math.isfinite(a) and math.isfinite(b) and abs(a) <= 90 and abs(b) <= 180
                       for a, b in ring):  # fmt: skip
                self._reject("cot.bad_shape", raw[:256], at)
                return
            st["shape"] = [[lat, lon] for lat, lon in ring]
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


def _drawn(det: ET.Element | None) -> dict[str, Any]:
    """A drawing's points (`link point="lat,lon[,hae]"`), its ellipse (`shape/ellipse`:
    semi-axes in metres and the angle), and the uid a link names (for deletes)."""
    if det is None:
        return {"shape": None, "ellipse": None, "link_uid": ""}
    pts = []
    for x in det.findall("link"):
        p = x.get("point")
        if p:
            parts = p.split(",")
            pts.append((_num(parts[0]), _num(parts[1]) if len(parts) > 1 else math.nan))
    ell = det.find("shape/ellipse")
    ellipse = None
    if ell is not None:
        ellipse = (_num(ell.get("major")), _num(ell.get("minor")), _num(ell.get("angle", "0")))
    uids = [x.get("uid") for x in det.findall("link") if x.get("uid")]
    return {"shape": pts or None, "ellipse": ellipse, "link_uid": uids[0] if uids else ""}


def _ellipse(lat: float, lon: float, major: float, minor: float,
             angle: float) -> list[tuple[float, float]] | None:  # fmt: skip
    """An ATAK circle or ellipse as a ring of `ELLIPSE_POINTS` (lat, lon), on a local flat
    Earth (shapes are kilometres across); None when it is not a usable ellipse."""
    if math.isnan(minor):
        minor = major
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) < 89.0
            and 0 < major <= MAX_RADIUS_M and 0 < minor <= MAX_RADIUS_M):  # fmt: skip
        return None
    a = math.radians(angle if math.isfinite(angle) else 0.0)
    phi = np.linspace(0.0, 2 * math.pi, ELLIPSE_POINTS, endpoint=False)
    x, y = major * np.cos(phi), minor * np.sin(phi)  # along the major axis, across it
    north = x * math.cos(a) - y * math.sin(a)
    east = x * math.sin(a) + y * math.cos(a)
    la = lat + np.degrees(north / EARTH_R)
    lo = lon + np.degrees(east / (EARTH_R * math.cos(math.radians(lat))))
    return list(zip(la.tolist(), lo.tolist(), strict=True))


def _parse(parse_proto: Any, body: bytes) -> Any:
    try:
        return parse_proto(bytearray(body))
    except Exception as e:  # a malformed protobuf raises DecodeError and friends: counted by caller
        log.debug("TAK message of %d bytes not parsed: %r", len(body), e)
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


class ShapeZones:
    """Shapes drawn in ATAK and sent with a uid starting with `prefix` become watched zones.

    Why through the zone editor (`serve/zone_edits.ZoneEditor`): a shape is an operator's
    zone edit made from a TAK client, so it gets the checks, ids, ordering and the file an
    edit from the web page gets (the id is the CoT uid). A resend of the uid replaces the
    zone; a CoT delete (`t-x-d-d` naming the uid) or the shape's stale time passing
    removes it. `apply` hands the edited set to the pipeline (between batches). Zones are
    kind `kind` (default "restricted": watched by the airspace-entry rule).
    """

    def __init__(self, prefix: str, editor: Any, apply: Any, rejects: Rejects, source: str,
                 kind: str = "restricted") -> None:  # fmt: skip
        self.prefix, self.editor, self.apply = prefix, editor, apply
        self.rejects, self.source, self.kind = rejects, source, kind
        self.stale: dict[str, float] = {}  # zone uid -> stale time (unix s)
        self.counts = {"added": 0, "replaced": 0, "deleted": 0, "expired": 0, "refused": 0}

    def take(self, statics: list[Static]) -> bool:
        """Zone edits from these statics (others are left alone); True if any was made."""
        from picket.serve.zone_edits import ZoneError

        changed = False
        for st in statics:
            uid = st.fields.get("uid", "")
            if not uid.startswith(self.prefix):
                continue
            who = f"cot:{self.source}"
            try:
                if st.fields.get("delete"):
                    changed |= self._delete(uid, "deleted")
                elif st.fields.get("shape"):
                    changed |= self._upsert(uid, st.fields, who)
            except ZoneError as e:
                self.counts["refused"] += 1
                self.rejects.reject(f"cot.zone_{e.reason}", f"{self.source}:{uid}", str(e))
        return changed

    def expire(self, now: float) -> bool:
        """Remove zones whose shape went stale before `now` (the receive clock)."""
        gone = [u for u, t in self.stale.items() if t < now]
        return any([self._delete(u, "expired") for u in gone])

    def _upsert(self, uid: str, f: dict[str, Any], who: str) -> bool:
        from picket.serve.zone_edits import ZoneError

        ring = [[lon, lat] for lat, lon in f["shape"]]
        if ring[0] != ring[-1]:
            ring.append(ring[0])
        doc = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
               "properties": {"id": uid, "name": f.get("callsign") or uid, "kind": self.kind,
                              "cot_type": f.get("cot_type", ""), "source": self.source}}
        try:
            self.editor.replace(uid, doc, who)
            self.counts["replaced"] += 1
        except ZoneError as e:
            if e.status != 404:
                raise
            self.editor.add(doc, who)
            self.counts["added"] += 1
        if "stale" in f:
            self.stale[uid] = float(f["stale"])
        else:
            self.stale.pop(uid, None)
        log.info("cot zone %s from %s (%d points)", uid, self.source, len(ring) - 1)
        return True

    def _delete(self, uid: str, why: str) -> bool:
        from picket.serve.zone_edits import ZoneError

        self.stale.pop(uid, None)
        try:
            self.editor.delete(uid)
        except ZoneError:
            return False  # not (or no longer) a zone
        self.counts[why] += 1
        log.info("cot zone %s %s", uid, why)
        return True
