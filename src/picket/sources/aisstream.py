"""AIS as aisstream.io sends it (`aisstream`): one JSON message per WebSocket message.

Why its own reader: aisstream.io decodes the AIS radio messages itself and sends each
as `{"MessageType", "MetaData", "Message": {<MessageType>: {...}}}`; there is no NMEA
to hand to the NMEA reader. The live feed (`sources/pull_ws.py`) writes one message per
line; a saved stream (one message a line) reads the same from a file.

Position reports (PositionReport: types 1-3; Standard/ExtendedClassBPositionReport: 18,
19) become maritime position reports keyed by MMSI, timed by `MetaData.time_utc` (the
time aisstream received them); ShipStaticData (5) and StaticDataReport (24) become
identity facts with the field names the NMEA reader uses. "Not available" codes (lat 91,
lon 181, SOG 102.3, COG 360, heading 511) become missing. Other message types are
counted as unused; a line that is not such a message is rejected, counted.
"""

from __future__ import annotations

import calendar
import json
import logging
import math
import re
from typing import Any

import numpy as np

from picket.codec.ais_decode import ACCURACY_HIGH_M, ACCURACY_LOW_M, KNOT
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text
from picket.sources.lines import LineDecoder
from picket.sources.registry import Format, register

log = logging.getLogger(__name__)

NAME = "aisstream"
MAX_LINE = 1 << 16  # an aisstream message is under 2 KB
MAX_TEXT = 64
POSITIONS = {"PositionReport": 1, "StandardClassBPositionReport": 18,
             "ExtendedClassBPositionReport": 19}  # fmt: skip
STATICS = {"ShipStaticData": 5, "StaticDataReport": 24}
OTHERS = frozenset([  # aisstream's other message types: counted as unused by name
    "UnknownMessage", "AddressedSafetyMessage", "AddressedBinaryMessage",
    "AidsToNavigationReport", "AssignedModeCommand", "BaseStationReport", "BinaryAcknowledge",
    "BinaryBroadcastMessage", "ChannelManagement", "CoordinatedUTCInquiry",
    "DataLinkManagementMessage", "DataLinkManagementMessageData", "GroupAssignmentCommand",
    "GnssBroadcastBinaryMessage", "Interrogation", "LongRangeAisBroadcastMessage",
    "MultiSlotBinaryMessage", "SafetyBroadcastMessage", "SingleSlotBinaryMessage",
    "StandardSearchAndRescueAircraftReport",
])  # fmt: skip
# Go's time.Time text: "2022-12-29 18:22:32.318353 +0000 UTC" (up to 9 fraction digits)
TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?"
                     r"\s*(?:([+-])(\d\d):?(\d\d)|Z)?")


def parse_time_utc(s: Any) -> float:
    """Unix seconds of aisstream's `time_utc`; NaN when it is not one."""
    m = TIME_RE.match(s) if isinstance(s, str) else None
    if m is None:
        return math.nan
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 61):
        return math.nan
    t = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0)) + float(m.group(7) or 0.0)
    if m.group(8):
        off = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        t -= off if m.group(8) == "+" else -off
    return float(t)


def _num(v: Any, bad: float | None = None, lo: float = -math.inf,
         hi: float = math.inf) -> float:  # fmt: skip
    if isinstance(v, bool) or not isinstance(v, int | float):
        return math.nan
    x = float(v)
    if not math.isfinite(x) or (bad is not None and x >= bad) or x < lo or x > hi:
        return math.nan
    return x


def _text(v: Any) -> str | None:
    s = clean_text(v, MAX_TEXT).strip(" @") if isinstance(v, str) else ""
    return s or None


def _int(v: Any) -> int | None:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


def _dims(d: Any) -> dict[str, Any]:
    if not isinstance(d, dict):
        return {}
    return {k: _int(d.get(c)) for k, c in (("to_bow", "A"), ("to_stern", "B"),
                                            ("to_port", "C"), ("to_starboard", "D"))}  # fmt: skip


