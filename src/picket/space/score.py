"""Scoring manoeuvre detections against operators' published manoeuvre times.

One scorer for the test and the benchmark, so both report the same numbers.
A detection is an interval: the burn lies between the last element set before
the step and the first one after (`t_before`, `t_after`). A true manoeuvre and
a detection match when the true time lies within `window_s` of that interval
(0 when inside it). Element sets come about once a day and a burn often shows
fully only in the second set after it (the first is fitted across the burn),
so the default window is two days.

Matching is one to one (maximum matching in time order): each true manoeuvre
is credited once, and each detection credits at most one true manoeuvre. A
detection left over that still lies within the window of a true manoeuvre
(a second detection of the same burn) is a duplicate: counted once, neither a
hit nor a false alarm. Every other detection is a false alarm. True manoeuvres
outside the history's span (before its first set or after its last) cannot be
seen and are left out of recall; the count is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOW_S = 2 * 86400.0


@dataclass
class Score:
    """Per satellite (or summed over a class)."""

    true: int  # true manoeuvres inside the history's span
    outside: int  # true manoeuvres outside the span (not scored)
    detected: int  # detections
    matched: int  # true manoeuvres matched one to one
    duplicates: int  # extra detections of an already matched manoeuvre
    false: int  # detections near no true manoeuvre
    offsets_s: np.ndarray  # matched: true time minus detection interval (0 inside)

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else float("nan")

    @property
    def precision(self) -> float:
        n = self.matched + self.false
        return self.matched / n if n else float("nan")

    @property
    def median_offset_h(self) -> float:
        return float(np.median(self.offsets_s)) / 3600.0 if len(self.offsets_s) else float("nan")

    def __add__(self, o: Score) -> Score:
        return Score(
            self.true + o.true, self.outside + o.outside, self.detected + o.detected,
            self.matched + o.matched, self.duplicates + o.duplicates, self.false + o.false,
            np.concatenate([self.offsets_s, o.offsets_s]),
        )  # fmt: skip

    @classmethod
    def zero(cls) -> Score:
        return cls(0, 0, 0, 0, 0, 0, np.zeros(0))


def read_truth(path: str | Path) -> tuple[int, np.ndarray]:
    """(NORAD number, sorted unix times) from a `manoeuvres_<name>.yaml` of the benchmark.

    The files hold two keys (`SATCAT number`, `manoeuvre_timestamps` as a list of
    "YYYY-MM-DD HH:MM:SS" UTC); read with a regular expression rather than a YAML
    dependency for one test fixture.
    """
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r"^SATCAT number:\s*(\d+)", text, re.M)
    stamps = re.findall(r"^-\s*'?(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d)?)'?\s*$", text, re.M)
    t = np.array([np.datetime64(f"{d}T{h}", "s").astype(np.int64) for d, h in stamps], float)
    return (int(m.group(1)) if m else -1), np.sort(t)


def _gap(truth: float, lo: float, hi: float) -> float:
    """Signed distance from the interval [lo, hi] to the true time (0 inside)."""
    return truth - hi if truth > hi else (truth - lo if truth < lo else 0.0)


def score(
    t_before: np.ndarray,
    t_after: np.ndarray,
    truth: np.ndarray,
    span: tuple[float, float],
    window_s: float = WINDOW_S,
) -> Score:
    """Match detections [t_before, t_after] to true times one to one.

    Greedy in time order over the true manoeuvres, each taking the free detection
    that closes earliest among those within the window: for intervals on a line this
    gives the largest number of matches.
    """
    lo_all = np.asarray(t_before, float)
    hi_all = np.asarray(t_after, float)
    truth = np.sort(np.asarray(truth, float))
    inside = (truth >= span[0]) & (truth <= span[1])
    tt = truth[inside]
    order = np.argsort(hi_all, kind="stable")
    lo, hi = lo_all[order], hi_all[order]
    free = np.ones(len(lo), bool)
    offsets = []
    for x in tt.tolist():
        ok = free & (lo - window_s <= x) & (hi + window_s >= x)
        if ok.any():
            j = int(np.argmax(ok))
            free[j] = False
            offsets.append(_gap(x, lo[j], hi[j]))
    near = np.zeros(len(lo), bool)
    for x in tt.tolist():
        near |= (lo - window_s <= x) & (hi + window_s >= x)
    matched = len(offsets)
    dup = int((free & near).sum())
    false = int((free & ~near).sum())
    return Score(len(tt), int((~inside).sum()), len(lo), matched, dup, false, np.array(offsets))


@dataclass
class SatelliteScore:
    name: str
    regime: str  # "GEO" or "LEO" (everything not geostationary in this benchmark)
    score: Score
    seconds: float  # detection time


def score_folder(folder: str | Path, cfg=None, window_s: float = WINDOW_S) -> list[SatelliteScore]:
    """Every `<name>.tle` with its `manoeuvres_<name>.yaml` in `folder`, detected and scored.

    The class follows the orbit (mean motion 0.9-1.1 rev/day: GEO), not the file name.
    """
    import time

    from picket.model.rejects import Rejects
    from picket.space.manoeuvres import detect_manoeuvres
    from picket.space.read import read_elements

    out = []
    for tle in sorted(Path(folder).glob("*.tle")):
        truth_file = tle.with_name(f"manoeuvres_{tle.stem}.yaml")
        if not truth_file.exists():
            continue
        es = read_elements(tle, Rejects())
        _, truth = read_truth(truth_file)
        c = time.perf_counter()
        m = detect_manoeuvres(es, cfg)
        sec = time.perf_counter() - c
        geo = 0.9 < float(np.median(es.mean_motion)) < 1.1
        s = score(m.t_before, m.t_after, truth, (float(es.epoch.min()), float(es.epoch.max())),
                  window_s)  # fmt: skip
        out.append(SatelliteScore(tle.stem, "GEO" if geo else "LEO", s, sec))
    return out


def table(rows: list[SatelliteScore]) -> str:
    """Per satellite and per class: true, detected, matched, recall, precision, offset."""
    head = (f"{'satellite':14s} {'class':5s} {'true':>5s} {'out':>4s} {'det':>5s} {'match':>5s} "
            f"{'dup':>4s} {'false':>5s} {'recall':>6s} {'prec':>6s} {'med off h':>9s}")  # fmt: skip
    lines = [head]

    def line(name: str, cls: str, s: Score) -> str:
        return (f"{name:14s} {cls:5s} {s.true:5d} {s.outside:4d} {s.detected:5d} {s.matched:5d} "
                f"{s.duplicates:4d} {s.false:5d} {s.recall:6.2f} {s.precision:6.2f} "
                f"{s.median_offset_h:9.1f}")  # fmt: skip

    for r in rows:
        lines.append(line(r.name, r.regime, r.score))
    for cls in ("LEO", "GEO"):
        tot = Score.zero()
        for r in rows:
            if r.regime == cls:
                tot = tot + r.score
        lines.append(line("all " + cls, cls, tot))
    return "\n".join(lines)
