"""The simulator's wire bytes: deterministic, time-sliced, and decoding back to the truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from picket.geo.geodesy import KNOT, haversine_m
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Kind, Reports
from picket.model.subjects import Namespace, key, number
from picket.sim import emit
from picket.sim.scenario import Scenario, build
from picket.sources.registry import get_format

SMALL = {"n_ships": 30, "n_aircraft": 30}


@pytest.fixture(scope="module")
def scn() -> Scenario:
    return build(seed=11, **SMALL)


@pytest.fixture(scope="module")
def chunks(scn: Scenario) -> list[tuple[float, dict[str, bytes]]]:
    return list(emit.wire_chunks(scn, step_s=10.0))


def _digest(chunks: list[tuple[float, dict[str, bytes]]]) -> dict[str, str]:
    h: dict[str, hashlib._Hash] = {}
    for _, c in chunks:
        for fmt, data in c.items():
            h.setdefault(fmt, hashlib.sha256()).update(data)
    return {k: v.hexdigest() for k, v in h.items()}


def test_same_seed_same_bytes_other_seed_other_bytes(chunks) -> None:
    again = list(emit.wire_chunks(build(seed=11, **SMALL), step_s=10.0))
    assert _digest(again) == _digest(chunks)
    other = _digest(list(emit.wire_chunks(build(seed=12, **SMALL), step_s=10.0)))
    mine = _digest(chunks)
    assert all(other[f] != mine[f] for f in mine)


def test_chunks_are_time_slices(scn: Scenario, chunks) -> None:
    ends = [t for t, _ in chunks]
    assert ends[0] == scn.start + 10.0 and np.allclose(np.diff(ends), 10.0)
    assert ends[-1] >= scn.end
    assert set(chunks[0][1]) == {"ais-nmea", "beast", "plots-csv"}
    assert chunks[0][1]["plots-csv"].startswith(b"time,lat,lon,alt,sensor\n")
    assert not any(c["plots-csv"].startswith(b"time") for _, c in chunks[1:])
    # every AIS line in a slice carries a tag-block time inside that slice
    for end, c in chunks[::37]:
        for line in c["ais-nmea"].split(b"\r\n")[:-1]:
            if b"c:" in line:
                t = int(line.split(b"c:")[1].split(b"*")[0])
                assert end - 10.0 <= t < end
        assert c["ais-nmea"].endswith(b"\r\n") or not c["ais-nmea"]


def _decode(fmt: str, chunks, **kw) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    dec = get_format(fmt).decoder(rej, f"sim-{fmt}", **kw)
    outs: list[Decoded] = [dec.feed(c[fmt]) for _, c in chunks]
    outs.append(dec.flush())
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rej


def test_ais_decodes_back_to_truth(scn: Scenario, chunks) -> None:
    rep, statics, rej = _decode("ais-nmea", chunks)
    assert rej.rejected == 0
    pos = rep.where(rep.kind == Kind.POSITION)
    tr = scn.ships
    on = tr["transmitted"]
    assert len(pos) == on.sum()
    # match on (mmsi, time, lat) order: a cloned MMSI may report at the same second
    t_order = np.lexsort((tr["lat"][on], tr["time"][on], tr["mmsi"][on]))
    mm = number(pos.subject)
    d_order = np.lexsort((pos.lat, pos.time, mm))
    want = {c: tr[c][on][t_order] for c in tr}
    got = pos.take(d_order)
    assert np.array_equal(number(got.subject), want["mmsi"])
    assert np.array_equal(got.time, want["time"])
    res = 1 / 600_000 / 2 + 1e-9  # 1/10000 minute
    assert np.abs(got.lat - want["lat"]).max() <= res
    assert np.abs(got.lon - want["lon"]).max() <= res
    assert np.abs(got.speed / KNOT - want["sog_kn"]).max() < 0.051
    assert np.abs(((got.course - want["cog"] + 180) % 360) - 180).max() < 0.051
    assert np.array_equal(got.heading, want["heading"])
    assert np.array_equal(got.nav_status, want["nav_status"])
    # identities: names as sent
    names = {(s.subject, s.fields.get("name")) for s in statics if s.fields.get("name")}
    info = scn.ship_info
    sent = {
        (int(key(Namespace.MMSI, int(m))), n)
        for m, n in zip(info["mmsi"], info["name"], strict=True)
    }
    assert names and names <= sent


def test_beast_decodes_back_to_truth(scn: Scenario, chunks) -> None:
    rep, statics, _ = _decode("beast", chunks, base_time=scn.start)
    a = scn.aircraft
    pos = rep.where((rep.kind == Kind.POSITION) & rep.has_position())
    # every aircraft's first position waits for an even/odd pair; the spoof jump breaks one
    assert len(pos) >= len(a["time"]) - 2 * len(np.unique(a["aircraft"])) - 2
    truth = {
        (int(i), round(float(t), 4)): k
        for k, (i, t) in enumerate(zip(a["icao"], a["time"], strict=True))
    }
    idx = np.array(
        [
            truth[(int(number(s)), round(float(t), 4))]
            for s, t in zip(pos.subject, pos.time, strict=True)
        ]
    )
    err = haversine_m(pos.lat, pos.lon, a["rep_lat"][idx], a["rep_lon"][idx])
    # CPR airborne resolution is ~5 m; the only misfits may be the first frame after each
    # spoof jump, where a global decode pairs a true even frame with a spoofed odd one
    spoof = next(i for i in scn.incidents if i.kind == "gnss.spoofing")
    bad = np.flatnonzero(err >= 10.0)
    assert len(bad) <= 2
    assert all(
        a["icao"][idx[b]] == int(spoof.subject.split(":")[1], 16)
        and min(abs(a["time"][idx[b]] - spoof.start), abs(a["time"][idx[b]] - spoof.end)) < 8.0
        for b in bad
    )
    assert np.abs(pos.alt - a["alt_m"][idx]).max() <= 25 * 0.3048 / 2 + 0.01
    assert np.array_equal(pos.nic, a["nic"][idx])
    vel = rep.where(rep.kind == Kind.VELOCITY)
    vidx = np.array(
        [
            truth[(int(number(s)), round(float(t) - emit.VELOCITY_DT, 4))]
            for s, t in zip(vel.subject, vel.time, strict=True)
        ]
    )
    assert np.abs(vel.speed - a["gs_ms"][vidx]).max() < 0.6  # 1 kt components
    assert np.abs(((vel.course - a["track"][vidx] + 180) % 360) - 180).max() < 0.5
    assert np.abs(vel.vrate - a["vrate"][vidx]).max() < 64 * 0.3048 / 60 / 2 + 0.01
    st = rep.where((rep.kind == Kind.STATUS) & (rep.squawk >= 0))
    sidx = np.array(
        [
            truth[(int(number(s)), round(float(t) - emit.SQUAWK_DT, 4))]
            for s, t in zip(st.subject, st.time, strict=True)
        ]
    )
    assert np.array_equal(st.squawk, a["squawk"][sidx])
    assert np.array_equal(st.emergency, a["emergency"][sidx])
    assert (st.squawk == 7700).sum() >= 400  # the emergency repeats every 4 s for 45 min
    ops = rep.where((rep.kind == Kind.STATUS) & (rep.nacp >= 0))
    oidx = np.array(
        [
            truth[(int(number(s)), round(float(t) - emit.STATUS_DT, 4))]
            for s, t in zip(ops.subject, ops.time, strict=True)
        ]
    )
    assert np.array_equal(ops.nacp, a["nacp"][oidx])
    calls = {(int(number(s.subject)), s.fields.get("callsign")) for s in statics}
    info = scn.aircraft_info
    assert calls <= set(zip(info["icao"].tolist(), info["callsign"], strict=True))


def test_plots_decode_back_to_truth(scn: Scenario, chunks) -> None:
    rep, _, rej = _decode("plots-csv", chunks)
    assert rej.rejected == 0
    p = scn.plots
    assert len(rep) == len(p["time"])
    assert np.abs(rep.time - p["time"]).max() < 6e-4
    assert haversine_m(rep.lat, rep.lon, p["lat"], p["lon"]).max() < 0.2
    assert np.abs(rep.alt - p["alt"]).max() < 0.06


def test_write_files_match_the_chunks(scn: Scenario, chunks, tmp_path: Path) -> None:
    paths = emit.write_files(scn, tmp_path)
    for name, fmt in (("ais", "ais-nmea"), ("beast", "beast"), ("plots", "plots-csv")):
        assert paths[name].read_bytes() == b"".join(c[fmt] for _, c in chunks), name
    truth = json.loads(paths["truth"].read_text())
    assert truth["base_time"] == scn.start and len(truth["incidents"]) == len(scn.incidents)
    zones = json.loads(paths["zones"].read_text())
    kinds = {f["properties"]["kind"] for f in zones["features"]}
    assert kinds == {"airspace", "border", "port", "anchorage", "airport"}
    infra = json.loads(paths["infrastructure"].read_text())
    names = {f["properties"]["name"] for f in infra["features"]}
    assert {"Estlink 1", "Estlink 2", "Balticconnector", "C-Lion1"} <= names
