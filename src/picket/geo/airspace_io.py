"""Airspace files into zone Features: OpenAir text, openAIP v2 JSON and legacy openAIP XML.

Airspace comes as aeronautical text, not GeoJSON: OpenAir draws circles and arcs around a
centre, and openAIP gives vertical limits as (value, unit, datum) codes. Both end as the same
`zone_io.Feature` the GeoJSON and KML readers make, so `ZoneSet` and the detectors need not
know where a zone came from. The zone model is two-dimensional; vertical limits go into the
properties (`floor_m`, `ceiling_m` in metres above `floor_ref`/`ceiling_ref`: GND, MSL, or
STD for flight levels, which are pressure altitudes; unlimited is +inf).

Arcs and circles are geodesics on the WGS84 ellipsoid (Vincenty's direct and inverse
solutions, good to well under a millimetre at airspace radii), sampled every <= 2 degrees of
bearing. A spherical destination would put a 5 NM circle tens of metres off.

Kinds follow the detectors' vocabulary: prohibited, restricted, danger (watched by
`air.airspace_entry`), fir (a border for `air.transponder_loss`), airspace (ADIZ), controlled
(ICAO classes, CTR, TMA...: routine, not watched by default) and other (gliding, wave...).

Nothing raises. OpenAir lines that cannot be used are counted as ``openair.<reason>`` with
``where`` = file:line; an airspace with a bad geometry line is dropped whole (its shape would
be wrong), counted once per bad line. openAIP items are counted as ``openaip.<reason>`` at
file:items[i] (JSON) or file:line (XML).
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
from numpy.typing import ArrayLike, NDArray

from picket.geo.geodesy import FOOT, NM, WGS84_A, WGS84_F
from picket.geo.zone_io import (
    DEFAULT_CORRIDOR_M,
    BadFeature,
    Collector,
    Feature,
    _local,
    geojson_geometry,
    parse_xml,
    positions,
)
from picket.model.rejects import Rejects

log = logging.getLogger(__name__)

F8 = NDArray[np.float64]
ARC_STEP_DEG = 2.0  # the most bearing between two vertices of an arc or circle
_B = WGS84_A * (1 - WGS84_F)

# ---------------------------------------------------------------- kinds


_KINDS: dict[str, tuple[str, ...]] = {
    "prohibited": ("P", "PROHIBITED"),
    "restricted": ("R", "RESTRICTED", "TRA", "TSA", "TFR", "MTA", "PROTECTED",
                   "PROTECTED AREA", "LOW ALTITUDE OVERFLIGHT RESTRICTION"),
    "danger": ("Q", "DANGER", "ALERT", "ALERT AREA", "WARNING", "WARNING AREA"),
    "fir": ("FIR", "UIR"),
    "airspace": ("ADIZ",),
    "controlled": ("A", "B", "C", "D", "E", "F", "G", "CTR", "TMA", "CTA", "ATZ", "MATZ",
                   "TMZ", "RMZ", "TIZ", "TIA", "HTZ", "MCTR", "LTA", "UTA", "ACC SECTOR",
                   "FIS SECTOR"),
}  # fmt: skip
KIND_OF_TYPE = {t: k for k, types in _KINDS.items() for t in types}

# openAIP v2 API codes
OPENAIP_TYPES = ("Other", "Restricted", "Danger", "Prohibited", "CTR", "TMZ", "RMZ", "TMA",
                 "TRA", "TSA", "FIR", "UIR", "ADIZ", "ATZ", "MATZ", "Airway", "MTR",
                 "Alert Area", "Warning Area", "Protected Area", "HTZ", "Gliding Sector", "TRP",
                 "TIZ", "TIA", "MTA", "CTA", "ACC Sector",
                 "Aerial Sporting Or Recreational Activity",
                 "Low Altitude Overflight Restriction", "MRT", "TFR", "VFR Sector", "FIS Sector",
                 "LTA", "UTA", "MCTR")  # fmt: skip
OPENAIP_CLASSES = {0: "A", 1: "B", 2: "C", 3: "D", 4: "E", 5: "F", 6: "G", 8: "SUA"}
OPENAIP_UNITS = {0: 1.0, 1: FOOT, 6: 100 * FOOT}  # metre, foot, flight level
OPENAIP_DATUMS = {0: "GND", 1: "MSL", 2: "STD"}


def airspace_kind(*types: str | None) -> str:
    """The first of `types` (specific first: type, then class) that names a known kind."""
    for t in types:
        if t:
            k = KIND_OF_TYPE.get(" ".join(t.upper().replace("_", " ").split()))
            if k:
                return k
    return "other"


# ---------------------------------------------------------------- WGS84 geodesics


def _series(c2a: F8) -> tuple[F8, F8]:
    """Vincenty's A and B series in u² for the reduced-latitude geodesic."""
    u2 = c2a * (WGS84_A**2 - _B**2) / _B**2
    big_a = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    big_b = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    return big_a, big_b


