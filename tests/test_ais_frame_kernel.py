"""The compiled AIS framing loop gives the NumPy framing's columns bit for bit, on any bytes.

`ais_nmea_lines.frame_lines_numpy` is the reference; `_frame_compiled` must equal it on
every field of `Lines` (values, dtypes, NaN places, the `stations` list and its order) for
real feeds cut into chunks of several sizes, for real feeds with bytes flipped, and for
generated lines that reach every rule (tag blocks, checksums, VDM fields, `$PGHP` dates,
trailer times) before and after mutation. The two are called directly, so the dispatch
threshold does not matter here; `frame_lines`' choice of path is tested in subprocesses.
"""

from __future__ import annotations

import dataclasses
import gzip
import subprocess
import sys
from functools import reduce
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.sources import ais_nmea_frame_kernel as kern
from picket.sources import ais_nmea_lines as al


def both(data: bytes, first: int = 1) -> tuple[al.Lines, al.Lines]:
    buf = np.frombuffer(data, np.uint8)
    return al._frame_compiled(kern, buf, first), al.frame_lines_numpy(buf, first)


def assert_same(data: bytes, first: int = 1) -> al.Lines:
    got, want = both(data, first)
    for f in dataclasses.fields(al.Lines):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if isinstance(b, list):
            assert a == b, f.name
            continue
        assert a.dtype == b.dtype and a.shape == b.shape, f.name
        if b.dtype.kind == "f":
            assert np.array_equal(np.isnan(a), np.isnan(b)), f.name
        assert np.array_equal(a, b, equal_nan=b.dtype.kind == "f"), (
            f.name, np.flatnonzero(a != b)[:5],
        )  # fmt: skip
    return got


def real_files(shared: Path) -> list[bytes]:
    """Every file of the AIS folder, NMEA or not (a CSV is hostile input here)."""
    folder = shared / "ais"
    if not folder.is_dir():
        pytest.skip(f"real AIS data not found at {folder}")
    out = []
    for p in sorted(folder.iterdir()):
        data = p.read_bytes()
        out.append(gzip.decompress(data) if p.suffix == ".gz" else data)
    return out


def cut_at_lines(data: bytes, size: int) -> list[bytes]:
    """Chunks of about `size` bytes ending at a newline, as the decoder feeds them."""
    out, i = [], 0
    while i < len(data):
        j = data.find(b"\n", i + size)
        j = len(data) if j < 0 else j + 1
        out.append(data[i:j])
        i = j
    return out


@pytest.mark.realdata
@pytest.mark.parametrize("size", [1 << 20, 65536, 4096, 300])
def test_real_feeds_in_chunks(shared_data, size):
    kinds = set()
    for data in real_files(shared_data):
        first = 1
        for chunk in cut_at_lines(data if size > 1000 else data[:100_000], size):
            got = assert_same(chunk, first)
            kinds.update(got.kind.tolist())
            first += chunk.count(b"\n")
    assert {al.VDM, al.TAG_ONLY, al.PGHP} <= kinds  # the files reach every accepted kind


@pytest.mark.realdata
def test_real_feeds_cut_anywhere_and_flipped(shared_data):
    """Chunks cut mid-line (no final newline) and bytes overwritten with the framing's own
    characters, at a rate that leaves most lines whole."""
    rng = np.random.default_rng(18)
    special = np.frombuffer(b",*\\!$\r\n \t0123456789:csgiAF\x00\xff", np.uint8)
    for data in real_files(shared_data):
        a = np.frombuffer(data, np.uint8).copy()
        for rate in (0.0005, 0.005):
            b = a.copy()
            at = np.flatnonzero(rng.random(len(b)) < rate)
            b[at] = rng.choice(special, len(at))
            assert_same(b.tobytes())
        for cut in rng.integers(0, len(data), 4).tolist():
            assert_same(data[:cut])
            assert_same(data[cut : cut + 50_000])


def xor(text: bytes) -> int:
    return reduce(lambda x, y: x ^ y, text, 0)


def hexsum(draw: st.DrawFn, text: bytes, sound: bool) -> bytes:
    """Checksum of `text` in either case; unless `sound`, sometimes wrong or short."""
    how = draw(one(b"upper", b"upper", b"lower") if sound else one(b"wrong", b"short"))
    cs = f"{xor(text):02X}".encode()
    if how == b"lower":
        return cs.lower()
    if how == b"wrong":
        return draw(one(b"00", b"ZZ", b"G1", f"{xor(text) ^ 1:02X}".encode()))
    if how == b"short":
        return cs[:1]
    return cs


