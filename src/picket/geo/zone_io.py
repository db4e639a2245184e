"""Read zones and protected lines from GeoJSON, KML and KMZ into checked shapely geometry.

Airspace files (OpenAir text, openAIP JSON and XML) are read by `airspace_io` into the same
Features; `read_features` and `parse_bytes` send them there by suffix (.txt, .openair, .air)
or content (an `AC` record, an `<OPENAIP>` root, a JSON object with `items`).

Geometry is kept in lon/lat degrees (x = lon, y = lat, WGS84). Zone files come from many
hands, so nothing in them is trusted: every feature that cannot be used is counted in
`Rejects` under a ``zones.<reason>`` with ``where`` = file and feature index (or line, for
XML syntax errors), and nothing raises. Invalid polygons are repaired with
`shapely.make_valid` when that still gives an area; the original WKT is dead-lettered under
``zones.repaired_invalid_geometry`` so the user can see what was changed.

Antimeridian: a jump of more than 180° in longitude between consecutive vertices means the
edge crosses ±180 the short way. Lines are split there, at the point where the great circle
meets the 180° meridian. Polygon rings are unwrapped to a continuous longitude range, then the
polygon is cut at ±180 into a MultiPolygon of pieces inside [-180, 180]; a ring whose unwrapped
ends differ by 360° goes round a pole and is closed along that pole. Cut edges lie exactly on
lon = ±180.

XML documents with a DOCTYPE or entity declaration are refused (KML needs neither, and
refusing them closes the entity-expansion attacks without needing defusedxml).
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from picket.model.rejects import Rejects

log = logging.getLogger(__name__)

DEFAULT_CORRIDOR_M = 1000.0  # a cable's protection corridor when the file names none
MAX_KMZ_UNPACKED = 256 * 1024 * 1024  # refuse zip bombs
SUFFIX_FORMATS = {"txt": "openair", "openair": "openair", "air": "openair"}  # .aip: sniffed
NAME_KEYS = ("name", "NAME", "Name", "title", "id", "ID", "ADMIN", "admin", "slug", "label")
KIND_KEYS = ("kind", "type", "category", "class", "infrastructure", "asset")


@dataclass(frozen=True)
class Feature:
    """One named zone (polygonal) or protected line (linear) ready for indexing."""

    name: str
    kind: str
    geometry: BaseGeometry  # Polygon / MultiPolygon, or LineString / MultiLineString
    properties: dict[str, Any] = field(default_factory=dict)
    corridor_m: float = float("nan")  # lines only
    where: str = ""

    @property
    def is_polygonal(self) -> bool:
        return self.geometry.geom_type in ("Polygon", "MultiPolygon")


class BadFeature(Exception):
    """A feature that cannot be used; `reason` becomes ``zones.<reason>``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- coordinates and geometry


def _keep(
    out: Any,
    i: int,
    props: dict[str, Any],
    polys: list,
    lines: list,
    points: int,
    raw: Any,
    where: str,
    rejects: Rejects,
) -> None:
    """Add a parsed feature, counting what it carried that zones cannot use."""
    if points:
        rejects.reject("zones.point_ignored", where, raw, n=points)
    if not polys and not lines:
        if not points:
            rejects.reject("zones.empty_geometry", where, raw)
        return
    out.add(i, props, polys, lines, raw)


def positions(obj: Any) -> np.ndarray:
    """A GeoJSON-style list of [lon, lat, ...] positions as an (n, 2) array, checked."""
    if not isinstance(obj, list | tuple | np.ndarray) or len(obj) == 0:
        raise BadFeature("bad_coordinates")
    rows = []
    for p in obj:
        if not isinstance(p, list | tuple | np.ndarray) or len(p) < 2:
            raise BadFeature("bad_coordinates")
        x, y = p[0], p[1]
        if isinstance(x, bool) or isinstance(y, bool):
            raise BadFeature("bad_coordinates")
        if not isinstance(x, int | float | np.number) or not isinstance(y, int | float | np.number):
            raise BadFeature("bad_coordinates")
        rows.append((float(x), float(y)))
    xy = np.asarray(rows, dtype=float)
    if not np.isfinite(xy).all():
        raise BadFeature("bad_coordinates")
    if (np.abs(xy[:, 1]) > 90).any() or (np.abs(xy[:, 0]) > 360).any():
        raise BadFeature("coordinates_out_of_range")
    lon = xy[:, 0]
    lon = np.where(np.abs(lon) <= 180.0 + 1e-6, np.clip(lon, -180.0, 180.0), lon)  # float fuzz
    xy[:, 0] = np.where(np.abs(lon) <= 180.0, lon, (lon + 180.0) % 360.0 - 180.0)
    return xy


