"""CCSDS Orbit Mean-elements Messages (OMM) in CSV, JSON, XML and KVN.

All four carry the same keywords (CelesTrak/Space-Track GP names), so each
reader only collects keyword -> list of texts per record; `from_keywords`
converts every keyword column at once with NumPy and rejects records whose
elements are missing or impossible. OMM carries the catalogue number as a
plain integer, so six-digit numbers need nothing special.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import numpy as np

from picket.model.parse import floats, iso_seconds
from picket.model.rejects import Rejects
from picket.model.text import clean_text, csv_lines
from picket.space.elements import ElementSets

REQUIRED = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
            "ARG_OF_PERICENTER", "MEAN_ANOMALY", "NORAD_CAT_ID")  # fmt: skip
KEYWORDS = (*REQUIRED, "OBJECT_NAME", "OBJECT_ID", "BSTAR", "MEAN_MOTION_DOT",
            "MEAN_MOTION_DDOT", "ELEMENT_SET_NO", "REV_AT_EPOCH", "CLASSIFICATION_TYPE",
            "EPHEMERIS_TYPE")  # fmt: skip


def _epochs(texts: Sequence[object]) -> np.ndarray:
    """ISO 8601 epochs (UTC, optional Z) to unix seconds; bad ones NaN."""
    return iso_seconds([("" if t is None else str(t).strip().removesuffix("Z")) for t in texts])


def _raw(x: object) -> str:
    """The rejected record as text (made only for rejects)."""
    if isinstance(x, ET.Element):
        return ET.tostring(x, encoding="unicode")[:400]
    if isinstance(x, dict):
        return json.dumps(x, default=str)[:400]
    return str(x)[:400]


def from_keywords(
    recs: dict[str, list[object]],
    n: int,
    rejects: Rejects,
    source: str,
    where: Sequence[str],
    raws: Sequence[object],
    fmt: str,
    rows: Sequence[int],
) -> ElementSets:
    """Columns of keyword texts (one list per keyword, n records) to element sets."""
    if n == 0:
        return ElementSets.empty()

    def col(k: str) -> list[object]:
        return recs.get(k) or [None] * n

    epoch = _epochs(col("EPOCH"))
    mm, ecc, inc = floats(col("MEAN_MOTION")), floats(col("ECCENTRICITY")), floats(
        col("INCLINATION"))  # fmt: skip
    raan, argp, mo = floats(col("RA_OF_ASC_NODE")), floats(col("ARG_OF_PERICENTER")), floats(
        col("MEAN_ANOMALY"))  # fmt: skip
    norad = floats(col("NORAD_CAT_ID"))
    good = (
        np.isfinite(epoch) & np.isfinite(mm) & (mm > 0) & np.isfinite(ecc) & (ecc >= 0)
        & (ecc < 1) & np.isfinite(inc) & (inc >= 0) & (inc <= 180) & np.isfinite(raan)
        & np.isfinite(argp) & np.isfinite(mo) & np.isfinite(norad) & (norad > 0)
        & (norad == np.floor(norad)) & (norad < 2**40)
    )  # fmt: skip
    for i in np.flatnonzero(~good):
        rejects.reject(f"{fmt}.elements", where[i], _raw(raws[i]))
    rejects.accept(int(good.sum()))
    g = np.flatnonzero(good)

    def text(k: str) -> np.ndarray:
        vals = col(k)
        return np.array([clean_text("" if vals[i] is None else str(vals[i]), MAX_TEXT)
                         for i in g.tolist()], dtype=str)  # fmt: skip

    def num(k: str, fill: float = 0.0) -> np.ndarray:
        return np.nan_to_num(floats(col(k))[g], nan=fill)

    return ElementSets(
        norad=norad[g].astype(np.int64),
        name=text("OBJECT_NAME"),
        object_id=text("OBJECT_ID"),
        epoch=epoch[g],
        mean_motion=mm[g],
        ecc=ecc[g],
        incl=inc[g],
        raan=raan[g],
        argp=argp[g],
        mean_anomaly=mo[g],
        bstar=num("BSTAR"),
        ndot=num("MEAN_MOTION_DOT"),
        nddot=num("MEAN_MOTION_DDOT"),
        elset_no=num("ELEMENT_SET_NO", -1).astype(np.int32),
        rev_at_epoch=num("REV_AT_EPOCH", -1).astype(np.int64),
        classification=np.char.upper(text("CLASSIFICATION_TYPE").astype("U1")),
        provider=np.full(len(g), source),
        row=np.asarray(rows, dtype=np.int64)[g],
    )


def parse_csv(data: bytes, rejects: Rejects, source: str, first_line: int = 1) -> ElementSets:
    """OMM CSV with a header row (CelesTrak GP CSV)."""
    text = data.decode("utf-8", "replace").split("\n")
    if text and text[-1] == "":
        text.pop()
    rows = csv_lines([x.removesuffix("\r") for x in text])
    if not rows:
        return ElementSets.empty()
    header = [h.strip().upper() for h in rows[0]]
    if "NORAD_CAT_ID" not in header or "MEAN_MOTION" not in header:
        n = sum(1 for r in rows[1:] if r)  # every row it would have named: counted once each
        if n:
            rejects.reject("omm-csv.header", f"{source}:{first_line}", ",".join(rows[0])[:400],
                           n=n)  # fmt: skip
        return ElementSets.empty()
    body, where, raws, nums = [], [], [], []
    for k, r in enumerate(rows[1:], start=first_line + 1):
        if not r:
            continue  # an empty line (an over-long one was counted where it was cut)
        if len(r) != len(header):
            rejects.reject("omm-csv.columns", f"{source}:{k}", ",".join(r))
            continue
        body.append(r)
        nums.append(k)
    where = [f"{source}:{k}" for k in nums]
    raws = [",".join(r) for r in body]
    cols = list(zip(*body, strict=True)) if body else [() for _ in header]
    recs = {h: list(c) for h, c in zip(header, cols, strict=True) if h in KEYWORDS}
    return from_keywords(recs, len(body), rejects, source, where, raws, "omm-csv", nums)


def parse_json(data: bytes, rejects: Rejects, source: str) -> ElementSets:
    """OMM JSON: a list of flat objects (CelesTrak / Space-Track GP JSON), or one object."""
    try:
        doc = json.loads(data.decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError) as e:
        rejects.reject("omm-json.syntax", f"{source}:{getattr(e, 'pos', 0)}", data[:200])
        return ElementSets.empty()
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        rejects.reject("omm-json.shape", f"{source}:0", data[:200])
        return ElementSets.empty()
    recs: dict[str, list[object]] = {k: [] for k in KEYWORDS}
    where, raws = [], []
    for i, d in enumerate(doc):
        if not isinstance(d, dict):
            rejects.reject("omm-json.record", f"{source}:record {i}", json.dumps(d)[:200])
            continue
        up = {str(k).upper(): v for k, v in d.items()}
        for k in KEYWORDS:
            recs[k].append(up.get(k))
        where.append(f"{source}:{i}")
        raws.append(d)
    return from_keywords(
        recs, len(where), rejects, source, where, raws, "omm-json", range(len(where))
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].upper()


def parse_xml(data: bytes, rejects: Rejects, source: str) -> ElementSets:
    """OMM XML (NDM/XML): every <omm> or <segment> element is one element set.

    OMM needs no DTD: a document declaring one (entities, external references) is refused.
    """
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        rejects.reject("omm-xml.doctype", f"{source}:0", data[:200])
        return ElementSets.empty()
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        rejects.reject("omm-xml.syntax", f"{source}:{e.position[0]}", data[:200])
        return ElementSets.empty()
    segs = [el for el in root.iter() if _local(el.tag) == "SEGMENT"]
    recs: dict[str, list[object]] = {k: [] for k in KEYWORDS}
    where, raws = [], []
    for i, seg in enumerate(segs):
        vals = {_local(el.tag): (el.text or "") for el in seg.iter() if len(el) == 0}
        for k in KEYWORDS:
            recs[k].append(vals.get(k))
        where.append(f"{source}:segment {i}")
        raws.append(seg)
    if not segs:
        rejects.reject("omm-xml.no_segment", f"{source}:0", data[:200])
    return from_keywords(
        recs, len(where), rejects, source, where, raws, "omm-xml", range(len(where))
    )


_KEY = re.compile(r"[A-Z_0-9]+")  # matched whole on a short string: linear
MAX_KVN_LINE = 4096
MAX_TEXT = 64  # OBJECT_NAME and OBJECT_ID: CelesTrak's are at most 25 characters


def _kvn_line(s: str) -> tuple[str, str] | None:
    """'KEY = value [unit]' as (KEY, value) without a backtracking pattern; None if not."""
    k, eq, v = s.partition("=")
    k = k.strip()
    if not eq or not _KEY.fullmatch(k):
        return None
    v = v.strip()
    if v.endswith("]"):
        u = v.rfind("[")
        if u >= 0:
            v = v[:u].rstrip()
    return k, v


def parse_kvn(data: bytes, rejects: Rejects, source: str) -> ElementSets:
    """OMM KVN ("KEY = value" lines); each CCSDS_OMM_VERS line starts a message."""
    recs: dict[str, list[object]] = {k: [] for k in KEYWORDS}
    where, raws, starts = [], [], []
    cur: dict[str, str] | None = None
    start = 0
    lines = data.decode("utf-8", "replace").split("\n")

    def close() -> None:
        if cur is not None:
            for k in KEYWORDS:
                recs[k].append(cur.get(k))
            where.append(f"{source}:{start}")
            starts.append(start)
            raws.append(" ".join(f"{k}={v}" for k, v in cur.items())[:400])

    for ln, line in enumerate(lines, start=1):
        if len(line) > MAX_KVN_LINE:
            rejects.reject("omm-kvn.line_too_long", f"{source}:{ln} ({len(line)} chars)",
                           line[:256])  # fmt: skip
            continue
        s = line.strip()
        if not s or s.startswith("COMMENT"):
            continue
        kv = _kvn_line(s)
        if kv is None:
            rejects.reject("omm-kvn.line", f"{source}:{ln}", line[:512])
            continue
        k, v = kv
        if k == "CCSDS_OMM_VERS":
            close()
            cur, start = {}, ln
        elif cur is not None:
            cur[k] = v
        else:
            rejects.reject("omm-kvn.line", f"{source}:{ln}", line)
    close()
    return from_keywords(recs, len(where), rejects, source, where, raws, "omm-kvn", starts)
