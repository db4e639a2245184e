"""Scripted incidents: the vessels and aircraft that should raise alerts, with ground truth.

Each maker returns the transmitted reports of its actors plus an `Incident` that
says which alert kind a detector should raise, about whom, when and where.
Incident vessels move along smooth 1-second trajectories integrated in the
local tangent plane of their site (a few km across); AIS speed and course are
the derivatives of those same positions, so kinematics and positions agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from picket.geo.geodesy import (
    KNOT,
    destination,
    enu_to_geodetic,
    haversine_m,
)
from picket.model.subjects import Namespace, format_subject, key
from picket.sim import geography
from picket.sim.paths import along, offset, polyline
from picket.sim.ships import ANCHORED_PERIOD_S, POSITION_PERIOD_S, track_rows
from picket.sim.tables import Table

MIN = 60.0


@dataclass
class Incident:
    kind: str  # the alert kind a detector should raise
    subject: str | None  # mmsi:..., icao:..., None for an anonymous target
    start: float
    end: float
    lat: float
    lon: float
    description: str
    infrastructure: str | None = None
    radius_m: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def mmsi_subject(mmsi: int) -> str:
    return str(format_subject(int(key(Namespace.MMSI, int(mmsi)))))


def icao_subject(icao: int) -> str:
    return str(format_subject(int(key(Namespace.ICAO, int(icao)))))


@dataclass
class Actor:
    """One scripted vessel: what it transmits and who it claims to be."""

    track: Table
    ship_type: int
    destination: str
    role: str
    name: str | None = None


def _kinematics(
    lat0: float, lon0: float, t: np.ndarray, e: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, ...]:
    """lat, lon, speed kn, course deg from ENU positions on a 1 s grid."""
    lat, lon, _ = enu_to_geodetic(e, n, np.zeros_like(e), lat0, lon0)
    ve, vn = np.gradient(e, t), np.gradient(n, t)
    return lat, lon, np.hypot(ve, vn) / KNOT, np.degrees(np.arctan2(ve, vn)) % 360.0


def _integrate(t: np.ndarray, speed_kn: np.ndarray, course: np.ndarray) -> tuple[np.ndarray, ...]:
    v = speed_kn * KNOT
    dt = np.diff(t, prepend=t[0])
    e = np.cumsum(v * np.sin(np.radians(course)) * dt)
    n = np.cumsum(v * np.cos(np.radians(course)) * dt)
    return e, n


def anchor_drag(
    rng: np.random.Generator, vessel: int, mmsi: int, t0: float, duration: float
) -> tuple[Actor, Incident]:
    """A tanker 'at anchor' dragging across Estlink 2 at 2-5 kn for 40 minutes."""
    cable = geography.infrastructure("Estlink 2")
    path = polyline(cable.line)
    s_cross = float(path.cum[2] + 0.5 * (path.cum[3] - path.cum[2]))
    c_lat, c_lon, c_brg = (float(x) for x in along(path, s_cross))
    drag_course = (c_brg + 90.0) % 360.0
    t_start, t_end, t_cross = t0 + 8 * MIN, t0 + 48 * MIN, t0 + 27 * MIN
    t = np.arange(t0, t0 + duration + 1.0)
    ramp = np.clip((t - t_start) / 60.0, 0, 1) * np.clip((t_end - t) / 60.0, 0, 1)
    speed = ramp * (3.4 + 1.0 * np.sin(2 * np.pi * (t - t0) / 700.0))
    course = drag_course + 8.0 * np.sin(2 * np.pi * (t - t0) / 1100.0)
    e, n = _integrate(t, speed, course)
    i_cross = int(t_cross - t0)
    e, n = e - e[i_cross], n - n[i_cross]
    lat, lon, sog, cog = _kinematics(c_lat, c_lon, t, e, n)
    anchored = np.arange(t0 + float(rng.integers(0, 180)), t0 + duration, ANCHORED_PERIOD_S)
    moving = np.arange(t_start, t_end, POSITION_PERIOD_S)
    rt = np.unique(np.concatenate([anchored, moving]))
    i = (rt - t0).astype(int)
    still = sog[i] < 0.3
    jitter = rng.normal(0.0, 3.0, len(rt))
    la, lo = destination(lat[i], lon[i], rng.uniform(0, 360, len(rt)), jitter)
    rep_sog = np.where(
        still, np.abs(rng.normal(0, 0.04, len(rt))), sog[i] + rng.normal(0, 0.1, len(rt))
    )
    rep_cog = np.where(still, rng.uniform(0, 360, len(rt)), cog[i] + rng.normal(0, 1.0, len(rt)))
    heading = (drag_course + 180.0 + rng.normal(0.0, 2.0, len(rt))) % 360.0  # bow into the wind
    track = track_rows(vessel, mmsi, rt, la, lo, rep_sog, rep_cog, heading, 1)
    inc = Incident(
        "maritime.anchor_drag",
        mmsi_subject(mmsi),
        t_start,
        t_end,
        c_lat,
        c_lon,
        "Tanker reporting 'at anchor' moves at 2-5 kn for 40 min and drags across Estlink 2.",
        infrastructure="Estlink 2",
        extra={"crossing_time": t_cross},
    )
    return Actor(track, 80, "ORDERS", "anchor_drag"), inc


def ais_gap(
    rng: np.random.Generator, vessel: int, mmsi: int, t0: float, duration: float
) -> tuple[Actor, Incident]:
    """A cargo ship crawling along the Balticconnector goes dark for 45 minutes."""
    pipe = geography.infrastructure("Balticconnector")
    path = polyline(offset(pipe.line, 300.0))  # 300 m to starboard heading north: east
    s0 = float(path.cum[2] + 8000.0)
    t = np.arange(t0, t0 + duration, POSITION_PERIOD_S) + float(rng.integers(0, 10))
    v = 4.4 * KNOT
    s = s0 + v * (t - t0) + 80.0 * np.sin(2 * np.pi * (t - t0) / 900.0)
    lat, lon, course = along(path, s)
    sog = (v + 80.0 * 2 * np.pi / 900.0 * np.cos(2 * np.pi * (t - t0) / 900.0)) / KNOT
    gap_from, gap_to = t0 + 10 * MIN, t0 + 55 * MIN
    on = (t < gap_from) | (t >= gap_to)
    hdg = course + rng.normal(0, 1.0, len(t))
    cog = course + rng.normal(0, 0.5, len(t))
    track = track_rows(
        vessel, mmsi, t, lat, lon, sog + rng.normal(0, 0.08, len(t)), cog, hdg, 0, on
    )
    last = int(np.flatnonzero(t < gap_from)[-1])
    first = int(np.flatnonzero(t >= gap_to)[0])
    inc = Incident(
        "maritime.ais_gap",
        mmsi_subject(mmsi),
        float(t[last]),
        float(t[first]),
        float(lat[last]),
        float(lon[last]),
        "Cargo ship inside the Balticconnector corridor stops transmitting for 45 min "
        "while still moving at 3-6 kn, and reappears a few km further on.",
        infrastructure="Balticconnector",
        extra={
            "reappear_lat": float(lat[first]),
            "reappear_lon": float(lon[first]),
            "gap_m": float(haversine_m(lat[last], lon[last], lat[first], lon[first])),
        },
    )
    return Actor(track, 70, "FIINK", "ais_gap"), inc


ENCOUNTER_SITE = (20.60, 56.20)  # open sea, ~45 km off Liepaja, clear of the lanes


def encounter(
    rng: np.random.Generator,
    vessels: tuple[int, int],
    mmsis: tuple[int, int],
    t0: float,
    duration: float,
) -> tuple[Actor, Actor, Incident]:
    """Two tankers meet in open sea and lie 250-350 m apart at < 2 kn for 45 minutes."""
    lon0, lat0 = ENCOUNTER_SITE
    t_meet, t_part = t0 + 10 * MIN, t0 + 55 * MIN
    t = np.arange(t0, t0 + duration + 1.0)
    drift = 0.7 + 0.15 * np.sin(2 * np.pi * (t - t0) / 1300.0)
    before = t < t_meet
    frac = np.clip((t_meet - t) / (t_meet - t0), 0, 1)
    sa = np.where(before, drift + (11.0 - 0.7) * frac, drift)
    ca = np.where(before, 45.0, 40.0 + 5.0 * np.sin(2 * np.pi * (t - t0) / 900.0))
    sb = np.where(before, drift + (10.0 - 0.7) * frac, drift)
    cb = np.where(before, 225.0, ca)
    leaving = np.clip((t - t_part) / 300.0, 0, 1)
    sb = np.where(t >= t_part, drift + (10.0 - 0.7) * leaving, sb)
    cb = np.where(t >= t_part, 60.0, cb)
    i_meet = int(t_meet - t0)
    ea, na = _integrate(t, sa, ca)
    eb, nb = _integrate(t, sb, cb)
    side = np.radians(135.0)
    wobble = 45.0 * np.sin(2 * np.pi * (t - t_meet) / 1500.0) * (t >= t_meet) * (t < t_part)
    ea, na = ea - ea[i_meet], na - na[i_meet]
    eb = eb - eb[i_meet] + (300.0 + wobble) * np.sin(side)
    nb = nb - nb[i_meet] + (300.0 + wobble) * np.cos(side)
    actors = []
    for k, (e, n) in enumerate(((ea, na), (eb, nb))):
        lat, lon, sog, cog = _kinematics(lat0, lon0, t, e, n)
        rt = np.arange(t0 + float(rng.integers(0, 10)), t0 + duration, POSITION_PERIOD_S)
        i = (rt - t0).astype(int)
        m = len(rt)
        hdg = cog[i] + rng.normal(0, 3.0, m)
        tr = track_rows(
            vessels[k], mmsis[k], rt, lat[i], lon[i], sog[i] + rng.normal(0, 0.05, m),
            cog[i] + rng.normal(0, 2.0, m), hdg, 0,
        )  # fmt: skip
        actors.append(Actor(tr, 80 if k == 0 else 81, "ORDERS", "encounter"))
    mid = int((t_meet + t_part) / 2 - t0)
    la, lo, _ = enu_to_geodetic(ea[mid : mid + 1], na[mid : mid + 1], np.zeros(1), lat0, lon0)
    inc = Incident(
        "maritime.encounter",
        mmsi_subject(mmsis[0]),
        t_meet,
        t_part,
        float(la[0]),
        float(lo[0]),
        "Two tankers meet in open sea and stay 250-350 m apart below 2 kn for 45 min "
        "(a possible ship-to-ship transfer).",
        extra={"other": mmsi_subject(mmsis[1])},
    )
    return actors[0], actors[1], inc


CLONE_START = (19.70, 59.40)  # south of the Aland Sea


def identity_conflict(
    rng: np.random.Generator,
    vessel: int,
    original: Table,
    t0: float,
) -> tuple[Actor, Incident]:
    """A second vessel transmits `original`'s MMSI far away for 20 minutes."""
    mmsi = int(original["mmsi"][0])
    t_from, t_to = t0 + 30 * MIN, t0 + 50 * MIN
    t = np.arange(t_from + float(rng.integers(0, 10)), t_to, POSITION_PERIOD_S)
    lon0, lat0 = CLONE_START
    v = 12.0 * KNOT
    lat, lon = destination(lat0, lon0, 15.0, v * (t - t_from))
    m = len(t)
    track = track_rows(
        vessel, mmsi, t, lat, lon, 12.0 + rng.normal(0, 0.08, m), 15.0 + rng.normal(0, 0.4, m),
        14.0 + rng.normal(0, 0.8, m), 0,
    )  # fmt: skip
    j = int(np.argmin(np.abs(original["time"] - t[0])))
    dist = float(haversine_m(lat[0], lon[0], original["lat"][j], original["lon"][j]))
    inc = Incident(
        "maritime.identity_conflict",
        mmsi_subject(mmsi),
        float(t[0]),
        float(t[-1]),
        float(lat[0]),
        float(lon[0]),
        f"A second vessel transmits the same MMSI {dist / 1000:.0f} km away for 20 min.",
        extra={
            "original_lat": float(original["lat"][j]),
            "original_lon": float(original["lon"][j]),
            "distance_m": dist,
        },
    )
    return Actor(track, 70, "SEMAR", "identity_clone"), inc


