"""aisstream.io over WebSocket against a local server that behaves as aisstream does: it
closes a connection that has not subscribed within 3 s, answers a wrong key with an
error, and sends only messages inside the subscribed boxes. Its messages are built from
a real AIS recording decoded with pyais (the reference decoder), so positions and
identities can be compared field by field with what picket keeps."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from picket.config import SourceConfig
from picket.model.rejects import Rejects
from picket.model.subjects import Namespace, key
from picket.sources.aisstream import parse_time_utc
from picket.sources.registry import get_format
from tests.test_cot_in_tls import Live

pyais = pytest.importorskip("pyais", reason="pyais (MIT) is the reference AIS decoder")
from pyais.stream import FileReaderStream  # noqa: E402
from websockets.sync.server import serve  # noqa: E402

KEY = "test-key-0123456789abcdef"
BOXES = [[160.0, -50.0, 180.0, -30.0], [0.0, -15.0, 20.0, 5.0]]  # off New Zealand, Guinea
POS = {1: "PositionReport", 2: "PositionReport", 3: "PositionReport",
       18: "StandardClassBPositionReport"}  # fmt: skip


def _go_time(t: float) -> str:
    """aisstream's `time_utc`: Go's time.Time text."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + " +0000 UTC"


def messages(path) -> list[dict]:
    """Position reports (1-3, 18) and ship static data (5) as aisstream sends them."""
    out = []
    for m in FileReaderStream(str(path)):
        d = m.decode()
        tb = m.tag_block
        if tb is None:
            continue
        tb.init()
        t = float(tb.receiver_timestamp)
        meta = {"MMSI": d.mmsi, "ShipName": "", "time_utc": _go_time(t)}
        if d.msg_type in POS:
            kind = POS[d.msg_type]
            body = {"UserID": d.mmsi, "MessageID": d.msg_type, "Latitude": d.lat,
                    "Longitude": d.lon, "Sog": d.speed, "Cog": d.course,
                    "TrueHeading": d.heading, "PositionAccuracy": bool(d.accuracy),
                    "Valid": True}  # fmt: skip
            if d.msg_type != 18:
                body["NavigationalStatus"] = int(d.status)
            meta.update(latitude=d.lat, longitude=d.lon)
        elif d.msg_type == 5:
            kind = "ShipStaticData"
            body = {"UserID": d.mmsi, "MessageID": 5, "Name": d.shipname + "@@@",
                    "CallSign": d.callsign, "ImoNumber": d.imo, "Type": int(d.ship_type),
                    "Destination": d.destination, "MaximumStaticDraught": d.draught,
                    "Dimension": {"A": d.to_bow, "B": d.to_stern, "C": d.to_port,
                                  "D": d.to_starboard},
                    "Eta": {"Month": d.month, "Day": d.day, "Hour": d.hour,
                            "Minute": d.minute}, "Valid": True}  # fmt: skip
        else:
            continue
        out.append({"MessageType": kind, "MetaData": meta, "Message": {kind: body}})
    return out


def inside(msg: dict, boxes) -> bool:
    """aisstream's rule as the fake applies it: a position inside a box ([[lat, lon] x2])."""
    m = msg["MetaData"]
    if "latitude" not in m:
        return True  # statics: sent for vessels aisstream places in a box (all here)
    for (s, w), (n, e) in boxes:
        if min(s, n) <= m["latitude"] <= max(s, n) and min(w, e) <= m["longitude"] <= max(w, e):
            return True
    return False


