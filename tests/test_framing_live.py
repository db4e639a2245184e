"""Byte-exact framing of the live feed decoders: Beast, AVR, SBS, raw hex, AIS NMEA.

The pattern of tests/test_framing_decoders.py: a real sample from ../shared/data (or
bytes derived from one: AVR lines written from the Beast capture's frames) decoded in one
piece is the reference; hypothesis cuts the same bytes into chunks of 1 byte to 1 MiB and
the reports, statics, reject counts and accepted count must be identical. A live socket
delivers whatever chunks the network makes, so this is what keeps a feed's output from
depending on the network.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.codec.modes_encode import airborne_position
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.sources.beast import split_frames
from picket.sources.modes_text import MAX_LINE, SbsDecoder
from picket.sources.registry import Clock, get_format
from tests.test_framing_decoders import MIB, same

BEAST = "air/beast_capture_gulf_of_finland_20180403_61s.bin"
T0 = 1522782148.0  # the capture's start (2018-04-03 19:02 UTC)


def _avr(beast: bytes, ticks: bool) -> bytes:
    """The Beast capture's frames as AVR lines: `@<ticks><hex>;` or `*<hex>;`, CRLF ends."""
    _, ub, us, _, _ = split_frames(beast, final=True)
    n = {ord("1"): 2, ord("2"): 7, ord("3"): 14}
    out = []
    for u in us:
        t = int(ub[u + 1])
        if t not in n:
            continue
        payload = ub[u + 9 : u + 9 + n[t]].tobytes().hex().upper().encode()
        head = b"@" + ub[u + 2 : u + 8].tobytes().hex().upper().encode() if ticks else b"*"
        out.append(head + payload + b";")
    return b"\r\n".join(out) + b"\r\n"


def _bare(nmea: bytes) -> bytes:
    """AIS NMEA with tag blocks and $PGHP lines removed: what a plain receiver prints."""
    keep = [ln[ln.rfind(b"\\") + 1 :] if ln.startswith(b"\\") else ln
            for ln in nmea.splitlines() if not ln.startswith(b"$")]  # fmt: skip
    return b"\n".join(keep) + b"\n"


# (case id, format, file under shared data, transform, decoder keywords (fresh per decode))
CASES = [
    ("beast", "beast", BEAST, None, lambda: {"start_time": T0}),
    ("beast-small", "beast", "air/dump1090_sample.beast", None, lambda: {"start_time": T0}),
    ("beast-rate", "beast", BEAST, None, lambda: {"clock": Clock(start=T0, rate=200.0)}),
    ("avr-ticks", "avr", BEAST, lambda b: _avr(b, True), lambda: {"start_time": T0}),
    ("avr-plain", "avr", BEAST, lambda b: _avr(b, False),
     lambda: {"clock": Clock(start=T0, rate=200.0)}),
    ("sbs", "sbs", "air/beast_capture_gulf_of_finland_20180403_61s.sbs", None, dict),
    ("raw-hex", "modes-csv", "air/pymodes_sample_adsb.csv", None, dict),
    ("ais-tagged", "ais-nmea", "ais/dma_212123000_drift_bornholm_20141002.nmea", None, dict),
    ("ais-stream", "ais-nmea", "ais/aislib_stream_example_20100611.nmea", None, dict),
    ("ais-nm4", "ais-nmea", "ais/aisdb_global_20211101_1min.nm4", None, dict),
    ("ais-danish", "ais-nmea", "ais/dma_danish_waters_20131112_5min.nmea.gz", None, dict),
    ("ais-bare", "ais-nmea", "ais/aislib_stream_example_20100611.nmea", _bare,
     lambda: {"clock": Clock(start=T0, rate=50.0)}),
]  # fmt: skip
BIG = 400_000  # bytes of each sample the property test uses (the whole sample elsewhere)


def load(shared, rel: str, transform) -> bytes:
    data = (shared / rel).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return transform(data) if transform else data


def decode(fmt: str, data: bytes, sizes: list[int], kw: dict, rej: Rejects | None = None
           ) -> tuple:  # fmt: skip
    """(reports, statics, reject counts, accepted) of `data` in chunks of `sizes` (cycled)."""
    rej = rej if rej is not None else Rejects()
    dec = get_format(fmt).decoder(rej, "sample", **kw)
    outs, p = [], 0
    for n in itertools.cycle(sizes):
        if p >= len(data):
            break
        outs.append(dec.feed(data[p : p + n]))
        p += n
    outs.append(dec.flush())
    rep = Reports.concat([o.reports for o in outs])
    statics = [(s.time, s.subject, sorted(s.fields.items())) for o in outs for s in o.statics]
    return rep, statics, Counter(rej.counts), rej.accepted


_REF: dict[tuple[str, int], tuple] = {}


def reference(case: str, fmt: str, data: bytes, kw) -> tuple:
    k = (case, len(data))
    if k not in _REF:
        _REF[k] = decode(fmt, data, [len(data) + 1], kw())
    return _REF[k]


IDS = [c[0] for c in CASES]


@pytest.mark.parametrize(("case", "fmt", "rel", "transform", "kw"), CASES, ids=IDS)
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(sizes=st.lists(
    st.one_of(st.integers(1, 64), st.integers(65, 8192), st.sampled_from([4096, 65536, MIB])),
    min_size=1, max_size=6))  # fmt: skip
