"""AIS NMEA framing on synthetic lines with known truth: times, stations, fragments, rejects."""

from __future__ import annotations

import numpy as np
import pytest

from picket.codec.ais_encode import encode_positions, encode_statics
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.sources.ais_nmea import AisNmeaDecoder, sniff

# a type 1 report for MMSI 211000001 at 55.5N 12.25E (made by the encoder, checked by pyais)
POS = encode_positions(
    np.array([0.0]), np.array([211000001]), np.array([55.5]), np.array([12.25]),
    np.array([10.0]), np.array([90.0]), np.array([91.0]), np.array([0]),
)[0].split(b"\\")[-1]  # fmt: skip
PAYLOAD = POS.split(b",")[5].decode()


def cs(body: str) -> str:
    x = 0
    for ch in body.encode():
        x ^= ch
    return f"{x:02X}"


def vdm(payload: str, fill: int = 0, count: int = 1, frag: int = 1, seq: str = "", ch: str = "A"):
    body = f"AIVDM,{count},{frag},{seq},{ch},{payload},{fill}"
    return f"!{body}*{cs(body)}"


def tag(**fields: str) -> str:
    body = ",".join(f"{k}:{v}" for k, v in fields.items())
    return f"\\{body}*{cs(body)}\\"


def run(text: str, **kw):
    rj = Rejects()
    dec = AisNmeaDecoder(rj, "synthetic", **kw)
    a = dec.feed(text.encode())
    b = dec.flush()
    reports = Reports.concat([a.reports, b.reports])  # the last line may end without a newline
    return reports, a.statics + b.statics, rj


def test_tag_block_time_in_seconds_or_milliseconds_and_station():
    text = "\n".join(
        [
            tag(s="rx1", c="1712345678") + vdm(PAYLOAD),
            tag(c="1712345679250", s="rx2") + vdm(PAYLOAD),
        ]
    )
    r, _, rj = run(text)
    assert r.time.tolist() == [1712345678.0, 1712345679.25]
    assert [SOURCES.name(int(s)) for s in r.source] == ["rx1", "rx2"]
    assert r.lat[0] == pytest.approx(55.5) and r.lon[0] == pytest.approx(12.25)
    assert rj.accepted == 2 and rj.rejected == 0


def test_pghp_and_tag_only_lines_stamp_the_next_sentence_and_time_carries_forward():
    pghp_body = "PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B"
    text = "\n".join(
        [
            tag(si="AISD"),
            f"${pghp_body}*{cs(pghp_body)}",
            vdm(PAYLOAD),
            vdm(PAYLOAD),  # no time of its own: the last one seen
            vdm(PAYLOAD) + ",1412267500",  # trailing unix time
        ]
    )
    r, _, rj = run(text)
    assert r.time.tolist() == [1412267403.887, 1412267403.887, 1412267500.0]
    assert [SOURCES.name(int(s)) for s in r.source] == ["AISD"] * 3
    assert r.raw.tolist() == [3, 4, 5]
    assert rj.accepted == 5


def test_no_time_is_rejected_unless_a_clock_is_given():
    r, _, rj = run(vdm(PAYLOAD) + "\n")
    assert len(r) == 0 and rj.counts == {"ais.no_time": 1}
    r, _, rj = run(vdm(PAYLOAD) + "\n", clock=lambda: 1700000000.0)
    assert r.time.tolist() == [1700000000.0] and rj.accepted == 1
    assert SOURCES.name(int(r.source[0])) == "synthetic"  # no station: the stream's name


def test_bad_checksums_and_junk_are_rejected_with_reason_and_place():
    good = tag(c="1712345678") + vdm(PAYLOAD)
    bad_sentence = good[:-2] + ("00" if good[-2:] != "00" else "01")
    t = tag(c="1712345678")
    bad_tag = t[:-3] + ("00" if t[-3:-1] != "00" else "01") + "\\" + vdm(PAYLOAD)
    rj = Rejects(dead_letter=None)
    dec = AisNmeaDecoder(rj, "f.nmea")
    seen = []
    rj.reject = lambda reason, where, raw=None, n=1: seen.append((reason, where))  # type: ignore
    dec.feed("\n".join([good, bad_sentence, bad_tag, "$GPRMC,foo*00", "hello", "", good]).encode())
    dec.flush()
    assert seen == [
        ("ais.bad_checksum", "f.nmea:2"),
        ("ais.bad_tag_block", "f.nmea:3"),
        ("ais.not_ais", "f.nmea:4"),
        ("ais.malformed", "f.nmea:5"),
    ]
    assert rj.accepted == 2


def test_truncated_and_unsupported_messages_are_counted_not_decoded():
    t = tag(c="1712345678")
    short = PAYLOAD[:20]  # 120 bits of a 168-bit type 1
    type8 = "85Mwp`1Kf3aCnsNvBWLi=wQuNhA5t43N`5nCuI=p<IBfVqnMgPGs"  # binary broadcast
    r, _, rj = run("\n".join([t + vdm(short), t + vdm(type8), t + vdm(PAYLOAD)]))
    assert rj.counts == {"ais.truncated": 1, "ais.unsupported_type": 1}
    assert r.raw.tolist() == [3] and rj.accepted == 1