class FakeAisStream:
    def __init__(self, msgs: list[dict]) -> None:
        self.msgs, self.subs, self.sent, self.refused = msgs, [], 0, 0
        self.srv = serve(self.handle, "127.0.0.1", 0)
        self.port = self.srv.socket.getsockname()[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def handle(self, ws) -> None:
        try:
            sub = json.loads(ws.recv(timeout=3))  # aisstream: subscribe within 3 s
        except (TimeoutError, ValueError):
            self.refused += 1
            return
        self.subs.append(sub)
        if sub.get("APIKey") != KEY or not isinstance(sub.get("BoundingBoxes"), list):
            self.refused += 1
            ws.send(json.dumps({"error": "Api Key Is Not Valid"}))
            return
        for m in self.msgs:
            if inside(m, sub["BoundingBoxes"]):
                ws.send(json.dumps(m).encode())  # aisstream sends binary frames
                self.sent += 1
        with contextlib.suppress(Exception):  # closed by the client, or the time is up
            ws.recv(timeout=30)  # hold the connection until the client closes it

    def close(self) -> None:
        self.srv.shutdown()


@pytest.fixture(scope="module")
def ais_msgs(shared_data):
    return messages(shared_data / "ais" / "aisdb_global_20211101_1min.nm4")


@pytest.mark.realdata
def test_subscribed_stream_matches_pyais(ais_msgs, tmp_path, monkeypatch):
    fake = FakeAisStream(ais_msgs)
    monkeypatch.setenv("AISSTREAM_API_KEY", KEY)
    src = SourceConfig(name="ais", pull="aisstream", url=f"ws://127.0.0.1:{fake.port}",
                       bbox=BOXES)  # fmt: skip
    live = Live(tmp_path, src, word="subscribed")
    sent = [m for m in ais_msgs if inside(m, [[[s, w], [n, e]] for w, s, e, n in BOXES])]
    pos = [m for m in sent if m["MessageType"] in POS.values()]
    want = {int(key(Namespace.MMSI, m["MetaData"]["MMSI"])) for m in pos}
    try:
        assert 100 < len(pos) < len([m for m in ais_msgs if "latitude" in m["MetaData"]])
        assert live.wait(lambda: fake.sent == len(sent) and live.asm.rejects.accepted
                         == len(sent), 30)  # fmt: skip
    finally:
        s = live.close()
        fake.close()
    assert fake.subs == [{"APIKey": KEY, "BoundingBoxes": [[[-50.0, 160.0], [-30.0, 180.0]],
                                                           [[-15.0, 0.0], [5.0, 20.0]]]}]
    assert s["connections"] == 1 and s["poll_errors"] == 0, s
    assert want <= live.subjects()
    t = live.asm.pipeline.tracks
    last = {}
    for m in pos:
        b = m["Message"][m["MessageType"]]
        last[int(key(Namespace.MMSI, b["UserID"]))] = m
    for subj, m in list(last.items())[:50]:  # the newest fix of each vessel, as pyais read it
        b, slot = m["Message"][m["MessageType"]], t.slot(subj)
        if t.cols["pos_time"][slot] == pytest.approx(parse_time_utc(m["MetaData"]["time_utc"])):
            assert t.cols["lat"][slot] == pytest.approx(b["Latitude"], abs=1e-6)
            assert t.cols["lon"][slot] == pytest.approx(b["Longitude"], abs=1e-6)
    statics = [m for m in sent if m["MessageType"] == "ShipStaticData"]
    assert statics
    for m in statics:
        b = m["Message"]["ShipStaticData"]
        st = t.statics.get(int(key(Namespace.MMSI, b["UserID"])), {})
        if st:  # statics of vessels that have a track
            assert st["name"] == b["Name"].rstrip("@").strip()
            assert st.get("imo") == (b["ImoNumber"] or None)


def test_a_wrong_key_is_refused_by_the_server_and_counted(tmp_path, monkeypatch):
    fake = FakeAisStream([])
    monkeypatch.setenv("AISSTREAM_API_KEY", "not-the-key")
    src = SourceConfig(name="ais", pull="aisstream", url=f"ws://127.0.0.1:{fake.port}",
                       bbox=BOXES[0])  # fmt: skip
    live = Live(tmp_path, src, word="subscribed")
    try:
        assert live.wait(lambda: live.stats.get("sources", {}).get("ais", {})
                         .get("poll_errors", 0) >= 1)  # fmt: skip
    finally:
        s = live.close()
        fake.close()
    assert fake.refused >= 1 and len(live.subjects()) == 0, s


def test_no_key_in_the_environment_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("AISSTREAM_API_KEY", raising=False)
    src = SourceConfig(name="ais", pull="aisstream", url="ws://127.0.0.1:9", bbox=BOXES[0])
    live = Live(tmp_path, src, word="AISSTREAM_API_KEY")
    s = live.close()
    assert s["poll_errors"] == 1 and s["connections"] == 0


def test_decoder_counts_what_it_cannot_use():
    good = {"MessageType": "PositionReport", "MetaData": {"time_utc": _go_time(1.7e9)},
            "Message": {"PositionReport": {"UserID": 219000001, "Latitude": 91,
                                           "Longitude": 181, "Sog": 102.3, "Cog": 360,
                                           "TrueHeading": 511}}}  # fmt: skip
    other = {"MessageType": "BaseStationReport", "MetaData": {"time_utc": _go_time(1.7e9)},
             "Message": {"BaseStationReport": {"UserID": 2190000}}}  # fmt: skip
    data = b"\n".join([json.dumps(good).encode(), json.dumps(other).encode(), b"[1, 2]",
                       b"{not json", json.dumps({**good, "MetaData": {}}).encode()]) + b"\n"
    rej = Rejects()
    dec = get_format("aisstream").decoder(rej, "ais")
    out = [dec.feed(data[i : i + 7]) for i in range(0, len(data), 7)] + [dec.flush()]
    r = [o.reports for o in out if len(o.reports)]
    assert len(r) == 1 and len(r[0]) == 1
    assert np.isnan([r[0].lat[0], r[0].lon[0], r[0].speed[0], r[0].course[0],
                     r[0].heading[0]]).all()  # "not available" codes are missing
    assert rej.accepted == 1 and rej.unused["aisstream.BaseStationReport"] == 1
    assert rej.counts["aisstream.bad_message"] == 2 and rej.counts["aisstream.bad_json"] == 1


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), chunk=st.integers(1, 64))
def test_any_bytes_are_decoded_or_counted(data, chunk):
    for blob in (data, b'{"MessageType":"PositionReport","MetaData":' + data, data + b"\n"):
        rej = Rejects()
        dec = get_format("aisstream").decoder(rej, "ais")
        out = [dec.feed(blob[i : i + chunk]) for i in range(0, len(blob), chunk)]
        out.append(dec.flush())
        assert rej.counts.get("aisstream.internal_error", 0) == 0
        assert sum(len(o.reports) for o in out) <= rej.accepted


@pytest.mark.realdata
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunk=st.integers(1, 3000))
def test_same_output_whatever_the_chunking(ais_msgs, chunk):
    data = b"".join(json.dumps(m).encode() + b"\n" for m in ais_msgs[:200])

    def run(step):
        rej = Rejects()
        dec = get_format("aisstream").decoder(rej, "ais")
        out = [dec.feed(data[i : i + step]) for i in range(0, len(data), step)] + [dec.flush()]
        lat = np.concatenate([o.reports.lat for o in out if len(o.reports)])
        return lat, [s.fields for o in out for s in o.statics], rej.accepted

    a, b = run(len(data)), run(chunk)
    assert np.array_equal(a[0], b[0], equal_nan=True) and a[1] == b[1] and a[2] == b[2] == 200
