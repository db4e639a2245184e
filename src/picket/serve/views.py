"""Views of the live picture: one per distinct (domains, area) that clients watch.

Why views: every client watching the same thing gets the same bytes, encoded
once per tick; a view remembers what its clients were last sent, so a tick
sends only what changed (delta) plus the ids that left.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from picket.model.codes import ship_class
from picket.model.subjects import format_subject
from picket.serve import frames
from picket.serve.picture import DOMAIN_CODES, Picture, gid_text, track_gids


@dataclass(frozen=True)
class ViewKey:
    domains: tuple[int, ...] | None  # domain codes, None = all
    bbox: tuple[float, float, float, float] | None  # west, south, east, north

    @classmethod
    def parse(cls, domains: list[str] | str | None, bbox: list[float] | str | None) -> ViewKey:
        """From query/JSON values; raises ValueError on nonsense."""
        if isinstance(domains, str):
            domains = [d for d in domains.split(",") if d]
        codes = None
        if domains:
            try:
                codes = tuple(sorted({DOMAIN_CODES[d.strip().lower()] for d in domains}))
            except KeyError as e:
                raise ValueError(f"unknown domain {e.args[0]!r}") from None
        return cls(codes, parse_bbox(bbox))

    def mask(self, pic: Picture) -> np.ndarray:
        m = pic.alive()
        if self.domains is not None:
            m &= np.isin(pic["domain"], self.domains)
        if self.bbox is not None:
            m &= in_bbox(pic["lat"], pic["lon"], self.bbox)
        return m


def parse_bbox(bbox: list[float] | str | None) -> tuple[float, float, float, float] | None:
    if bbox is None or bbox == "":
        return None
    vals = [float(v) for v in bbox.split(",")] if isinstance(bbox, str) else list(bbox)
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise ValueError("bbox must be west,south,east,north")
    w, s, e, n = (float(v) for v in vals)
    if not (-90 <= s <= n <= 90 and -180 <= w <= 180 and -180 <= e <= 180):
        raise ValueError("bbox out of range (west,south,east,north in degrees)")
    # rounded so nearly equal views share one encoding
    return (round(w, 2), round(s, 2), round(e, 2), round(n, 2))


def in_bbox(lat: np.ndarray, lon: np.ndarray, bbox: tuple[float, float, float, float]):
    w, s, e, n = bbox
    ok = (lat >= s) & (lat <= n)
    if w <= e:
        return ok & (lon >= w) & (lon <= e)
    return ok & ((lon >= w) | (lon <= e))  # crosses the antimeridian


def meta_rows(pic: Picture, idx: np.ndarray) -> list[list]:
    """[id, subject, label, domain, category or None, gid] for the picture rows `idx`."""
    return [json.loads(r) for r in MetaCache().rows(pic, idx)]


_EMITTER = re.compile(r"[A-D][0-7]")


def category_of(fields: dict) -> str | None:
    """The map category of a subject from its static fields: `ship:<class>` for a vessel whose
    AIS ship type is known (the page colours vessels by it), `air:<A1..D7>` for an aircraft
    with its ADS-B emitter category (the APP-6 function icon), else None."""
    code = fields.get("ship_type")
    ecat = fields.get("category")
    if code is None and isinstance(ecat, str) and _EMITTER.fullmatch(ecat):
        return f"air:{ecat}"  # the ADS-B emitter category: the APP-6 symbol's function icon
    if isinstance(code, bool) or not isinstance(code, int | float) or code != code:
        return None
    cls = ship_class(int(code))
    return None if cls == "unknown" else f"ship:{cls}"


def categories_of(pic: Picture) -> dict[int, tuple[int, str]]:
    """id -> (subject, category) as the hub keeps them (empty for a picture without)."""
    return getattr(pic, "categories", None) or {}


def _category(cats: dict[int, tuple[int, str]], tid: int, subject: int) -> str | None:
    hit = cats.get(tid)
    return hit[1] if hit is not None and hit[0] == subject else None


class MetaCache:
    """The JSON text of each track's meta row, made once per (id, subject, label).

    Why: a client joining a 20,000-track view needs every row; formatting them
    all again would cost the tick ~100 ms, joining cached text costs ~2 ms.
    """

    def __init__(self) -> None:
        self._rows: dict[int, tuple[int, str | None, str | None, str]] = {}

    def rows(self, pic: Picture, idx: np.ndarray) -> list[str]:
        c, labels, cache, cats = pic.cols, pic.labels, self._rows, categories_of(pic)
        out = []
        gids = track_gids(pic, idx).tolist()
        for tid, s, d, g in zip(c["id"][idx].tolist(), c["subject"][idx].tolist(),
                                c["domain"][idx].tolist(), gids, strict=True):  # fmt: skip
            lab = labels.get(tid)
            cat = _category(cats, tid, s) if cats else None
            hit = cache.get(tid)
            if hit is None or hit[0] != s or hit[1] != lab or hit[2] != cat:
                name = format_subject(s)
                row: list = [tid, name, lab or name, d, cat or None, gid_text(g)]
                hit = (s, lab, cat, json.dumps(row, separators=(",", ":")))
                cache[tid] = hit
            out.append(hit[3])
        return out


def meta_message(rows: list[str]) -> str:
    """The `meta` text frame from cached rows."""
    return '{"type":"meta","tracks":[' + ",".join(rows) + "]}"


class ViewState:
    """What this view's clients hold: per id the last sent report time, flags and the exact
    (quantised) position, so a delta can send positions as steps from it."""

    def __init__(self, key: ViewKey, meta: MetaCache | None = None):
        self.key = key
        self.meta = meta or MetaCache()
        self.sent_t = np.full(0, np.nan)
        self.sent_flags = np.zeros(0, np.uint8)
        self.held_lat = np.full(0, frames.HELD_NONE, np.int64)
        self.held_lon = np.full(0, frames.HELD_NONE, np.int64)
        self.sent_label: dict[int, tuple[str | None, str | None]] = {}
        self.pic: Picture | None = None
        self.mask = np.zeros(0, bool)
        self.flags = np.zeros(0, np.uint8)
        self.seq = 0

    def _grow(self, n: int) -> None:
        k = n - len(self.sent_t)
        if k > 0:
            self.sent_t = np.r_[self.sent_t, np.full(k, np.nan)]
            self.sent_flags = np.r_[self.sent_flags, np.zeros(k, np.uint8)]
            self.held_lat = np.r_[self.held_lat, np.full(k, frames.HELD_NONE, np.int64)]
            self.held_lon = np.r_[self.held_lon, np.full(k, frames.HELD_NONE, np.int64)]

    def delta(self, pic: Picture, flags: np.ndarray, seq: int) -> tuple[list[str], bytes]:
        """(meta rows as JSON, delta frame) taking this view from its last tick to `pic`."""
        self._grow(len(pic))
        n = len(pic)
        m = self.key.mask(pic)
        t = pic["last_time"]
        held = np.isfinite(self.sent_t[:n])
        changed = m & (~held | (t != self.sent_t[:n]) | (flags != self.sent_flags[:n]))
        removed = np.flatnonzero(held & ~m)
        idx = np.flatnonzero(changed)
        new_or_renamed = idx[~held[idx]]
        cats = categories_of(pic)
        subj = pic["subject"]

        def ident(i: int) -> tuple[str | None, str | None]:
            return pic.labels.get(i), _category(cats, i, int(subj[i])) if cats else None

        if pic.labels or cats:
            lab = [i for i in idx[held[idx]].tolist() if ident(i) != self.sent_label.get(i)]
            if lab:
                new_or_renamed = np.r_[new_or_renamed, lab].astype(np.int64)
        meta = self.meta.rows(pic, new_or_renamed)
        for tid in pic["id"][new_or_renamed].tolist():
            self.sent_label[tid] = ident(tid)
        place = frames.place(pic["lat"][idx], pic["lon"][idx], self.held_lat[idx],
                             self.held_lon[idx])  # fmt: skip
        self.held_lat[idx], self.held_lon[idx] = place.qlat, place.qlon
        self.sent_t[idx] = t[idx]
        self.sent_flags[idx] = flags[idx]
        self.sent_t[removed] = np.nan
        self.held_lat[removed] = self.held_lon[removed] = frames.HELD_NONE
        self.pic, self.mask, self.flags, self.seq = pic, m, flags, seq
        cols = {k: pic[k][idx] for k in ("id", "alt", "speed", "course")}
        cols["lat"] = cols["lon"] = place.qlat  # unused: the placement carries the positions
        data = frames.encode(frames.DELTA, seq, pic.time, cols, flags[idx],
                             removed.astype(np.uint32), placement=place)  # fmt: skip
        return meta, data

    def keyframe(self) -> tuple[list[str], bytes]:
        """(meta rows as JSON, keyframe) of the view as of its last tick, for clients joining: the
        positions its clients hold, so the next delta's steps apply to the joiner too."""
        pic = self.pic or Picture.empty()
        idx = np.flatnonzero(self.mask)
        cols = {k: pic[k][idx] for k in ("id", "alt", "speed", "course")}
        hl, hn = self.held_lat[idx], self.held_lon[idx]
        cols["lat"] = cols["lon"] = hl
        place = frames.Placement(np.zeros(len(idx), bool), hl, hn, hl * 0, hn * 0)
        flags = self.flags[idx] if len(idx) else np.zeros(0, np.uint8)
        data = frames.encode(frames.KEYFRAME, self.seq, pic.time, cols, flags, placement=place)
        return self.meta.rows(pic, idx), data
