"""AIS encoding for the simulator: columns in, tag-blocked NMEA lines out.

Bit fields are written and armoured for the whole batch at once; only the
final line assembly is per row (the output is a list of lines anyway). Lines
carry an NMEA 4.10 tag block with the station and event time, so picket's
decoder and pyais both read them back. Time goes out in whole seconds when it
is whole, else in milliseconds (`c:` accepts both).

Values the AIS cannot carry become its 'not available' codes: NaN speed ->
1023, course -> 3600, heading -> 511, position -> 181/91, navigational status
outside 0..15 -> 15. Out-of-range values are clipped to the field's range.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from picket.codec.ais_armor import armor, put, put_text


def _xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def _clean_station(station: str) -> str:
    """Tag-block delimiters inside a station name would corrupt the line."""
    return "".join("_" if c in ",*\\!$" or not c.isprintable() else c for c in station)


def _times(time: np.ndarray) -> list[str | None]:
    out: list[str | None] = []
    for t in np.asarray(time, np.float64).tolist():
        if t != t:  # NaN: no c: field
            out.append(None)
        elif t == int(t):
            out.append(str(int(t)))
        else:
            out.append(str(round(t * 1000.0)))
    return out


def _tag(fields: list[str]) -> bytes:
    body = ",".join(fields).encode("ascii")
    return b"\\" + body + b"*%02X\\" % _xor(body)


def _sentence(head: bytes, payload: bytes, payload_xor: int, fill: int) -> bytes:
    """`!` + head + payload + `,fill*hh`, the payload's XOR computed in bulk beforehand."""
    tail = b",%d" % fill
    cs = _xor(head) ^ payload_xor ^ _xor(tail)
    return b"!" + head + payload + tail + b"*%02X" % cs


def _int(values: np.ndarray | Sequence[float], lo: int, hi: int, na: int) -> np.ndarray:
    v = np.asarray(values, np.float64)
    ok = np.isfinite(v)
    return np.where(ok, np.clip(np.round(np.where(ok, v, 0)), lo, hi), na).astype(np.int64)


def encode_positions(
    time: np.ndarray,
    mmsi: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    sog_kn: np.ndarray,
    cog_deg: np.ndarray,
    heading_deg: np.ndarray,
    nav_status: np.ndarray,
    station: str = "picket-sim",
) -> list[bytes]:
    """One tag-blocked type 1 sentence per row."""
    n = len(mmsi)
    if n == 0:
        return []
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    cog = np.asarray(cog_deg, np.float64)
    hdg = np.asarray(heading_deg, np.float64)
    nav = np.asarray(nav_status, np.int64)
    t = np.asarray(time, np.float64)
    bits = np.zeros((n, 168), np.uint8)
    put(bits, 0, 6, np.full(n, 1))
    put(bits, 8, 30, np.asarray(mmsi, np.int64))
    put(bits, 38, 4, np.where((nav >= 0) & (nav <= 15), nav, 15))
    put(bits, 42, 8, np.full(n, -128))  # rate of turn not available
    put(bits, 50, 10, _int(np.asarray(sog_kn, np.float64) * 10.0, 0, 1022, 1023))
    okpos = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    put(bits, 61, 28, np.where(okpos, np.round(np.where(okpos, lon, 0) * 600_000), 108_600_000))
    put(bits, 89, 27, np.where(okpos, np.round(np.where(okpos, lat, 0) * 600_000), 54_600_000))
    c = np.where(
        np.isfinite(cog), np.mod(np.round(np.where(np.isfinite(cog), cog, 0) * 10), 3600), 3600
    )
    put(bits, 116, 12, c.astype(np.int64))
    h = np.where(np.isfinite(hdg), np.mod(np.round(np.where(np.isfinite(hdg), hdg, 0)), 360), 511)
    put(bits, 128, 9, h.astype(np.int64))
    second = np.where(np.isfinite(t), np.mod(np.floor(np.where(np.isfinite(t), t, 0)), 60), 60)
    put(bits, 137, 6, second.astype(np.int64))
    chars, fill = armor(bits)
    pxor = np.bitwise_xor.reduce(chars, axis=1).tolist()
    st = _clean_station(station)
    head = b"AIVDM,1,1,,A,"
    out = []
    for i, tc in enumerate(_times(t)):
        tag = _tag([f"s:{st}"] + ([f"c:{tc}"] if tc is not None else []))
        out.append(tag + _sentence(head, chars[i].tobytes(), pxor[i], fill))
    return out


def encode_statics(
    time: np.ndarray,
    mmsi: np.ndarray,
    name: list[str],
    callsign: list[str],
    imo: np.ndarray,
    ship_type: np.ndarray,
    to_bow: np.ndarray,
    to_stern: np.ndarray,
    to_port: np.ndarray,
    to_starboard: np.ndarray,
    destination: list[str],
    draught_m: np.ndarray,
    station: str = "picket-sim",
) -> list[bytes]:
    """Type 5 as two sentences per row, grouped by a tag block `g:` (ETA not available)."""
    n = len(mmsi)
    if n == 0:
        return []
    bits = np.zeros((n, 424), np.uint8)
    put(bits, 0, 6, np.full(n, 5))
    put(bits, 8, 30, np.asarray(mmsi, np.int64))
    put(bits, 40, 30, _int(imo, 0, (1 << 30) - 1, 0))
    put_text(bits, 70, 7, callsign)
    put_text(bits, 112, 20, name)
    put(bits, 232, 8, _int(ship_type, 0, 255, 0))
    put(bits, 240, 9, _int(to_bow, 0, 511, 0))
    put(bits, 249, 9, _int(to_stern, 0, 511, 0))
    put(bits, 258, 6, _int(to_port, 0, 63, 0))
    put(bits, 264, 6, _int(to_starboard, 0, 63, 0))
    put(bits, 270, 4, np.full(n, 1))  # EPFD: GPS
    put(bits, 283, 5, np.full(n, 24))  # ETA hour and minute not available (month/day 0)
    put(bits, 288, 6, np.full(n, 60))
    put(bits, 294, 8, _int(np.asarray(draught_m, np.float64) * 10.0, 0, 255, 0))
    put_text(bits, 302, 20, destination)
    chars, fill = armor(bits)  # 71 characters, 2 fill bits
    first, second = chars[:, :60], chars[:, 60:]
    x1 = np.bitwise_xor.reduce(first, axis=1).tolist()
    x2 = np.bitwise_xor.reduce(second, axis=1).tolist()
    st = _clean_station(station)
    out = []
    for i, tc in enumerate(_times(np.asarray(time, np.float64))):
        seq = i % 10
        group = i % 9999 + 1
        tag1 = _tag([f"g:1-2-{group}", f"s:{st}"] + ([f"c:{tc}"] if tc is not None else []))
        tag2 = _tag([f"g:2-2-{group}"])
        out.append(tag1 + _sentence(b"AIVDM,2,1,%d,A," % seq, first[i].tobytes(), x1[i], 0))
        out.append(tag2 + _sentence(b"AIVDM,2,2,%d,A," % seq, second[i].tobytes(), x2[i], fill))
    return out
