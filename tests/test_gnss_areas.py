"""GNSS interference as areas: contiguous red cells are one alert with a place and its cells.

Truth: two jammed boxes far apart (Kaliningrad and the Gulf of Finland) under east-west
traffic; each must give exactly one area alert, named by its place, whose cells all lie
in its box, and nothing outside the boxes."""

from __future__ import annotations

import h3
import numpy as np

from picket.detect.gnss import AreaBook, group_cells
from picket.detect.places import describe
from picket.geo.geodesy import destination
from picket.serve.layers import gnss_cells
from tests.test_detectors_synthetic import aircraft, feed, pipeline

BOXES = {"kaliningrad": (54.4, 20.0, 55.0, 21.2), "finland": (59.6, 24.6, 60.0, 25.8)}


def _traffic(lat0: float, lon0: float, base: int, jam: tuple, rng) -> list:
    t = np.arange(0.0, 1500, 5)
    out = []
    for i in range(30):
        lat, lon = destination(lat0 + 0.03 * i, lon0, 90.0, 230.0 * t + rng.uniform(0, 5000))
        s, w, n, e = jam
        jammed = (lat > s) & (lat < n) & (lon > w) & (lon < e)
        out.append(aircraft(base + i, t, lat, lon, 11000, 230, 90, nic=np.where(jammed, 0, 8),
                            nacp=np.where(jammed, 1, 9), version=2))  # fmt: skip
    return out


def test_two_jammed_boxes_give_two_named_areas_with_their_cells():
    p, mem = pipeline()
    rng = np.random.default_rng(5)
    reps = _traffic(54.3, 18.5, 0x400000, BOXES["kaliningrad"], rng)
    reps += _traffic(59.5, 23.0, 0x500000, BOXES["finland"], rng)
    feed(p, reps)
    areas = [a for a in mem.alerts.values() if a.kind == "gnss.interference"]
    open_at_end = [a for a in areas if a.status == "open"]
    assert len(open_at_end) == 2, [a.summary for a in areas]
    names = set()
    for a in open_at_end:
        ev = a.evidence
        assert ev["extent"]["cells"] == len(ev["cells"]) >= 2
        box = next(b for b in BOXES.values() if b[0] - 0.5 < a.lat < b[2] + 0.5)
        for c in ev["cells"]:  # every cell of the area over its own jammed box
            assert box[0] - 0.4 < c["lat"] < box[2] + 0.4 and box[1] - 0.6 < c["lon"] < box[3] + 0.6
        assert ev["count_bad_aircraft"] <= ev["count_aircraft"]
        assert "gpsjam" in ev["method"] and "- 1" in ev["method"]
        assert ev["place"]["text"] in a.summary and "h3" not in a.summary
        assert f"{ev['count_bad_aircraft']} of {ev['count_aircraft']} aircraft" in a.summary
        names.add((ev["place"].get("town"), ev["place"].get("sea_area")))
        # the layer draws the area's cells, one polygon each
        feats = gnss_cells([a.to_json()])["features"]
        assert {f["properties"]["cell"] for f in feats} == {c["cell"] for c in ev["cells"]}
    towns = {t for t, _ in names}
    assert "Kaliningrad" in towns and towns & {"Helsinki", "Tallinn"}
    assert "Gulf of Finland" in {s for _, s in names}


def test_cells_group_by_adjacency_and_areas_keep_their_anchor():
    c0 = h3.latlng_to_cell(55.0, 20.0, 4)
    ring = [h3.str_to_int(x) for x in h3.grid_disk(c0, 1)]
    far = h3.str_to_int(h3.latlng_to_cell(60.0, 25.0, 4))
    groups = group_cells(set(ring) | {far})
    assert [len(g) for g in groups] == [7, 1]
    book = AreaBook()
    (a1, g1), (a2, _) = book.assign(groups)[0]
    assert a1 in g1 and a2 == far
    # the big area shrinks to part of itself: same anchor; the lone cell goes out
    part = set(ring[:3]) | {a1}
    out, ended = book.assign(group_cells(part))
    assert out[0][0] == a1 and ended == [far]


def test_places_read_as_places():
    assert describe(54.7, 20.5)["town"] == "Kaliningrad"
    assert describe(59.9, 25.0)["sea_area"] == "Gulf of Finland"
    assert "km" in describe(55.5, 20.0)["text"]


def test_spoofed_aircraft_over_two_adjacent_cells_light_one_area():
    """Truth: two pairs of aircraft spoofed to one point, each pair over its own cell, the
    two cells neighbours: one `gnss.spoofing_area` alert holding both cells."""
    from tests.test_gnss_spoofing import V, run
    from tests.test_gnss_spoofing import aircraft as ac

    c1 = h3.latlng_to_cell(56.0, 20.0, 4)
    c2 = sorted(set(h3.grid_disk(c1, 1)) - {c1})[0]
    target = destination(56.0, 20.0, 45.0, 150_000.0)
    t = np.arange(0.0, 1800.0, 2.0)
    reps = []
    for k, cell in enumerate((c1, c2)):
        c_lat, c_lon = h3.cell_to_latlng(cell)
        for i, crs in enumerate((90.0, 270.0)):
            la0, lo0 = destination(c_lat, c_lon, 0.0 if i == 0 else 180.0, 2000.0 + 500 * i)
            lat, lon = destination(la0, lo0, crs, V * (t - 300))
            rlat, rlon = lat.copy(), lon.copy()
            m = (t >= 300) & (t < 600)
            rlat[m], rlon[m] = destination(target[0], target[1], crs,
                                           V * (t[m] - 300) + (2 * k + i) * 3000)  # fmt: skip
            reps.append(ac(0x4B3000 + 2 * k + i, t, rlat, rlon, crs))
    mem, *_ = run(reps)
    areas = [a for a in mem.alerts.values() if a.kind == "gnss.spoofing_area"]
    assert len(areas) == 1, [a.summary for a in areas]
    ev = areas[0].evidence
    assert {c["cell"] for c in ev["cells"]} == {c1, c2}
    assert ev["count_spoofed_aircraft"] == 4 and ev["most_displaced_to_one_place"] == 4
    assert ev["place"]["text"] in areas[0].summary
