"""Already-decoded aircraft state: readsb/tar1090 JSON, OpenSky state vectors.

- `readsb-json`: readsb/tar1090 `aircraft.json` ({"now", "aircraft": [...]}) and
  trace files ({"icao", "timestamp", "trace": [[dt, lat, lon, alt, gs, ...]]}).
  NIC, NACp, SIL, version, emergency and squawk are kept; the readsb source type
  (adsb_icao, mlat, tisb_...) goes into `msg` as its index in `READSB_TYPES`.
- `opensky`: OpenSky REST state vectors ({"time", "states": [[...]]}), the
  OpenSky historical CSV (`time,icao24,lat,lon,velocity,...`, SI units), and
  `traffic`-style JSON records (timestamp in ms, feet, knots, ft/min).

JSON is parsed as it streams, record by record (`JsonDocDecoder`): linear cost however
the bytes are cut, one bad record costs that record. CSV records are lines. Units are
converted to SI in whole columns; callsigns are cleaned (`picket.model.text.clean_text`).
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from picket import numba_boot
from picket.codec.modes_fields import FPM, FT, KT
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text, csv_line
from picket.sources.lines import LineDecoder
from picket.sources.registry import Format, register

READSB_TYPES = ("unknown", "adsb_icao", "adsb_icao_nt", "adsr_icao", "tisb_icao", "adsc",
                "mlat", "other", "mode_s", "adsb_other", "adsr_other", "tisb_other",
                "tisb_trackfile")  # fmt: skip
EMERGENCY = {"none": 0, "general": 1, "lifeguard": 2, "minfuel": 3, "nordo": 4,
             "unlawful": 5, "downed": 6, "reserved": 7}  # fmt: skip
MAX_CALLSIGN = 16  # ADS-B carries 8 characters; room for feeds that add a suffix
MAX_LINE = 1 << 20  # framing limit: longer lines are counted without being held
MAX_ROW = 4096  # an OpenSky CSV row is ~200 bytes: longer ones are rejected unparsed
MAX_FIELD = 256  # no OpenSky CSV field is longer
MEMO_MAX = 1 << 16  # distinct address texts remembered across CSV batches
logger = logging.getLogger(__name__)


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


def _ground(v: Any) -> int:
    """On-ground flag as -1 unknown, 0 airborne, 1 ground (bool, 0/1, "true"/"false")."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | float) and v in (0, 1):
        return int(v)
    if isinstance(v, str):
        return {"true": 1, "false": 0, "1": 1, "0": 0}.get(v.strip().lower(), -1)
    return -1


def _callsign(v: Any) -> str:
    """Callsign as safe text (see `clean_text`): anything not a string is no callsign."""
    return clean_text(v, MAX_CALLSIGN) if isinstance(v, str) else ""


class _Rows:
    """Column lists filled record by record (JSON is objects already), then one batch."""

    def __init__(self) -> None:
        self.c: dict[str, list[Any]] = {k: [] for k in (
            "time", "icao", "lat", "lon", "alt", "speed", "course", "vrate", "squawk",
            "emergency", "nic", "nacp", "sil", "version", "msg", "raw", "callsign",
            "on_ground")}  # fmt: skip

    def add(self, **kv: Any) -> None:
        for k, lst in self.c.items():
            lst.append(kv.get(k))

    def build(self, source: int) -> tuple[Reports, list[Static]]:
        c = self.c
        n = len(c["time"])
        if n == 0:
            return Reports.empty(0), []

        def fcol(k: str, scale: float = 1.0) -> np.ndarray:
            x = np.array([_f(v) for v in c[k]], dtype=np.float64)
            # beyond any float32 column (1e308 from a hostile feed): inf, kept for the range
            # check at the pipeline's door, without an overflow on the way
            x[np.abs(x) > F4_MAX] = np.copysign(np.inf, x[np.abs(x) > F4_MAX])
            return x * scale

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
            msg=np.array([m or 0 for m in c["msg"]], dtype=np.int64),
            raw=np.array([-1 if v is None else v for v in c["raw"]], dtype=np.int64),
            on_ground=np.array([_ground(v) for v in c["on_ground"]], dtype=np.int64),
        )  # fmt: skip
        statics, last = [], {}
        for i, cs in enumerate(c["callsign"]):
            if cs and last.get(int(icao[i])) != cs:
                last[int(icao[i])] = cs
                statics.append(Static(float(rep.time[i]), int(rep.subject[i]), {"callsign": cs}))
        return rep, statics


