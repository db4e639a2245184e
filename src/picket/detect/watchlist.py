"""`watchlist.hit`: a listed vessel, aircraft or object appears, enters a zone, or goes dark.

Analysts keep lists (sanctioned tankers, a shadow fleet, aircraft of interest); what they
ask of a picture is to be told when one of them shows up, where it goes and when it
falls silent. A watchlist is CSV, one entry a row (`match,label,severity,note`):

    match                      what it matches
    mmsi:273412345             one subject (mmsi:, icao:, norad:, cot:, rid:, track:)
    imo:9321483                a vessel's IMO number (from its AIS identity)
    callsign:RRR*              a call sign, `*`/`?` wildcards, any case
    name:*STAR*                a vessel or aircraft name, wildcards, any case
    ship_type:80-89            an AIS ship type or range (80-89: tankers)

Subject entries match reports at once (vectorised); identity entries match when the
subject's identity (AIS type 5/24, ADS-B callsign) arrives. One alert per subject,
updated as events follow (appeared, entered a zone, went dark, reappeared).
"""

from __future__ import annotations

import csv
import fnmatch
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from picket.detect.base import (
    Thresholds,
    drop_slots,
    forget_rows,
    grown,
    label,
    make_signal,
    report_evidence,
    th,
)
from picket.fusion.context import BatchContext
from picket.model.alerts import Signal, iso
from picket.model.reports import Domain
from picket.model.subjects import parse_subject

log = logging.getLogger(__name__)
SEVERITIES = ("info", "warning", "critical")
IDENTITY_FIELDS = {"imo": "imo", "callsign": "callsign", "name": "name", "ship_type": "ship_type"}


class WatchlistError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    match: str  # as written
    field: str  # "subject" or an identity field
    value: Any  # subject key, IMO, pattern, or (lo, hi) ship type range
    label: str
    severity: str
    note: str
    where: str  # file:line, for the evidence

    def matches(self, ident: dict[str, Any]) -> bool:
        v = ident.get(IDENTITY_FIELDS.get(self.field, ""))
        if v is None or v == "":
            return False
        if self.field == "imo":
            return int(v) == self.value
        if self.field == "ship_type":
            return self.value[0] <= int(v) <= self.value[1]
        return fnmatch.fnmatchcase(str(v).strip().upper(), self.value)


def parse_entry(match: str, label: str, severity: str, note: str, where: str) -> Entry:
    kind, _, val = match.strip().partition(":")
    kind, val = kind.lower(), val.strip()
    sev = (severity or "warning").strip().lower()
    if sev not in SEVERITIES:
        raise WatchlistError(f"{where}: severity {severity!r}; one of {', '.join(SEVERITIES)}")
    if not val:
        raise WatchlistError(f"{where}: {match!r}: expected KIND:VALUE (mmsi:..., imo:..., "
                             "callsign:..., name:..., ship_type:...)")  # fmt: skip
    try:
        if kind == "imo":
            return Entry(match, "imo", int(val), label, sev, note, where)
        if kind in ("callsign", "name"):
            return Entry(match, kind, val.upper(), label, sev, note, where)
        if kind == "ship_type":
            lo, _, hi = val.partition("-")
            rng = (int(lo), int(hi or lo))
            return Entry(match, "ship_type", rng, label, sev, note, where)
        return Entry(match, "subject", parse_subject(match.strip()), label, sev, note, where)
    except ValueError as e:
        raise WatchlistError(f"{where}: {match!r}: {e}") from None


def load_watchlist(paths: list[str | Path]) -> list[Entry]:
    """Entries from CSV files (header `match,label,severity,note`; `#` lines are comments)."""
    out: list[Entry] = []
    for p in map(Path, paths):
        try:
            text = p.read_text(encoding="utf-8-sig")
        except OSError as e:
            raise WatchlistError(f"{p}: {e.strerror or e}") from None
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        rows = list(csv.DictReader(lines))
        if rows and "match" not in rows[0]:
            raise WatchlistError(f"{p}: the header must name a 'match' column")
        for i, row in enumerate(rows, start=2):
            out.append(parse_entry(row.get("match") or "", (row.get("label") or "").strip(),
                                   row.get("severity") or "", (row.get("note") or "").strip(),
                                   f"{p.name}:{i}"))  # fmt: skip
    return out