def pick_original(
    rng: np.random.Generator, tracks: Table, info: Table, t0: float, min_km: float = 200.0
) -> int:
    """A background vessel under way that stays far from CLONE_START through the clone's window."""
    lon0, lat0 = CLONE_START
    window = (tracks["time"] >= t0 + 29 * MIN) & (tracks["time"] <= t0 + 51 * MIN)
    far = haversine_m(tracks["lat"], tracks["lon"], lat0, lon0) > min_km * 1000.0
    underway = {
        int(v) for v, r in zip(info["vessel"], info["role"], strict=True) if r == "underway"
    }
    order = rng.permutation(sorted(underway))
    for v in order:
        sel = window & (tracks["vessel"] == v)
        if sel.sum() >= 100 and bool(far[sel].all()):
            return int(v)
    raise RuntimeError("no background vessel suits the identity conflict")


# --- air ---------------------------------------------------------------------------------


def apply_emergency(rows: Table, aircraft: int, t_em: float, floor_m: float = 3048.0) -> Table:
    """From t_em squawk 7700 (emergency state 1) and descend at 10 m/s to `floor_m`."""
    sel = (rows["aircraft"] == aircraft) & (rows["time"] >= t_em)
    dt = rows["time"][sel] - t_em
    alt0 = rows["alt_m"][sel]
    rows["alt_m"][sel] = np.maximum(alt0 - 10.0 * dt, np.minimum(floor_m, alt0))
    rows["vrate"][sel] = np.where(alt0 - 10.0 * dt > floor_m, -10.0, 0.0)
    rows["squawk"][sel] = 7700
    rows["emergency"][sel] = 1
    return rows


