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

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

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


def replay_steps(
    pts: dict[str, np.ndarray],
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

    `changes`: (event time, alert id) of every alert event in the window, sorted by time;
    `first`: the alerts as of `since` (the caller sends them before the first step). The
    alert flag and the suspect identity of each frame follow the alerts open at its time."""
    id_of = id_of or {}
    labels = labels or {}
    subj_u, inv = np.unique(pts["subject"], return_inverse=True)
    ids = np.array([id_of.get(int(s), REPLAY_ID_BASE + i) for i, s in enumerate(subj_u.tolist())],
                   np.int64)  # fmt: skip
    latest = np.full(len(subj_u), -1, np.int64)
    sent_meta = np.zeros(len(subj_u), bool)
    t_pts = pts["time"]
    c_times = np.array([c[0] for c in changes], float)
    c_ids = [c[1] for c in changes]
    n_steps = min(max_steps, int(np.ceil((until - since) / step_s)) + 1)
    lo, prev = 0, since
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
        hi = int(np.searchsorted(t_pts, t, side="right"))
        if hi > lo:
            rows = np.arange(lo, hi)
            # time-sorted rows: the last assignment per subject is its newest point
            u, first_rev = np.unique(inv[rows][::-1], return_index=True)
            latest[u] = rows[::-1][first_rev]
            lo = hi
        have = latest >= 0
        sel = np.flatnonzero(have)
        r = latest[sel]
        dom = pts["domain"][r]
        age = t - t_pts[r]
        keep = age <= per_domain(DROP_S, dom, 3600.0)
        sel, r, dom, age = sel[keep], r[keep], dom[keep], age[keep]
        lo_c, hi_c = np.searchsorted(c_times, [prev, t], side="right").tolist()
        prev = t
        changed = list(dict.fromkeys(c_ids[lo_c:hi_c]))
        fired = state_at(changed, t) if (changed and state_at is not None) else []
        track(fired)
        flags = np.where(age > per_domain(STALE_S, dom, 600.0), FLAG_STALE, 0).astype(np.uint8)
        # identity as the live picture's rule, with the alerts open at this step's time
        ident = per_domain(BASE_IDENTITY, dom, ID_UNKNOWN).astype(np.uint8)
        alert_keys, suspect_keys = _subject_keys(opened.values())
        subj = subj_u[sel]
        ident[np.isin(subj, suspect_keys)] = ID_SUSPECT
        flags |= ident << IDENTITY_SHIFT
        flags[np.isin(subj, alert_keys)] |= FLAG_ALERT
        new = sel[~sent_meta[sel]]
        sent_meta[new] = True
        meta = []
        for i in new.tolist():
            subj = format_subject(int(subj_u[i]))
            meta.append([int(ids[i]), subj, labels.get(int(ids[i])) or subj,
                         int(pts["domain"][latest[i]])])  # fmt: skip
        cols = {"id": ids[sel], "lat": pts["lat"][r], "lon": pts["lon"][r], "alt": pts["alt"][r],
                "speed": pts["speed"][r], "course": pts["course"][r]}  # fmt: skip
        last = k == n_steps - 1
        ff = frames.FLAG_REPLAY | (frames.FLAG_REPLAY_END if last else 0)
        data = frames.encode(frames.KEYFRAME, k, t, cols, flags, frame_flags=ff)
        yield meta, data, fired
        if t >= until:
            break
