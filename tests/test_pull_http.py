"""Pull sources over HTTP against local servers that behave as the real ones do.

OpenSky: a loopback HTTP server with an OAuth2 token endpoint (client-credentials grant)
and `/api/states/all`, which answers only a bearer token it issued, needs the bounding
box, throttles the first call with a 429 and `X-Rate-Limit-Retry-After-Seconds`, and
replays the shared OpenSky CSV re-served as REST state vectors, one time step a call.
readsb: a loopback server replaying the shared readsb trace as `aircraft.json`
documents (`now`, `aircraft` with `seen_pos`), repeating each once as readsb does
between updates."""

from __future__ import annotations

import csv
import json
import math
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import groupby
from types import SimpleNamespace

import numpy as np
import pytest

from picket.config import SourceConfig
from picket.model.subjects import Namespace, key
from picket.sources import pull_http
from picket.sources.pull_http import check, credit_cost, opensky_interval
from tests.test_cot_in_tls import Live

UK = [-6.0, 50.0, 2.0, 55.0]  # west, south, east, north: 40 square degrees, 2 credits


def _f(v: str) -> float | None:
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def opensky_steps(path, n: int) -> list[tuple[int, list[list]]]:
    """The CSV's first `n` time steps as OpenSky REST state vectors (its 18 fields)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for t, grp in groupby(rows, key=lambda r: int(r["time"])):
        states = [[r["icao24"], r["callsign"] or None, "", _f(r["lastposupdate"]),
                   _f(r["lastcontact"]), _f(r["lon"]), _f(r["lat"]), _f(r["baroaltitude"]),
                   r["onground"] == "True", _f(r["velocity"]), _f(r["heading"]),
                   _f(r["vertrate"]), None, _f(r["geoaltitude"]), r["squawk"] or None,
                   r["spi"] == "True", 0, 0] for r in grp]  # fmt: skip
        out.append((t, states))
        if len(out) == n:
            break
    return out


class Server:
    """A ThreadingHTTPServer on loopback with a handler function per path."""

    def __init__(self, routes) -> None:
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _do(self):
                u = urllib.parse.urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                status, headers, out = routes(self.command, u.path,
                                              urllib.parse.parse_qs(u.query), self.headers,
                                              body)  # fmt: skip
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _do

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()
        self.outer = outer

    def close(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


class FakeOpenSky:
    """What OpenSky enforces: its own tokens only, a bounding box, a rate limit."""

    def __init__(self, steps, client_id="picket-test", secret="s3cret") -> None:
        self.steps, self.client_id, self.secret = steps, client_id, secret
        self.tokens: set[str] = set()
        self.token_calls = self.unauthorized = self.served = self.throttled = 0
        self.boxes: list[tuple] = []
        self.lock = threading.Lock()
        self.server = Server(self.route)

    def route(self, method, path, q, headers, body):
        with self.lock:
            if path == "/token" and method == "POST":
                self.token_calls += 1
                f = urllib.parse.parse_qs(body.decode())
                if (f.get("grant_type") != ["client_credentials"]
                        or f.get("client_id") != [self.client_id]
                        or f.get("client_secret") != [self.secret]):  # fmt: skip
                    return 401, {}, b'{"error":"invalid_client"}'
                tok = f"tok-{self.token_calls}"
                self.tokens.add(tok)
                doc = {"access_token": tok, "expires_in": 1800, "token_type": "Bearer"}
                return 200, {"Content-Type": "application/json"}, json.dumps(doc).encode()
            if path != "/api/states/all":
                return 404, {}, b""
            auth = headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                self.unauthorized += 1
                return 401, {}, b""
            try:
                box = tuple(float(q[k][0]) for k in ("lomin", "lamin", "lomax", "lamax"))
            except (KeyError, ValueError):
                return 400, {}, b"bounding box needed"
            self.boxes.append(box)
            if not self.throttled:  # the first call finds the day's credits spent
                self.throttled += 1
                return 429, {"X-Rate-Limit-Retry-After-Seconds": "1"}, b""
            t, states = self.steps[min(self.served, len(self.steps) - 1)]
            self.served += 1
            w, s, e, n = box
            inside = [v for v in states if v[5] is not None and v[6] is not None
                      and w <= v[5] <= e and s <= v[6] <= n]  # fmt: skip
            doc = {"time": t, "states": inside or None}  # OpenSky: null for an empty box
            return 200, {"X-Rate-Limit-Remaining": "3990"}, json.dumps(doc).encode()


def icao_subjects(states) -> set[int]:
    return {int(key(Namespace.ICAO, int(v[0], 16))) for v in states}


@pytest.mark.realdata
def test_opensky_bearer_token_bbox_rate_limit_and_credits(shared_data, tmp_path, monkeypatch):
    steps = opensky_steps(shared_data / "air" / "opensky_plane_states_sample.csv", 4)
    fake = FakeOpenSky(steps)
    monkeypatch.setenv("OPENSKY_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("OPENSKY_CLIENT_SECRET", fake.secret)
    base = f"http://127.0.0.1:{fake.server.port}"
    src = SourceConfig(name="osky", pull="opensky", url=f"{base}/api/states/all",
                       token_url=f"{base}/token", bbox=UK, interval_s=0.2,
                       credits_per_day=1e9)  # fmt: skip
    live = Live(tmp_path, src, word="OpenSky every")
    want = set().union(*(icao_subjects([v for v in st if v[5] is not None
                                        and UK[0] <= v[5] <= UK[2] and UK[1] <= v[6] <= UK[3]])
                         for _, st in steps))  # fmt: skip
    try:
        assert len(want) > 20
        assert live.wait(lambda: fake.served > len(steps) and want <= live.subjects(), 30)
    finally:
        s = live.close()
        fake.server.close()
    assert fake.token_calls == 1 and fake.unauthorized == 0  # one token, sent every call
    assert set(fake.boxes) == {(-6.0, 50.0, 2.0, 55.0)}
    assert s["rate_limited"] == 1 and s["poll_errors"] == 0, s
    assert s["credits_spent"] == 2 * fake.served  # 40 square degrees cost 2 a call
    assert s["unchanged"] >= 1  # the last step served again is not decoded again
    assert live.subjects() == want  # only the box's aircraft


def test_opensky_without_credentials_gets_nothing_from_a_server_that_wants_them(
        tmp_path, monkeypatch):  # fmt: skip
    fake = FakeOpenSky([(1626098400, [])])
    monkeypatch.delenv("OPENSKY_CLIENT_ID", raising=False)
    monkeypatch.delenv("OPENSKY_CLIENT_SECRET", raising=False)
    base = f"http://127.0.0.1:{fake.server.port}"
    src = SourceConfig(name="osky", pull="opensky", url=f"{base}/api/states/all",
                       token_url=f"{base}/token", bbox=UK, interval_s=0.1,
                       credits_per_day=1e9)  # fmt: skip
    live = Live(tmp_path, src, word="anonymous")
    try:
        assert live.wait(lambda: fake.unauthorized >= 2)
    finally:
        s = live.close()
        fake.server.close()
    assert fake.token_calls == 0 and fake.served == 0
    assert s["poll_errors"] >= 2 and s["credits_spent"] == 0


def test_an_empty_box_is_no_error(tmp_path, monkeypatch):
    far = (1626098400, [["abc123", "X", "", 1626098399.0, 1626098400.0, 100.0, -40.0, 1000.0,
                         False, 200.0, 90.0, 0.0, None, 1000.0, None, False, 0, 0]])
    fake = FakeOpenSky([far, (far[0] + 10, far[1])])
    monkeypatch.setenv("OPENSKY_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("OPENSKY_CLIENT_SECRET", fake.secret)
    base = f"http://127.0.0.1:{fake.server.port}"
    src = SourceConfig(name="osky", pull="opensky", url=f"{base}/api/states/all",
                       token_url=f"{base}/token", bbox=UK, interval_s=0.1,
                       credits_per_day=1e9)  # fmt: skip
    live = Live(tmp_path, src, word="OpenSky every")
    try:
        assert live.wait(lambda: fake.served >= 2)
    finally:
        s = live.close()
        fake.server.close()
    assert s["poll_errors"] == 0 and live.asm.rejects.rejected == 0, live.asm.rejects.counts
    assert not live.subjects()


def test_credit_cost_and_interval_follow_opensky_rules():
    assert [credit_cost(b) for b in ((0, 0, 5, 5), (0, 0, 10, 10), (0, 0, 20, 20),
                                     (0, 0, 30, 30))] == [1, 2, 3, 4]  # fmt: skip
    assert credit_cost(None) == 4
    assert opensky_interval((0, 0, 5, 5), 4000) == pytest.approx(21.6)  # 4,000 credits a day
    assert opensky_interval((0, 0, 30, 30), 8000) == pytest.approx(43.2)
    assert opensky_interval((0, 0, 1, 1), 1e9) == 5.0  # never faster than OpenSky updates
    assert opensky_interval((0, 0, 1, 1), 1e9, 0.5) == 0.5


@pytest.mark.parametrize(("table", "match"), [
    ({"pull": "opensky", "url": "http://opensky.example/api/states/all"}, "https"),
    ({"pull": "aisstream", "url": "ws://stream.example/v0", "bbox": UK}, "https/wss"),
    ({"pull": "opensky", "bbox": [10, 50, 5, 55]}, "bbox"),
    ({"pull": "aisstream"}, "needs bbox"),
    ({"pull": "readsb_http"}, "needs url"),
    ({"pull": "adsbx"}, "one of"),
])  # fmt: skip
def test_bad_pull_settings_are_refused_before_anything_runs(table, match):
    with pytest.raises(ValueError, match=match):
        check(SourceConfig(name="x", **table))


def test_polls_keep_within_the_days_credits():
    """Three credits a day at one a call: three polls in each UTC day, evenly spaced (the
    wait runs on a simulated clock: two days pass in no time)."""
    now = [100 * 86400.0]
    polls: list[float] = []

    class Stop:
        def is_set(self):
            return now[0] >= 102 * 86400

        def wait(self, s):
            now[0] += max(s, 1e-3)

    class Feed:
        stop = Stop()

        def log(self, msg):
            pass

        def put(self, conn, data, block=True):
            pass

        def count(self, k, n=1):
            if k == "polls":
                polls.append(now[0])

        def next_conn(self):
            return 1

    orig = pull_http.http
    pull_http.http = lambda url, **kw: pull_http.Response(200, {}, str(len(polls)).encode())
    try:
        src = SimpleNamespace(name="o", bbox=[0, 0, 1, 1], url="http://127.0.0.1:9/x",
                              token_url=None, credits_per_day=3.0, interval_s=None)
        pull_http.run_opensky(src, Feed(), clock=lambda: now[0])
    finally:
        pull_http.http = orig
    days = [int(t // 86400) for t in polls]
    assert days == [100, 100, 100, 101, 101, 101]
    assert np.diff(polls)[:2] == pytest.approx([28800.0, 28800.0])


# readsb ---------------------------------------------------------------------------------
def readsb_docs(path, n: int) -> list[dict]:
    """The trace's first `n` points as readsb `aircraft.json` documents."""
    tr = json.loads(path.read_text())
    out = []
    for p in tr["trace"][:n]:
        a = {"hex": tr["icao"], "lat": p[1], "lon": p[2], "alt_baro": p[3], "gs": p[4],
             "track": p[5], "seen_pos": 0.4, "seen": 0.1, "type": p[9] or "adsb_icao"}
        if isinstance(p[8], dict) and p[8].get("flight"):
            a["flight"] = p[8]["flight"]
        out.append({"now": tr["timestamp"] + p[0], "messages": 1000, "aircraft": [a]})
    return out