class _Scan:
    """Resumable scan for the end of one JSON value (strings, nesting, scalars).

    Only used when `raw_decode` cannot parse a value yet: it tells an incomplete value
    (wait for bytes, resume where the scan stopped) from a complete but invalid one
    (reject it alone), in one linear pass however the bytes are cut.
    """

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.start = pos
        self.depth = 0
        self.in_str = False
        self.started = False
        self.scalar = False

    def end(self, text: str) -> int | None:
        """Offset just past the value, or None if `text` ends first."""
        n = len(text)
        while self.pos < n:
            if self.in_str:
                m = _STR_STOP.search(text, self.pos)
                if m is None:
                    self.pos = n
                    return None
                if m.group() == "\\":
                    if m.end() >= n:
                        self.pos = m.start()
                        return None
                    self.pos = m.end() + 1
                    continue
                self.in_str, self.pos = False, m.end()
                if self.depth == 0:
                    return self.pos
                continue
            if not self.started:
                self.started = True
                c = text[self.pos]
                if c not in "[{\"":
                    self.scalar = True
            if self.scalar:
                m = _SCALAR_END.search(text, self.pos)
                if m is None:
                    self.pos = n
                    return None
                return max(m.start(), self.start + 1)  # at least one character: progress
            m = _SIGNIFICANT.search(text, self.pos)
            if m is None:
                self.pos = n
                return None
            c, self.pos = m.group(), m.end()
            if c == '"':
                self.in_str = True
            elif c in "[{":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth <= 0:
                    return self.pos
        return None


_STR_STOP = re.compile(r'["\\]')
_SIGNIFICANT = re.compile(r'["\[\]{}]')
_SCALAR_END = re.compile(r"[\s,\]}]")
_WS = re.compile("[ \t\r\n\ufeff]*")
_DOC_START = re.compile(r"[{\[]")
_JSON = json.JSONDecoder(strict=False)  # a raw control character in a string is cleaned later
_NO_REPORTS = Reports.empty(0)
F4_MAX = 1e38  # below float32's largest: scaled values stay castable
MAX_ELEMENT = 1 << 20  # characters in one record / header value; beyond, it is rejected
MAX_RECORDS = 4_000_000  # records in one document


