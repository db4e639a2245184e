"""maritime.anchor_drag's three rules on synthetic tracks with known truth.

The cable runs north along 20E (59-60N, 1 km corridor). Distances along it are
known exactly: a vessel following it at v knots for T minutes makes v*T/60 nm.
"""

from __future__ import annotations

import numpy as np
import pytest

from picket.detect.maritime_motion import AnchorDrag
from picket.geo.geodesy import KNOT, NM, destination, haversine_m
from picket.geo.zones import LineSet, ZoneSet
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink
from tests.test_detectors_synthetic import CABLE, feed, ship, straight
from tests.test_detectors_synthetic import background as traffic

KIND = "maritime.anchor_drag"
PORT_OVER_CABLE = [(19.9, 59.45), (20.1, 59.45), (20.1, 59.7), (19.9, 59.7), (19.9, 59.45)]


def background(t: np.ndarray):
    """Two ships passing at 12 kn: other tracks in the same batches, never an anchor drag."""
    return traffic(t, n=2)


def run(reports, *, lines=None, zones=None, step=60.0) -> MemorySink:
    """The anchor-drag detector alone (the full set runs in test_detectors_synthetic)."""
    lines = lines or LineSet.from_features([("Test cable", "cable", CABLE, {"corridor_m": 1000})])
    env = World(lines=lines, zones=zones or ZoneSet([]))
    mem = MemorySink()
    feed(Pipeline([AnchorDrag()], [mem], env), reports, step=step)
    return mem


def drags(mem: MemorySink) -> list:
    return [a for a in mem.alerts.values() if a.kind == KIND]


def along_then_away(mmsi, minutes, sog_kn, status=0, hdg_off=0.0):
    """Follow the cable north 150 m east of it, then turn east at 12 kn, off the corridor."""
    t = np.arange(0.0, minutes * 60 + 1, 10)
    lat, lon = straight(59.3, 20.0027, 0.0, sog_kn, t)
    t2 = np.arange(t[-1] + 10, t[-1] + 1200, 10)
    lat2, lon2 = straight(lat[-1], lon[-1], 90.0, 12.0, t2 - t2[0] + 10)
    return [
        ship(mmsi, t, lat, lon, sog_kn, 0.0, hdg=(0.0 + hdg_off) % 360, status=status),
        ship(mmsi, t2, lat2, lon2, 12.0, 90.0),
    ], np.r_[t, t2]


# ------------------------------------------------------------------ slow transit


def test_slow_transit_along_the_cable_gives_one_critical_alert_with_along_km():
    own, t = along_then_away(273_500_000, 40, 3.0)
    mem = run([*own, *background(t)])
    a = drags(mem)
    assert len(a) == 1
    ev = a[0].evidence
    assert a[0].subject == "mmsi:273500000" and a[0].severity == "critical"
    assert ev["behaviour"] == "slow transit along Test cable"
    assert ev["infrastructure"]["name"] == "Test cable"
    truth_km = 3.0 * NM * 40 / 60 / 1000  # 3.704 km
    assert ev["along_km"] == pytest.approx(truth_km, abs=0.02)
    assert ev["duration_s"] == pytest.approx(2400, abs=20)
    assert a[0].status == "closed" and "ended" in ev
    # it fired once the distance along the cable reached 3 km: at 3 kn after ~32 min
    assert a[0].time == pytest.approx(3000 / (3 * KNOT), abs=30)


def test_crossing_the_cable_square_on_is_not_a_transit():
    t = np.arange(0.0, 2400, 10)
    lat, lon = straight(59.5, 19.96, 90.0, 3.0, t)  # 40 min at 3 kn, east across 20E
    mem = run([ship(273_500_001, t, lat, lon, 3.0, 90.0), *background(t)])
    assert drags(mem) == []


def test_ferry_along_the_cable_is_not_a_transit():
    own, t = along_then_away(273_500_002, 40, 12.0)
    mem = run([*own, *background(t)])
    assert drags(mem) == []


