"""Replay a past window from the store as keyframes on the live channel.

Each step shows, for every subject, its newest stored point at or before the
step's time, while that point is younger than the domain's drop time; the
store keeps downsampled points, so replay moves in those steps.

Alerts move with the picture: each step carries the alerts whose events (open,
update, close, triage) fall in it, in their state as of the step's time
(`state_at`, which is `picket.store.asof` behind the store), never their final
state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from picket.bus import global_ids
from picket.model.subjects import format_subject, parse_subject
from picket.serve import frames
from picket.serve.picture import (
    BASE_IDENTITY,
    DROP_S,
    FLAG_ALERT,
    FLAG_STALE,
    ID_SUSPECT,
    ID_UNKNOWN,
    IDENTITY_SHIFT,
    STALE_S,
    SUSPECT_KINDS,
    gid_text,
    per_domain,
)

REPLAY_ID_BASE = 1 << 31  # ids for subjects the live picture does not know


def _subject_keys(alerts: Any) -> tuple[np.ndarray, np.ndarray]:
    """Subject keys with an open alert, and those whose alert makes them suspect."""
    keys, suspects = set(), set()
    for a in alerts:
        try:
            k = parse_subject(a["subject"])
        except (ValueError, KeyError):
            continue  # h3: cells and the like are no track
        keys.add(k)
        if a.get("kind") in SUSPECT_KINDS:
            suspects.add(k)
    return np.fromiter(keys, np.int64, len(keys)), np.fromiter(suspects, np.int64, len(suspects))


COLS = ("subject", "time", "domain", "lat", "lon", "alt", "speed", "course")


class _Latest:
    """Each subject's newest point so far, in arrays that grow with the subjects seen (not
    with the points read): what a replay step draws. Why: a wide window holds millions of
    points, but only one per subject matters at any step."""

    def __init__(self) -> None:
        self.index: dict[int, int] = {}
        self.n = 0
        self.cols = {k: np.zeros(0, np.int64 if k in ("subject", "domain") else float)
                     for k in COLS}  # fmt: skip

    def slots(self, subjects: np.ndarray) -> np.ndarray:
        """Slot of every row's subject; new subjects get the next slots."""
        u, inv = np.unique(subjects, return_inverse=True)
        out = np.empty(len(u), np.int64)
        for j, s in enumerate(u.tolist()):  # once per subject in a page, not per point
            k = self.index.get(s)
            if k is None:
                k = self.index[s] = self.n
                self.n += 1
            out[j] = k
        if self.n > len(self.cols["time"]):
            size = max(1024, 2 * self.n)
            for k, v in self.cols.items():
                grown = np.full(size, -1 if k == "subject" else 0, v.dtype)
                if v.dtype.kind == "f":
                    grown[:] = np.nan
                grown[: len(v)] = v
                self.cols[k] = grown
            self.cols["time"][self.n :] = np.nan
        return out[inv]

    def take(self, page: dict[str, np.ndarray], rows: np.ndarray) -> None:
        """Rows of a time-sorted page: the last row per subject is its newest point."""
        if not len(rows):
            return
        slot = self.slots(page["subject"][rows])
        u, first_rev = np.unique(slot[::-1], return_index=True)
        src = rows[::-1][first_rev]
        for k in COLS:
            self.cols[k][u] = page[k][src]


def _pages(pts: dict[str, np.ndarray] | Iterable[dict[str, np.ndarray]]
           ) -> Iterator[dict[str, np.ndarray]]:  # fmt: skip
    if isinstance(pts, dict):
        yield pts
    else:
        yield from pts


