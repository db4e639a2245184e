"""CCSDS CDMs as input (508.0-B-1, KVN and XML) and space alerts through the pipeline's one
alert book and sinks: picket's own CDM writer read back, a hand-built CSpOC/Space-Track-style
CDM, and the store, JSON Lines and a webhook on a real local HTTP server receiving them."""

from __future__ import annotations

import argparse
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from picket.cli.space_cmd import add_parser
from picket.detect.space_conjunction import ConjunctionThresholds, cdm_signals, merge_signals
from picket.model.alerts import Signal, parse_time
from picket.model.rejects import Rejects
from picket.space.cdm_read import ccsds_time, parse_cdm, read_cdms

# A CDM as the US Space Force's 18th/19th SDS issue them through Space-Track (keywords and
# units per CCSDS 508.0-B-1; values invented). OBJECT1 sits 500 km above 0 N 0 E in ITRF.
KVN = """CCSDS_CDM_VERS = 1.0
CREATION_DATE = 2025-01-20T08:15:02.000
ORIGINATOR = CSpOC
MESSAGE_FOR = EXAMPLESAT
MESSAGE_ID = 12345_conj_00001_2025020T101500
COMMENT screening at 18 SDS
TCA = 2025-01-21T10:15:00.125
MISS_DISTANCE = 212 [m]
RELATIVE_SPEED = 14500 [m/s]
RELATIVE_POSITION_R = 20.0 [m]
RELATIVE_POSITION_T = -150.0 [m]
RELATIVE_POSITION_N = 148.6 [m]
RELATIVE_VELOCITY_R = 1.0 [m/s]
RELATIVE_VELOCITY_T = -14000.0 [m/s]
RELATIVE_VELOCITY_N = 3770.0 [m/s]
START_SCREEN_PERIOD = 2025-01-20T00:00:00.000
STOP_SCREEN_PERIOD = 2025-01-27T00:00:00.000
SCREEN_VOLUME_FRAME = RTN
SCREEN_VOLUME_SHAPE = ELLIPSOID
SCREEN_VOLUME_X = 200 [m]
SCREEN_VOLUME_Y = 1000 [m]
SCREEN_VOLUME_Z = 1000 [m]
SCREEN_ENTRY_TIME = 2025-01-21T10:14:59.900
SCREEN_EXIT_TIME = 2025-01-21T10:15:00.350
COLLISION_PROBABILITY = 2.3E-04
COLLISION_PROBABILITY_METHOD = FOSTER-1992
OBJECT = OBJECT1
OBJECT_DESIGNATOR = 43013
CATALOG_NAME = SATCAT
OBJECT_NAME = EXAMPLESAT 1
INTERNATIONAL_DESIGNATOR = 2017-073A
OBJECT_TYPE = PAYLOAD
OPERATOR_ORGANIZATION = EXAMPLE OPS
EPHEMERIS_NAME = NONE
COVARIANCE_METHOD = CALCULATED
MANEUVERABLE = YES
REF_FRAME = ITRF
X = 6878.137 [km]
Y = 0.0 [km]
Z = 0.0 [km]
X_DOT = 0.0 [km/s]
Y_DOT = 7.6 [km/s]
Z_DOT = 0.0 [km/s]
CR_R = 4.1 [m**2]
CT_R = -1.2 [m**2]
CT_T = 210.0 [m**2]
CN_R = 0.1 [m**2]
CN_T = -0.5 [m**2]
CN_N = 2.6 [m**2]
OBJECT = OBJECT2
OBJECT_DESIGNATOR = 31142
CATALOG_NAME = SATCAT
OBJECT_NAME = FENGYUN 1C DEB
INTERNATIONAL_DESIGNATOR = 1999-025DXJ
OBJECT_TYPE = DEBRIS
EPHEMERIS_NAME = NONE
COVARIANCE_METHOD = CALCULATED
MANEUVERABLE = NO
REF_FRAME = ITRF
X = 6878.150 [km]
Y = 0.150 [km]
Z = -0.149 [km]
X_DOT = 0.0 [km/s]
Y_DOT = -6.4 [km/s]
Z_DOT = 3.77 [km/s]
CR_R = 40.0 [m**2]
CT_R = 0.0 [m**2]
CT_T = 900.0 [m**2]
CN_R = 0.0 [m**2]
CN_T = 0.0 [m**2]
CN_N = 30.0 [m**2]
"""