def test_transit_outside_any_corridor_is_not_an_anchor_drag():
    t = np.arange(0.0, 2400, 10)
    lat, lon = straight(59.3, 20.1, 0.0, 3.0, t)  # parallel to the cable, 5.7 km east of it
    mem = run([ship(273_500_003, t, lat, lon, 3.0, 0.0), *background(t)])
    assert drags(mem) == []


def test_transit_inside_a_port_over_the_cable_is_ignored():
    zones = ZoneSet.from_features([("Harbour", "port", PORT_OVER_CABLE, {})])
    t = np.arange(0.0, 2400, 10)
    lat, lon = straight(59.46, 20.0027, 0.0, 3.0, t)  # wholly inside the port polygon
    mem = run([ship(273_500_004, t, lat, lon, 3.0, 0.0), *background(t)], zones=zones)
    assert drags(mem) == []


def test_along_distance_follows_a_bent_cable_not_the_straight_line():
    # an L-shaped cable: 3 km north, then 3 km east; the vessel follows it 100 m off
    a = (20.0, 59.3)
    b_lat, b_lon = destination(a[1], a[0], 0.0, 3000.0)
    c_lat, c_lon = destination(b_lat, b_lon, 90.0, 3000.0)
    bent = [a, (float(b_lon), float(b_lat)), (float(c_lon), float(c_lat))]
    lines = LineSet.from_features([("Bent cable", "cable", bent, {"corridor_m": 500})])
    v = 3.0
    leg = 2900.0 / (v * KNOT)  # seconds per 2.9 km leg
    t1 = np.arange(0.0, leg, 10)
    lat1, lon1 = straight(a[1], a[0] + 0.0018, 0.0, v, t1)  # ~100 m east of the first leg
    t2 = np.arange(t1[-1] + 10, t1[-1] + 10 + leg, 10)
    lat2, lon2 = straight(lat1[-1], lon1[-1], 90.0, v, t2 - t1[-1])
    t3 = np.arange(t2[-1] + 10, t2[-1] + 1200, 10)  # then away south at speed
    lat3, lon3 = straight(lat2[-1], lon2[-1], 180.0, 12.0, t3 - t2[-1])
    own = [ship(273_500_005, t1, lat1, lon1, v, 0.0), ship(273_500_005, t2, lat2, lon2, v, 90.0),
           ship(273_500_005, t3, lat3, lon3, 12.0, 180.0)]  # fmt: skip
    mem = run([*own, *background(np.r_[t1, t2, t3])], lines=lines)
    (alert,) = drags(mem)
    straight_km = haversine_m(lat1[0], lon1[0], lat2[-1], lon2[-1]) / 1000
    # along the line: ~2.9 km north then ~2.9 km east (feet move 100 m less on the corner)
    assert alert.evidence["along_km"] == pytest.approx(5.7, abs=0.15)
    assert straight_km < 4.3  # the straight-line displacement would have said ~4.1 km


def test_batch_boundaries_do_not_change_the_distance():
    own, t = along_then_away(273_500_006, 40, 3.0)
    km = [drags(run([*own, *background(t)], step=s))[0].evidence["along_km"] for s in (10, 600)]
    assert km[0] == pytest.approx(km[1], abs=0.005)


# ------------------------------------------------------------------ stopped engine


def test_stopped_engine_drift_over_the_corridor_is_critical():
    t = np.arange(0.0, 1800, 10)
    lat, lon = straight(59.5, 20.0027, 0.0, 2.0, t)  # drifting north, beam-on: bow 090
    mem = run([ship(273_600_000, t, lat, lon, 2.0, 0.0, hdg=90.0), *background(t)])
    (a,) = drags(mem)
    ev = a.evidence
    assert a.severity == "critical" and ev["behaviour"] == "stopped-engine drift"
    assert ev["course_heading_deg"] == pytest.approx(90.0)
    assert ev["infrastructure"]["name"] == "Test cable"
    assert 0.5 < ev["along_km"] <= 2.0 * NM * 30 / 60 / 1000 + 0.01
    assert a.time == pytest.approx(600, abs=30)  # DMA's 10 minutes