def _delta_sigma(big_b: F8, ss: F8, cs: F8, c2sm: F8) -> F8:
    t = cs * (-1 + 2 * c2sm**2) - big_b / 6 * c2sm * (-3 + 4 * ss**2) * (-3 + 4 * c2sm**2)
    return big_b * ss * (c2sm + big_b / 4 * t)


def geodesic_direct(
    lat: ArrayLike, lon: ArrayLike, azimuth_deg: ArrayLike, dist_m: ArrayLike
) -> tuple[F8, F8]:
    """Point `dist_m` along the WGS84 geodesic leaving (lat, lon) at `azimuth_deg` (Vincenty)."""
    lat, lon, az, s = np.broadcast_arrays(*(np.asarray(v, float) for v in
                                            (lat, lon, azimuth_deg, dist_m)))  # fmt: skip
    f = WGS84_F
    a1 = np.radians(az)
    sa1, ca1 = np.sin(a1), np.cos(a1)
    tu1 = (1 - f) * np.tan(np.radians(lat))
    cu1 = 1 / np.sqrt(1 + tu1 * tu1)
    su1 = tu1 * cu1
    sig1 = np.arctan2(tu1, ca1)
    salpha = cu1 * sa1
    c2a = 1 - salpha * salpha
    big_a, big_b = _series(c2a)
    sig = s / (_B * big_a)
    for _ in range(20):
        c2sm = np.cos(2 * sig1 + sig)
        ss, cs = np.sin(sig), np.cos(sig)
        new = s / (_B * big_a) + _delta_sigma(big_b, ss, cs, c2sm)
        done = np.all(np.abs(new - sig) < 1e-13)
        sig = new
        if done:
            break
    c2sm = np.cos(2 * sig1 + sig)
    ss, cs = np.sin(sig), np.cos(sig)
    x = su1 * ss - cu1 * cs * ca1
    lat2 = np.arctan2(su1 * cs + cu1 * ss * ca1, (1 - f) * np.sqrt(salpha**2 + x**2))
    lam = np.arctan2(ss * sa1, cu1 * cs - su1 * ss * ca1)
    c = f / 16 * c2a * (4 + f * (4 - 3 * c2a))
    big_l = lam - (1 - c) * f * salpha * (sig + c * ss * (c2sm + c * cs * (-1 + 2 * c2sm**2)))
    lon2 = (lon + np.degrees(big_l) + 540.0) % 360.0 - 180.0
    return np.degrees(lat2), lon2


