"""ADS-B (DF17) encoder for the simulator, vectorised over arrays of aircraft.

Every function returns an (n, 14) uint8 matrix of complete frames with parity,
which `beast_stream` wraps into Beast binary exactly as a receiver would emit
it. Inputs are SI (metres, m/s, degrees) like the rest of picket.
"""

from __future__ import annotations

import numpy as np

from picket.codec import modes_cpr
from picket.codec.modes_crc import checksum
from picket.codec.modes_fields import FPM, KT, encode_ac12, encode_callsign, encode_id13

DF17_CA5 = (17 << 3) | 5

# NIC -> (airborne type code, NIC supplement-B bit), DO-260B table for version 2
_NIC_TC = {11: (9, 0), 10: (10, 0), 9: (11, 1), 8: (11, 0), 7: (12, 0), 6: (13, 0),
           5: (14, 0), 4: (15, 0), 3: (16, 1), 2: (16, 0), 1: (17, 0), 0: (18, 0)}  # fmt: skip
_TC_OF_NIC = np.array([_NIC_TC[k][0] for k in range(12)], dtype=np.int64)
_NICB_OF_NIC = np.array([_NIC_TC[k][1] for k in range(12)], dtype=np.int64)


def _arr(x: object, n: int, dtype: type = np.float64) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=dtype), (n,)).copy()


def frames_df17(icao: np.ndarray, me: np.ndarray) -> np.ndarray:
    """Wrap 56-bit ME words (uint64) into DF17 frames with CRC parity."""
    icao = np.asarray(icao, dtype=np.int64)
    me = np.asarray(me, dtype=np.uint64)
    n = len(me)
    f = np.zeros((n, 14), dtype=np.uint8)
    f[:, 0] = DF17_CA5
    f[:, 1] = (icao >> 16) & 0xFF
    f[:, 2] = (icao >> 8) & 0xFF
    f[:, 3] = icao & 0xFF
    for j in range(7):
        f[:, 4 + j] = ((me >> np.uint64(8 * (6 - j))) & np.uint64(0xFF)).astype(np.uint8)
    crc = checksum(f, 14)
    f[:, 11] = (crc >> 16) & 0xFF
    f[:, 12] = (crc >> 8) & 0xFF
    f[:, 13] = crc & 0xFF
    return f


def _me(*fields: tuple[np.ndarray | int, int, int]) -> np.ndarray:
    """Assemble ME words from (value, first bit 1-based, width) fields."""
    me: np.ndarray | None = None
    for value, first, width in fields:
        v = (np.asarray(value, dtype=np.int64) & ((1 << width) - 1)).astype(np.uint64)
        part = v << np.uint64(56 - first - width + 1)
        me = part if me is None else me | part
    assert me is not None
    return np.atleast_1d(me)


def airborne_position(
    icao: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    alt_m: np.ndarray,
    odd: np.ndarray,
    nic: np.ndarray | int = 8,
) -> np.ndarray:
    """Airborne position (TC 9-18 from NIC, barometric altitude, CPR) frames."""
    icao = np.atleast_1d(np.asarray(icao, dtype=np.int64))
    n = len(icao)
    nic_a = np.clip(_arr(nic, n, np.int64), 0, 11)
    tc = _TC_OF_NIC[nic_a]
    nic_b = _NICB_OF_NIC[nic_a]
    odd_a = _arr(odd, n, np.int64) & 1
    yz, xz = modes_cpr.encode(_arr(lat, n), _arr(lon, n), odd_a)
    ac12 = encode_ac12(_arr(alt_m, n))
    me = _me((tc, 1, 5), (0, 6, 2), (nic_b, 8, 1), (ac12, 9, 12), (0, 21, 1), (odd_a, 22, 1),
             (yz, 23, 17), (xz, 40, 17))  # fmt: skip
    return frames_df17(icao, me)


