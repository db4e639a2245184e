"""Turn a scenario's truth into the wire bytes real feeds carry.

AIS goes out as tag-blocked NMEA (`ais-nmea`), ADS-B as Beast binary (`beast`,
timestamps relative to `Scenario.start`: build the Beast decoder with
`base_time=scn.start`), radar plots as plot CSV (`plots-csv`). Everything is
encoded once, in bulk, then cut into time slices, so a live demo and a file
replay see the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from picket.codec import ais_encode, modes_encode
from picket.sim.scenario import Scenario

STATION = "picket-sim"
PLOTS_HEADER = b"time,lat,lon,alt,sensor\n"

# offsets of the other ADS-B messages from each position message, s
VELOCITY_DT = 2.0
IDENT_DT = 1.0
STATUS_DT = 3.0
SQUAWK_DT = 1.5


@dataclass
class Wire:
    """Encoded messages of one format, time-ordered: times[i] belongs to message i."""

    times: np.ndarray
    ais_lines: list[bytes] | None = None
    frames: np.ndarray | None = None  # (n, 14) Mode S
    plot_lines: list[bytes] | None = None


def ais_wire(scn: Scenario) -> Wire:
    tr = scn.ships
    on = np.flatnonzero(tr["transmitted"])
    pos = ais_encode.encode_positions(
        tr["time"][on], tr["mmsi"][on], tr["lat"][on], tr["lon"][on], tr["sog_kn"][on],
        tr["cog"][on], tr["heading"][on], tr["nav_status"][on], station=STATION,
    )  # fmt: skip
    st = scn.ship_statics
    info = scn.ship_info
    v = st["vessel"]
    stat = ais_encode.encode_statics(
        st["time"],
        info["mmsi"][v],
        [info["name"][i] for i in v],
        [info["callsign"][i] for i in v],
        info["imo"][v],
        info["ship_type"][v],
        info["to_bow"][v],
        info["to_stern"][v],
        info["to_port"][v],
        info["to_starboard"][v],
        [info["destination"][i] for i in v],
        info["draught_m"][v],
        station=STATION,
    )
    times = np.concatenate([tr["time"][on], np.repeat(st["time"], 2)])
    order = np.argsort(times, kind="stable")  # the two parts of a type 5 stay adjacent
    lines = pos + stat
    return Wire(times[order], ais_lines=[lines[i] for i in order])


def beast_wire(scn: Scenario) -> Wire:
    a = scn.aircraft
    icao = a["icao"]
    cs = scn.aircraft_info["callsign"]
    parts = [
        (a["time"], modes_encode.airborne_position(icao, a["rep_lat"], a["rep_lon"], a["alt_m"],
                                                   a["odd"], a["nic"])),
        (a["time"] + VELOCITY_DT, modes_encode.velocity(icao, a["gs_ms"], a["track"], a["vrate"])),
    ]  # fmt: skip
    idn = np.flatnonzero(a["ident"])
    parts.append(
        (
            a["time"][idn] + IDENT_DT,
            modes_encode.identification(icao[idn], [cs[k] for k in a["aircraft"][idn]]),
        )
    )
    parts.append(
        (a["time"][idn] + STATUS_DT, modes_encode.operational_status(icao[idn], a["nacp"][idn]))
    )
    sq = np.flatnonzero(a["ident"] | (a["emergency"] > 0))  # emergencies repeat every message
    parts.append(
        (
            a["time"][sq] + SQUAWK_DT,
            modes_encode.emergency_status(icao[sq], a["emergency"][sq], a["squawk"][sq]),
        )
    )
    times = np.concatenate([p[0] for p in parts])
    frames = np.concatenate([p[1] for p in parts])
    keep = times < scn.end
    times, frames = times[keep], frames[keep]
    order = np.argsort(times, kind="stable")
    return Wire(times[order], frames=frames[order])


def plots_wire(scn: Scenario) -> Wire:
    p = scn.plots
    names = scn.sensors
    lines = [
        f"{t:.3f},{la:.6f},{lo:.6f},{al:.1f},{names[s]}\n".encode()
        for t, la, lo, al, s in zip(
            p["time"].tolist(), p["lat"].tolist(), p["lon"].tolist(), p["alt"].tolist(),
            p["sensor"].tolist(), strict=True,
        )
    ]  # fmt: skip
    return Wire(np.asarray(p["time"], dtype=float), plot_lines=lines)


def _ais_bytes(w: Wire, i: int, j: int) -> bytes:
    assert w.ais_lines is not None
    return b"".join(line + b"\r\n" for line in w.ais_lines[i:j])


def _beast_bytes(w: Wire, i: int, j: int, base: float) -> bytes:
    assert w.frames is not None
    if j <= i:
        return b""
    return modes_encode.beast_stream(w.frames[i:j], w.times[i:j] - base)


def _plot_bytes(w: Wire, i: int, j: int) -> bytes:
    assert w.plot_lines is not None
    return b"".join(w.plot_lines[i:j])


def wire_chunks(scn: Scenario, step_s: float = 10.0) -> Iterator[tuple[float, dict[str, bytes]]]:
    """Time-ordered slices of wire bytes: (slice end time, {format name: bytes}).

    A slice holds every message with time in [end - step_s, end). The plot CSV
    header travels in the first slice only.
    """
    ais, beast, plots = ais_wire(scn), beast_wire(scn), plots_wire(scn)
    edges = np.arange(scn.start, scn.end + step_s, step_s)
    edges[-1] = max(edges[-1], scn.end + 1e-6)
    ia = np.searchsorted(ais.times, edges)
    ib = np.searchsorted(beast.times, edges)
    ip = np.searchsorted(plots.times, edges)
    for k in range(len(edges) - 1):
        chunk = {
            "ais-nmea": _ais_bytes(ais, ia[k], ia[k + 1]),
            "beast": _beast_bytes(beast, ib[k], ib[k + 1], scn.start),
            "plots-csv": (PLOTS_HEADER if k == 0 else b"") + _plot_bytes(plots, ip[k], ip[k + 1]),
        }
        yield float(edges[k + 1]), chunk


def truth_json(scn: Scenario) -> dict:
    return {
        "scenario": "baltic",
        "seed": scn.seed,
        "start": scn.start,
        "base_time": scn.base_time,
        "duration_s": scn.duration,
        "counts": scn.counts(),
        "sensors": scn.sensors,
        "incidents": [i.to_json() for i in scn.incidents],
        "files": {
            "ais.nmea": "ais-nmea",
            "adsb.beast": "beast (timestamps relative to base_time)",
            "plots.csv": "plots-csv",
        },
    }


def write_files(scn: Scenario, outdir: str | Path) -> dict[str, Path]:
    """The whole scenario as files for `picket replay`, plus geography and truth."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    ais, beast, plots = ais_wire(scn), beast_wire(scn), plots_wire(scn)
    paths = {
        "ais": out / "ais.nmea",
        "beast": out / "adsb.beast",
        "plots": out / "plots.csv",
        "zones": out / "zones.geojson",
        "infrastructure": out / "infrastructure.geojson",
        "truth": out / "truth.json",
    }
    paths["ais"].write_bytes(_ais_bytes(ais, 0, len(ais.times)))
    paths["beast"].write_bytes(_beast_bytes(beast, 0, len(beast.times), scn.start))
    paths["plots"].write_bytes(PLOTS_HEADER + _plot_bytes(plots, 0, len(plots.times)))
    paths["zones"].write_text(json.dumps(scn.zones_geojson()))
    paths["infrastructure"].write_text(json.dumps(scn.infrastructure_geojson()))
    paths["truth"].write_text(json.dumps(truth_json(scn), indent=1))
    return paths