def one(*options: bytes) -> st.SearchStrategy[bytes]:
    return st.sampled_from(options)


def pick(draw: st.DrawFn, sound: bool, good: tuple[bytes, ...], bad: tuple[bytes, ...]) -> bytes:
    """One of `good`, or when not `sound` one of `bad`."""
    return draw(one(*good) if sound else one(*bad))


NAME = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x not in b"\n,*\\"))
GOOD_TAG = st.one_of(
    one(
        b"c:1635731889",
        b"c:1635731889000",
        b"c:1",
        b"c:99999999999",
        b"c:100000000000",
        b"g:1-2-7",
        b"t:1635731965",
        b"x:1",
    ),
    st.builds(lambda v: b"s:" + v, st.one_of(one(b"42809", b"AISD", b"2573"), NAME)),
    st.builds(lambda v: b"si:" + v, st.one_of(one(b"AISD"), NAME)),
)
BAD_TAG = one(b"c:", b"c:12345678901234", b"c:1x", b"g:", b"", b"c", b"s", b"si", b"s:", b"si:")
MUTANT = one(b",", b"*", b"\\", b"!", b"$", b"\r", b" ", b"\t", b"\n", b"\xe9", b"\x00", b"9", b":")


# the parts of a VDM/VDO sentence and of a $PGHP one: (sound choices, unsound choices)
VDM_PARTS = (
    ((b"AIVDM", b"BSVDM", b"ABVDO"), (b"AIVDX", b",,VDM", b"A,VDM")),
    ((b",1", b",2", b",3", b",9"), (b",0", b",", b",12", b",A")),
    ((b",1",), (b",2", b",3", b",0", b",", b",11")),
    ((b",", b",3", b",0", b",9"), (b",12", b",x")),
    ((b",A", b",B", b",", b",1"), (b",AB", b",,", b",ABC")),
    ((b",13:BuN001=15mQFOjcOBG1p800SK", b",Kn9`@i0DCuB@o01T", b","), (b",4*",)),
    ((b",0", b",2", b",5"), (b",6", b",", b",00")),
    ((b"",), (b",1", b",")),
)
PGHP_PARTS = (
    ((b"PGHP,1",), (b"PGHP,1,",)),
    ((b",2014", b",1999", b",0", b",0400"), (b",12345", b",", b",20x4")),
    ((b",10", b",1", b",12", b",02"), (b",13", b",0", b",", b",123")),
    ((b",2", b",29", b",31"), (b",32", b",0")),
    ((b",16", b",0", b",23"), (b",24",)),
    ((b",30", b",59"), (b",60",)),
    ((b",3", b",60"), (b",61", b",")),
    ((b",887", b",0", b",999"), (b",1000", b",")),
    ((b",219,1,992190917,1,7B", b",", b",1"), (b"",)),
)


def sentence_text(draw: st.DrawFn, parts: tuple, off: int) -> bytes:
    """What a sentence's checksum covers: part `off` unsound, the others sound."""
    return b"".join(pick(draw, k != off, good, bad) for k, (good, bad) in enumerate(parts))


def mutate(draw: st.DrawFn, out: bytes) -> bytes:
    """One flip, insertion, deletion, cut or very long run at a drawn place."""
    how = draw(one(b"flip", b"insert", b"insert", b"delete", b"cut", b"long"))
    i = draw(st.integers(0, len(out)))
    if how == b"flip" and i < len(out):
        return out[:i] + bytes([draw(st.integers(0, 255))]) + out[i + 1 :]
    if how == b"insert":
        return out[:i] + draw(MUTANT) + out[i:]
    if how == b"delete":
        return out[:i] + out[i + 1 :]
    if how == b"cut":
        return out[:i]
    if how == b"long":
        return out[:i] + draw(one(b"A", b",", b" ", b"*", b"1")) * 5000 + out[i:]
    return out


