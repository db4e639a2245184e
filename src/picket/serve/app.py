"""The HTTP application: REST, the WebSocket track channel, the SSE alert stream.

Contract in docs/api.md. Store reads run in the thread pool; encoding runs in
the hub's tick thread; the event loop only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import time as wall
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from picket import __version__
from picket.bus import CMD
from picket.model.alerts import KINDS, iso
from picket.model.reports import Domain
from picket.model.subjects import parse_subject
from picket.serve import frames
from picket.serve import triage as tri
from picket.serve.auth import Authenticator, AuthError, Principal
from picket.serve.hub import LiveHub
from picket.serve.layers import feature_collection, gnss_cells, name_harbours, places_layer
from picket.serve.picture import track_gids
from picket.serve.queries import (
    StoreReader,
    clamp,
    offset_param,
    opt_time,
    select_tracks,
    track_json,
)
from picket.serve.replay import replay_steps
from picket.serve.security import with_headers
from picket.serve.sse import format_event
from picket.serve.stored import MAX_DROP_S
from picket.serve.views import ViewKey
from picket.serve.zone_edits import ZoneError

log = logging.getLogger(__name__)
BODY_LIMIT = 64 * 1024
ZONES_LIMIT = 4 * 1024 * 1024
WS_TEXT_LIMIT = 4096
MAX_WS, MAX_SSE = 256, 256
RETRY_AFTER_S = 5  # told to clients over a cap
SLOW_S = 10.0  # a WebSocket client whose socket takes no frame this long, while frames wait,
# is dropped (docs/api.md: the slow-client rule); its queue holds at most 2 ticks of frames
PING_S = 15.0
STREAM_PATHS = ("/api/alerts/stream",)  # besides WebSockets: where a query token is accepted

NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>picket</title></head>
<body><h1>picket</h1><p>The web front-end is not built (no <code>web/dist/</code>).
Build it with the setup command; the API is live at <a href="/api/health">/api/health</a>
(see docs/api.md).</p></body></html>"""


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


