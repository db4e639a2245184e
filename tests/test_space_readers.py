"""Element-set readers: real catalogues without loss, against sgp4's own parsers, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4 import omm as sgp4_omm
from sgp4.api import WGS72, Satrec

from picket.model.rejects import Rejects
from picket.sources.registry import read_file
from picket.sources.space_elements import ElementDecoder
from picket.space import omm
from picket.space.read import read_elements, sniff
from picket.space.tle import alpha5, parse_tle

pytestmark = pytest.mark.realdata


def _checksum(line: str) -> str:
    s = sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68])
    return line[:68] + str(s % 10)


ISS1 = "1 25544U 98067A   21001.22196045  .00001488  00000-0  34854-4 0  999"
ISS2 = "2 25544  51.6464  88.5894 0001153 173.6665  39.5832 15.49246091262713"


def test_3le_catalogue_reads_without_loss(shared_data):
    rj = Rejects()
    es = read_elements(shared_data / "space/catalog_3le_20220715.txt", rj)
    assert len(es) == 24132 and rj.rejected == 0 and rj.accepted == 24132
    assert len(np.unique(es.norad)) == 24132
    assert (es.name != "").all()
    assert es.name[0] == "VANGUARD 1" and es.norad[0] == 5  # "    5" right-justified number
    assert es.object_id[0] == "1958-002B"


def test_omm_csv_catalogue_reads_without_loss(shared_data):
    rj = Rejects()
    es = read_elements(shared_data / "space/celestrak_omm_catalog_20241101.csv", rj)
    assert len(es) == 26834 and rj.rejected == 0
    assert len(np.unique(es.norad)) == 26834
    assert es.norad.max() > 60000


def _pos(sat: Satrec, jd: float) -> np.ndarray:
    e, r, _ = sat.sgp4(jd, 0.0)
    assert e == 0
    return np.array(r)


def test_tle_elements_match_sgp4_twoline2rv(shared_data):
    """Same orbits as sgp4's own TLE parser, to the millimetre, one day after epoch."""
    path = shared_data / "space/catalog_3le_20220715.txt"
    lines = path.read_text().splitlines()
    es = read_elements(path, Rejects())
    rng = np.random.default_rng(5)
    for k in rng.choice(len(es), 300, replace=False).tolist():
        row = int(es.row[k]) - 1  # 1-based line number of line 1
        ref = Satrec.twoline2rv(lines[row], lines[row + 1], WGS72)
        mine = es.take(np.array([k])).satrecs("i")[0]
        jd = ref.jdsatepoch + ref.jdsatepochF + 1.0
        assert np.linalg.norm(_pos(ref, jd) - _pos(mine, jd)) < 1e-5, es.norad[k]


def test_omm_csv_matches_sgp4_omm_reader(shared_data):
    path = shared_data / "space/celestrak_omm_catalog_20241101.csv"
    es = read_elements(path, Rejects())
    with path.open() as fh:
        recs = list(sgp4_omm.parse_csv(fh))
    for k in np.random.default_rng(6).choice(len(es), 300, replace=False).tolist():
        ref = Satrec()
        sgp4_omm.initialize(ref, recs[k])
        mine = es.take(np.array([k])).satrecs("i")[0]
        assert int(recs[k]["NORAD_CAT_ID"]) == es.norad[k]
        jd = ref.jdsatepoch + ref.jdsatepochF + 1.0
        assert np.linalg.norm(_pos(ref, jd) - _pos(mine, jd)) < 1e-5


def test_omm_xml_json_csv_agree(shared_data):
    d = shared_data / "space"
    rj = Rejects()
    x = read_elements(d / "sample_omm.xml", rj)
    c = read_elements(d / "sample_omm.csv", rj)
    j = read_elements(d / "sample_omm.json", rj)
    assert rj.rejected == 0 and len(x) == len(c) == len(j) == 1
    for f in ("norad", "epoch", "mean_motion", "ecc", "incl", "raan", "argp", "bstar", "ndot"):
        assert getattr(x, f)[0] == getattr(c, f)[0], f
    assert j.epoch[0] > x.epoch[0] and j.name[0] == x.name[0] == "VANGUARD 1"
    assert sniff((d / "sample_omm.xml").read_bytes()) == "omm-xml"