class WatchBox:
    """Entries added from the API (`POST /api/watchlist`, kept in the store), handed to the
    running detector through the pipeline's World (`world.watchlist_api`): the server
    replaces the list and bumps `version`; the detector rebuilds its lists at its next batch."""

    def __init__(self) -> None:
        self.version = 0
        self.rows: tuple[dict[str, Any], ...] = ()

    def set(self, rows: list[dict[str, Any]]) -> None:
        self.rows = tuple(dict(r) for r in rows)  # one reference swap: the detector reads it
        self.version += 1

    def entries(self) -> list[Entry]:
        """The rows as entries; a row that no longer parses is left out (and logged)."""
        out = []
        for r in self.rows:
            try:
                out.append(parse_entry(r["match"], r.get("label") or "",
                                       r.get("severity") or "", r.get("note") or "",
                                       f"api:{r.get('id')} by {r.get('who')}"))  # fmt: skip
            except (WatchlistError, KeyError) as e:
                log.warning("watchlist entry from the API left out: %s", e)
        return out


@dataclass
class WatchlistThresholds(Thresholds):
    dark_after_s_maritime: float = th(
        1800.0,
        "a listed vessel silent this long has gone dark",
        "ITU-R M.1371: class A reports every 3 min at anchor, 2-10 s under way; 30 min of "
        "silence is ten missed anchor reports",
    )
    dark_after_s_air: float = th(
        300.0,
        "a listed aircraft silent this long has gone dark",
        "picket: ADS-B squitters twice a second; 5 min covers terrain masking on approach",
    )