class ServerState:
    def __init__(self, hub: LiveHub, reader: StoreReader, auth: Authenticator,
                 data_dir: Path | None, max_ws: int = MAX_WS, max_sse: int = MAX_SSE,
                 slow_s: float = SLOW_S):  # fmt: skip
        self.hub, self.reader, self.auth, self.data_dir = hub, reader, auth, data_dir
        self.max_ws, self.max_sse, self.slow_s = max_ws, max_sse, slow_s
        # counted and released on the event loop without an await between check and count,
        # so a burst of connects cannot pass the cap together
        self.ws_clients = 0
        self.sse_clients = 0
        self.ws_dropped_slow = 0
        self.sse_dropped_slow = 0
        self.refused: dict[str, int] = {}  # over caps and by the browser checks, per reason
        self.incidents: Any = None  # serve/incidents.Incidents, set by build_app
        self.watchlist: Any = None  # serve/watch.Watchlist, set by build_app
        self.sky: tuple[str, Any] | None = None  # (spec, SkyLayer) made from `picket.static`
        self.static_seq = -1  # the hub's static message the incident rules were made from

    def refuse(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1


def _q(request: Request | WebSocket) -> dict[str, str]:
    return dict(request.query_params)


def _who(request: Request | WebSocket) -> Principal:
    """The caller. A token in the query string counts only where browsers cannot set a
    header (WebSocket, EventSource): elsewhere it would end up in logs and histories."""
    st: ServerState = request.app.state.picket
    stream = request.scope["type"] == "websocket" or request.url.path in STREAM_PATHS
    qtok = request.query_params.get("token") if stream else None
    return st.auth.principal(request.headers.get("authorization"), qtok)


async def read_json(request: Request, limit: int = BODY_LIMIT) -> Any:
    """The JSON body, refusing more than `limit` bytes before reading them all."""
    cl = request.headers.get("content-length")
    if cl and cl.isdigit() and int(cl) > limit:
        raise ApiError(413, f"request body larger than {limit} bytes")
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise ApiError(413, f"request body larger than {limit} bytes")
    try:
        return json.loads(buf or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "body is not JSON") from None


# REST -----------------------------------------------------------------------------------
def _open_count(st: ServerState, t: float) -> int:
    """Alerts open as of the picture's time: from the store's events where there is a store
    (the same derivation as `/api/alerts?at=`), else the hub's live set."""
    if st.reader.store is not None and np.isfinite(t):
        return st.reader.count_open(t)
    return len(st.hub.open_alerts)


async def health(request: Request) -> Response:
    p = _who(request)
    st: ServerState = request.app.state.picket
    pic = st.hub.current()
    n_open = await run_in_threadpool(_open_count, st, pic.time)
    return JSONResponse({
        "status": "ok", "version": __version__, "boot": st.hub.boot, "mode": st.hub.mode,
        "event_time": iso(pic.time) if pic.time > 0 else None, "tracks": int(pic.alive().sum()),
        "alerts_open": n_open, "role": p.role, "who": p.name,
    })  # fmt: skip


def _geography(hub: LiveHub, pm: dict[str, Any]) -> dict[str, int | None]:
    """Features of the zone and infrastructure layers (and as loaded by the pipeline):
    geography is configuration, not accepted input."""
    out: dict[str, int | None] = {k: len((hub.layers.get(k) or {}).get("features") or [])
                                  for k in ("zones", "infrastructure")}  # fmt: skip
    out["loaded"] = pm.get("geography_loaded")
    return out


async def metrics(request: Request) -> Response:
    _who(request)
    return JSONResponse(await _metrics_body(request.app.state.picket))


async def prometheus_metrics(request: Request) -> Response:
    """`/metrics`: the same numbers in Prometheus' text format (serve/prometheus.py)."""
    _who(request)
    from picket.serve.prometheus import CONTENT_TYPE, render

    st: ServerState = request.app.state.picket
    body = await _metrics_body(st)
    pic = st.hub.current()
    alive = pic.alive()
    doms, counts = np.unique(pic["domain"][alive], return_counts=True)
    labels = {int(d): d.label for d in Domain}
    tracks = {labels.get(int(d), "none"): int(n) for d, n in zip(doms, counts, strict=True)}
    kinds: dict[str, int] = {}
    for a in list(st.hub.open_alerts.values()):
        kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
    return Response(render(body, tracks, kinds), media_type=CONTENT_TYPE)


async def _metrics_body(st: ServerState) -> dict[str, Any]:
    """The server's own numbers and the pipeline's newest counters as published on the bus
    (`pipeline/metrics.py`): nothing here reads the pipeline's memory."""
    hub = st.hub
    pic = hub.current()  # takes the bus: the newest metrics snapshot too
    pm = hub.pipeline_metrics or {}
    n_open = await run_in_threadpool(_open_count, st, pic.time)
    body = {
        "reports": hub.stats["reports"], "reports_per_s": round(hub.stats["reports_per_s"], 1),
        "accepted": pm.get("accepted"),
        "rejected": pm.get("rejected"),
        "rejects": dict(pm.get("rejects") or {}),
        "unused": dict(pm.get("unused") or {}),
        "event_time": iso(pic.time) if pic.time > 0 else None,
        "lag_s": round(wall.time() - pic.time, 3) if pic.time > 0 else None,
        "tracks": int(pic.alive().sum()), "alerts_open": n_open, "mode": hub.mode,
        "geography": _geography(hub, pm), "outputs": dict(pm.get("outputs") or {}),
        "ws_clients": st.ws_clients,
        "sse_clients": st.sse_clients, "ws_dropped_slow": st.ws_dropped_slow,
        "sse_dropped_slow": st.sse_dropped_slow,
        "refused": dict(st.refused), "tick": hub.stats["tick"],
        "encode_ms": round(hub.stats["encode_ms"], 3),
        "encode_cpu_ms": round(hub.stats["encode_cpu_ms"], 3),
        "frame_bytes": hub.stats["frame_bytes"],
        "dead_letter_dropped": pm.get("dead_letter_dropped"),
        "live": pm.get("live") or None,  # the live path's counters per source, when live
    }  # fmt: skip
    return body


def _alert_ids(hub: LiveHub) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in list(hub.open_alerts.values()):
        out.setdefault(a["subject"], []).append(a["id"])
    return out


def tracks(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    q = _q(request)
    try:
        limit, offset = clamp(q.get("limit"), 1000), offset_param(q.get("offset"))
        pic = _picture(st, q)
        idx = select_tracks(pic, q)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    flags = st.hub.track_flags(pic)
    ids = _alert_ids(st.hub)
    statics = getattr(st.hub.tracks_ref, "statics", {}) or {}
    page = idx[offset : offset + limit]
    rows = [track_json(pic, int(i), flags, ids, statics.get(int(pic["subject"][i])))
            for i in page.tolist()]  # fmt: skip
    nxt = offset + limit if offset + limit < len(idx) else None
    return JSONResponse({"tracks": rows, "total": len(idx), "next_offset": nxt})


def _picture(st: ServerState, q: dict[str, str]) -> Any:
    """The live picture, or with `at` the picture as of then from stored track history."""
    at = opt_time(q.get("at"))
    return st.hub.current() if at is None else st.reader.picture_at(at)


def _find_track(st: ServerState, subject: str, q: dict[str, str]) -> tuple[Any, int]:
    """The picture's row of a subject (`mmsi:…`) or of a global track id (all digits)."""
    try:
        pic = _picture(st, q)
        if subject.isdigit():  # a global id: a subject always names its namespace
            g = int(subject)
            hit = (track_gids(pic) == g).nonzero()[0] if g < 2**63 else np.zeros(0, np.int64)
        else:
            hit = (pic["subject"] == parse_subject(subject)).nonzero()[0]
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    if not len(hit):
        raise ApiError(404, f"no track {subject}")
    return pic, int(hit[0])


def track_one(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    q = _q(request)
    pic, i = _find_track(st, request.path_params["subject"], q)
    table = st.hub.tracks_ref
    statics = (getattr(table, "statics", {}) or {}).get(int(pic["subject"][i]))
    d = track_json(pic, i, st.hub.track_flags(pic), _alert_ids(st.hub), statics)
    hist = []
    if q.get("at") or st.hub.mode == "stored":  # a past picture: the stored history to then
        hist = st.reader.history(int(pic["subject"][i]), None, pic.time, 5000)
        hist = [{k: p[k] for k in ("time", "lat", "lon")} for p in hist]
    elif table is not None and int(pic["id"][i]) < len(table):
        t, la, lo = table.history(int(pic["id"][i]))
        hist = [{"time": iso(a), "lat": b, "lon": c}
                for a, b, c in zip(t.tolist(), la.tolist(), lo.tolist(), strict=True)
                if a == a]  # fmt: skip
    d["history"] = hist
    return JSONResponse(d)


def track_history(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    q = _q(request)
    subject = request.path_params["subject"]
    try:
        key = parse_subject(subject)
        pts = st.reader.history(key, opt_time(q.get("since")), opt_time(q.get("until")),
                                clamp(q.get("limit"), 5000))  # fmt: skip
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    return JSONResponse({"subject": subject, "points": pts})


def alerts(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    q = _q(request)
    try:
        limit, offset = clamp(q.get("limit"), 200), offset_param(q.get("offset"))
        rows = st.reader.alerts(q, limit + 1, offset)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    nxt = offset + limit if len(rows) > limit else None
    return JSONResponse({"alerts": rows[:limit], "next_offset": nxt})


def alert_one(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    try:
        at = opt_time(request.query_params.get("at"))
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    a = st.reader.alert(request.path_params["alert_id"], at)
    if a is None:
        raise ApiError(404, "no such alert" if at is None else "no such alert at that time")
    over = _overflights(st, a)
    if over is not None:
        a["overflights"] = over
    return JSONResponse(a)


async def _triage_request(request: Request) -> tuple[Principal, ServerState, tuple, float, float]:
    """An operator's triage: who, the server, (action, assignee, comment), the wall time and
    the picture's event time (what replay goes by)."""
    p = _who(request)
    Authenticator.require_operator(p)
    st: ServerState = request.app.state.picket
    body = await read_json(request)
    try:
        what = tri.validate(body)
    except tri.TriageError as e:
        raise ApiError(422, str(e)) from None
    now = wall.time()
    pic_t = st.hub.current().time
    return p, st, what, now, float(pic_t) if np.isfinite(pic_t) else now


async def alert_triage(request: Request) -> Response:
    p, st, (action, assignee, comment), now, ev_t = await _triage_request(request)
    aid = request.path_params["alert_id"]
    a = await run_in_threadpool(st.reader.triage, aid, p.name, action, assignee, comment, now,
                                ev_t)  # fmt: skip
    if a is None:
        raise ApiError(404, "no such alert")
    entry = {"alert_id": aid, "action": action, "who": p.name, "time": iso(now),
             "comment": comment, "assignee": assignee}  # fmt: skip
    st.hub.triage_event(entry, a["triage"], {k: v for k, v in a.items() if k != "log"})
    return JSONResponse(a)


async def layer(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    name = request.path_params["name"]
    if name == "gnss":
        q = _q(request)
        try:
            if q.get("at"):  # the cells open as of then, each as it was then
                qq = {"kind": "gnss.interference", "at": q["at"], "status": "open"}
                rows = await run_in_threadpool(st.reader.alerts, qq, 5000, 0)
            elif q.get("since") or q.get("until"):
                qq = {"kind": "gnss.interference", "since": q.get("since"),
                      "until": q.get("until")}  # fmt: skip
                rows = await run_in_threadpool(st.reader.alerts, qq, 5000, 0)
            else:
                rows = None
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        if rows is None:
            rows = [a for a in list(st.hub.open_alerts.values())
                    if a.get("kind") == "gnss.interference"]  # fmt: skip
        return JSONResponse(gnss_cells(rows))
    if name == "satellites":
        return await _satellites(request, st)
    if name == "harbours":
        return JSONResponse(await run_in_threadpool(lambda: name_harbours(_harbours(st))))
    if name == "places":
        try:
            return JSONResponse(await run_in_threadpool(places_layer, _q(request)))
        except ValueError as e:
            raise ApiError(400, str(e)) from None
    if name not in ("zones", "infrastructure"):
        raise ApiError(404, f"no layer {name}")
    return JSONResponse(st.hub.layers.get(name) or feature_collection([]))


def _sky(st: ServerState) -> Any:
    """The space layer (serve/satellites.SkyLayer) the pipeline published the spec of
    (`picket.static`), the server's own copy, made once per spec."""
    st.hub.sync()
    spec = st.hub.static.get("sky")
    if not spec:
        return None
    key = json.dumps(spec, sort_keys=True)
    if st.sky is None or st.sky[0] != key:
        from picket.serve.satellites import SkyLayer

        try:
            st.sky = (key, SkyLayer.from_spec(spec))
        except (KeyError, TypeError, ValueError) as e:
            log.warning("sky layer spec refused: %s", e)
            st.sky = (key, None)
    return st.sky[1]


async def _satellites(request: Request, st: ServerState) -> Response:
    """Ground tracks and footprints of the satellites over the area around the picture's
    time (or `at`), `window_s` either side (default 600, at most 3600)."""
    q = _q(request)
    try:
        at = opt_time(q.get("at"))
        w = float(q.get("window_s") or 600.0)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    if not 0 < w <= 3600:
        raise ApiError(400, "window_s must be in (0, 3600]")
    sky = _sky(st)
    t = at if at is not None else st.hub.current().time
    if sky is None or not np.isfinite(t):
        return JSONResponse({**feature_collection([]), "properties": {"sky_time": None}})
    return JSONResponse(await run_in_threadpool(sky.geojson, float(t), w))


def _overflights(st: ServerState, rec: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Satellites that could see an alert's or incident's place while it was active (15 min
    either side), when the picture has a space layer."""
    from picket.model.alerts import parse_time

    sky = _sky(st)
    if sky is None or rec.get("lat") is None or rec.get("lon") is None:
        return None
    t0 = parse_time(rec["time"]) - 900.0
    t1 = parse_time(rec.get("closed_time") or rec.get("last_time") or rec["time"]) + 900.0
    return sky.overflights(float(rec["lat"]), float(rec["lon"]), t0, t1)


async def _zone_edit(request: Request, op: str) -> Response:
    """POST (add one), PUT one (`/zones/{id}`) or all, DELETE one: operators only. The
    running pipeline's detectors use the result from their next batch."""
    p = _who(request)
    Authenticator.require_operator(p)
    st: ServerState = request.app.state.picket
    zid = request.path_params.get("zone_id")
    body = None if op == "delete" else await read_json(request, ZONES_LIMIT)
    ed = st.hub.zones
    try:
        if op == "add":
            out: Any = await run_in_threadpool(ed.add, body, p.name)
            status = 201
        elif op == "put" and zid is not None:
            out, status = await run_in_threadpool(ed.replace, zid, body, p.name), 200
        elif op == "put":
            n = await run_in_threadpool(ed.replace_all, body, p.name)
            out, status = {"features": n, "edited_by": p.name}, 200
        else:
            await run_in_threadpool(ed.delete, zid)
            out, status = {"deleted": zid, "edited_by": p.name}, 200
    except ZoneError as e:
        if e.status != 404:
            st.refuse(f"zones.{e.reason}")
            log.info("zone edit refused: %s", e)
        raise ApiError(e.status, str(e)) from None
    st.hub.layer_event("zones", ed.collection())
    return JSONResponse(out, status_code=status)


async def add_zone(request: Request) -> Response:
    return await _zone_edit(request, "add")


async def put_zones(request: Request) -> Response:
    return await _zone_edit(request, "put")


async def delete_zone(request: Request) -> Response:
    return await _zone_edit(request, "delete")


async def kinds(request: Request) -> Response:
    _who(request)
    return JSONResponse(KINDS)


def export(request: Request) -> Response:
    _who(request)
    from picket.serve.area_query import export as export_area

    return export_area(request.app.state.picket, _q(request))


def area_query(request: Request) -> Response:
    """Who was in a box between two times, with trajectories (serve/area_query.py)."""
    _who(request)
    from picket.serve.area_query import query

    return query(request.app.state.picket, _q(request))


# incidents, search, codes, watchlist (serve/incidents.py, search.py, watch.py) ---------
def _incidents(st: ServerState) -> Any:
    if st.reader.store is None:
        raise ApiError(404, "no store configured: incidents are joined from stored alerts")
    st.hub.sync()
    if st.static_seq != st.hub.static_seq:  # the pipeline published (other) rules
        st.incidents = _incident_view(st.hub, st.reader)
        st.static_seq = st.hub.static_seq
    return st.incidents


def incidents(request: Request) -> Response:
    _who(request)
    from picket.serve.incidents import export as export_incidents

    st: ServerState = request.app.state.picket
    q = _q(request)
    fmt = q.get("format") or "json"
    try:
        limit, offset = clamp(q.get("limit"), 200), offset_param(q.get("offset"))
        rows = _incidents(st).list(q, limit + 1, offset)
        if fmt != "json":
            body, media = export_incidents(rows[:limit], fmt)
            return Response(body, media_type=media)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    nxt = offset + limit if len(rows) > limit else None
    return JSONResponse({"incidents": rows[:limit], "next_offset": nxt})


def incident_one(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    try:  # `at`: the incident as it was then (serve/incidents.py)
        rec = _incidents(st).one(request.path_params["incident_id"], _q(request).get("at"))
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    if rec is None:
        raise ApiError(404, "no such incident")
    over = _overflights(st, rec)
    if over is not None:
        rec["overflights"] = over
    return JSONResponse(rec)


async def incident_triage(request: Request) -> Response:
    """Triage an incident as an alert is triaged (operators; the log under its id)."""
    p, st, (action, assignee, comment), now, ev_t = await _triage_request(request)
    iid = request.path_params["incident_id"]
    rec = await run_in_threadpool(_incidents(st).triage, iid, p.name, action, assignee, comment,
                                  now, ev_t)  # fmt: skip
    if rec is None:
        raise ApiError(404, "no such incident")
    st.hub.events.publish("incident", {"incident_id": iid, "action": action, "who": p.name,
                                       "time": iso(now), "triage": rec["triage"]})  # fmt: skip
    return JSONResponse(rec)


def search(request: Request) -> Response:
    _who(request)
    from picket.serve.search import MAX_RESULTS, parse_query
    from picket.serve.search import search as run_search

    st: ServerState = request.app.state.picket
    q = _q(request)
    try:
        text = parse_query(q.get("q"))
        limit = min(clamp(q.get("limit"), 20), MAX_RESULTS)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    statics = getattr(st.hub.tracks_ref, "statics", {}) or {}
    rows = run_search(st.hub.current(), statics, text, limit)
    return JSONResponse({"q": text, "results": rows})


def _watchlist(st: ServerState) -> Any:
    if st.reader.store is None:
        raise ApiError(404, "no store configured: watchlist entries are kept in the store")
    return st.watchlist


def watchlist(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    return JSONResponse({"entries": _watchlist(st).entries()})


async def watchlist_add(request: Request) -> Response:
    """Add (or replace, same match) an entry: operators, as triage."""
    from picket.detect.watchlist import WatchlistError
    from picket.serve.watch import validate

    p = _who(request)
    Authenticator.require_operator(p)
    st: ServerState = request.app.state.picket
    body = await read_json(request)
    wl = _watchlist(st)
    try:
        entry = await run_in_threadpool(wl.add, validate(body, p.name))
    except WatchlistError as e:
        raise ApiError(422, str(e)) from None
    st.hub.events.publish("watchlist", {"action": "add", "entry": entry})
    return JSONResponse(entry, status_code=201)


async def watchlist_delete(request: Request) -> Response:
    p = _who(request)
    Authenticator.require_operator(p)
    st: ServerState = request.app.state.picket
    eid = request.path_params["entry_id"]
    if not await run_in_threadpool(_watchlist(st).delete, eid):
        raise ApiError(404, "no such watchlist entry")
    st.hub.events.publish("watchlist", {"action": "delete", "id": eid, "who": p.name})
    return JSONResponse({"deleted": eid, "who": p.name})


async def codes(request: Request) -> Response:
    _who(request)
    from picket.model.codes import all_codes

    return JSONResponse(all_codes())


def _harbours(st: ServerState) -> dict[str, Any]:
    """Harbours and anchorages learned from the traffic (detect/harbours.py): the running
    pipeline's as it last published them on the bus, else those kept in the store."""
    from picket.detect.harbours import HarbourLearner

    st.hub.sync()
    cells = st.hub.harbour_cells
    if cells is not None:
        copy = HarbourLearner()
        copy.cells = cells
        return copy.geojson()
    store = st.reader.store
    if store is None:
        return feature_collection([])
    from picket.store.harbours import harbours_geojson

    with st.reader.lock:
        return harbours_geojson(store)


# SSE ------------------------------------------------------------------------------------
class _CountedStream(StreamingResponse):
    """A streaming response that gives its slot back however it ends (also when the client
    left before the first byte, when the body generator never starts), and drops a client
    whose socket takes no event for `slow_s` (the slow-client rule, as for WebSockets)."""

    def __init__(self, *args: Any, release: Any, st: ServerState, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._release, self._st = release, st

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        st = self._st

        async def timed(message: Any) -> None:
            try:
                await asyncio.wait_for(send(message), st.slow_s)
            except TimeoutError:
                st.sse_dropped_slow += 1
                log.info("dropped a slow SSE client (%.0f s on one event)", st.slow_s)
                _abort_transport(scope.get("picket.transport"))
                raise

        try:
            await super().__call__(scope, receive, timed)
        except TimeoutError:
            pass
        finally:
            self._release()


def _over_cap(st: ServerState, what: str) -> ApiError:
    st.refuse(f"{what}_cap")
    return ApiError(503, f"too many {what} clients (at most "
                    f"{st.max_ws if what == 'ws' else st.max_sse}); retry later",
                    {"retry-after": str(RETRY_AFTER_S)})  # fmt: skip


async def alert_stream(request: Request) -> Response:
    _who(request)
    st: ServerState = request.app.state.picket
    log = st.hub.events
    last = request.headers.get("last-event-id") or request.query_params.get("last_id")
    start = log.parse_id(last)
    # check and count with no await between: a burst of connects cannot pass the cap
    if st.sse_clients >= st.max_sse:
        raise _over_cap(st, "sse")
    st.sse_clients += 1
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            st.sse_clients -= 1

    loop = asyncio.get_running_loop()
    ev = asyncio.Event()

    async def gen():
        waiter = (loop, ev)
        log.waiters.add(waiter)
        try:
            yield b"retry: 2000\n\n"
            seq = start
            if seq is None:
                seq = log.seq_now()
                yield format_event("reset", json.dumps({"reason": "unknown last id"}))
            while True:
                ev.clear()
                for s, name, data in log.since(seq):
                    yield format_event(name, data, log.eid(s))
                    seq = s
                try:
                    await asyncio.wait_for(ev.wait(), PING_S)
                except TimeoutError:
                    yield b": ping\n\n"
        finally:
            log.waiters.discard(waiter)

    headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
    try:
        return _CountedStream(gen(), media_type="text/event-stream", headers=headers,
                              release=release, st=st)  # fmt: skip
    except BaseException:
        release()
        raise


# WebSocket ------------------------------------------------------------------------------
async def _deny(ws: WebSocket, status: int, detail: str, headers: dict | None = None) -> None:
    """Refuse the upgrade with an HTTP answer (503 over the cap, as REST would say it)."""
    from picket.serve.security import SECURITY_HEADERS

    extra = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
    resp = JSONResponse({"detail": detail}, status_code=status,
                        headers={**extra, **(headers or {})})  # fmt: skip
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(resp)
    else:
        await ws.close(code=1013 if status == 503 else 1008)


def _abort(ws: WebSocket) -> None:
    """Drop a client's connection at once, without flushing what it has not read: a close
    frame would queue behind the very bytes it does not take. The transport is uvicorn's,
    put in the scope by `_App`; without it, the close is left to the caller's timeout."""
    _abort_transport(ws.scope.get("picket.transport"))


def _abort_transport(transport: Any) -> None:
    if transport is None or not hasattr(transport, "abort"):
        log.warning("cannot abort a slow client's connection; closing it instead")
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # reset: the kernel drops the unsent bytes too (no lingering FIN)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def ws_tracks(ws: WebSocket) -> None:
    st: ServerState = ws.app.state.picket
    try:
        p = _who(ws)
        view = ViewKey.parse(ws.query_params.get("domain"), ws.query_params.get("bbox"))
    except AuthError as e:
        await _deny(ws, e.status, e.detail)
        return
    except ValueError as e:
        await _deny(ws, 400, str(e))
        return
    # check and count with no await between: a burst of upgrades cannot pass the cap
    if st.ws_clients >= st.max_ws:
        st.refuse("ws_cap")
        await _deny(ws, 503, f"too many WebSocket clients (at most {st.max_ws}); retry later",
                    {"retry-after": str(RETRY_AFTER_S)})  # fmt: skip
        return
    st.ws_clients += 1
    try:
        await ws.accept()
    except BaseException:
        st.ws_clients -= 1
        raise
    hub = st.hub
    client = hub.subscribe(asyncio.get_running_loop(), view, p.role)
    replay_task: asyncio.Task | None = None
    progress: dict[str, Any] = {"t": asyncio.get_running_loop().time(), "sending": False}

    async def sender() -> None:
        await ws.send_text(json.dumps({"type": "hello", "boot": hub.boot, "tick_s": hub.tick_s,
                                       "role": p.role}))  # fmt: skip
        while True:
            kind, item = await client.queue.get()
            progress["sending"] = True
            if kind == "bytes":
                await ws.send_bytes(item)
            else:
                await ws.send_text(item)
            progress["sending"] = False
            progress["t"] = asyncio.get_running_loop().time()
            client.overflows = 0

    async def watchdog() -> None:
        """The slow-client rule: no frame taken for `slow_s` while frames wait: dropped."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, st.slow_s / 4))
            waiting = progress["sending"] or not client.queue.empty() or client.overflows
            if waiting and loop.time() - progress["t"] > st.slow_s:
                st.ws_dropped_slow += 1
                progress["dropped"] = True
                log.info("dropped a slow WebSocket client (%.0f s without taking a frame)",
                         loop.time() - progress["t"])  # fmt: skip
                _abort(ws)
                receive_task.cancel()
                return

    send_task = asyncio.create_task(sender())
    receive_task = asyncio.current_task()
    dog = asyncio.create_task(watchdog())
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                break
            text = msg.get("text")
            if text is None:
                continue
            if len(text) > WS_TEXT_LIMIT:
                await ws.close(code=1009)
                break
            try:
                cmd = json.loads(text)
                typ = cmd.get("type")
                if typ == "view":
                    hub.change_view(client, ViewKey.parse(cmd.get("domain"), cmd.get("bbox")))
                elif typ == "replay":
                    window = replay_window(cmd)
                    if replay_task:
                        replay_task.cancel()
                    replay_task = asyncio.create_task(_replay(st, client, *window))
                    replay_task.add_done_callback(_replay_done)
                elif typ == "live":
                    if replay_task:
                        replay_task.cancel()
                        replay_task = None
                    client.paused, client.needs_keyframe = False, True
                else:
                    raise ValueError(f"unknown message type {typ!r}")
            except (ValueError, AttributeError, TypeError) as e:
                await client.queue.put(("text", json.dumps({"type": "error", "detail": str(e)})))
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        if not progress.get("dropped"):
            raise
    finally:
        hub.unsubscribe(client)
        st.ws_clients -= 1
        send_task.cancel()
        dog.cancel()
        if replay_task:
            replay_task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 1.0)


def _replay_done(task: asyncio.Task) -> None:
    """A replay that failed is logged (the client sees its stream stop)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("replay failed", exc_info=task.exception())


def replay_window(cmd: dict[str, Any]) -> tuple[float, float, float]:
    """(since, until, speed) of a replay request, checked before anything runs."""
    since, until = opt_time(str(cmd.get("since", ""))), opt_time(str(cmd.get("until", "")))
    try:
        speed = float(cmd.get("speed") or 1.0)
    except (TypeError, ValueError):
        raise ValueError("replay speed must be a number") from None
    if since is None or until is None or until <= since or not 0 < speed < 1e9:
        raise ValueError("replay needs since < until and 0 < speed < 1e9")
    return since, until, speed


async def _replay(st: ServerState, client: Any, since: float, until: float,
                  speed: float) -> None:  # fmt: skip
    client.paused = True
    q = client.queue
    while not q.empty():
        q.get_nowait()
    hub = st.hub
    # the picture as it was at `since` (each track's newest point then), and what followed
    # read page by page as the steps reach them (bounded memory whatever the window)
    pts = st.reader.point_pages(since, until, MAX_DROP_S)
    # the alerts as they were at `since`, then every change in the window as of its step
    first = await run_in_threadpool(st.reader.alerts, {"at": str(since)}, 5000, 0)
    changes = await run_in_threadpool(st.reader.changes, since, until)
    table = hub.tracks_ref
    id_of = dict(getattr(table, "_index", {}) or {})
    step = speed * hub.tick_s
    info = {"type": "replay", "state": "start", "since": iso(since), "until": iso(until),
            "speed": speed}  # fmt: skip
    await q.put(("text", json.dumps(info)))
    gnss = {a["id"]: a for a in first if a["kind"] == "gnss.interference"}
    await q.put(("text", json.dumps({"type": "replay_alerts", "reset": True, "time": iso(since),
                                     "alerts": first})))  # fmt: skip
    await q.put(("text", _gnss_message(gnss, since)))
    gen = replay_steps(pts, changes, since, until, step, id_of, labels=dict(hub.labels),
                       state_at=st.reader.alerts_for, first=first)  # fmt: skip
    sentinel = object()
    while True:
        t0 = asyncio.get_running_loop().time()
        item = await run_in_threadpool(next, gen, sentinel)
        if item is sentinel:
            break
        meta, data, fired = item
        if meta:
            await q.put(("text", json.dumps({"type": "meta", "tracks": meta})))
        await q.put(("bytes", data))
        if fired:
            t = frames.decode(data).time
            await q.put(("text", json.dumps({"type": "replay_alerts", "time": iso(t),
                                             "alerts": fired})))  # fmt: skip
            cells = [a for a in fired if a["kind"] == "gnss.interference"]
            if cells:
                gnss.update({a["id"]: a for a in cells})
                await q.put(("text", _gnss_message(gnss, t)))
        await asyncio.sleep(max(0.0, hub.tick_s - (asyncio.get_running_loop().time() - t0)))
    await q.put(("text", json.dumps({**info, "state": "end"})))


def _gnss_message(states: dict[str, dict[str, Any]], t: float) -> str:
    """The GNSS interference cells open at replay time `t`, as the `layers/gnss` GeoJSON."""
    cells = gnss_cells([a for a in states.values() if a.get("status") == "open"])
    return json.dumps({"type": "replay_layer", "layer": "gnss", "time": iso(t), "data": cells})


# errors ---------------------------------------------------------------------------------
async def _api_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status,  # type: ignore[attr-defined]
                        headers=getattr(exc, "headers", None))  # fmt: skip


async def _lookup_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def build_app(
    hub: LiveHub,
    store: Any = None,
    static_dir: str | Path | None = None,
    tokens: dict | None = None,
    cors_origins: list[str] | None = None,
    data_dir: str | Path | None = None,
    allowed_hosts: list[str] | None = None,
    max_ws: int = MAX_WS,
    max_sse: int = MAX_SSE,
    slow_s: float = SLOW_S,
) -> Starlette:
    """The application. `allowed_hosts`: `Host` names served besides loopback's (without
    tokens only loopback names are; with tokens any, unless this names them)."""
    from picket.serve.auth import normalise_tokens
    from picket.serve.security import BrowserGuard

    reader = StoreReader(store)
    ddir = Path(data_dir) if data_dir else (reader.store.path.parent if reader.store else None)
    auth = Authenticator(normalise_tokens(tokens))
    state = ServerState(hub, reader, auth, ddir, max_ws, max_sse, slow_s)
    state.incidents = _incident_view(hub, reader)
    state.static_seq = hub.static_seq
    from picket.serve.watch import Watchlist

    # the entries reach the running detector as `picket.cmd.watchlist` commands on the bus
    # (serve/live_sink.py applies them between batches), never through its memory
    state.watchlist = Watchlist(reader)
    box = _CommandBox(hub)
    box.set(list(state.watchlist.box.rows))  # the stored entries, for the pipeline's start
    state.watchlist.box = box
    sky = _sky(state)
    if sky is not None:  # propagate the catalogue while the picture starts, not at first click
        import threading

        threading.Thread(target=sky.ensure, name="picket-sky", daemon=True).start()
    if hub.zones.attach(ddir):  # edits kept from an earlier run win over the configured zones
        hub.layers["zones"] = hub.zones.collection()
    else:
        hub.zones.seed_geojson(hub.layers.get("zones"))
    routes: list[Any] = [
        Route("/api/health", health),
        Route("/api/metrics", metrics),
        Route("/metrics", prometheus_metrics),
        Route("/api/tracks", tracks),
        Route("/api/tracks/{subject}/history", track_history),
        Route("/api/tracks/{subject}", track_one),
        Route("/api/alerts", alerts),
        Route("/api/alerts/stream", alert_stream),
        Route("/api/alerts/{alert_id}/triage", alert_triage, methods=["POST"]),
        Route("/api/alerts/{alert_id}", alert_one),
        Route("/api/layers/zones", put_zones, methods=["PUT"]),
        Route("/api/layers/zones", add_zone, methods=["POST"]),
        Route("/api/layers/zones/{zone_id}", put_zones, methods=["PUT"]),
        Route("/api/layers/zones/{zone_id}", delete_zone, methods=["DELETE"]),
        Route("/api/layers/{name}", layer),
        Route("/api/kinds", kinds),
        Route("/api/incidents", incidents),
        Route("/api/incidents/{incident_id}/triage", incident_triage, methods=["POST"]),
        Route("/api/incidents/{incident_id}", incident_one),
        Route("/api/search", search),
        Route("/api/codes", codes),
        Route("/api/watchlist", watchlist, methods=["GET"]),
        Route("/api/watchlist", watchlist_add, methods=["POST"]),
        Route("/api/watchlist/{entry_id}", watchlist_delete, methods=["DELETE"]),
        Route("/api/export", export),
        Route("/api/query", area_query),
        WebSocketRoute("/api/ws/tracks", ws_tracks),
        Route("/api/{rest:path}", _not_found),
    ]
    sdir = Path(static_dir) if static_dir else None
    if sdir is not None and (sdir / "index.html").exists():
        routes.append(Mount("/", StaticFiles(directory=sdir, html=True)))
    else:
        routes.append(Route("/{rest:path}", lambda r: HTMLResponse(NOT_BUILT)))
    middleware = [Middleware(BrowserGuard, allowed_hosts=allowed_hosts or (),
                             allowed_origins=cors_origins or (),
                             check_host=auth.tokens is None or bool(allowed_hosts),
                             on_refuse=state.refuse)]  # fmt: skip
    if cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(cors_origins),
                                     allow_methods=["GET", "POST", "PUT", "DELETE"],
                                     allow_headers=["authorization", "content-type",
                                                    "last-event-id"]))  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        hub.start()
        try:
            yield
        finally:
            reader.close()

    app = _App(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={ApiError: _api_error, AuthError: _api_error,
                                        LookupError: _lookup_error})  # fmt: skip
    app.state.picket = state
    return app


class _CommandBox:
    """The API's watchlist entries: each change goes out as one `picket.cmd.watchlist`
    command (the whole list; the newest wins) for the pipeline's edge to apply."""

    def __init__(self, hub: LiveHub) -> None:
        self.hub = hub
        self.rows: tuple[dict[str, Any], ...] = ()

    def set(self, rows: list[dict[str, Any]]) -> None:
        self.rows = tuple(dict(r) for r in rows)
        body = json.dumps({"rows": list(self.rows)}, default=str)
        self.hub.bus.publish(f"{CMD}.watchlist", body.encode())


def _incident_view(hub: LiveHub, reader: StoreReader) -> Any:
    """The incidents over the server's store, with the `[incidents]` rules the pipeline
    published (`picket.static`) or `picket serve`'s config, else the defaults."""
    from picket.detect.incidents import IncidentRules
    from picket.serve.incidents import Incidents

    hub.sync()
    rules = hub.static.get("incidents")
    rules = rules if rules is not None else hub.incident_rules
    return Incidents(reader, IncidentRules.from_dict(rules if isinstance(rules, dict) else None),
                     hub)  # fmt: skip


class _App(Starlette):
    """Starlette that keeps the server's connection in the scope (`picket.transport`), from
    `send` as the server gave it, before middleware wraps it: the slow-client rule resets
    that connection (`_abort_transport`)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            owner = getattr(send, "__self__", None)
            scope["picket.transport"] = getattr(owner, "transport", None)
        if scope["type"] == "http":  # outside every middleware: a 500 carries them too
            send = with_headers(send)
        await super().__call__(scope, receive, send)


async def _not_found(request: Request) -> Response:
    raise ApiError(404, "no such API path")