def _xml(kvn: str) -> str:
    """The same CDM in the XML encoding (ndm schema layout: header, body, segments)."""
    lines = [ln.split("=", 1) for ln in kvn.splitlines() if "=" in ln]
    kv = [(k.strip(), v.split("[")[0].strip()) for k, v in lines]
    head = {"CREATION_DATE", "ORIGINATOR", "MESSAGE_FOR", "MESSAGE_ID"}
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<cdm id="CCSDS_CDM_VERS" version="1.0">',
           "<header>"]  # fmt: skip
    out += [f"<{k}>{v}</{k}>" for k, v in kv if k in head]
    out += ["</header>", "<body>", "<relativeMetadataData>"]
    i = next(n for n, (k, _) in enumerate(kv) if k == "OBJECT")
    out += [f"<{k}>{v}</{k}>" for k, v in kv[:i] if k not in head and k != "CCSDS_CDM_VERS"]
    out.append("</relativeMetadataData>")
    segs: list[list[tuple[str, str]]] = []
    for k, v in kv[i:]:
        if k == "OBJECT":
            segs.append([])
        segs[-1].append((k, v))
    for seg in segs:
        out += ["<segment>", "<metadata>"]
        out += [f"<{k}>{v}</{k}>" for k, v in seg if k not in ("X", "Y", "Z", "X_DOT", "Y_DOT",
                "Z_DOT") and not k.startswith("C")] + ["</metadata>", "<data>", "<stateVector>"]
        out += [f'<{k} units="km">{v}</{k}>' for k, v in seg if k in ("X", "Y", "Z")]
        out += [f'<{k} units="km/s">{v}</{k}>' for k, v in seg if k.endswith("_DOT")]
        out += ["</stateVector>", "</data>", "</segment>"]
    out += ["</body>", "</cdm>"]
    return "\n".join(out)


def _run(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["space", *argv])
    return a.func(a)


def test_kvn_fields_per_508():
    c = parse_cdm(KVN.encode(), "x.cdm")
    assert (c.originator, c.message_id) == ("CSpOC", "12345_conj_00001_2025020T101500")
    assert c.creation_date == parse_time("2025-01-20T08:15:02Z")
    assert c.tca == pytest.approx(parse_time("2025-01-21T10:15:00.125Z"))
    assert c.miss_distance_m == 212 and c.relative_speed_ms == 14500
    assert c.probability == pytest.approx(2.3e-4) and c.probability_method == "FOSTER-1992"
    o1, o2 = c.objects
    assert (o1.norad, o1.name, o1.ref_frame) == (43013, "EXAMPLESAT 1", "ITRF")
    assert (o2.norad, o2.international_designator) == (31142, "1999-025DXJ")
    assert o2.r_km.tolist() == [6878.150, 0.150, -0.149] and o2.v_kms[2] == 3.77


def test_xml_reads_as_the_kvn():
    a, b = parse_cdm(KVN.encode()), parse_cdm(_xml(KVN).encode())
    for k in ("originator", "message_id", "creation_date", "tca", "miss_distance_m",
              "relative_speed_ms", "probability", "version"):  # fmt: skip
        assert getattr(a, k) == getattr(b, k), k
    assert [o.norad for o in b.objects] == [43013, 31142]
    assert np.allclose(a.objects[1].r_km, b.objects[1].r_km)


def test_day_of_year_times():
    assert ccsds_time("2025-021T10:15:00.5") == parse_time("2025-01-21T10:15:00.5Z")


