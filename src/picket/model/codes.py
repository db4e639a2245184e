"""Codes for humans: AIS ship types and navigational status, ADS-B emergency states, squawks.

The page and the evidence show `ship_type 80` as "Tanker" and `emergency_state 1` as
"general emergency". The meanings are those of ITU-R M.1371 (AIS message 5 ship type
table and navigational status) and of the ADS-B emergency/priority status field
(RTCA DO-260B); the special squawks are ICAO's (Annex 10 Vol. IV, PANS-ATM). The class
of a ship type is picket's grouping for map colours (cargo, tanker, passenger, ...).
"""

from __future__ import annotations

from typing import Any

# AIS ship type: second digit meanings for the 20s and 40s (WIG, high speed craft) and
# the 30s and 50s are specific; 60-99 share the "hazard category" second digit.
_HAZARD = {1: "hazardous category A", 2: "hazardous category B", 3: "hazardous category C",
           4: "hazardous category D", 9: "no additional information"}  # fmt: skip
_FIRST = {2: "Wing in ground (WIG)", 4: "High speed craft (HSC)", 6: "Passenger",
          7: "Cargo", 8: "Tanker", 9: "Other type"}  # fmt: skip
_SPECIFIC = {
    30: "Fishing", 31: "Towing", 32: "Towing (length over 200 m or breadth over 25 m)",
    33: "Dredging or underwater operations", 34: "Diving operations",
    35: "Military operations", 36: "Sailing", 37: "Pleasure craft", 50: "Pilot vessel",
    51: "Search and rescue vessel", 52: "Tug", 53: "Port tender",
    54: "Anti-pollution equipment", 55: "Law enforcement", 56: "Spare (local use)",
    57: "Spare (local use)", 58: "Medical transport",
    59: "Noncombatant ship (RR Resolution 18)", 0: "Not available",
}  # fmt: skip

SHIP_CLASSES = ("unknown", "cargo", "tanker", "passenger", "high_speed", "fishing",
                "tug_special", "pleasure", "military_law", "wig", "other")  # fmt: skip


def ship_type_name(code: int | None) -> str | None:
    """`80` -> "Tanker", `84` -> "Tanker, hazardous category D", `30` -> "Fishing"."""
    if code is None or not 0 <= int(code) <= 255:
        return None
    c = int(code)
    if c in _SPECIFIC:
        return _SPECIFIC[c]
    if 1 <= c <= 19:
        return "Reserved for future use"
    first, second = divmod(c, 10)
    if first in _FIRST and c < 100:
        base = _FIRST[first]
        return base if second == 0 else f"{base}, {_HAZARD.get(second, 'reserved')}"
    return "Reserved" if c < 100 else "Regional or local use"


def ship_class(code: int | None) -> str:
    """The map colour class of an AIS ship type (one of SHIP_CLASSES)."""
    if code is None or not 0 < int(code) < 100:
        return "unknown"
    c = int(code)
    if 70 <= c <= 79:
        return "cargo"
    if 80 <= c <= 89:
        return "tanker"
    if 60 <= c <= 69:
        return "passenger"
    if 40 <= c <= 49:
        return "high_speed"
    if c == 30:
        return "fishing"
    if c in (35, 55):
        return "military_law"
    if c in (36, 37):
        return "pleasure"
    if 20 <= c <= 29:
        return "wig"
    if c in (31, 32, 33, 34, 50, 51, 52, 53, 54, 56, 57, 58, 59):
        return "tug_special"
    return "other"


NAV_STATUS: dict[int, str] = {
    0: "under way using engine", 1: "at anchor", 2: "not under command",
    3: "restricted manoeuvrability", 4: "constrained by her draught", 5: "moored",
    6: "aground", 7: "engaged in fishing", 8: "under way sailing",
    9: "reserved (future HSC hazardous cargo)", 10: "reserved (future WIG hazardous cargo)",
    11: "power-driven vessel towing astern", 12: "power-driven vessel pushing ahead or "
    "towing alongside", 13: "reserved", 14: "AIS-SART, MOB or EPIRB active",
    15: "not defined",
}  # fmt: skip