@st.composite
def line(draw: st.DrawFn) -> bytes:
    """A line: sound; or sound but for one part (a tag field, its end or checksum, the
    sentence's lead, checksum or one field, or a byte changed before the checksums are made,
    so that each rule behind the checksums is reached alone); or changed after its
    checksums; or junk."""
    mode = draw(one(b"sound", b"sound", b"off", b"off", b"off", b"outer", b"junk"))
    if mode == b"junk":
        return draw(st.one_of(st.binary(max_size=40), one(b"$PSTT,30A*6E", b"!AIVDM", b"\\")))
    off = draw(st.sampled_from(range(16))) if mode == b"off" else -1
    tag = b""
    if draw(st.booleans()):
        fields = draw(st.lists(GOOD_TAG, max_size=4))
        if off == 0:  # one unsound field among them
            fields.insert(draw(st.integers(0, len(fields))), draw(BAD_TAG))
        body = b",".join(fields)
        if off == 3:
            body = mutate(draw, body)
        end = pick(draw, off != 1, (b"\\",), (b"", b"*\\"))
        tag = b"\\" + body + b"*" + hexsum(draw, body, off != 2) + end
    what = draw(one(b"vdm", b"vdm", b"vdm", b"pghp", b"pghp", b"none"))
    sentence = b""
    if what != b"none":
        text = sentence_text(draw, VDM_PARTS if what == b"vdm" else PGHP_PARTS, off - 7)
        if off == 6:
            text = mutate(draw, text)
        lead = pick(draw, off != 4, (b"!", b"$"), (b"#",)) if what == b"vdm" else b"$"
        trailer = draw(one(b"", b",", b",1412524603", b",1412524603123", b",12345678901234",
                           b",99999999999", b",100000000000", b",1x"))  # fmt: skip
        sentence = lead + text + b"*" + hexsum(draw, text, off != 5) + trailer
    ws = one(b"", b"", b"", b" ", b"\t", b"\r", b" \r\t \r")
    out = draw(ws) + tag + sentence + draw(ws)
    if mode == b"outer":
        for _ in range(draw(st.integers(1, 2))):
            out = mutate(draw, out)
    return out


@st.composite
def chunk(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(line(), max_size=40))
    seps = [draw(st.sampled_from([b"\n", b"\n", b"\r\n", b"\n\n", b" \n"])) for _ in lines]
    out = b"".join(a + b for a, b in zip(lines, seps, strict=True))
    return out if draw(st.booleans()) else out + draw(st.binary(max_size=20))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk(), st.integers(-5, 10**12))
def test_generated_and_mutated_lines(data, first):
    assert_same(data, first)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400),
    st.lists(st.sampled_from(b",*\\!$\n\r \tVDMOPGH0123456789:cgsi"), max_size=400).map(bytes),
)
def test_random_bytes(noise, framing):
    assert_same(noise)
    assert_same(framing)
    assert_same(noise + b"\n" + framing + b"\n")


@pytest.mark.parametrize("parts", [VDM_PARTS, PGHP_PARTS], ids=["vdm", "pghp"])
def test_every_sentence_with_one_unsound_part(parts):
    """Each unsound choice of each part alone, behind no tag and behind a sound one, with and
    without a trailer time: the rules after the checksum one by one (the generated lines
    reach them only by chance)."""
    rows = []
    for off, (_, bad) in enumerate([(None, ()), *parts]):
        for b in bad if off else [None]:
            text = b"".join(p[0][0] if k != off - 1 else b for k, p in enumerate(parts))
            lead = b"$" if parts is PGHP_PARTS else b"!"
            for tag in (b"", b"\\c:1635731889,s:x*" + f"{xor(b'c:1635731889,s:x'):02X}".encode()
                        + b"\\"):  # fmt: skip
                for trailer in (b"", b",1412524603"):
                    rows.append(tag + lead + text + b"*" + f"{xor(text):02X}".encode() + trailer)
    got = assert_same(b"\n".join(rows) + b"\n")
    assert (got.kind[:4] == (al.VDM if parts is VDM_PARTS else al.PGHP)).all()
    assert (got.kind[4:] >= al.MALFORMED).all()  # every unsound part is a reject