def _dedupe(xy: np.ndarray) -> np.ndarray:
    keep = np.ones(len(xy), bool)
    keep[1:] = (np.diff(xy, axis=0) != 0).any(axis=1)
    return xy[keep]


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=-1)


def _antimeridian_lat(a: np.ndarray, b: np.ndarray) -> float:
    """Latitude where the great circle from a to b (lon, lat) crosses lon = 180."""
    ua, ub = _unit(np.array([a[1], b[1]]), np.array([a[0], b[0]]))
    n = np.cross(ua, ub)
    d = np.cross(n, [0.0, 1.0, 0.0])  # direction of the circle's meeting with the y = 0 plane
    if np.linalg.norm(d) < 1e-15:
        return float((a[1] + b[1]) / 2)
    if d[0] > 0:
        d = -d
    return float(np.degrees(np.arctan2(d[2], -d[0])))


def _jumps(xy: np.ndarray) -> np.ndarray:
    """Edges that cross ±180: a longitude jump over 180°, except seams that are one point
    (lon +180 to -180, or along a pole)."""
    a, b = xy[:-1], xy[1:]
    seam = ((np.abs(a[:, 0]) == 180.0) & (np.abs(b[:, 0]) == 180.0)) | (
        (np.abs(a[:, 1]) == 90.0) & (a[:, 1] == b[:, 1])
    )
    return np.flatnonzero((np.abs(b[:, 0] - a[:, 0]) > 180.0) & ~seam)


def split_line_at_antimeridian(xy: np.ndarray) -> list[np.ndarray]:
    """Cut a lon/lat polyline where an edge jumps more than 180° in longitude."""
    jumps = _jumps(xy)
    if jumps.size == 0:
        return [xy]
    parts, start = [], 0
    for j in jumps:
        a, b = xy[j], xy[j + 1]
        lat = _antimeridian_lat(a, b)
        side = 180.0 if a[0] > 0 else -180.0
        parts.append(np.vstack([xy[start : j + 1], [[side, lat]]]))
        xy = xy.copy()
        xy[j] = (-side, lat)  # the next part starts on the other side of the cut
        start = j
    parts.append(xy[start:])
    return [p for p in (_dedupe(q) for q in parts) if len(p) >= 2]


def _unwrap(lon: np.ndarray, ref: float | None = None) -> np.ndarray:
    steps = np.diff(lon)
    shift = np.concatenate([[0.0], np.cumsum(-360.0 * np.round(steps / 360.0))])
    out = lon + shift
    if ref is not None:
        out += 360.0 * np.round((ref - out[0]) / 360.0)
    return out


def polygon_from_rings(rings: list[np.ndarray]) -> BaseGeometry:
    """A shapely polygon in [-180, 180], cut at the antimeridian when a ring crosses it."""
    if any(len(np.unique(r, axis=0)) < 3 for r in rings):
        raise BadFeature("degenerate_geometry")
    if not any(_jumps(r).size for r in rings):
        return shapely.Polygon(rings[0], rings[1:])
    shell = rings[0].copy()
    shell[:, 0] = _unwrap(shell[:, 0])
    if abs(shell[-1, 0] - shell[0, 0]) > 180.0:  # goes round a pole: close along it
        pole = 90.0 if shell[:, 1].mean() > 0 else -90.0
        shell = np.vstack([shell, [[shell[-1, 0], pole], [shell[0, 0], pole]]])
    holes = []
    for r in rings[1:]:
        h = r.copy()
        h[:, 0] = _unwrap(h[:, 0], ref=float(shell[:, 0].mean()))
        holes.append(h)
    poly = shapely.make_valid(shapely.Polygon(shell, holes))
    pieces = []
    for k in (-1, 0, 1):
        box = shapely.box(-180.0 + 360.0 * k, -90.0, 180.0 + 360.0 * k, 90.0)
        piece = shapely.intersection(poly, box)
        if not piece.is_empty:
            pieces.append(shapely.transform(piece, lambda c, k=k: c - [360.0 * k, 0.0]))
    return _polygonal(shapely.union_all(pieces))


