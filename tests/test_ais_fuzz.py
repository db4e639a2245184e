"""Hostile input never raises, and every non-blank line is either accepted or rejected."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.codec.ais_encode import encode_positions, encode_statics
from picket.model.rejects import Rejects
from picket.sources.ais_csv import AisCsvDecoder
from picket.sources.ais_nmea import AisNmeaDecoder

_POS = encode_positions(
    np.array([1712345678.0, 1712345679.5]), np.array([211000001, 2]),
    np.array([55.5, -10.0]), np.array([12.25, 170.0]), np.array([10.0, np.nan]),
    np.array([90.0, 1.0]), np.array([91.0, np.nan]), np.array([0, 5]),
)  # fmt: skip
_STATIC = encode_statics(
    np.array([1712345678.0]), np.array([211000001]), ["ALPHA"], ["CALL"], np.array([1234567]),
    np.array([70]), np.array([10]), np.array([20]), np.array([3]), np.array([4]),
    ["PORT"], np.array([5.0]),
)  # fmt: skip
GOOD = [
    *_POS,
    *_STATIC,
    _STATIC[0].split(b"\\")[-1],  # fragments without their tag blocks
    _STATIC[1].split(b"\\")[-1],
    b"\\si:AISD*3F\\",
    b"$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C",
    b"!BSVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*62",
    b"!AIVDM,1,1,,B,33A0iB100118tfLO:FjPFR?:1P00,0*51,1412524603",
    b"\\s:42809,c:1635731909,t:1635731965*63\\!AIVDM,1,1,,,Kn9`@i0DCuB@o01T,0*48",
    b"$PSTT,30A,20131112,120003*6E",
]


@st.composite
def mangled_line(draw: st.DrawFn) -> bytes:
    line = draw(st.sampled_from(GOOD))
    how = draw(st.sampled_from(["keep", "cut", "flip", "insert", "junk", "checksum"]))
    if how == "cut":
        return line[: draw(st.integers(0, len(line)))]
    if how == "flip" and line:
        i = draw(st.integers(0, len(line) - 1))
        return line[:i] + bytes([draw(st.integers(0, 255))]) + line[i + 1 :]
    if how == "insert":
        i = draw(st.integers(0, len(line)))
        return (
            line[:i]
            + draw(st.sampled_from([b",", b"*", b"\\", b"!", b"$", b"\r", b" "]))
            + line[i:]
        )
    if how == "junk":
        return draw(st.binary(max_size=80)).replace(b"\n", b"")
    if how == "checksum":
        return line[:-2] + draw(st.sampled_from([b"00", b"ZZ", b"7", b""]))
    return line


def _xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def _non_blank(data: bytes) -> int:
    return sum(1 for x in data.split(b"\n") if x.strip(b" \t\r"))


def _feed_all(dec, data: bytes, cuts: list[int]) -> None:
    prev = 0
    for c in [*sorted(set(min(c, len(data)) for c in cuts)), len(data)]:
        dec.feed(data[prev:c])
        prev = c
    dec.flush()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mangled_line(), max_size=40), st.lists(st.integers(0, 4000), max_size=5))
def test_nmea_mangled_lines_are_all_accounted_for(lines, cuts):
    data = b"\n".join(lines)
    rj = Rejects()
    _feed_all(AisNmeaDecoder(rj, "fuzz"), data, cuts)
    assert "ais.internal_error" not in rj.counts
    assert rj.accepted + rj.rejected == _non_blank(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=4))
def test_nmea_random_bytes_never_raise(data, cuts):
    rj = Rejects()
    _feed_all(AisNmeaDecoder(rj, "fuzz"), data, cuts)
    assert "ais.internal_error" not in rj.counts
    assert rj.accepted + rj.rejected == _non_blank(data)


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(8))))
def test_shuffled_fragments_never_glue_wrong_parts(order):
    """Four two-part messages in any order: whatever completes is one of the originals."""
    parts = []
    for i, name in enumerate(["ALPHA", "BRAVO", "CHARLIE", "DELTA"]):
        lines = encode_statics(
            np.array([1712345678.0]), np.array([211000001 + i]), [name], ["C"], np.array([1]),
            np.array([70]), np.array([1]), np.array([1]), np.array([1]), np.array([1]),
            ["P"], np.array([1.0]),
        )  # fmt: skip
        for x in lines:  # bare sentences (no tag-block groups), one sequential id per message
            body = x.split(b"\\")[-1][1:].rsplit(b"*", 1)[0].replace(b",0,A,", b",%d,A," % i)
            parts.append(b"!" + body + b"*%02X" % _xor(body))
    data = b"\\c:1712345678*%02X\\\n" % _xor(b"c:1712345678")
    data += b"\n".join(parts[i] for i in order) + b"\n"
    rj = Rejects()
    dec = AisNmeaDecoder(rj, "fuzz")
    statics = dec.feed(data).statics + dec.flush().statics
    names = {s.subject & 0xFFFFFFFF: s.fields["name"] for s in statics}
    expect = {211000001 + i: n for i, n in enumerate(["ALPHA", "BRAVO", "CHARLIE", "DELTA"])}
    assert all(expect[m] == n for m, n in names.items())
    assert rj.accepted + rj.rejected == 9
    assert rj.accepted == 1 + 2 * len(statics)


CSV_HEAD = (
    b"MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
    b"Length,Width,Draft,Cargo,TransceiverClass\n"
)
CSV_ROW = (
    b"636021061,2023-01-11T00:00:00,26.09241,-80.04806,8.8,272.7,270.0,MSC NAISHA III,"
    b"IMO9307839,5LCB4,70,8.0,208.0,30.0,8.0,70.0,A"
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.just(CSV_ROW),
            st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
            st.integers(0, len(CSV_ROW)).map(lambda i: CSV_ROW[:i]),
            st.tuples(st.integers(0, len(CSV_ROW) - 1), st.sampled_from(b',"x9-.')).map(
                lambda t: CSV_ROW[: t[0]] + bytes([t[1]]) + CSV_ROW[t[0] + 1 :]
            ),
        ),
        max_size=30,
    ),
    st.lists(st.integers(0, 3000), max_size=4),
)
def test_csv_mangled_rows_are_all_accounted_for(rows, cuts):
    data = CSV_HEAD + b"\n".join(rows)
    rj = Rejects()
    _feed_all(AisCsvDecoder(rj, "fuzz.csv"), data, cuts)
    assert "ais.internal_error" not in rj.counts
    assert rj.accepted + rj.rejected == _non_blank(data) - 1  # the header is not a record