@pytest.mark.realdata
def test_readsb_aircraft_json_polled_over_http(shared_data, tmp_path):
    docs = readsb_docs(shared_data / "air" / "readsb_trace_full_ac671b.json", 6)
    state = {"gets": 0}

    def route(method, path, q, headers, body):
        if path != "/data/aircraft.json":
            return 404, {}, b""
        i = min(state["gets"] // 2, len(docs) - 1)  # each document read twice, as between
        state["gets"] += 1  # readsb's writes
        return 200, {"Content-Type": "application/json"}, json.dumps(docs[i]).encode()

    srv = Server(route)
    src = SourceConfig(name="rsb", pull="readsb_http", interval_s=0.1,
                       url=f"http://127.0.0.1:{srv.port}/data/aircraft.json")  # fmt: skip
    live = Live(tmp_path, src, word="polling")
    subj = int(key(Namespace.ICAO, 0xAC671B))
    t = live.asm.pipeline.tracks
    try:
        assert live.wait(lambda: state["gets"] >= 2 * len(docs) + 1 and subj in live.subjects())
        assert live.wait(lambda: live.asm.rejects.accepted >= len(docs))
    finally:
        s = live.close()
        srv.close()
    assert live.asm.rejects.accepted == len(docs)  # every document once, repeats not decoded
    assert s["unchanged"] >= len(docs) - 1, s
    slot = t.slot(subj)
    last = docs[-1]
    assert t.cols["pos_time"][slot] == pytest.approx(last["now"] - 0.4)  # `now` - seen_pos
    assert np.isclose(t.cols["lat"][slot], last["aircraft"][0]["lat"])


def test_pull_sources_from_picket_toml(tmp_path):
    """The [[sources]] tables as written in picket.toml: kinds, boxes, formats."""
    import tomllib

    from picket.config import from_dict
    from picket.pipeline.live import _format

    text = """
[[sources]]
name = "opensky"
pull = "opensky"
bbox = [-6.0, 50.0, 2.0, 55.0]
credits_per_day = 4000

[[sources]]
name = "tar1090"
pull = "readsb_http"
url = "http://192.168.1.20/tar1090/data/aircraft.json"

[[sources]]
name = "aisstream"
pull = "aisstream"
bbox = [[10.0, 54.0, 13.0, 56.0], [20.0, 59.0, 30.0, 61.0]]
"""
    cfg = from_dict(tomllib.loads(text), base=tmp_path)
    for s in cfg.sources:
        check(s)
    assert [_format(s, tmp_path).name for s in cfg.sources] == ["opensky", "readsb-json",
                                                                "aisstream"]  # fmt: skip
    assert opensky_interval(tuple(cfg.sources[0].bbox), 4000) == pytest.approx(43.2)
