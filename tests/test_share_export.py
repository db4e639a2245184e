"""GeoJSON/KML/KMZ export and alert webhooks, on known inputs and a real local HTTP server."""

import io
import json
import threading
import typing
import xml.etree.ElementTree as ET
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from picket.model.alerts import Alert
from picket.model.subjects import Namespace, key
from picket.share.export import export_picture, picture_from_points
from picket.share.webhook import WebhookSink

KML = "{http://www.opengis.net/kml/2.2}"
T = "2025-01-15T10:00:00.000Z"
ZONES = {"type": "FeatureCollection", "features": [{"type": "Feature",
         "properties": {"name": "Box", "kind": "airspace"},
         "geometry": {"type": "Polygon", "coordinates": [[[10, 54], [11, 54], [11, 55], [10, 54]]]}}]}  # fmt: skip  # noqa: E501
ALERTS = [{"id": "x1", "kind": "maritime.ais_gap", "severity": "warning", "time": T,
           "last_time": T, "status": "open", "domain": "maritime",
           "subject": "mmsi:211000001", "summary": "gap <&>", "lat": 55.0, "lon": 14.0},
          {"id": "x2", "kind": "gnss.interference", "severity": "info", "time": T,
           "last_time": None, "status": "open", "domain": "em", "subject": "h3:abc", "summary": "",
           "lat": None, "lon": None}]  # fmt: skip


def points():
    s1, s2 = key(Namespace.MMSI, 211000001), key(Namespace.ICAO, 0x4CA7B5)
    return {"subject": np.array([s1, s2, s1, s2]), "time": np.array([0.0, 5.0, 10.0, 20.0]),
            "domain": np.array([2, 1, 2, 1]), "lat": np.array([55.0, 56.0, 55.1, 56.2]),
            "lon": np.array([14.0, 13.0, 14.1, 13.2]),
            "alt": np.array([np.nan, 9000, np.nan, 9100]),
            "speed": np.array([5.0, 200, 5, 200]), "course": np.array([0.0, 90, 0, 90])}  # fmt: skip  # noqa: E501


def test_picture_from_points_keeps_newest_point_before_time():
    pic = picture_from_points(points(), 15.0)
    got = dict(zip(pic["subject"].tolist(), pic["lat"].tolist(), strict=True))
    assert got == {key(Namespace.MMSI, 211000001): 55.1, key(Namespace.ICAO, 0x4CA7B5): 56.0}


def test_geojson_export():
    pic = picture_from_points(points(), 20.0)
    data, ctype = export_picture("geojson", pic, np.arange(len(pic)), ALERTS, ZONES)
    gj = json.loads(data)
    assert ctype == "application/geo+json" and gj["type"] == "FeatureCollection"
    by = {}
    for f in gj["features"]:
        by.setdefault(f["properties"]["layer"], []).append(f)
    assert len(by["track"]) == 2 and len(by["alert"]) == 1 and len(by["zone"]) == 1
    ac = next(f for f in by["track"] if f["properties"]["subject"] == "icao:4ca7b5")
    assert ac["geometry"]["coordinates"] == [13.2, 56.2, 9100.0]  # lon, lat, alt (RFC 7946)
    assert ac["properties"]["time"] == "1970-01-01T00:00:20.000Z"


def test_kml_and_kmz_export_parse():
    pic = picture_from_points(points(), 20.0)
    kml, _ = export_picture("kml", pic, np.arange(len(pic)), ALERTS, ZONES)
    root = ET.fromstring(kml)
    folders = {f.find(f"{KML}name").text: f for f in root.iter(f"{KML}Folder")}
    assert set(folders) == {"tracks", "alerts", "zones"}
    assert len(folders["tracks"].findall(f"{KML}Placemark")) == 2
    coords = [c.text for c in folders["tracks"].iter(f"{KML}coordinates")]
    assert "13.2000000,56.2000000,9100.0000000" in coords
    alert = folders["alerts"].find(f"{KML}Placemark")
    assert "gap <&>" in ET.tostring(alert, encoding="unicode").replace("&lt;", "<").replace(
        "&amp;", "&").replace("&gt;", ">")  # fmt: skip
    ring = folders["zones"].find(f".//{KML}outerBoundaryIs//{KML}coordinates").text
    assert ring.split()[0] == "10,54"
    kmz, ctype = export_picture("kmz", pic, np.arange(len(pic)), ALERTS, ZONES)
    assert ctype.endswith("kmz")
    with zipfile.ZipFile(io.BytesIO(kmz)) as z:
        assert z.read("doc.kml") == kml
    with pytest.raises(ValueError):
        export_picture("shapefile", pic, np.arange(2), [], None)
    with pytest.raises(ValueError):
        export_picture("kml", pic, np.arange(2), [], None, ["cats"])


class Hook(BaseHTTPRequestHandler):
    fail_first = 2
    bodies: typing.ClassVar[list] = []
    calls = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).calls += 1
        if type(self).calls <= type(self).fail_first:
            self.send_response(503)
            self.end_headers()
            return
        type(self).bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def make_alert(i, kind="maritime.ais_gap", sev="warning"):
    return Alert(id=f"w{i}", kind=kind, severity=sev, time=1.7e9 + i, domain="maritime",
                 subject="mmsi:211000001", lat=55.0, lon=14.0, summary=f"s{i}", evidence={},
                 last_time=1.7e9 + i)  # fmt: skip


def test_webhook_retries_then_delivers_in_order():
    Hook.fail_first, Hook.bodies, Hook.calls = 2, [], 0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        hook = WebhookSink(f"http://127.0.0.1:{srv.server_port}/hook", kinds=["maritime"],
                           min_severity="warning", backoff_s=0.01, retries=3)  # fmt: skip
        hook.emit([("open", make_alert(1)), ("open", make_alert(2, "air.emergency")),
                   ("open", make_alert(3, sev="info")), ("close", make_alert(4))])  # fmt: skip
        hook.close()
    finally:
        srv.shutdown()
    assert [(b["event"], b["alert"]["id"]) for b in Hook.bodies] == [
        ("open", "w1"),
        ("close", "w4"),
    ]
    assert (hook.sent, hook.retried, hook.failed) == (2, 2, 0)


def test_webhook_gives_up_and_counts():
    hook = WebhookSink("http://127.0.0.1:9/none", backoff_s=0.01, retries=2, timeout_s=1)
    hook.emit([("open", make_alert(1))])
    hook.close()
    assert (hook.sent, hook.failed, hook.retried) == (0, 1, 2)
