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