def test_invalid_mmsi_is_still_decoded():
    line = encode_positions(
        np.array([1.0e9]), np.array([123]), np.array([1.0]), np.array([2.0]),
        np.array([1.0]), np.array([1.0]), np.array([1.0]), np.array([0]),
    )[0].decode()  # fmt: skip
    r, _, _ = run(line)
    assert r.subject.tolist() == [key(Namespace.MMSI, 123)]


def _type5(mmsi: int, name: str, t: float = 1712345678.0) -> list[str]:
    lines = encode_statics(
        np.array([t]), np.array([mmsi]), [name], ["CALL"], np.array([1234567]),
        np.array([70]), np.array([10]), np.array([20]), np.array([3]), np.array([4]),
        ["PORT"], np.array([5.0]),
    )  # fmt: skip
    return [x.split(b"\\")[-1].decode() for x in lines]  # bare sentences, no tag blocks


def test_interleaved_fragments_reassemble_by_channel_and_sequence():
    a1, a2 = _type5(211000001, "ALPHA")
    b1, b2 = _type5(211000002, "BRAVO")
    b1, b2 = b1.replace(",A,", ",B,"), b2.replace(",A,", ",B,")
    b1 = b1[: b1.rindex("*") + 1] + cs(b1[1 : b1.rindex("*")])
    b2 = b2[: b2.rindex("*") + 1] + cs(b2[1 : b2.rindex("*")])
    t = tag(c="1712345678")
    _, statics, rj = run("\n".join([t, a1, b1, a2, b2]))
    assert [s.fields["name"] for s in statics] == ["ALPHA", "BRAVO"]
    assert rj.accepted == 5 and rj.rejected == 0


def test_orphans_are_counted_never_glued():
    a1, a2 = _type5(211000001, "ALPHA")
    b1, b2 = _type5(211000002, "BRAVO")
    t = tag(c="1712345678")
    # b1 replaces a1 under the same key: a1 is an orphan; then a lone second part; then b1+b2
    r, statics, rj = run("\n".join([t, a1, b1, b2, a2, a1]))
    assert [s.fields["name"] for s in statics] == ["BRAVO"]
    assert rj.counts == {"ais.orphan_fragment": 3}  # a1 (replaced), a2 (alone), a1 (at end)
    assert rj.accepted == 3 and len(r) == 1 and r.kind[0] == Kind.IDENTITY


def test_fragments_time_out_after_ten_seconds_of_event_time():
    a1, a2 = _type5(211000001, "ALPHA")
    text = "\n".join([tag(c="1712345678") + a1, tag(c="1712345690") + a2])
    _, statics, rj = run(text)
    assert statics == [] and rj.counts == {"ais.orphan_fragment": 2}


def test_unchanged_statics_are_emitted_once_but_every_message_reports_identity():
    t = tag(c="1712345678")
    lines = [
        t,
        *_type5(211000001, "ALPHA"),
        *_type5(211000001, "ALPHA"),
        *_type5(211000001, "BETA"),
    ]
    r, statics, rj = run("\n".join(lines))
    assert [s.fields["name"] for s in statics] == ["ALPHA", "BETA"]
    assert len(r) == 3 and np.all(r.kind == Kind.IDENTITY) and np.all(r.msg == 5)
    assert rj.accepted == 7


def test_sniff_accepts_nmea_tag_blocks_and_pghp_but_not_csv():
    assert sniff(POS + b"\n", "x")
    assert sniff(b"\\si:AISD*3F\\\n$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C\n", "x")
    assert sniff(b"\\s:42809,c:1635731889*6A\\!AIVDM,1,1,,,403t>B1vFhQr5`NonbBw?>G00<0n,0*7B", "x")
    assert not sniff(b"MMSI,BaseDateTime,LAT,LON\n367752440,2023-01-11T00:00:00,43.0,-70.7\n", "x")
    assert not sniff(b"\x1f\x8b\x08\x00binary", "x")


def test_next_commas_matches_a_padded_gather():
    """`_next_commas` (clipped take, fill past the end) against the padded copy it replaced:
    rows reaching past the last comma, the last comma itself and a chunk with no comma."""
    from picket.sources.ais_nmea_lines import _next_commas

    rng = np.random.default_rng(7)
    size = 5000
    for n_commas in (0, 1, 9, 400):
        commas = np.sort(rng.choice(size, n_commas, replace=False)).astype(np.int64)
        k = np.sort(rng.integers(0, n_commas + 1, 50)).astype(np.int64)
        for m in (7, 10):
            padded = np.concatenate([commas, np.full(m, size, np.int64)])
            want = padded[k[None, :] + np.arange(m)[:, None]]
            got = _next_commas(commas, k, m, size)
            assert got.dtype == np.int64 and np.array_equal(got, want)