def velocity(
    icao: np.ndarray, gs_ms: np.ndarray, track_deg: np.ndarray, vrate_ms: np.ndarray
) -> np.ndarray:
    """Airborne velocity TC19 subtype 1 (ground speed, 1 kt steps up to 1022 kt)."""
    icao = np.atleast_1d(np.asarray(icao, dtype=np.int64))
    n = len(icao)
    gs = _arr(gs_ms, n) / KT
    trk = np.radians(_arr(track_deg, n))
    vew, vns = gs * np.sin(trk), gs * np.cos(trk)
    ew = np.clip(np.round(np.abs(vew)), 0, 1021).astype(np.int64) + 1
    ns = np.clip(np.round(np.abs(vns)), 0, 1021).astype(np.int64) + 1
    vr = _arr(vrate_ms, n) / FPM
    vr_ok = np.isfinite(vr)
    vr_f = np.where(vr_ok, vr, 0.0)
    vrf = np.where(vr_ok, np.clip(np.round(np.abs(vr_f) / 64.0), 0, 510).astype(np.int64) + 1, 0)
    me = _me((19, 1, 5), (1, 6, 3), (0, 9, 1), (0, 10, 1), (1, 11, 3),
             ((vew < 0).astype(np.int64), 14, 1), (ew, 15, 10),
             ((vns < 0).astype(np.int64), 25, 1), (ns, 26, 10),
             (1, 36, 1), ((vr_f < 0).astype(np.int64), 37, 1), (vrf, 38, 9))  # fmt: skip
    return frames_df17(icao, me)


def identification(icao: np.ndarray, callsign: list[str], category: int = 3) -> np.ndarray:
    """Identification TC4 (category set A) with the callsign in 6-bit characters."""
    icao = np.atleast_1d(np.asarray(icao, dtype=np.int64))
    codes = encode_callsign(list(callsign))
    fields: list[tuple[np.ndarray | int, int, int]] = [(4, 1, 5), (category, 6, 3)]
    fields += [(codes[:, k], 9 + 6 * k, 6) for k in range(8)]
    return frames_df17(icao, _me(*fields))


def operational_status(
    icao: np.ndarray, nacp: np.ndarray | int, sil: np.ndarray | int = 3,
    version: np.ndarray | int = 2,
) -> np.ndarray:  # fmt: skip
    """Airborne operational status TC31 subtype 0 (version, NACp, SIL)."""
    icao = np.atleast_1d(np.asarray(icao, dtype=np.int64))
    n = len(icao)
    me = _me((31, 1, 5), (0, 6, 3), (_arr(version, n, np.int64), 41, 3), (0, 44, 1),
             (_arr(nacp, n, np.int64), 45, 4), (_arr(sil, n, np.int64), 51, 2))  # fmt: skip
    return frames_df17(icao, me)


def emergency_status(
    icao: np.ndarray, emergency: np.ndarray | int, squawk: np.ndarray | int
) -> np.ndarray:
    """Aircraft status TC28 subtype 1 (emergency state and Mode A code)."""
    icao = np.atleast_1d(np.asarray(icao, dtype=np.int64))
    n = len(icao)
    me = _me((28, 1, 5), (1, 6, 3), (_arr(emergency, n, np.int64), 9, 3),
             (encode_id13(_arr(squawk, n, np.int64)), 12, 13))  # fmt: skip
    return frames_df17(icao, me)


def beast_stream(frames: np.ndarray, time_s: np.ndarray, signal: np.ndarray | int = 180) -> bytes:
    """Beast binary of long ('3') frames: 12 MHz ticks = round(time_s*12e6) mod 2**48."""
    frames = np.asarray(frames, dtype=np.uint8).reshape(-1, 14)
    n = frames.shape[0]
    ticks = np.round(_arr(time_s, n) * 12e6).astype(np.int64) & ((1 << 48) - 1)
    out = np.zeros((n, 23), dtype=np.uint8)
    out[:, 0] = 0x1A
    out[:, 1] = ord("3")
    for j in range(6):
        out[:, 2 + j] = (ticks >> (8 * (5 - j))) & 0xFF
    out[:, 8] = _arr(signal, n, np.int64) & 0xFF
    out[:, 9:] = frames
    reps = np.ones((n, 23), dtype=np.int64)
    reps[:, 2:] += out[:, 2:] == 0x1A  # escape by doubling 0x1A inside a frame
    return np.repeat(out.ravel(), reps.ravel()).tobytes()