EMERGENCY_STATES: dict[int, str] = {
    0: "no emergency", 1: "general emergency", 2: "lifeguard / medical emergency",
    3: "minimum fuel", 4: "no communications", 5: "unlawful interference", 6: "downed aircraft",
    7: "reserved",
}  # fmt: skip

SQUAWKS: dict[str, str] = {
    "7500": "unlawful interference (hijack)",
    "7600": "radio failure (lost communications)",
    "7700": "general emergency",
    "7000": "VFR conspicuity (ICAO, most of Europe)",
    "1200": "VFR (North America)",
    "2000": "entering SSR airspace without an assigned code (ICAO)",
    "1000": "Mode S conspicuity: identified by its 24-bit address (IFR, Europe)",
    "7400": "lost link (unmanned aircraft)",
}  # fmt: skip
EMERGENCY_SQUAWKS = ("7500", "7600", "7700")


def squawk_meaning(code: Any) -> str | None:
    """The meaning of a special squawk (`7700` or 7700), None for an assigned code."""
    if code is None:
        return None
    s = str(code).strip()
    if s.isdigit() and len(s) < 4:
        s = s.zfill(4)
    return SQUAWKS.get(s)


def all_codes() -> dict[str, Any]:
    """Every table, JSON-ready (`/api/codes`)."""
    return {
        "ship_type": {str(c): {"name": ship_type_name(c), "class": ship_class(c)}
                      for c in range(100)},
        "ship_classes": list(SHIP_CLASSES),
        "nav_status": {str(k): v for k, v in NAV_STATUS.items()},
        "emergency_state": {str(k): v for k, v in EMERGENCY_STATES.items()},
        "squawk": dict(SQUAWKS),
        "emergency_squawks": list(EMERGENCY_SQUAWKS),
    }  # fmt: skip


# evidence for humans ---------------------------------------------------------------------
KN = 1852.0 / 3600.0
FT = 0.3048


def _fmt(v: float, unit: str) -> str:
    if unit in ("min", "h"):
        return f"{v:.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    if unit == "%":
        return f"{v:.0f} %"
    if unit in ("m", "ft"):
        return f"{v:,.0f} {unit}"
    return f"{v:.1f} {unit}"


def _conv(v: float, si: str, domain: str) -> tuple[float, str]:
    """A value in SI (`s`, `m`, `m/s`, `kn`, `frac`) to the unit an analyst of the domain
    reads: minutes, km (or m under 2 km), ft for aircraft altitude, kn for speeds."""
    if si == "s":
        return (v / 3600.0, "h") if v >= 3 * 3600 else (v / 60.0, "min")
    if si == "m":
        return (v / 1000.0, "km") if v >= 2000 else (v, "m")
    if si == "alt":
        return (v / FT, "ft") if domain == "air" else (v, "m")
    if si == "m/s":
        return v / KN, "kn"
    if si == "frac":
        return 100.0 * v, "%"
    return v, si


# (evidence key, SI unit, thresholds key for the limit, relation to the limit)
_MEASURES: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("speed_kn", "kn", ("min_speed_kn",), "above"),
    ("median_speed_kn", "kn", ("max_speed_kn",), "below"),
    ("implied_speed_kn", "kn", ("max_speed_kn",), "above"),
    ("speed_ms", "m/s", ("max_speed_ms",), "below"),
    ("altitude_m", "alt", ("max_alt_m",), "below"),
    ("duration_s", "s", ("min_duration_s", "live_min_duration_s"), "at least"),
    ("moved_m", "m", ("min_distance_m",), "at least"),
    ("distance_m", "m", ("max_distance_m", "min_jump_m"), "auto"),
    ("silent_s", "s", ("expected_max_gap_s",), "above"),
    ("bad_fraction", "frac", ("red",), "at or above"),
)


