"""Decoded AIS in CSV (`ais-csv`): DMA aisdk, NOAA MarineCadastre, Spire-style, plain tracks.

The dialect is recognised from the header line. Rows are split by the `csv`
module a chunk at a time and converted column by column with NumPy (no dict
per row); identity columns are reduced to their distinct values per MMSI
before any Python object is made, and a static is emitted only when a vessel's
identity changes. "Not available" codes (lat 91, lon 181, SOG 102.3, COG 360,
heading 511, 'None', 'Unknown') become missing. A row whose MMSI or time does
not parse, or whose field count is wrong, is rejected as `ais.bad_csv_row`; a line over
`MAX_LINE` as `ais.line_too_long`. Lines are framed byte-exactly (`LineFramer`) and
statics come in row order, so the output does not depend on how the input is cut.
Text fields pass `clean_text` once here.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from picket.codec.ais_decode import ACCURACY_HIGH_M, ACCURACY_LOW_M, KNOT
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import LineFramer, clean_text
from picket.sources.registry import Format, register

F8 = NDArray[np.float64]
S = NDArray[np.str_]
MAX_LINE = 1 << 16
MAX_TEXT = 64  # names, callsigns, destinations: AIS carries at most 20 characters
MISSING_TEXT = ("", "None", "none", "nan", "NaN", "Unknown", "Undefined", "NULL", "null")

NAV_STATUS_TEXT = {
    "under way using engine": 0,
    "at anchor": 1,
    "not under command": 2,
    "restricted maneuverability": 3,
    "restricted manoeuverability": 3,
    "constrained by her draught": 4,
    "moored": 5,
    "aground": 6,
    "engaged in fishing": 7,
    "under way sailing": 8,
    "reserved for future amendment [hsc]": 9,
    "reserved for future amendment [wig]": 10,
    "power-driven vessel towing astern": 11,
    "power-driven vessel pushing ahead or towing alongside": 12,
    "reserved for future use": 13,
    "ais-sart": 14,
    "unknown value": 15,
}
MOBILE_TYPE_MSG = {"Class A": 1, "Class B": 18, "Base Station": 4, "AtoN": 21, "SAR airborne": 9}


class BadRows(ValueError):
    """Raised by a column converter with the mask of rows it could not read."""

    def __init__(self, mask: NDArray[np.bool_]):
        super().__init__("unparsable rows")
        self.mask = mask


# -- column converters (whole columns at once) ------------------------------------------------


def _is_missing(a: S) -> NDArray[np.bool_]:
    return np.isin(np.char.strip(a), MISSING_TEXT)


def num(a: S) -> F8:
    """Numbers; missing text -> NaN; anything else unreadable -> BadRows."""
    a = np.char.strip(a)
    a = np.where(np.isin(a, MISSING_TEXT), "nan", a)
    try:
        return a.astype(np.float64)
    except ValueError:
        out = np.full(len(a), np.nan)
        bad = np.zeros(len(a), bool)
        for i, s in enumerate(a.tolist()):
            try:
                out[i] = float(s)
            except ValueError:
                bad[i] = True
        raise BadRows(bad) from None


def _iso_times(a: S) -> F8:
    """ISO 8601 times, UTC; a trailing 'Z' is accepted (numpy would only warn about it)."""
    a = np.char.rstrip(a, "Z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # explicit offsets: numpy converts them to UTC and warns
        try:
            t = a.astype("datetime64[ms]")
        except ValueError:
            bad = np.zeros(len(a), bool)
            for i, s in enumerate(a.tolist()):
                try:
                    np.datetime64(s, "ms")
                except ValueError:
                    bad[i] = True
            raise BadRows(bad) from None
    out = t.astype(np.int64) / 1000.0
    out[np.isnat(t)] = np.nan
    if np.isnan(out).any():
        raise BadRows(np.isnan(out))
    return out


def _reorder(a: S, width: int, order: list[int | str]) -> S:
    """Rebuild fixed-width date strings as ISO by picking byte positions (no per-row Python)."""
    b = np.char.encode(np.char.strip(a), "ascii", "replace").astype(f"S{width}")
    m = b.view(np.uint8).reshape(len(b), width)
    cols = [m[:, o : o + 1] if isinstance(o, int) else np.full((len(b), 1), ord(o), np.uint8)
            for o in order]  # fmt: skip
    iso = np.ascontiguousarray(np.concatenate(cols, axis=1)).view(f"S{len(order)}").ravel()
    bad = np.char.str_len(b) != width
    iso = np.where(bad, b"NaT", iso)
    t = _iso_times(iso.astype(str))
    t[bad] = np.nan
    if bad.any():
        raise BadRows(bad)
    return t


def dma_time(a: S) -> F8:
    """'01/06/2018 00:00:00' (day first) -> unix seconds."""
    return _reorder(a, 19, [6, 7, 8, 9, "-", 3, 4, "-", 0, 1, "T", *range(11, 19)])


def spire_time(a: S, ms: S) -> F8:
    """'20210701_185151' plus a millisecond column -> unix seconds."""
    t = _reorder(a, 15, [0, 1, 2, 3, "-", 4, 5, "-", 6, 7, "T", 9, 10, ":", 11, 12, ":", 13, 14])
    m = num(ms)
    return t + np.where(np.isfinite(m), m, 0.0) / 1000.0


def _int_or_none(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(f) if np.isfinite(f) and f > 0 else None


def _text_or_none(v: Any) -> str | None:
    s = clean_text(str(v), MAX_TEXT)
    return None if s in MISSING_TEXT else s


def _imo(v: Any) -> int | None:
    s = str(v).strip().upper().removeprefix("IMO")
    return _int_or_none(s) if s.isdigit() else None


def _metres(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None


def _decimetres(v: Any) -> float | None:
    m = _metres(v)
    return m / 10.0 if m is not None else None


# -- dialects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    name: str
    marker: tuple[str, ...]  # header columns that identify the dialect
    mmsi: str
    time: Callable[[dict[str, S]], F8]
    lat: str
    lon: str
    sog_kn: str | None = None
    cog: str | None = None
    heading: str | None = None
    nav_status: str | None = None
    msg: Callable[[dict[str, S]], NDArray[np.int64]] | None = None
    accuracy: str | None = None
    statics: tuple[tuple[str, str, Callable[[Any], Any]], ...] = ()  # (field, column, convert)


def _nav_text(a: S) -> NDArray[np.int64]:
    u, inv = np.unique(np.char.lower(np.char.strip(a)), return_inverse=True)
    codes = np.array([NAV_STATUS_TEXT.get(s, -1) for s in u.tolist()], np.int64)
    return codes[inv.ravel()] if len(u) else np.zeros(0, np.int64)


def _mobile_msg(c: dict[str, S]) -> NDArray[np.int64]:
    a = np.char.strip(c["Type of mobile"])
    u, inv = np.unique(a, return_inverse=True)
    codes = np.array([MOBILE_TYPE_MSG.get(s, 0) for s in u.tolist()], np.int64)
    return codes[inv.ravel()] if len(u) else np.zeros(0, np.int64)


def _class_msg(c: dict[str, S]) -> NDArray[np.int64]:
    a = np.char.strip(c["TransceiverClass"])
    return np.where(a == "A", 1, np.where(a == "B", 18, 0)).astype(np.int64)


def _spire_msg(c: dict[str, S]) -> NDArray[np.int64]:
    m = num(c["Message_ID"])
    if not np.isfinite(m).all():
        raise BadRows(~np.isfinite(m))
    return m.astype(np.int64)


DIMS = (
    ("to_bow", "Dimension_to_Bow", _int_or_none),
    ("to_stern", "Dimension_to_stern", _int_or_none),
    ("to_port", "Dimension_to_port", _int_or_none),
    ("to_starboard", "Dimension_to_starboard", _int_or_none),
)

DIALECTS = (
    Dialect(
        name="dma-aisdk",
        marker=("# Timestamp", "Type of mobile", "MMSI", "Latitude", "Longitude"),
        mmsi="MMSI",
        time=lambda c: dma_time(c["# Timestamp"]),
        lat="Latitude",
        lon="Longitude",
        sog_kn="SOG",
        cog="COG",
        heading="Heading",
        nav_status="Navigational status",
        msg=_mobile_msg,
        statics=(
            ("name", "Name", _text_or_none),
            ("callsign", "Callsign", _text_or_none),
            ("imo", "IMO", _imo),
            ("ship_type_name", "Ship type", _text_or_none),
            ("length", "Length", _metres),
            ("width", "Width", _metres),
            ("draught", "Draught", _metres),
            ("destination", "Destination", _text_or_none),
            ("eta", "ETA", _text_or_none),
        ),
    ),
    Dialect(
        name="noaa-marinecadastre",
        marker=("MMSI", "BaseDateTime", "LAT", "LON"),
        mmsi="MMSI",
        time=lambda c: _iso_times(np.char.strip(c["BaseDateTime"])),
        lat="LAT",
        lon="LON",
        sog_kn="SOG",
        cog="COG",
        heading="Heading",
        nav_status="Status",
        msg=lambda c: _class_msg(c) if "TransceiverClass" in c else np.zeros(len(c["MMSI"]), int),
        statics=(
            ("name", "VesselName", _text_or_none),
            ("callsign", "CallSign", _text_or_none),
            ("imo", "IMO", _imo),
            ("ship_type", "VesselType", _int_or_none),
            ("length", "Length", _metres),
            ("width", "Width", _metres),
            ("draught", "Draft", _metres),
        ),
    ),
    Dialect(
        name="spire",
        marker=("MMSI", "Message_ID", "Time", "Millisecond", "Longitude", "Latitude"),
        mmsi="MMSI",
        time=lambda c: spire_time(c["Time"], c["Millisecond"]),
        lat="Latitude",
        lon="Longitude",
        sog_kn="SOG",
        cog="COG",
        heading="Heading",
        nav_status="Navigational_status",
        msg=_spire_msg,
        accuracy="Accuracy",
        statics=(
            ("name", "Vessel_Name", _text_or_none),
            ("callsign", "Call_sign", _text_or_none),
            ("imo", "IMO", _int_or_none),
            ("ship_type", "Ship_Type", _int_or_none),
            *DIMS,
            ("draught", "Draught", _decimetres),  # the raw AIS field, in 0.1 m
            ("destination", "Destination", _text_or_none),
            ("aid_name", "ATON_name", _text_or_none),
            ("aid_type", "ATON_type", _int_or_none),
        ),
    ),
    Dialect(
        name="track-csv",
        marker=("Time", "MMSI", "Latitude_degrees", "Longitude_degrees"),
        mmsi="MMSI",
        time=lambda c: _iso_times(np.char.strip(c["Time"])),
        lat="Latitude_degrees",
        lon="Longitude_degrees",
        sog_kn="SOG_knots",
        cog="COG_degrees",
    ),
)
POSITION_MSGS = (0, 1, 2, 3, 4, 9, 18, 19, 21, 27)
IDENTITY_MSGS = (5, 24)


def dialect_of(header: list[str]) -> Dialect | None:
    names = [h.strip() for h in header]
    for d in DIALECTS:
        if all(m in names for m in d.marker):
            return d
    return None


# -- decoder ----------------------------------------------------------------------------------


class AisCsvDecoder:
    """Incremental: whole lines per chunk; the header line picks the dialect."""

    def __init__(self, rejects: Rejects, source: str):
        self.rejects = rejects
        self.source = source
        self._source_code = SOURCES.code(source)
        self._lines = LineFramer(rejects, source, "ais.line_too_long", MAX_LINE)
        self._header: list[str] | None = None
        self._dialect: Dialect | None = None
        self._statics: dict[int, dict[str, Any]] = {}
        self._parsed: dict[str, np.ndarray] = {}  # columns converted while validating a chunk

    def feed(self, data: bytes) -> Decoded:
        return self._safe(*self._lines.feed(data))

    def flush(self) -> Decoded:
        return self._safe(*self._lines.flush())

    def _where(self, line_no: int) -> str:
        return f"{self.source}:{line_no}"

    def _safe(self, lines: list[bytes], first: int) -> Decoded:
        numbered = [(first + i, x) for i, x in enumerate(lines) if x.strip(b" \t\r")]
        if not numbered:
            return Decoded.empty()
        accepted, counts = self.rejects.accepted, self.rejects.counts.copy()
        try:
            return self._decode(numbered)
        except Exception:  # never let a bug take a replay down; count what it cost
            self.rejects.accepted, self.rejects.counts = accepted, counts  # count each line once
            for no, raw in numbered:
                self.rejects.reject("ais.internal_error", self._where(no), raw)
            return Decoded.empty()

    def _decode(self, numbered: list[tuple[int, bytes]]) -> Decoded:
        if self._header is None:
            no, raw = numbered.pop(0)
            self._header = _split_line(raw.decode("utf-8", "replace").strip("\r").lstrip("\ufeff"))
            self._dialect = dialect_of(self._header)
            if self._dialect is None:
                self.rejects.reject("ais.csv_unknown_header", self._where(no), raw)
        if self._dialect is None:
            for no, raw in numbered:
                self.rejects.reject("ais.csv_unknown_header", self._where(no), raw)
            return Decoded.empty()
        if not numbered:
            return Decoded.empty()
        nos = np.array([no for no, _ in numbered], np.int64)
        text = [raw.decode("utf-8", "replace").rstrip("\r") for _, raw in numbered]
        ncols = len(self._header)
        try:
            rows = list(csv.reader(io.StringIO("\n".join(text))))
        except csv.Error:  # NUL bytes and the like: find the culprits line by line
            rows = []
        if len(rows) != len(text):  # (also when a stray quote swallowed line breaks)
            rows = [_split_line(t) for t in text]
        ok = np.array([len(r) == ncols for r in rows], bool)
        good = [r for r, k in zip(rows, ok, strict=True) if k]
        if good:
            columns = zip(*good, strict=True)
            cols = {
                h.strip(): np.array(c, dtype=str)
                for h, c in zip(self._header, columns, strict=True)
            }
        else:
            cols = {h.strip(): np.zeros(0, dtype=str) for h in self._header}
        keep = self._convert_ok(cols, len(good))
        idx_ok = np.flatnonzero(ok)
        bad_rows = np.concatenate([np.flatnonzero(~ok), idx_ok[~keep]])
        for i in np.sort(bad_rows).tolist():
            self.rejects.reject("ais.bad_csv_row", self._where(int(nos[i])), numbered[i][1])
        cols = {k: v[keep] for k, v in cols.items()}
        return self._reports(cols, nos[idx_ok[keep]], numbered, idx_ok[keep])

    def _convert_ok(self, cols: dict[str, S], n: int) -> NDArray[np.bool_]:
        """Rows whose MMSI, time and numeric columns all parse (parsed columns are kept)."""
        d = self._dialect
        assert d is not None
        keep = np.ones(n, bool)
        self._parsed = {}
        for name, conv in self._converters(cols):
            try:
                self._parsed[name] = conv()
            except BadRows as e:
                keep &= ~e.mask
        mmsi = num(np.where(keep, cols[d.mmsi], "0")) if n else np.zeros(0)
        keep &= np.isfinite(mmsi) & (mmsi >= 0) & (mmsi < 1e9) & (mmsi == np.round(mmsi))
        self._parsed = (
            {k: v[keep] for k, v in self._parsed.items()} if not keep.all() else self._parsed
        )
        return keep

    def _converters(self, cols: dict[str, S]) -> list[tuple[str, Callable[[], np.ndarray]]]:
        d = self._dialect
        assert d is not None
        out: list[tuple[str, Callable[[], np.ndarray]]] = [
            ("mmsi", lambda: num(cols[d.mmsi])),
            ("time", lambda: d.time(cols)),
        ]
        nav = d.nav_status if d.name != "dma-aisdk" else None  # aisdk writes it as text
        for c in (d.lat, d.lon, d.sog_kn, d.cog, d.heading, d.accuracy, nav):
            if c is not None and c in cols:
                out.append((c, lambda c=c: num(cols[c])))
        if d.msg is not None:
            msg = d.msg
            out.append(("msg", lambda: msg(cols)))
        return out

    def _reports(
        self, cols: dict[str, S], line_no: NDArray[np.int64], numbered: list, idx: NDArray
    ) -> Decoded:
        d = self._dialect
        assert d is not None
        n = len(line_no)
        if n == 0:
            return Decoded.empty()
        conv = dict(self._converters(cols))

        def parsed(name: str | None) -> np.ndarray:
            if name is None or name not in conv:
                return np.full(n, np.nan)
            v = self._parsed.get(name)
            return (v if v is not None else conv[name]()).copy()

        mmsi = parsed("mmsi").astype(np.int64)
        subject = key(Namespace.MMSI, mmsi)
        t = parsed("time")
        msg = parsed("msg").astype(np.int64) if d.msg is not None else np.zeros(n, np.int64)
        lat, lon = parsed(d.lat), parsed(d.lon)
        lat[np.abs(lat) > 90] = np.nan
        lon[np.abs(lon) > 180] = np.nan
        sog, cog, hdg = parsed(d.sog_kn), parsed(d.cog), parsed(d.heading)
        sog[(sog >= 102.25) | (sog < 0)] = np.nan
        cog[(cog >= 360) | (cog < 0)] = np.nan
        hdg[(hdg >= 360) | (hdg < 0)] = np.nan
        nav = np.full(n, -1, np.int64)
        if d.nav_status is not None and d.nav_status in cols:
            v = parsed(d.nav_status) if d.name != "dma-aisdk" else _nav_text(cols[d.nav_status])
            v = v.astype(float)
            nav = np.where(np.isfinite(v) & (v >= 0) & (v <= 15), v, -1).astype(np.int64)
        acc = parsed(d.accuracy)
        acc = np.where(acc == 1, ACCURACY_HIGH_M, np.where(acc == 0, ACCURACY_LOW_M, np.nan))

        unsupported = ~np.isin(msg, POSITION_MSGS + IDENTITY_MSGS)
        for i in np.flatnonzero(unsupported).tolist():
            j = int(idx[i])
            self.rejects.reject(
                "ais.unsupported_type", self._where(int(line_no[i])), numbered[j][1]
            )
        use = ~unsupported
        self.rejects.accept(int(use.sum()))
        kind = np.where(np.isin(msg, IDENTITY_MSGS), Kind.IDENTITY, Kind.POSITION)
        reports = Reports.build(
            n=n,
            time=t,
            domain=Domain.MARITIME,
            kind=kind,
            source=self._source_code,
            subject=subject,
            lat=np.where(kind == Kind.POSITION, lat, np.nan),
            lon=np.where(kind == Kind.POSITION, lon, np.nan),
            speed=sog * KNOT,
            course=cog,
            heading=hdg,
            nav_status=nav,
            accuracy=acc,
            msg=msg,
            raw=line_no,
        ).where(use)
        statics = self._statics_of(cols, subject, t, msg, use)
        return Decoded(reports, statics)

    def _statics_of(
        self, cols: dict[str, S], subject: NDArray[np.int64], t: F8, msg: NDArray, use: NDArray
    ) -> list[Static]:
        """Distinct identity rows per MMSI; a static only when a vessel's identity changes."""
        d = self._dialect
        assert d is not None
        fields = [(f, c, conv) for f, c, conv in d.statics if c in cols]
        out: list[Static] = []
        cand = np.zeros(0, np.int64)
        table = np.zeros((len(subject), 0), str)
        if fields:
            table = np.stack([np.char.strip(cols[c]) for _, c, _ in fields], axis=1)
            rows = np.flatnonzero(~np.isin(table, MISSING_TEXT).all(axis=1) & use)
            if len(rows):  # a row equal to the previous one of its vessel changes nothing
                o = rows[np.lexsort((rows, subject[rows]))]
                same = np.zeros(len(o), bool)
                same[1:] = (subject[o[1:]] == subject[o[:-1]]) & (
                    table[o[1:]] == table[o[:-1]]).all(axis=1)  # fmt: skip
                cand = np.sort(o[~same])
        base = np.flatnonzero((msg == 4) & use)
        ident = set(cand.tolist())
        for i in np.union1d(cand, base).astype(np.int64).tolist():  # row order: chunk-proof
            if i in ident:
                f = {name: conv(table[i, k]) for k, (name, _, conv) in enumerate(fields)}
                out += self._emit(int(subject[i]), float(t[i]), f)
            if msg[i] == 4:
                out += self._emit(int(subject[i]), float(t[i]), {"base_station": True})
        return out

    def _emit(self, subject: int, time: float, fields: dict[str, Any]) -> list[Static]:
        aid_name = fields.pop("aid_name", None)
        if aid_name is not None:
            fields["name"] = aid_name
        fields = {k: v for k, v in fields.items() if v is not None}
        if not fields:
            return []
        known = self._statics.setdefault(subject, {})
        if all(known.get(k) == v for k, v in fields.items()):
            return []
        known.update(fields)
        return [Static(time, subject, fields)]


def _split_line(text: str) -> list[str]:
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return []


def sniff(head: bytes, name: str) -> bool:
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lstrip("\ufeff")
    return dialect_of(next(csv.reader([first]), [])) is not None


FORMAT = register(
    Format(
        name="ais-csv",
        domain="maritime",
        description="decoded AIS CSV: DMA aisdk, NOAA MarineCadastre, Spire-style, plain tracks",
        sniff=sniff,
        decoder=AisCsvDecoder,
        priority=5,
    )
)