class AisStreamDecoder(LineDecoder):
    """Lines of aisstream.io JSON messages to reports and identity facts."""

    what = "aisstream"

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.frame(rejects, source, MAX_LINE)
        self.source_code = SOURCES.code(source)
        self.known: dict[int, dict[str, Any]] = {}  # identity facts sent, per subject

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        rows: list[tuple] = []
        statics: list[Static] = []
        for k, line in enumerate(lines):
            if not line.strip():
                continue
            where = f"{self.source}:{first + k}"
            try:
                m = json.loads(line)
            except ValueError:
                self.rejects.reject("aisstream.bad_json", where, line[:256])
                continue
            m = m if isinstance(m, dict) else {}
            kind, msg, meta = m.get("MessageType"), m.get("Message"), m.get("MetaData")
            body = msg.get(kind) if isinstance(msg, dict) and isinstance(kind, str) else None
            if not isinstance(body, dict) or not isinstance(meta, dict):
                self.rejects.reject("aisstream.bad_message", where, line[:256])
                continue
            if kind not in POSITIONS and kind not in STATICS:
                self.rejects.note_unused(f"aisstream.{kind if kind in OTHERS else 'other'}")
                continue
            mmsi = body.get("UserID", meta.get("MMSI"))
            t = parse_time_utc(meta.get("time_utc"))
            if not isinstance(mmsi, int) or not 0 < mmsi <= 999_999_999 or not math.isfinite(t):
                self.rejects.reject("aisstream.bad_message", where, line[:256])
                continue
            subject = int(key(Namespace.MMSI, mmsi))
            if kind in POSITIONS:
                acc = body.get("PositionAccuracy")
                msg_id = _int(body.get("MessageID")) or POSITIONS[kind]
                rows.append((t, subject, _num(body.get("Latitude"), 91.0, -90.0),
                             _num(body.get("Longitude"), 181.0, -180.0),
                             _num(body.get("Sog"), 102.25, 0.0) * KNOT,
                             _num(body.get("Cog"), 360.0, 0.0),
                             _num(body.get("TrueHeading"), 360.0, 0.0),
                             int(body.get("NavigationalStatus", -1))
                             if isinstance(body.get("NavigationalStatus"), int) else -1,
                             ACCURACY_HIGH_M if acc is True else ACCURACY_LOW_M,
                             msg_id, first + k))  # fmt: skip
                if kind == "ExtendedClassBPositionReport":
                    self._static(statics, t, subject, {"name": _text(body.get("Name")),
                                                       "ship_type": _int(body.get("Type")),
                                                       **_dims(body.get("Dimension"))})
            elif kind == "ShipStaticData":
                eta = body.get("Eta") if isinstance(body.get("Eta"), dict) else {}
                mo, d, h, mi = (eta.get(x) for x in ("Month", "Day", "Hour", "Minute"))
                eta_s = None
                if isinstance(mo, int) and isinstance(d, int) and 1 <= mo <= 12 and 1 <= d <= 31:
                    eta_s = f"{mo:02d}-{d:02d}"
                    if isinstance(h, int) and isinstance(mi, int) and h < 24 and mi < 60:
                        eta_s += f"T{h:02d}:{mi:02d}"
                draught = _num(body.get("MaximumStaticDraught"), None, 0.0)
                self._static(statics, t, subject, {
                    "name": _text(body.get("Name")), "callsign": _text(body.get("CallSign")),
                    "imo": _int(body.get("ImoNumber")), "ship_type": _int(body.get("Type")),
                    **_dims(body.get("Dimension")), "destination": _text(body.get("Destination")),
                    "draught": draught if draught > 0 else None, "eta": eta_s})  # fmt: skip
            else:  # StaticDataReport: part A names the vessel, part B the rest
                a, b = body.get("ReportA"), body.get("ReportB")
                f: dict[str, Any] = {}
                if isinstance(a, dict) and a.get("Valid"):
                    f["name"] = _text(a.get("Name"))
                if isinstance(b, dict) and b.get("Valid"):
                    f.update(callsign=_text(b.get("CallSign")), ship_type=_int(b.get("ShipType")),
                             **_dims(b.get("Dimension")))  # fmt: skip
                self._static(statics, t, subject, f)
            self.rejects.accept(1)
        return Decoded(self._reports(rows), statics)

    def _static(self, out: list[Static], t: float, subject: int, f: dict[str, Any]) -> None:
        """An identity fact when it says something new (vessels repeat theirs every 6 min)."""
        f = {k: v for k, v in f.items() if v is not None}
        known = self.known.setdefault(subject, {})
        if f and any(known.get(k) != v for k, v in f.items()):
            known.update(f)
            out.append(Static(t, subject, f))

    def _reports(self, rows: list[tuple]) -> Reports:
        if not rows:
            return Reports.empty(0)
        t, subj, lat, lon, sog, cog, hdg, nav, acc, msg, raw = (
            np.array(c) for c in zip(*rows, strict=True))  # fmt: skip
        return Reports.build(
            n=len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
            source=self.source_code, subject=subj.astype(np.int64), lat=lat, lon=lon,
            speed=sog, course=cog, heading=hdg, nav_status=np.where(
                (nav >= 0) & (nav <= 15), nav, -1).astype(np.int64),
            accuracy=acc, msg=msg.astype(np.int64), raw=raw.astype(np.int64),
        )  # fmt: skip


def _sniff(head: bytes, name: str) -> bool:
    h = head.lstrip()
    return h[:1] == b"{" and b'"MessageType"' in h[:400] and b'"MetaData"' in h


register(Format(NAME, "maritime", "aisstream.io JSON messages (its WebSocket feed, one a line)",
                _sniff, AisStreamDecoder, priority=6))  # fmt: skip
