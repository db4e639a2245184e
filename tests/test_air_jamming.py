"""The daily GNSS-interference product, gpsjam.org's CSV, and the map renderings."""

from __future__ import annotations

import argparse
import csv
import json

import h3
import numpy as np
import pytest

from picket.cli import jamming_cmd
from picket.em import gpsjam_csv, render
from picket.em.cells import CellCounts, colours
from picket.em.daily import DailyProduct, day_name
from picket.geo.geodesy import haversine_m
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key

SAMPLES = ["gpsjam_2022-02-24_h3r4.csv", "gpsjam_2022-07-22_h3r4.csv"]
DAY0 = 1_700_006_400.0  # 2023-11-15 00:00 UTC


def _reference(path):
    """Counts and colours with the csv module and the published rule, row by row."""
    rows = list(csv.DictReader(path.open()))
    out = {}
    for r in rows:
        g, b = int(r["count_good_aircraft"]), int(r["count_bad_aircraft"])
        f = max(b - 1, 0) / (g + b) if g + b else 0.0
        out[r["hex"]] = (g, b, "red" if f >= 0.10 else "yellow" if f >= 0.02 else "green")
    return out


@pytest.mark.parametrize("name", SAMPLES)
def test_gpsjam_sample_counts_and_colours(shared_data, name):
    path = shared_data / "air" / name
    ref = _reference(path)
    rej = Rejects()
    cc = gpsjam_csv.read(path, rej)
    assert rej.rejected == 0 and rej.accepted == len(ref) == len(cc)
    got = dict(zip(cc.hexes(), zip(cc.good.tolist(), cc.bad.tolist(), cc.colours().tolist(),
                                   strict=True), strict=True))  # fmt: skip
    assert got == ref
    n_red = sum(v[2] == "red" for v in ref.values())
    assert 50 < n_red < len(ref) / 10  # jamming is real but local
    # the format round-trips exactly (order aside)
    again = gpsjam_csv.parse(gpsjam_csv.format_csv(cc), Rejects())
    assert np.array_equal(again.cells, cc.cells)
    assert np.array_equal(again.good, cc.good) and np.array_equal(again.bad, cc.bad)


def test_gpsjam_2022_02_24_has_red_cells_near_the_ukrainian_border(shared_data):
    cc = gpsjam_csv.read(shared_data / "air" / SAMPLES[0])
    red = cc.cells[cc.colours() == "red"]
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in red.tolist()])
    # the red cluster over western Russia / Belarus on the day of the invasion
    near = haversine_m(ll[:, 0], ll[:, 1], 55.7, 37.6) < 300_000
    assert near.sum() >= 3


def test_malformed_rows_are_rejected_with_line_numbers():
    text = ("hex,count_good_aircraft,count_bad_aircraft\n84a9737ffffffff,2,0\nnot-a-cell,1,1\n"
            "84a9737ffffffff,3,1\n8435265ffffffff,x,0\n8435265ffffffff,-1,0\n,,\n")  # fmt: skip
    rej = Rejects()
    cc = gpsjam_csv.parse(text, rej, "t.csv")
    assert rej.accepted == 2 and rej.counts["gpsjam.bad_row"] == 4
    assert cc.hexes() == ["84a9737ffffffff"] and cc.good.tolist() == [5] and cc.bad.tolist() == [1]


def test_colour_boundaries_follow_gpsjam():
    good = np.array([100, 49, 98, 9, 10, 1000])
    bad = np.array([0, 2, 3, 2, 1, 21])
    # (b-1)/(g+b): 0, 1/51=1.96%, 2/101=1.98%, 1/11=9.1%, 0, 20/1021=1.96%
    assert colours(good, bad).tolist() == ["green", "green", "green", "yellow", "green", "green"]
    assert colours(np.array([49, 8]), np.array([3, 2])).tolist() == ["yellow", "red"]