def _polygonal(g: BaseGeometry) -> BaseGeometry:
    """The areal part of a geometry (make_valid may return a collection)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    polys = [
        p
        for p in shapely.get_parts(g)
        if p.geom_type in ("Polygon", "MultiPolygon") and not p.is_empty
    ]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def checked_polygon(polys: list[list[np.ndarray]], rejects: Rejects, where: str) -> BaseGeometry:
    """Build, validate and if need be repair a (multi)polygon; raise BadFeature if unusable."""
    parts = [polygon_from_rings(rings) for rings in polys]
    geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    if len(parts) > 1 and not all(p.is_valid for p in parts):
        geom = shapely.MultiPolygon([q for p in parts for q in shapely.get_parts(p)])
    if geom.is_empty:
        raise BadFeature("empty_geometry")
    if not geom.is_valid:
        repaired = _polygonal(shapely.make_valid(geom))
        if repaired.is_empty or repaired.area <= 0:
            raise BadFeature("invalid_geometry")
        rejects.reject("zones.repaired_invalid_geometry", where, geom.wkt)
        geom = repaired
    if geom.area <= 0:
        raise BadFeature("degenerate_geometry")
    return geom


def checked_lines(parts: list[np.ndarray]) -> BaseGeometry:
    """A MultiLineString of parts with at least two distinct vertices, cut at ±180."""
    out = []
    for xy in parts:
        xy = _dedupe(xy)
        if len(xy) < 2:
            continue
        out.extend(split_line_at_antimeridian(xy))
    if not out:
        raise BadFeature("degenerate_geometry")
    return shapely.MultiLineString(out)


# ---------------------------------------------------------------- names, kinds, corridors


def feature_name(props: dict[str, Any], fallback: str) -> str:
    for k in NAME_KEYS:
        v = props.get(k)
        if v is not None and str(v).strip():
            return str(v).strip()
    return fallback


def feature_kind(props: dict[str, Any], polygonal: bool) -> str:
    """Explicit `kind` wins; lines mentioning a pipeline are pipelines; else zone / cable."""
    v = props.get("kind")
    if isinstance(v, str) and v.strip():
        return v.strip().lower()
    if polygonal:
        return "zone"
    text = " ".join(str(props.get(k, "")) for k in (*KIND_KEYS, *NAME_KEYS, "description"))
    return "pipeline" if "pipeline" in text.lower() else "cable"


def feature_corridor(props: dict[str, Any], default: float, rejects: Rejects, where: str) -> float:
    v = props.get("corridor_m")
    if v is None:
        return float(default)
    try:
        c = float(v)
    except (TypeError, ValueError):
        c = float("nan")
    if not np.isfinite(c) or c < 0:
        rejects.reject("zones.bad_corridor_m", where, str(v))
        return float(default)
    return c


class Collector:
    """Turns parsed rings/parts into Features, counting every loss."""

    def __init__(
        self, source: str, rejects: Rejects, default_corridor_m: float, want: str | None = None
    ):
        self.source, self.rejects, self.default = source, rejects, default_corridor_m
        self.want = want  # "polygon" or "line": the other kind is counted, not kept
        self.features: list[Feature] = []

    def add(
        self,
        index: int,
        props: dict[str, Any],
        polys: list[list[np.ndarray]],
        lines: list[np.ndarray],
        raw: str,
        where: str | None = None,
    ) -> None:
        """`where` defaults to file:feature[index]; line-based formats pass file:line."""
        where = where or f"{self.source}:feature[{index}]"
        fallback = f"{Path(self.source).stem}#{index}"
        name = feature_name(props, fallback)
        for polygonal, items in ((True, polys), (False, lines)):
            if not items:
                continue
            if self.want is not None and self.want != ("polygon" if polygonal else "line"):
                self.rejects.reject(f"zones.not_{self.want}", where, raw)
                continue
            try:
                if polygonal:
                    geom = checked_polygon(polys, self.rejects, where)
                    corridor = float("nan")
                else:
                    geom = checked_lines(lines)
                    corridor = feature_corridor(props, self.default, self.rejects, where)
            except BadFeature as e:
                self.rejects.reject(f"zones.{e.reason}", where, raw)
                continue
            except (shapely.errors.ShapelyError, ValueError, TypeError, IndexError):
                self.rejects.reject("zones.malformed_feature", where, raw)  # GEOS said no
                continue
            except Exception:  # anything else is a bug met on hostile input: count and say
                self.rejects.reject("zones.malformed_feature", where, raw)
                log.warning("%s: zone feature not read (counted as zones.malformed_feature)",
                            where, exc_info=True)  # fmt: skip
                continue
            kind = feature_kind(props, polygonal)
            self.features.append(Feature(name, kind, geom, dict(props), corridor, where))
            self.rejects.note_geography(1)  # geography, not accepted input


# ---------------------------------------------------------------- GeoJSON


def geojson_geometry(
    g: Any, polys: list[list[np.ndarray]], lines: list[np.ndarray], depth: int = 0
) -> int:
    """Collect rings/parts from a GeoJSON geometry; returns the number of points skipped."""
    if not isinstance(g, dict) or depth > 8:
        raise BadFeature("bad_geometry")
    t, c = g.get("type"), g.get("coordinates")
    if t == "GeometryCollection":
        members = g.get("geometries")
        if not isinstance(members, list):
            raise BadFeature("bad_geometry")
        return sum(geojson_geometry(m, polys, lines, depth + 1) for m in members)
    if t in ("Point", "MultiPoint"):
        return 1
    if t not in ("Polygon", "MultiPolygon", "LineString", "MultiLineString"):
        raise BadFeature("unsupported_geometry")
    if not isinstance(c, list):
        raise BadFeature("bad_coordinates")
    if not c:
        raise BadFeature("empty_geometry")
    if t == "Polygon":
        polys.append([positions(r) for r in c])
    elif t == "MultiPolygon":
        for p in c:
            if not isinstance(p, list) or not p:
                raise BadFeature("bad_coordinates")
            polys.append([positions(r) for r in p])
    elif t == "LineString":
        lines.append(positions(c))
    else:
        lines.extend(positions(p) for p in c)
    return 0


def _geojson_features(doc: Any) -> Iterator[Any]:
    t = doc.get("type") if isinstance(doc, dict) else None
    if t == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise BadFeature("bad_geojson")
        yield from feats
    elif t == "Feature":
        yield doc
    elif isinstance(t, str):
        yield {"type": "Feature", "geometry": doc, "properties": {}}
    else:
        raise BadFeature("bad_geojson")


def parse_geojson(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Features of a GeoJSON document (FeatureCollection, Feature or bare geometry)."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        rejects.reject("zones.bad_json", f"{source}:{e.lineno}", data[:4096])
        return []
    except (ValueError, RecursionError):
        rejects.reject("zones.bad_json", f"{source}:1", data[:4096])
        return []
    from picket.geo import airspace_io  # late: airspace_io builds on this module

    if airspace_io.is_openaip_items(doc):
        return airspace_io.openaip_items(doc, source, rejects, default_corridor_m, want)
    out = Collector(source, rejects, default_corridor_m, want)
    try:
        feats = list(_geojson_features(doc))
    except BadFeature as e:
        rejects.reject(f"zones.{e.reason}", f"{source}:1", data[:4096])
        return []
    for i, f in enumerate(feats):
        where = f"{source}:feature[{i}]"
        raw = _short_json(f)
        try:
            if not isinstance(f, dict) or f.get("type") != "Feature":
                raise BadFeature("bad_feature")
            props = f.get("properties")
            props = dict(props) if isinstance(props, dict) else {}
            if "id" in f and "id" not in props and isinstance(f["id"], str | int):
                props["id"] = f["id"]
            if "kind" not in props and airspace_io.looks_like_openaip(props):
                props.update(airspace_io.openaip_properties(props, rejects, where))
            if f.get("geometry") is None:
                raise BadFeature("empty_geometry")
            polys: list[list[np.ndarray]] = []
            lines: list[np.ndarray] = []
            points = geojson_geometry(f["geometry"], polys, lines)
        except BadFeature as e:
            rejects.reject(f"zones.{e.reason}", where, raw)
            continue
        except (RecursionError, TypeError, ValueError):
            rejects.reject("zones.malformed_feature", where, raw)
            continue
        _keep(out, i, props, polys, lines, points, raw, where, rejects)
    return out.features


def _short_json(obj: Any) -> str:
    try:
        return json.dumps(obj)[:4096]
    except (TypeError, ValueError, RecursionError):
        return repr(obj)[:4096]


# ---------------------------------------------------------------- KML / KMZ

_COMMA_SPACE = re.compile(r"\s*,\s*")


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _kml_coords(el: ET.Element | None) -> np.ndarray:
    if el is None:
        raise BadFeature("bad_coordinates")
    coords = next((c for c in el.iter() if _local(c.tag) == "coordinates"), None)
    if coords is None or not (coords.text or "").strip():
        raise BadFeature("bad_coordinates")
    rows = []
    for tup in _COMMA_SPACE.sub(",", coords.text.strip()).split():
        try:
            rows.append([float(v) for v in tup.split(",")])
        except ValueError:
            raise BadFeature("bad_coordinates") from None
    return positions(rows)


def _kml_geometry(
    el: ET.Element, polys: list[list[np.ndarray]], lines: list[np.ndarray], depth: int = 0
) -> int:
    name = _local(el.tag)
    if depth > 8:
        raise BadFeature("bad_geometry")
    if name == "MultiGeometry":
        return sum(_kml_geometry(c, polys, lines, depth + 1) for c in el)
    if name == "Polygon":
        outer = _children(el, "outerBoundaryIs")
        if not outer:
            raise BadFeature("bad_coordinates")
        rings = [_kml_coords(outer[0])]
        for inner in _children(el, "innerBoundaryIs"):
            rings.extend(_kml_coords(r) for r in _children(inner, "LinearRing") or [inner])
        polys.append(rings)
    elif name in ("LineString", "LinearRing"):
        lines.append(_kml_coords(el))
    elif name in ("Point", "Track", "MultiTrack", "Model"):
        return 1
    return 0


_GEOMETRY_TAGS = {"MultiGeometry", "Polygon", "LineString", "LinearRing", "Point", "Track"}


def _kml_properties(pm: ET.Element) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for c in pm:
        tag = _local(c.tag)
        if tag in ("name", "description") and c.text and c.text.strip():
            props[tag] = c.text.strip()
        elif tag == "ExtendedData":
            for d in c.iter():
                dt = _local(d.tag)
                if dt == "Data" and d.get("name"):
                    val = next((v.text for v in d if _local(v.tag) == "value"), None)
                    props.setdefault(d.get("name"), (val or "").strip())
                elif dt == "SimpleData" and d.get("name"):
                    props.setdefault(d.get("name"), (d.text or "").strip())
    return props


def parse_xml(data: bytes, source: str, rejects: Rejects, fmt: str) -> ET.Element | None:
    """The document's root, or None after counting why not (`<fmt>.bad_xml` at the line).

    DTDs are refused outright: entity expansion is how XML files attack parsers."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        rejects.reject(f"{fmt}.xml_dtd_refused", f"{source}:1", data[:4096])
        return None
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        line = e.position[0] if getattr(e, "position", None) else 0
        rejects.reject(f"{fmt}.bad_xml", f"{source}:{line}", data[:4096])
    except (ValueError, LookupError, RecursionError):  # LookupError: an unknown encoding
        rejects.reject(f"{fmt}.bad_xml", f"{source}:1", data[:4096])
    return None


