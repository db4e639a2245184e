"""Decoded AIS CSVs: every real file reads, sentinels become missing, statics deduplicated."""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key, number
from picket.sources.ais_csv import AisCsvDecoder, sniff
from picket.sources.registry import detect, read_file

KNOT = 1852.0 / 3600.0
CSV_FILES = {
    "dma_aisdk_20180601_sample.csv": "dma-aisdk",
    "marinecadastre_noaa_20230101_sample.csv": "noaa-marinecadastre",
    "spire_style_20210701_sample.csv": "spire",
    "solent_ais_20160112.csv": "track-csv",
}


def _read(path):
    rj = Rejects()
    outs = list(read_file(path, rj))
    return Reports.concat([o.reports for o in outs]), [s for o in outs for s in o.statics], rj


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(CSV_FILES))
def test_every_csv_reads_and_accounts_for_every_row(shared_data, name):
    path = shared_data / "ais" / name
    assert detect(path).name == "ais-csv"
    r, _, rj = _read(path)
    n_rows = len(_rows(path))
    assert rj.accepted + rj.rejected == n_rows
    assert rj.counts["ais.bad_csv_row"] == 0
    assert len(r) == rj.accepted > 0
    assert np.all(r.domain == Domain.MARITIME) and np.all(np.isfinite(r.time))
    assert np.all(np.diff(r.raw) > 0) and r.raw[0] >= 2  # line numbers, header is line 1
    pos = r.where(r.kind == Kind.POSITION)
    ok = pos.has_position()
    assert np.all(np.abs(pos.lat[ok]) <= 90) and np.all(np.abs(pos.lon[ok]) <= 180)
    s = r.speed[np.isfinite(r.speed)] / KNOT
    assert np.all((s >= 0) & (s < 102.25))
    c = r.course[np.isfinite(r.course)]
    assert np.all((c >= 0) & (c < 360))


@pytest.mark.realdata
def test_dma_aisdk_sentinels_time_and_text_status(shared_data):
    path = shared_data / "ais" / "dma_aisdk_20180601_sample.csv"
    r, statics, _ = _read(path)
    rows = _rows(path)
    sentinel = [i for i, x in enumerate(rows) if x["Latitude"].startswith("91")]
    assert len(sentinel) == 10
    assert np.all(np.isnan(r.lat[sentinel])) and np.all(np.isnan(r.lon[sentinel]))
    assert r.time[0] == dt.datetime(2018, 6, 1, tzinfo=dt.UTC).timestamp()  # 01/06/2018 is 1 June
    assert r.nav_status[0] == 4  # "Constrained by her draught"
    unknown = [i for i, x in enumerate(rows) if x["Navigational status"] == "Unknown value"]
    assert np.all(r.nav_status[unknown] == 15)
    assert r.speed[0] == pytest.approx(12.5 * KNOT) and r.heading[0] == 256
    named = {number(s.subject): s.fields["name"] for s in statics if "name" in s.fields}
    truth = {int(x["MMSI"]): x["Name"] for x in rows if x["Name"].strip()}
    assert named == truth
    assert set(np.unique(r.msg[r.kind == Kind.POSITION])) <= {1, 4, 18, 21}


@pytest.mark.realdata
def test_noaa_sentinels_and_statics_once_per_vessel(shared_data):
    path = shared_data / "ais" / "marinecadastre_noaa_20230101_sample.csv"
    r, statics, _ = _read(path)
    rows = _rows(path)
    h511 = [i for i, x in enumerate(rows) if x["Heading"] == "511.0"]
    c360 = [i for i, x in enumerate(rows) if x["COG"] == "360.0"]
    assert h511 and c360
    assert np.all(np.isnan(r.heading[h511])) and np.all(np.isnan(r.course[c360]))
    first = rows[1]
    assert r.subject[1] == key(Namespace.MMSI, int(first["MMSI"]))
    assert r.lat[1] == float(first["LAT"]) and r.nav_status[1] == 8
    f = next(s.fields for s in statics if number(s.subject) == 636021061)
    assert f == {
        "name": "MSC NAISHA III", "callsign": "5LCB4", "imo": 9307839, "ship_type": 70,
        "length": 208.0, "width": 30.0, "draught": 8.0,
    }  # fmt: skip
    subjects = [s.subject for s in statics]
    distinct = {(x["MMSI"], x["VesselName"], x["CallSign"], x["IMO"], x["VesselType"],
                 x["Length"], x["Width"], x["Draft"]) for x in rows}  # fmt: skip
    assert len(statics) <= len(distinct)
    with_identity = {x["MMSI"] for x in rows if x["VesselName"] or x["CallSign"] or x["IMO"]}
    assert {number(s) for s in subjects} == {int(m) for m in with_identity}


