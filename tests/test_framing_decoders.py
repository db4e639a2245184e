"""Byte-exact framing: every stream decoder gives the same output whatever the chunking.

Each case is a real sample from ../shared/data (or bytes derived from one: a raw ASTERIX
stream cut out of a pcap, an OMM KVN written from the OMM JSON sample). The reference is
the decoder fed the whole input in one piece; hypothesis then cuts the same bytes into
chunks of 1 byte to 1 MiB (a cycling list of sizes, so boundaries fall everywhere) and
the reports, statics and reject counts must be identical. Tiny chunk sizes run on a
prefix of the file, so the test stays quick; the prefix is decoded both ways too.
"""

from __future__ import annotations

import gzip
import itertools
import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.model.rejects import Rejects
from picket.model.reports import COLUMNS, Reports
from picket.sources.asterix import CaptureStream, udp_payload
from picket.sources.registry import get_format

MIB = 1 << 20


def _raw_asterix(pcap: bytes) -> bytes:
    """The ASTERIX data blocks of a pcap, back to back: what a raw TCP feed carries."""
    cap = CaptureStream(Rejects(), "x", "asterix")
    out = []
    for _, link, frame, _ in cap.feed(pcap, final=True):
        pl = udp_payload(link, frame)
        if pl:
            out.append(pl)
    return b"".join(out)


def _kvn(omm_json: bytes) -> bytes:
    """OMM KVN written from the OMM JSON sample (no KVN sample is published beside it)."""
    lines = []
    for rec in json.loads(omm_json):
        lines.append("CCSDS_OMM_VERS = 2.0")
        lines.append("COMMENT written from sample_omm.json")
        lines += [f"{k} = {v}" for k, v in rec.items()]
    return ("\n".join(lines) + "\n").encode()


# (case id, format, file under shared data, transform of the file's bytes)
CASES = [
    ("asterix-pcap", "asterix", "air/asterix_cat034_048.pcap", None),
    ("asterix-mixed", "asterix", "air/asterix_mixed.pcap", None),
    ("asterix-062", "asterix", "air/asterix_cat062_065.pcap", None),
    ("asterix-raw", "asterix", "air/asterix_cat034_048.pcap", _raw_asterix),
    ("asterix-ast", "asterix", "air/asterix_cat021.ast", None),
    ("readsb-trace", "readsb-json", "air/readsb_trace_full_ac671b.json", None),
    ("opensky-csv", "opensky", "air/opensky_plane_states_sample.csv", None),
    ("opensky-csv-traffic", "opensky", "air/traffic_samples/noisy__noisy_takeoff.csv.gz", None),
    ("opensky-json", "opensky", "air/border_control_channel_20200417.json.gz", None),
    ("remoteid-wifi", "remoteid", "air/remoteid_wifi_beacon.pcap", None),
    ("remoteid-bt5", "remoteid", "air/remoteid_bt5.pcapng", None),
    ("ais-csv-dma", "ais-csv", "ais/dma_aisdk_20180601_sample.csv", None),
    ("ais-csv-noaa", "ais-csv", "ais/marinecadastre_noaa_20230101_sample.csv", None),
    ("ais-csv-spire", "ais-csv", "ais/spire_style_20210701_sample.csv", None),
    ("ais-csv-solent", "ais-csv", "ais/solent_ais_20160112.csv", None),
    ("tle-3le", "space-elements", "space/catalog_3le_20220715.txt", None),
    ("tle-iss", "space-elements", "space/iss_tle_history_2021_2022.txt", None),
    ("omm-csv", "space-elements", "space/celestrak_omm_catalog_20241101.csv", None),
    ("omm-csv-sample", "space-elements", "space/sample_omm.csv", None),
    ("omm-json", "space-elements", "space/sample_omm.json", None),
    ("omm-xml", "space-elements", "space/sample_omm.xml", None),
    ("omm-kvn", "space-elements", "space/sample_omm.json", _kvn),
]
# the catalogue-scale files are cut to this many bytes for the property test (SGP4 per set)
BIG = {"tle-3le": 300_000, "omm-csv": 300_000, "ais-csv-spire": 400_000,
       "ais-csv-solent": 400_000}  # fmt: skip


def load(shared: Path, rel: str, transform) -> bytes:
    data = (shared / rel).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return transform(data) if transform else data


def decode(fmt: str, data: bytes, sizes: list[int], source: str = "sample") -> tuple:
    """(reports, statics, reject counts, accepted) of `data` fed in chunks of `sizes` (cycled)."""
    rej = Rejects()
    # a raw ASTERIX stream has only times of day: dated by a start time (2016-05-05)
    kw = {"start_time": 1462406400.0} if fmt == "asterix" else {}
    dec = get_format(fmt).decoder(rej, source, **kw)
    outs = []
    p = 0
    for n in itertools.cycle(sizes):
        if p >= len(data):
            break
        outs.append(dec.feed(data[p : p + n]))
        p += n
    outs.append(dec.flush())
    rep = Reports.concat([o.reports for o in outs])
    statics = [(s.time, s.subject, sorted(s.fields.items())) for o in outs for s in o.statics]
    return rep, statics, Counter(rej.counts), rej.accepted


