"""Who was in an area between two times, with their trajectories, in the formats GIS and
data tools read: GeoJSON LineStrings, KML `gx:Track`, CSV and GeoParquet.

A subject is in the answer when one of its stored points of the window lies in the
box; its trajectory is then every stored point of the window (where it came from
and went, not only the part inside). Boxes may cross the antimeridian (west > east).
Points come from the store's downsampled track history (README, "The store").
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from picket.model.alerts import iso
from picket.model.reports import Domain
from picket.model.subjects import format_subject

FORMATS = ("table", "csv", "geojson", "kml", "geoparquet")


@dataclass
class Trajectories:
    """Points of the selected subjects, sorted by subject then time; `starts` index each."""

    cols: dict[str, np.ndarray]
    starts: np.ndarray  # first row of each trajectory; len(starts) trajectories

    def __len__(self) -> int:
        return len(self.starts)

    def bounds(self) -> list[tuple[int, int]]:
        if not len(self.starts):
            return []
        ends = np.r_[self.starts[1:], len(self.cols["time"])]
        return list(zip(self.starts.tolist(), ends.tolist(), strict=True))


def in_box(lat: np.ndarray, lon: np.ndarray, w: float, s: float, e: float, n: float):
    lat_ok = (lat >= s) & (lat <= n)
    lon_ok = ((lon >= w) & (lon <= e)) if w <= e else ((lon >= w) | (lon <= e))
    return lat_ok & lon_ok


def select(pts: dict[str, np.ndarray], bbox: tuple[float, float, float, float] | None,
           domains: tuple[int, ...] | None = None) -> Trajectories:  # fmt: skip
    """The trajectories of every subject with a point in `bbox` (all subjects if None)."""
    keep = np.ones(len(pts["time"]), bool)
    if domains is not None:
        keep &= np.isin(pts["domain"], domains)
    hit = keep & np.isfinite(pts["lat"])
    if bbox is not None:
        hit &= in_box(pts["lat"], pts["lon"], *bbox)
    who = np.unique(pts["subject"][hit])
    rows = np.flatnonzero(keep & np.isin(pts["subject"], who) & np.isfinite(pts["lat"]))
    rows = rows[np.lexsort((pts["time"][rows], pts["subject"][rows]))]
    cols = {k: v[rows] for k, v in pts.items()}
    s = cols["subject"]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.zeros(0, np.int64)
    return Trajectories(cols, starts)


def _domain(code: int) -> str:
    try:
        return Domain(code).label
    except ValueError:
        return "none"


def _props(tr: Trajectories, a: int, b: int) -> dict[str, Any]:
    c = tr.cols
    return {"subject": format_subject(int(c["subject"][a])), "domain": _domain(int(c["domain"][a])),
            "start": iso(float(c["time"][a])), "end": iso(float(c["time"][b - 1])),
            "points": b - a}  # fmt: skip


def _xyz(tr: Trajectories, a: int, b: int) -> list[list[float]]:
    c = tr.cols
    out = []
    for lo, la, al in zip(c["lon"][a:b].tolist(), c["lat"][a:b].tolist(),
                          c["alt"][a:b].tolist(), strict=True):  # fmt: skip
        out.append([round(lo, 6), round(la, 6)] + ([round(al, 1)] if al == al else []))
    return out


def table(tr: Trajectories) -> str:
    lines = [f"{'subject':<22} {'domain':<9} {'first':<25} {'last':<25} points"]
    for a, b in tr.bounds():
        p = _props(tr, a, b)
        lines.append(f"{p['subject']:<22} {p['domain']:<9} {p['start']:<25} {p['end']:<25} "
                     f"{p['points']}")  # fmt: skip
    return "\n".join(lines) + "\n"


def to_csv(tr: Trajectories) -> bytes:
    c = tr.cols
    buf = io.StringIO()
    buf.write("subject,domain,time,lat,lon,alt_m,speed_ms,course\n")
    times = np.datetime_as_string(np.round(c["time"] * 1000).astype("datetime64[ms]"), unit="ms")
    for a, b in tr.bounds():
        subj, dom = format_subject(int(c["subject"][a])), _domain(int(c["domain"][a]))
        for i in range(a, b):
            vals = [f"{c[k][i]:.6f}" if k in ("lat", "lon") else
                    ("" if c[k][i] != c[k][i] else f"{c[k][i]:.1f}")
                    for k in ("lat", "lon", "alt", "speed", "course")]  # fmt: skip
            buf.write(f"{subj},{dom},{times[i]}Z,{','.join(vals)}\n")
    return buf.getvalue().encode()


def to_geojson(tr: Trajectories) -> bytes:
    feats = []
    for a, b in tr.bounds():
        xyz = _xyz(tr, a, b)
        geom = ({"type": "LineString", "coordinates": xyz} if len(xyz) > 1
                else {"type": "Point", "coordinates": xyz[0]})  # fmt: skip
        props = _props(tr, a, b)
        props["times"] = [iso(float(t)) for t in tr.cols["time"][a:b].tolist()]
        feats.append({"type": "Feature", "geometry": geom, "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def to_kml(tr: Trajectories) -> bytes:
    """One Placemark with a `gx:Track` per subject: Google Earth plays it on its time slider."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
             'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><name>picket trajectories'
             "</name>"]  # fmt: skip
    c = tr.cols
    for a, b in tr.bounds():
        p = _props(tr, a, b)
        whens = "".join(f"<when>{iso(float(t))}</when>" for t in c["time"][a:b].tolist())
        coords = "".join(f"<gx:coord>{x[0]} {x[1]} {x[2] if len(x) > 2 else 0}</gx:coord>"
                         for x in _xyz(tr, a, b))  # fmt: skip
        mode = "absolute" if np.isfinite(c["alt"][a:b]).any() else "clampToGround"
        parts.append(f"<Placemark><name>{escape(p['subject'])}</name><description>"
                     f"{escape(p['domain'])}, {p['points']} points</description><gx:Track>"
                     f"<altitudeMode>{mode}</altitudeMode>{whens}{coords}</gx:Track></Placemark>")
    parts.append("</Document></kml>\n")
    return "".join(parts).encode()