def test_live_decoders_frame_the_same_at_any_chunking(shared_data, case, fmt, rel, transform,
                                                      kw, sizes):  # fmt: skip
    data = load(shared_data, rel, transform)[:BIG]
    smallest = min(sizes)
    if smallest < 4096:  # many tiny feeds: a prefix keeps the run short
        data = data[: max(6000, 64 * smallest)]
    same(decode(fmt, data, sizes, kw()), reference(case, fmt, data, kw))


@pytest.mark.parametrize(("case", "fmt", "rel", "transform", "kw"), CASES, ids=IDS)
def test_whole_live_sample_at_1_byte_64_bytes_and_4k(shared_data, case, fmt, rel, transform, kw):
    """The sample (big ones cut) at 4 KiB, its first 100 KB at 64 bytes (where Beast used to
    lose frames) and its first 6 KB byte by byte equal one piece; the sample is read at all."""
    data = load(shared_data, rel, transform)[:BIG]
    ref = reference(case, fmt, data, kw)
    assert ref[3] > 0 and len(ref[0]) > 0, "the sample decodes"
    same(decode(fmt, data, [4096], kw()), ref)
    for n, size in ((100_000, 64), (6000, 1)):
        head = data[:n]
        same(decode(fmt, head, [size], kw()), reference(case, fmt, head, kw))


@pytest.mark.parametrize(("case", "fmt", "rel", "transform", "kw"), CASES, ids=IDS)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=12), st.booleans()),
                   min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=4),
)  # fmt: skip
def test_damaged_live_samples_frame_the_same(shared_data, case, fmt, rel, transform, kw, edits,
                                             sizes):  # fmt: skip
    """Bytes overwritten or inserted (newlines, 0x1A escapes, junk): still the same output,
    rejects included, however the bytes arrive."""
    data = bytearray(load(shared_data, rel, transform)[:6000])
    for where, junk, insert in edits:
        p = int(where * len(data))
        if insert:
            data[p:p] = junk
        else:
            data[p : p + len(junk)] = junk
    data = bytes(data)
    same(decode(fmt, data, sizes, kw()), decode(fmt, data, [len(data) + 1], kw()))


def _sbs_line(icao: str, lat: float) -> bytes:
    return (f"MSG,3,1,1,{icao},1,2018/04/03,19:02:30.000,2018/04/03,19:02:30.000,,35000,,,"
            f"{lat:.5f},30.00000,,,0,0,0,0\n").encode()  # fmt: skip


@pytest.mark.parametrize("fmt", ["sbs", "avr", "modes-csv"])
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(sizes=st.lists(st.one_of(st.integers(1, 300), st.integers(4000, 20000)),
                      min_size=1, max_size=4))  # fmt: skip
def test_an_over_long_line_is_rejected_once_and_numbers_hold(tmp_path_factory, fmt, sizes):
    """A line of 3 x MAX_LINE bytes without a newline for a long while, then good lines, and
    one over-long line inside a buffer of good ones: each rejected once as
    `<fmt>.line_too_long`, never read again as new lines; the good lines after keep their
    numbers (the dead letter says where)."""
    hx = airborne_position(np.array([0x4CA7B5]), 59.5, 24.5, 1000.0, 0)[0].tobytes().hex()
    good = {"sbs": _sbs_line("4CA7B5", 59.5), "avr": f"*{hx};\n".encode(),
            "modes-csv": f"1522782148.5,{hx}\n".encode()}[fmt]  # fmt: skip
    junk = (b"MSG,3," + b"9" * (3 * MAX_LINE)) + b"\n"
    data = good * 3 + junk + good * 2 + b"x" * (MAX_LINE + 10) + b"\n" + good + b"garbage\n"
    dl = tmp_path_factory.mktemp("dl") / "dead.jsonl"
    rej = Rejects(dl)
    out = decode(fmt, data, sizes, {"start_time": 1522782148.0} if fmt == "avr" else {}, rej)
    rej.close()
    reason = f"{fmt.replace('-', '_')}.line_too_long"
    assert out[2][reason] == 2, out[2]
    bad = {"sbs": "sbs.bad_line", "avr": "avr.bad_line", "modes-csv": "modes_csv.bad_line"}[fmt]
    assert out[2][bad] == 1, out[2]  # "garbage" is line 9, one line, read once
    rows = [json.loads(x) for x in dl.read_text().splitlines()]
    where = sorted(r["where"] for r in rows if r["reason"] == reason)
    assert where == [f"sample:4 ({3 * MAX_LINE + 6} bytes)", f"sample:7 ({MAX_LINE + 10} bytes)"]
    assert [r["where"] for r in rows if r["reason"] == bad] == ["sample:9"]
    assert out[3] == 6  # the six good lines


def test_sbs_callsigns_are_clean_text():
    """A callsign with controls, a bidi override and invalid UTF-8 comes out as safe text."""
    line = (b"MSG,1,1,1,4CA7B5,1,2018/04/03,19:02:30.000,2018/04/03,19:02:30.000,"
            b"FIN\x1b[31m7\xe2\x80\xaeX\xff,,,,,,,,,,,\n")  # fmt: skip
    rej = Rejects()
    dec = SbsDecoder(rej, "sbs")
    st_ = dec.feed(line).statics
    assert len(st_) == 1
    name = st_[0].fields["callsign"]
    assert "\x1b" not in name and "\u202e" not in name and name.startswith("FIN[31m7")
    assert name.encode("utf-8") and len(name) <= 16
    assert np.all(rej.accepted == 1)
