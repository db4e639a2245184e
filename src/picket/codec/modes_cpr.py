"""Compact Position Reporting (CPR): encode and decode, vectorised.

Airborne CPR uses 17-bit fractions of 360/60 (even) or 360/59 (odd) degree
latitude zones; surface CPR the same over 90 degrees. The longitude zone count
depends on latitude (NL), and a pair of even/odd messages decodes globally only
when both latitudes fall in the same NL zone: that is the consistency check.
"""

from __future__ import annotations

import numpy as np

NZ = 15
SCALE = float(1 << 17)


def _nl_thresholds() -> np.ndarray:
    # latitude at which NL drops from nl to nl-1, for nl = 59 .. 2 (ascending latitude)
    nl = np.arange(59, 1, -1, dtype=np.float64)
    a = 1.0 - np.cos(np.pi / (2 * NZ))
    b = 1.0 - np.cos(2 * np.pi / nl)
    return np.degrees(np.arccos(np.sqrt(a / b)))


NL_THRESHOLDS = _nl_thresholds()


def nl(lat: np.ndarray) -> np.ndarray:
    """Number of longitude zones at latitude `lat` (1..59)."""
    lat = np.abs(np.asarray(lat, dtype=np.float64))
    return (59 - np.searchsorted(NL_THRESHOLDS, lat, side="right")).astype(np.int64)


def encode(
    lat: np.ndarray, lon: np.ndarray, odd: np.ndarray, surface: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(YZ, XZ) 17-bit CPR fields for positions with parity `odd` (0/1)."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    i = np.asarray(odd, dtype=np.int64)
    span = 90.0 if surface else 360.0
    dlat = span / (4 * NZ - i)
    yz = np.floor(SCALE * np.mod(lat, dlat) / dlat + 0.5)
    rlat = dlat * (yz / SCALE + np.floor(lat / dlat))
    ni = np.maximum(nl(rlat) - i, 1)
    dlon = span / ni
    xz = np.floor(SCALE * np.mod(lon, dlon) / dlon + 0.5)
    return (yz.astype(np.int64) & 0x1FFFF), (xz.astype(np.int64) & 0x1FFFF)


def decode_global(
    yz_even: np.ndarray,
    xz_even: np.ndarray,
    yz_odd: np.ndarray,
    xz_odd: np.ndarray,
    latest_odd: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Airborne global decode of even/odd pairs -> (lat, lon, consistent).

    The position returned is that of the latest message (parity `latest_odd`).
    `consistent` is False where the two latitudes lie in different NL zones.
    """
    lat0 = np.asarray(yz_even, dtype=np.float64) / SCALE
    lat1 = np.asarray(yz_odd, dtype=np.float64) / SCALE
    lon0 = np.asarray(xz_even, dtype=np.float64) / SCALE
    lon1 = np.asarray(xz_odd, dtype=np.float64) / SCALE
    odd = np.asarray(latest_odd, dtype=bool)
    dlat0, dlat1 = 360.0 / 60, 360.0 / 59
    j = np.floor(59 * lat0 - 60 * lat1 + 0.5)
    rlat0 = dlat0 * (np.mod(j, 60) + lat0)
    rlat1 = dlat1 * (np.mod(j, 59) + lat1)
    rlat0 = np.where(rlat0 >= 270, rlat0 - 360, rlat0)
    rlat1 = np.where(rlat1 >= 270, rlat1 - 360, rlat1)
    nl0, nl1 = nl(rlat0), nl(rlat1)
    ok = (nl0 == nl1) & (np.abs(rlat0) <= 90) & (np.abs(rlat1) <= 90)
    lat = np.where(odd, rlat1, rlat0)
    nlat = np.where(odd, nl1, nl0)
    ni = np.maximum(nlat - odd, 1)
    m = np.floor(lon0 * (nlat - 1) - lon1 * nlat + 0.5)
    lon = (360.0 / ni) * (np.mod(m, ni) + np.where(odd, lon1, lon0))
    lon = np.where(lon >= 180, lon - 360, lon)
    return lat, lon, ok


def decode_local(
    yz: np.ndarray,
    xz: np.ndarray,
    odd: np.ndarray,
    ref_lat: np.ndarray,
    ref_lon: np.ndarray,
    surface: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one message against a reference position within half a zone of it."""
    i = np.asarray(odd, dtype=np.int64)
    span = 90.0 if surface else 360.0
    y = np.asarray(yz, dtype=np.float64) / SCALE
    x = np.asarray(xz, dtype=np.float64) / SCALE
    ref_lat = np.asarray(ref_lat, dtype=np.float64)
    ref_lon = np.asarray(ref_lon, dtype=np.float64)
    dlat = span / (4 * NZ - i)
    j = np.floor(ref_lat / dlat) + np.floor(0.5 + np.mod(ref_lat, dlat) / dlat - y)
    lat = dlat * (j + y)
    dlon = span / np.maximum(nl(lat) - i, 1)
    m = np.floor(ref_lon / dlon) + np.floor(0.5 + np.mod(ref_lon, dlon) / dlon - x)
    lon = dlon * (m + x)
    lon = np.where(lon >= 180, lon - 360, lon)
    lon = np.where(lon < -180, lon + 360, lon)
    return lat, lon
