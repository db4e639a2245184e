"""`--tracks-out`: fused track positions as CSV, one row per track per `every_s`."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from picket.detect.base import domain_label
from picket.fusion.context import BatchContext
from picket.model.alerts import Event, iso
from picket.model.subjects import format_subject
from picket.sinks.downsample import Downsampler

HEADER = ["time", "subject", "domain", "lat", "lon", "alt_m", "speed_ms", "course"]


class TracksCsvSink:
    def __init__(self, path: str | Path, every_s: float = 10.0):
        self.fh = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.w = csv.writer(self.fh)
        self.w.writerow(HEADER)
        self.down = Downsampler(every_s)

    def emit(self, events: list[Event]) -> None:
        return None

    def tracks(self, ctx: BatchContext) -> None:
        rows, s = self.down.select(ctx)
        if not len(rows):
            return
        r = ctx.reports
        subj = ctx.tracks.cols["subject"][s]

        def fmt(v: np.ndarray, nd: int) -> list[str]:
            return ["" if not np.isfinite(x) else f"{x:.{nd}f}" for x in v.tolist()]

        self.w.writerows(zip(
            [iso(t) for t in r.time[rows].tolist()], [format_subject(k) for k in subj.tolist()],
            [domain_label(d) for d in r.domain[rows].tolist()], fmt(r.lat[rows], 6),
            fmt(r.lon[rows], 6), fmt(r.alt[rows], 1), fmt(r.speed[rows], 2),
            fmt(r.course[rows], 1), strict=True,
        ))  # fmt: skip

    def close(self) -> None:
        self.fh.close()
