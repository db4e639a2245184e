"""Plausible made-up identities: MMSIs with Baltic MIDs, ship names, IMO numbers,
ICAO addresses in national blocks, airline callsigns. All invented; any match with
a real vessel or aircraft is chance."""

from __future__ import annotations

import numpy as np

# MID -> (callsign prefixes, weight)
MIDS: dict[int, tuple[tuple[str, ...], float]] = {
    230: (("OJ", "OH", "OI"), 3.0),  # Finland
    276: (("ES",), 2.0),  # Estonia
    275: (("YL",), 1.5),  # Latvia
    277: (("LY",), 1.0),  # Lithuania
    261: (("SP", "SQ"), 1.5),  # Poland
    265: (("SJ", "SK"), 1.0),  # Sweden
    266: (("SF", "SL"), 1.0),  # Sweden
    219: (("OZ", "OU"), 1.0),  # Denmark
    220: (("OX", "OY"), 0.5),  # Denmark
    211: (("DA", "DB"), 1.0),  # Germany
    218: (("DC", "DD"), 0.5),  # Germany
    273: (("UB", "UC", "UH"), 2.0),  # Russia
}

_FIRST = [
    "BALTIC",
    "AMBER",
    "AURORA",
    "NORDIC",
    "POLAR",
    "HANSA",
    "VIKING",
    "SILVER",
    "NORTHERN",
    "EASTERN",
    "FINN",
    "ISLAND",
    "SEA",
    "OCEAN",
    "STELLA",
    "CORONA",
    "LADY",
    "MARE",
    "GULF",
    "WHITE",
    "BLUE",
    "GREEN",
    "ARCTIC",
    "DANA",
    "VEGA",
    "ASTRA",
]
_SECOND = [
    "TRADER",
    "CARRIER",
    "SPIRIT",
    "WAVE",
    "PRIDE",
    "HORIZON",
    "STAR",
    "QUEEN",
    "EXPRESS",
    "BREEZE",
    "VOYAGER",
    "PIONEER",
    "LEADER",
    "GLORY",
    "FORTUNE",
    "WIND",
    "RIVER",
    "BAY",
    "LIGHT",
    "DAWN",
    "HARMONY",
    "SKY",
    "STREAM",
    "SPRING",
    "NAVIGATOR",
]
_ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


def mmsis(rng: np.random.Generator, n: int, exclude: set[int] | None = None) -> np.ndarray:
    """Unique 9-digit ship MMSIs with Baltic MIDs."""
    mids = np.array(list(MIDS))
    w = np.array([v[1] for v in MIDS.values()])
    taken = set(exclude or ())
    out: list[int] = []
    while len(out) < n:
        mid = int(rng.choice(mids, p=w / w.sum()))
        m = mid * 1_000_000 + int(rng.integers(100_000, 999_999)) // 10 * 10
        if m not in taken:
            taken.add(m)
            out.append(m)
    return np.array(out, dtype=np.int64)


def callsign(rng: np.random.Generator, mmsi: int) -> str:
    prefixes = MIDS.get(mmsi // 1_000_000, (("XX",), 0.0))[0]
    return str(rng.choice(prefixes)) + "".join(rng.choice(_ALNUM, 4))


def ship_names(rng: np.random.Generator, n: int) -> list[str]:
    names: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)}"
        if name in names:
            name = f"{name} {int(rng.integers(2, 9))}"
        if name not in names and len(name) <= 20:
            names.add(name)
            out.append(name)
    return out


def imo_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """IMO numbers with a valid check digit (weights 7..2 on the first six digits)."""
    body = rng.integers(900_000, 999_999, n)
    digits = (body[:, None] // 10 ** np.arange(5, -1, -1)) % 10
    check = (digits * np.arange(7, 1, -1)).sum(axis=1) % 10
    return (body * 10 + check).astype(np.int64)


def imo_valid(imo: int) -> bool:
    s = f"{imo:07d}"
    return sum(int(c) * w for c, w in zip(s[:6], range(7, 1, -1), strict=True)) % 10 == int(s[6])


# airline ICAO designator -> (first ICAO address of its state's block, block size, weight)
AIRLINES: dict[str, tuple[int, int, float]] = {
    "FIN": (0x460000, 0x8000, 3.0),  # Finland
    "BTI": (0x502C00, 0x400, 3.0),  # Latvia
    "LOT": (0x488000, 0x8000, 2.0),  # Poland
    "SAS": (0x4A8000, 0x8000, 2.0),  # Sweden
    "RYR": (0x4CA000, 0x1000, 2.5),  # Ireland
    "DLH": (0x3C0000, 0x40000, 1.5),  # Germany
    "NSZ": (0x478000, 0x8000, 1.0),  # Norway
    "WZZ": (0x470000, 0x8000, 1.5),  # Hungary
    "KLM": (0x480000, 0x8000, 0.7),  # Netherlands
    "ELY": (0x738000, 0x8000, 0.3),  # Israel
    "THY": (0x4B8000, 0x8000, 0.6),  # Turkey
    "AFL": (0x150000, 0x8000, 0.5),  # Russia
    "SVA": (0x710000, 0x8000, 0.2),  # Saudi Arabia
    "UAE": (0x896000, 0x1000, 0.4),  # UAE
    "QTR": (0x06A000, 0x1000, 0.4),  # Qatar
    "DHK": (0x3C0000, 0x40000, 0.4),  # Germany (cargo)
    "ESW": (0x511000, 0x400, 0.5),  # Estonia
    "LYX": (0x503C00, 0x400, 0.3),  # Lithuania
}


def aircraft_identities(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str]]:
    """Unique ICAO addresses (in the operator's national block) and callsigns."""
    codes = list(AIRLINES)
    w = np.array([AIRLINES[c][2] for c in codes])
    used_icao: set[int] = set()
    used_cs: set[str] = set()
    icao: list[int] = []
    cs: list[str] = []
    while len(icao) < n:
        code = codes[int(rng.choice(len(codes), p=w / w.sum()))]
        base, size, _ = AIRLINES[code]
        a = base + int(rng.integers(0x10, size))
        c = f"{code}{int(rng.integers(1, 9999))}"
        if rng.random() < 0.15:
            c += str(rng.choice(list("ABKLMPWX")))
        if a in used_icao or c in used_cs or len(c) > 8:
            continue
        used_icao.add(a)
        used_cs.add(c)
        icao.append(a)
        cs.append(c)
    return np.array(icao, dtype=np.int64), cs


def squawks(rng: np.random.Generator, n: int) -> np.ndarray:
    """Discrete Mode A codes written as four octal digits (never 7500/7600/7700, 1200, 2000...)."""
    d = rng.integers(0, 8, (n, 4))
    d[:, 0] = rng.integers(1, 7, n)  # first digit 1..6: away from 7xxx specials
    code = (d * np.array([1000, 100, 10, 1])).sum(axis=1)
    code = np.where(np.isin(code, [1200, 2000, 1000]), code + 1, code)
    return code.astype(np.int16)