def _aircraft(n, lat, lon, t, nic, nacp=9, version=2, first=0):
    """Position reports of n aircraft near (lat, lon) at time t, plus their status reports."""
    sub = key(Namespace.ICAO, np.arange(first, first + n) + 0x400000)
    rng = np.random.default_rng(first)
    pos = Reports.build(
        time=t + rng.uniform(0, 5, n), domain=Domain.AIR, kind=Kind.POSITION, subject=sub,
        lat=lat + rng.uniform(-0.02, 0.02, n), lon=lon + rng.uniform(-0.02, 0.02, n),
        nic=nic, version=version,
    )  # fmt: skip
    st = Reports.build(time=t - 10, domain=Domain.AIR, kind=Kind.STATUS, subject=sub,
                       nacp=nacp, version=version, n=n)  # fmt: skip
    return st, pos


def test_daily_product_on_known_truth_round_trips_through_csv(tmp_path):
    a_lat, a_lon, b_lat, b_lon = 54.7, 20.5, 60.2, 24.9
    st1, p1 = _aircraft(10, a_lat, a_lon, DAY0 + 3600, nic=8)  # 10 good
    st2, p2 = _aircraft(3, a_lat, a_lon, DAY0 + 3700, nic=5, first=100)  # 3 bad by NIC
    st3, p3 = _aircraft(2, a_lat, a_lon, DAY0 + 3800, nic=8, nacp=6, first=200)  # 2 bad by NACp
    st4, p4 = _aircraft(4, a_lat, a_lon, DAY0 + 3900, nic=0, nacp=0, version=0, first=300)
    st5, p5 = _aircraft(7, b_lat, b_lon, DAY0 + 86400 + 60, nic=8, first=400)  # next day
    prod = DailyProduct()
    # status first, positions in a later batch: NACp must carry over between batches
    prod.add(Reports.concat([st1, st2, st3, st4]))
    prod.add(Reports.concat([p1, p2, p3, p4]))
    prod.add(Reports.concat([st5, p5]))
    days = prod.days()
    assert [day_name(d) for d in days] == ["2023-11-15", "2023-11-16"]
    c0 = prod.counts(days[0])
    cell_a = h3.str_to_int(h3.latlng_to_cell(a_lat, a_lon, 4))
    # the version-0 aircraft report NIC/NACp 0, which means unknown: not counted
    assert c0.cells.tolist() == [cell_a] and c0.good.tolist() == [10] and c0.bad.tolist() == [5]
    assert c0.colours().tolist() == ["red"]  # (5-1)/15 = 27 %
    c1 = prod.counts(days[1])
    assert c1.good.tolist() == [7] and c1.bad.tolist() == [0]
    out = gpsjam_csv.write(tmp_path / f"{day_name(days[0])}-h3_4.csv", c0)
    assert out.read_text().splitlines() == [gpsjam_csv.HEADER, f"{h3.int_to_str(cell_a)},10,5"]
    back = gpsjam_csv.read(out)
    assert back.cells.tolist() == c0.cells.tolist() and back.bad.tolist() == [5]


def test_an_aircraft_bad_once_in_a_cell_is_bad_there_all_day():
    sub = key(Namespace.ICAO, 0xABCDEF)
    t = DAY0 + np.arange(0, 600, 30.0)
    nic = np.where(np.arange(len(t)) == 7, 4, 8)
    rep = Reports.build(time=t, domain=Domain.AIR, kind=Kind.POSITION, subject=sub, lat=50.0,
                        lon=10.0, nic=nic, nacp=9, version=2)  # fmt: skip
    c = DailyProduct().add_all([rep.take(slice(0, 10)), rep.take(slice(10, None))]).counts()
    assert c.good.tolist() == [0] and c.bad.tolist() == [1]


