"""Real AIS NMEA files through `read_file`: no exceptions, every line accounted for."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyais.stream import IterMessages

from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key, number
from picket.sources.registry import detect, read_file
from tests.ais_files import NMEA_FILES


def _text(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _text6(s: str) -> str | None:
    return s.partition("@")[0].strip() or None


def _replay(path: Path, chunk_size: int = 1 << 20):
    rj = Rejects()
    outs = list(read_file(path, rj, chunk_size=chunk_size))
    reports = Reports.concat([o.reports for o in outs])
    statics = [s for o in outs for s in o.statics]
    return reports, statics, rj


@pytest.mark.realdata
@pytest.mark.parametrize("name", NMEA_FILES)
def test_real_file_replays_with_every_line_accounted_for(shared_data, name):
    path = shared_data / "ais" / name
    assert detect(path).name == "ais-nmea"
    reports, _, rj = _replay(path)
    lines = [x.strip() for x in _text(path).split(b"\n")]
    non_blank = [x for x in lines if x]
    assert rj.accepted + rj.rejected == len(non_blank)
    # proprietary sentences other than $PGHP are counted as not AIS, one for one
    other = sum(1 for x in non_blank if x.startswith(b"$P") and not x.startswith(b"$PGHP"))
    assert rj.counts["ais.not_ais"] == other
    assert rj.counts["ais.bad_checksum"] == 0  # these archives are clean
    assert len(reports) > 0
    sar = reports.msg == 9  # type 9: search-and-rescue aircraft, an air track
    assert np.all(reports.domain[~sar] == Domain.MARITIME)
    assert np.all(reports.domain[sar] == Domain.AIR)
    assert np.all(np.isfinite(reports.time))
    assert np.all(np.diff(reports.raw) > 0)  # in input order, one report per message
    assert np.all(number(reports.subject) < 1_000_000_000)


@pytest.mark.realdata
def test_chunking_does_not_change_the_result(shared_data):
    path = shared_data / "ais" / "aisdb_global_20211101_1min.nm4"
    a, sa, ra = _replay(path)
    b, sb, rb = _replay(path, chunk_size=997)  # splits lines and multi-part groups
    for c in ("time", "subject", "lat", "lon", "speed", "raw", "source"):
        np.testing.assert_array_equal(a[c], b[c])
    assert [s.fields for s in sa] == [s.fields for s in sb]
    assert ra.counts == rb.counts and ra.accepted == rb.accepted


@pytest.mark.realdata
def test_danish_multipart_type5_become_statics_like_pyais(shared_data):
    path = shared_data / "ais" / "dma_danish_waters_20131112_5min.nmea.gz"
    reports, statics, rj = _replay(path)
    ref5 = [
        m
        for m in (msg.decode() for msg in IterMessages(_text(path).split(b"\n")))
        if m.msg_type == 5
    ]
    assert len(ref5) == 69
    ident = reports.where((reports.kind == Kind.IDENTITY) & (reports.msg == 5))
    assert len(ident) == len(ref5)  # every two-part type 5 reassembled and decoded
    assert rj.counts["ais.orphan_fragment"] == 0
    mine = {(number(s.subject), s.fields.get("name"), s.fields.get("destination")) for s in statics}
    # text ends at the first '@' (the AIS pad character); pyais only strips trailing ones
    ref = {(m.mmsi, _text6(m.shipname), _text6(m.destination)) for m in ref5}
    assert ref <= mine
    by_id = {(number(s.subject), s.fields.get("name"), s.fields.get("destination")): s.fields
             for s in statics}  # fmt: skip
    for m in ref5:
        f = by_id[(m.mmsi, _text6(m.shipname), _text6(m.destination))]
        assert f.get("callsign") == _text6(m.callsign) and f.get("imo") == (m.imo or None)
        assert f.get("to_bow") == (m.to_bow or None) and f.get("to_port") == (m.to_port or None)
        assert f.get("draught") == (pytest.approx(m.draught) if m.draught else None)
    # statics are emitted on change: repeats of an unchanged type 5 add nothing
    at5 = set(zip(ident.time.tolist(), ident.subject.tolist(), strict=True))
    type5 = [s for s in statics if (s.time, s.subject) in at5 and "aid_type" not in s.fields]
    fields = [
        "mmsi",
        "imo",
        "callsign",
        "shipname",
        "ship_type",
        "to_bow",
        "to_stern",
        "to_port",
        "to_starboard",
        "month",
        "day",
        "hour",
        "minute",
        "draught",
        "destination",
    ]
    distinct = {tuple(_text6(v) if isinstance(v, str) else v for v in
                      (getattr(m, f) for f in fields)) for m in ref5}  # fmt: skip
    assert len(type5) == len(distinct)


@pytest.mark.realdata
def test_drift_file_times_from_pghp_and_station_from_tag_block(shared_data):
    path = shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"
    reports, statics, _ = _replay(path)
    day = [
        dt.datetime.fromtimestamp(t, dt.UTC).date()
        for t in (reports.time.min(), reports.time.max())
    ]
    assert day == [dt.date(2014, 10, 2), dt.date(2014, 10, 3)]
    # first sentence: $PGHP,1,2014,10,2,16,30,3,887,... on line 2, sentence on line 3
    assert reports.raw[0] == 3
    assert reports.time[0] == dt.datetime(2014, 10, 2, 16, 30, 3, 887000, dt.UTC).timestamp()
    assert {SOURCES.name(int(s)) for s in reports.source} == {"AISD"}
    vessel = reports.where(reports.subject == key(Namespace.MMSI, 212123000))
    assert len(vessel) > 1000
    assert Counter(vessel.nav_status.tolist()).most_common(1)[0][0] == 2  # not under command
    assert {s.fields["name"] for s in statics if s.subject == key(Namespace.MMSI, 212123000)} == {
        "STOC MARCIA"
    }


@pytest.mark.realdata
def test_trailing_unix_times_and_mixed_stations(shared_data):
    path = shared_data / "ais" / "dma_219165000_sudden_speed_change.nmea"
    reports, _, _ = _replay(path)
    first = _text(path).split(b"\n")[1]
    assert first.endswith(b",1412524603")
    assert reports.raw[0] == 2 and reports.time[0] == 1412524603.0
    assert SOURCES.name(int(reports.source[0])) == "MSSIS"
    assert {SOURCES.name(int(s)) for s in reports.source} == {"AISD", "IALA", "MSSIS"}


@pytest.mark.realdata
def test_nm4_tag_block_times_and_groups(shared_data):
    path = shared_data / "ais" / "aisdb_global_20211101_1min.nm4"
    reports, statics, rj = _replay(path)
    # c: is the receiver's time; the file spans one minute of 2021-11-01 UTC
    assert reports.time.min() >= 1635731880 and reports.time.max() < 1635731880 + 120
    assert rj.counts["ais.orphan_fragment"] == 0
    assert (reports.kind == Kind.IDENTITY).sum() > 0
    assert any("name" in s.fields for s in statics)


def test_statics_passed_on_are_the_callers_own(shared_data):
    """The payload memo shares one fields dict among the repeats of a type 5; what the
    decoder passes on is a copy, so a sink that changes it changes nothing a later vessel,
    or a later decoder, is given."""
    path = shared_data / "ais" / "dma_danish_waters_20131112_5min.nmea.gz"
    first = [s for o in read_file(path, Rejects()) for s in o.statics]
    assert len(first) > 100
    want = [dict(s.fields) for s in first]
    for s in first:
        s.fields["name"] = "CHANGED BY A SINK"
        s.fields.clear()
    again = [s.fields for o in read_file(path, Rejects()) for s in o.statics]
    assert again == want