NAMES = {"median_speed_kn": "median speed", "implied_speed_kn": "implied speed",
         "silent_s": "silent for", "moved_m": "moved",
         "bad_fraction": "degraded share (gpsjam measure, worst cell)"}  # fmt: skip


def measures(kind: str, ev: dict[str, Any]) -> list[dict[str, Any]]:
    """Evidence values with their limit and unit: `{"name": "speed", "value": 2.6,
    "unit": "kn", "limit": 1.0, "relation": "above", "text": "2.6 kn, above 1.0 kn"}`."""
    th = ev.get("thresholds") if isinstance(ev.get("thresholds"), dict) else {}
    domain = kind.split(".", 1)[0]
    out = []
    for key, si, lims, rel in _MEASURES:
        v = ev.get(key)
        if not isinstance(v, int | float) or isinstance(v, bool):
            continue
        src = {**ev, **th}  # a limit the detector put beside the value counts too
        lim_key = next((k for k in lims if isinstance(src.get(k), int | float)), None)
        lim = src.get(lim_key) if lim_key else None
        if key == "speed_kn" and isinstance(th.get("max_speed_kn"), int | float) and lim:
            rel = f"within {lim:g}-{th['max_speed_kn']:g} kn:"
        value, unit = _conv(float(v), si, domain)
        row: dict[str, Any] = {"name": NAMES.get(key, key.rsplit("_", 1)[0]),
                               "value": round(value, 2), "unit": unit}  # fmt: skip
        text = _fmt(value, unit)
        if lim is not None:
            limit, lunit = _conv(float(lim), si, domain)
            r = rel
            if rel == "auto":
                r = "below" if lim_key == "max_distance_m" else "above"
            row.update(limit=round(limit, 2), limit_unit=lunit, relation=r.rstrip(":"))
            text += (f", {r} {_fmt(limit, lunit)}" if not r.endswith(":") else f", {r[:-1]}")
        row["text"] = text
        out.append(row)
    inf = ev.get("infrastructure")
    if isinstance(inf, dict) and isinstance(inf.get("distance_m"), int | float):
        d, u = _conv(float(inf["distance_m"]), "m", domain)
        text = f"{_fmt(d, u)} from {inf.get('name')} ({inf.get('kind')})"
        if isinstance(inf.get("corridor_m"), int | float):
            c, cu = _conv(float(inf["corridor_m"]), "m", domain)
            text += f", inside its {_fmt(c, cu)} corridor"
        out.append({"name": "infrastructure", "value": round(d, 2), "unit": u,
                    "of": inf.get("name"), "text": text})  # fmt: skip
    return out


def named(ev: dict[str, Any]) -> dict[str, str]:
    """Codes in the evidence, named: ship type, navigational status, squawk, emergency."""
    out: dict[str, str] = {}
    st = ev.get("ship_type")
    if isinstance(st, int) and ship_type_name(st):
        out["ship_type"] = f"{ship_type_name(st)} ({st})"
    ns = ev.get("nav_status")
    if isinstance(ns, int) and ns in NAV_STATUS:
        out["nav_status"] = NAV_STATUS[ns]
    sq = squawk_meaning(ev.get("squawk"))
    if sq:
        out["squawk"] = f"{str(ev['squawk']).zfill(4)}: {sq}"
    es = ev.get("emergency_state")
    if isinstance(es, int) and es in EMERGENCY_STATES:
        out["emergency_state"] = EMERGENCY_STATES[es]
    return out


def human(kind: str, ev: dict[str, Any] | None) -> dict[str, Any]:
    """What `/api/alerts` adds under `human`: measures against their limits, codes named."""
    ev = ev if isinstance(ev, dict) else {}
    return {"measures": measures(kind, ev), "named": named(ev)}
