"""The Baltic scenario's truth: quiet background, incidents where and when they should be."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon, shape

from picket.geo.geodesy import KNOT, geodetic_to_enu, haversine_m
from picket.sim import aircraft, geography, identities, plots
from picket.sim.paths import along, offset, polyline
from picket.sim.scenario import Scenario, build
from picket.sim.tables import take

MIN = 60.0


@pytest.fixture(scope="module")
def scn() -> Scenario:
    return build()


def _incident(scn: Scenario, kind: str):
    (inc,) = [i for i in scn.incidents if i.kind == kind]
    return inc


def _vessel(scn: Scenario, mmsi: int, role: str | None = None) -> dict:
    info = scn.ship_info
    vs = [
        int(v)
        for v, m, r in zip(info["vessel"], info["mmsi"], info["role"], strict=True)
        if m == mmsi and (role is None or r == role)
    ]
    assert len(vs) == 1
    return take(scn.ships, np.flatnonzero(scn.ships["vessel"] == vs[0]))


def _dist_to_line(lat, lon, line, step_m: float = 50.0) -> np.ndarray:
    """Distance from points to a polyline, by sampling the line every `step_m`."""
    p = polyline(line)
    la, lo, _ = along(p, np.arange(0.0, p.length + step_m, step_m))
    lat, lon = np.atleast_1d(lat), np.atleast_1d(lon)
    return haversine_m(lat[:, None], lon[:, None], la[None, :], lo[None, :]).min(axis=1)


def _background(scn: Scenario, role: str) -> np.ndarray:
    info = scn.ship_info
    vs = [int(v) for v, r in zip(info["vessel"], info["role"], strict=True) if r == role]
    return np.isin(scn.ships["vessel"], vs)


def test_every_incident_kind_is_scripted_within_the_hour(scn: Scenario) -> None:
    kinds = {i.kind for i in scn.incidents}
    assert kinds == {
        "maritime.anchor_drag",
        "maritime.ais_gap",
        "maritime.encounter",
        "maritime.identity_conflict",
        "maritime.drift",
        "air.emergency",
        "air.airspace_entry",
        "air.low_slow",
        "gnss.interference",
        "gnss.spoofing",
    }
    for i in scn.incidents:
        assert scn.start <= i.start < i.end <= scn.end, i.kind
        json.dumps(i.to_json())


def test_ships_stay_at_sea(scn: Scenario, shared_data) -> None:
    """Against Natural Earth 1:110m land; its coarse coast is forgiven within 5 km of a port."""
    gj = json.loads((shared_data / "geo" / "countries_ne110m.geojson").read_text())
    land = shapely.union_all([shape(f["geometry"]) for f in gj["features"]])
    near_port = [
        (c, r + 5000.0)
        for _, (k, c, r) in geography.port_centres().items()
        if k in ("port", "anchorage")
    ]
    tr = scn.ships
    excused = np.zeros(len(tr["time"]), dtype=bool)
    for (lon, lat), r in near_port:
        excused |= haversine_m(tr["lat"], tr["lon"], lat, lon) < r
    on_land = shapely.contains_xy(land, tr["lon"], tr["lat"]) & ~excused
    assert on_land.sum() == 0, np.unique(tr["mmsi"][on_land])


def test_background_speeds_and_report_rates(scn: Scenario) -> None:
    tr = scn.ships
    und = _background(scn, "underway")
    assert tr["sog_kn"][und].min() >= 9.5 and tr["sog_kn"][und].max() <= 18.5
    assert (tr["nav_status"][und] == 0).all() and tr["transmitted"][und].all()
    anc = _background(scn, "anchored")
    assert tr["sog_kn"][anc].max() <= 0.3 and (tr["nav_status"][anc] == 1).all()
    # speed implied by successive positions agrees with reported SOG (no teleports)
    sub = take(tr, np.flatnonzero(und))
    sub = take(sub, np.lexsort((sub["time"], sub["vessel"])))
    same = sub["vessel"][1:] == sub["vessel"][:-1]
    dt = np.diff(sub["time"])[same]
    d = haversine_m(sub["lat"][:-1], sub["lon"][:-1], sub["lat"][1:], sub["lon"][1:])[same]
    implied = d / dt / KNOT
    assert np.all(dt == 10.0)
    assert np.percentile(np.abs(implied - sub["sog_kn"][1:][same]), 99) < 0.5
    # anchored ships report every 3 minutes and stay within tens of metres
    a = take(tr, np.flatnonzero(anc))
    for v in np.unique(a["vessel"])[:10]:
        s = a["vessel"] == v
        assert np.all(np.diff(a["time"][s]) == 180.0)
        la, lo = a["lat"][s], a["lon"][s]
        assert haversine_m(la, lo, la.mean(), lo.mean()).max() < 30.0


def test_background_vessels_keep_apart(scn: Scenario) -> None:
    """No two background ships within 500 m at two successive 5-minute samples."""
    tr = scn.ships
    bg = _background(scn, "underway") | _background(scn, "anchored")
    vessels = np.unique(tr["vessel"][bg])
    close_before: set[tuple[int, int]] = set()
    for k, t in enumerate(np.arange(scn.start + 180.0, scn.end, 300.0)):
        la = np.empty(len(vessels))
        lo = np.empty(len(vessels))
        for i, v in enumerate(vessels):
            s = tr["vessel"] == v
            la[i] = np.interp(t, tr["time"][s], tr["lat"][s])
            lo[i] = np.interp(t, tr["time"][s], tr["lon"][s])
        d = haversine_m(la[:, None], lo[:, None], la[None, :], lo[None, :])
        i, j = np.nonzero(np.triu(d < 500.0, 1))
        close = set(zip(i.tolist(), j.tolist(), strict=True))
        assert not (close & close_before), (k, close & close_before)
        close_before = close


def test_anchorages_are_clear_of_cables_and_valid_identities(scn: Scenario) -> None:
    tr = scn.ships
    anc = _background(scn, "anchored")
    for inf in geography.INFRASTRUCTURE:
        d = _dist_to_line(tr["lat"][anc], tr["lon"][anc], inf.line, 200.0)
        assert d.min() > inf.corridor_m + 200.0, inf.name
    info = scn.ship_info
    bg = np.array([r in ("underway", "anchored") for r in info["role"]])
    assert set((info["mmsi"][bg] // 1_000_000).tolist()) <= set(identities.MIDS)
    assert len(np.unique(info["mmsi"][bg])) == bg.sum()
    assert all(identities.imo_valid(int(i)) for i in info["imo"])
    assert all(1 <= len(n) <= 20 for n in info["name"])


def test_anchor_drag_crosses_estlink2(scn: Scenario) -> None:
    inc = _incident(scn, "maritime.anchor_drag")
    assert inc.infrastructure == "Estlink 2"
    tr = _vessel(scn, int(inc.subject.split(":")[1]))
    assert (tr["nav_status"] == 1).all()
    drag = (tr["time"] >= inc.start + 60) & (tr["time"] <= inc.end - 60)
    assert tr["sog_kn"][drag].min() >= 2.0 and tr["sog_kn"][drag].max() <= 5.0
    assert inc.end - inc.start >= 35 * MIN
    cable = geography.infrastructure("Estlink 2").line
    lat0, lon0 = inc.lat, inc.lon
    ce, cn, _ = geodetic_to_enu(
        np.array([p[1] for p in cable]), np.array([p[0] for p in cable]), 0.0, lat0, lon0
    )
    te, tn, _ = geodetic_to_enu(tr["lat"][drag], tr["lon"][drag], 0.0, lat0, lon0)
    assert LineString(np.column_stack([ce, cn])).intersects(LineString(np.column_stack([te, tn])))
    # it starts and ends well clear of the cable: a real crossing, not a graze
    d = _dist_to_line(tr["lat"][drag][[0, -1]], tr["lon"][drag][[0, -1]], cable)
    assert d.min() > 1000.0


def test_ais_gap_inside_balticconnector_corridor(scn: Scenario) -> None:
    inc = _incident(scn, "maritime.ais_gap")
    pipe = geography.infrastructure("Balticconnector")
    assert inc.infrastructure == pipe.name
    tr = _vessel(scn, int(inc.subject.split(":")[1]))
    on = tr["transmitted"]
    gap = (tr["time"] > inc.start) & (tr["time"] < inc.end)
    assert not on[gap].any() and on[~gap].all()
    assert 40 * MIN <= inc.end - inc.start <= 50 * MIN
    assert tr["sog_kn"][gap].min() >= 3.0 and tr["sog_kn"][gap].max() <= 6.0
    ends = (
        np.array([inc.lat, inc.extra["reappear_lat"]]),
        np.array([inc.lon, inc.extra["reappear_lon"]]),
    )
    assert _dist_to_line(*ends, pipe.line).max() < pipe.corridor_m
    assert 2000.0 < inc.extra["gap_m"] < 10_000.0


def test_encounter_is_close_slow_long_and_offshore(scn: Scenario) -> None:
    inc = _incident(scn, "maritime.encounter")
    a = _vessel(scn, int(inc.subject.split(":")[1]))
    b = _vessel(scn, int(inc.extra["other"].split(":")[1]))
    t = np.arange(inc.start, inc.end, 30.0)
    d = haversine_m(
        np.interp(t, a["time"], a["lat"]), np.interp(t, a["time"], a["lon"]),
        np.interp(t, b["time"], b["lat"]), np.interp(t, b["time"], b["lon"]),
    )  # fmt: skip
    assert d.min() >= 200.0 and d.max() <= 400.0
    assert inc.end - inc.start >= 40 * MIN
    for v in (a, b):
        w = (v["time"] >= inc.start) & (v["time"] <= inc.end)
        assert v["sog_kn"][w].max() < 2.0
    ports = [c for _, (k, c, r) in geography.port_centres().items()]
    assert min(haversine_m(inc.lat, inc.lon, la, lo) for lo, la in ports) > 30_000.0


def test_identity_conflict_is_far_and_simultaneous(scn: Scenario) -> None:
    inc = _incident(scn, "maritime.identity_conflict")
    mmsi = int(inc.subject.split(":")[1])
    orig = _vessel(scn, mmsi, "underway")
    clone = _vessel(scn, mmsi, "identity_clone")
    assert 18 * MIN <= clone["time"][-1] - clone["time"][0] <= 22 * MIN
    la = np.interp(clone["time"], orig["time"], orig["lat"])
    lo = np.interp(clone["time"], orig["time"], orig["lon"])
    assert haversine_m(la, lo, clone["lat"], clone["lon"]).min() > 150_000.0
    assert orig["time"][0] < clone["time"][0] and orig["time"][-1] > clone["time"][-1]


def test_drone_crosses_into_lithuania(scn: Scenario, shared_data) -> None:
    lt = Polygon(geography.LITHUANIA)
    by = Polygon(geography.BELARUS)
    d = scn.drone
    in_lt = shapely.contains_xy(lt, d["lon"], d["lat"])
    in_by = shapely.contains_xy(by, d["lon"], d["lat"])
    inc = _incident(scn, "air.airspace_entry")
    before, after = d["time"] < inc.start - 5, d["time"] > inc.start + 5
    assert in_by[before].all() and not in_lt[before].any()
    assert in_lt[after].all()
    assert d["speed"].min() >= 25.0 and d["speed"].max() <= 40.0
    assert d["alt"].min() >= 100.0 and d["alt"].max() <= 500.0
    # the hand-drawn Lithuania agrees with Natural Earth's
    gj = json.loads((shared_data / "geo" / "countries_ne110m.geojson").read_text())
    (ne,) = [shape(f["geometry"]) for f in gj["features"] if f["properties"]["name"] == "Lithuania"]
    assert lt.intersection(ne).area / lt.union(ne).area > 0.85


def test_plots_are_the_drone_plus_clutter(scn: Scenario) -> None:
    p = scn.plots
    assert set(np.unique(p["sensor"]).tolist()) == {0, 1}
    assert np.all(np.diff(p["time"]) >= 0)
    drone = p["truth"] == 0
    d = scn.drone
    err = haversine_m(
        p["lat"][drone], p["lon"][drone],
        np.interp(p["time"][drone], d["time"], d["lat"]),
        np.interp(p["time"][drone], d["time"], d["lon"]),
    )  # fmt: skip
    for k, r in enumerate(plots.RADARS):
        s = p["sensor"][drone] == k
        # 2-D Gaussian: the RMS error is sqrt(2) sigma
        assert np.sqrt(np.mean(err[s] ** 2)) == pytest.approx(np.sqrt(2) * r.sigma_m, rel=0.15)
        scans = (scn.drone["time"][-1] - scn.drone["time"][0]) / r.scan_s
        assert 0.6 * r.pd * scans < s.sum() <= r.pd * scans * 1.1
    n_scans = sum(scn.duration / r.scan_s for r in plots.RADARS)
    per_scan = (~drone).sum() / n_scans
    assert 2.0 < per_scan < 3.5


def test_jamming_area_traffic_and_integrity(scn: Scenario) -> None:
    a = scn.aircraft
    lon_j, lat_j = geography.KALININGRAD_JAMMER
    inside = haversine_m(a["lat"], a["lon"], lat_j, lon_j) < geography.JAMMING_RADIUS_M
    assert len(np.unique(a["aircraft"][inside])) >= 40
    assert a["nic"][inside].max() <= 5 and a["nacp"][inside].max() <= 6
    assert (a["nic"][~inside] == 8).all() and a["nacp"][~inside].min() >= 9
    # plenty of good aircraft elsewhere, spread over the region
    out = np.unique(a["aircraft"][~inside])
    assert len(out) >= 200
    assert np.ptp(a["lon"][~inside]) > 15.0 and np.ptp(a["lat"][~inside]) > 6.0


def test_aircraft_kinematics_and_identities(scn: Scenario) -> None:
    a = scn.aircraft
    cruise = a["vrate"] == 0.0
    high = cruise & (a["alt_m"] >= 30_000 * 0.3048 - 1)
    assert a["gs_ms"][high].min() / KNOT >= 430.0 and a["gs_ms"][high].max() / KNOT <= 480.0
    assert a["alt_m"][high].max() <= 40_000 * 0.3048 + 1
    # position messages every 4 s, alternating even/odd
    for k in np.unique(a["aircraft"])[:20]:
        s = a["aircraft"] == k
        assert np.allclose(np.diff(a["time"][s]), 4.0)
        assert (a["odd"][s][1:] != a["odd"][s][:-1]).all()
    info = scn.aircraft_info
    for icao, cs in zip(info["icao"], info["callsign"], strict=True):
        base, size, _ = identities.AIRLINES[cs[:3]]
        assert base <= icao < base + size
    assert len(np.unique(info["icao"])) == len(info["icao"])
    normal = a["emergency"] == 0
    assert not np.isin(a["squawk"][normal], [7500, 7600, 7700]).any()


def test_routes_avoid_kaliningrad_and_belarus(scn: Scenario) -> None:
    avoid = shapely.union_all([Polygon(geography.KALININGRAD), Polygon(geography.BELARUS)])
    for a, b, _ in aircraft.ROUTES:
        assert not LineString(aircraft.route_points(a, b)).intersects(avoid), (a, b)
    # and the flown great circles too
    ac = scn.aircraft
    assert not shapely.contains_xy(avoid, ac["lon"], ac["lat"]).any()


def test_emergency_squawks_and_descends(scn: Scenario) -> None:
    inc = _incident(scn, "air.emergency")
    k = int(np.flatnonzero(scn.aircraft_info["icao"] == int(inc.subject.split(":")[1], 16))[0])
    a = take(scn.aircraft, np.flatnonzero(scn.aircraft["aircraft"] == k))
    em = a["time"] >= inc.start
    assert (a["squawk"][em] == 7700).all() and (a["emergency"][em] == 1).all()
    assert (a["emergency"][~em] == 0).all() and (a["squawk"][~em] != 7700).all()
    assert a["alt_m"][em][0] > 10_000 and a["alt_m"][-1] < 3100
    assert np.all(np.diff(a["alt_m"][em]) <= 0)
    assert a["time"][-1] > scn.end - 10


def test_spoofing_offsets_reported_positions_only(scn: Scenario) -> None:
    inc = _incident(scn, "gnss.spoofing")
    k = int(np.flatnonzero(scn.aircraft_info["icao"] == int(inc.subject.split(":")[1], 16))[0])
    a = take(scn.aircraft, np.flatnonzero(scn.aircraft["aircraft"] == k))
    off = haversine_m(a["lat"], a["lon"], a["rep_lat"], a["rep_lon"])
    win = (a["time"] >= inc.start) & (a["time"] < inc.end)
    assert off[win].min() > 40_000 and off[win].max() < 80_000
    assert (off[~win] == 0).all()
    assert 9 * MIN <= inc.end - inc.start <= 11 * MIN
    assert (a["nic"] == 8).all() and a["nacp"].min() >= 9
    # the true track is smooth: successive true positions match the ground speed
    d = haversine_m(a["lat"][:-1], a["lon"][:-1], a["lat"][1:], a["lon"][1:])
    assert np.allclose(d / np.diff(a["time"]), a["gs_ms"][1:], rtol=0.01)


def test_offset_polyline_is_parallel() -> None:
    pts = [(20.0, 57.0), (21.0, 57.5), (22.0, 57.4)]
    off = offset(pts, 1000.0)
    p = polyline(pts)
    s = np.linspace(0, polyline(off).length, 200)
    la, lo, _ = along(polyline(off), s)
    d = _dist_to_line(la, lo, pts, 20.0)
    assert np.all(np.abs(d - 1000.0) < 25.0)
    # starboard of a north-east-going leg is south-east
    assert off[0][1] < pts[0][1] and off[0][0] > pts[0][0]
    assert p.length > 0