@pytest.mark.realdata
def test_spire_types_identity_rows_and_decimetre_draught(shared_data):
    path = shared_data / "ais" / "spire_style_20210701_sample.csv"
    r, statics, rj = _read(path)
    rows = _rows(path)
    unsupported = sum(1 for x in rows if x["Message_ID"] not in
                      {"1", "2", "3", "4", "5", "9", "18", "19", "21", "24", "27"})  # fmt: skip
    assert rj.counts["ais.unsupported_type"] == unsupported
    ident = r.where(r.kind == Kind.IDENTITY)
    assert set(np.unique(ident.msg)) == {5, 24} and np.all(np.isnan(ident.lat))
    zonda = next(s.fields for s in statics if number(s.subject) == 538007407)
    assert zonda["name"] == "GH ZONDA" and zonda["draught"] == pytest.approx(8.7)
    assert zonda["to_bow"] == 182 and zonda["destination"] == "BLUFF"
    t = dt.datetime(2021, 7, 1, 18, 51, 51, 680000, dt.UTC).timestamp()
    assert r.time[0] == pytest.approx(t)
    n181 = [i for i, x in enumerate(rows) if x["Longitude"] == "181.0"]
    lines = set((np.array(n181) + 2).tolist())
    sel = np.isin(r.raw, list(lines))
    assert sel.sum() > 0 and np.all(np.isnan(r.lon[sel]))


@pytest.mark.realdata
def test_solent_track_csv(shared_data):
    path = shared_data / "ais" / "solent_ais_20160112.csv"
    r, statics, _ = _read(path)
    assert statics == []
    assert r.time[0] == pytest.approx(
        dt.datetime(2016, 1, 12, 13, 2, 11, 218000, dt.UTC).timestamp()
    )
    assert r.course[0] == pytest.approx(157.8) and r.speed[0] == pytest.approx(5.9 * KNOT)
    assert np.nanmin(r.lat) > 50 and np.nanmax(r.lat) < 51


def test_bad_rows_are_rejected_with_line_numbers_and_unknown_headers_refused():
    head = b"Time,MMSI,Latitude_degrees,Longitude_degrees,COG_degrees,SOG_knots\n"
    body = (
        b"2016-01-12 13:02:11.218,235070762,50.77,-1.09,157.8,5.9\n"
        b"2016-01-12 13:02:12,notanumber,50.77,-1.09,157.8,5.9\n"
        b"2016-13-12 13:02:12,235070762,50.77,-1.09,157.8,5.9\n"
        b"2016-01-12 13:02:13,235070762,50.77,-1.09\n"
        b"\n"
        b"2016-01-12 13:02:14,235070762,91,181,360,102.3\n"
    )
    rj = Rejects()
    dec = AisCsvDecoder(rj, "t.csv")
    seen = []
    rj.reject = lambda reason, where, raw=None, n=1: seen.append((reason, where))  # type: ignore
    out = dec.feed(head + body[:70])
    out2 = dec.feed(body[70:])
    out3 = dec.flush()
    r = Reports.concat([out.reports, out2.reports, out3.reports])
    assert seen == [("ais.bad_csv_row", f"t.csv:{n}") for n in (3, 4, 5)]
    assert r.raw.tolist() == [2, 7]
    assert np.isnan(r.lat[1]) and np.isnan(r.lon[1]) and np.isnan(r.course[1])
    assert np.isnan(r.speed[1])
    rj2 = Rejects()
    dec2 = AisCsvDecoder(rj2, "u.csv")
    dec2.feed(b"a,b,c\n1,2,3\n")
    dec2.flush()
    assert rj2.counts == {"ais.csv_unknown_header": 2} and rj2.accepted == 0


def test_sniff_by_header():
    assert sniff(b"# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status\n", "x")
    assert sniff(b"MMSI,BaseDateTime,LAT,LON,SOG\n1,2,3,4,5\n", "x")
    assert not sniff(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*23\n", "x")
    assert not sniff(b"lat,lon,time\n", "x")
