"""Fused state per subject, held as columns indexed by a track slot.

Cooperative feeds name their subject (MMSI, ICAO, NORAD), so fusion is by
identity: every report updates its subject's slot. Fields forward-fill: an
ADS-B velocity message updates speed without erasing the position, an
operational-status message updates NACp without touching either. Positions
that imply an impossible speed are kept out of the state (they stay in the
batch context for detectors, which is where spoofing and identity conflicts
are seen). For aircraft, fusion tells data faults from spoofing
(`picket.fusion.context.classify_air`): a repeated position is no new fix, a
fix off the dead-reckoned path is held back until it either proves a glitch
(the next fixes come back) or a persistent displacement (a spoof, kept out
while the track coasts on its last good fix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.model.decoded import Static
from picket.model.reports import SCHEMA, Reports

# Report columns carried into track state (last known non-missing value).
STATE_COLUMNS = (
    "domain", "source", "alt", "speed", "course", "heading", "vrate", "nav_status",
    "squawk", "emergency", "nic", "nacp", "sil", "version", "accuracy", "msg",
)  # fmt: skip


@dataclass
class TrackConfig:
    history: int = 64  # positions kept per track (ring buffer); bounded memory
    max_speed_ms: dict[int, float] | None = None  # per domain code; None -> defaults below
    reanchor_after: int = 3  # consecutive mutually consistent outliers that move the track
    # a silence longer than this starts a new segment: the next fix is accepted wherever it is
    # (Global Fishing Watch's segmenter splits AIS tracks at 8 h gaps)
    segment_gap_s: float = 8 * 3600.0


def _th(default: Any, doc: str, source: str) -> Any:
    """A documented threshold (the same metadata as `picket.detect.base.th`)."""
    return field(default=default, metadata={"doc": doc, "source": source})


@dataclass
class FixThresholds:
    """How fusion judges an aircraft fix against its own dead-reckoned path.

    Method and sources: docs/air_detectors.md.

    The `gnss.spoofing` detector's thresholds extend these, so `picket config` lists them and
    a config file sets them; the detector hands its values to the track table."""

    min_offset_m: float = _th(
        5000.0,
        "a fix closer than this to its dead-reckoned position is never a jump",
        "picket: above ADS-B position error (NACp >= 5: EPU < 926 m, DO-260B) plus a few "
        "seconds of timestamp error at airliner speed (3 s x 300 m/s)",
    )
    max_accel_ms2: float = _th(
        10.0,
        "horizontal acceleration bound: dead reckoning over dt is off by at most a*dt^2/2",
        "g*tan(45 deg) = 9.8 m/s^2, a 45-deg banked turn; airliners bank <= 25-30 deg "
        "(ICAO Doc 8168 PANS-OPS turn criteria use 25 deg)",
    )
    max_speed_ms: float = _th(
        350.0,
        "no aircraft fix is further than max_speed x dt (+ min_offset) from the one before",
        "M 0.85 at FL350 (~250 m/s true airspeed) plus a 100 m/s jet-stream tailwind",
    )
    confirm_fixes: int = _th(
        3,
        "consecutive mutually consistent displaced fixes that make a displacement persist",
        "picket: the real out-and-back glitches of the traffic samples last 1-2 fixes",
    )
    stale_axis_m: float = _th(
        30.0,
        "a coordinate bit-identical to the previous fix's although the aircraft's velocity "
        "moved it more than this along that axis is stale (no evidence of a displacement)",
        "CPR airborne resolution ~5 m in latitude, ~10 m in longitude at 60 N (DO-260B, "
        "17-bit encoding): a real fix moving 30 m changes its coordinates",
    )
    confirm_s: float = _th(
        20.0,
        "... spanning at least this long (fewer or shorter runs are glitches)",
        "picket: spoofing episodes last minutes to hours (EASA SIB 2022-02R3); the 25 real "
        "traffic samples raise nothing even at 2 fixes over 0 s, so this is margin, and "
        "the first alert stays well within 60 s",
    )


REPEAT_FIX = 2  # fusion.context.REPEAT: a row repeating its track's last fix


# Outlier limits per domain (m/s). Maritime 50 kn is issue #3's default (fast craft
# rarely exceed 40 kn); air 600 m/s is well above any civil or drone speed.
DEFAULT_MAX_SPEED = {1: 600.0, 2: 50 * 1852 / 3600, 3: 1e9, 4: 600.0}


def _missing(col: str, v: np.ndarray) -> np.ndarray:
    miss = SCHEMA[col][1]
    if isinstance(miss, float):
        return ~np.isfinite(v)
    return v == miss


class TrackTable:
    """Columnar track state, grown by doubling; `slot_of` maps subject keys to slots."""

    # slots given back by `forget`, ascending: new subjects take them before new rows.
    # Reassigned, never changed in place; a class default, so a checkpoint from before
    # slots were given back still restores (it is saved once the instance sets its own)
    free: np.ndarray = np.empty(0, np.int64)

    def __init__(self, config: TrackConfig | None = None, capacity: int = 1024):
        self.config = config or TrackConfig()
        self.max_speed = {**DEFAULT_MAX_SPEED, **(self.config.max_speed_ms or {})}
        self.fix_th = FixThresholds()  # set by the gnss.spoofing detector from its config
        self.batch: Any = None  # per-batch fix classes and transitions (fusion.context.FixBatch)
        self.n = 0
        self._index: dict[int, int] = {}
        # the same mapping as sorted arrays, for a vectorised lookup of a whole batch
        self._keys = np.empty(0, np.int64)
        self._key_slots = np.empty(0, np.int64)
        self.statics: dict[int, dict[str, Any]] = {}
        self._alloc(capacity)

    def _alloc(self, cap: int) -> None:
        cols, hist = self._columns(cap)
        if getattr(self, "cols", None):
            for k, v in self.cols.items():
                cols[k][: self.n] = v[: self.n]
            for k, v in self.hist.items():
                hist[k][: self.n] = v[: self.n]
        self.cols, self.hist, self.capacity = cols, hist, cap

    def _columns(self, cap: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Columns and history rings for `cap` slots, every row as a never-used slot's."""
        h = self.config.history
        cols: dict[str, np.ndarray] = {
            "subject": np.full(cap, -1, np.int64),
            "first_time": np.full(cap, np.nan),
            "last_time": np.full(cap, np.nan),  # any report
            "pos_time": np.full(cap, np.nan),  # last accepted position
            "lat": np.full(cap, np.nan),
            "lon": np.full(cap, np.nan),
            "n_reports": np.zeros(cap, np.int64),
            "n_outliers": np.zeros(cap, np.int64),
            "n_segments": np.zeros(cap, np.int64),
            "hist_head": np.zeros(cap, np.int64),  # total positions ever written
            # aircraft fix classification (fusion/context.classify_air); own times, not rows
            "fix_time": np.full(cap, np.nan),  # last reported distinct fix, any class
            "fix_lat": np.full(cap, np.nan),
            "fix_lon": np.full(cap, np.nan),
            "fix_out": np.zeros(cap, bool),  # that fix was kept out of the track
            "n_glitches": np.zeros(cap, np.int64),  # fixes judged glitches (out-and-back)
            "n_spoofed": np.zeros(cap, np.int64),  # fixes judged displaced (spoofed)
            "n_repeats": np.zeros(cap, np.int64),  # repeated positions (no new fix)
            "spoof_mode": np.zeros(cap, np.int8),  # 1 while the reported positions are displaced
        }
        for p in ("good", "alt", "pend", "pend0"):  # anchors: (own time, lat, lon, speed, course)
            for q in ("t", "lat", "lon", "speed", "course"):
                cols[f"{p}_{q}"] = np.full(cap, np.nan)
        cols["pend_n"] = np.zeros(cap, np.int64)
        cols["pend_k"] = np.zeros(cap, np.int64)
        for c in STATE_COLUMNS:
            dt, miss = SCHEMA[c]
            cols[c] = np.full(cap, miss, dt)
        hist = {
            "t": np.full((cap, h), np.nan),
            "lat": np.full((cap, h), np.nan),
            "lon": np.full((cap, h), np.nan),
        }
        return cols, hist

    # identity -----------------------------------------------------------------
    def slots_for(self, subjects: np.ndarray) -> np.ndarray:
        """Slot per subject key, creating tracks for new subjects (vectorised over uniques)."""
        uniq, inv = np.unique(np.asarray(subjects, np.int64), return_inverse=True)
        keys = self._keys
        pos = np.minimum(np.searchsorted(keys, uniq), max(len(keys) - 1, 0))
        known = keys[pos] == uniq if len(keys) else np.zeros(len(uniq), bool)
        slots = np.where(known, self._key_slots[pos] if len(keys) else -1, -1)
        fresh = np.flatnonzero(~known)
        if len(fresh):  # new subjects take freed slots, then the next rows, in key order
            new = uniq[fresh]
            reuse = self.free[: len(new)]
            self.free = self.free[len(reuse) :]
            given = np.concatenate([reuse, self.n + np.arange(len(new) - len(reuse))])
            slots[fresh] = given
            self._index.update(zip(new.tolist(), given.tolist(), strict=True))
            order = np.argsort(np.concatenate([keys, new]), kind="stable")
            self._keys = np.concatenate([keys, new])[order]
            self._key_slots = np.concatenate([self._key_slots, given])[order]
            need = self.n + len(new) - len(reuse)
            if need > self.capacity:
                cap = self.capacity
                while cap < need:
                    cap *= 2
                self._alloc(cap)
            self.cols["subject"][given] = new
            self.n = need
        return slots[inv.ravel()]

    def forget(self, slots: np.ndarray) -> None:
        """Give `slots` back: their subjects leave the index and every column and history
        row returns to a never-used slot's value, so the next new subject taking one (lowest
        first) inherits nothing. Identity facts (`statics`) are kept by subject: a vessel
        sends its name every few minutes, but decoders pass on only what changed."""
        slots = np.unique(np.asarray(slots, np.int64))
        slots = slots[(slots >= 0) & (slots < self.n)]
        slots = slots[self.cols["subject"][slots] >= 0]  # a slot already free stays once
        if not len(slots):
            return
        subjects = self.cols["subject"][slots]
        for k in subjects.tolist():
            del self._index[k]
        keep = ~np.isin(self._keys, subjects)
        self._keys, self._key_slots = self._keys[keep], self._key_slots[keep]
        cols, hist = self._columns(1)
        for k, v in cols.items():
            self.cols[k][slots] = v[0]
        for k, v in hist.items():
            self.hist[k][slots] = v[0]
        self.free = np.union1d(self.free, slots)

    @property
    def n_live(self) -> int:
        """Slots holding a subject (`n` less the free ones)."""
        return self.n - len(self.free)

    def slot(self, subject: int) -> int | None:
        return self._index.get(int(subject))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n]

    # updates ------------------------------------------------------------------
    def apply_statics(self, statics: list[Static]) -> list[tuple[int, str, Any, Any, float]]:
        """Merge identity data; return (subject, field, old, new, time) for changed fields."""
        changes = []
        for st in statics:
            cur = self.statics.setdefault(st.subject, {})
            for k, v in st.fields.items():
                if v is None or v == "":
                    continue
                old = cur.get(k)
                if old is not None and old != v:
                    changes.append((st.subject, k, old, v, st.time))
                cur[k] = v
        return changes

    def update(self, r: Reports, slots: np.ndarray, accepted_pos: np.ndarray) -> None:
        """Forward-fill state from a batch sorted by (slot, time).

        `accepted_pos` marks position rows that passed outlier rejection.
        """
        if not len(r):
            return
        c = self.cols
        t = r.time
        # counts and times
        change = slots[1:] != slots[:-1]
        last, first = np.ones(len(slots), bool), np.ones(len(slots), bool)
        last[:-1], first[1:] = change, change
        s_last, s_first = slots[last], slots[first]
        # rows per slot from the run lengths (slots sorted: no np.add.at)
        c["n_reports"][s_first] += np.diff(np.append(np.flatnonzero(first), len(slots)))
        c["last_time"][s_last] = np.fmax(c["last_time"][s_last], t[last])
        c["first_time"][s_first] = np.fmin(c["first_time"][s_first], t[first])
        # last non-missing value per slot, for every state column
        for col in STATE_COLUMNS:
            v = r[col]
            ok = ~_missing(col, v)
            if ok.all():  # every row states it (most columns of an AIS batch)
                c[col][s_last] = v[last]
                continue
            if not ok.any():
                continue
            idx = np.flatnonzero(ok)
            s = slots[idx]
            lastv = np.concatenate((s[1:] != s[:-1], [True]))
            c[col][s[lastv]] = v[idx[lastv]]
        # positions, at their own time (a repeated aircraft position keeps its fix's time
        # and is no new point of history)
        b = self.batch
        fixed = accepted_pos
        if b is not None and len(b.own_t) == len(r):
            t = np.where(np.isfinite(b.own_t), b.own_t, t)
            fixed = accepted_pos & (b.cls != REPEAT_FIX)
        idx = np.flatnonzero(accepted_pos)
        if len(idx):
            s = slots[idx]
            lastv = np.concatenate((s[1:] != s[:-1], [True]))
            sl, il = s[lastv], idx[lastv]
            newer = ~(c["pos_time"][sl] > t[il])
            sl, il = sl[newer], il[newer]
            c["pos_time"][sl] = t[il]
            c["lat"][sl] = r.lat[il]
            c["lon"][sl] = r.lon[il]
        idx = np.flatnonzero(fixed)
        if len(idx):
            self._append_history(slots[idx], t[idx], r.lat[idx], r.lon[idx])

    def _append_history(self, s: np.ndarray, t: np.ndarray, lat: np.ndarray, lon: np.ndarray):
        h = self.config.history
        starts = np.concatenate(([0], np.flatnonzero(s[1:] != s[:-1]) + 1))
        rank = np.arange(len(s)) - np.repeat(starts, np.diff(np.concatenate((starts, [len(s)]))))
        head = self.cols["hist_head"]
        pos = (head[s] + rank) % h
        # only the last h rows per slot matter; earlier ones would be overwritten anyway
        counts = np.diff(np.concatenate((starts, [len(s)])))
        keep = rank >= np.repeat(counts, counts) - h
        self.hist["t"][s[keep], pos[keep]] = t[keep]
        self.hist["lat"][s[keep], pos[keep]] = lat[keep]
        self.hist["lon"][s[keep], pos[keep]] = lon[keep]
        head[s[starts]] += counts  # s sorted: one add per slot, not np.add.at per row

    def history(self, slot: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Time-ordered (t, lat, lon) kept for one track."""
        h = self.config.history
        head = int(self.cols["hist_head"][slot])
        n = min(head, h)
        order = (np.arange(head - n, head)) % h
        return (self.hist["t"][slot, order], self.hist["lat"][slot, order],
                self.hist["lon"][slot, order])  # fmt: skip

    def snapshot(self, slot: int) -> dict[str, Any]:
        """One track as plain values (API, evidence)."""
        out: dict[str, Any] = {}
        for k, v in self.cols.items():
            if k == "hist_head" or k.startswith(("good_", "alt_", "pend")):
                continue
            x = v[slot].item()
            if isinstance(x, float) and not np.isfinite(x):
                continue
            out[k] = x
        out.update(self.statics.get(int(self.cols["subject"][slot]), {}))
        return out
