"""A cell map as GeoJSON (for any GIS or web map) and as a PNG picture.

The PNG uses matplotlib (optional: ``pip install matplotlib``) on a plain
longitude/latitude grid, cropped to the cells shown, with country or zone
outlines drawn thinly underneath when a GeoJSON of them is given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h3
import numpy as np

from picket.detect.gnss import InterferenceThresholds
from picket.em.cells import RGB, CellCounts


def cell_ring(hexid: str) -> list[list[float]]:
    """A cell's boundary as a closed [lon, lat] ring, continuous across the antimeridian."""
    pts = h3.cell_to_boundary(hexid)
    lon = np.array([p[1] for p in pts])
    lat = np.array([p[0] for p in pts])
    if lon.max() - lon.min() > 180.0:  # drawn east of 180 rather than across the map
        lon = np.where(lon < 0, lon + 360.0, lon)
    ring = [[round(float(a), 5), round(float(b), 5)] for a, b in zip(lon, lat, strict=True)]
    return [*ring, ring[0]]


def to_geojson(
    counts: CellCounts, th: InterferenceThresholds | None = None, min_aircraft: int = 1
) -> dict[str, Any]:
    """FeatureCollection: one polygon per cell with counts, bad fraction, colour and fill."""
    col = counts.colours(th)
    frac = counts.fraction()
    feats = []
    shown = (counts.good + counts.bad) >= min_aircraft
    for i, hx in zip(np.flatnonzero(shown).tolist(), np.array(counts.hexes())[shown], strict=True):
        c = str(col[i])
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [cell_ring(str(hx))]},
            "properties": {
                "hex": str(hx), "count_good_aircraft": int(counts.good[i]),
                "count_bad_aircraft": int(counts.bad[i]), "bad_fraction": round(float(frac[i]), 4),
                "colour": c, "fill": RGB[c],
            },
        })  # fmt: skip
    return {"type": "FeatureCollection", "features": feats}


def write_geojson(path: str | Path, counts: CellCounts, **kw: Any) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(to_geojson(counts, **kw)), encoding="utf-8")
    return p


def outlines(path: str | Path) -> list[np.ndarray]:
    """Every ring and line of a GeoJSON file as (k, 2) lon/lat arrays (for drawing only)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[np.ndarray] = []

    def walk(geom: dict[str, Any] | None) -> None:
        if not geom:
            return
        t, c = geom.get("type"), geom.get("coordinates")
        if t == "GeometryCollection":
            for g in geom.get("geometries", []):
                walk(g)
        elif t == "LineString":
            out.append(np.asarray(c, float)[:, :2])
        elif t in ("Polygon", "MultiLineString"):
            out.extend(np.asarray(r, float)[:, :2] for r in c)
        elif t == "MultiPolygon":
            out.extend(np.asarray(r, float)[:, :2] for poly in c for r in poly)

    feats = data.get("features", [data]) if isinstance(data, dict) else []
    for f in feats:
        walk(f.get("geometry") if f.get("type") == "Feature" else f)
    return [a for a in out if a.ndim == 2 and len(a) >= 2]


def write_png(
    path: str | Path,
    counts: CellCounts,
    th: InterferenceThresholds | None = None,
    outline_files: list[str | Path] | None = None,
    title: str = "",
    min_aircraft: int = 1,
    bbox: tuple[float, float, float, float] | None = None,
) -> Path:
    """Draw the cells (green/yellow/red) over thin outlines; bbox is (west, south, east, north)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection, PolyCollection
    except ImportError as exc:  # optional dependency
        raise RuntimeError("PNG maps need matplotlib: pip install matplotlib") from exc
    shown = np.flatnonzero((counts.good + counts.bad) >= min_aircraft)
    col = counts.colours(th)[shown]
    hexes = np.array(counts.hexes(), dtype=object)[shown]
    rings = [np.asarray(cell_ring(h)) for h in hexes]
    fig, ax = plt.subplots(figsize=(12, 6.5), dpi=100)
    for f in outline_files or []:
        lines = outlines(f)
        ax.add_collection(LineCollection(lines, colors="#777777", linewidths=0.4, zorder=1))
    # green first so yellow and red stay visible where cells touch
    order = np.argsort(np.select([col == "red", col == "yellow"], [2, 1], 0), kind="stable")
    ax.add_collection(PolyCollection(
        [rings[i] for i in order], facecolors=[RGB[str(col[i])] for i in order],
        edgecolors="none", alpha=0.65, zorder=2,
    ))  # fmt: skip
    if bbox is None and rings:
        allpts = np.concatenate(rings)
        w, s = allpts.min(axis=0)
        e, n = allpts.max(axis=0)
        pad = 1.0
        bbox = (max(w - pad, -180.0), max(s - pad, -90.0), min(e + pad, 190.0), min(n + pad, 90.0))
    w, s, e, n = bbox or (-180.0, -90.0, 180.0, 90.0)
    ax.set_xlim(w, e)
    ax.set_ylim(s, n)
    ax.set_aspect(1.0 / max(np.cos(np.radians((s + n) / 2)), 0.2))
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    nred, nyel = int((col == "red").sum()), int((col == "yellow").sum())
    ax.set_title(f"{title}  {len(shown)} cells: {nred} red (>=10 %), {nyel} yellow (2-10 %)"
                 " - (bad-1)/(good+bad)")  # fmt: skip
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, bbox_inches="tight")
    plt.close(fig)
    return p