def parse_kml(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Placemarks with Polygon / LineString / MultiGeometry, at any Document/Folder depth."""
    root = parse_xml(data, source, rejects, "zones")
    if root is None:
        return []
    out = Collector(source, rejects, default_corridor_m, want)
    placemarks = [el for el in root.iter() if _local(el.tag) == "Placemark"]
    for i, pm in enumerate(placemarks):
        where = f"{source}:feature[{i}]"
        try:
            raw = ET.tostring(pm, encoding="unicode")[:4096]
        except (TypeError, ValueError) as e:  # only the dead letter's copy is lost
            log.debug("%s: placemark not serialised for the dead letter: %r", where, e)
            raw = None
        props = _kml_properties(pm)
        polys: list[list[np.ndarray]] = []
        lines: list[np.ndarray] = []
        try:
            points = sum(_kml_geometry(c, polys, lines) for c in pm if _local(c.tag) != "")
        except BadFeature as e:
            rejects.reject(f"zones.{e.reason}", where, raw)
            continue
        except (RecursionError, TypeError, ValueError):
            rejects.reject("zones.malformed_feature", where, raw)
            continue
        _keep(out, i, props, polys, lines, points, raw or "", where, rejects)
    return out.features


def parse_kmz(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """KMZ is zipped KML: read doc.kml, else the first .kml inside."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".kml")]
            if not names:
                rejects.reject("zones.bad_kmz", f"{source}:0", None)
                return []
            name = "doc.kml" if "doc.kml" in names else names[0]
            if z.getinfo(name).file_size > MAX_KMZ_UNPACKED:
                rejects.reject("zones.bad_kmz", f"{source}:{name}", None)
                return []
            inner = z.read(name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
            KeyError, NotImplementedError, RuntimeError, zlib.error):  # fmt: skip
        # corrupt, encrypted (RuntimeError) or oddly compressed (NotImplementedError)
        rejects.reject("zones.bad_kmz", f"{source}:0", data[:4096])
        return []
    except Exception:  # anything else zipfile raises on a hostile archive: count and say
        rejects.reject("zones.bad_kmz", f"{source}:0", data[:4096])
        log.warning("%s: KMZ not read (counted as zones.bad_kmz)", source, exc_info=True)
        return []
    return parse_kml(inner, f"{source}!{name}", rejects, default_corridor_m, want)


def parse_bytes(
    data: bytes,
    source: str,
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    fmt: str | None = None,
    want: str | None = None,
) -> list[Feature]:
    """Dispatch on `fmt` (geojson, kml, kmz, openair, openaip) or, without one, on the first
    bytes. openAIP JSON ({"items": [...]}) is recognised inside the JSON reader."""
    from picket.geo import airspace_io  # late: airspace_io builds on this module

    if fmt in (None, "aip"):
        head = data.lstrip()[:1]
        if data[:2] == b"PK":
            fmt = "kmz"
        elif head == b"<":
            fmt = "openaip-xml" if re.search(rb"<(\w+:)?OPENAIP[\s>]", data[:4096]) else "kml"
        elif head not in (b"{", b"[") and airspace_io.looks_like_openair(data):
            fmt = "openair"
        else:
            fmt = "geojson"
    parser = {
        "geojson": parse_geojson,
        "json": parse_geojson,
        "kml": parse_kml,
        "kmz": parse_kmz,
        "openair": airspace_io.parse_openair,
        "openaip": parse_geojson,
        "openaip-xml": airspace_io.parse_openaip_xml,
    }
    if fmt not in parser:
        rejects.reject("zones.unknown_format", f"{source}:0", None)
        return []
    return parser[fmt](data, source, rejects, default_corridor_m, want)


def read_features(
    paths: str | Path | Iterable[str | Path],
    rejects: Rejects,
    default_corridor_m: float = DEFAULT_CORRIDOR_M,
    want: str | None = None,
) -> list[Feature]:
    """Features of every file; the format comes from the suffix, else from the content.
    `want` = "polygon" or "line" keeps only that kind and counts the rest."""
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Feature] = []
    for p in paths:
        p = Path(p)
        try:
            data = p.read_bytes()
        except OSError:
            rejects.reject("zones.unreadable_file", f"{p}:0", None)
            continue
        suffix = p.suffix.lower().lstrip(".")
        fmt = suffix if suffix in ("geojson", "json", "kml", "kmz") else SUFFIX_FORMATS.get(suffix)
        out.extend(parse_bytes(data, str(p), rejects, default_corridor_m, fmt, want))
    return out
