"""The compiled AIS payload loop (`decode_payloads_compiled`, numba) gives the NumPy form's
`PayloadBatch` exactly: statuses, types, rows, every column's dtype and bytes (NaN bits
too), and the statics list, on every real NMEA payload and on hostile generated ones."""

from __future__ import annotations

import functools
import gzip
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.codec import ais_decode as ad
from picket.codec.ais_armor import ARMOR, DEARMOR, INVALID
from picket.model.rejects import Rejects
from picket.sources import ais_nmea_lines as al
from picket.sources.ais_nmea import AisNmeaDecoder
from tests.ais_files import NMEA_FILES

pytest.importorskip("numba")

INVALID_CHARS = bytes(c for c in range(256) if DEARMOR[c] == INVALID)
# bits a message must carry, and the bits the NumPy form reads, per type: lengths around both
BOUNDS = sorted({*ad.MIN_BITS.values(), ad.MIN_BITS_24A, ad.MIN_BITS_24B, 38, 96, 128, 133,
                 137, 138, 168, 312, 360, 422, 40 + 6 * ad.MAX_TEXT_14})  # fmt: skip


def _read(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _both(buf: np.ndarray, start: Any, length: Any, fill: Any) -> tuple[ad.PayloadBatch, ...]:
    """Both forms on one batch, each with an empty statics memo (a memo hit would hide a
    wrong byte matrix)."""
    args = (buf, np.asarray(start, np.int64), np.asarray(length, np.int64),
            np.asarray(fill, np.int64))  # fmt: skip
    ad._MEMO.clear()
    ref = ad.decode_payloads_numpy(*args)
    ad._MEMO.clear()
    got = ad.decode_payloads_compiled(*args)
    ad._MEMO.clear()
    return ref, got


def _same(ref: ad.PayloadBatch, got: ad.PayloadBatch) -> None:
    for name in ("status", "msg_type", "rows"):
        a, b = getattr(ref, name), getattr(got, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(b, a, err_msg=name)
    assert list(got.cols) == list(ref.cols)
    for c, v in ref.cols.items():
        assert got.cols[c].dtype == v.dtype, c
        assert got.cols[c].shape == v.shape, c
        assert got.cols[c].tobytes() == v.tobytes(), c  # NaN positions and bits, -0.0
    assert got.statics == ref.statics


def _check(buf: np.ndarray, start: Any, length: Any, fill: Any) -> ad.PayloadBatch:
    ref, got = _both(buf, start, length, fill)
    _same(ref, got)
    return got


class _Spy:
    """Records every batch the NMEA decoder hands `decode_payloads` (compared afterwards: the
    decoder turns an exception inside a chunk into rejects)."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, ...]] = []

    def __call__(self, buf: Any, start: Any, length: Any, fill: Any) -> ad.PayloadBatch:
        self.calls.append((buf.copy(), *(np.array(x, np.int64) for x in (start, length, fill))))
        return ad.decode_payloads_numpy(buf, start, length, fill)


def _batches(data: bytes, chunk: int) -> list[tuple]:
    spy = _Spy()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(ad, "decode_payloads", spy)
        dec = AisNmeaDecoder(Rejects(), source="kernel")
        for i in range(0, len(data), chunk):
            dec.feed(data[i : i + chunk])
        dec.flush()
    return spy.calls


# --- real data ----------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize("name", NMEA_FILES)
def test_real_files_every_chunking(shared_data: Path, name: str) -> None:
    """Every batch the NMEA decoder makes of a real file (single sentences and reassembled
    multi-part messages), in three chunk sizes."""
    data = _read(shared_data / "ais" / name)
    rows = 0
    for chunk in (1 << 22, 65_536, 7_001):
        for call in _batches(data, chunk):
            rows += len(_check(*call).rows)
    assert rows > 0


@pytest.mark.realdata
def test_real_single_sentences_in_one_batch(shared_data: Path) -> None:
    """All files' single-sentence payloads framed with `frame_lines`, as one batch: types
    18 and 19, and short and long type 14, of different files meet in one batch."""
    data = b"".join(_read(shared_data / "ais" / n).rstrip(b"\n") + b"\n" for n in NMEA_FILES)
    buf = np.frombuffer(data, np.uint8)
    ln = al.frame_lines(buf, 1)
    v = np.flatnonzero(ln.kind == al.VDM)
    got = _check(buf, ln.pay_start[v], ln.pay_len[v], ln.fill[v])
    assert len(got.rows) > 30_000 and got.statics
    assert set(np.unique(got.msg_type).tolist()) >= {1, 3, 4, 5, 18, 21, 24}


@functools.cache
def _real_sentences(root: Path) -> list[bytes]:
    out: list[bytes] = []
    for name in NMEA_FILES:
        lines = _read(root / "ais" / name).splitlines()
        out += [x for x in lines if b"VDM," in x or b"VDO," in x][:400]
    return out


def _xor(body: bytes) -> bytes:
    x = 0
    for b in body:
        x ^= b
    return b"%02X" % x


@st.composite
def mutated_sentence(draw: st.DrawFn, root: Path) -> bytes:
    """A real sentence with its payload, fill or commas mangled and its checksum made right
    again (so that the mangled payload reaches the payload decoder), or left wrong."""
    line = draw(st.sampled_from(_real_sentences(root)))
    tag = b""
    if line.startswith(b"\\") and line.count(b"\\") >= 2:
        cut = line.index(b"\\", 1) + 1
        tag, line = line[:cut], line[cut:]
    head, _, rest = line.partition(b"*")
    lead, body = head[:1], head[1:]
    fields = body.split(b",")
    if len(fields) < 7:
        return tag + line
    pay = fields[5]
    how = draw(st.sampled_from(["flip", "cut", "insert", "long", "empty", "fill", "comma", "keep"]))
    if how == "flip" and pay:
        i = draw(st.integers(0, len(pay) - 1))
        b = draw(st.integers(0, 255).filter(lambda c: c != 10))
        pay = pay[:i] + bytes([b]) + pay[i + 1 :]
    elif how == "cut":
        pay = pay[: draw(st.integers(0, len(pay)))]
    elif how == "insert":
        i = draw(st.integers(0, len(pay)))
        junk = draw(st.sampled_from([b",", b"*", b"\\", b"\r", b" ", b"\t", b"!", b"\x80",
                                     b"\xff", b"\xc3\xa9"]))  # fmt: skip
        pay = pay[:i] + junk + pay[i:]
    elif how == "long":
        pay = pay * draw(st.integers(2, 12))
    elif how == "empty":
        pay = b""
    elif how == "fill":
        fields[6] = draw(st.sampled_from([b"0", b"1", b"2", b"4", b"5", b"6", b"7", b"-1", b"",
                                          b"x", b"05"]))  # fmt: skip
    fields[5] = pay
    body = b",".join(fields)
    if how == "comma":
        i = draw(st.integers(0, len(body)))
        body = body[:i] + b"," + body[i:] if draw(st.booleans()) else body.replace(b",", b"", 1)
    checksum = _xor(body) if draw(st.integers(0, 5)) else rest[:2]
    return tag + lead + body + b"*" + checksum + rest[2:]


@pytest.mark.realdata
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_sentences(shared_data: Path, data: st.DataObject) -> None:
    """Real sentences mangled (payload bytes, length, fill, commas; stars, backslashes,
    CR/space/tab and non-ASCII in the payload; blank and very long lines) through the NMEA
    decoder: every batch it hands on decodes the same both ways."""
    lines = data.draw(st.lists(st.one_of(mutated_sentence(shared_data),
                                         st.sampled_from([b"", b" ", b"\r"])),
                               min_size=1, max_size=60))  # fmt: skip
    for call in _batches(b"\n".join(lines) + b"\n", 1 << 20):
        _check(*call)


# --- generated payloads -------------------------------------------------------------------


@st.composite
def message(draw: st.DrawFn) -> tuple[bytes, int]:
    """An armoured payload and its fill: random bits behind a chosen type, of a length near a
    field boundary or anywhere in 0..200, perhaps with invalid characters or a bad first one."""
    t = draw(st.one_of(st.sampled_from(ad.SUPPORTED_TYPES), st.integers(0, 63)))
    fill = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5, -1, 6, 7]))
    if draw(st.booleans()):
        edge = draw(st.sampled_from(BOUNDS))
        n = -(-edge // 6) + draw(st.integers(-1, 1))
    else:
        n = draw(st.integers(0, 200))
    n = max(n, 0)
    six = np.array(draw(st.lists(st.integers(0, 63), min_size=n, max_size=n)), np.uint8)
    if n:
        six[0] = t
    if t == 24 and n > 6:  # part number in bits 38-39: the third and fourth bits of char 6
        part = draw(st.integers(0, 3))
        six[6] = (six[6] & 0b110011) | (part << 2)
    if t == 21 and n > 27 and draw(st.booleans()):  # last name character non-pad: extension
        six[26] |= 1
    chars = bytearray(ARMOR[six].tobytes())
    for _ in range(draw(st.integers(0, 3)) if n and draw(st.booleans()) else 0):
        chars[draw(st.integers(0, n - 1))] = draw(st.sampled_from(INVALID_CHARS))
    return bytes(chars), fill


@st.composite
def batch(draw: st.DrawFn) -> tuple[np.ndarray, list[int], list[int], list[int]]:
    """Messages in one buffer, with junk between them; sometimes the buffer's end is cut so
    that the last payloads run past it (the NumPy form reads the last byte there)."""
    msgs = draw(st.lists(message(), min_size=1, max_size=40))
    buf = bytearray()
    start, length, fill = [], [], []
    for chars, f in msgs:
        buf += draw(st.binary(max_size=3))
        start.append(len(buf))
        length.append(len(chars))
        fill.append(f)
        buf += chars
    cut = draw(st.integers(0, 8)) if draw(st.integers(0, 4)) == 0 else 0
    if len(buf) - cut > 0:
        del buf[len(buf) - cut :]
    if not buf:
        buf += b"0"
    return np.frombuffer(bytes(buf), np.uint8), start, length, fill


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch())
def test_generated_batches(b: tuple[np.ndarray, list[int], list[int], list[int]]) -> None:
    _check(*b)


BOUNDS_ANY = st.tuples(st.integers(-5, 320), st.integers(-3, 120), st.integers(-2, 8))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.lists(BOUNDS_ANY, min_size=1, max_size=30))
def test_arbitrary_bytes_and_bounds(data: bytes, msgs: list[tuple[int, int, int]]) -> None:
    """Any bytes, any (start, length, fill), starts outside the buffer included."""
    buf = np.frombuffer(data or b"\x00", np.uint8)
    start, length, fill = zip(*msgs, strict=True)
    _check(buf, start, length, fill)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 2), min_size=2, max_size=20), st.data())
def test_class_b_batches_with_and_without_type_19(kinds: list[int], data: st.DataObject) -> None:
    """Types 18 and 19 share one read width, chosen by the batch: a type 18 with invalid
    armour at characters 23..51 is bad only if the batch holds a full-length type 19."""
    payloads = []
    for k in kinds:
        t = 19 if k == 2 else 18
        n = data.draw(st.sampled_from([28, 51, 52, 53, 60]))
        six = np.array(data.draw(st.lists(st.integers(0, 63), min_size=n, max_size=n)), np.uint8)
        six[0] = t
        chars = bytearray(ARMOR[six].tobytes())
        if k == 1:
            chars[data.draw(st.integers(23, n - 1))] = ord("!")
        payloads.append(bytes(chars))
    buf = np.frombuffer(b"".join(payloads), np.uint8)
    length = [len(p) for p in payloads]
    _check(buf, np.cumsum([0, *length[:-1]]), length, [0] * len(payloads))


def _payload(six: list[int]) -> bytes:
    return ARMOR[np.array(six, np.uint8)].tobytes()


def test_type_18_quirk_depends_on_a_type_19() -> None:
    """The NumPy form's batch-wide 18/19 read width, reproduced on purpose."""
    b18 = bytearray(_payload([18] + [1] * 39))
    b18[29] = ord("!")  # read only when the batch reads 312 bits (52 characters)
    b19 = _payload([19] + [1] * 52)
    alone = _check(np.frombuffer(bytes(b18), np.uint8), [0], [40], [0])
    assert alone.status.tolist() == [ad.OK]
    buf = np.frombuffer(bytes(b18) + b19, np.uint8)
    mixed = _check(buf, [0, 40], [40, 53], [0, 0])
    assert mixed.status.tolist() == [ad.BAD_PAYLOAD, ad.OK]
    short19 = _check(buf, [0, 40], [40, 51], [0, 0])  # a short 19 does not widen the read
    assert short19.status.tolist() == [ad.OK, ad.TRUNCATED]


def test_type_14_width_from_the_longest() -> None:
    """Type 14 texts are read to the batch's longest: invalid armour in a short message's
    fill character is seen only when a longer one is in the batch."""
    short = bytearray(_payload([14] + [1] * 9))
    short[-1] = ord("!")
    long_ = _payload([14] + [5] * 40)
    for fill in (0, 4):
        _check(np.frombuffer(bytes(short), np.uint8), [0], [10], [fill])
        _check(np.frombuffer(bytes(short) + long_, np.uint8), [0, 10], [10, 41], [fill, 0])


def test_type_24_parts() -> None:
    msgs = []
    for part in range(4):
        for n in (26, 27, 28, 30):
            six = [24] + [9] * (n - 1)
            six[6] = (six[6] & 0b110011) | (part << 2)
            msgs.append(_payload(six))
    bad = bytearray(msgs[-1])
    bad[5] = ord("x")  # invalid armour: bad before its unknown part is looked at
    msgs.append(bytes(bad))
    length = [len(m) for m in msgs]
    got = _check(np.frombuffer(b"".join(msgs), np.uint8), np.cumsum([0, *length[:-1]]), length,
                 [0, 2, 4] * 5 + [0, 0])  # fmt: skip
    assert set(got.status.tolist()) == {ad.OK, ad.TRUNCATED, ad.UNSUPPORTED, ad.BAD_PAYLOAD}


def test_every_type_and_fill() -> None:
    msgs, fills = [], []
    for t in range(64):
        for n in (6, 7, 17, 28, 46, 52, 60, 71, 75):
            for f in (-1, 0, 3, 5, 6):
                msgs.append(_payload([t] + [(7 * t + j) % 64 for j in range(1, n)]))
                fills.append(f)
    length = [len(m) for m in msgs]
    got = _check(np.frombuffer(b"".join(msgs), np.uint8), np.cumsum([0, *length[:-1]]), length,
                 fills)  # fmt: skip
    assert len(got.rows) > 100 and got.statics


# --- dispatch -----------------------------------------------------------------------------


def _many(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = b"13:BuN001=15mQFOjcOBG1p800SK"
    buf = np.frombuffer(p * n, np.uint8)
    return buf, np.arange(n) * len(p), np.full(n, len(p)), np.zeros(n, np.int64)


def test_large_batches_take_the_compiled_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = ad.decode_payloads_compiled

    def spy(*a: Any, **k: Any) -> ad.PayloadBatch:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(ad, "decode_payloads_compiled", spy)
    monkeypatch.setattr(ad, "_BROKEN", [])
    ad.decode_payloads(*_many(ad.KERNEL_MESSAGES - 1))
    assert not calls
    got = ad.decode_payloads(*_many(ad.KERNEL_MESSAGES))
    assert calls and len(got.rows) == ad.KERNEL_MESSAGES


def test_a_failing_loop_falls_back_once(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from picket.codec import ais_decode_kernel

    calls = []

    def broken(*a: Any) -> Any:
        calls.append(1)
        raise RuntimeError("no LLVM today")

    monkeypatch.setattr(ais_decode_kernel, "decode", broken)
    monkeypatch.setattr(ad, "_BROKEN", [])
    args = _many(ad.KERNEL_MESSAGES)
    with caplog.at_level(logging.ERROR):
        a = ad.decode_payloads(*args)
        b = ad.decode_payloads(*args)
    _same(ad.decode_payloads_numpy(*args), a)
    _same(a, b)
    assert len(calls) == 1 and ad._BROKEN
    assert sum("NumPy form from now on" in r.message for r in caplog.records) == 1


def test_a_failing_numba_import_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise OSError("libllvmlite.so: cannot open shared object file")

    monkeypatch.setattr(ad, "_kernel", broken)
    monkeypatch.setattr(ad, "_BROKEN", [])
    args = _many(ad.KERNEL_MESSAGES)
    _same(ad.decode_payloads_numpy(*args), ad.decode_payloads(*args))
    assert ad._BROKEN


def test_small_batches_load_no_numba() -> None:
    code = ("import sys, numpy as np; from picket.codec.ais_decode import decode_payloads; "
            "p = b'13:BuN001=15mQFOjcOBG1p800SK' * 3; "
            "r = decode_payloads(np.frombuffer(p, np.uint8), np.array([0, 28, 56]), "
            "np.array([28, 28, 28]), np.zeros(3, np.int64)); assert len(r.rows) == 3; "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numba', 'llvmlite')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"
