"""Cursor on Target in: events built by pytak (the TAK ecosystem's Python client) and
takproto, as XML, TAK stream frames and mesh datagrams, through picket's decoder and a
live TCP source; picket's own echoed events and hostile XML are counted, never fused."""

from __future__ import annotations

import socket
import threading
import time
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from picket.config import Config, SourceConfig
from picket.model.rejects import Rejects
from picket.model.reports import Domain
from picket.model.subjects import format_subject, parse_subject
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.share import tak
from picket.sources.cot_in import cot_key
from picket.sources.registry import get_format

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytak warns that aiohttp is missing: not used here
    import pytak
import takproto

MARKERS = [  # uid, CoT type, lat, lon, callsign, picket domain
    ("ANDROID-ab12", "a-f-G-U-C", 55.61, 12.65, "ALPHA-1", Domain.NONE),
    ("HELO-7", "a-f-A-M-H", 55.70, 12.40, "RESCUE 7", Domain.AIR),
    ("BOAT-3", "a-h-S", 55.40, 13.10, "SUSPECT BOAT", Domain.MARITIME),
]


def xml_events() -> list[bytes]:
    out = []
    for uid, typ, lat, lon, cs, _ in MARKERS:
        el = pytak.gen_cot_xml(lat=lat, lon=lon, uid=uid, cot_type=typ, stale=120, callsign=cs)
        out.append(ET.tostring(el))
    return out


def decode(data: bytes, chunk: int | None = None, source: str = "tak"):
    rej = Rejects()
    dec = get_format("cot").decoder(rej, source)
    outs = [dec.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)] if chunk else [
        dec.feed(data)]  # fmt: skip
    outs.append(dec.flush())
    reps = [o.reports for o in outs if len(o.reports)]
    statics = [s for o in outs for s in o.statics]
    return reps, statics, rej


def _check(reps, statics) -> None:
    lat = np.concatenate([r.lat for r in reps])
    subj = np.concatenate([r.subject for r in reps])
    dom = np.concatenate([r.domain for r in reps])
    assert len(lat) == len(MARKERS)
    for (uid, _, la, _, cs, d), s, y, dd in zip(MARKERS, subj, lat, dom, strict=True):
        assert s == cot_key(uid) and parse_subject(format_subject(int(s))) == s
        assert y == pytest.approx(la) and dd == d
        assert any(x.subject == s and x.fields["callsign"] == cs and x.fields["uid"] == uid
                   for x in statics)  # fmt: skip


def test_xml_events_from_pytak():
    reps, statics, rej = decode(b"\n".join(xml_events()))
    assert rej.rejected == 0 and rej.accepted == len(MARKERS)
    _check(reps, statics)


def test_tak_protocol_stream_and_mesh_give_the_same():
    protos = [bytes(takproto.xml2proto(x)) for x in xml_events()]
    reps, statics, rej = decode(b"".join(tak.stream(p) for p in protos))
    assert rej.rejected == 0
    _check(reps, statics)
    for p, (uid, *_rest) in zip(protos, MARKERS, strict=True):  # one datagram each
        r, _, rej = decode(tak.mesh(p) + b"\n")  # a UDP source ends datagrams with a newline
        assert rej.rejected == 0 and r[0].subject[0] == cot_key(uid)


@settings(max_examples=40, deadline=None)
@given(chunk=st.integers(1, 400), proto=st.booleans())
def test_same_events_whatever_the_chunking(chunk, proto):
    ev = xml_events()
    data = (b"".join(tak.stream(bytes(takproto.xml2proto(x))) for x in ev) if proto
            else b"<?xml version='1.0'?>\n" + b"\n".join(ev))  # fmt: skip
    reps, statics, rej = decode(data, chunk)
    assert rej.rejected == 0
    _check(reps, statics)


def test_own_echo_shapes_and_hostile_input_are_counted():
    from picket.model.subjects import Namespace, key
    from picket.share.cot import uid_of

    own = ET.tostring(pytak.gen_cot_xml(lat=55.0, lon=12.0, uid=uid_of(int(key(Namespace.MMSI,
                                        219000001))), cot_type="a-n-S"))  # fmt: skip
    shape = (b'<event version="2.0" uid="zone-1" type="u-d-f" time="2026-01-01T00:00:00Z" '
             b'start="2026-01-01T00:00:00Z" stale="2026-01-02T00:00:00Z" how="h-e">'
             b'<point lat="55.5" lon="12.5" hae="0" ce="9999999" le="9999999"/><detail>'
             b'<link point="55.0,12.0"/><link point="55.0,13.0"/><link point="56.0,12.5"/>'
             b"</detail></event>")  # fmt: skip
    bomb = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<event uid="x" type="a-f-G" time="2026-01-01T00:00:00Z"><point lat="&b;" '
            b'lon="1"/></event>')  # fmt: skip
    long = b'<event uid="y" type="a-f-G">' + b"x" * 70_000 + b"</event>"
    bad_time = b'<event uid="z" type="a-f-G" time="yesterday"><point lat="1" lon="2"/></event>'
    reps, statics, rej = decode(b"\n".join([own, shape, bomb, long, bad_time, b"junk"]))
    assert not reps
    assert rej.unused["cot.own_echo"] == 1 and rej.unused["cot.shape"] == 1
    assert [s.fields["shape"] for s in statics] == [[[55.0, 12.0], [55.0, 13.0], [56.0, 12.5]]]
    assert rej.counts["cot.doctype"] == 1 and rej.counts["cot.bad_xml"] == 1  # &b; unexpanded
    assert rej.counts["cot.event_too_long"] == 1
    assert rej.counts["cot.bad_time"] == 1 and rej.counts["cot.garbage"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_tcp_source_from_a_tak_client(tmp_path):
    port = _free_port()
    src = SourceConfig(name="atak", format="cot", listen_tcp=f"127.0.0.1:{port}")
    asm = assemble(Config(store_path=None), console=False, store=False)
    stop = threading.Event()
    logs: list[str] = []
    th = threading.Thread(target=run_live, args=(asm, [src], tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": logs.append,
                                  "max_seconds": 20}, daemon=True)  # fmt: skip
    th.start()
    deadline = time.monotonic() + 10
    while not any("listening" in x for x in logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    with socket.create_connection(("127.0.0.1", port)) as c:  # as pytak's TCP client sends
        for x in xml_events():
            c.sendall(x)
    keys = {cot_key(m[0]) for m in MARKERS}
    t = asm.pipeline.tracks
    while time.monotonic() < deadline + 5:
        got = {int(s) for s in t.cols["subject"][: len(t)]}
        if keys <= got:
            break
        time.sleep(0.1)
    stop.set()
    th.join(timeout=10)
    assert keys <= {int(s) for s in t.cols["subject"][: len(t)]}
    assert {t.statics[k]["callsign"] for k in keys} == {m[4] for m in MARKERS}


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=600), chunk=st.integers(1, 64))
def test_any_bytes_are_decoded_or_counted(data, chunk):
    prefix = data[:1]
    for blob in (data, b"<event" + data, bytes([0xBF]) + data, b"\xbf\x01\xbf" + data):
        reps, _, rej = decode(blob, chunk)
        assert rej.counts.get("cot.internal_error", 0) == 0, prefix
        n = sum(len(r) for r in reps)
        assert n == rej.accepted