class WatchlistHits:
    kind = "watchlist.hit"

    def __init__(self, th: WatchlistThresholds | None = None, entries: list[Entry] = ()):
        self.th = th or WatchlistThresholds()
        self.file_entries = list(entries)
        self.api_version = 0  # the WatchBox version the lists were built from
        self.entry: dict[int, Entry] = {}  # slot -> the entry that listed it
        self._build(self.file_entries)
        self.last = np.full(0, -np.inf)  # newest report time per listed slot
        self.dark = np.zeros(0, bool)
        self.zone = np.full(0, -1, np.int64)

    @classmethod
    def from_config(cls, cfg: Any, th: WatchlistThresholds) -> WatchlistHits:
        from picket.config import ConfigError

        try:
            return cls(th, load_watchlist([cfg.path(p) for p in cfg.watchlist_files]))
        except WatchlistError as e:  # a bad list stops the start with file and line named
            raise ConfigError(f"watchlist: {e}") from None

    def forget(self, slots: np.ndarray) -> None:
        """A slot's listing, last report, dark and zone state go: a new subject in it is
        listed (or not) by its own key and identity."""
        drop_slots(self.entry, slots)
        forget_rows(self.last, slots, -np.inf)
        forget_rows(self.dark, slots, False)
        forget_rows(self.zone, slots, -1)

    def _build(self, entries: list[Entry]) -> None:
        self.entries = list(entries)
        self.by_subject = {e.value: e for e in self.entries if e.field == "subject"}
        self.keys = np.array(sorted(self.by_subject), np.int64)
        self.identity_entries = [e for e in self.entries if e.field != "subject"]

    def _take_api(self, ctx: BatchContext) -> None:
        """Entries added or deleted from the API since the last batch: rebuild the lists,
        drop subjects whose entry went, and list at once the known subjects whose identity
        (already received) matches a new identity entry."""
        box = ctx.world.watchlist_api
        if not isinstance(box, WatchBox) or box.version == self.api_version:
            return
        self.api_version = box.version
        self._build(self.file_entries + box.entries())
        keep = set(self.entries)
        self.entry = {sl: e for sl, e in self.entry.items() if e in keep}
        for subj, ident in list(ctx.tracks.statics.items()):
            sl = ctx.tracks.slot(subj)
            if sl is None or sl in self.entry:
                continue
            e = next((e for e in self.identity_entries if e.matches(ident)), None)
            if e is not None:
                self.entry[sl] = e

    def update(self, ctx: BatchContext) -> list[Signal]:
        self._take_api(ctx)
        if not self.entries:
            return []
        n = ctx.tracks.n
        self.last = grown(self.last, n, -np.inf)
        self.dark = grown(self.dark, n, False)
        self.zone = grown(self.zone, n, -1)
        out: list[Signal] = []
        self._list_new(ctx)
        r, s = ctx.reports, ctx.slots
        listed = np.zeros(n, bool)
        listed[list(self.entry)] = True
        rows = np.flatnonzero(listed[s]) if len(s) else s
        for j in _last_rows(s[rows], rows).tolist() if len(rows) else []:
            sl = int(s[j])
            first = rows[s[rows] == sl][0]
            t0 = float(r.time[first])
            if self.last[sl] == -np.inf:
                out.append(self._signal(ctx, sl, int(first), "appeared", "appeared"))
            elif self.dark[sl]:
                gap = (t0 - self.last[sl]) / 60
                out.append(self._signal(ctx, sl, int(first), "reappeared",
                                        f"reappeared after {gap:.0f} min silent"))  # fmt: skip
            self.dark[sl] = False
            self.last[sl] = max(self.last[sl], float(r.time[j]))
        out += self._zones(ctx, rows)
        out += self._dark(ctx)
        return out

    def _list_new(self, ctx: BatchContext) -> None:
        r, s = ctx.reports, ctx.slots
        if len(self.keys) and len(r):
            hit = np.isin(r.subject, self.keys)
            for j in np.flatnonzero(hit).tolist():
                sl = int(s[j])
                if sl not in self.entry:
                    self.entry[sl] = self.by_subject[int(r.subject[j])]
        if self.identity_entries:
            for st in ctx.statics:
                sl = ctx.tracks.slot(st.subject)
                if sl is None or sl in self.entry:
                    continue
                ident = ctx.tracks.statics.get(st.subject, st.fields)
                e = next((e for e in self.identity_entries if e.matches(ident)), None)
                if e is not None:
                    self.entry[sl] = e

    def _zones(self, ctx: BatchContext, rows: np.ndarray) -> list[Signal]:
        zones = ctx.world.zones
        r, s = ctx.reports, ctx.slots
        pos = rows[ctx.has_pos[rows]] if len(rows) else rows
        if zones is None or not len(zones) or not len(pos):
            return []
        z = np.asarray(zones.contains(r.lat[pos], r.lon[pos]), np.int64)
        out = []
        for k, j in enumerate(pos.tolist()):  # rows in slot, time order: transitions in turn
            sl, zi = int(s[j]), int(z[k])
            if zi != self.zone[sl]:
                self.zone[sl] = zi
                if zi >= 0:
                    out.append(self._signal(ctx, sl, j, "entered_zone",
                                            f"entered {zones.names[zi]}",
                                            zone={"name": zones.names[zi],
                                                  "kind": zones.kinds[zi]}))  # fmt: skip
        return out

    def _dark(self, ctx: BatchContext) -> list[Signal]:
        nbd = ctx.world.now_by_domain
        out = []
        dom = ctx.tracks.cols["domain"]
        for sl in list(self.entry):
            if self.dark[sl] or not np.isfinite(self.last[sl]):
                continue
            d = int(dom[sl])
            limit = (self.th.dark_after_s_air if d == Domain.AIR
                     else self.th.dark_after_s_maritime)  # fmt: skip
            now = nbd.get(d, ctx.now)
            if now - self.last[sl] >= limit:
                self.dark[sl] = True
                t = float(self.last[sl] + limit)
                out.append(self._signal(ctx, sl, None, "went_dark",
                                        f"went dark: silent since {iso(float(self.last[sl]))}",
                                        t=t))  # fmt: skip
        return out

    def _signal(self, ctx: BatchContext, sl: int, row: int | None, event: str, what: str,
                t: float | None = None, **extra: Any) -> Signal:  # fmt: skip
        e = self.entry[sl]
        ev: dict[str, Any] = {
            "event": event,
            "watchlist": {"match": e.match, "label": e.label, "note": e.note, "entry": e.where},
            **extra,
        }
        if row is not None:
            ev["reports"] = report_evidence(ctx, [row])
        else:
            ev["last_seen"] = iso(float(self.last[sl]))
        tag = f" [{e.label}]" if e.label else ""
        return make_signal(ctx, self.kind, sl, row, e.severity,
                           f"watchlisted {label(ctx, sl)}{tag} {what}", ev, t=t)  # fmt: skip


def _last_rows(slots: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The last of `rows` per slot (rows sorted by slot, then time)."""
    if not len(rows):
        return rows
    last = np.r_[slots[1:] != slots[:-1], True]
    return rows[last]
