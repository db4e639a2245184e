"""Map layers as GeoJSON: zones, infrastructure lines and GNSS interference cells."""

from __future__ import annotations

import logging
from typing import Any

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


def layers_from_env(world: World | dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The zones and lines the pipeline loaded, as GeoJSON for the map."""
    w = World.of(world)
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
