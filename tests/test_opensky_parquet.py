"""OpenSky Parquet history: the real CSV sample written as Parquet reads to the same reports;
hand-made tables check types and rejects; broken files are counted, never raised."""

from __future__ import annotations

import functools
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")
pcsv = pytest.importorskip("pyarrow.csv")
pq = pytest.importorskip("pyarrow.parquet")

from picket.model.rejects import Rejects  # noqa: E402
from picket.model.reports import COLUMNS, Kind, Reports  # noqa: E402
from picket.model.subjects import Namespace, key  # noqa: E402
from picket.sources import opensky_parquet  # noqa: E402
from picket.sources.opensky_parquet import MissingExtra, OpenSkyParquetDecoder  # noqa: E402
from picket.sources.registry import detect, read_file  # noqa: E402

CSV = "air/opensky_plane_states_sample.csv"


def _read(path: Path, fmt: str = "auto", **kw) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    outs = list(read_file(path, rej, fmt, chunk_size=7919, **kw))
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rej


def _decode(data: bytes, **kw) -> tuple[Reports, list, Rejects]:
    rej = Rejects()
    dec = OpenSkyParquetDecoder(rej, "t.parquet", **kw)
    assert len(dec.feed(data).reports) == 0  # nothing before the footer is seen
    out = dec.flush()
    return out.reports, out.statics, rej


def _parquet(table, **kw) -> bytes:
    bio = io.BytesIO()
    pq.write_table(table, bio, **kw)
    return bio.getvalue()


def _opensky_table(csv_path: Path):
    """The real CSV rows in OpenSky's Impala column types (squawk as 4-digit text)."""
    types = {"time": pa.int64(), "icao24": pa.string(), "callsign": pa.string(),
             "squawk": pa.string()}  # fmt: skip
    t = pcsv.read_csv(
        csv_path,
        convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )
    t = t.drop_columns(["x_speed", "y_speed"])  # not OpenSky columns: added by the sample's maker
    i = t.schema.get_field_index("squawk")
    t = t.set_column(i, "squawk", pc.replace_substring_regex(t["squawk"], r"\.0$", ""))
    hour = pc.subtract(t["time"], pc.multiply(pc.divide(t["time"], 3600), 3600))
    t = t.append_column("hour", hour)
    return t.append_column("serials", pa.nulls(len(t), pa.list_(pa.int32())))


@pytest.mark.realdata
def test_real_rows_as_parquet_read_like_the_csv(shared_data, tmp_path):
    table = _opensky_table(shared_data / CSV)
    assert table.column("squawk").type == pa.string() and table.num_rows == 6052
    path = tmp_path / "states_2021-07-12.parquet"
    pq.write_table(table, path, row_group_size=1000)  # six row groups
    assert detect(path).name == "opensky-parquet"
    ref, ref_st, ref_rej = _read(shared_data / CSV)
    got, got_st, got_rej = _read(path, batch_rows=333)  # batches straddle nothing
    assert got_rej.accepted == ref_rej.accepted == 6052 and got_rej.rejected == 0
    for c in COLUMNS:
        if c in ("raw", "source"):
            continue
        assert np.array_equal(ref[c], got[c], equal_nan=ref[c].dtype.kind == "f"), c
    assert np.array_equal(got.raw, np.arange(6052))  # row numbers
    assert np.array_equal(ref.raw, got.raw + 2)  # the CSV's line numbers (header is line 1)
    assert np.count_nonzero(got.squawk >= 0) == 6052 - 467  # 467 rows have no squawk
    as_tuples = [(s.time, s.subject, s.fields) for s in got_st]
    assert as_tuples == [(s.time, s.subject, s.fields) for s in ref_st]
    assert len(got_st) == 84  # one callsign per aircraft in this sample


def test_values_types_and_callsign_changes():
    t0 = 1_700_000_000
    table = pa.table(
        {
            "time": pa.array([t0, t0 + 10, t0 + 20, t0 + 30, t0 + 40], pa.int64()),
            "icao24": ["4ca259", " 4CA259", "00000a", "4ca259", "00000a"],
            "lat": [53.5, None, 54.0, 53.6, 54.1],
            "lon": [-0.5, None, 1.0, -0.4, 1.1],
            "velocity": [200.0, 201.0, None, 202.0, 150.0],
            "heading": [90.0, 91.0, None, 92.0, 180.0],
            "vertrate": [-3.25, 0.0, None, 1.5, None],
            "callsign": ["RYR60VP ", "RYR60VP ", None, "RYR61  ", "ABC"],
            "onground": [False] * 5,
            "squawk": ["7700", None, " 0012 ", "1174", "77x0"],
            "baroaltitude": [9707.88, 9700.0, None, 9690.0, 300.0],
            "lastposupdate": [t0 - 0.25, None, t0 + 19.5, None, t0 + 39.0],
        }
    )
    rep, statics, rej = _decode(_parquet(table))
    assert rej.accepted == 5 and rej.rejected == 0
    assert rep.time.tolist() == [t0 - 0.25, t0 + 10, t0 + 19.5, t0 + 30, t0 + 39.0]
    assert rep.subject.tolist() == [key(Namespace.ICAO, v) for v in (0x4CA259, 0x4CA259, 10,
                                                                      0x4CA259, 10)]  # fmt: skip
    assert rep.kind.tolist() == [Kind.POSITION, Kind.VELOCITY, Kind.POSITION, Kind.POSITION,
                                 Kind.POSITION]  # fmt: skip
    assert rep.squawk.tolist() == [7700, -1, 12, 1174, -1]
    assert rep.alt[0] == np.float32(9707.88) and np.isnan(rep.alt[2])
    assert rep.vrate[0] == np.float32(-3.25) and rep.course[4] == 180.0
    got = [(s.time, s.fields["callsign"]) for s in statics]
    assert got == [(t0 - 0.25, "RYR60VP"), (t0 + 30, "RYR61"), (t0 + 39.0, "ABC")]