def geodesic_inverse(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> tuple[F8, F8]:
    """WGS84 geodesic distance (m) and initial azimuth (deg) from point 1 to 2 (Vincenty).

    Converges for all but nearly antipodal pairs, which airspace arcs never are."""
    la1, lo1, la2, lo2 = np.broadcast_arrays(*(np.asarray(v, float) for v in
                                               (lat1, lon1, lat2, lon2)))  # fmt: skip
    f = WGS84_F
    big_l = np.radians(lo2 - lo1)
    u1 = np.arctan((1 - f) * np.tan(np.radians(la1)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(la2)))
    su1, cu1, su2, cu2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    lam = big_l
    for _ in range(200):
        sl, cl = np.sin(lam), np.cos(lam)
        ss = np.hypot(cu2 * sl, cu1 * su2 - su1 * cu2 * cl)
        cs = su1 * su2 + cu1 * cu2 * cl
        sig = np.arctan2(ss, cs)
        sa = np.where(ss > 0, cu1 * cu2 * sl / np.where(ss > 0, ss, 1.0), 0.0)
        c2a = 1 - sa * sa
        c2sm = np.where(c2a > 0, cs - 2 * su1 * su2 / np.where(c2a > 0, c2a, 1.0), 0.0)
        c = f / 16 * c2a * (4 + f * (4 - 3 * c2a))
        new = big_l + (1 - c) * f * sa * (sig + c * ss * (c2sm + c * cs * (-1 + 2 * c2sm**2)))
        done = np.all(np.abs(new - lam) < 1e-13)
        lam = new
        if done:
            break
    big_a, big_b = _series(c2a)
    dist = _B * big_a * (sig - _delta_sigma(big_b, ss, cs, c2sm))
    az = np.degrees(np.arctan2(cu2 * np.sin(lam), cu1 * su2 - su1 * cu2 * np.cos(lam))) % 360.0
    return np.where(ss > 0, dist, 0.0), np.where(ss > 0, az, 0.0)


def arc_points(
    lat: float,
    lon: float,
    r_start_m: float,
    r_end_m: float,
    az_start_deg: float,
    sweep_deg: float,
    step_deg: float = ARC_STEP_DEG,
) -> F8:
    """(n, 2) lon/lat vertices of a geodesic arc about (lat, lon): bearing from `az_start_deg`
    turning `sweep_deg` (positive clockwise), radius moving linearly from start to end."""
    k = max(1, math.ceil(abs(sweep_deg) / step_deg - 1e-9))
    frac = np.linspace(0.0, 1.0, k + 1)
    la, lo = geodesic_direct(lat, lon, az_start_deg + sweep_deg * frac,
                             r_start_m + (r_end_m - r_start_m) * frac)  # fmt: skip
    return np.column_stack([lo, la])


def circle_points(lat: float, lon: float, radius_m: float) -> F8:
    """A closed ring of a geodesic circle, first vertex due north of the centre."""
    ring = arc_points(lat, lon, radius_m, radius_m, 0.0, 360.0)
    ring[-1] = ring[0]
    return ring


# ---------------------------------------------------------------- vertical limits

_FL = re.compile(r"FL(\d+(?:\.\d+)?)")
_HEIGHT = re.compile(r"([-+]?\d+(?:\.\d+)?)(FT|F|M)?(AMSL|MSL|AGL|AGND|GND|SFC|ASFC|ALT|STD)?")
_GROUND = {"GND", "SFC", "AGL", "ASFC", "GROUND", "SURFACE"}
_UNLIMITED = {"UNL", "UNLTD", "UNLIM", "UNLIMITED", "NOLIMIT"}


def openair_limit(text: str) -> tuple[float, str] | None:
    """(metres, reference) of an OpenAir AL/AH value: FL95, 3500ft MSL, 1000 AGL, GND, UNL."""
    t = "".join(text.upper().split())
    if t in _GROUND:
        return 0.0, "GND"
    if t in _UNLIMITED:
        return math.inf, "UNL"
    if t == "MSL":
        return 0.0, "MSL"
    m = _FL.fullmatch(t)
    if m:
        return float(m.group(1)) * 100 * FOOT, "STD"
    m = _HEIGHT.fullmatch(t)
    if not m:
        return None
    scale = 1.0 if m.group(2) == "M" else FOOT
    ref = m.group(3) or "MSL"
    ref = "GND" if ref in ("AGL", "AGND", "GND", "SFC", "ASFC") else ref
    ref = "MSL" if ref in ("AMSL", "ALT") else ref
    return float(m.group(1)) * scale, ref


def _set_limit(props: dict[str, Any], which: str, text: str, value: tuple[float, str]) -> None:
    props[which] = text
    props[f"{which}_m"], props[f"{which}_ref"] = value


# ---------------------------------------------------------------- OpenAir coordinates

_COMPONENT = r"(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?(?::(\d+(?:\.\d+)?))?\s*"
COORD = re.compile(_COMPONENT + r"([NS])\s*,?\s*" + _COMPONENT + r"([EW])", re.IGNORECASE)


def _angle(deg: str, mins: str | None, secs: str | None) -> float | None:
    """Degrees from D[:M[:S]] text; a fractional part only in the last field."""
    if (mins is not None and "." in deg) or (secs is not None and mins and "." in mins):
        return None
    d = float(deg)
    m = float(mins) if mins is not None else 0.0
    s = float(secs) if secs is not None else 0.0
    if m >= 60 or s >= 60:
        return None
    return d + m / 60 + s / 3600


def _coord(m: re.Match[str]) -> tuple[float, float] | None:
    g = m.groups()
    lat, lon = _angle(*g[0:3]), _angle(*g[4:7])
    if lat is None or lon is None or lat > 90 or lon > 180:
        return None
    return (-lat if g[3].upper() == "S" else lat), (-lon if g[7].upper() == "W" else lon)


def openair_coords(text: str) -> list[tuple[float, float]] | None:
    """(lat, lon) pairs of a line's coordinates; None unless the whole text is coordinates."""
    out, pos = [], 0
    text = text.strip()
    for m in COORD.finditer(text):
        if text[pos : m.start()].strip(" ,\t"):
            return None
        c = _coord(m)
        if c is None:
            return None
        out.append(c)
        pos = m.end()
    if text[pos:].strip(" ,\t") or not out:
        return None
    return out


# ---------------------------------------------------------------- OpenAir

_GEOMETRY_RECORDS = {"DP", "DA", "DB", "DC", "DY"}
_IGNORED_RECORDS = {"SP", "SB", "AT"}  # styles and label positions: no bearing on the zone
_NOTE_RECORDS = {"AY": "type", "AF": "frequency", "AG": "station", "AI": "id", "AA": "activation"}


@dataclass
class _Airspace:
    line: int
    cls: str
    props: dict[str, Any] = field(default_factory=dict)
    ring: list[F8] = field(default_factory=list)
    circle: F8 | None = None
    centre: tuple[float, float] | None = None
    clockwise: bool = True
    bad: bool = False


class _OpenAirReader:
    def __init__(self, source: str, rejects: Rejects, out: Collector):
        self.source, self.rejects, self.out = source, rejects, out
        self.cur: _Airspace | None = None
        self.count = 0

    def bad(self, reason: str, line_no: int, line: str, drop: bool = True) -> None:
        self.rejects.reject(f"openair.{reason}", f"{self.source}:{line_no}", line)
        if drop and self.cur is not None:
            self.cur.bad = True

    def line(self, no: int, raw: str) -> None:
        text = raw.strip()
        if not text or text.startswith("*"):
            return
        rec, _, rest = text.partition(" ")
        rec = rec.upper()
        if rec == "V" or rec in _GEOMETRY_RECORDS:
            rest = rest.split("*", 1)[0]  # trailing comment
        rest = rest.strip()
        if rec == "AC":
            self.finish()
            self.cur = _Airspace(no, rest.upper())
            return
        a = self.cur
        if a is None:
            if rec in _IGNORED_RECORDS:
                return
            self.bad("outside_airspace", no, raw, drop=False)
            return
        if rec == "AN":
            a.props["name"] = rest
        elif rec in ("AL", "AH"):
            which = "floor" if rec == "AL" else "ceiling"
            value = openair_limit(rest)
            if value is None:
                a.props[which] = rest
                self.bad("bad_altitude", no, raw, drop=False)
            else:
                _set_limit(a.props, which, rest, value)
        elif rec in _NOTE_RECORDS:
            a.props[_NOTE_RECORDS[rec]] = rest
        elif rec in _IGNORED_RECORDS:
            return
        elif rec == "V":
            self.variable(no, raw, rest)
        elif rec in _GEOMETRY_RECORDS:
            if a.circle is not None:
                self.bad("geometry_after_circle", no, raw)
                return
            self.geometry(no, raw, rec, rest)
        else:
            self.bad("unknown_record", no, raw, drop=False)

    def variable(self, no: int, raw: str, rest: str) -> None:
        a = self.cur
        assert a is not None
        name, _, value = rest.partition("=")
        name, value = name.strip().upper(), value.strip()
        if name == "X":
            c = openair_coords(value)
            if c is None or len(c) != 1:
                self.bad("bad_coordinate", no, raw)
                return
            a.centre = c[0]
        elif name == "D":
            if value not in ("+", "-"):
                self.bad("bad_direction", no, raw)  # the arcs that follow would turn wrongly
                return
            a.clockwise = value == "+"
        elif name in ("W", "Z"):  # airway width, display zoom: not used by zones
            return
        else:
            self.bad("unknown_variable", no, raw, drop=False)

    def geometry(self, no: int, raw: str, rec: str, rest: str) -> None:
        a = self.cur
        assert a is not None
        if rec == "DY":
            self.bad("unsupported_airway", no, raw)
            return
        if rec == "DP":
            c = openair_coords(rest)
            if c is None or len(c) != 1:
                self.bad("bad_coordinate", no, raw)
                return
            a.ring.append(np.array([[c[0][1], c[0][0]]]))
            return
        if a.centre is None:
            self.bad("no_centre", no, raw)
            return
        clat, clon = a.centre
        if rec == "DC":
            r = _number(rest)
            if r is None or not 0 < r <= 1000:
                self.bad("bad_radius", no, raw)
                return
            if a.ring:
                self.bad("circle_after_points", no, raw)
                return
            a.circle = circle_points(clat, clon, r * NM)
        elif rec == "DA":
            nums = [_number(p) for p in rest.split(",")]
            vals = [v for v in nums if v is not None]
            if len(nums) != 3 or len(vals) != 3:
                self.bad("bad_arc", no, raw)
                return
            r, a1, a2 = vals
            if not 0 < r <= 1000:
                self.bad("bad_radius", no, raw)
                return
            a.ring.append(arc_points(clat, clon, r * NM, r * NM, a1, _sweep(a1, a2, a.clockwise)))
        else:  # DB: from one point to another about the centre
            c = openair_coords(rest)
            if c is None or len(c) != 2:
                self.bad("bad_coordinate", no, raw)
                return
            (la1, lo1), (la2, lo2) = c
            d, az = geodesic_inverse(clat, clon, [la1, la2], [lo1, lo2])
            if not np.all(d > 0):
                self.bad("bad_arc", no, raw)
                return
            pts = arc_points(clat, clon, d[0], d[1], az[0], _sweep(az[0], az[1], a.clockwise))
            pts[0], pts[-1] = (lo1, la1), (lo2, la2)  # exactly the named ends
            a.ring.append(pts)

    def finish(self) -> None:
        a, self.cur = self.cur, None
        if a is None:
            return
        index, self.count = self.count, self.count + 1
        if a.bad:
            return  # counted at its bad line
        where = f"{self.source}:{a.line}"
        name = a.props.get("name", "")
        raw = f"AC {a.cls} AN {name}".strip()
        if a.circle is None and not a.ring:
            self.rejects.reject("openair.no_geometry", where, raw)
            return
        ring = a.circle if a.circle is not None else np.concatenate(a.ring)
        if not np.array_equal(ring[0], ring[-1]):
            ring = np.vstack([ring, ring[:1]])
        props = dict(a.props)
        props["class"] = a.cls
        props["kind"] = airspace_kind(props.get("type"), a.cls)
        props["format"] = "openair"
        try:
            rings = [positions(ring.tolist())]
        except BadFeature as e:
            self.rejects.reject(f"zones.{e.reason}", where, raw)
            return
        self.out.add(index, props, [rings], [], raw, where=where)


def _number(text: str) -> float | None:
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _sweep(a1: float, a2: float, clockwise: bool) -> float:
    """Signed turn from bearing a1 to a2 in the given direction; equal bearings: a full turn."""
    s = (a2 - a1) % 360.0 if clockwise else -((a1 - a2) % 360.0)
    return s if abs(s) > 1e-9 else (360.0 if clockwise else -360.0)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older OpenAir files are Latin-1 / cp1252


def parse_openair(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Airspaces of an OpenAir file (AC/AN/AL/AH, V X= / D=, DP, DA, DB, DC)."""
    out = Collector(source, rejects, default_corridor_m, want)
    reader = _OpenAirReader(source, rejects, out)
    unexpected = 0
    for no, raw in enumerate(_text(data).splitlines(), start=1):
        try:
            reader.line(no, raw)
        except (ValueError, ArithmeticError, IndexError):  # numeric edge cases: counted
            reader.bad("malformed_line", no, raw)
        except Exception:  # a reader bug on this line: counted, and said once per file
            reader.bad("malformed_line", no, raw)
            unexpected += 1
            if unexpected == 1:
                log.warning("%s line %d: OpenAir reader failed (counted as malformed_line)",
                            source, no, exc_info=True)  # fmt: skip
    reader.finish()
    return out.features


def looks_like_openair(data: bytes) -> bool:
    """An `AC` record near the start (after any `*` comments)."""
    return re.search(rb"(?m)^[ \t]*AC[ \t]+\S", data[:65536]) is not None


# ---------------------------------------------------------------- openAIP JSON (API v2)


def openaip_limit(v: Any) -> tuple[float, str] | None:
    """(metres, reference) of an openAIP {value, unit, referenceDatum} limit."""
    if not isinstance(v, dict):
        return None
    value, unit, datum = v.get("value"), v.get("unit"), v.get("referenceDatum")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if unit not in OPENAIP_UNITS or datum not in OPENAIP_DATUMS:
        return None
    return float(value) * OPENAIP_UNITS[unit], OPENAIP_DATUMS[datum]


def _label(code: Any, table: tuple[str, ...] | dict[int, str]) -> str | None:
    if isinstance(code, bool) or not isinstance(code, int):
        return code if isinstance(code, str) and code.strip() else None
    if isinstance(table, dict):
        return table.get(code)
    return table[code] if 0 <= code < len(table) else None


def openaip_properties(item: dict[str, Any], rejects: Rejects, where: str) -> dict[str, Any]:
    """Zone properties of an openAIP airspace item (also of openAIP-exported GeoJSON)."""
    props: dict[str, Any] = {}
    for k in ("name", "country"):
        if isinstance(item.get(k), str):
            props[k] = item[k].strip()
    ident = item.get("_id", item.get("id"))
    if isinstance(ident, str | int) and not isinstance(ident, bool):
        props["id"] = ident
    typ = _label(item.get("type"), OPENAIP_TYPES)
    cls = _label(item.get("icaoClass"), OPENAIP_CLASSES)
    if typ:
        props["type"] = typ
    if cls:
        props["class"] = cls
    props["kind"] = airspace_kind(typ, cls if cls != "SUA" else None)
    for which, key in (("floor", "lowerLimit"), ("ceiling", "upperLimit")):
        if key not in item:
            continue
        value = openaip_limit(item[key])
        if value is None:
            rejects.reject("openaip.bad_limit", where, json.dumps(item[key])[:512])
            continue
        _set_limit(props, which, json.dumps(item[key]), value)
    props["format"] = "openaip"
    return props


def looks_like_openaip(props: dict[str, Any]) -> bool:
    """GeoJSON properties in openAIP's shape (its GeoJSON export)."""
    return "icaoClass" in props or any(
        isinstance(props.get(k), dict) for k in ("upperLimit", "lowerLimit")
    )


def is_openaip_items(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("items"), list) and "type" not in doc


def openaip_items(
    doc: dict[str, Any],
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Airspaces of an openAIP v2 API response ({"items": [...]}, geometry as GeoJSON)."""
    out = Collector(source, rejects, default_corridor_m, want)
    for i, item in enumerate(doc["items"]):
        where = f"{source}:items[{i}]"
        try:
            raw = json.dumps(item)[:4096]
        except (TypeError, ValueError, RecursionError):
            raw = repr(item)[:4096]
        polys: list[list[np.ndarray]] = []
        lines: list[np.ndarray] = []
        try:
            if not isinstance(item, dict):
                raise BadFeature("bad_item")
            if item.get("geometry") is None:
                raise BadFeature("empty_geometry")
            points = geojson_geometry(item["geometry"], polys, lines)
            props = openaip_properties(item, rejects, where)
        except BadFeature as e:
            rejects.reject(f"openaip.{e.reason}", where, raw)
            continue
        except (RecursionError, TypeError, ValueError):
            rejects.reject("openaip.malformed_item", where, raw)
            continue
        if points:
            rejects.reject("openaip.point_ignored", where, raw, n=points)
        if not polys and not lines:
            if not points:
                rejects.reject("openaip.empty_geometry", where, raw)
            continue
        out.add(i, props, polys, lines, raw, where=where)
    return out.features


# ---------------------------------------------------------------- openAIP legacy XML

_XML_UNITS = {"F": FOOT, "FT": FOOT, "FL": 100 * FOOT, "M": 1.0}


def _child(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el if _local(c.tag) == name), None)


def _xml_limit(el: ET.Element | None) -> tuple[str, tuple[float, str] | None] | None:
    if el is None:
        return None
    alt = _child(el, "ALT")
    ref = (el.get("REFERENCE") or "").strip().upper()
    unit = ((alt.get("UNIT") if alt is not None else "") or "").strip().upper()
    text = ((alt.text if alt is not None else "") or "").strip()
    label = f"{text} {unit} {ref}".strip()
    v = _number(text) if text else None
    if v is None or unit not in _XML_UNITS or ref not in ("GND", "MSL", "STD"):
        return label, None
    return label, (v * _XML_UNITS[unit], ref)


def _xml_polygon(text: str | None) -> np.ndarray:
    """`lon lat, lon lat, ...` into a checked (n, 2) ring."""
    if not text or not text.strip():
        raise BadFeature("bad_coordinates")
    rows = []
    for pair in text.split(","):
        xy = pair.split()
        if len(xy) != 2:
            raise BadFeature("bad_coordinates")
        try:
            rows.append([float(xy[0]), float(xy[1])])
        except ValueError:
            raise BadFeature("bad_coordinates") from None
    return positions(rows)


def _asp_lines(data: bytes) -> list[int]:
    """Line number of each `<ASP` start tag, in document order."""
    return [data.count(b"\n", 0, m.start()) + 1 for m in re.finditer(rb"<(?:\w+:)?ASP[\s>]", data)]


def parse_openaip_xml(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Airspaces of a legacy openAIP XML file (OPENAIP/AIRSPACES/ASP with POLYGON)."""
    root = parse_xml(data, source, rejects, "openaip")
    if root is None:
        return []
    out = Collector(source, rejects, default_corridor_m, want)
    asps = [el for el in root.iter() if _local(el.tag) == "ASP"]
    lines = _asp_lines(data)
    for i, asp in enumerate(asps):
        where = f"{source}:{lines[i]}" if len(lines) == len(asps) else f"{source}:ASP[{i}]"
        raw = ET.tostring(asp, encoding="unicode")[:4096]
        category = (asp.get("CATEGORY") or "").strip().upper()
        props: dict[str, Any] = {"format": "openaip-xml"}
        for tag, key in (("NAME", "name"), ("COUNTRY", "country"), ("ID", "id")):
            el = _child(asp, tag)
            if el is not None and el.text and el.text.strip():
                props[key] = el.text.strip()
        if category:
            props["class" if len(category) == 1 else "type"] = category
        props["kind"] = airspace_kind(category)
        for which, tag in (("floor", "ALTLIMIT_BOTTOM"), ("ceiling", "ALTLIMIT_TOP")):
            lim = _xml_limit(_child(asp, tag))
            if lim is None:
                continue
            if lim[1] is None:
                props[which] = lim[0]
                rejects.reject("openaip.bad_limit", where, lim[0])
            else:
                _set_limit(props, which, lim[0], lim[1])
        geom = _child(asp, "GEOMETRY")
        poly = _child(geom, "POLYGON") if geom is not None else None
        try:
            ring = _xml_polygon(poly.text if poly is not None else None)
        except BadFeature as e:
            rejects.reject(f"openaip.{e.reason}", where, raw)
            continue
        out.add(i, props, [[ring]], [], raw, where=where)
    return out.features
