"""The one pipeline: decoded batch -> fusion -> detectors -> alert book -> sinks.

Live feeds, file replays and the demo all drive the same `Pipeline.process` with
micro-batches through one driver loop (`pipeline/driver.py`, which also times the
checkpoints); event time (never wall time) moves the clock, so a replay behaves exactly
as the live run did.
"""

from __future__ import annotations

import logging
import time as wall
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from picket.detect.base import Detector
from picket.fusion.context import BatchContext, duplicates, link_positions, reject_outliers
from picket.fusion.tracks import TrackTable
from picket.model import domains
from picket.model.alerts import AlertBook, Event
from picket.model.bounds import check_values
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import format_subject
from picket.model.world import World

log = logging.getLogger(__name__)

# After a restart, reports no newer than what the checkpoint had seen (per domain) were
# processed before it: they are dropped until the domain's event time is this far past
# that mark (a feed replaying its recent past on reconnect), and alert events the store
# already holds are not pushed to outputs again (docs/restart.md).
RESUME_WINDOW_S = 600.0

# Slots of long-silent subjects are given to new ones (`Pipeline.forget_silent`), so state
# follows the subjects in view, not every subject a run has met (docs/scaling.md): a subject
# is forgotten once silent for its domain's `forget_s` (model/domains.py, why each is that
# long) in that domain's event time, and never while one of its alerts is open.
FORGET_AFTER_S: dict[int, float] = {
    Domain.NONE: domains.DAY, **{int(s.domain): s.forget_s for s in domains.SPECS}}
FORGET_EVERY_S = 600.0  # event time between looks for silent subjects


class Sink(Protocol):
    def emit(self, events: list[Event]) -> None: ...

    def tracks(self, ctx: BatchContext) -> None: ...

    def close(self) -> None: ...


class PlotStage(Protocol):
    def update(self, plots: Reports) -> Reports: ...