@pytest.mark.parametrize(
    "why, lon0, hdg, status, zones",
    [
        ("bow along its course", 20.0027, 0.0, 0, None),
        ("outside any corridor", 20.1, 90.0, 0, None),
        ("sailing: leeway, not drift", 20.0027, 90.0, 8, None),
        ("in port", 20.0027, 90.0, 0, [("Harbour", "port", PORT_OVER_CABLE, {})]),
    ],
)
def test_stopped_engine_negatives(why, lon0, hdg, status, zones):
    t = np.arange(0.0, 1800, 10)
    lat, lon = straight(59.47, lon0, 0.0, 2.0, t)
    zs = ZoneSet.from_features(zones) if zones else None
    mem = run([ship(273_600_001, t, lat, lon, 2.0, 0.0, hdg=hdg, status=status), *background(t)],
              zones=zs)  # fmt: skip
    assert drags(mem) == [], why


def test_not_under_command_moving_across_the_cable_counts_whatever_its_heading():
    t = np.arange(0.0, 2400, 10)
    lat, lon = straight(59.5, 19.985, 90.0, 4.0, t)  # 4 kn east, bow on course, NUC
    mem = run([ship(273_600_002, t, lat, lon, 4.0, 90.0, status=2), *background(t)])
    (a,) = drags(mem)
    assert a.evidence["behaviour"] == "not under command, moving"
    assert a.evidence["along_km"] < 0.05  # square across: nothing along the cable


# ------------------------------------------------------------------ status rule and merging


def test_at_anchor_dragging_along_the_cable_is_one_alert_with_both_behaviours():
    own, t = along_then_away(273_700_000, 40, 3.0, status=1)
    mem = run([*own, *background(t)])
    (a,) = drags(mem)  # status and transit rules merged into one alert
    assert a.severity == "critical"
    assert set(a.evidence["behaviours"]) == {"at anchor but moving", "slow transit"}
    assert a.evidence["along_km"] == pytest.approx(3.0 * NM * 40 / 60 / 1000, abs=0.02)
    assert a.time == pytest.approx(300, abs=30)  # the status rule warned first, at 5 min


def test_at_anchor_crossing_reports_its_along_distance():
    t = np.arange(0.0, 3600, 10)
    lat, lon = straight(59.5, 19.95, 90.0, 3.0, t)
    mem = run([ship(273_700_001, t, lat, lon, 3.0, 90.0, status=1), *background(t)])
    (a,) = drags(mem)
    assert a.evidence["behaviour"] == "at anchor but moving"
    assert a.evidence["infrastructure"]["name"] == "Test cable"
    assert a.evidence["along_km"] < 0.05


# ------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_bornholm_drift_over_c_lion1_is_an_anchor_drag_beside_its_drift(shared_data, tmp_path):
    """STOC MARCIA, 'not under command', drifts at ~0.8 kn across C-Lion1 for about 1.5 h."""
    import json

    from picket.cli.main import main

    out = tmp_path / "a.jsonl"
    code = main([
        "replay", str(shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"),
        "--infrastructure",
        str(shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"),
        "--alerts-out", str(out), "--no-store", "--quiet", "--no-progress",
    ])  # fmt: skip
    assert code == 0
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    kinds = {a["kind"] for a in alerts}
    assert {"maritime.drift", "maritime.loitering"} <= kinds  # what it raised before
    (a,) = [a for a in alerts if a["kind"] == KIND]
    ev = a["evidence"]
    assert a["subject"] == "mmsi:212123000" and a["severity"] == "critical"
    assert ev["behaviour"] == "not under command, moving"
    assert ev["infrastructure"]["name"] == "c-lion1" and ev["infrastructure"]["distance_m"] < 500
    # it crosses the cable obliquely: some progress along it, far less than it moved
    assert 0.2 < ev["along_km"] < ev["moved_m"] / 1000
