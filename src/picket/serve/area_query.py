"""The API's area and time queries and exports: what `/api/export` and `/api/query` answer."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from picket.serve.queries import select_tracks


def export(st: Any, q: dict[str, str]) -> Response:
    """A snapshot of the live picture as GeoJSON, KML or KMZ."""
    from picket.serve.app import ApiError
    from picket.share.export import export_picture

    fmt = q.get("format", "geojson")
    layers = [x for x in (q.get("layers") or "tracks,alerts,zones").split(",") if x]
    try:
        pic = st.hub.current()
        idx = select_tracks(pic, q)
        alert_rows = st.reader.alerts(q, 5000, 0) if "alerts" in layers else []
        data, ctype = export_picture(fmt, pic, idx, alert_rows, st.hub.layers.get("zones"),
                                     layers)  # fmt: skip
    except ValueError as e:
        raise ApiError(400, str(e)) from None
    ext = {"geojson": "geojson", "kml": "kml", "kmz": "kmz"}[fmt]
    return Response(
        data,
        media_type=ctype,
        headers={"content-disposition": f'attachment; filename="picket.{ext}"'},
    )


def query(st: Any, q: dict[str, str]) -> Response:
    """Not built yet (issue 17 item 5): answers 501 so no client mistakes it for an empty box."""
    return JSONResponse({"detail": "area query not available yet"}, status_code=501)
