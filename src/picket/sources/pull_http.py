"""Pull sources over HTTP: OpenSky's REST state vectors and a readsb/tar1090 `aircraft.json`.

Why pull: some feeds are only offered as documents to fetch. A puller runs in its
source's feed thread (`pipeline/live.py`) and hands each new document to the loop as one
connection (bytes, then close), so the source's decoder (`opensky`, `readsb-json`)
reads it whole and nothing of one response is spliced to the next. A document equal to
the one before (the server had nothing new) is counted (`unchanged`) and not decoded
again.

OpenSky (docs/sources.md): `GET /api/states/all` with the bounding box, a bearer token
from OpenSky's OAuth2 token endpoint (client-credentials grant; client id and secret
from the environment, never from the config file; basic auth ended in 2026). Each call
costs API credits by the box's area (1 up to 25 square degrees, 2 up to 100, 3 up to
400, 4 above or without a box); the poll interval is set so a day's polls fit
`credits_per_day`, and no call is made once the day's budget is spent. A 429 is waited
out for as long as its `X-Rate-Limit-Retry-After-Seconds` (or `Retry-After`) says.
Credentials and tokens go only over HTTPS (plain HTTP only to this machine, for tests).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

OPENSKY_URL = "https://opensky-network.org/api/states/all"
OPENSKY_TOKEN_URL = ("https://auth.opensky-network.org/auth/realms/opensky-network/"
                     "protocol/openid-connect/token")  # fmt: skip
OPENSKY_ID_ENV, OPENSKY_SECRET_ENV = "OPENSKY_CLIENT_ID", "OPENSKY_CLIENT_SECRET"
OPENSKY_MIN_S = 5.0  # OpenSky's state vectors are 5 s apart for an authenticated user
OPENSKY_ANON_CREDITS = 400.0  # a day, without credentials
READSB_INTERVAL_S = 1.0  # readsb rewrites aircraft.json every second
TIMEOUT_S = 15.0
MAX_BODY = 64 << 20  # a whole-world OpenSky answer is ~5 MB; more is refused, counted
TOKEN_MARGIN_S = 60.0  # a token is renewed this long before it expires
BACKOFF_MAX_S = 300.0
NULL_STATES = re.compile(rb'"states"\s*:\s*null')
KINDS = {"opensky": "opensky", "readsb_http": "readsb-json", "aisstream": "aisstream"}


class PullFeed(Protocol):
    """What a puller needs of its feed thread (`pipeline.live.Feed`)."""

    stop: Any  # threading.Event

    def log(self, msg: str) -> None: ...
    def put(self, conn: int, data: bytes | None, block: bool = True) -> None: ...
    def count(self, key: str, n: float = 1) -> None: ...
    def next_conn(self) -> int: ...


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def boxes(bbox: Any, where: str) -> list[tuple[float, float, float, float]]:
    """`bbox` as a list of (west, south, east, north): one box or a list of boxes."""
    if bbox is None:
        return []
    items = bbox if bbox and isinstance(bbox[0], list | tuple) else [bbox]
    out = []
    for b in items:
        try:
            w, s, e, n = (float(x) for x in b)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: bbox must be [west, south, east, north] (or a list of "
                             "them)") from None  # fmt: skip
        if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90 and w < e):
            raise ValueError(f"{where}: bbox {b} is not [west, south, east, north] in degrees")
        out.append((w, s, e, n))
    return out


def check(src: Any) -> None:
    """Refuse a pull source's settings before anything runs (a ValueError naming it)."""
    where = f"source {src.name}"
    if src.pull not in KINDS:
        raise ValueError(f"{where}: pull = {src.pull!r}; one of {sorted(KINDS)}")
    b = boxes(src.bbox, where)
    if src.pull == "opensky" and len(b) > 1:
        raise ValueError(f"{where}: OpenSky takes one bbox")
    if src.pull == "readsb_http" and not src.url:
        raise ValueError(f"{where}: readsb_http needs url = 'http://host/.../aircraft.json'")
    if src.pull == "aisstream" and not b:
        raise ValueError(f"{where}: aisstream needs bbox (aisstream.io requires boxes)")
    url = src.url or (OPENSKY_URL if src.pull == "opensky" else "")
    for u in (url, src.token_url or ""):
        scheme = urllib.parse.urlsplit(u).scheme
        if u and scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"{where}: {u}: not an http(s) or ws(s) URL")
        if u and scheme in ("http", "ws") and src.pull != "readsb_http" and not is_loopback(u):
            raise ValueError(f"{where}: {u}: credentials go only over https/wss "
                             "(plain http only to this machine)")  # fmt: skip
    if src.interval_s is not None and not src.interval_s > 0:
        raise ValueError(f"{where}: interval_s must be > 0")
    if not src.credits_per_day > 0:
        raise ValueError(f"{where}: credits_per_day must be > 0")