class JsonDocDecoder:
    """JSON documents parsed as they stream, one record at a time.

    The big array of a document ("aircraft", "trace", "states", or a top-level list) is
    parsed element by element with `raw_decode` as each element completes, keeping the
    offset so nothing is parsed twice: cost is linear in the input however it is cut. A
    document is decoded when its closing bracket arrives (documents may follow one
    another in a stream); a malformed record costs that record only, an over-long one
    is skipped without being held, and at the end of input a truncated document keeps
    its complete records.
    """

    fmt = "json"
    stream_keys: tuple[str, ...] = ()

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.rejects = rejects
        self.source = source
        self.source_code = SOURCES.code(source)
        self.callsigns: dict[int, str] = {}
        self.utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self.text = ""
        self.pos = 0  # next character of `text` to look at
        self.base = 0  # stream offset (characters) of text[0]
        self.state = "top"  # top | key | colon | value | elems | garbage
        self.doc: dict[str, Any] | list[Any] | None = None
        self.items: list[Any] = []  # the streamed array of the current document
        self.key = ""
        self.scan: _Scan | None = None
        self.skipping = False  # inside an over-long value: scan to its end, keep nothing
        self.garbage = 0
        self.garbage_at = 0
        self.out: list[Decoded] = []

    def feed(self, data: bytes) -> Decoded:
        self.text += self.utf8.decode(data)
        self._parse(final=False)
        return self._collect()

    def flush(self) -> Decoded:
        self.text += self.utf8.decode(b"", final=True)
        self._parse(final=True)
        self._end_garbage()
        if self.doc is not None or self.skipping or self.scan is not None:
            where = f"{self.source}:@{self.base + self.pos}"
            self.rejects.reject(f"{self.fmt}.truncated", where, self.text[self.pos :][:256])
            if self.doc is not None:
                self._finish_doc()
        self.text, self.pos, self.scan, self.skipping = "", 0, None, False
        return self._collect()

    # -- the state machine ------------------------------------------------------------
    def _parse(self, final: bool) -> None:
        t = self.text
        while True:
            if self.skipping or self.scan is not None:
                if not self._value(final):
                    break
                continue
            p = self.pos if self.state == "garbage" else _WS.match(t, self.pos).end()
            self.pos = p  # (inside junk, spaces are junk too: the count is chunking-proof)
            if p >= len(t):
                break
            c = t[p]
            st = self.state
            if st in ("top", "garbage"):
                if c in "{[":
                    self._end_garbage()
                    self.state = "key" if c == "{" else "elems"
                    self.doc = {} if c == "{" else self.items
                    self.items = [] if c == "{" else self.items
                    self.pos = p + 1
                else:  # not a document: skip to the next one that may start, counted
                    if not self.garbage:
                        self.garbage_at = self.base + p
                    m = _DOC_START.search(t, p)
                    end = m.start() if m else len(t)
                    self.garbage += end - p
                    self.state, self.pos = "garbage", end
            elif st == "key":
                if c == ",":
                    self.pos = p + 1
                elif c == "}":
                    self.pos = p + 1
                    self._finish_doc()
                elif c == '"':
                    self.state = "keystr"
                    if not self._value(final):
                        break
                else:
                    self._bad_syntax(p)
            elif st == "keystr":
                if not self._value(final):
                    break
            elif st == "colon":
                if c == ":":
                    self.state, self.pos = "value", p + 1
                else:
                    self._bad_syntax(p)
            elif st == "value":
                if c == "[" and self.key in self.stream_keys and isinstance(self.doc, dict):
                    self.items = []
                    self.doc[self.key] = self.items
                    self.state, self.pos = "elems", p + 1
                elif not self._value(final):
                    break
            elif st == "elems":
                if c == ",":
                    self.pos = p + 1
                elif c == "]":
                    self.pos = p + 1
                    if isinstance(self.doc, list):
                        self._finish_doc()
                    else:
                        self.state = "key"
                elif not self._value(final):
                    break
            t = self.text
        self._trim()

    def _value(self, final: bool) -> bool:
        """Parse the value at `pos` (key, header value or record); False: wait for bytes."""
        t, p = self.text, self.pos
        if self.scan is None and not self.skipping:
            stop = -1
            if t[p] not in "[{\"":  # a scalar ends at a delimiter: "12" may go on as "12.5"
                m = _SCALAR_END.search(t, p)
                stop = m.start() if m else (len(t) if final else -2)
            try:
                if stop == -2:
                    raise ValueError("wait for the scalar's end")
                v, end = _JSON.raw_decode(t, p)
                if stop >= 0 and end != stop:
                    raise ValueError("junk after a scalar")
            except (ValueError, RecursionError):
                self.scan = _Scan(p)
            else:
                self._done(v, p, end)
                return True
        scan = self.scan
        assert scan is not None
        end = scan.end(t)
        if end is None:  # incomplete: too long already, or wait for more
            if not self.skipping and len(t) - p > MAX_ELEMENT:
                self._too_long(p)
                self.skipping = True
            if self.skipping:  # keep nothing of it: the scan resumes at its own offset
                self.text, self.base = t[scan.pos :], self.base + scan.pos
                scan.start -= scan.pos
                scan.pos, self.pos = 0, 0
            return False
        self.scan = None
        if self.skipping:
            self.skipping = False
            self._after()
            self.pos = end
            return True
        try:  # complete now: parse it once (it may just have been cut before)
            v, vend = _JSON.raw_decode(t[:end], p)
            if vend != end:
                raise ValueError("junk after a value")
        except (ValueError, RecursionError):
            if end - p > MAX_ELEMENT:
                self._too_long(p)
            else:
                self.rejects.reject(f"{self.fmt}.bad_json", f"{self.source}:@{self.base + p}",
                                    t[p:end][:512])  # fmt: skip
            self._after()
            self.pos = end
            return True
        self._done(v, p, vend)
        return True

    def _done(self, v: Any, p: int, end: int) -> None:
        if end - p > MAX_ELEMENT:
            self._too_long(p)
            self._after()
        else:
            self._take(v, p)
        self.pos = end

    def _too_long(self, p: int) -> None:
        self.rejects.reject(f"{self.fmt}.record_too_long", f"{self.source}:@{self.base + p}",
                            self.text[p : p + 256])  # fmt: skip

    def _take(self, v: Any, p: int) -> None:
        if self.state == "keystr":
            self.key, self.state = (v if isinstance(v, str) else ""), "colon"
        elif self.state == "value":
            if isinstance(self.doc, dict):
                self.doc[self.key] = v
            self.state = "key"
        elif self.state == "elems":
            if len(self.items) < MAX_RECORDS:
                self.items.append(v)
            else:
                self.rejects.reject(f"{self.fmt}.too_many_records",
                                    f"{self.source}:@{self.base + p}")  # fmt: skip

    def _after(self) -> None:
        """A bad or skipped value: carry on as if it was there (a key gets a dummy)."""
        if self.state == "keystr":
            self.key, self.state = "", "colon"
        elif self.state == "value":
            self.state = "key"

    def _bad_syntax(self, p: int) -> None:
        """Not JSON where a key, colon or value belongs: drop that document."""
        self.rejects.reject(f"{self.fmt}.bad_json", f"{self.source}:@{self.base + p}",
                            self.text[p : p + 256])  # fmt: skip
        self.doc, self.items, self.state = None, [], "garbage"
        self.garbage, self.garbage_at, self.pos = 0, self.base + p + 1, p + 1

    def _end_garbage(self) -> None:
        if self.garbage:
            self.rejects.reject(f"{self.fmt}.bad_json", f"{self.source}:@{self.garbage_at}",
                                f"{self.garbage} characters outside a document")  # fmt: skip
            self.garbage = 0

    def _finish_doc(self) -> None:
        doc = self.doc
        self.doc, self.items, self.state = None, [], "top"
        self.out.append(self._safe(doc))

    def _trim(self) -> None:
        """Drop what is parsed, so small feeds do not copy a long tail again and again."""
        p = self.pos
        if p > 4096 and p * 2 > len(self.text):
            self.text, self.base, self.pos = self.text[p:], self.base + p, 0
            if self.scan is not None:
                self.scan.pos -= p
                self.scan.start -= p

    def _collect(self) -> Decoded:
        outs, self.out = self.out, []
        if not outs:  # the common case on small feeds: no new arrays for nothing
            return Decoded(_NO_REPORTS, [])
        if len(outs) == 1:
            return outs[0]
        return Decoded(Reports.concat([o.reports for o in outs]),
                       [s for o in outs for s in o.statics])  # fmt: skip

    def _safe(self, doc: Any) -> Decoded:
        try:
            return self.decode_doc(doc)
        except Exception as exc:  # defensive: malformed shapes never escape
            self.rejects.reject(f"{self.fmt}.bad_document", f"{self.source}:0", repr(exc)[:512])
            return Decoded.empty()

    def decode_doc(self, doc: Any) -> Decoded:
        raise NotImplementedError

    def finish(self, rows: _Rows, n_bad: int) -> Decoded:
        return self.finish_built(*rows.build(self.source_code))

    def finish_built(self, rep: Reports, statics: list[Static]) -> Decoded:
        """Count the batch and keep the callsign statics that say something new."""
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
    stream_keys = ("aircraft", "trace")

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
                on_ground=_readsb_ground(alt),
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
                on_ground=_readsb_ground(alt),
                course=p[5], vrate=_f(p[7] if len(p) > 7 else None) * FPM,
                squawk=status.get("squawk"), emergency=status.get("emergency"),
                nic=status.get("nic"), nacp=status.get("nac_p"), sil=status.get("sil"),
                version=status.get("version"), msg=_type_code(p[9] if len(p) > 9 else None),
                raw=i, callsign=_callsign(det.get("flight")) if det else "",
            )  # fmt: skip