class Pipeline:
    def __init__(
        self,
        detectors: Sequence[Detector],
        sinks: Sequence[Sink] = (),
        world: World | None = None,
        tracks: TrackTable | None = None,
        plot_tracker: PlotStage | None = None,
        book: AlertBook | None = None,
        rejects: Rejects | None = None,
    ):
        self.detectors = list(detectors)
        self.sinks = list(sinks)
        # geography and clocks the detectors read: the assembly's own World
        self.world = World.of(world)
        self.tracks = tracks or TrackTable()
        self.plot_tracker = plot_tracker
        self.book = book or AlertBook()
        self.rejects = rejects
        self.now = -np.inf
        self.now_by_domain: dict[int, float] = {}
        self.n_reports = 0
        self.n_alert_events = 0
        self.n_opened = 0
        self.n_duplicates = 0  # reports dropped as the same message from another receiver
        # checkpoints (docs/restart.md): `checkpointer(self)` runs every `checkpoint_s` wall
        # seconds at a batch boundary (`checkpoint_if_due`, called by the driver) and at
        # `finish`; set by `assemble(resume=True)`
        self.checkpointer: Callable[[Pipeline], None] | None = None
        self.checkpoint_s = 10.0
        self._checkpointed = wall.monotonic()
        self.resume_mark: dict[int, float] = {}  # domain -> event time seen before a restart
        self.seen_event: Callable[[str, Any], bool] | None = None  # event already stored?
        # readers at the bus's edge (`picket.share.edge.OutputEdge`: the [[outputs]]), closed
        # after the sinks at `finish`, once everything the sinks published is on the bus
        self.edges: list[Any] = []
        self._unsaved: set[str] = set()  # components a checkpoint had to leave out (logged)
        # slot recycling: per-domain silence before a subject is forgotten (FORGET_AFTER_S)
        self.forget_after_s: dict[int, float] = dict(FORGET_AFTER_S)
        self.n_forgotten = 0
        self._next_forget = -np.inf
        self._recycles: bool | None = None  # every component can forget (checked once)

    def process(self, decoded: Decoded, now: float | None = None) -> list[Event]:
        for sink in self.sinks:  # operators' commands (zone edits, watchlist) apply from here
            before = getattr(sink, "before_batch", None)
            if before is not None:
                before(self.world)
        r = check_values(decoded.reports, self.rejects)  # impossible values never reach state
        self.n_reports += len(r)
        plots_mask = r.kind == Kind.PLOT
        nameless = ~plots_mask & (r.subject < 0)
        if nameless.any():  # fusion is by identity: a report naming no one cannot join a track
            if self.rejects is not None:
                self.rejects.reject("pipeline.no_subject", "decoded reports", None,
                                    n=int(nameless.sum()))  # fmt: skip
            r = r.where(~nameless)
            plots_mask = r.kind == Kind.PLOT
        if self.resume_mark and len(r):
            r = self._drop_replayed(r)
            plots_mask = r.kind == Kind.PLOT
        plots = None
        if plots_mask.any():
            plots = r.where(plots_mask).sorted_by_time()
            r = r.where(~plots_mask)
            if self.plot_tracker is not None:
                r = Reports.concat([r, self.plot_tracker.update(plots)])
        if len(r):
            for d in np.unique(r.domain).tolist():
                td = float(r.time[r.domain == d].max())
                self.now_by_domain[d] = max(self.now_by_domain.get(d, -np.inf), td)
            self.now = max(self.now, float(np.nanmax(r.time)))
        if now is not None:
            self.now = max(self.now, now)
        if self.now >= self._next_forget and np.isfinite(self.now):
            # before this batch takes slots: its new subjects get the freed ones, and one
            # back after the limit is met as new
            self._next_forget = self.now + FORGET_EVERY_S
            self.forget_silent()
        t = self.tracks
        changes = t.apply_statics(decoded.statics)
        slots = t.slots_for(r.subject) if len(r) else np.empty(0, np.int64)
        if len(r):
            order = np.lexsort((r.time, slots))
            r, slots = r.take(order), slots[order]
            dup = duplicates(r, slots)  # one message heard by several receivers counts once
            if dup.any():
                self.n_duplicates += int(dup.sum())
                r, slots = r.where(~dup), slots[~dup]
        has_pos, prev_t, prev_lat, prev_lon, jump, speed = link_positions(r, slots, t)
        outlier = reject_outliers(r, slots, has_pos, speed, t, prev_t) if len(r) else has_pos
        t.update(r, slots, has_pos & ~outlier)
        world = self.world
        world.now_by_domain = self.now_by_domain
        ctx = BatchContext(
            reports=r, slots=slots, tracks=t, now=self.now, has_pos=has_pos, prev_t=prev_t,
            prev_lat=prev_lat, prev_lon=prev_lon, jump_m=jump, jump_speed=speed,
            outlier=outlier, statics=decoded.statics, identity_changes=changes, plots=plots,
            world=world,
        )  # fmt: skip
        signals = []
        for det in self.detectors:
            signals.extend(det.update(ctx))
        events = self.book.apply(signals)
        if np.isfinite(self.now):
            events += self.book.expire(self.now)
        self.n_alert_events += len(events)
        self.n_opened += sum(1 for what, _ in events if what == "open")
        fresh = self._unseen(events)
        for sink in self.sinks:
            out = events if _idempotent(sink) else fresh
            if out:
                sink.emit(out)
            sink.tracks(ctx)
        if self.resume_mark:
            self._end_resume()
        return events

    # forgetting (docs/scaling.md) -----------------------------------------------------
    def silent_slots(self) -> np.ndarray:
        """Slots whose subject has been silent past its domain's `forget_after_s` (by that
        domain's clock) and has no open alert."""
        t = self.tracks
        n = t.n
        c = t.cols
        if not n:
            return np.empty(0, np.int64)
        horizon = np.full(256, np.inf)
        clock = np.full(256, self.now)
        for d, h in self.forget_after_s.items():
            horizon[int(d)] = h
        for d, now in self.now_by_domain.items():
            clock[int(d)] = now
        dom = c["domain"][:n].astype(np.int64)
        cand = np.flatnonzero((c["subject"][:n] >= 0)
                              & (clock[dom] - c["last_time"][:n] > horizon[dom]))  # fmt: skip
        if len(cand) and self.book.open:
            alerted = {s for s, _ in self.book.open}
            quiet = [format_subject(k) not in alerted for k in c["subject"][cand].tolist()]
            cand = cand[np.array(quiet, bool)]
        return cand

    def forget_silent(self) -> np.ndarray:
        """Give the slots of `silent_slots()` to the next new subjects; returns them."""
        if not self.recycles():
            return np.empty(0, np.int64)
        slots = self.silent_slots()
        if len(slots):
            self.forget_slots(slots)
        return slots

    def forget_slots(self, slots: np.ndarray) -> None:
        """Every detector and stateful sink forgets `slots`, then the track table frees them
        (detectors first: they may still read the table's row)."""
        slots = np.unique(np.asarray(slots, np.int64))
        for det in self.detectors:
            det.forget(slots)
        # the harbour learner a maritime rule makes when no `HarbourLearning` runs is the
        # World's, owned by no detector (forgetting twice is harmless)
        learner = getattr(self.world, "harbours", None)
        if callable(getattr(learner, "forget", None)):
            learner.forget(slots)
        for sink in self.sinks:
            forget = getattr(sink, "forget", None)
            if callable(forget):
                forget(slots)
        self.tracks.forget(slots)
        self.n_forgotten += len(slots)
        log.debug("forgot %d silent subjects (%d slots in use)", len(slots), self.tracks.n_live)

    def recycles(self) -> bool:
        """Whether slots can be given back: every detector has `forget`, and so does every
        sink with state of its own (`checkpoint_state`). One that lacks it would hand its
        state for a forgotten subject to the next one, so then nothing is forgotten."""
        if self._recycles is None:
            lacking = [type(d).__qualname__ for d in self.detectors
                       if not callable(getattr(d, "forget", None))]
            lacking += [type(k).__qualname__ for k in self.sinks
                        if callable(getattr(k, "checkpoint_state", None))
                        and not callable(getattr(k, "forget", None))]  # fmt: skip
            if lacking:
                log.warning("tracks are never forgotten, so memory grows with every subject "
                            "met: %s cannot forget a track", ", ".join(lacking))  # fmt: skip
            self._recycles = not lacking
        return self._recycles

    def finish(self) -> list[Event]:
        events = self.book.close_all(self.now)
        fresh = self._unseen(events)
        for sink in self.sinks:
            out = events if _idempotent(sink) else fresh
            if out:
                sink.emit(out)
        if self.checkpointer is not None:
            self.checkpoint()
        for sink in self.sinks:
            sink.close()
        for edge in self.edges:
            edge.close()
        return events

    # restarts (docs/restart.md) -----------------------------------------------------
    def _components(self) -> dict[str, Any]:
        """What a checkpoint holds, by a name that survives a restart with the same config."""
        out: dict[str, Any] = {"tracks": self.tracks, "book": self.book}
        if self.plot_tracker is not None:
            out["plot_tracker"] = self.plot_tracker
        # every detector; a sink only with state of its own (the store's history buckets)
        stateful = [("detector", d) for d in self.detectors] + [
            ("sink", k) for k in self.sinks if callable(getattr(k, "checkpoint_state", None))]
        seen: dict[str, int] = {}
        for role, obj in stateful:
            name = type(obj).__qualname__
            seen[name] = seen.get(name, 0) + 1
            out[f"{role}:{name}:{seen[name]}"] = obj
        return out

    def snapshot_for(self, store: Any) -> bytes:
        """`snapshot()` as `store` keeps it: uncompressed where the store compresses what it
        keeps itself (`checkpoint_compressed`: PostgreSQL's lz4), deflated elsewhere."""
        return self.snapshot(not getattr(store, "checkpoint_compressed", False))

    def snapshot(self, compress: bool = True) -> bytes:
        """The state that spans batches, as one blob (`picket.store.checkpoint`): fusion
        tracks, the plot tracker, every detector (its own `checkpoint_state()` where it has
        one, given back by `restore_state(state)`, else its attributes less configuration),
        the alert book, and the sinks that have a `checkpoint_state()`. `compress=False`
        for a store that compresses it itself."""
        from picket.store.checkpoint import dumps, state_of

        parts = {}
        for name, comp in self._components().items():
            own = getattr(comp, "checkpoint_state", None)
            parts[name] = {"own": own()} if callable(own) else {"attrs": state_of(comp)}
        blob, failed = dumps({
            "now": float(self.now), "now_by_domain": dict(self.now_by_domain),
            "counts": [self.n_reports, self.n_alert_events, self.n_opened, self.n_duplicates],
        }, parts, compress)  # fmt: skip
        for name in failed:
            if name not in self._unsaved:
                self._unsaved.add(name)
                log.warning("checkpoint: %s holds state that cannot be saved; it will start "
                            "empty after a restart", name)  # fmt: skip
        return blob

    def restore(self, blob: bytes) -> list[str]:
        """Put a `snapshot` back (before the first batch). A component whose saved state
        does not fit this code or config starts empty, logged; returns their names. Reports
        no newer than the checkpoint had seen are then dropped for `RESUME_WINDOW_S`."""
        from picket.store.checkpoint import CheckpointError, loads, restore_into

        st = loads(blob)
        try:  # the plain values first: a blob that lacks them changes nothing
            now, parts = float(st["now"]), st["parts"]
            by_domain = {int(k): float(v) for k, v in st["now_by_domain"].items()}
            counts = [int(c) for c in st["counts"]]
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CheckpointError(f"checkpoint lacks its clocks: {e}") from None
        fresh = []
        for name, comp in self._components().items():
            part = parts.get(name)
            try:
                if part is None:
                    raise CheckpointError("not in the checkpoint")
                if "own" in part:
                    comp.restore_state(part["own"])
                else:
                    restore_into(comp, part["attrs"])
            except (CheckpointError, AttributeError, TypeError, ValueError) as e:
                log.warning("restart: %s starts empty: %s", name, e)
                fresh.append(name)
        self.now, self.now_by_domain = now, by_domain
        self.n_reports, self.n_alert_events, self.n_opened, self.n_duplicates = counts
        self.resume_mark = dict(self.now_by_domain)
        return fresh

    def checkpoint_if_due(self) -> None:
        """Checkpoint when `checkpoint_s` wall seconds passed since the last one (the driver
        calls this between batches, `pipeline/driver.py`)."""
        if self.checkpointer is not None and (
            wall.monotonic() - self._checkpointed >= self.checkpoint_s
        ):
            self.checkpoint()

    def checkpoint(self) -> None:
        """Save the state now (the checkpointer decides where); a failure is logged and the
        run goes on: a missed checkpoint costs a longer replay after a crash, nothing else."""
        self._checkpointed = wall.monotonic()
        if self.checkpointer is None:
            return
        try:
            self.checkpointer(self)
        except Exception:
            log.exception("checkpoint failed; the run goes on")

    def _drop_replayed(self, r: Reports) -> Reports:
        """Drop reports the checkpointed state already holds (no newer than its mark)."""
        mark = np.full(len(r), -np.inf)
        for d, t in self.resume_mark.items():
            mark[r.domain == d] = t
        old = r.time <= mark
        if old.any():
            if self.rejects is not None:
                self.rejects.note_unused("reports processed before the restart",
                                         int(old.sum()))  # fmt: skip
            r = r.where(~old)
        return r

    def _end_resume(self) -> None:
        for d, t in list(self.resume_mark.items()):
            if self.now_by_domain.get(d, -np.inf) > t + RESUME_WINDOW_S:
                del self.resume_mark[d]

    def _unseen(self, events: list[Event]) -> list[Event]:
        """Events for the store and push outputs: after a restart, news only. An alert id
        opens and closes once, so a repeat is known whatever batch time stamped it (an
        expiry closes at the batch's time); an update is news past the stored last_time."""
        seen = self.seen_event
        if seen is None or not events:
            return events
        return [(what, a) for what, a in events if not seen(what, a)]


def _idempotent(sink: Any) -> bool:
    """Sinks keyed by alert id take every event, repeats included (the alert file rewrites
    each alert's latest state); the store and push outputs take only news."""
    from picket.sinks.jsonl import MemorySink

    return isinstance(sink, MemorySink)