def _canonical(r: Reports) -> np.ndarray:
    """The rows in one order whatever the feed's order: a decoder that decodes each call's
    records category by category (ASTERIX: plots, then ADS-B, then system tracks) gives
    the same rows in another order when a record category waits across calls (plots for
    their radar's site); the pipeline orders reports by event time, not by arrival."""
    keys = [np.nan_to_num(r[c], nan=-np.inf) if r[c].dtype.kind == "f" else r[c]
            for c in reversed(COLUMNS)]  # fmt: skip
    return np.lexsort(keys)


def same(a: tuple, b: tuple) -> None:
    ra, sa, ca, na = a
    rb, sb, cb, nb = b
    assert len(ra) == len(rb), (len(ra), len(rb))
    oa, ob = _canonical(ra), _canonical(rb)
    for c in COLUMNS:
        np.testing.assert_array_equal(ra[c][oa], rb[c][ob], err_msg=c)  # NaN equals NaN
    assert ca == cb
    assert na == nb
    assert _norm(sa) == _norm(sb)


def _norm(statics: list) -> list:
    def v(x):
        return "nan" if isinstance(x, float) and math.isnan(x) else x

    return [(v(t), s, [(k, v(x)) for k, x in f]) for t, s, f in statics]  # NaN == NaN here


_REF: dict[tuple[str, int], tuple] = {}


def reference(case: str, fmt: str, data: bytes) -> tuple:
    k = (case, len(data))
    if k not in _REF:
        _REF[k] = decode(fmt, data, [len(data) + 1])
    return _REF[k]


@pytest.mark.parametrize(("case", "fmt", "rel", "transform"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(sizes=st.lists(
    st.one_of(st.integers(1, 64), st.integers(65, 8192), st.sampled_from([4096, 65536, MIB])),
    min_size=1, max_size=6))  # fmt: skip
def test_chunking_does_not_change_output(shared_data, case, fmt, rel, transform, sizes):
    data = load(shared_data, rel, transform)
    data = data[: BIG.get(case, len(data))]
    smallest = min(sizes)
    if smallest < 4096:  # many tiny feeds: a prefix keeps the run short
        data = data[: max(6000, 64 * smallest)]
    same(decode(fmt, data, sizes), reference(case, fmt, data))


@pytest.mark.parametrize(("case", "fmt", "rel", "transform"), CASES, ids=[c[0] for c in CASES])
def test_whole_sample_in_4k_and_1k_chunks(shared_data, case, fmt, rel, transform):
    """The whole sample (catalogues cut as above) at 1 KiB and 4 KiB equals one piece."""
    data = load(shared_data, rel, transform)[: BIG.get(case)]
    ref = reference(case, fmt, data)
    assert ref[3] + sum(ref[2].values()) > 0, "the sample is read at all"
    for n in (1024, 4096):
        same(decode(fmt, data, [n]), ref)


@pytest.mark.parametrize(("case", "fmt", "rel", "transform"), CASES, ids=[c[0] for c in CASES])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=12), st.booleans()),
                   min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
)  # fmt: skip
def test_damaged_samples_frame_the_same(shared_data, case, fmt, rel, transform, edits, sizes):
    """Real samples with bytes overwritten or inserted: still chunking-independent,
    rejects included (a damaged record is rejected the same way however it arrives)."""
    data = bytearray(load(shared_data, rel, transform)[:6000])
    for where, junk, insert in edits:
        p = int(where * len(data))
        if insert:
            data[p:p] = junk
        else:
            data[p : p + len(junk)] = junk
    data = bytes(data)
    same(decode(fmt, data, sizes), decode(fmt, data, [len(data) + 1]))


JSONISH = st.lists(st.one_of(
    st.sampled_from(['{', '}', '[', ']', '"', ',', ':', '\\', ' ', '\n', '1', '-', '.', 'e',
                     'true', 'null', '"hex"', '"4ca1b2"', '"aircraft"', '"now"', '1.7e9',
                     '"trace"', '"icao"', '"timestamp"', '"states"', '\\u', '\ud800']),
    st.text(max_size=5),
), max_size=60).map("".join)  # fmt: skip


@pytest.mark.parametrize("fmt", ["readsb-json", "opensky"])
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(soup=JSONISH, sizes=st.lists(st.integers(1, 40), min_size=1, max_size=4))
def test_json_soup_frames_the_same(fmt, soup, sizes):
    """JSON-like junk (brackets, quotes, escapes, surrogates, numbers cut anywhere): the
    streaming JSON reader never raises and gives the same output at any chunking."""
    data = ('{"now": 1.7e9, "aircraft": [' + soup).encode("utf-8", "surrogatepass")
    same(decode(fmt, data, sizes), decode(fmt, data, [len(data) + 1]))