def _readsb_ground(alt: Any) -> int | None:
    """readsb writes `alt_baro: "ground"` for an aircraft on the surface; a number is airborne."""
    if alt == "ground":
        return 1
    return 0 if np.isfinite(_f(alt)) else None


def _type_code(v: Any) -> int:
    return READSB_TYPES.index(v) if v in READSB_TYPES else 0


class OpenSkyJson(JsonDocDecoder):
    fmt = "opensky"
    stream_keys = ("states",)

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
                    callsign=_callsign(s[1]), on_ground=s[8],
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
                    on_ground=r.get("onground"),
                )  # fmt: skip
        else:
            self.bad("unknown_shape", 0, str(doc)[:200])
        return self.finish(rows, 0)


# the columns `OpenSkyCsv._columns` reads
USED_COLUMNS = ("time", "icao24", "lat", "lon", "lastposupdate", "velocity", "vertrate",
                "squawk", "baroaltitude", "heading", "onground", "callsign")  # fmt: skip
NUMERIC_COLUMNS = ("time", "lat", "lon", "lastposupdate", "velocity", "vertrate", "squawk",
                   "baroaltitude", "heading")  # fmt: skip
TEXT_COLUMNS = ("icao24", "onground", "callsign")
# a chunk of at least this many plain ASCII lines goes through the compiled loops
# (`OpenSkyCsv._compiled`); fewer, as a live feed's, do not load numba for it
KERNEL_ROWS = 2048


