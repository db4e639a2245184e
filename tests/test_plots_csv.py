"""Plot CSV reader: round trip through the tangent plane, chunking, bad rows."""

from __future__ import annotations

import numpy as np
import pytest

from picket.geo.geodesy import geodetic_to_enu
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Kind, Reports
from picket.sources.plots_csv import PlotsCsvDecoder
from picket.sources.registry import detect, read_file

XY = b"""# origin: 59.5, 24.5, 10
time,x,y,z,sensor,sigma
0,1000.5,-2000.25,300,radar-a,15
1,-50000,75000,,radar-b,

2,12.0,13.0,5,radar-a,9
# a comment
3,not-a-number,1,1,radar-a,1
4,1,2
5,1,2,3,radar-a,abc
"""


def _decode(data: bytes, chunk: int) -> tuple[Reports, Rejects, PlotsCsvDecoder]:
    rj = Rejects()
    dec = PlotsCsvDecoder(rj, "plots.csv")
    parts = [dec.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    parts.append(dec.flush())
    return Reports.concat([p.reports for p in parts]), rj, dec


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_xy_round_trip_and_rejects(chunk):
    rep, rj, dec = _decode(XY, chunk)
    assert dec.cartesian and dec.origin == (59.5, 24.5, 10.0)
    assert rep.time.tolist() == [0.0, 1.0, 2.0]
    assert rep.raw.tolist() == [3, 4, 6]  # line numbers
    assert set(rep.kind.tolist()) == {Kind.PLOT} and set(rep.subject.tolist()) == {-1}
    e, n, u = geodetic_to_enu(rep.lat, rep.lon, np.nan_to_num(rep.alt), 59.5, 24.5, 10)
    np.testing.assert_allclose(e, [1000.5, -50000, 12.0], atol=1e-6)
    np.testing.assert_allclose(n, [-2000.25, 75000, 13.0], atol=1e-6)
    np.testing.assert_allclose(u[[0, 2]], [300, 5], atol=1e-3)  # float32 alt column
    assert np.isnan(rep.alt[1])
    assert [SOURCES.name(s) for s in rep.source] == ["radar-a", "radar-b", "radar-a"]
    np.testing.assert_allclose(rep.accuracy, [15, np.nan, 9])
    assert rj.counts == {"plots-csv.bad_value": 2, "plots-csv.bad_columns": 1}
    assert rj.accepted == 3


def test_lat_lon_file_through_registry(tmp_path):
    p = tmp_path / "radar.csv"
    p.write_text("time,lat,lon,alt\n10,60.1,24.9,1000\n11,91.0,24.9,1000\n12,60.2,25.0,\n")
    assert detect(p).name == "plots-csv"
    rj = Rejects()
    rep = Reports.concat([d.reports for d in read_file(p, rj)])
    np.testing.assert_allclose(rep.lat, [60.1, 60.2])
    assert rep.alt[0] == 1000 and np.isnan(rep.alt[1])
    assert rj.counts == {"plots-csv.bad_value": 1}
    assert SOURCES.name(int(rep.source[0])) == "radar.csv"


def test_no_header_and_garbage_bytes_never_crash():
    rep, rj, _ = _decode(b"1,2,3\n\xff\xfe\x00garbage\ntime,x,y\n1,2,3\n\x00\x01,2,3\n", 5)
    assert len(rep) == 1
    assert rj.counts["plots-csv.no_header"] == 2
    assert rj.counts["plots-csv.bad_value"] == 1


def test_site_lines_name_rotating_sensors():
    data = b"""# site: radar-a, 60.1, 24.8
# site: 59.9, 25.2
# site: radar-c, 95, 0
# site: radar-d, sixty, 0
time,lat,lon,sensor
0,60.0,25.0,radar-a
"""
    out, rj, dec = _decode(data, 5)
    assert dec.sites == {"radar-a": (60.1, 24.8), "plots.csv": (59.9, 25.2)}
    assert rj.counts == {"plots-csv.bad_site": 2}
    assert len(out) == 1


def test_clean_block_fast_path_equals_row_by_row():
    """Well-formed rows take the array path; the same rows with one comment (which sends
    the block row by row) decode to the same reports, CRLF line ends and spaces included;
    a filled 'nan' in an optional column is garbage on both paths."""
    rng = np.random.default_rng(2)
    rows = [f"{k * 0.5:.1f}, {x:.3f},{y:.3f} ,{z:.1f},r{k % 3},{s:.1f}\r"
            for k, (x, y, z, s) in enumerate(rng.uniform(-9e4, 9e4, (500, 4)))]  # fmt: skip
    rows[7] = "3.5,1.0,2.0,nan,r1,5.0\r"
    head = b"# origin: 59.5, 24.5\ntime,x,y,z,sensor,sigma\n"
    clean = head + "\n".join(rows).encode() + b"\n"
    mixed = head + "\n".join([*rows[:250], "# a comment", *rows[250:]]).encode() + b"\n"
    a, ra, _ = _decode(clean, 1 << 20)
    b, rb, _ = _decode(mixed, 1 << 20)
    assert len(a) == len(b) == 499 and ra.counts == rb.counts == {"plots-csv.bad_value": 1}
    for col in ("time", "lat", "lon", "alt", "accuracy", "source"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert a.raw[:249].tolist() == b.raw[:249].tolist()  # line numbers before the comment
    assert [SOURCES.name(s) for s in a.source[:3]] == ["r0", "r1", "r2"]


@pytest.mark.parametrize("chunk", [4096, 1 << 20])
def test_over_long_lines_cost_one_row_and_are_never_held(chunk):
    """A 5 MB line among good rows (and a 5 MB tail without a newline) is counted as
    plots-csv.line_too_long; the rows around it are read and nothing that long is kept."""
    good = b"".join(b"%d,%d,%d\n" % (k, k, k) for k in range(50))
    junk = b"1," + b"9" * 5_000_000 + b",2\n"
    data = b"time,x,y\n" + good + junk + good + b"7" * 5_000_000
    rj = Rejects()
    dec = PlotsCsvDecoder(rj, "plots.csv")
    parts, held = [], 0
    for i in range(0, len(data), chunk):
        parts.append(dec.feed(data[i : i + chunk]).reports)
        held = max(held, len(dec.rest))
    parts.append(dec.flush().reports)
    rep = Reports.concat(parts)
    assert len(rep) == 100 and rj.counts == {"plots-csv.line_too_long": 2}
    assert held <= (1 << 20) + 4096
    assert rep.raw.tolist() == [*range(2, 52), *range(53, 103)]  # line numbers kept