def replay_steps(
    pts: dict[str, np.ndarray] | Iterable[dict[str, np.ndarray]],
    changes: list[tuple[float, str]],
    since: float,
    until: float,
    step_s: float,
    id_of: dict[int, int] | None = None,
    max_steps: int = 100_000,
    labels: dict[int, str] | None = None,
    state_at: Callable[[list[str], float], list[dict[str, Any]]] | None = None,
    first: list[dict[str, Any]] | None = None,
) -> Iterator[tuple[list[list], bytes, list[dict[str, Any]]]]:
    """(meta rows, keyframe, alerts changed in the step as of its end) per step of `step_s`.

    `pts`: the stored points as columns sorted by time, one dict or pages of them in time
    order (read lazily: a page is fetched when a step reaches its times, so memory follows
    the subjects, not the window); `changes`: (event time, alert id) of every alert event
    in the window, sorted by time; `first`: the alerts as of `since` (the caller sends them
    before the first step). The alert flag and the suspect identity of each frame follow the
    alerts open at its time."""
    id_of = id_of or {}
    labels = labels or {}
    latest = _Latest()
    ids = np.zeros(0, np.int64)
    sent_meta = np.zeros(0, bool)
    pages = _pages(pts)
    page: dict[str, np.ndarray] | None = next(pages, None)
    lo = 0
    c_times = np.array([c[0] for c in changes], float)
    c_ids = [c[1] for c in changes]
    n_steps = min(max_steps, int(np.ceil((until - since) / step_s)) + 1)
    prev = since
    opened: dict[str, dict[str, Any]] = {}  # alert id -> its state, while open

    def track(states: list[dict[str, Any]]) -> None:
        for a in states:
            if a.get("status") == "open":
                opened[a["id"]] = a
            else:
                opened.pop(a["id"], None)

    track(first or [])
    for k in range(n_steps):
        t = min(since + k * step_s, until)
        while page is not None:  # every point at or before t, page after page
            hi = int(np.searchsorted(page["time"], t, side="right"))
            latest.take(page, np.arange(lo, hi))
            if hi < len(page["time"]):
                lo = hi
                break
            page, lo = next(pages, None), 0
        if latest.n > len(ids):  # ids for the subjects first seen in this step
            subj_new = latest.cols["subject"][len(ids) : latest.n]
            base = REPLAY_ID_BASE + len(ids)
            new_ids = [id_of.get(int(s), base + j) for j, s in enumerate(subj_new.tolist())]
            ids = np.concatenate([ids, np.array(new_ids, np.int64)])
            sent_meta = np.concatenate([sent_meta, np.zeros(len(new_ids), bool)])
        c = latest.cols
        sel = np.arange(latest.n)
        dom = c["domain"][sel]
        age = t - c["time"][sel]
        keep = age <= per_domain(DROP_S, dom, 3600.0)
        sel, dom, age = sel[keep], dom[keep], age[keep]
        lo_c, hi_c = np.searchsorted(c_times, [prev, t], side="right").tolist()
        prev = t
        changed = list(dict.fromkeys(c_ids[lo_c:hi_c]))
        fired = state_at(changed, t) if (changed and state_at is not None) else []
        track(fired)
        flags = np.where(age > per_domain(STALE_S, dom, 600.0), FLAG_STALE, 0).astype(np.uint8)
        # identity as the live picture's rule, with the alerts open at this step's time
        ident = per_domain(BASE_IDENTITY, dom, ID_UNKNOWN).astype(np.uint8)
        alert_keys, suspect_keys = _subject_keys(opened.values())
        subj = c["subject"][sel]
        ident[np.isin(subj, suspect_keys)] = ID_SUSPECT
        flags |= ident << IDENTITY_SHIFT
        flags[np.isin(subj, alert_keys)] |= FLAG_ALERT
        new = sel[~sent_meta[sel]]
        sent_meta[new] = True
        meta = []
        for i in new.tolist():
            name = format_subject(int(c["subject"][i]))
            meta.append([int(ids[i]), name, labels.get(int(ids[i])) or name,
                         int(c["domain"][i]), None,
                         gid_text(global_ids(c["subject"][i : i + 1], 0)[0])])  # fmt: skip
        order = np.argsort(ids[sel], kind="stable")  # frames list rows in ascending id order
        sel, flags = sel[order], flags[order]
        cols = {"id": ids[sel], "lat": c["lat"][sel], "lon": c["lon"][sel], "alt": c["alt"][sel],
                "speed": c["speed"][sel], "course": c["course"][sel]}  # fmt: skip
        last = k == n_steps - 1
        ff = frames.FLAG_REPLAY | (frames.FLAG_REPLAY_END if last else 0)
        data = frames.encode(frames.KEYFRAME, k, t, cols, flags, frame_flags=ff)
        yield meta, data, fired
        if t >= until:
            break