_BROKEN: list[str] = []  # why the compiled loops failed once: the string path since


def _kernels() -> Any:
    """The reader's compiled loops, or None without numba or after they failed once (the
    string path reads all then)."""
    return numba_boot.twin("picket.sources.opensky_kernels", _BROKEN)


def _bounds(kern: Any, a: np.ndarray, n: int, width: int) -> tuple | None:
    """`opensky_kernels.bounds`, or None (and never again) if numba cannot run it."""
    try:
        return kern.bounds(a, n, width, MAX_FIELD)  # type: ignore[no-any-return]
    except Exception as e:  # a broken numba install must not cost any rows
        logger.exception("OpenSky CSV compiled loops failed: the string path from now on")
        _BROKEN.append(repr(e))
        return None


def _texts(a: np.ndarray, s: np.ndarray, e: np.ndarray) -> list[bytes]:
    """The fields [s, e) of `a` (no NUL in them) as bytes, through one fixed-width byte
    matrix rather than a slice per field."""
    ln = e - s
    w = int(ln.max()) if len(ln) else 0
    if w == 0:
        return [b""] * len(s)
    if w > 64:  # a long field: slices
        return [a[i:j].tobytes() for i, j in zip(s.tolist(), e.tolist(), strict=True)]
    k = np.arange(w)
    mat = a.take(np.minimum(s[:, None] + k, len(a) - 1))
    mat[k >= ln[:, None]] = 0  # S strings end at their first trailing NUL
    return mat.view(f"S{w}").ravel().tolist()


def _f_bytes(v: bytes) -> float:
    return _f(v.decode("ascii"))


def _icao_bytes(v: bytes) -> int:
    return _icao(v.decode("ascii"))


def _ground_bytes(v: bytes | None) -> int:
    return _ground(v.decode("ascii") if v is not None else None)