# HTTP -----------------------------------------------------------------------------------
class Response:
    def __init__(self, status: int, headers: Any, body: bytes, error: str = "") -> None:
        self.status, self.headers, self.body, self.error = status, headers, body, error

    def header(self, name: str) -> str | None:
        return self.headers.get(name) if self.headers is not None else None


def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = TIMEOUT_S, max_bytes: int = MAX_BODY) -> Response:  # fmt: skip
    """One request; never raises for a network or HTTP error (status 0: no answer)."""
    req = urllib.request.Request(url, data=data, headers={"User-Agent": "picket",
                                                          **(headers or {})})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # scheme checked by check()
            body = r.read(max_bytes + 1)
            if len(body) > max_bytes:
                return Response(r.status, r.headers, b"", f"answer over {max_bytes} bytes")
            return Response(r.status, r.headers, body)
    except urllib.error.HTTPError as e:
        with e:
            return Response(e.code, e.headers, e.read(4096), f"HTTP {e.code}")
    except (OSError, ValueError) as e:  # refused, timed out, TLS failure, bad URL
        return Response(0, None, b"", str(e))


def _wait_s(r: Response, default: float) -> float:
    for h in ("X-Rate-Limit-Retry-After-Seconds", "Retry-After"):
        v = r.header(h)
        try:
            if v is not None:
                return min(max(float(v), 0.0), 86400.0)
        except ValueError:
            continue
    return default


# OpenSky --------------------------------------------------------------------------------
def credit_cost(bbox: tuple[float, float, float, float] | None) -> int:
    """API credits of one `/states/all` call, by the box's area in square degrees."""
    if bbox is None:
        return 4
    w, s, e, n = bbox
    area = (e - w) * (n - s)
    return 1 if area <= 25 else 2 if area <= 100 else 3 if area <= 400 else 4


def opensky_interval(bbox: tuple[float, float, float, float] | None, credits_per_day: float,
                     interval_s: float | None = None) -> float:  # fmt: skip
    """Seconds between polls: the day's budget spread evenly, never under `interval_s`
    (or OpenSky's 5 s resolution when not given)."""
    budget = 86400.0 * credit_cost(bbox) / credits_per_day
    return max(interval_s if interval_s is not None else OPENSKY_MIN_S, budget)


class Token:
    """An OAuth2 client-credentials bearer token, fetched and renewed before it expires."""

    def __init__(self, url: str, client_id: str, secret: str) -> None:
        self.url, self.client_id, self.secret = url, client_id, secret
        self.value: str | None = None
        self.expires = 0.0

    def get(self, now: float) -> str | None:
        if self.value is not None and now < self.expires - TOKEN_MARGIN_S:
            return self.value
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": self.client_id,
                                       "client_secret": self.secret}).encode()  # fmt: skip
        r = http(self.url, form, {"Content-Type": "application/x-www-form-urlencoded"})
        try:
            doc = json.loads(r.body) if r.status == 200 else {}
        except ValueError:
            doc = {}
        tok = doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(tok, str) or not tok:
            self.value = None
            logger.warning("OpenSky token refused: %s", r.error or f"HTTP {r.status}")
            return None
        exp = doc.get("expires_in")
        self.value = tok
        self.expires = now + (float(exp) if isinstance(exp, int | float) else 1800.0)
        return tok

    def drop(self) -> None:
        self.value = None


