"""The pipeline's edge on the bus: alert events and track snapshots out, for servers,
CoT, webhooks and exports that read the bus instead of the pipeline's memory.

`BusSink` is an ordinary sink (`emit`, `tracks`, `close`): alert events go to
`picket.alerts` as JSON lines (a few a second at most), and each batch's newest fix per
track to `picket.tracks.<shard>` as one columnar batch (`picket.bus.batch`), never an
object per track. With `picture=True` it also publishes, per batch, the picture columns
of every track the batch changed (`picket.picture`, `picket.bus.picture`): what the live
server builds its own picture from, so it never reads the pipeline's `TrackTable`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from picket.bus import ALERTS, Bus
from picket.bus.batch import BatchMeta, decode, encode
from picket.bus.picture import PICTURE, PictureTap
from picket.fusion.context import BatchContext
from picket.model.alerts import Alert, Event
from picket.model.decoded import Decoded

TRACKS = "picket.tracks"


class BusSink:
    def __init__(self, bus: Bus, shard: int = 0, reports: bool = True, picture: bool = False,
                 global_ids: bool = False):  # fmt: skip
        self.bus, self.shard = bus, shard
        self.seq = 0
        self.published = 0
        self.reports = reports
        # global_ids: snapshots carry `picket.bus.global_ids` (a worker of a cluster)
        self.picture = PictureTap(shard if global_ids else None) if picture else None
        self.n_reports = 0  # reports seen, for the server's rate

    def publish_picture(self, ctx: BatchContext) -> None:
        """The changed tracks' picture columns, their new history and statics (one message)."""
        if self.picture is None:
            return
        self.n_reports += len(ctx.reports)
        data = self.picture.snapshot(ctx, self.n_reports)
        if data is not None:
            self.bus.publish(PICTURE, data)

    def emit(self, events: list[Event]) -> None:
        lines = [json.dumps({"what": what, "alert": a.to_json()}, separators=(",", ":"))
                 for what, a in events]  # fmt: skip
        if lines:
            self.bus.publish(ALERTS, "\n".join(lines).encode())

    def tracks(self, ctx: BatchContext) -> None:
        self.publish_picture(ctx)
        if not self.reports:
            return
        rows = np.flatnonzero(ctx.has_pos & ~ctx.outlier)
        if not len(rows):
            return
        s = ctx.slots[rows]  # the batch is sorted by track then time: a track's last row
        last = rows[np.r_[s[1:] != s[:-1], True]]
        r = ctx.reports.take(last)
        r.cols["subject"] = ctx.tracks.cols["subject"][ctx.slots[last]]  # plots' tracks too
        self.seq += 1
        meta = BatchMeta(self.seq, float(ctx.now))
        self.bus.publish(f"{TRACKS}.{self.shard}", encode(Decoded(r, []), meta))
        self.published += len(r)

    def forget(self, slots: np.ndarray) -> None:
        if self.picture is not None:
            self.picture.forget(slots)

    def close(self) -> None:
        pass


def read_alerts(data: bytes) -> list[Event]:
    """The events of one `picket.alerts` message."""
    out: list[Event] = []
    for line in data.decode().splitlines():
        d = json.loads(line)
        out.append((d["what"], Alert.from_json(d["alert"])))
    return out


def read_tracks(data: bytes) -> Any:
    """The snapshot of one `picket.tracks.<shard>` message: (Reports, BatchMeta)."""
    d, meta = decode(data)
    return d.reports, meta


def track_ids(subject: str, reports: Any) -> np.ndarray:
    """The global ids of a `picket.tracks.<shard>` message's tracks (its `subject`
    column holds their subject keys; the shard is the subject name's last part)."""
    from picket.bus import global_ids

    return global_ids(reports.subject, int(subject.rsplit(".", 1)[1]))
