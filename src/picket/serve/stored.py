"""The picture as of a time, built from the store's track history.

Why: `picket serve` over a stored run has no pipeline to hand it a picture,
and a replay's track panel asks about a past instant. Every subject shows
its newest stored point at or before the time, as long as that point is
younger than its domain's drop time (the live picture's rule); the store
keeps points downsampled, so positions are those of the nearest stored step.
"""

from __future__ import annotations

import numpy as np

from picket.serve.picture import DROP_S, Picture
from picket.store import newest_points
from picket.store.sqlite import Store

MAX_DROP_S = max(DROP_S.values())


def picture_at(store: Store, at: float) -> Picture:
    """Every subject's newest stored point at or before `at` (within the longest drop time)."""
    lo = at - MAX_DROP_S
    newest = newest_points(store, lo, at)
    pic = Picture.empty()
    pic.time = float(at)
    if not newest:
        return pic
    first = dict(store.db.execute(
        "SELECT subject, min(time) FROM track_points WHERE time <= ? AND subject IN "
        "(SELECT DISTINCT subject FROM track_points WHERE time > ? AND time <= ?) "
        "GROUP BY subject", (at, lo, at)).fetchall())  # fmt: skip
    counts = dict(store.db.execute(
        "SELECT subject, count(*) FROM track_points WHERE time > ? AND time <= ? "
        "GROUP BY subject", (lo, at)).fetchall())  # fmt: skip
    cols = list(zip(*newest, strict=True))
    n = len(newest)

    def f(i: int) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in cols[i]], float)

    subj = np.array(cols[0], np.int64)
    t = f(1)
    pic.cols.update(
        subject=subj, last_time=t, pos_time=t.copy(), domain=np.array(cols[2], np.uint8),
        lat=f(3), lon=f(4), alt=f(5), speed=f(6), course=f(7), heading=np.full(n, np.nan),
        first_time=np.array([first.get(int(s), np.nan) for s in subj.tolist()], float),
        squawk=np.full(n, -1, np.int16), emergency=np.zeros(n, np.int8),
        nav_status=np.full(n, -1, np.int8),
        n_reports=np.array([counts.get(int(s), 0) for s in subj.tolist()], np.int64),
        id=np.arange(n, dtype=np.int64),
    )  # fmt: skip
    return pic