def test_not_a_cdm_is_counted_never_fatal(tmp_path):
    (tmp_path / "a.cdm").write_text(KVN)
    (tmp_path / "b.cdm").write_text(KVN.replace("MISS_DISTANCE", "MISSED"))
    (tmp_path / "c.cdm").write_text("hello")
    (tmp_path / "d.xml").write_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><cdm>&a;</cdm>')
    rj = Rejects()
    got = read_cdms([tmp_path], rj)
    assert len(got) == 1 and rj.counts["space.cdm_invalid"] == 3


def test_signal_is_placed_judged_and_keeps_provenance():
    (s,) = cdm_signals([parse_cdm(KVN.encode(), "/x/cspoc.cdm")], ConjunctionThresholds())
    assert s.kind == "space.conjunction" and s.subject == "norad:31142"  # the lower number
    assert s.severity == "critical"  # 212 m is over 200 m, but the probability is >= 1e-4
    assert abs(s.lat) < 1e-6 and abs(s.lon) < 1e-6  # OBJECT1 above 0 N 0 E (ITRF)
    assert s.time == parse_time("2025-01-20T08:15:02Z")
    prov = s.evidence["provenance"]
    assert prov == {"originator": "CSpOC", "message_id": "12345_conj_00001_2025020T101500",
                    "creation_date": "2025-01-20T08:15:02.000Z", "file": "cspoc.cdm",
                    "cdm_version": "1.0"}  # fmt: skip
    assert s.evidence["other"] == "norad:43013" and s.evidence["miss_distance_m"] == 212
    far = KVN.replace("MISS_DISTANCE = 212", "MISS_DISTANCE = 4000").replace("2.3E-04", "1E-7")
    assert cdm_signals([parse_cdm(far.encode())], ConjunctionThresholds()) == []


def test_a_reissued_cdm_replaces_the_older():
    newer = KVN.replace("08:15:02", "20:15:02").replace("MISS_DISTANCE = 212",
                                                        "MISS_DISTANCE = 150")  # fmt: skip
    (s,) = cdm_signals([parse_cdm(newer.encode()), parse_cdm(KVN.encode())])
    assert s.evidence["count"] == 1 and s.evidence["miss_distance_m"] == 150


def test_merge_keeps_picket_own_and_adds_the_cdm():
    (c,) = cdm_signals([parse_cdm(KVN.encode())])
    own = Signal(kind="space.conjunction", subject="norad:31142", time=1.0, lat=1.0, lon=2.0,
                 severity="warning", summary="own", evidence={"miss_distance_m": 250.0},
                 domain="space")  # fmt: skip
    other = Signal(kind="space.conjunction", subject="norad:5", time=1.0, lat=None, lon=None,
                   severity="warning", summary="own", evidence={}, domain="space")
    m = merge_signals([own, other], [c])
    assert len(m) == 2 and m[0].severity == "critical" and m[0].lat == 1.0
    assert m[0].evidence["miss_distance_m"] == 250.0 and m[0].evidence["cdm"][0][
        "provenance"]["originator"] == "CSpOC"  # fmt: skip


class _Hook(BaseHTTPRequestHandler):
    got: ClassVar[list] = []

    def do_POST(self):
        self.got.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_cdm_alerts_reach_store_jsonl_and_webhook(tmp_path, capsys):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    _Hook.got = []
    try:
        cfg = tmp_path / "picket.toml"
        cfg.write_text(f'[[outputs]]\nkind = "webhook"\nurl = "http://127.0.0.1:'
                       f'{srv.server_address[1]}/hook"\n')  # fmt: skip
        (tmp_path / "one.cdm").write_text(KVN)
        (tmp_path / "two.xml").write_text(_xml(KVN.replace("43013", "43014").replace(
            "12345_conj_00001", "12345_conj_00002")))  # fmt: skip
        store, out = tmp_path / "s.sqlite", tmp_path / "a.jsonl"
        assert _run(["screen", "--cdm", str(tmp_path / "one.cdm"), str(tmp_path / "two.xml"),
                     "--store", str(store), "--alerts-out", str(out), "--config",
                     str(cfg)]) == 0  # fmt: skip
    finally:
        srv.shutdown()
    assert "2 CDMs read (CSpOC)" in capsys.readouterr().out
    (al,) = [json.loads(x) for x in out.read_text().splitlines()]  # one primary: 31142
    assert al["kind"] == "space.conjunction" and al["subject"] == "norad:31142"
    assert {e["provenance"]["message_id"][:16] for e in al["evidence"]["cdm"]} == {
        "12345_conj_00001", "12345_conj_00002"}  # fmt: skip
    db = sqlite3.connect(store)
    rows = db.execute("SELECT kind, subject, status FROM alerts").fetchall()
    db.close()
    assert rows == [("space.conjunction", "norad:31142", "open")]
    assert [h["alert"]["id"] for h in _Hook.got] == [al["id"]]
    assert _Hook.got[0]["event"] == "open"