class OpenSkyCsv(LineDecoder):
    """OpenSky historical state-vector CSV (SI units) with a header line.

    Records are lines (`LineFramer`: the same rows whatever the chunking); a line longer
    with a field longer than `MAX_FIELD` is rejected alone (`opensky.field_too_long`), as is
    one over `MAX_ROW` without such a field (`opensky.line_too_long`), and a stray quote
    cannot swallow the lines after it.
    """

    what = "opensky"

    fmt = "opensky"

    def __init__(self, rejects: Rejects, source: str, **_: object) -> None:
        self.frame(rejects, source, MAX_LINE)
        self.header: list[str] | None = None
        self.json = OpenSkyJson(rejects, source)
        self.source_code = SOURCES.code(source)
        self.json.source_code = self.source_code
        self.icao_memo: dict[str, int] = {}  # address text -> 24-bit address, across batches
        self.icao_bytes: dict[bytes, int] = {}  # the same for `_compiled`'s ASCII bytes

    def decode_lines(self, lines: list[bytes], first: int) -> Decoded:
        if self.header is None:
            self.header = [h.strip() for h in csv_line(_text(lines[0]))]
            lines, first = lines[1:], first + 1
        h = {name: k for k, name in enumerate(self.header)}
        need = ("time", "icao24", "lat", "lon")
        if all(k in h for k in need) and (out := self._plain(lines, first, h)) is not None:
            return out
        text = [_text(ln) for ln in lines]
        if any(k not in h for k in need):
            for k, t in enumerate(text):
                if t:
                    self.rejects.reject("opensky.bad_header", f"{self.source}:{first + k}",
                                        t[:512])  # fmt: skip
            return Decoded.empty()
        long = [k for k, t in enumerate(text) if len(t) > MAX_ROW]
        for k in long:  # rejected before the CSV module sees them (its field limit: 128 KiB)
            big = max(map(len, text[k].split(","))) > MAX_FIELD
            reason = "opensky.field_too_long" if big else "opensky.line_too_long"
            self.rejects.reject(reason, f"{self.source}:{first + k} ({len(text[k])} chars)",
                                text[k][:256])  # fmt: skip
            text[k] = ""
        recs = _split_lines(text)
        width, j = len(h), h["icao24"]
        good = self._screen(recs, text, first, width, j)
        cols = list(zip(*[recs[k] for k in good], strict=True)) if good else [()] * width
        return self._columns(cols, good, h, first) or Decoded.empty()

    def _plain(self, lines: list[bytes], first: int, h: dict[str, int]) -> Decoded | None:
        """The common case in a few whole-buffer passes: no quote, CR or NUL, no empty or
        long line, every line with the header's field count and a valid address; None
        otherwise (then every line is judged on its own)."""
        width = len(h)
        if not lines or width != len(self.header or ()):
            return None
        buf = b"\n".join(lines)
        if b"\r" in buf:  # CRLF lines (Python's csv writer): one CR goes, as with rstrip
            buf = b"\n".join([ln[:-1] if ln[-1:] == b"\r" else ln for ln in lines])
        if b'"' in buf or b"\r" in buf or b"\0" in buf:
            return None
        a = np.frombuffer(buf, dtype=np.uint8)
        if len(lines) >= KERNEL_ROWS and buf.isascii() and (kern := _kernels()) is not None:
            got = _bounds(kern, a, len(lines), width)  # with the checks below
            if got is not None:
                start, end, ok = got
                return self._compiled(kern, buf, a, start, end, h, first) if ok else None
        ends = np.append(np.flatnonzero(a == 10), len(a))
        starts = np.concatenate(([0], ends[:-1] + 1))
        lens = ends - starts
        if lens.min() == 0 or lens.max() > MAX_FIELD:  # bytes >= characters
            return None
        commas = np.flatnonzero(a == 44)
        per = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
        if (per != width - 1).any():
            return None
        flat = buf.decode("utf-8", "replace").replace("\n", ",").split(",")
        used = {h[k] for k in USED_COLUMNS if k in h}  # the others are never read
        return self._columns([flat[j::width] if j in used else () for j in range(width)],
                             np.arange(len(lines)), h, first)  # fmt: skip

    def _compiled(self, kern: Any, buf: bytes, a: np.ndarray, start: np.ndarray,
                  end: np.ndarray, h: dict[str, int], first: int) -> Decoded | None:  # fmt: skip
        """`_plain`'s columns without a string per field: the compiled loops found the
        fields (`start`, `end`) and read the plain decimals; `float` reads the rest of the
        numbers (the same values `_floats` gives), and only the text columns become
        strings."""
        n = len(start)
        nums: dict[str, np.ndarray] = {}
        for name in NUMERIC_COLUMNS:
            j = h.get(name)
            if j is None:
                continue
            s, e = start[:, j].copy(), end[:, j].copy()
            x, hard = kern.decimals(a, s, e)
            if hard.any():  # `float` takes ASCII bytes as it takes their text
                rows = np.flatnonzero(hard)
                vals = _texts(a, s[rows], e[rows])
                try:
                    x[rows] = np.fromiter(map(float, vals), np.float64, len(vals))
                except ValueError:
                    x[rows] = np.fromiter(map(_f_bytes, vals), np.float64, len(vals))
            big = np.abs(x) > F4_MAX
            if big.any():
                x[big] = np.copysign(np.inf, x[big])
            nums[name] = x
        j = h["lat"]
        nums["lat_empty"] = start[:, j] == end[:, j]
        txt = {name: _texts(a, start[:, h[name]], end[:, h[name]])
               for name in ("icao24", "onground", "callsign") if name in h}  # fmt: skip
        nums["icao"] = _lookup(txt["icao24"], _icao_bytes, np.int64, n, self.icao_bytes)
        nums["on_ground"] = _lookup(txt.get("onground"), _ground_bytes, np.int64, n)
        cols: list[Sequence[Any]] = [()] * len(h)
        if "callsign" in h:
            cols[h["callsign"]] = txt["callsign"]
        return self._columns(cols, np.arange(n), h, first, nums)

    def _screen(self, recs: list[list[str]], text: list[str], first: int, width: int, j: int
                ) -> list[int]:  # fmt: skip
        """Indices of the well-formed rows; the others are rejected in line order."""
        good = []
        for k, rec in enumerate(recs):
            if not rec:
                continue  # an empty line (an over-long one was counted above or when framed)
            if len(rec) != width or _icao(rec[j]) < 0:
                self.rejects.reject("opensky.bad_line", f"{self.source}:{first + k}",
                                    text[k][:512])  # fmt: skip
            elif len(text[k]) > MAX_FIELD and max(map(len, rec)) > MAX_FIELD:
                self.rejects.reject("opensky.field_too_long", f"{self.source}:{first + k}",
                                    text[k][:512])  # fmt: skip
            else:
                good.append(k)
        return good

    def _columns(self, cols: list[Sequence[str]], idx: Sequence[int], h: dict[str, int],
                 first: int, nums: dict[str, np.ndarray] | None = None
                 ) -> Decoded | None:  # fmt: skip
        """Well-formed rows (line `first + idx[i]`) to one batch, column by column (distinct
        texts looked up once; numbers from `nums` where `_compiled` read them); None if an
        address is invalid."""
        n = len(idx)

        def col(name: str) -> Sequence[str] | None:
            j = h.get(name)
            return cols[j] if j is not None else None

        def num(name: str) -> np.ndarray:
            if nums is not None and name in nums:
                return nums[name]
            return _floats(col(name), n)

        if nums is not None:
            icao = nums["icao"]
        else:
            icao = _lookup(col("icao24"), _icao, np.int64, n, self.icao_memo)
        if (icao < 0).any():
            return None  # `_screen` rejects those rows
        lat_txt = col("lat")
        lat, lon = num("lat"), num("lon")
        t = num("lastposupdate")
        if nums is not None:
            t[nums["lat_empty"]] = np.nan
        else:
            t[np.fromiter(map(len, lat_txt), dtype=np.int64, count=n) == 0] = np.nan
        miss = np.flatnonzero(~np.isfinite(t))  # the report time where no position time is
        if len(miss) and nums is not None:
            t[miss] = num("time")[miss]
        elif len(miss):
            tt = col("time")
            t[miss] = _floats([tt[i] for i in miss.tolist()] if tt is not None else None,
                              len(miss))  # fmt: skip
        speed, vrate = num("velocity"), num("vertrate")
        has_pos = np.isfinite(lat) & np.isfinite(lon)
        kind = np.where(has_pos, Kind.POSITION,
                        np.where(np.isfinite(speed), Kind.VELOCITY, Kind.IDENTITY))  # fmt: skip
        sq = num("squawk")
        ok = np.isfinite(sq) & (sq > -(2**15)) & (sq < 2**15)
        squawk = np.where(ok, np.where(ok, sq, 0).astype(np.int64), -1)
        if nums is not None:
            ground = nums["on_ground"]
        else:
            ground = _lookup(col("onground"), _ground, np.int64, n)
        rep = Reports.build(
            time=t, domain=Domain.AIR, kind=kind, source=self.source_code,
            subject=key(Namespace.ICAO, icao), lat=lat, lon=lon,
            alt=num("baroaltitude"), speed=speed, course=num("heading"),
            vrate=vrate, squawk=squawk,
            emergency=-1, nic=-1, nacp=-1, sil=-1, version=-1, msg=0,
            raw=np.asarray(idx, dtype=np.int64) + first,
            on_ground=ground,
        )  # fmt: skip
        return self.json.finish_built(rep, self._statics(rep, col("callsign"), n))

    @staticmethod
    def _statics(rep: Reports, cs_txt: Sequence[str | bytes] | None, n: int) -> list[Static]:
        """A callsign static where a subject's callsign changes (empty ones say nothing)."""
        if cs_txt is None or n == 0:
            return []
        names: dict[str | bytes, str] = {}
        codes: dict[str | bytes, int] = {}
        numbers: dict[str, int] = {}  # cleaned callsign -> code (0: none)
        for v in set(cs_txt):
            c = _callsign(v.decode("ascii") if isinstance(v, bytes) else v)
            names[v] = c
            codes[v] = numbers.setdefault(c, len(numbers) + 1) if c else 0
        code = np.fromiter(map(codes.__getitem__, cs_txt), dtype=np.int64, count=n)
        rows = np.flatnonzero(code > 0)
        if not len(rows):
            return []
        subj = rep.subject[rows]
        order = np.argsort(subj, kind="stable")
        s, c = subj[order], code[rows][order]
        change = np.ones(len(s), dtype=bool)
        change[1:] = (s[1:] != s[:-1]) | (c[1:] != c[:-1])
        at = np.sort(rows[order[change]])
        return [Static(float(rep.time[i]), int(rep.subject[i]), {"callsign": names[cs_txt[i]]})
                for i in at]  # fmt: skip