def _stamps(t: np.ndarray, idx: list[int]) -> Any:
    import pyarrow as pa

    us = np.round(t[np.asarray(idx, np.int64)] * 1e6).astype("datetime64[us]")
    return pa.array(us, pa.timestamp("us", tz="UTC"))


def to_geoparquet(tr: Trajectories) -> bytes:
    """GeoParquet 1.0: one row per subject, the trajectory as a WKB LineString (a single
    point as a Point) in WGS84 longitude/latitude (OGC:CRS84, the format's default)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - exercised where pyarrow is absent
        raise ValueError("GeoParquet needs pyarrow: pip install 'picket[parquet]'") from None
    import shapely

    rows = tr.bounds()
    c = tr.cols
    geoms = [shapely.linestrings(np.c_[c["lon"][a:b], c["lat"][a:b]]) if b - a > 1
             else shapely.points(c["lon"][a], c["lat"][a]) for a, b in rows]  # fmt: skip
    wkb = shapely.to_wkb(np.array(geoms, dtype=object)) if geoms else []
    props = [_props(tr, a, b) for a, b in rows]
    table_ = pa.table({
        "subject": [p["subject"] for p in props], "domain": [p["domain"] for p in props],
        "start": _stamps(c["time"], [a for a, _ in rows]),
        "end": _stamps(c["time"], [b - 1 for _, b in rows]),
        "points": pa.array([p["points"] for p in props], pa.int32()),
        "geometry": pa.array(list(wkb), pa.binary()),
    })  # fmt: skip
    types = sorted({"LineString" if b - a > 1 else "Point" for a, b in rows})
    bounds = ([float(np.min(c["lon"])), float(np.min(c["lat"])), float(np.max(c["lon"])),
               float(np.max(c["lat"]))] if len(c["lon"]) else [])  # fmt: skip
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": types,
                                    "bbox": bounds}}}  # fmt: skip
    table_ = table_.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    sink = io.BytesIO()
    pq.write_table(table_, sink)
    return sink.getvalue()


def write(fmt: str, tr: Trajectories) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}; one of {', '.join(FORMATS)}")
    return {"table": lambda t: table(t).encode(), "csv": to_csv, "geojson": to_geojson,
            "kml": to_kml, "geoparquet": to_geoparquet}[fmt](tr)  # fmt: skip