def test_baltic_demo_jamming_turns_only_kaliningrad_cells_red():
    from picket.sim import emit, geography, scenario
    from picket.sources.beast import BeastDecoder

    scn = scenario.build(seed=7)
    prod = DailyProduct()
    dec = BeastDecoder(Rejects(), "sim", base_time=scn.start)
    for _, chunk in emit.wire_chunks(scn, step_s=300.0):
        prod.add(dec.feed(chunk["beast"]).reports)
    prod.add(dec.flush().reports)
    cc = prod.counts()
    red = cc.cells[cc.colours() == "red"]
    assert len(red) >= 3
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in red.tolist()])
    lon_j, lat_j = geography.KALININGRAD_JAMMER
    d = haversine_m(ll[:, 0], ll[:, 1], lat_j, lon_j)
    # red only within the jamming radius plus a cell (res-4 cells are ~25 km across)
    assert d.max() < geography.JAMMING_RADIUS_M + 40_000


def test_geojson_and_png(tmp_path, shared_data):
    cc = gpsjam_csv.read(shared_data / "air" / SAMPLES[1])
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in cc.cells.tolist()])
    box = (ll[:, 0] > 50) & (ll[:, 0] < 62) & (ll[:, 1] > 15) & (ll[:, 1] < 35)
    sub = CellCounts(cc.cells[box], cc.good[box], cc.bad[box])
    gj = render.to_geojson(sub)
    assert len(gj["features"]) == len(sub)
    col = sub.colours()
    for i in (0, len(sub) // 2, len(sub) - 1):
        f = gj["features"][i]
        ring = np.array(f["geometry"]["coordinates"][0])
        assert np.array_equal(ring[0], ring[-1]) and len(ring) == 7
        lat, lon = h3.cell_to_latlng(f["properties"]["hex"])
        assert haversine_m(ring[:-1, 1].mean(), ring[:-1, 0].mean(), lat, lon) < 3000
        assert f["properties"]["colour"] == col[i]
    png = render.write_png(tmp_path / "m.png", sub, outline_files=[
        shared_data / "geo" / "countries_ne110m.geojson"], title="test")  # fmt: skip
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert img.shape[0] > 300 and img.shape[1] > 300
    # green cells and at least one red (the Baltic in July 2022) are painted
    greenish = (img[..., 1] > img[..., 0] + 40) & (img[..., 1] > img[..., 2] + 40)
    reddish = (img[..., 0] > img[..., 1] + 60) & (img[..., 0] > img[..., 2] + 60)
    assert greenish.sum() > 1000
    assert (col == "red").any() == bool(reddish.sum() > 20)


def test_cli_show_and_daily(tmp_path, shared_data):
    p = argparse.ArgumentParser()
    jamming_cmd.add_parser(p.add_subparsers(dest="cmd"))
    csv_in = tmp_path / "in.csv"
    csv_in.write_text(gpsjam_csv.HEADER + "\n84a9737ffffffff,2,0\n841f059ffffffff,3,2\n")
    a = p.parse_args(["jamming", "show", str(csv_in), "--png", str(tmp_path / "o.png"),
                      "--geojson", str(tmp_path / "o.geojson")])  # fmt: skip
    assert a.func(a) == 0
    feats = json.loads((tmp_path / "o.geojson").read_text())["features"]
    assert sorted(f["properties"]["colour"] for f in feats) == ["green", "red"]
    assert (tmp_path / "o.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    beast = shared_data / "air" / "beast_capture_gulf_of_finland_20180403_61s.bin"
    a = p.parse_args(["jamming", "daily", str(beast), "--out", str(tmp_path / "d"),
                      "--start-time", "2018-04-03T19:02:28Z"])  # fmt: skip
    assert a.func(a) == 0
    out = tmp_path / "d" / "2018-04-03-h3_4.csv"
    cc = gpsjam_csv.read(out)
    assert len(cc) >= 1 and (cc.good + cc.bad).max() <= 11  # 11 aircraft in the capture
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in cc.cells.tolist()])
    assert np.all(haversine_m(ll[:, 0], ll[:, 1], 60.0, 33.0) < 400_000)  # east of the Gulf
