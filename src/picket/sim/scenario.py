"""The Baltic demo scenario: background traffic plus scripted incidents, all seeded.

`build()` makes columnar truth only (no encoding); `picket.sim.emit` turns it
into wire bytes. Same seed, same everything: every random draw comes from
child generators of one seeded `numpy.random.Generator`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from picket.sim import aircraft, geography, identities, incidents, plots, ships
from picket.sim.incidents import Actor, Incident
from picket.sim.tables import Table, concat, sort_by, take

MIN = 60.0


@dataclass
class Scenario:
    seed: int
    start: float  # unix s; also the Beast decoder's base time
    duration: float
    ships: Table  # time, vessel, mmsi, lat, lon, sog_kn, cog, heading, nav_status, transmitted
    ship_info: Table  # per vessel (row i = vessel i): AIS type 5 fields and role
    ship_statics: Table  # time, vessel: when each type 5 is sent
    aircraft: Table  # one row per position message; see aircraft.generate
    aircraft_info: Table  # per aircraft: icao, callsign, origin, dest
    plots: Table  # time, lat, lon, alt, sensor (index into sensors), truth (0 drone, -1 clutter)
    sensors: list[str]
    drone: Table  # the drone's true path on a 1 s grid
    incidents: list[Incident] = field(default_factory=list)

    @property
    def base_time(self) -> float:
        return self.start

    @property
    def end(self) -> float:
        return self.start + self.duration

    def zones_geojson(self) -> dict[str, Any]:
        return geography.zones_geojson()

    def infrastructure_geojson(self) -> dict[str, Any]:
        return geography.infrastructure_geojson()

    def counts(self) -> dict[str, int]:
        return {
            "vessels": len(self.ship_info["vessel"]),
            "ais_positions": int(self.ships["transmitted"].sum()),
            "ais_statics": len(self.ship_statics["time"]),
            "aircraft": len(np.unique(self.aircraft["aircraft"])),
            "adsb_positions": len(self.aircraft["time"]),
            "plots": len(self.plots["time"]),
            "drone_plots": int((self.plots["truth"] >= 0).sum()),
            "incidents": len(self.incidents),
        }


def parse_time(start: str | float) -> float:
    if isinstance(start, int | float):
        return float(start)
    return datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()


def _grid_track(track: Table, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Track positions interpolated on the proximity-check grid, NaN outside its span."""
    t = track["time"]
    lat = np.interp(grid, t, track["lat"], left=np.nan, right=np.nan)
    lon = np.interp(grid, t, track["lon"], left=np.nan, right=np.nan)
    return lat, lon


def _incident_mmsi(rng: np.random.Generator, mid: int, taken: set[int]) -> int:
    while True:
        m = mid * 1_000_000 + int(rng.integers(100_000, 999_999))
        if m not in taken:
            taken.add(m)
            return m


MIN_DURATION_S = 3600.0  # the scripted incidents run to ~55 min (the AIS gap ends then)