def test_timestamp_time_numeric_address_and_squawk():
    table = pa.table(
        {
            "time": pa.array([1_600_000_000_000_000, 1_600_000_001_500_000], pa.timestamp("us")),
            "icao24": pa.array([0x3C4591, 1 << 24], pa.int64()),
            "lat": [51.0, 51.1],
            "lon": [0.0, 0.1],
            "squawk": pa.array([1174.0, 7700.0]),
        }
    )
    rep, _, rej = _decode(_parquet(table))
    assert rep.time.tolist() == [1_600_000_000.0] and rep.squawk.tolist() == [1174]
    assert rej.counts == {"opensky_parquet.bad_icao24": 1}  # 2**24 is not a 24-bit address


def test_bad_rows_are_counted_with_their_row_numbers(tmp_path):
    n = 250
    icao = [f"{i:06x}" for i in range(n)]
    icao[7] = "zz0001"
    icao[8] = "~a1b2c3"  # readsb's non-ICAO marker
    time = [1.6e9 + i for i in range(n)]
    time[9] = None
    table = pa.table({"time": time, "icao24": icao, "lat": [50.0] * n, "lon": [1.0] * n})
    dead = tmp_path / "dead.jsonl"
    rej = Rejects(dead)
    dec = OpenSkyParquetDecoder(rej, "x.parquet", batch_rows=100)
    dec.feed(_parquet(table, row_group_size=120))
    rep = dec.flush().reports
    rej.close()
    assert len(rep) == n - 3 and rej.accepted == n - 3
    assert rej.counts == {"opensky_parquet.bad_icao24": 2, "opensky_parquet.no_time": 1}
    assert 7 not in rep.raw and 9 not in rep.raw and 10 in rep.raw
    wheres = [ln.split('"where": "')[1].split('"')[0] for ln in dead.read_text().splitlines()]
    assert wheres == ["x.parquet:row 7", "x.parquet:row 8", "x.parquet:row 9"]


def test_not_opensky_columns_is_a_counted_schema_reject():
    rep, _, rej = _decode(_parquet(pa.table({"norad": [25544, 20580], "epoch": [1.0, 2.0]})))
    assert len(rep) == 0 and rej.counts == {"opensky_parquet.bad_schema": 2}


def test_truncated_and_empty_files():
    table = pa.table({"time": [1.6e9] * 50, "icao24": ["abcdef"] * 50, "lat": [1.0] * 50,
                      "lon": [2.0] * 50})  # fmt: skip
    data = _parquet(table)
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        rep, _, rej = _decode(data[:cut])
        assert len(rep) == 0 and rej.counts == {"opensky_parquet.bad_file": 1}, cut
    rep, _, rej = _decode(b"")
    assert len(rep) == 0 and rej.rejected == 0 and rej.accepted == 0


def test_corrupt_row_group_loses_only_its_rows():
    n = 300
    table = pa.table({"time": [1.6e9 + i for i in range(n)],
                      "icao24": [f"{i:06x}" for i in range(n)],
                      "lat": [50.0] * n, "lon": [1.0] * n})  # fmt: skip
    data = bytearray(_parquet(table, row_group_size=100, compression="snappy"))
    meta = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    col = meta.row_group(1).column(1)  # the second row group's icao24 chunk
    start = col.dictionary_page_offset or col.data_page_offset
    for k in range(start + 20, start + col.total_compressed_size):
        data[k] = 0xFF
    rep, _, rej = _decode(bytes(data))
    assert rej.counts == {"opensky_parquet.bad_row_group": 100}
    assert rej.accepted == 200 and sorted(set(rep.raw // 100)) == [0, 2]


@functools.cache
def _small() -> bytes:
    n = 400
    t = pa.table({"time": pa.array([1_600_000_000 + i for i in range(n)], pa.int64()),
                  "icao24": [f"{i % 37:06x}" for i in range(n)],
                  "lat": np.linspace(50, 51, n), "lon": np.linspace(0, 1, n),
                  "callsign": [f"CS{i % 5}" for i in range(n)],
                  "squawk": ["7000"] * n})  # fmt: skip
    return _parquet(t, row_group_size=90)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_mutated_or_truncated_parquet_never_raises(data):
    raw = bytearray(_small())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    rep, _, rej = _decode(bytes(raw))
    assert len(rep) == rej.accepted
    assert rej.accepted + rej.rejected > 0 or len(raw) == 0


def test_missing_pyarrow_names_the_extra(monkeypatch):
    for m in ("pyarrow", "pyarrow.parquet", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, m, None)  # import of these now fails
    with pytest.raises(MissingExtra, match=r"picket\[parquet\]"):
        OpenSkyParquetDecoder(Rejects(), "x.parquet")
    assert opensky_parquet._sniff(b"PAR1\x15\x04", "x.bin")  # detection needs no pyarrow