def apply_spoofing(
    rows: Table, aircraft: int, t_from: float, t_to: float, bearing: float, dist_m: float
) -> Table:
    """Reported positions jump `dist_m` off along `bearing` and keep that offset; truth stays."""
    sel = (rows["aircraft"] == aircraft) & (rows["time"] >= t_from) & (rows["time"] < t_to)
    la, lo = destination(rows["lat"][sel], rows["lon"][sel], bearing, dist_m)
    rows["rep_lat"][sel] = la
    rows["rep_lon"][sel] = lo
    return rows


def apply_jamming(rng: np.random.Generator, rows: Table) -> tuple[Table, np.ndarray]:
    """Aircraft inside the jamming circle report NIC 0-5 and NACp 0-6."""
    lon_j, lat_j = geography.KALININGRAD_JAMMER
    inside = haversine_m(rows["lat"], rows["lon"], lat_j, lon_j) < geography.JAMMING_RADIUS_M
    k = int(inside.sum())
    rows["nic"][inside] = rng.integers(0, 6, k)
    rows["nacp"][inside] = rng.integers(0, 7, k)
    return rows, inside


DRIFT_SITE = (20.70, 55.50)  # open sea 9 km south of NordBalt, under the Kaliningrad jamming


def cable_drift(
    rng: np.random.Generator, vessel: int, mmsi: int, t0: float, duration: float
) -> tuple[Actor, Incident]:
    """A cargo ship loses its engine 9 km south of NordBalt, inside the area where GNSS is
    jammed, and drifts 'not under command' for 35 minutes before getting under way again:
    one incident across domains (a vessel adrift near a cable and the jamming over the same
    sea area), which `picket.detect.incidents` must join."""
    lon0, lat0 = DRIFT_SITE
    t_start, t_end, t_mid = t0 + 20 * MIN, t0 + 55 * MIN, t0 + 37 * MIN
    t = np.arange(t0, t0 + duration + 1.0)
    into = np.clip((t - t_start) / 120.0, 0, 1)  # two minutes to lose way, and to regain it
    out = np.clip((t - t_end) / 120.0, 0, 1)
    drift = 1.9 + 0.3 * np.sin(2 * np.pi * (t - t0) / 800.0)
    speed = 10.0 * (1 - into) + drift * into * (1 - out) + 9.0 * out
    course = np.where((t >= t_start) & (t < t_end), 200.0 + 6.0 * np.sin(2 * np.pi * (t - t0)
                                                                         / 1300.0), 250.0)
    e, n = _integrate(t, speed, course)
    i_mid = int(t_mid - t0)
    e, n = e - e[i_mid], n - n[i_mid]
    lat, lon, sog, cog = _kinematics(lat0, lon0, t, e, n)
    rt = np.arange(t0 + float(rng.integers(0, 10)), t0 + duration, POSITION_PERIOD_S)
    i = (rt - t0).astype(int)
    m = len(rt)
    adrift = (rt >= t_start) & (rt < t_end)
    heading = np.where(adrift, 290.0, cog[i]) + rng.normal(0.0, 2.0, m)  # beam-on when adrift
    status = np.where(adrift, 2, 0)  # 2: not under command
    track = track_rows(vessel, mmsi, rt, lat[i], lon[i], sog[i] + rng.normal(0, 0.05, m),
                       cog[i] + rng.normal(0, 1.5, m), heading % 360.0, status)  # fmt: skip
    inc = Incident(
        "maritime.drift",
        mmsi_subject(mmsi),
        t_start,
        t_end,
        lat0,
        lon0,
        "Cargo ship loses its engine 9 km south of NordBalt and drifts 'not under command' at "
        "~2 kn for 35 min while GNSS is jammed over the same sea area: one incident across "
        "the maritime and GNSS domains.",
        extra={"joins": ["gnss.interference"], "near": "NordBalt",
               "incident": "drift under jamming near NordBalt"},
    )
    return Actor(track, 70, "LTKLJ", "cable_drift"), inc
