"""CPU time per pipeline stage of one replay, for `picket bench ais|opensky --stages`.

Wraps the stage functions of a prepared pipeline with CPU timers (process time),
runs the replay once, and returns seconds per stage. Stages nest: `decode` is the
readers' `feed`/`flush` (framing, fields, reassembly), `fusion` the track update
inside `Pipeline.process`, `corridor` the shared protected-corridor lookup that the
first detector asking for it pays, each detector its own `update` minus that lookup.
Timers cost a little; the total is printed beside the untimed run's.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import picket.pipeline.runtime as rt
from picket.fusion.context import BatchContext
from picket.fusion.tracks import TrackTable
from picket.model.alerts import AlertBook
from picket.sources import registry


class _Clock:
    def __init__(self) -> None:
        self.spent: Counter[str] = Counter()
        self.stack: list[list[float]] = []  # [start, time taken by nested stages]

    def wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            self.stack.append([time.process_time(), 0.0])
            try:
                return fn(*a, **k)
            finally:
                t0, inner = self.stack.pop()
                dt = time.process_time() - t0
                self.spent[name] += dt - inner
                if self.stack:
                    self.stack[-1][1] += dt

        return timed


def stage_times(run: Callable[[Any], Any], asm: Any) -> tuple[Counter[str], float]:
    """Run `run(asm)` with stage timers; (self time per stage, total CPU seconds)."""
    clock = _Clock()
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, name: str) -> None:
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, clock.wrap(getattr(owner, attr), name))

    real_read = registry.read_file

    def read_file(*a: Any, **k: Any) -> Any:  # time each pull of the reader's generator
        it = real_read(*a, **k)
        step = clock.wrap(lambda: next(it, None), "decode")
        while (d := step()) is not None:
            yield d

    import picket.pipeline.replay as rp

    saved.append((rp, "read_file", rp.read_file))
    rp.read_file = read_file  # type: ignore[assignment]
    for mod in (rp, _driver()):  # the door is called from where the replay loop lives
        if mod is not None and hasattr(mod, "at_the_door"):
            patch(mod, "at_the_door", "door")
    patch(rt, "check_values", "door")
    for f in ("duplicates", "link_positions", "reject_outliers"):
        patch(rt, f, "fusion")
    patch(TrackTable, "slots_for", "fusion")
    patch(TrackTable, "update", "fusion")
    patch(TrackTable, "apply_statics", "fusion")
    patch(BatchContext, "corridor", "corridor")
    patch(AlertBook, "apply", "alert book")
    patch(AlertBook, "expire", "alert book")
    p = asm.pipeline
    patch(p, "process", "pipeline other")
    for d in p.detectors:
        patch(d, "update", f"detector {getattr(d, 'kind', type(d).__name__)}")
    for s in p.sinks:
        patch(s, "tracks", "sinks")
        patch(s, "emit", "sinks")
    c0 = time.process_time()
    try:
        run(asm)
    finally:
        total = time.process_time() - c0
        for owner, attr, v in reversed(saved):
            setattr(owner, attr, v)
    clock.spent["replay other (merge, batches)"] = total - sum(clock.spent.values())
    return clock.spent, total


def _driver() -> Any:
    """`picket.pipeline.driver` where the checkout has it (the one replay/live loop)."""
    try:
        import picket.pipeline.driver as drv
    except ImportError:
        return None
    return drv


def print_stages(spent: Counter[str], total: float, n: int, unit: str) -> None:
    print(f"CPU by stage (timed run {total:.2f} s, {n / total:,.0f} {unit}/s):")
    for name, sec in spent.most_common():
        if sec >= 0.005:
            print(f"  {name:45s} {sec:6.2f} s  {100 * sec / total:5.1f} %")


def timed(fn, *args) -> tuple:
    """(result, CPU seconds, wall seconds)."""
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return out, time.process_time() - c0, time.perf_counter() - w0
