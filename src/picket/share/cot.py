"""Cursor on Target events for tracks: XML and TAK protocol v1 protobuf.

Type by domain (MIL-STD-2525 battle dimension in the CoT type) and the
picture's identity: aircraft are `a-u-A` (unknown affiliation: a transponder
says who, not whose side), vessels with AIS `a-n-S`, space objects `a-u-P`,
anything else `a-u-G`; a track with an open behaviour alert is suspect
(`a-s-*`), one an operator marked friendly `a-f-*`.
time and start are the track's last position time; stale is when the track
expires from the picture (its domain's drop time), so a TAK client greys a
track out exactly when picket would drop it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import numpy as np

from picket.model import domains
from picket.model.alerts import iso
from picket.model.reports import Domain
from picket.model.subjects import SHIFT, Namespace, format_subject
from picket.serve.picture import (
    BASE_IDENTITY,
    COT_AFFILIATION,
    DROP_S,
    ID_UNKNOWN,
    IDENTITIES,
    Picture,
    per_domain,
)

# the CoT dimension letter and circular error (m) per domain code, from the domain table
DIMENSION = domains.COT_DIMENSION
CE_M = domains.COT_CE_M
UNKNOWN = 9999999.0  # CoT's "not known" for hae, ce and le
CE_DEFAULT_M = 100.0  # a domain the table gives no circular error
# domain codes whose `alt` is a height to pass on, and those on the sea surface (hae 0)
HAS_ALTITUDE = frozenset(s.code for s in domains.SPECS if s.has_altitude)
SURFACE = frozenset(s.code for s in domains.SPECS if s.cot_dimension == "S")


# characters XML 1.0 cannot carry (C0 controls but tab/newline/CR, lone surrogates,
# U+FFFE/U+FFFF): a callsign from a feed may hold any of them, and one would make
# the whole event unparseable (XML) or unencodable (protobuf strings are UTF-8)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(s: str) -> str:
    """`s` with every character XML 1.0 and UTF-8 refuse replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", s)


def cot_type(domain: int, identity: int | None = None) -> str:
    """`a-<affiliation>-<dimension>`: the picture's identity (unknown, neutral for AIS
    vessels, friend, suspect while a behaviour alert is open) and the battle dimension."""
    ident = int(BASE_IDENTITY.get(Domain(domain), ID_UNKNOWN)) if identity is None else identity
    aff = COT_AFFILIATION[IDENTITIES[ident]]
    return f"a-{aff}-{DIMENSION.get(int(domain), 'G')}"


def uid_of(subject: int) -> str:
    return "picket." + (format_subject(subject) or str(subject)).replace(":", "-")


@dataclass(slots=True)
class CotEvent:
    uid: str
    type: str
    how: str
    time: float
    stale: float
    lat: float
    lon: float
    hae: float
    ce: float
    le: float
    callsign: str
    course: float | None
    speed: float | None
    remarks: str | None

    def xml(self) -> bytes:
        t = iso(self.time)
        det = [f"<contact callsign={quoteattr(clean(self.callsign))}/>"]
        if self.course is not None or self.speed is not None:
            parts = []
            if self.course is not None:
                parts.append(f'course="{self.course:.1f}"')
            if self.speed is not None:
                parts.append(f'speed="{self.speed:.2f}"')
            det.append(f"<track {' '.join(parts)}/>")
        if self.remarks:
            det.append(f"<remarks>{_text(self.remarks)}</remarks>")
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><event version="2.0"'
            f" uid={quoteattr(clean(self.uid))}"
            f' type="{self.type}" how="{self.how}" time="{t}" start="{t}"'
            f' stale="{iso(self.stale)}"><point lat="{self.lat:.7f}" lon="{self.lon:.7f}"'
            f' hae="{self.hae:.1f}" ce="{self.ce:.1f}" le="{self.le:.1f}"/>'
            f"<detail>{''.join(det)}</detail></event>"
        ).encode()

    def proto(self):
        """A takproto `TakMessage` for this event."""
        from takproto.proto import TakMessage

        m = TakMessage()
        e = m.cotEvent
        e.type, e.uid, e.how = self.type, clean(self.uid), self.how
        ms = round(self.time * 1000)
        e.sendTime, e.startTime, e.staleTime = ms, ms, round(self.stale * 1000)
        e.lat, e.lon, e.hae, e.ce, e.le = self.lat, self.lon, self.hae, self.ce, self.le
        e.detail.contact.callsign = clean(self.callsign)
        if self.course is not None:
            e.detail.track.course = self.course
        if self.speed is not None:
            e.detail.track.speed = self.speed
        if self.remarks:
            e.detail.xmlDetail = f"<remarks>{_text(self.remarks)}</remarks>"
        return m


def _text(s: str) -> str:
    return clean(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def events_for(pic: Picture, idx: np.ndarray, remarks: dict[int, str] | None = None,
               labels: dict[int, str] | None = None,
               identity: np.ndarray | None = None,
               stale_s: float | None = None) -> list[CotEvent]:  # fmt: skip
    """CoT events for picture rows `idx` (the per-event part is small string work);
    `identity` is the picture's identity code per row (`Picture.identity`); `stale_s`
    overrides the domain's drop time as the stale offset (a partner's own policy)."""
    c = pic.cols
    ident = (pic.identity() if identity is None else identity)[idx].tolist()
    remarks = remarks or {}
    labels = labels if labels is not None else pic.labels
    dom = c["domain"][idx]
    stale = c["pos_time"][idx] + (per_domain(DROP_S, dom, 3600.0) if stale_s is None
                                   else stale_s)  # fmt: skip
    ns = c["subject"][idx] >> SHIFT
    acc = np.full(len(idx), np.nan)
    ce = per_domain({Domain(k): v for k, v in CE_M.items()}, dom, CE_DEFAULT_M)
    ce = np.where(np.isfinite(acc), acc, ce)
    out = []
    cols = [c[k][idx].tolist() for k in ("subject", "pos_time", "lat", "lon", "alt", "speed",
                                         "course", "id")]  # fmt: skip
    for j, (subj, t, la, lo, alt, sp, co, tid) in enumerate(zip(*cols, strict=True)):
        d = int(dom[j])
        has_alt = alt == alt and d in HAS_ALTITUDE
        hae = alt if has_alt else (0.0 if d in SURFACE else UNKNOWN)
        name = format_subject(subj) or str(subj)
        out.append(CotEvent(
            uid=uid_of(subj), type=cot_type(d, ident[j]),
            how="m-f" if ns[j] == int(Namespace.TRACK) else "m-g",
            time=t, stale=float(stale[j]), lat=la, lon=lo, hae=hae, ce=float(ce[j]),
            le=30.0 if has_alt else UNKNOWN, callsign=labels.get(tid) or name,
            course=co if co == co else None, speed=sp if sp == sp else None,
            remarks=remarks.get(subj),
        ))  # fmt: skip
    return out
