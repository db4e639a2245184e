"""Shapes drawn in ATAK become zones: polygons (u-d-f), rectangles (u-d-r) and circles
(u-d-c-c) sent with a uid under the configured prefix, as XML or TAK protocol frames, over
a real TCP connection to `picket run`'s live loop. The zone is the one the detectors use:
a hostile aircraft flying into it raises `air.airspace_entry`. A resend replaces it, a
CoT delete or its stale time removes it, and drawings under other uids stay drawings."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import UTC, datetime

import numpy as np
import pytest
import takproto

from picket.config import Config, SourceConfig
from picket.model.rejects import Rejects
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.share import tak
from picket.sources.cot_in import cot_key
from picket.sources.registry import get_format
from tests.test_live import free_port

PREFIX = "picket-zone-"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shape(uid: str, typ: str, t: float, stale_s: float, points=(), circle=None,
          name: str = "") -> bytes:  # fmt: skip
    """A drawing as ATAK sends it: corner or vertex links, or a shape/ellipse at the point."""
    lat, lon = circle[:2] if circle else points[0]
    det = "".join(f'<link point="{a},{b},0" />' for a, b in points)
    if circle:
        det += (f'<shape><ellipse major="{circle[2]}" minor="{circle[2]}" angle="360"/></shape>'
                '<link uid="ANDROID-ops" relation="p-p" type="a-f-G-U-C"/>')  # fmt: skip
    if name:
        det += f'<contact callsign="{name}"/>'
    return (f'<event version="2.0" uid="{uid}" type="{typ}" how="h-e" time="{iso(t)}" '
            f'start="{iso(t)}" stale="{iso(t + stale_s)}"><point lat="{lat}" lon="{lon}" '
            f'hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail>{det}</detail>'
            "</event>").encode()  # fmt: skip


def delete(uid: str, t: float) -> bytes:
    return (f'<event version="2.0" uid="del-{uid}" type="t-x-d-d" how="h-g-i-g-o" '
            f'time="{iso(t)}" start="{iso(t)}" stale="{iso(t + 20)}"><point lat="0" lon="0" '
            f'hae="0" ce="9999999" le="9999999"/><detail><link uid="{uid}" relation="none" '
            'type="none"/><__forcedelete/></detail></event>').encode()  # fmt: skip


def aircraft(uid: str, t: float, lat: float, lon: float) -> bytes:
    return (f'<event version="2.0" uid="{uid}" type="a-h-A-M-F" how="m-g" time="{iso(t)}" '
            f'start="{iso(t)}" stale="{iso(t + 60)}"><point lat="{lat}" lon="{lon}" '
            f'hae="3000" ce="20" le="20"/><detail><track speed="100" course="90"/>'
            '<contact callsign="BANDIT 1"/></detail></event>').encode()  # fmt: skip


BOX = [(55.60, 12.50), (55.60, 12.70), (55.70, 12.70), (55.70, 12.50)]


# the decoder ------------------------------------------------------------------------------
def _statics(data: bytes):
    rej = Rejects()
    dec = get_format("cot").decoder(rej, "tak")
    out = [dec.feed(data), dec.flush()]
    return [s for o in out for s in o.statics], rej


def test_polygon_rectangle_circle_and_delete_decoded_from_xml_and_tak_frames():
    t = time.time()
    events = [shape(PREFIX + "p", "u-d-f", t, 600, BOX, name="Area P"),
              shape(PREFIX + "r", "u-d-r", t, 600, BOX),
              shape(PREFIX + "c", "u-d-c-c", t, 600, circle=(55.6, 12.6, 2000.0)),
              delete(PREFIX + "p", t)]  # fmt: skip
    for data in (b"".join(events), b"".join(tak.stream(bytes(takproto.xml2proto(e)))
                                            for e in events)):  # fmt: skip
        st, rej = _statics(data)
        assert rej.rejected == 0 and [s.fields["uid"] for s in st] == [
            PREFIX + x for x in "prcp"]  # fmt: skip
        p, r, c, d = st
        assert p.fields["shape"] == [[a, b] for a, b in BOX] and p.fields["callsign"] == "Area P"
        assert p.fields["stale"] == pytest.approx(t + 600, abs=1e-3)
        assert r.fields["cot_type"] == "u-d-r" and len(r.fields["shape"]) == 4
        ring = np.array(c.fields["shape"])
        # a 2 km radius: every vertex 2 km from the centre (flat Earth, 1e-3 relative)
        dn = np.radians(ring[:, 0] - 55.6) * 6_371_008.8
        de = np.radians(ring[:, 1] - 12.6) * 6_371_008.8 * np.cos(np.radians(55.6))
        assert np.hypot(dn, de) == pytest.approx(2000.0, rel=1e-3) and len(ring) == 72
        assert d.fields == {"uid": PREFIX + "p", "cot_type": "t-x-d-d", "delete": True}
        assert d.subject == cot_key(PREFIX + "p")
        assert rej.unused["cot.delete"] == 1 and rej.unused["cot.shape"] == 3


def test_unusable_circles_are_counted():
    t = time.time()
    for r in ("0", "-5", "5e7", "nan"):
        ev = shape(PREFIX + "c", "u-d-c-c", t, 60, circle=(55.6, 12.6, r))
        st, rej = _statics(ev)
        assert not st and rej.counts["cot.bad_shape"] == 1, r


# end to end ---------------------------------------------------------------------------------
class LiveCot:
    """`run_live` with a CoT listener whose shapes under PREFIX become zones."""

    def __init__(self, tmp_path) -> None:
        self.port = free_port()
        self.alerts = tmp_path / "alerts.jsonl"
        src = SourceConfig(name="tak", format="cot", listen_tcp=f"127.0.0.1:{self.port}",
                           zone_prefix=PREFIX)  # fmt: skip
        self.asm = assemble(Config(store_path=None), console=False, store=False,
                            alerts_out=self.alerts)  # fmt: skip
        self.stop = threading.Event()
        logs: list[str] = []
        self.th = threading.Thread(target=run_live, args=(self.asm, [src], tmp_path),
                                   kwargs={"batch_s": 0.2, "stop": self.stop, "log": logs.append,
                                           "max_seconds": 60}, daemon=True)  # fmt: skip
        self.th.start()
        deadline = time.monotonic() + 10
        while not any("listening" in x for x in logs) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.conn = socket.create_connection(("127.0.0.1", self.port))

    def send(self, *events: bytes) -> None:
        self.conn.sendall(b"".join(events))

    def zones(self) -> dict[str, object]:
        z = self.asm.pipeline.world.zones
        if z is None:
            return {}
        return {f.properties.get("id"): f for f in z.features}

    def wait(self, cond, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(0.05)
        return cond()

    def close(self) -> list[dict]:
        self.conn.close()
        self.stop.set()
        self.th.join(timeout=15)
        return [json.loads(x) for x in self.alerts.read_text().splitlines()] if (
            self.alerts.exists()) else []  # fmt: skip


def test_a_drawn_zone_is_watched_replaced_and_deleted(tmp_path):
    live = LiveCot(tmp_path)
    now = time.time()
    try:
        # a drawing under another uid stays a drawing; the prefixed one becomes a zone
        live.send(shape("ANDROID-drawing-7", "u-d-f", now - 200, 3600, BOX),
                  shape(PREFIX + "alpha", "u-d-f", now - 200, 3600, BOX, name="Range Alpha"))
        assert live.wait(lambda: PREFIX + "alpha" in live.zones())
        assert set(live.zones()) == {PREFIX + "alpha"}
        z = live.zones()[PREFIX + "alpha"]
        assert z.name == "Range Alpha" and z.kind == "restricted"
        # a hostile aircraft flies east into it: 1 km every 10 s from 12.30 E
        t0 = now - 180
        step = 1000.0 / (111_320.0 * np.cos(np.radians(55.65)))
        live.send(*[aircraft("BANDIT-1", t0 + 10 * k, 55.65, 12.30 + step * k)
                    for k in range(20)])  # fmt: skip
        subj = cot_key("BANDIT-1")
        t = live.asm.pipeline.tracks
        assert live.wait(lambda: t.slot(subj) is not None and t.cols["n_reports"][
            t.slot(subj)] >= 20)  # fmt: skip
        # resent with the same uid, moved north: replaced, still one zone
        moved = [(a + 0.5, b) for a, b in BOX]
        live.send(shape(PREFIX + "alpha", "u-d-f", now - 100, 3600, moved, name="Range Alpha"))
        assert live.wait(lambda: live.zones()[PREFIX + "alpha"].geometry.bounds[1] > 56.0)
        assert len(live.zones()) == 1
        # a circle as a TAK protocol frame, then a CoT delete of the polygon
        circ = shape(PREFIX + "circle", "u-d-c-c", now - 90, 3600, circle=(55.0, 13.0, 1500))
        live.send(tak.stream(bytes(takproto.xml2proto(circ))))
        assert live.wait(lambda: PREFIX + "circle" in live.zones())
        live.send(delete(PREFIX + "alpha", now - 80))
        assert live.wait(lambda: PREFIX + "alpha" not in live.zones())
        # a shape whose stale time passes goes by itself
        tb = time.time()
        live.send(shape(PREFIX + "brief", "u-d-r", tb - 1, 6.0, BOX))  # stale in 5 s
        assert live.wait(lambda: PREFIX + "brief" in live.zones())
        assert live.wait(lambda: PREFIX + "brief" not in live.zones())
        assert time.time() >= tb + 5
        assert set(live.zones()) == {PREFIX + "circle"}
    finally:
        alerts = live.close()
    entry = [a for a in alerts if a.get("kind") == "air.airspace_entry"
             and "entered" in a.get("summary", "")]  # fmt: skip
    assert len(entry) == 1, [a.get("kind") for a in alerts]
    assert "Range Alpha" in entry[0]["summary"]


def test_served_picture_shows_the_drawn_zone(tmp_path):
    """With the picture served (`picket run`), a drawn zone goes through the server's own
    zone editor: the map's zones layer lists it next to the pipeline's use of it."""
    import urllib.request

    from picket.serve import serve_assembly

    port = free_port()
    asm = assemble(Config(store_path=None), console=False, store=False)
    handle = serve_assembly(asm, port=free_port())
    src = SourceConfig(name="tak", format="cot", listen_tcp=f"127.0.0.1:{port}",
                       zone_prefix=PREFIX)  # fmt: skip
    stop = threading.Event()
    th = threading.Thread(target=run_live, args=(asm, [src], tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": lambda m: None,
                                  "max_seconds": 60}, daemon=True)  # fmt: skip
    th.start()

    def layer() -> set[str]:
        with urllib.request.urlopen(f"{handle.url}/api/layers/zones", timeout=5) as r:
            return {f["properties"]["id"] for f in json.load(r)["features"]}

    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                c = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.1)
        with c:
            c.sendall(shape(PREFIX + "bravo", "u-d-r", time.time() - 5, 3600, BOX))
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and PREFIX + "bravo" not in layer():
                time.sleep(0.1)
        assert layer() == {PREFIX + "bravo"}
        z = asm.pipeline.world.zones
        assert z is not None and [f.properties["id"] for f in z.features] == [PREFIX + "bravo"]
    finally:
        stop.set()
        th.join(timeout=15)
        handle.stop()
