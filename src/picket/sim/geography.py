"""Baltic geometry for the demo scenario, hand-authored from public knowledge.

Every coordinate here was typed in by hand from general public knowledge of the
region (charts, news maps of the 2023-2024 cable incidents, airport locations):
borders, cable routes and lanes are approximate and only meant to be plausible
at the scale of the demo (a few km). Nothing is copied from a data set. All
coordinates are (lon, lat) pairs in degrees WGS84, GeoJSON order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.geo.geodesy import destination

LonLat = tuple[float, float]


@dataclass(frozen=True)
class Zone:
    name: str
    kind: str  # airspace | border | port | anchorage | airport
    ring: tuple[LonLat, ...]  # closed outer ring
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Infrastructure:
    name: str
    kind: str  # cable | pipeline
    line: tuple[LonLat, ...]
    corridor_m: float  # half-width: distance from the route that counts as "on" it
    props: dict[str, Any] = field(default_factory=dict)


def circle(lon: float, lat: float, radius_m: float, n: int = 36) -> tuple[LonLat, ...]:
    """A geodesic circle as a closed ring (zones for ports, anchorages, airports)."""
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    la, lo = destination(np.full(n, lat), np.full(n, lon), az, np.full(n, radius_m))
    ring = [(round(float(x), 5), round(float(y), 5)) for x, y in zip(lo, la, strict=True)]
    return (*ring, ring[0])


def _closed(points: list[LonLat]) -> tuple[LonLat, ...]:
    return (*points, points[0]) if points[0] != points[-1] else tuple(points)


# --- national areas -------------------------------------------------------------------

LITHUANIA = _closed(
    [
        (21.06, 56.07),  # coast at the Latvian border (Sventoji)
        (21.65, 56.31),
        (22.15, 56.42),
        (22.95, 56.39),
        (23.75, 56.37),
        (24.55, 56.28),
        (24.95, 56.43),
        (25.45, 56.15),
        (26.05, 55.95),
        (26.61, 55.68),  # Latvia / Belarus / Lithuania
        (26.75, 55.40),
        (26.50, 55.20),
        (26.10, 55.08),
        (25.80, 54.88),
        (25.73, 54.60),  # east of Vilnius (Medininkai)
        (25.56, 54.31),
        (25.20, 54.22),
        (24.80, 54.02),
        (24.40, 53.90),
        (23.95, 53.93),
        (23.50, 53.94),  # Poland / Belarus / Lithuania
        (23.35, 54.18),
        (22.79, 54.36),  # Poland / Kaliningrad / Lithuania
        (22.68, 54.60),
        (22.80, 54.86),
        (22.40, 54.98),
        (21.95, 55.07),
        (21.43, 55.20),  # Nemunas delta (Rusne)
        (21.22, 55.30),
        (21.11, 55.50),
        (21.08, 55.75),  # Klaipeda
        (21.05, 56.00),
    ]
)

KALININGRAD = _closed(
    [
        (19.64, 54.45),  # Vistula spit, Polish border
        (20.40, 54.40),
        (21.30, 54.33),
        (22.10, 54.34),
        (22.79, 54.36),
        (22.68, 54.60),
        (22.80, 54.86),
        (22.40, 54.98),
        (21.95, 55.07),
        (21.43, 55.20),
        (21.22, 55.30),  # Curonian spit border (Nida / Morskoye)
        (20.95, 55.29),
        (20.55, 54.96),  # Zelenogradsk
        (19.97, 54.96),  # Cape Taran
        (19.93, 54.73),
        (19.88, 54.62),  # Baltiysk
    ]
)

BELARUS = _closed(
    [
        (23.50, 53.94),
        (23.95, 53.93),
        (24.40, 53.90),
        (24.80, 54.02),
        (25.20, 54.22),
        (25.56, 54.31),
        (25.73, 54.60),
        (25.80, 54.88),
        (26.10, 55.08),
        (26.50, 55.20),
        (26.75, 55.40),
        (26.61, 55.68),
        (27.60, 55.79),
        (28.20, 56.15),
        (29.40, 55.95),
        (30.90, 55.60),
        (30.85, 54.85),
        (31.80, 53.80),
        (32.70, 53.35),
        (31.40, 52.10),
        (30.60, 51.35),
        (29.30, 51.40),
        (28.00, 51.60),
        (25.50, 51.90),
        (23.60, 51.55),
        (23.20, 52.25),
        (23.90, 53.00),
    ]
)

# name, kind, (lon, lat), radius m
_PORTS: tuple[tuple[str, str, LonLat, float], ...] = (
    ("Helsinki", "port", (24.955, 60.150), 3500.0),
    ("Helsinki Vuosaari", "port", (25.195, 60.200), 3000.0),
    ("Tallinn", "port", (24.770, 59.450), 3000.0),
    ("Muuga", "port", (24.960, 59.500), 3000.0),
    ("Paldiski", "port", (24.060, 59.345), 3000.0),
    ("Kotka", "port", (26.900, 60.430), 3500.0),
    ("Sillamae", "port", (27.730, 59.410), 3000.0),
    ("Ust-Luga", "port", (28.380, 59.680), 4000.0),
    ("Primorsk", "port", (28.620, 60.330), 3500.0),
    ("St Petersburg approaches", "port", (29.300, 59.980), 15000.0),
    ("Riga", "port", (24.030, 57.055), 4000.0),
    ("Ventspils", "port", (21.530, 57.400), 3000.0),
    ("Liepaja", "port", (20.995, 56.520), 3000.0),
    ("Klaipeda", "port", (21.090, 55.700), 3500.0),
    ("Gdansk", "port", (18.690, 54.410), 4000.0),
    ("Gdynia", "port", (18.560, 54.535), 3000.0),
    ("Baltiysk", "port", (19.890, 54.640), 3000.0),
    ("Nynashamn", "port", (17.960, 58.895), 3000.0),
    ("Stockholm", "port", (18.100, 59.330), 5000.0),
    ("Rostock", "port", (12.100, 54.180), 4000.0),
    ("Muuga anchorage", "anchorage", (25.030, 59.590), 2500.0),
    ("Helsinki east anchorage", "anchorage", (25.300, 60.070), 2500.0),
    ("Kotka anchorage", "anchorage", (27.050, 60.280), 2500.0),
    ("Sillamae anchorage", "anchorage", (27.650, 59.510), 2500.0),
    ("St Petersburg outer anchorage", "anchorage", (28.850, 60.030), 3000.0),
    ("Riga anchorage", "anchorage", (23.820, 57.170), 3000.0),
    ("Gdansk roads", "anchorage", (18.880, 54.500), 3000.0),
    ("Klaipeda anchorage", "anchorage", (20.930, 55.860), 2500.0),
)

# ICAO, name, (lon, lat)
AIRPORTS: dict[str, tuple[str, LonLat]] = {
    "EFHK": ("Helsinki-Vantaa", (24.963, 60.317)),
    "EETN": ("Tallinn", (24.833, 59.413)),
    "EVRA": ("Riga", (23.971, 56.924)),
    "EYVI": ("Vilnius", (25.288, 54.634)),
    "EYKA": ("Kaunas", (24.085, 54.964)),
    "EYPA": ("Palanga", (21.094, 55.973)),
    "ESSA": ("Stockholm-Arlanda", (17.919, 59.652)),
    "EPGD": ("Gdansk", (18.466, 54.378)),
    "EKCH": ("Copenhagen", (12.656, 55.618)),
    "EFTU": ("Turku", (22.262, 60.514)),
    "ULLI": ("St Petersburg-Pulkovo", (30.262, 59.800)),
    "UMKK": ("Kaliningrad-Khrabrovo", (20.592, 54.890)),
}


def zones() -> list[Zone]:
    out = [
        Zone("Lithuania", "airspace", LITHUANIA, {"watch": "non-cooperative", "country": "LT"}),
        Zone("Kaliningrad oblast", "border", KALININGRAD, {"country": "RU"}),
        Zone("Belarus", "border", BELARUS, {"country": "BY"}),
    ]
    for name, kind, (lon, lat), r in _PORTS:
        out.append(Zone(name, kind, circle(lon, lat, r), {"radius_m": r}))
    for code, (name, (lon, lat)) in AIRPORTS.items():
        out.append(Zone(f"{name} airport", "airport", circle(lon, lat, 10_000.0), {"icao": code}))
    return out


def port_centres() -> dict[str, tuple[str, LonLat, float]]:
    return {name: (kind, c, r) for name, kind, c, r in _PORTS}


# --- protected infrastructure ------------------------------------------------------------

INFRASTRUCTURE: tuple[Infrastructure, ...] = (
    Infrastructure(
        "Estlink 2",
        "cable",
        (
            (27.05, 59.36),  # Puessi converter station
            (26.95, 59.47),  # landfall east of Aseri
            (26.70, 59.66),
            (26.42, 59.86),
            (26.12, 60.06),
            (25.95, 60.24),
            (25.90, 60.38),  # Anttila
        ),
        1000.0,
        {"operator": "Elering / Fingrid", "type": "HVDC power"},
    ),
    Infrastructure(
        "Estlink 1",
        "cable",
        ((24.60, 59.40), (24.55, 59.52), (24.52, 59.80), (24.55, 60.05), (24.62, 60.20)),
        1000.0,
        {"operator": "Elering / Fingrid", "type": "HVDC power"},
    ),
    Infrastructure(
        "Balticconnector",
        "pipeline",
        ((24.08, 59.36), (24.10, 59.52), (24.09, 59.72), (24.05, 59.90), (24.00, 60.05)),
        1500.0,
        {"operator": "Elering / Gasgrid", "type": "gas"},
    ),
    Infrastructure(
        "C-Lion1",
        "cable",
        (
            (24.93, 60.14),  # Helsinki
            (24.70, 59.98),
            (24.00, 59.80),
            (23.00, 59.57),
            (22.10, 59.35),
            (21.30, 59.00),
            (20.55, 58.40),
            (20.05, 57.60),
            (19.60, 57.00),
            (18.90, 56.35),
            (17.60, 55.85),
            (16.30, 55.45),
            (15.40, 55.05),  # south of Bornholm
            (14.00, 54.75),
            (12.90, 54.50),
            (12.15, 54.20),  # Rostock
        ),
        1000.0,
        {"operator": "Cinia", "type": "telecom"},
    ),
    Infrastructure(
        "EE-S1",
        "cable",
        ((24.98, 60.16), (25.02, 59.95), (24.90, 59.70), (24.78, 59.46)),
        500.0,
        {"type": "telecom", "route": "Helsinki - Tallinn"},
    ),
    Infrastructure(
        "NordBalt",
        "cable",
        (
            (21.12, 55.62),
            (20.60, 55.57),
            (19.20, 55.75),
            (17.80, 56.05),
            (16.70, 56.45),
            (16.05, 56.65),
        ),
        1000.0,
        {"operator": "Litgrid / Svenska kraftnat", "type": "HVDC power"},
    ),
)

# --- shipping lanes (centre lines; traffic keeps to starboard of them) ---------------

_MAIN_WEST = [  # Kadet channel - Bornholmsgat - east of Gotland - Gulf of Finland
    (12.60, 54.55),
    (13.60, 54.85),
    (14.55, 55.40),
    (15.50, 55.58),
    (16.60, 55.80),
    (17.70, 56.25),
    (19.00, 56.80),
    (19.85, 57.30),
    (20.45, 58.00),
    (21.55, 58.80),
    (22.50, 59.36),
]
_GOF = [  # Gulf of Finland, mid-gulf, to the St Petersburg approaches
    (22.50, 59.36),
    (23.50, 59.56),
    (24.50, 59.72),
    (25.50, 59.84),
    (26.50, 59.88),
    (27.30, 59.89),
    (28.20, 59.94),
    (29.00, 59.98),
    (29.40, 59.98),
]


def _cat(*parts: list[LonLat] | tuple[LonLat, ...]) -> tuple[LonLat, ...]:
    return tuple(p for part in parts for p in part)


_GDANSK_OUT = [(18.69, 54.43), (18.95, 54.63), (19.15, 54.90)]
_BORNHOLM_WEST = [(15.50, 55.58), (14.55, 55.40), (13.60, 54.85), (12.60, 54.55)]

LANES: dict[str, tuple[tuple[LonLat, ...], float, str, str]] = {
    # name: (waypoints, traffic weight, destination at the end, destination at the start)
    "baltic-stpetersburg": (_cat(_MAIN_WEST, _GOF[1:]), 8.0, "RULED", "DEROS"),
    "baltic-ustluga": (
        _cat(_MAIN_WEST, _GOF[1:6], [(27.90, 59.80), (28.33, 59.69)]),
        4.0,
        "RUULU",
        "DEKEL",
    ),
    "baltic-primorsk": (
        _cat(_MAIN_WEST, _GOF[1:7], [(28.45, 60.10), (28.60, 60.30)]),
        3.0,
        "RUPRI",
        "DKSKA",
    ),
    "gdansk-gof": (
        _cat(_GDANSK_OUT, [(19.70, 55.60), (19.85, 57.30)], _MAIN_WEST[-3:], _GOF[1:4]),
        3.0,
        "FIHEL",
        "PLGDN",
    ),
    "gdansk-west": (
        _cat(_GDANSK_OUT, [(18.00, 55.25), (16.60, 55.52)], _BORNHOLM_WEST),
        3.0,
        "DEROS",
        "PLGDN",
    ),
    "klaipeda-west": (
        _cat([(21.05, 55.70), (20.45, 55.68), (18.50, 55.62), (16.60, 55.74)], _BORNHOLM_WEST),
        2.5,
        "DEKEL",
        "LTKLJ",
    ),
    "riga-baltic": (
        _cat(
            [(24.00, 57.08), (23.60, 57.40), (22.90, 57.74), (22.33, 57.84), (21.50, 57.75)],
            [(20.50, 57.55), (19.85, 57.30), (19.00, 56.80), (17.70, 56.25), (16.60, 55.80)],
        ),
        3.0,
        "DKSKA",
        "LVRIX",
    ),
    "ventspils-nynashamn": (
        (
            (21.50, 57.41),
            (21.00, 57.52),
            (20.00, 57.90),
            (19.60, 58.20),
            (18.60, 58.75),
            (17.99, 58.87),
        ),
        1.5,
        "SENYN",
        "LVVNT",
    ),
    "nynashamn-gof": (
        _cat([(17.99, 58.87), (18.60, 58.82), (20.50, 59.02), (22.00, 59.28)], _GOF[:4]),
        2.0,
        "EETLL",
        "SENYN",
    ),
    "helsinki-tallinn": (
        ((24.96, 60.135), (24.93, 59.95), (24.80, 59.55), (24.77, 59.46)),
        3.0,
        "EETLL",
        "FIHEL",
    ),
    "helsinki-baltic": (
        _cat(
            [(24.96, 60.135), (24.88, 59.95), (24.50, 59.72)], _GOF[:2][::-1], _MAIN_WEST[::-1][1:5]
        ),
        2.0,
        "DEROS",
        "FIHEL",
    ),
    "muuga-east": (
        _cat([(24.97, 59.52), (25.30, 59.72), (26.50, 59.88)], _GOF[5:]),
        2.0,
        "RULED",
        "EEMUG",
    ),
    "kotka-baltic": (
        _cat(
            [(26.90, 60.41), (26.82, 60.20), (26.55, 59.92)], _GOF[:4][::-1], _MAIN_WEST[::-1][1:4]
        ),
        2.0,
        "DKSKA",
        "FIKTK",
    ),
    "sillamae-west": (
        _cat([(27.72, 59.43), (27.55, 59.62), (27.30, 59.86)], _GOF[:5][::-1]),
        1.0,
        "FIHEL",
        "EESLM",
    ),
}

KALININGRAD_JAMMER: LonLat = (20.5, 54.7)
JAMMING_RADIUS_M = 150_000.0

# the region the ADS-B feed covers (lon_min, lat_min, lon_max, lat_max)
AIR_REGION = (9.5, 53.0, 32.0, 61.5)


def _feature(geometry: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def zones_geojson() -> dict[str, Any]:
    feats = [
        _feature(
            {"type": "Polygon", "coordinates": [[list(p) for p in z.ring]]},
            {"name": z.name, "kind": z.kind, **z.props},
        )
        for z in zones()
    ]
    return {"type": "FeatureCollection", "features": feats}


def infrastructure_geojson() -> dict[str, Any]:
    feats = [
        _feature(
            {"type": "LineString", "coordinates": [list(p) for p in i.line]},
            {"name": i.name, "kind": i.kind, "corridor_m": i.corridor_m, **i.props},
        )
        for i in INFRASTRUCTURE
    ]
    return {"type": "FeatureCollection", "features": feats}


def infrastructure(name: str) -> Infrastructure:
    for i in INFRASTRUCTURE:
        if i.name == name:
            return i
    raise KeyError(name)


def zone(name: str) -> Zone:
    for z in zones():
        if z.name == name:
            return z
    raise KeyError(name)