def run_opensky(src: Any, feed: PullFeed, clock: Callable[[], float] = time.time) -> None:
    """Poll OpenSky until the feed stops."""
    b = boxes(src.bbox, src.name)
    box = b[0] if b else None
    url = src.url or OPENSKY_URL
    if box is not None:
        w, s, e, n = box
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(
            {"lamin": s, "lomin": w, "lamax": n, "lomax": e})  # fmt: skip
    cid, secret = os.environ.get(OPENSKY_ID_ENV), os.environ.get(OPENSKY_SECRET_ENV)
    token = Token(src.token_url or OPENSKY_TOKEN_URL, cid, secret) if cid and secret else None
    budget = src.credits_per_day if token is not None else min(src.credits_per_day,
                                                               OPENSKY_ANON_CREDITS)  # fmt: skip
    cost = credit_cost(box)
    every = opensky_interval(box, budget, src.interval_s)
    feed.log(f"source {src.name}: OpenSky every {every:.1f} s, {cost} credit(s) a call, "
             f"{budget:.0f} a day" + ("" if token else f" (anonymous: no {OPENSKY_ID_ENV}/"
                                      f"{OPENSKY_SECRET_ENV} in the environment)"))  # fmt: skip
    day, spent = int(clock() // 86400), 0.0
    last, backoff = b"", 1.0
    while not feed.stop.is_set():
        t0 = clock()
        if int(t0 // 86400) != day:
            day, spent = int(t0 // 86400), 0.0
        if spent + cost > budget:  # the day's credits are spent: wait for the next UTC day
            feed.count("budget_waits")
            feed.log(f"source {src.name}: {spent:.0f} credits spent today; waiting for "
                     "the next UTC day")  # fmt: skip
            while not feed.stop.is_set() and int(clock() // 86400) == day:
                feed.stop.wait(min(60.0, (day + 1) * 86400 - clock() + 1))
            continue
        headers = {}
        if token is not None:
            tok = token.get(t0)
            if tok is None:
                feed.count("poll_errors")
                feed.stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            headers["Authorization"] = f"Bearer {tok}"
        r = http(url, headers=headers)
        feed.count("polls")
        if r.status == 429:
            feed.count("rate_limited")
            wait = _wait_s(r, backoff)
            logger.warning("source %s: OpenSky rate limit; retry in %.0f s", src.name, wait)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            feed.stop.wait(wait)
            continue
        if r.status == 401 and token is not None:  # expired or revoked: a new one next time
            token.drop()
            feed.count("poll_errors")
            feed.stop.wait(1.0)
            continue
        if r.status != 200 or r.error:
            feed.count("poll_errors")
            logger.warning("source %s: %s: %s", src.name, url, r.error or f"HTTP {r.status}")
            feed.stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            continue
        spent += cost
        feed.count("credits_spent", cost)
        backoff = 1.0
        # an empty box is `"states": null` in OpenSky's answer: no aircraft, not a bad document
        last = _hand_over(feed, NULL_STATES.sub(b'"states":[]', r.body, count=1), last)
        feed.stop.wait(max(0.0, every - (clock() - t0)))


def run_readsb(src: Any, feed: PullFeed, clock: Callable[[], float] = time.time) -> None:
    """Poll a readsb/tar1090 `aircraft.json` until the feed stops."""
    every = src.interval_s or READSB_INTERVAL_S
    feed.log(f"source {src.name}: polling {src.url} every {every:.1f} s")
    last, backoff = b"", 1.0
    while not feed.stop.is_set():
        t0 = clock()
        r = http(src.url)
        feed.count("polls")
        if r.status != 200 or r.error:
            feed.count("poll_errors")
            logger.warning("source %s: %s: %s", src.name, src.url, r.error or f"HTTP {r.status}")
            feed.stop.wait(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = 1.0
        last = _hand_over(feed, r.body, last)
        feed.stop.wait(max(0.0, every - (clock() - t0)))


def _hand_over(feed: PullFeed, body: bytes, last: bytes) -> bytes:
    """One document to the loop as its own connection, unless it is the last one again."""
    h = hashlib.blake2b(body, digest_size=16).digest()
    if h == last:
        feed.count("unchanged")
        return last
    conn = feed.next_conn()
    feed.put(conn, body)
    feed.put(conn, None)
    return h
