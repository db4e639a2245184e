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
from collections.abc import Callable, Iterable
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


def _hits(pts: dict[str, np.ndarray], bbox: tuple[float, float, float, float] | None,
          domains: tuple[int, ...] | None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(rows of the wanted domains with a position, rows of those inside the box)."""
    keep = np.isfinite(pts["lat"])
    if domains is not None:
        keep &= np.isin(pts["domain"], domains)
    hit = keep & in_box(pts["lat"], pts["lon"], *bbox) if bbox is not None else keep
    return keep, hit


def _assemble(cols: dict[str, np.ndarray]) -> Trajectories:
    rows = np.lexsort((cols["time"], cols["subject"]))
    cols = {k: v[rows] for k, v in cols.items()}
    s = cols["subject"]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]]) if len(s) else np.zeros(0, np.int64)
    return Trajectories(cols, starts)


def select(pts: dict[str, np.ndarray], bbox: tuple[float, float, float, float] | None,
           domains: tuple[int, ...] | None = None) -> Trajectories:  # fmt: skip
    """The trajectories of every subject with a point in `bbox` (all subjects if None)."""
    keep, hit = _hits(pts, bbox, domains)
    who = np.unique(pts["subject"][hit])
    rows = np.flatnonzero(keep & np.isin(pts["subject"], who))
    return _assemble({k: v[rows] for k, v in pts.items()})


class TooMuch(ValueError):
    """The window or the answer is over a cap: the caller narrows the box or the window."""


def gather(pages: Callable[[], Iterable[dict[str, np.ndarray]]],
           bbox: tuple[float, float, float, float] | None,
           domains: tuple[int, ...] | None = None, max_scan: int | None = None,
           max_points: int | None = None) -> Trajectories:  # fmt: skip
    """`select` over a stored window read page by page (`pages()` yields column pages, e.g.
    `StoreReader.point_pages`), twice: first who has a point in the box, then those
    subjects' points. Memory follows the answer, not the window; `max_scan` caps the points
    read in the first pass and `max_points` the answer (TooMuch past either)."""
    who: set[int] = set()
    seen = 0
    for p in pages():
        seen += len(p["time"])
        if max_scan is not None and seen > max_scan:
            raise TooMuch(f"the window holds more than {max_scan} stored points; "
                          "narrow since/until")  # fmt: skip
        _, hit = _hits(p, bbox, domains)
        who.update(np.unique(p["subject"][hit]).tolist())
    want = np.fromiter(who, np.int64, len(who))
    parts: list[dict[str, np.ndarray]] = []
    kept = 0
    for p in pages() if len(want) else ():
        keep, _ = _hits(p, None, domains)
        rows = np.flatnonzero(keep & np.isin(p["subject"], want))
        kept += len(rows)
        if max_points is not None and kept > max_points:
            raise TooMuch(f"more than {max_points} points in the answer; narrow the box, "
                          "the window or the domains")  # fmt: skip
        if len(rows):
            parts.append({k: v[rows] for k, v in p.items()})
    if not parts:
        return _assemble({k: np.zeros(0, np.int64 if k in ("subject", "domain") else float)
                          for k in ("subject", "time", "domain", "lat", "lon", "alt", "speed",
                                    "course")})  # fmt: skip
    return _assemble({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


def to_json(tr: Trajectories, labels: dict[int, str] | None = None) -> dict[str, Any]:
    """The API's JSON answer: per subject its summary and its points as columns."""
    c = tr.cols
    out = []
    for a, b in tr.bounds():
        p = _props(tr, a, b)
        lab = (labels or {}).get(int(c["subject"][a]))
        if lab:
            p["label"] = lab
        p["time"] = [iso(float(t)) for t in c["time"][a:b].tolist()]
        for k in ("lat", "lon", "alt", "speed", "course"):
            nd = 6 if k in ("lat", "lon") else 1
            p[k] = [round(v, nd) if v == v else None for v in c[k][a:b].tolist()]
        out.append(p)
    return {"subjects": len(tr), "points": len(c["time"]), "trajectories": out}


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
