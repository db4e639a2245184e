"""GeoJSON and KML/KMZ files of tracks, alerts and zones.

GeoJSON for GIS (RFC 7946: lon, lat order, WGS84); KML for Google Earth, one
folder per layer; KMZ is the same KML zipped as `doc.kml`.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from picket.model.alerts import iso
from picket.model.subjects import format_subject, parse_subject
from picket.serve.picture import DOMAIN_NAMES, Picture
from picket.share.trajectories import Trajectories
from picket.share.trajectories import to_geojson as traj_geojson

CONTENT_TYPES = {"geojson": "application/geo+json",
                 "kml": "application/vnd.google-earth.kml+xml",
                 "kmz": "application/vnd.google-earth.kmz"}  # fmt: skip
LAYERS = ("tracks", "alerts", "zones")


def _num(v: float, nd: int) -> float | None:
    return round(float(v), nd) if np.isfinite(v) else None


def track_features(pic: Picture, idx: np.ndarray) -> list[dict[str, Any]]:
    c = pic.cols
    out = []
    for i in idx.tolist():
        subj = format_subject(int(c["subject"][i]))
        tid = int(c["id"][i])
        alt = _num(c["alt"][i], 1)
        coords = [_num(c["lon"][i], 7), _num(c["lat"][i], 7)] + ([alt] if alt is not None else [])
        pt = float(c["pos_time"][i])
        out.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": coords},
                    "properties": {"layer": "track", "subject": subj,
                                   "label": pic.labels.get(tid) or subj,
                                   "domain": DOMAIN_NAMES.get(int(c["domain"][i]), "none"),
                                   "time": iso(pt) if np.isfinite(pt) else None,
                                   "speed": _num(c["speed"][i], 2),
                                   "course": _num(c["course"][i], 1)}})  # fmt: skip
    return out


def alert_features(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in alerts:
        if a.get("lat") is None or a.get("lon") is None:
            continue
        props = {k: a.get(k) for k in ("id", "kind", "severity", "time", "last_time", "status",
                                       "domain", "subject", "summary")}  # fmt: skip
        props["layer"] = "alert"
        if isinstance(a.get("triage"), dict):
            props["triage"] = a["triage"].get("state")
        geom = {"type": "Point", "coordinates": [a["lon"], a["lat"]]}
        out.append({"type": "Feature", "properties": props, "geometry": geom})
    return out


def zone_features(zones: dict[str, Any] | None) -> list[dict[str, Any]]:
    feats = []
    for f in (zones or {}).get("features", []):
        feats.append({**f, "properties": {**(f.get("properties") or {}), "layer": "zone"}})
    return feats


def to_geojson(features: list[dict[str, Any]]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features},
                      separators=(",", ":")).encode()  # fmt: skip


def _kml_coords(coords: list) -> str:
    return " ".join(",".join(f"{v:.7f}" if isinstance(v, float) else str(v) for v in p[:3])
                    for p in coords)  # fmt: skip


def _kml_geometry(g: dict[str, Any]) -> str:
    t, c = g["type"], g["coordinates"]
    if t == "Point":
        return f"<Point><coordinates>{_kml_coords([c])}</coordinates></Point>"
    if t == "LineString":
        return f"<LineString><coordinates>{_kml_coords(c)}</coordinates></LineString>"
    if t == "MultiLineString":
        return (
            "<MultiGeometry>"
            + "".join(_kml_geometry({"type": "LineString", "coordinates": p}) for p in c)
            + "</MultiGeometry>"
        )
    if t == "Polygon":
        outer = f"<outerBoundaryIs><LinearRing><coordinates>{_kml_coords(c[0])}</coordinates>" \
                "</LinearRing></outerBoundaryIs>"  # fmt: skip
        inner = "".join(f"<innerBoundaryIs><LinearRing><coordinates>{_kml_coords(r)}"
                        "</coordinates></LinearRing></innerBoundaryIs>" for r in c[1:])  # fmt: skip
        return f"<Polygon>{outer}{inner}</Polygon>"
    if t == "MultiPolygon":
        return (
            "<MultiGeometry>"
            + "".join(_kml_geometry({"type": "Polygon", "coordinates": p}) for p in c)
            + "</MultiGeometry>"
        )
    raise ValueError(f"no KML for geometry {t}")


def to_kml(layers: dict[str, list[dict[str, Any]]]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>picket</name>',
    ]
    for name, feats in layers.items():
        parts.append(f"<Folder><name>{escape(name)}</name>")
        for f in feats:
            p = {k: v for k, v in (f.get("properties") or {}).items() if k != "times"}
            title = p.get("label") or p.get("name") or p.get("kind") or p.get("subject") or ""
            data = "".join(f'<Data name="{escape(str(k))}"><value>{escape(str(v))}</value></Data>'
                           for k, v in p.items() if v is not None)  # fmt: skip
            when = f"<TimeStamp><when>{escape(p['time'])}</when></TimeStamp>" if p.get(
                "time") and name != "zones" else ""  # fmt: skip
            if p.get("start") and p.get("end") and name == "tracks":  # a trajectory
                when = (f"<TimeSpan><begin>{escape(p['start'])}</begin><end>{escape(p['end'])}"
                        "</end></TimeSpan>")  # fmt: skip
            parts.append(f"<Placemark><name>{escape(str(title))}</name>{when}"
                         f"<ExtendedData>{data}</ExtendedData>{_kml_geometry(f['geometry'])}"
                         "</Placemark>")  # fmt: skip
        parts.append("</Folder>")
    parts.append("</Document></kml>")
    return "\n".join(parts).encode()


def to_kmz(kml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", kml)
    return buf.getvalue()


def trajectory_features(tr: Trajectories, labels: dict[int, str] | None = None
                        ) -> list[dict[str, Any]]:  # fmt: skip
    """One LineString per subject (a Point when it has one point), with its times."""
    out = []
    for f in json.loads(traj_geojson(tr))["features"]:
        p = f["properties"]
        key = parse_subject(p["subject"])
        p.update(layer="track", label=(labels or {}).get(key) or p["subject"], time=p["end"])
        out.append(f)
    return out


def export_picture(fmt: str, pic: Picture | None, idx: np.ndarray | None,
                   alerts: list[dict[str, Any]], zones: dict[str, Any] | None,
                   layers: list[str] = LAYERS, trajectories: Trajectories | None = None,
                   labels: dict[int, str] | None = None) -> tuple[bytes, str]:  # fmt: skip
    """(file bytes, content type) of the chosen layers. Tracks are `trajectories` (whole
    window) when given, else the snapshot rows `idx` of `pic`."""
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"format must be one of {', '.join(CONTENT_TYPES)}")
    bad = [x for x in layers if x not in LAYERS]
    if bad:
        raise ValueError(f"unknown layer {bad[0]!r}; layers are {', '.join(LAYERS)}")
    feats = {}
    if "tracks" in layers:
        feats["tracks"] = (trajectory_features(trajectories, labels) if trajectories is not None
                           else track_features(pic, idx) if pic is not None else [])  # fmt: skip
    if "alerts" in layers:
        feats["alerts"] = alert_features(alerts)
    if "zones" in layers:
        feats["zones"] = zone_features(zones)
    if fmt == "geojson":
        return to_geojson([f for v in feats.values() for f in v]), CONTENT_TYPES[fmt]
    kml = to_kml(feats)
    return (kml if fmt == "kml" else to_kmz(kml)), CONTENT_TYPES[fmt]


def picture_from_points(pts: dict[str, np.ndarray], at: float) -> Picture:
    """The newest stored point per subject at or before `at` (offline export from a store)."""
    m = pts["time"] <= at
    cols = {k: v[m] for k, v in pts.items()}
    order = np.lexsort((cols["time"], cols["subject"]))
    s = cols["subject"][order]
    last = order[np.r_[s[1:] != s[:-1], True]] if len(s) else order
    n = len(last)
    pic = Picture.empty()
    pic.time = float(at)
    c = {k: cols[k][last] for k in ("subject", "lat", "lon", "alt", "speed", "course")}
    c["domain"] = cols["domain"][last].astype(np.uint8)
    c["pos_time"] = c["last_time"] = c["first_time"] = cols["time"][last]
    c["heading"] = np.full(n, np.nan)
    c["squawk"] = np.full(n, -1, np.int16)
    c["emergency"] = np.full(n, -1, np.int8)
    c["nav_status"] = np.full(n, -1, np.int8)
    c["n_reports"] = np.zeros(n, np.int64)
    c["id"] = np.arange(n, dtype=np.int64)
    pic.cols = c
    return pic