_CSV_SPECIAL = re.compile(r'["\r\0]')


def _split_lines(text: list[str]) -> list[list[str]]:
    """CSV fields per line: a plain split where the line has no quote, CR or NUL (what the
    CSV module would give), the CSV module per line otherwise; an empty line has none."""
    if not _CSV_SPECIAL.search("\n".join(text)):
        return [t.split(",") if t else [] for t in text]
    return [
        (csv_line(t) if _CSV_SPECIAL.search(t) else t.split(",")) if t else [] for t in text
    ]


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace").rstrip("\r")


def _floats(col: Sequence[str] | None, n: int) -> np.ndarray:
    """Text column to float64 as `_f` reads each value ("" and junk are NaN; 1e308 is inf
    beyond float32's range, kept for the range check at the door)."""
    if col is None:
        return np.full(n, np.nan)
    vals = [v or "nan" for v in col] if "" in col else col
    try:
        x = np.fromiter(map(float, vals), dtype=np.float64, count=n)
    except ValueError:
        x = np.fromiter(map(_f, vals), dtype=np.float64, count=n)
    big = np.abs(x) > F4_MAX
    if big.any():
        x[big] = np.copysign(np.inf, x[big])
    return x


def _lookup(col: Sequence[str] | None, fn: Any, dtype: Any, n: int,
            memo: dict[str, Any] | None = None) -> np.ndarray:  # fmt: skip
    """`fn` of each value, computed once per distinct text (addresses and flags repeat);
    `memo` keeps the answers across batches (bounded: cleared when it grows large)."""
    if col is None:
        return np.full(n, fn(None), dtype=dtype)
    table = {} if memo is None else memo
    if len(table) > MEMO_MAX:
        table.clear()
    for v in set(col).difference(table):
        table[v] = fn(v)
    return np.fromiter(map(table.__getitem__, col), dtype=dtype, count=n)


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