@pytest.mark.realdata
def test_manoeuvres_reach_the_store(shared_data, tmp_path):
    store = tmp_path / "s.sqlite"
    assert _run(["manoeuvres", str(shared_data / "space/iss_tle_history_2021_2022.txt"),
                 "--out", str(tmp_path / "m.csv"), "--store", str(store)]) == 0  # fmt: skip
    db = sqlite3.connect(store)
    n = db.execute("SELECT count(*) FROM alerts WHERE kind = 'space.manoeuvre' AND "
                   "status = 'closed'").fetchone()[0]  # fmt: skip
    db.close()
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert n == len(rows) - 1 >= 9


@pytest.fixture
def small_catalogue(shared_data, tmp_path) -> Path:
    """The 150 objects nearest 550 km altitude from the 2024 file (as test_space_cli)."""
    lines = (shared_data / "space/celestrak_omm_catalog_20241101.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    mm = np.array([float(r.split(",")[-14]) for r in rows])
    near = np.argsort(np.abs(mm - 15.05))[:150]
    cat = tmp_path / "cat.csv"
    cat.write_text("\n".join([header, *(rows[i] for i in sorted(near))]) + "\n")
    return cat


@pytest.mark.realdata
def test_picket_own_cdms_read_back_as_the_screening(small_catalogue, tmp_path):
    cdm, own, back, both = (tmp_path / x for x in ("cdm", "own.jsonl", "back.jsonl",
                                                   "both.jsonl"))  # fmt: skip
    args = ["--days", "1", "--alert-km", "5", "--workers", "1", "--out", str(tmp_path / "c.csv")]
    assert _run(["screen", str(small_catalogue), *args, "--cdm-dir", str(cdm), "--alerts-out",
                 str(own)]) == 0  # fmt: skip
    assert _run(["screen", "--cdm", str(cdm), "--alert-km", "5", "--alerts-out",
                 str(back)]) == 0  # fmt: skip
    a = {x["subject"]: x for x in map(json.loads, own.read_text().splitlines())}
    b = {x["subject"]: x for x in map(json.loads, back.read_text().splitlines())}
    assert a and set(a) == set(b)
    for s, x in a.items():
        y = b[s]
        assert y["evidence"]["provenance"]["originator"] == "PICKET"
        assert y["evidence"]["tca"] == x["evidence"]["tca"]
        assert y["evidence"]["other"] == x["evidence"]["other"]
        assert y["evidence"]["miss_distance_m"] == pytest.approx(
            x["evidence"]["miss_distance_m"], abs=0.1)  # fmt: skip
        assert y["severity"] == x["severity"] or float(x["evidence"]["max_probability"]) >= 1e-4
        assert y["lat"] == pytest.approx(x["lat"], abs=1e-3)  # both OBJECT1 in TEME at TCA
    assert _run(["screen", str(small_catalogue), *args, "--cdm", str(cdm), "--alerts-out",
                 str(both)]) == 0  # fmt: skip
    c = {x["subject"]: x for x in map(json.loads, both.read_text().splitlines())}
    assert set(c) == set(a)  # beside picket's own: the same alerts, the CDMs in evidence
    assert all(x["evidence"]["cdm"] and x["evidence"]["max_probability"] for x in c.values())