def test_named_cases():
    """A few lines whose handling is easy to get subtly wrong, named for the record."""
    vd = b"!AIVDM,1,1,,B,13:BuN001=15mQFOjcOBG1p800SK,0*7B"
    lines = [
        b"\\s:a,c:1635731889,s:bb,g:1-2-7,c:1635731889000*00\\" + vd,  # checksum fixed below
        b"\\c:12,c:x*00\\" + vd,  # a bad c: after a good one: BAD_TAG, its time kept
        b"\\si:AISD*3F\\",
        b"$PGHP,1,2014,10,2,16,30,3,887,219,1,992190917,1,7B*5C",
        b"$PGHP,1,2014,13,2,16,30,3,887,219,1,992190917,1,7B*00",  # month 13
        b"!AIVDM,1,1,,B,402=481uaUcf;OQ55JS9ITi025Jp,0*2B,1412524603",
        b"!AIVDM,1,1,,B,402=481uaUcf;OQ55JS9ITi025Jp,0*2B,",
        b"   \r\t",
        b"",
    ]

    def fix(ln: bytes) -> bytes:  # '*00': the right checksum of what is before it
        if b"*00" in ln:
            body = ln[1 : ln.index(b"*00")]
            ln = ln.replace(b"*00", b"*" + f"{xor(body):02X}".encode(), 1)
        return ln

    got = assert_same(b"\n".join(fix(x) for x in lines) + b"\n", 7)
    assert got.kind.tolist() == [al.VDM, al.BAD_TAG, al.TAG_ONLY, al.PGHP, al.BAD_PGHP,
                                 al.VDM, al.VDM]  # fmt: skip
    assert sorted(got.stations) == ["AISD", "a", "bb"]  # every station field joins the list
    assert got.stations[got.station[0]] == "bb" and got.stations[got.station[2]] == "AISD"
    assert got.time[0] == 1635731889.0 and got.time[1] == 12.0 and got.time[5] == 1412524603.0
    assert np.isnan(got.time[6]) and got.line_no.tolist() == [7, 8, 9, 10, 11, 12, 13]


def test_many_stations_keep_the_numpy_order():
    """`stations` is in `_unique_rows`' order (the decoder numbers sources by it)."""
    rows = []
    for i in range(3000):
        body = f"s:st{i % 37}{'x' * (i % 41)},c:{1600000000 + i}".encode()
        rows.append(b"\\" + body + b"*" + f"{xor(body):02X}".encode() + b"\\")
    got = assert_same(b"\n".join(rows) + b"\n")
    assert len(got.stations) > 37 and (got.station >= 0).all()


def test_a_broken_kernel_falls_back_to_numpy_once(monkeypatch, caplog):
    calls = []

    class Broken:
        def frame(self, *a):
            calls.append(1)
            raise RuntimeError("no LLVM")

    monkeypatch.setattr(al, "_BROKEN", [])
    monkeypatch.setattr(al, "_kernel", lambda: None if al._BROKEN else Broken())
    data = b"!AIVDM,1,1,,B,402=481uaUcf;OQ55JS9ITi025Jp,0*2B\n" * al.KERNEL_LINES
    buf = np.frombuffer(data, np.uint8)
    for _ in range(2):
        got = al.frame_lines(buf, 1)
        assert (got.kind == al.VDM).all()
    assert len(calls) == 1 and al._BROKEN and "no LLVM" in caplog.text


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def test_small_chunks_do_not_load_numba():
    code = ("import sys, numpy as np; from picket.sources import ais_nmea_lines as al; "
            "d = b'!AIVDM,1,1,,B,402=481uaUcf;OQ55JS9ITi025Jp,0*2B\\n' * 100; "
            "l = al.frame_lines(np.frombuffer(d, np.uint8), 1); assert (l.kind == 0).all(); "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numba', 'llvmlite') or 'frame_kernel' in m))")  # fmt: skip
    assert _run(code) == "[]"


@pytest.mark.realdata
def test_big_real_chunks_use_the_kernel(shared_data):
    path = shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"
    if not path.exists():
        pytest.skip(f"{path} not found")
    code = (f"import sys, dataclasses, numpy as np; from picket.sources import ais_nmea_lines "
            f"as al; d = open({str(path)!r}, 'rb').read(); b = np.frombuffer(d, np.uint8); "
            "assert d.count(b'\\n') >= al.KERNEL_LINES; "
            "a, r = al.frame_lines(b, 1), al.frame_lines_numpy(b, 1); "
            "assert all(np.array_equal(getattr(a, f.name), getattr(r, f.name), "
            "equal_nan=f.name == 'time') if f.name != 'stations' else a.stations == r.stations "
            "for f in dataclasses.fields(al.Lines)); "
            "print('picket.sources.ais_nmea_frame_kernel' in sys.modules, al._BROKEN)")  # fmt: skip
    assert _run(code) == "True []"


def test_the_kernel_shares_the_line_kinds():
    """The kernel keeps its own copies of the kinds (compile-time constants): same values."""
    for name in ("VDM", "TAG_ONLY", "PGHP", "MALFORMED", "BAD_CHECKSUM", "BAD_TAG", "NOT_AIS",
                 "BAD_PGHP", "STATION_WIDTH"):  # fmt: skip
        assert getattr(kern, name) == getattr(al, name), name
