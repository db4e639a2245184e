"""Subject identities packed into one int64, so fusion can group without strings.

key = namespace << 48 | number. Strings like ``mmsi:212123000`` are made only
when a human reads them (alerts, API, exports).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

SHIFT = 48
MASK = (1 << SHIFT) - 1


class Namespace(IntEnum):
    MMSI = 1
    ICAO = 2  # 24-bit ICAO aircraft address
    NORAD = 3  # satellite catalogue number (six digits and beyond fit)
    TRACK = 4  # anonymous track made by picket's plot tracker
    RID = 5  # drone Remote ID serial, hashed (names kept in RID_NAMES)
    COT = 6  # Cursor on Target uid, 48 bits of its BLAKE2 hash (the uid itself is a static)
    SYSTRACK = 7  # an ASTERIX CAT062 system track: SAC << 24 | SIC << 16 | track number


RID_NAMES: dict[int, str] = {}


def key(ns: Namespace | int, number: int | np.ndarray) -> int | np.ndarray:
    if isinstance(number, np.ndarray):
        return (np.int64(int(ns)) << SHIFT) | (number.astype(np.int64) & MASK)
    return (int(ns) << SHIFT) | (int(number) & MASK)


def namespace(k: int | np.ndarray) -> int | np.ndarray:
    return np.asarray(k) >> SHIFT if isinstance(k, np.ndarray) else int(k) >> SHIFT


def number(k: int | np.ndarray) -> int | np.ndarray:
    return np.asarray(k) & MASK if isinstance(k, np.ndarray) else int(k) & MASK


def rid_key(serial: str) -> int:
    """A stable key for a Remote ID serial number (FNV-1a, 48 bits)."""
    h = 0xCBF29CE484222325
    for b in serial.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    n = h & MASK
    RID_NAMES[n] = serial
    return key(Namespace.RID, n)  # type: ignore[return-value]


def systrack_number(sac: int | np.ndarray, sic: int | np.ndarray,
                    track: int | np.ndarray) -> int | np.ndarray:  # fmt: skip
    """The number of a SYSTRACK key: a track number is unique only within its SDPS
    (SAC/SIC), so the system's identity is part of the subject."""
    return (sac & 0xFF) << 24 | (sic & 0xFF) << 16 | (track & 0xFFFF)  # type: ignore[operator]


def format_subject(k: int) -> str | None:
    """``mmsi:212123000``, ``icao:4ca7b5``, ``norad:25544``, ``track:17``,
    ``sdps:25/12/1234`` (SAC/SIC/track number of an ASTERIX system track)."""
    k = int(k)
    if k < 0:
        return None
    ns, n = k >> SHIFT, k & MASK
    if ns == Namespace.MMSI:
        return f"mmsi:{n:09d}"
    if ns == Namespace.ICAO:
        return f"icao:{n:06x}"
    if ns == Namespace.NORAD:
        return f"norad:{n}"
    if ns == Namespace.TRACK:
        return f"track:{n}"
    if ns == Namespace.RID:
        return f"rid:{RID_NAMES.get(n, format(n, 'x'))}"
    if ns == Namespace.COT:
        return f"cot:{n:012x}"
    if ns == Namespace.SYSTRACK:
        return f"sdps:{n >> 24 & 0xFF}/{n >> 16 & 0xFF}/{n & 0xFFFF}"
    return f"subject:{k}"


def parse_subject(text: str) -> int:
    ns, _, val = text.partition(":")
    ns = ns.lower()
    if ns == "mmsi":
        return key(Namespace.MMSI, int(val))  # type: ignore[return-value]
    if ns == "icao":
        return key(Namespace.ICAO, int(val, 16))  # type: ignore[return-value]
    if ns == "norad":
        return key(Namespace.NORAD, int(val))  # type: ignore[return-value]
    if ns == "track":
        return key(Namespace.TRACK, int(val))  # type: ignore[return-value]
    if ns == "rid":
        return rid_key(val)
    if ns == "cot":
        return key(Namespace.COT, int(val, 16))  # type: ignore[return-value]
    if ns == "sdps":
        sac, sic, track = (int(x) for x in val.split("/"))
        if not (0 <= sac <= 255 and 0 <= sic <= 255 and 0 <= track <= 0xFFFF):
            raise ValueError(f"sdps subject {text!r}: SAC/SIC 0..255, track 0..65535")
        return key(Namespace.SYSTRACK, systrack_number(sac, sic, track))  # type: ignore[return-value]
    raise ValueError(f"unknown subject namespace in {text!r}")
