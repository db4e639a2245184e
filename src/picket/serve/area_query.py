"""The API's area and time queries and exports: what `/api/export` and `/api/query` answer.

Both read the stored track history page by page (`StoreReader.point_pages`), twice at most
(who was in the box, then their points), so a request costs memory in proportion to its
answer; caps on the points read and answered keep one request from holding the store.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.responses import JSONResponse, Response

from picket.serve.picture import DOMAIN_CODES
from picket.serve.queries import opt_time, select_tracks

MAX_SCAN = 5_000_000  # stored points a query may read (first pass); more: 400
MAX_POINTS = 1_000_000  # points a query may answer; more: 400
MAX_WINDOW_S = 31 * 86400.0  # since..until given together: at most a month
QUERY_TYPES = {"json": ("application/json", "json"), "csv": ("text/csv", "csv"),
               "geojson": ("application/geo+json", "geojson"),
               "kml": ("application/vnd.google-earth.kml+xml", "kml"),
               "geoparquet": ("application/vnd.apache.parquet", "parquet")}  # fmt: skip


def _bbox(v: str | None) -> tuple[float, float, float, float] | None:
    """`west,south,east,north` in degrees, not rounded (west > east crosses 180°)."""
    if v in (None, ""):
        return None
    try:
        vals = [float(x) for x in str(v).split(",")]
    except ValueError:
        raise ValueError("bbox must be west,south,east,north in degrees") from None
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise ValueError("bbox must be west,south,east,north in degrees")
    w, s, e, n = vals
    if not (-90 <= s <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise ValueError("bbox out of range (west,south,east,north in degrees, south <= north)")
    return w, s, e, n


def _domains(v: str | None) -> tuple[int, ...] | None:
    if not v:
        return None
    names = [x for x in v.split(",") if x]
    bad = [x for x in names if x not in DOMAIN_CODES]
    if bad:
        raise ValueError(f"unknown domain {bad[0][:20]!r}; one of {', '.join(DOMAIN_CODES)}")
    return tuple(DOMAIN_CODES[x] for x in names)


def _window(st: Any, q: dict[str, str]) -> tuple[float, float]:
    """since..until: by default the whole stored window (until = the newest stored time)."""
    since, until = opt_time(q.get("since")), opt_time(q.get("until"))
    if since is not None and until is not None:
        if until < since:
            raise ValueError("until is before since")
        if until - since > MAX_WINDOW_S:
            raise ValueError(f"window longer than {MAX_WINDOW_S / 86400:.0f} days")
    if until is None:
        until = st.reader.latest_time()  # fixed, so both passes read the same window
        until = np.inf if until is None else until
    return (-np.inf if since is None else since), until


def _labels(st: Any) -> dict[int, str]:
    """Subject -> name or callsign, from the live picture (the store keeps no statics)."""
    pic = st.hub.current()
    if not pic.labels or not len(pic):
        return {}
    ids = pic["id"].tolist()
    subj = pic["subject"].tolist()
    return {s: pic.labels[i] for i, s in zip(ids, subj, strict=True) if i in pic.labels}


def trajectories(st: Any, q: dict[str, str]) -> Any:
    """The trajectories a request asks for (ValueError: a 400 with the reason)."""
    from picket.share.trajectories import gather

    if st.reader.store is None:
        raise ValueError("no store: trajectories are read from stored track history")
    bbox, domains = _bbox(q.get("bbox")), _domains(q.get("domain"))
    since, until = _window(st, q)
    return gather(lambda: st.reader.point_pages(since, until), bbox, domains,
                  max_scan=MAX_SCAN, max_points=MAX_POINTS)  # fmt: skip


def query(st: Any, q: dict[str, str]) -> Response:
    """Who was in `bbox` between `since` and `until`, with their trajectories (every stored
    point of the window, inside the box or not), as JSON or a file (`format`)."""
    from picket.serve.app import ApiError
    from picket.share.trajectories import to_json, write

    fmt = q.get("format") or "json"
    if fmt not in QUERY_TYPES:
        raise ApiError(400, f"format must be one of {', '.join(QUERY_TYPES)}")
    try:
        tr = trajectories(st, q)
        if fmt == "json":
            return JSONResponse(to_json(tr, _labels(st)))
        data = write(fmt, tr)
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    ctype, ext = QUERY_TYPES[fmt]
    return Response(data, media_type=ctype,
                    headers={"content-disposition": f'attachment; filename="picket.{ext}"'})


def export(st: Any, q: dict[str, str]) -> Response:
    """Tracks, alerts and zones as GeoJSON, KML or KMZ. Tracks are trajectories over the
    whole stored window by default (`since`/`until`/`bbox`/`domain` narrow it); `at=T` is
    the snapshot of the picture as of T, `at=now` (or no store) the live picture's."""
    from picket.serve.app import ApiError
    from picket.share.export import export_picture

    fmt = q.get("format", "geojson")
    layers = [x for x in (q.get("layers") or "tracks,alerts,zones").split(",") if x]
    try:
        at = q.get("at")
        snapshot = bool(at) or st.reader.store is None
        if snapshot:
            pic = st.hub.current() if at in (None, "", "now") else st.reader.picture_at(
                opt_time(at))  # fmt: skip
            idx = select_tracks(pic, q)
            tr, labels = None, None
        else:
            pic, idx = None, None
            tr = trajectories(st, q) if "tracks" in layers else None
            labels = _labels(st)
        alert_rows = st.reader.alerts(q, 5000, 0) if "alerts" in layers else []
        data, ctype = export_picture(fmt, pic, idx, alert_rows, st.hub.layers.get("zones"),
                                     layers, trajectories=tr, labels=labels)  # fmt: skip
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    ext = {"geojson": "geojson", "kml": "kml", "kmz": "kmz"}[fmt]
    return Response(
        data,
        media_type=ctype,
        headers={"content-disposition": f'attachment; filename="picket.{ext}"'},
    )
