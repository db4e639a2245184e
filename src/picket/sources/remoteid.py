"""Drone Remote ID (ASTM F3411 / ASD-STAN 4709-002) broadcasts from Wi-Fi and Bluetooth captures.

Input is a pcap or pcapng capture (Wi-Fi beacons in radiotap or plain 802.11, Bluetooth
LE legacy or long-range advertising from any sniffer header). The Open Drone ID payload
is found by its markers rather than by walking every link header: the Wi-Fi vendor
element (OUI FA:0B:BC, type 0x0D) and the Bluetooth service data for UUID 0xFFFA with
application code 0x0D. Each carries one 25-byte message or a message pack.

Output: every Location/Vector message with a fix is a `Kind.POSITION` report (domain AIR,
subject `rid_key(serial)`, where the serial is the UAS ID of the Basic ID message in the
same pack, else the last one heard from the capture). Altitude is the pressure altitude
when the drone sends one, else the geodetic one. Identity and the operator's position
are `Static` facts on the same subject: ``serial``, ``id_type``, ``ua_type``,
``operator_lat``, ``operator_lon``, ``operator_alt``, ``operator_id``, ``description``.
Text fields (serial, operator ID, self-ID description) pass `clean_text` once here.
The Location timestamp (tenths of a second since the hour) is placed in the hour of the
capture record. Remote ID is low volume (about one message per second per drone), so
messages are read one at a time.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import rid_key
from picket.model.text import clean_text
from picket.sources.asterix import CaptureStream
from picket.sources.registry import Format, register

NAME = "remoteid"
WIFI_MARK = b"\xfa\x0b\xbc\x0d"  # vendor element OUI + type, after 0xDD, len
BT_MARK = b"\x16\xfa\xff\x0d"  # AD type service data, UUID 0xFFFA, app code
MSG = 25
NORDIC_BLE = 272  # pcap link type of the nRF Sniffer for Bluetooth LE
EPOCH_2019 = 1546300800.0
# horizontal accuracy code -> 95 % bound (m); sigma ≈ bound / 2.45 for a 2-D Gaussian
_HACC = {1: 18520, 2: 7408, 3: 3704, 4: 1852, 5: 926, 6: 555.6, 7: 185.2, 8: 92.6,
         9: 30, 10: 10, 11: 3, 12: 1}  # fmt: skip
_ID_TYPES = {1: "serial", 2: "caa_registration", 3: "utm_assigned", 4: "specific_session"}


def _alt(raw: int) -> float:
    return float("nan") if raw == 0 else raw * 0.5 - 1000.0


class RemoteIdDecoder:
    def __init__(self, rejects: Rejects, source: str):
        self.rejects = rejects
        self.source = source
        self.cap = CaptureStream(rejects, source, NAME)
        self.serial: str | None = None
        self.code = SOURCES.code(source)

    def feed(self, data: bytes) -> Decoded:
        return self._run(self.cap.feed(data))

    def flush(self) -> Decoded:
        return self._run(self.cap.feed(b"", final=True))

    def _run(self, frames: Any) -> Decoded:
        rows: list[tuple[float, ...]] = []
        statics: list[Static] = []
        for ts, link, frame, off in frames:
            if link == NORDIC_BLE and len(frame) > 8 and not frame[8] & 1:
                # nRF sniffer header (board, 6-byte packet header, length, flags): CRC bad
                self.rejects.reject(f"{NAME}.bad_crc", f"{self.source}:@{off}", frame[:64])
                continue
            found = False
            for payload, poff in _odid_payloads(frame):
                found = True
                where = f"{self.source}:@{off + poff}"
                msgs = self._messages(payload, where)
                self._interpret(msgs, ts, off + poff, rows, statics, where)
            if not found:
                self.rejects.reject(f"{NAME}.no_remote_id", f"{self.source}:@{off}", frame[:64])
        if not rows:
            return Decoded(Reports.empty(0), statics)
        a = np.array(rows, float)
        reports = Reports.build(
            len(a),
            time=a[:, 0],
            domain=Domain.AIR,
            kind=Kind.POSITION,
            source=self.code,
            subject=a[:, 1].astype(np.int64),
            lat=a[:, 2],
            lon=a[:, 3],
            alt=a[:, 4],
            speed=a[:, 5],
            course=a[:, 6],
            vrate=a[:, 7],
            accuracy=a[:, 8],
            raw=a[:, 9].astype(np.int64),
        )
        return Decoded(reports, statics)

    def _messages(self, payload: bytes, where: str) -> list[bytes]:
        """The 25-byte messages in one Open Drone ID payload (after the counter byte)."""
        if len(payload) < MSG:
            self.rejects.reject(f"{NAME}.truncated", where, payload)
            return []
        if payload[0] >> 4 != 0xF:
            return [payload[:MSG]]
        size, count = payload[1], payload[2]
        body = payload[3:]
        if size != MSG or count > 9 or len(body) < size * count:
            self.rejects.reject(f"{NAME}.truncated", where, payload)
            return []
        return [body[i * MSG : (i + 1) * MSG] for i in range(count)]

    def _interpret(
        self,
        msgs: list[bytes],
        ts: float,
        off: int,
        rows: list[tuple[float, ...]],
        statics: list[Static],
        where: str,
    ) -> None:
        if not msgs:
            self.rejects.reject(f"{NAME}.empty_pack", where)
            return
        facts: dict[str, Any] = {}
        for m in msgs:  # identity first: it names the subject of the rest of the pack
            if m[0] >> 4 == 0:
                serial = clean_text(m[2:22].split(b"\0")[0], 20)
                if serial:
                    self.serial = serial
                    facts.update(serial=serial, id_type=_ID_TYPES.get(m[1] >> 4, "none"))
                    facts["ua_type"] = m[1] & 0x0F
        if self.serial is None:
            self.rejects.reject(f"{NAME}.no_basic_id", where, b"".join(msgs))
            return
        subject = rid_key(self.serial)
        t_fix = ts
        for m in msgs:
            kind = m[0] >> 4
            if kind == 1:
                row = self._location(m, ts, subject, off)
                if row is None:
                    self.rejects.reject(f"{NAME}.no_fix", where, m)
                else:
                    rows.append(row)
                    t_fix = row[0]
                    self.rejects.accept(1)
            elif kind == 4:
                olat, olon = struct.unpack_from("<ii", m, 2)
                if olat or olon:
                    facts.update(operator_lat=olat * 1e-7, operator_lon=olon * 1e-7)
                    facts["operator_alt"] = _alt(struct.unpack_from("<H", m, 18)[0])
            elif kind == 5:
                facts["operator_id"] = clean_text(m[2:22].split(b"\0")[0], 20)
            elif kind == 3:
                facts["description"] = clean_text(m[2:25].split(b"\0")[0], 23)
        if facts:
            statics.append(Static(float(t_fix), subject, facts))

    @staticmethod
    def _location(m: bytes, ts: float, subject: int, off: int) -> tuple[float, ...] | None:
        flags, direction, speed, vspeed = m[1], m[2], m[3], struct.unpack_from("<b", m, 4)[0]
        lat, lon = struct.unpack_from("<ii", m, 5)
        if (lat == 0 and lon == 0) or abs(lat) > 900_000_000 or abs(lon) > 1_800_000_000:
            return None
        baro, geo = (
            _alt(struct.unpack_from("<H", m, 13)[0]),
            _alt(struct.unpack_from("<H", m, 15)[0]),
        )
        course = direction + (180 if flags & 0x02 else 0)
        spd = speed * 0.75 + 255 * 0.25 if flags & 0x01 else speed * 0.25
        tenths = struct.unpack_from("<H", m, 21)[0]
        t = ts
        if tenths != 0xFFFF and tenths <= 36000 and np.isfinite(ts):
            hour = np.floor(ts / 3600.0) * 3600.0
            t = hour + tenths / 10.0
            t += 3600.0 if t - ts < -1800 else (-3600.0 if t - ts > 1800 else 0.0)
        hacc = _HACC.get(m[19] & 0x0F)
        return (
            t,
            float(subject),
            lat * 1e-7,
            lon * 1e-7,
            baro if np.isfinite(baro) else geo,
            float("nan") if speed == 255 else spd,
            float("nan") if course > 359 else float(course),
            float("nan") if vspeed == 126 else vspeed * 0.5,  # 63 m/s means unknown
            hacc / 2.45 if hacc else float("nan"),
            float(off),
        )


def _odid_payloads(frame: bytes) -> list[tuple[bytes, int]]:
    """(payload after the message counter, offset in frame) for each Open Drone ID block."""
    out = []
    p = frame.find(WIFI_MARK)
    while p >= 2:
        if frame[p - 2] == 0xDD:
            end = p + frame[p - 1]
            out.append((frame[p + 5 : end], p + 5))
        p = frame.find(WIFI_MARK, p + 1)
    p = frame.find(BT_MARK)
    while p >= 1:
        end = p + frame[p - 1]
        out.append((frame[p + 5 : end], p + 5))
        p = frame.find(BT_MARK, p + 1)
    return out


def _sniff(head: bytes, name: str) -> bool:
    magic = head[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a")
    return magic and any(s in name for s in ("remoteid", "odid", "remote_id", "rid_"))


register(
    Format(
        name=NAME,
        domain="air",
        description="drone Remote ID (ASTM F3411) in Wi-Fi beacon / Bluetooth pcap(ng)",
        sniff=_sniff,
        decoder=RemoteIdDecoder,
        priority=4,
    )
)
