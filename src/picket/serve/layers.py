"""Map layers as GeoJSON: zones, infrastructure lines, GNSS interference cells, place names
and the names of learned harbours."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import shapely

from picket.model.alerts import parse_time
from picket.model.world import World

log = logging.getLogger(__name__)

YELLOW, RED = 0.02, 0.10  # gpsjam.org colour steps for the bad fraction


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def _set_geojson(fs: Any) -> dict[str, Any]:
    feats = []
    for f in getattr(fs, "features", []):
        props = {k: v for k, v in (f.properties or {}).items() if _jsonable(v)}
        props.update(name=f.name, kind=f.kind)
        feats.append({"type": "Feature", "properties": props,
                      "geometry": shapely.geometry.mapping(f.geometry)})  # fmt: skip
    return feature_collection(feats)


def _jsonable(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) or v is None


def layers_of(w: World) -> dict[str, dict[str, Any]]:
    """The zones and lines the pipeline loaded, as GeoJSON for the map."""
    out = {}
    if w.zones is not None:
        out["zones"] = _set_geojson(w.zones)
    if w.lines is not None:
        out["infrastructure"] = _set_geojson(w.lines)
    return out


def colour(frac: float | None) -> str | None:
    if frac is None:
        return None
    return "red" if frac >= RED else "yellow" if frac >= YELLOW else "green"


def _bad_fraction(ev: dict[str, Any]) -> float | None:
    for k in ("bad_fraction", "fraction", "bad_frac"):
        v = ev.get(k)
        if isinstance(v, int | float):
            return float(v)
    return None


def gnss_cells(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    """H3 cell polygons of `gnss.interference` alerts whose subject is `h3:<cell>`."""
    import h3

    feats = []
    for a in alerts:
        subj = str(a.get("subject", ""))
        if a.get("kind") != "gnss.interference" or not subj.startswith("h3:"):
            continue
        ev = a.get("evidence") or {}
        # an area alert (detect/gnss.py) lists its cells; an older alert is its own cell
        area = ev.get("cells") if isinstance(ev.get("cells"), list) else [{"cell": subj[3:]}]
        for row in area:
            cell = str(row.get("cell", "")) if isinstance(row, dict) else ""
            try:
                ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell)]
            except (ValueError, TypeError, h3.H3BaseException) as e:  # a stored alert's cell
                log.warning("gnss layer: alert %s: no H3 cell %r (%s)", a.get("id"), cell, e)
                continue
            ring.append(ring[0])
            frac = _bad_fraction(row) if len(row) > 1 else _bad_fraction(ev)
            props = {"cell": cell, "alert_id": a["id"], "severity": a.get("severity"),
                     "bad_fraction": frac, "colour": colour(frac) or "red",
                     "status": a.get("status"), "time": a.get("time"),
                     "area": subj[3:]}  # fmt: skip
            feats.append({"type": "Feature", "properties": props,
                          "geometry": {"type": "Polygon", "coordinates": [ring]}})  # fmt: skip
    return feature_collection(feats)


def alert_time(a: dict[str, Any]) -> float:
    return parse_time(a["time"])


# places and harbour names (geo/gazetteer.py) ---------------------------------------------
PLACES_CAP = 300  # names per request: the page places a few dozen without overlap
HARBOUR_AT_M = 10_000.0  # a learned cell this close to a town is "harbour at <town>"


def _finite(text: str, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"{what} must be finite")
    return v


def places_layer(q: dict[str, str]) -> dict[str, Any]:
    """`/api/layers/places?bbox=W,S,E,N&zoom=Z`: the towns worth a label at that zoom inside
    the box (W > E crosses the antimeridian), best first, at most PLACES_CAP; properties
    name, country, population, capital, rank. ValueError (400) on a bad box or zoom. Without
    the gazetteer an empty collection whose `properties.gazetteer` is false."""
    from picket.geo import gazetteer

    parts = str(q.get("bbox") or "").split(",")
    if len(parts) != 4:
        raise ValueError("bbox must be west,south,east,north")
    w, s, e, n = (_finite(p, "bbox") for p in parts)
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise ValueError("bbox out of range (lon -180..180, lat -90..90, south <= north)")
    zoom = _finite(q.get("zoom") or "", "zoom")
    if not 0 <= zoom <= 24:
        raise ValueError("zoom must be in [0, 24]")
    g = gazetteer.load()
    if g is None:
        return {**feature_collection([]), "properties": {"gazetteer": False}}
    rows = g.in_box(w, s, e, n, gazetteer.min_population(zoom), PLACES_CAP)
    feats = [{"type": "Feature",
              "geometry": {"type": "Point",
                           "coordinates": [round(float(g.lon[i]), 5), round(float(g.lat[i]), 5)]},
              "properties": {"name": g.name(int(i)), "country": str(g.country[i]),
                             "population": int(g.population[i]),
                             "capital": bool(g.capital[i]), "rank": int(i)}}
             for i in rows]  # fmt: skip
    return {**feature_collection(feats),
            "properties": {"gazetteer": True, "attribution": gazetteer.ATTRIBUTION}}  # fmt: skip


def name_harbours(fc: dict[str, Any]) -> dict[str, Any]:
    """Each learned harbour cell named by its nearest town: "harbour at Rønne" within 10 km,
    else "anchorage 25 km NE of Rønne" (no package ships the World Port Index)."""
    from picket.detect.places import bearing_name
    from picket.geo import gazetteer

    feats = fc.get("features") or []
    g = gazetteer.load() if feats else None
    if g is None:
        return fc
    ring0 = [f["geometry"]["coordinates"][0][:4] for f in feats]
    lon = np.array([sum(p[0] for p in r) / len(r) for r in ring0])
    lat = np.array([sum(p[1] for p in r) / len(r) for r in ring0])
    rows, dist = g.nearest(lat, lon)
    for f, a, b, i, d in zip(feats, lat, lon, rows, dist, strict=True):
        town, km = g.name(int(i)), round(float(d) / 1000.0)
        name = (f"harbour at {town}" if d <= HARBOUR_AT_M else
                f"anchorage {km} km {bearing_name(g.lat[i], g.lon[i], a, b)} of {town}")
        f["properties"].update(name=name, place=town, country=str(g.country[i]),
                               distance_km=km)  # fmt: skip
    return fc
