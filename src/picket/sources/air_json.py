"""Already-decoded aircraft state: readsb/tar1090 JSON, OpenSky state vectors.

- `readsb-json`: readsb/tar1090 `aircraft.json` ({"now", "aircraft": [...]}) and
  trace files ({"icao", "timestamp", "trace": [[dt, lat, lon, alt, gs, ...]]}).
  NIC, NACp, SIL, version, emergency and squawk are kept; the readsb source type
  (adsb_icao, mlat, tisb_...) goes into `msg` as its index in `READSB_TYPES`.
- `opensky`: OpenSky REST state vectors ({"time", "states": [[...]]}), the
  OpenSky historical CSV (`time,icao24,lat,lon,velocity,...`, SI units), and
  `traffic`-style JSON records (timestamp in ms, feet, knots, ft/min).

A JSON document is parsed when it is complete (on `feed` if the buffer ends a
document, else on `flush`); units are converted to SI in whole columns.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from picket.codec.modes_fields import FPM, FT, KT
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.modes_text import LineDecoder
from picket.sources.registry import Format, register

READSB_TYPES = ("unknown", "adsb_icao", "adsb_icao_nt", "adsr_icao", "tisb_icao", "adsc",
                "mlat", "other", "mode_s", "adsb_other", "adsr_other", "tisb_other",
                "tisb_trackfile")  # fmt: skip
EMERGENCY = {"none": 0, "general": 1, "lifeguard": 2, "minfuel": 3, "nordo": 4,
             "unlawful": 5, "downed": 6, "reserved": 7}  # fmt: skip
MAX_DOC = 256 << 20


def _f(v: Any) -> float:
    if isinstance(v, bool) or v is None:
        return np.nan
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _i(v: Any, table: dict[str, int] | None = None) -> int:
    if table is not None and isinstance(v, str):
        return table.get(v, -1)
    x = _f(v)
    return int(x) if np.isfinite(x) and -(2**15) < x < 2**15 else -1


def _icao(v: Any) -> int:
    """24-bit address from hex text; -1 for non-ICAO (readsb's `~` prefix) or garbage."""
    if not isinstance(v, str) or v.startswith("~"):
        return -1
    try:
        n = int(v.strip(), 16)
    except ValueError:
        return -1
    return n if 0 <= n < (1 << 24) else -1


def _callsign(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


class _Rows:
    """Column lists filled record by record (JSON is objects already), then one batch."""

    def __init__(self) -> None:
        self.c: dict[str, list[Any]] = {k: [] for k in (
            "time", "icao", "lat", "lon", "alt", "speed", "course", "vrate", "squawk",
            "emergency", "nic", "nacp", "sil", "version", "msg", "raw", "callsign")}  # fmt: skip

    def add(self, **kv: Any) -> None:
        for k, lst in self.c.items():
            lst.append(kv.get(k))

    def build(self, source: int) -> tuple[Reports, list[Static]]:
        c = self.c
        n = len(c["time"])
        if n == 0:
            return Reports.empty(0), []

        def fcol(k: str, scale: float = 1.0) -> np.ndarray:
            return np.array([_f(v) for v in c[k]], dtype=np.float64) * scale

        def icol(k: str, table: dict[str, int] | None = None) -> np.ndarray:
            return np.array([_i(v, table) for v in c[k]], dtype=np.int64)

        icao = np.array(c["icao"], dtype=np.int64)
        lat, lon = fcol("lat"), fcol("lon")
        has_pos = np.isfinite(lat) & np.isfinite(lon)
        speed, vrate = fcol("speed"), fcol("vrate")
        kind = np.where(has_pos, Kind.POSITION,
                        np.where(np.isfinite(speed), Kind.VELOCITY, Kind.IDENTITY))  # fmt: skip
        rep = Reports.build(
            time=fcol("time"), domain=Domain.AIR, kind=kind, source=source,
            subject=key(Namespace.ICAO, icao), lat=lat, lon=lon, alt=fcol("alt"),
            speed=speed, course=fcol("course"), vrate=vrate, squawk=icol("squawk"),
            emergency=icol("emergency", EMERGENCY), nic=icol("nic"), nacp=icol("nacp"),
            sil=icol("sil"), version=icol("version"),
            msg=np.array([m or 0 for m in c["msg"]], dtype=np.int64), raw=icol("raw"),
        )  # fmt: skip
        statics, last = [], {}
        for i, cs in enumerate(c["callsign"]):
            if cs and last.get(int(icao[i])) != cs:
                last[int(icao[i])] = cs
                statics.append(Static(float(rep.time[i]), int(rep.subject[i]), {"callsign": cs}))
        return rep, statics


class JsonDocDecoder:
    """Buffers one JSON document and decodes it when complete."""

    fmt = "json"

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.rejects = rejects
        self.source = source
        self.source_code = SOURCES.code(source)
        self.buf = bytearray()
        self.callsigns: dict[int, str] = {}

    def feed(self, data: bytes) -> Decoded:
        self.buf += data
        if len(self.buf) > MAX_DOC:
            self.rejects.reject(f"{self.fmt}.too_large", f"{self.source}:0", bytes(self.buf[:256]))
            self.buf = bytearray()
            return Decoded.empty()
        tail = self.buf.rstrip()[-1:]
        if tail in (b"}", b"]"):
            try:
                doc = json.loads(bytes(self.buf))
            except (ValueError, RecursionError):
                return Decoded.empty()  # incomplete: wait for more
            self.buf = bytearray()
            return self._safe(doc)
        return Decoded.empty()

    def flush(self) -> Decoded:
        if not bytes(self.buf).strip():
            return Decoded.empty()
        raw, self.buf = bytes(self.buf), bytearray()
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            self.rejects.reject(f"{self.fmt}.bad_json", f"{self.source}:0", raw[:4096])
            return Decoded.empty()
        return self._safe(doc)

    def _safe(self, doc: Any) -> Decoded:
        try:
            return self.decode_doc(doc)
        except Exception as exc:  # defensive: malformed shapes never escape
            self.rejects.reject(f"{self.fmt}.bad_document", f"{self.source}:0", repr(exc)[:512])
            return Decoded.empty()

    def decode_doc(self, doc: Any) -> Decoded:
        raise NotImplementedError

    def finish(self, rows: _Rows, n_bad: int) -> Decoded:
        rep, statics = rows.build(self.source_code)
        fresh = []
        for s in statics:
            if self.callsigns.get(s.subject) != s.fields["callsign"]:
                self.callsigns[s.subject] = s.fields["callsign"]
                fresh.append(s)
        self.rejects.accept(len(rep))
        return Decoded(rep, fresh)

    def bad(self, reason: str, i: int, rec: Any) -> None:
        self.rejects.reject(f"{self.fmt}.{reason}", f"{self.source}:record {i}", repr(rec)[:512])


class ReadsbDecoder(JsonDocDecoder):
    fmt = "readsb_json"

    def decode_doc(self, doc: Any) -> Decoded:
        rows = _Rows()
        if isinstance(doc, dict) and isinstance(doc.get("trace"), list):
            self._trace(doc, rows)
        elif isinstance(doc, dict) and isinstance(doc.get("aircraft"), list):
            self._aircraft(doc, rows)
        else:
            self.bad("unknown_shape", 0, str(doc)[:200])
        return self.finish(rows, 0)

    def _aircraft(self, doc: dict[str, Any], rows: _Rows) -> None:
        now = _f(doc.get("now"))
        for i, a in enumerate(doc["aircraft"]):
            icao = _icao(a.get("hex")) if isinstance(a, dict) else -1
            if icao < 0 or not np.isfinite(now):
                self.bad("bad_record", i, a)
                continue
            seen = _f(a.get("seen_pos", a.get("seen", 0)))
            alt = a.get("alt_baro")
            rows.add(
                time=now - (seen if np.isfinite(seen) else 0.0), icao=icao,
                lat=a.get("lat"), lon=a.get("lon"),
                alt=0.0 if alt == "ground" else _f(alt) * FT,
                speed=_f(a.get("gs")) * KT, course=a.get("track"),
                vrate=_f(a.get("baro_rate", a.get("geom_rate"))) * FPM,
                squawk=a.get("squawk"), emergency=a.get("emergency"), nic=a.get("nic"),
                nacp=a.get("nac_p"), sil=a.get("sil"), version=a.get("version"),
                msg=_type_code(a.get("type")), raw=i, callsign=_callsign(a.get("flight")),
            )  # fmt: skip

    def _trace(self, doc: dict[str, Any], rows: _Rows) -> None:
        icao, t0 = _icao(doc.get("icao")), _f(doc.get("timestamp"))
        if icao < 0 or not np.isfinite(t0):
            self.bad("bad_record", 0, {k: v for k, v in doc.items() if k != "trace"})
            return
        status: dict[str, Any] = {}  # the last details seen: status persists between them
        for i, p in enumerate(doc["trace"]):
            if not isinstance(p, list) or len(p) < 6 or not np.isfinite(_f(p[0])):
                self.bad("bad_point", i, p)
                continue
            det = p[8] if len(p) > 8 and isinstance(p[8], dict) else None
            if det:
                for k in ("squawk", "emergency", "nic", "nac_p", "sil", "version"):
                    if k in det:
                        status[k] = det[k]
            alt = p[3]
            rows.add(
                time=t0 + _f(p[0]), icao=icao, lat=p[1], lon=p[2],
                alt=0.0 if alt == "ground" else _f(alt) * FT, speed=_f(p[4]) * KT,
                course=p[5], vrate=_f(p[7] if len(p) > 7 else None) * FPM,
                squawk=status.get("squawk"), emergency=status.get("emergency"),
                nic=status.get("nic"), nacp=status.get("nac_p"), sil=status.get("sil"),
                version=status.get("version"), msg=_type_code(p[9] if len(p) > 9 else None),
                raw=i, callsign=_callsign(det.get("flight")) if det else "",
            )  # fmt: skip


def _type_code(v: Any) -> int:
    return READSB_TYPES.index(v) if v in READSB_TYPES else 0


class OpenSkyJson(JsonDocDecoder):
    fmt = "opensky"

    def decode_doc(self, doc: Any) -> Decoded:
        rows = _Rows()
        if isinstance(doc, dict) and isinstance(doc.get("states"), list):
            now = _f(doc.get("time"))
            for i, s in enumerate(doc["states"]):
                if not isinstance(s, list) or len(s) < 15 or _icao(s[0]) < 0:
                    self.bad("bad_record", i, s)
                    continue
                t = _f(s[3]) if s[3] is not None else _f(s[4])
                rows.add(
                    time=t if np.isfinite(t) else now, icao=_icao(s[0]), lat=s[6], lon=s[5],
                    alt=s[7], speed=s[9], course=s[10], vrate=s[11], squawk=s[14], raw=i,
                    callsign=_callsign(s[1]),
                )  # fmt: skip
        elif isinstance(doc, list):  # traffic-style records: ms, ft, kt, ft/min
            for i, r in enumerate(doc):
                if not isinstance(r, dict) or _icao(r.get("icao24")) < 0:
                    self.bad("bad_record", i, r)
                    continue
                t = _f(r.get("timestamp"))
                rows.add(
                    time=t / 1e3 if t > 1e11 else t, icao=_icao(r["icao24"]),
                    lat=r.get("latitude"), lon=r.get("longitude"),
                    alt=_f(r.get("altitude")) * FT, speed=_f(r.get("groundspeed")) * KT,
                    course=r.get("track"), vrate=_f(r.get("vertical_rate")) * FPM,
                    squawk=r.get("squawk"), raw=i, callsign=_callsign(r.get("callsign")),
                )  # fmt: skip
        else:
            self.bad("unknown_shape", 0, str(doc)[:200])
        return self.finish(rows, 0)


class OpenSkyCsv(LineDecoder):
    """OpenSky historical state-vector CSV (SI units) with a header line."""

    fmt = "opensky"

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        super().__init__(rejects, source)
        self.header: list[str] | None = None
        self.json = OpenSkyJson(rejects, source)
        self.source_code = SOURCES.code(source)

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        text = [ln.decode("utf-8", "replace").rstrip("\r") for ln in lines]
        if self.header is None and text:
            self.header = [h.strip() for h in next(csv.reader([text[0]]))]
            text, first = text[1:], first + 1
        h = {name: k for k, name in enumerate(self.header or [])}
        need = ("time", "icao24", "lat", "lon")
        if any(k not in h for k in need):
            self.reject_lines("opensky.bad_header", np.arange(len(text)), lines, first)
            return Decoded.empty()
        rows, bad = _Rows(), []
        for k, rec in enumerate(csv.reader(io.StringIO("\n".join(text)))):
            if len(rec) != len(h) or _icao(rec[h["icao24"]]) < 0:
                if any(x.strip() for x in rec):
                    bad.append(k)
                continue

            def g(name: str, rec: list[str] = rec) -> str | None:
                j = h.get(name)
                return rec[j] if j is not None and rec[j] != "" else None

            t = _f(g("lastposupdate")) if g("lat") else np.nan
            rows.add(
                time=t if np.isfinite(t) else _f(g("time")), icao=_icao(g("icao24")),
                lat=g("lat"), lon=g("lon"), alt=g("baroaltitude"), speed=g("velocity"),
                course=g("heading"), vrate=g("vertrate"), squawk=g("squawk"),
                raw=first + k, callsign=_callsign(g("callsign")),
            )  # fmt: skip
        self.reject_lines("opensky.bad_line", np.array(bad, dtype=np.int64), lines, first)
        self.json.source_code = self.source_code
        return self.json.finish(rows, len(bad))


class OpenSkyDecoder:
    """Chooses JSON or CSV from the first non-blank byte."""

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.rejects, self.source = rejects, source
        self.inner: JsonDocDecoder | OpenSkyCsv | None = None
        self.pending = b""

    def feed(self, data: bytes) -> Decoded:
        if self.inner is None:
            self.pending += data
            head = self.pending.lstrip()
            if not head:
                return Decoded.empty()
            self.inner = (
                OpenSkyJson(self.rejects, self.source)
                if head[:1] in (b"{", b"[")
                else OpenSkyCsv(self.rejects, self.source)
            )
            data, self.pending = self.pending, b""
        return self.inner.feed(data)

    def flush(self) -> Decoded:
        return self.inner.flush() if self.inner is not None else Decoded.empty()


def _sniff_readsb(head: bytes, name: str) -> bool:
    h = head.lstrip()
    return h[:1] == b"{" and (b'"aircraft"' in h or b'"trace"' in h)


def _sniff_opensky(head: bytes, name: str) -> bool:
    h = head.lstrip()
    if h[:1] == b"{":
        return b'"states"' in h
    if h[:1] == b"[":
        return b'"icao24"' in h
    first = h.split(b"\n", 1)[0]
    return b"icao24" in first and b"lat" in first and b"," in first


register(Format("readsb-json", "air", "readsb/tar1090 aircraft.json and trace JSON",
                _sniff_readsb, ReadsbDecoder, priority=5))  # fmt: skip
register(Format("opensky", "air", "OpenSky state vectors (REST JSON, CSV) and records JSON",
                _sniff_opensky, OpenSkyDecoder, priority=5))  # fmt: skip