def build(
    seed: int = 7,
    duration_s: float = 3600.0,
    n_ships: int = 300,
    n_aircraft: int = 300,
    start: str | float = "2025-01-15T10:00:00Z",
) -> Scenario:
    """A deterministic scenario: `n_ships` background vessels (plus six incident vessels),
    `n_aircraft` aircraft (two of them scripted), one drone, and their incidents."""
    if not duration_s >= MIN_DURATION_S:
        raise ValueError(
            f"the Baltic scenario scripts its incidents over an hour: duration must be at least "
            f"{MIN_DURATION_S:.0f} s (got {duration_s:g})"
        )
    t0 = parse_time(start)
    T = float(duration_s)
    # a sixth child for incidents added later: the first five draw as they always did
    r_inc, r_bg, r_air, r_plot, r_id, r_x = np.random.default_rng(seed).spawn(6)
    taken: set[int] = set()
    inc_list: list[Incident] = []

    # scripted vessels first: background traffic is then kept clear of them
    n = n_ships
    drag, inc = incidents.anchor_drag(r_inc, n, _incident_mmsi(r_id, 518, taken), t0, T)
    inc_list.append(inc)
    gap, inc = incidents.ais_gap(r_inc, n + 1, _incident_mmsi(r_id, 477, taken), t0, T)
    inc_list.append(inc)
    enc_mmsi = (_incident_mmsi(r_id, 273, taken), _incident_mmsi(r_id, 620, taken))
    enc_a, enc_b, inc = incidents.encounter(r_inc, (n + 2, n + 3), enc_mmsi, t0, T)
    inc_list.append(inc)
    drift, inc = incidents.cable_drift(r_x, n + 4, _incident_mmsi(r_x, 277, taken), t0, T)
    inc_list.append(inc)
    scripted: list[Actor] = [drag, gap, enc_a, enc_b, drift]

    grid = np.arange(t0, t0 + T + 1, ships.CHECK_STEP_S)
    obs = [_grid_track(a.track, grid) for a in scripted]
    obstacles = (np.vstack([o[0] for o in obs]), np.vstack([o[1] for o in obs]))
    plans = ships.plan(r_bg, n, t0, T, obstacles)
    mmsi = identities.mmsis(r_id, n, exclude=taken)
    info, tracks, statics = ships.generate(r_bg, plans, 0, mmsi, t0, T)

    original = ships_of(tracks, incidents.pick_original(r_inc, tracks, info, t0))
    clone, inc = incidents.identity_conflict(r_inc, n + 5, original, t0)
    inc_list.append(inc)
    scripted.append(clone)

    vessel_ids = np.arange(n, n + len(scripted))
    extra_info = ships.info_rows(
        r_id,
        vessel_ids,
        np.array([int(a.track["mmsi"][0]) for a in scripted]),
        np.array([a.ship_type for a in scripted]),
        [a.destination for a in scripted],
        [a.role for a in scripted],
    )
    extra_statics = [
        ships.static_rows(r_inc, int(v), a.track["time"], a.track["transmitted"])
        for v, a in zip(vessel_ids, scripted, strict=True)
    ]
    ship_info = concat([info, extra_info])
    ship_tracks = sort_by(concat([tracks] + [a.track for a in scripted]), "time", "vessel")
    ship_statics = sort_by(concat([statics, *extra_statics]), "time", "vessel")

    # aircraft: background, then the emergency and the spoofed airliner
    n_bg_air = max(n_aircraft - 2, 0)
    flights = aircraft.plan(r_air, n_bg_air, t0, T)
    emerg = aircraft.make_flight(r_air, "GW-HAMBURG", "GW-LAPLAND", fl=370, v_kn=450.0)
    emerg.t_start = t0 - 10 * MIN
    spoof = aircraft.make_flight(r_air, "GW-LAPLAND", "GW-BERLIN", fl=350, v_kn=470.0)
    spoof.t_start = t0 - 5 * MIN
    flights += [emerg, spoof]
    icao, callsign = identities.aircraft_identities(r_id, len(flights))
    rows = aircraft.generate(r_air, flights, icao, t0, T)
    k_em, k_sp = len(flights) - 2, len(flights) - 1
    t_em = t0 + 15 * MIN
    rows = incidents.apply_emergency(rows, k_em, t_em)
    at = _first_row(rows, k_em, t_em)
    inc_list.append(
        Incident(
            "air.emergency",
            incidents.icao_subject(icao[k_em]),
            float(rows["time"][at]),
            t0 + T,
            float(rows["lat"][at]),
            float(rows["lon"][at]),
            f"{callsign[k_em]} squawks 7700 (general emergency) and descends from FL370 to FL100.",
        )
    )
    t_sp0, t_sp1 = t0 + 25 * MIN, t0 + 35 * MIN
    rows = incidents.apply_spoofing(rows, k_sp, t_sp0, t_sp1, bearing=100.0, dist_m=60_000.0)
    at = _first_row(rows, k_sp, t_sp0)
    inc_list.append(
        Incident(
            "gnss.spoofing",
            incidents.icao_subject(icao[k_sp]),
            float(rows["time"][at]),
            t_sp1,
            float(rows["lat"][at]),
            float(rows["lon"][at]),
            f"{callsign[k_sp]}'s reported positions jump 60 km east-south-east of its true track "
            "for 10 min while its velocity and integrity stay normal.",
            extra={"offset_m": 60_000.0, "offset_bearing": 100.0},
        )
    )
    rows, inside = incidents.apply_jamming(r_air, rows)
    lon_j, lat_j = geography.KALININGRAD_JAMMER
    inc_list.append(
        Incident(
            "gnss.interference",
            None,
            t0,
            t0 + T,
            lat_j,
            lon_j,
            "GNSS jamming around Kaliningrad: aircraft within 150 km report NIC 0-5 and NACp 0-6.",
            radius_m=geography.JAMMING_RADIUS_M,
            extra={"aircraft_affected": len(np.unique(rows["aircraft"][inside]))},
        )
    )
    air_rows = sort_by(rows, "time", "aircraft")
    air_info = {
        "aircraft": np.arange(len(flights)),
        "icao": icao,
        "callsign": callsign,
        "origin": [f.origin for f in flights],
        "dest": [f.dest for f in flights],
    }

    # the drone and the radar plots
    t_launch, t_cross, t_end = t0 + 6 * MIN, t0 + 20 * MIN, t0 + 50 * MIN
    drone = plots.drone_truth(t0, t_launch, t_cross, min(t_end, t0 + T))
    plot_rows = plots.generate(r_plot, drone, t0, t0 + T)
    lon_c, lat_c = plots.crossing_point()
    inc_list.append(
        Incident(
            "air.airspace_entry",
            None,
            t_cross,
            float(drone["time"][-1]),
            lat_c,
            lon_c,
            "A small non-cooperative target (no transponder) crosses from Belarus into "
            "Lithuanian airspace; seen only by radar-lt-1 and radar-lt-2.",
            extra={"zone": "Lithuania", "from": "Belarus"},
        )
    )
    dt_ = plot_rows["time"][plot_rows["truth"] >= 0]
    inc_list.append(
        Incident(
            "air.low_slow",
            None,
            float(dt_.min()) if len(dt_) else t_launch,
            float(dt_.max()) if len(dt_) else t_end,
            lat_c,
            lon_c,
            "Low (100-500 m) and slow (25-40 m/s) radar-only target: a probable drone.",
        )
    )
    inc_list.sort(key=lambda i: i.start)
    return Scenario(
        seed=seed,
        start=t0,
        duration=T,
        ships=ship_tracks,
        ship_info=ship_info,
        ship_statics=ship_statics,
        aircraft=air_rows,
        aircraft_info=air_info,
        plots=plot_rows,
        sensors=plots.sensor_names(),
        drone=drone,
        incidents=inc_list,
    )


def ships_of(tracks: Table, vessel: int) -> Table:
    return take(tracks, np.flatnonzero(tracks["vessel"] == vessel))


def _first_row(rows: Table, aircraft_k: int, t: float) -> int:
    sel = np.flatnonzero((rows["aircraft"] == aircraft_k) & (rows["time"] >= t))
    return int(sel[np.argmin(rows["time"][sel])])