def test_kvn_from_the_csv_sample_fields(shared_data):
    c = read_elements(shared_data / "space/sample_omm.csv", Rejects())
    kvn = "\n".join([
        "CCSDS_OMM_VERS = 2.0", "CREATION_DATE = 2024-01-01T00:00:00", "ORIGINATOR = TEST",
        "OBJECT_NAME = VANGUARD 1", "OBJECT_ID = 1958-002B", "CENTER_NAME = EARTH",
        "REF_FRAME = TEME", "TIME_SYSTEM = UTC", "MEAN_ELEMENT_THEORY = SGP4",
        "EPOCH = 2020-10-13T04:52:48.472320", "MEAN_MOTION = 10.84869164 [rev/day]",
        "ECCENTRICITY = .1845686", "INCLINATION = 34.2443 [deg]", "RA_OF_ASC_NODE = 225.5254",
        "ARG_OF_PERICENTER = 162.2516", "MEAN_ANOMALY = 205.2356", "EPHEMERIS_TYPE = 0",
        "CLASSIFICATION_TYPE = U", "NORAD_CAT_ID = 5", "ELEMENT_SET_NO = 999",
        "REV_AT_EPOCH = 21814", "BSTAR = -.22483E-4", "MEAN_MOTION_DOT = -1.6E-7",
        "MEAN_MOTION_DDOT = 0",
    ]).encode()  # fmt: skip
    rj = Rejects()
    k = omm.parse_kvn(kvn + b"\n" + kvn.replace(b"= 5\n", b"= 123456\n"), rj, "t.kvn")
    assert rj.rejected == 0 and k.norad.tolist() == [5, 123456]  # six-digit numbers
    for f in ("epoch", "mean_motion", "ecc", "incl", "raan", "argp", "mean_anomaly", "bstar"):
        assert getattr(k, f)[0] == getattr(c, f)[0], f


def test_alpha5_numbers_round_trip():
    assert alpha5(100000) == "A0000" and alpha5(339999) == "Z9999" and alpha5(25544) == "25544"
    assert alpha5(180000) == "J0000"  # I is skipped
    for n in (100001, 180000, 234567, 339999, 5, 99999):
        l1 = _checksum(ISS1.replace("25544", alpha5(n), 1))
        l2 = _checksum(ISS2.replace("25544", alpha5(n), 1))
        es = parse_tle(f"{l1}\n{l2}\n".encode(), Rejects(), "t")
        assert es.norad.tolist() == [n]


def test_bad_element_sets_are_rejected_with_their_line():
    good1, good2 = _checksum(ISS1), _checksum(ISS2)
    bad_ck = good1[:68] + str((int(good1[68]) + 1) % 10)
    bad_ecc = _checksum(good2[:26] + "x001153" + good2[33:])
    other = _checksum(ISS2.replace("25544", "25545"))
    text = "\n".join(["ISS", good1, good2, "BAD", bad_ck, good2, good1, bad_ecc, good1, other,
                      "stray text", good1]) + "\n"  # fmt: skip
    rj = Rejects()
    es = parse_tle(text.encode(), rj, "f.tle")
    assert len(es) == 1 and es.name.tolist() == ["ISS"] and es.row.tolist() == [2]
    assert rj.counts == {"tle.checksum": 1, "tle.field": 1, "tle.catalogue_number": 1,
                         "tle.orphan_line": 2}  # fmt: skip
    assert rj.accepted == 1


def test_registry_decoder_same_rows_at_any_chunk_size(shared_data):
    path = shared_data / "space/iss_tle_history_2021_2022.txt"
    rows = {}
    for cs in (1 << 20, 331):
        rj = Rejects()
        outs = list(read_file(path, rj, fmt="space-elements", chunk_size=cs))
        rows[cs] = np.concatenate([o.reports.raw for o in outs])
        assert rj.accepted == 2096 and rj.rejected == 0
    assert np.array_equal(rows[1 << 20], rows[331])
    r = next(iter(read_file(path, Rejects()))).reports
    assert (r.domain == 3).all() and (r.subject >> 48 == 3).all()
    assert np.all((r.alt > 300e3) & (r.alt < 500e3))  # the ISS flies at ~420 km
    # geodetic latitude reaches the 51.64 deg inclination plus up to ~0.2 deg (ellipsoid)
    assert np.abs(r.lat).max() <= 51.9 and np.abs(r.lat).max() > 51.3


def test_omm_json_csv_stream_through_registry(shared_data, tmp_path):
    rec = json.loads((shared_data / "space/sample_omm.json").read_text())
    bad = dict(rec[0], ECCENTRICITY=1.5)
    p = tmp_path / "gp.json"
    p.write_text(json.dumps([rec[0], bad, "junk"]))
    rj = Rejects()
    outs = list(read_file(p, rj))
    assert sum(len(o.reports) for o in outs) == 1
    assert rj.counts == {"omm-json.elements": 1, "omm-json.record": 1}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.binary(max_size=90),
    st.sampled_from([ISS1 + "2", ISS2, "0 NAME", "1 ", "2 ", "NORAD_CAT_ID,MEAN_MOTION"]).map(
        str.encode),
), max_size=12), st.integers(1, 64))  # fmt: skip
def test_fuzz_decoder_never_raises(parts, chunk):
    data = b"\n".join(parts)
    rj = Rejects()
    dec = ElementDecoder(rj, "fuzz")
    n = 0
    for i in range(0, len(data), chunk):
        n += len(dec.feed(data[i : i + chunk]).reports)
    n += len(dec.flush().reports)
    assert n == rj.accepted
    filled = [x for x in data.splitlines() if x.strip()]
    header_only = len(filled) == 1 and filled[0].strip().startswith(b"NORAD_CAT_ID")
    if data.strip() and n == 0 and not header_only:  # something was said about the input
        assert rj.rejected > 0
