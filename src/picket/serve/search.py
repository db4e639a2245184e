"""`/api/search?q=`: find a subject in the live picture by what an analyst knows of it.

Fields: the subject itself (`mmsi:...`, `icao:...`, or the bare MMSI / ICAO address),
name, call sign, IMO and registration where the identity messages carried them (the
track table's statics), and the label the picture shows. Matching is case-insensitive:
exact beats prefix beats substring, newer reports break ties. One pass over the picture
per query (20,000 tracks: a few ms), nothing kept between queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from picket.model.alerts import iso
from picket.model.subjects import format_subject
from picket.model.text import clean_text
from picket.serve.picture import DOMAIN_NAMES, Picture, gid_text, track_gids

MAX_Q = 64
MAX_RESULTS = 200
FIELDS = ("name", "callsign", "imo", "registration")


def parse_query(q: str | None) -> str:
    """The search text: cleaned, 1-64 characters (ValueError: a 400)."""
    text = clean_text(q, MAX_Q + 1).strip() if q else ""
    if not text:
        raise ValueError("q must be 1 to 64 characters")
    if len(text) > MAX_Q:
        raise ValueError(f"q must be at most {MAX_Q} characters")
    return text.upper()


def _rank(value: str, q: str) -> int:
    """0 exact, 1 prefix, 2 substring, -1 no match (both upper case)."""
    if value == q:
        return 0
    if value.startswith(q):
        return 1
    return 2 if q in value else -1


def search(pic: Picture, statics: dict[int, dict[str, Any]], text: str,
           limit: int = 20) -> list[dict[str, Any]]:  # fmt: skip
    """Subjects of the picture matching `text` (upper case), best first."""
    c = pic.cols
    found: list[tuple[int, float, int, str, str]] = []  # rank, -time, row, field, value
    alive = pic.alive() if len(pic) else np.zeros(0, bool)
    for i in np.flatnonzero(alive).tolist():
        key = int(c["subject"][i])
        subj = format_subject(key) or str(key)
        cands = [("subject", subj.upper()), ("subject", subj.split(":", 1)[-1].upper())]
        st = statics.get(key) or {}
        cands += [(f, str(st[f]).strip().upper()) for f in FIELDS if st.get(f) not in (None, "")]
        lab = pic.labels.get(int(c["id"][i]))
        if lab:
            cands.append(("label", lab.strip().upper()))
        best = None
        for f, v in cands:
            r = _rank(v, text)
            if r >= 0 and (best is None or r < best[0]):
                best = (r, f, v)
        if best is not None:
            t = float(c["last_time"][i])
            found.append((best[0], -t if np.isfinite(t) else 0.0, i, best[1], best[2]))
    found.sort()
    out = []
    for r, _, i, f, _v in found[:limit]:
        key = int(c["subject"][i])
        st = statics.get(key) or {}

        def num(k: str, nd: int, i: int = i) -> float | None:
            v = float(c[k][i])
            return round(v, nd) if np.isfinite(v) else None

        t = float(c["last_time"][i])
        out.append({
            "subject": format_subject(key), "id": gid_text(track_gids(pic, [i])[0]),
            "wire_id": int(c["id"][i]),
            "domain": DOMAIN_NAMES.get(int(c["domain"][i]), "none"),
            "label": pic.labels.get(int(c["id"][i])) or format_subject(key),
            "lat": num("lat", 6), "lon": num("lon", 6), "alt": num("alt", 0),
            "time": iso(t) if np.isfinite(t) else None, "matched": f,
            "match": ("exact", "prefix", "contains")[r],
            "static": {k: v for k, v in st.items() if isinstance(v, str | int | float | bool)},
        })  # fmt: skip
    return out
