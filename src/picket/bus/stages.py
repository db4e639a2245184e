"""The distributed pipeline's two ends: the decoder that publishes partitioned report
batches, and the worker that runs fusion and detectors on one partition.

Partitioning (docs/scaling.md): every cut of the decoded stream (the replay's micro-batch,
`pipeline.replay.batches`) is published once per subject shard, `picket.reports.<k>`,
holding the reports whose subject hashes to k (`shard_of`; anonymous plots go to shard 0,
where the plot tracker runs), and once whole to `picket.area.0` for the area stage. Every
shard gets every cut, empty or not, stamped with the cut's watermark, so each worker's
event time advances exactly as one process's would: timers that judge silence see the
same `now` everywhere. A detector declares where it runs with a class attribute
`stage = "subject" | "area"` (default "subject"): "area" ones need neighbours or state
learned from all traffic (encounters, GNSS cells, reception for gaps and transponder
loss, harbours) and run in the area worker.

Exactly once: a worker saves its pipeline state and the stream sequence it reached as one
checkpoint in the store, behind the writes it follows; on a restart it restores that state
and reads again from the next message. Alerts and their events are keyed by deterministic
ids in the store, so whatever is processed twice is written once.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import time as wall
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from picket.bus import AREA, REPORTS, Bus, Msg, shard_of
from picket.bus.batch import BatchError, BatchMeta, decode, encode
from picket.model.decoded import Decoded
from picket.model.reports import SOURCES, Kind, Reports

log = logging.getLogger(__name__)

SUBJECT, AREA_STAGE, ALL = "subject", "area", "all"  # ALL: one worker runs both stages
# a checkpoint serialises the whole pipeline state (0.1-0.4 s on the demo's hour, growing
# with the tracks held): taken every `checkpoint_s` regardless, it cost a worker a third of
# its CPU on a busy machine, so the next waits until the worker's own CPU time since the
# last is this many times the last one's cost (at most CHECKPOINT_MAX_S of wall time, so
# a quiet worker still checkpoints)
CHECKPOINT_SHARE = 0.05
CHECKPOINT_MAX_S = 60.0
BOTH = "both"  # one process: subject shard k and an area partition (`area_partner`)


def stage_of(det: Any) -> str:
    return str(getattr(det, "stage", SUBJECT))


# the decoder's side -----------------------------------------------------------------------
@dataclass
class Publisher:
    """Publishes the cuts of one decoded stream, partitioned, with de-duplication ids
    (`<source>:<cut>:<shard>`), so a restarted decoder that publishes again stores once."""

    bus: Bus
    shards: int
    source: str = "feed"
    area: bool = True  # also publish cuts for the area stage
    area_parts: int = 1  # area partitions, by H3 cell (`picket.bus.area`); 1: whole cuts
    # operators' commands (`picket.cmd.>`), stamped into the next cut for every worker
    commands: Any = None
    seq: int = 0
    sent_reports: int = 0
    sent_bytes: int = 0
    _router: Any = field(default=None, repr=False)

    def publish(self, d: Decoded, watermark: float, eof: bool = False) -> None:
        self.seq += 1
        r = d.reports
        by_domain = {}
        named = r.kind != Kind.PLOT
        if len(r) and named.any():
            dom, t = r.domain[named], r.time[named]
            for k in np.unique(dom).tolist():
                by_domain[int(k)] = float(np.nanmax(t[dom == k]))
        meta = BatchMeta(self.seq, float(watermark), by_domain, eof, wall.time(),
                         self._take_commands())  # fmt: skip
        if self.shards > 1:
            sh = shard_of(r.subject, self.shards)
            sh[r.kind == Kind.PLOT] = 0
            ssh = shard_of(np.array([s.subject for s in d.statics], np.int64), self.shards)
        for k in range(self.shards):
            if self.shards == 1:
                part = d
            elif len(r):
                mine = sh == k
                part = Decoded(r.where(mine) if not mine.all() else r,
                               [s for s, j in zip(d.statics, ssh.tolist(), strict=True)
                                if j == k])  # fmt: skip
            else:
                part = Decoded(r, [s for s, j in zip(d.statics, ssh.tolist(), strict=True)
                                   if j == k])  # fmt: skip
            self._send(f"{REPORTS}.{k}", part, meta, k)
        if self.area and self.area_parts <= 1:
            self._send(f"{AREA}.0", d, meta, "a")
        elif self.area:
            if self._router is None:
                from picket.bus.area import AreaMap, Router

                self._router = Router(AreaMap(self.area_parts))
            mask = self._router.masks(r.subject, r.lat, r.lon, r.time, r.domain)
            for k in range(self.area_parts):
                mine = (mask >> k) & 1 == 1
                part = Decoded(r if mine.all() else r.where(mine), d.statics)
                self._send(f"{AREA}.{k}", part, meta, f"a{k}")  # every partition, every cut
        self.sent_reports += len(r)

    def _take_commands(self) -> list[tuple[str, str]]:
        """Commands that came since the last cut; a restarted feed stamps them again into
        a later cut (the newest zone set again: applying it twice changes nothing)."""
        if self.commands is None:
            return []
        return [(m.subject.rsplit(".", 1)[-1], m.data.decode("utf-8", "replace"))
                for m in self.commands.fetch(1000, 0.001)]  # fmt: skip

    def _send(self, subject: str, d: Decoded, meta: BatchMeta, k: Any) -> None:
        data = encode(d, meta)
        self.sent_bytes += len(data)
        self.bus.publish(subject, data, msg_id=f"{self.source}:{meta.seq}:{k}",
                         headers={"src": self.source})  # fmt: skip


def publish_stream(
    pub: Publisher,
    stream: Iterator[Decoded],
    batch_s: float = 10.0,
    min_rows: int = 0,
    max_span_s: float = 0.0,
    speed: float = 0.0,
    eof: bool = True,
) -> int:
    """Cut a decoded, time-ordered stream as a replay does and publish every cut; with
    `eof`, a last empty cut tells workers the feed ended (they close what is open, as the
    replay's `finish` does). Returns the number of cuts."""
    from picket.pipeline.replay import batches

    start, t0, last = wall.perf_counter(), None, -math.inf
    for d, hi in batches(stream, batch_s, min_rows, max_span_s):
        if np.isfinite(hi):
            last = max(last, hi)
            if speed > 0:
                t0 = hi if t0 is None else t0
                delay = start + (hi - t0) / speed - wall.perf_counter()
                if delay > 0:
                    wall.sleep(delay)
        pub.publish(d, hi)
    if eof:
        pub.publish(Decoded(Reports.empty(0), []), last, eof=True)
    return pub.seq


# the worker's side -----------------------------------------------------------------------
class AlertsOnly:
    """The area worker's store sink: alerts and events, no track history (the subject
    workers write each track's points once)."""

    def __init__(self, sink: Any):
        self.sink = sink

    def emit(self, events: list) -> None:
        self.sink.emit(events)

    def tracks(self, ctx: Any) -> None:
        pass

    def before_batch(self, world: Any) -> None:
        _before_batch(self.sink, world)

    def close(self) -> None:
        self.sink.close()


def _before_batch(sink: Any, world: Any) -> None:
    """A wrapped sink's commands still apply before each batch (`Pipeline.process`)."""
    before = getattr(sink, "before_batch", None)
    if before is not None:
        before(world)


class OwnedOnly:
    """An area partition's sink: only the events of alerts this partition owns (opened in
    one of its cells, `picket.bus.area`); the halo's alerts are another partition's. Each
    alert's owner is decided at its first event and kept (checkpointed with the worker)
    until it closes, so an alert whose position moves on stays with one partition; a
    reopened alert is judged again where it is, the same way by every partition."""

    def __init__(self, sink: Any, amap: Any, part: int, own: dict[str, bool]):
        self.sink, self.amap, self.part, self.own = sink, amap, part, own
        self.dropped = 0  # events of alerts another partition owns

    def emit(self, events: list) -> None:
        out = []
        for ev in events:
            a = ev[1]
            mine = self.own.get(a.id)
            if mine is None:
                mine = self.own[a.id] = self.amap.owner_of(a.lat, a.lon, a.domain) == self.part
            if mine:
                out.append(ev)
            else:
                self.dropped += 1
            if ev[0] == "close":  # the map holds open alerts only: it must not grow with time
                self.own.pop(a.id, None)
        if out:
            self.sink.emit(out)

    def tracks(self, ctx: Any) -> None:
        self.sink.tracks(ctx)

    def before_batch(self, world: Any) -> None:
        _before_batch(self.sink, world)

    def close(self) -> None:
        self.sink.close()


@dataclass
class WorkerStats:
    batches: int = 0
    reports: int = 0
    events: int = 0
    skipped: int = 0  # messages at or before the checkpoint (redelivered): not reprocessed
    bad: int = 0  # payloads that are not report batches (counted as rejects too)
    rewinds: int = 0  # a cut missing in delivery: read again from the last one processed
    idle_feeds: int = 0  # feeds that stopped holding event time back (silent for idle_s)
    late: int = 0  # reports behind event time when they came (a feed back from silence)
    held_steps: int = 0  # steps of the minimum watermark (several feeds)
    latency_s: list[float] = field(default_factory=list)  # publish -> processed, per batch
    alert_latency_s: list[float] = field(default_factory=list)  # publish -> alert stored
    cpu_s: float = 0.0  # this process's CPU time over the run (all its threads)
    checkpoints: int = 0  # state saved to the store
    checkpoint_cpu_s: float = 0.0  # what saving it cost this thread
    first_wall: float = 0.0  # wall time of the first and the last batch processed
    last_wall: float = 0.0


class Worker:
    """Fusion and the detectors of one stage on one partition, fed from the bus.

    `role` "subject" reads `picket.reports.<k>` and runs the subject detectors; "area"
    reads `picket.area.<k>` and runs the area detectors on area partition k of `parts`
    (H3 cells and their halo, `picket.bus.area`), passing on the alerts it owns; "all"
    reads `picket.area.0` and runs every detector (a one-worker cluster). With
    `publish_tracks`, the subject stage publishes its track snapshots (`picket.tracks.<k>`,
    `picket.picture`) with global ids (`picket.bus.global_ids`) and every stage the events
    of the alerts it stores (`picket.alerts`: an area partition the ones it owns), what
    servers and `picket share` read. With
    `probe_latency`, a batch that made alert events waits for the store to hold them, and
    the time from its publication is kept (feed to stored alert, for the benchmark)."""

    def __init__(self, asm: Any, bus: Bus, part: int, parts: int, role: str = SUBJECT,
                 checkpoint_s: float = 2.0, name: str | None = None,
                 probe_latency: bool = False, feeds: int = 1,
                 idle_s: float = 30.0, publish_tracks: bool = False):  # fmt: skip
        from picket.sinks.store_sink import StoreSink

        # several feeds (`feeds` > 1): each cut waits for the minimum watermark (`_merge`)
        self.feeds, self.idle_s = max(1, feeds), idle_s
        self.wm: dict[str, float] = {}  # feed -> newest watermark
        self.heard: dict[str, float] = {}  # feed -> wall time of its last cut
        self.ended: set[str] = set()
        self.idle: set[str] = set()
        self.dom: dict[int, float] = {}  # newest report time per domain, all feeds
        self.released = -math.inf  # event time applied so far
        self.pending: list[Reports] = []  # reports above it, held
        self.statics: list = []
        self._started = wall.monotonic()
        self._missing_idle = False

        self.asm, self.bus, self.part, self.parts, self.role = asm, bus, part, parts, role
        pipe = self.pipe = asm.pipeline
        if role != ALL:
            pipe.detectors = [d for d in pipe.detectors if stage_of(d) == role]
        if role == AREA_STAGE:
            pipe.sinks = [AlertsOnly(s) if isinstance(s, StoreSink) else s for s in pipe.sinks]
            # radar tracks are made (and judged per subject) on shard 0 only: the tracker
            # is the costliest stage there is, and no area detector reads anonymous plots'
            # tracks today (a coastal radar's ships in encounters would need them sent on)
            pipe.plot_tracker = None
        elif part != 0:
            pipe.plot_tracker = None  # plots go to shard 0 only
        if publish_tracks and role == AREA_STAGE:  # the area detectors' alert events
            from picket.bus.sink import BusSink

            pipe.sinks.append(BusSink(bus, part, reports=False))
        elif publish_tracks:  # track snapshots keyed by global ids, and alert events
            from picket.bus.sink import BusSink

            pipe.sinks.append(BusSink(bus, part, picture=True, global_ids=True))
            if part == 0:  # the static picture (zones, lines, sky, rules) for servers
                from picket.bus.static import StaticPublisher

                pipe.sinks.append(StaticPublisher(bus, pipe.world, source=f"worker-{part}"))
        from picket.pipeline.commands import Commands

        self.taker = Commands(pipe)  # operators' commands, stamped into cuts by the feed
        self.applied: dict[str, str] = {}  # what -> the newest command applied (its JSON)
        self.own: dict[str, bool] = {}  # alert id -> owned by this area partition
        if role == AREA_STAGE and parts > 1:
            from picket.bus.area import AreaMap

            amap = AreaMap(parts)
            pipe.sinks = [OwnedOnly(s, amap, part, self.own) for s in pipe.sinks]
        self.name = name or f"{role}-{part}-of-{parts}"
        self.subject = (f"{REPORTS}.{part}" if role == SUBJECT else
                        f"{AREA}.{part}" if role == AREA_STAGE else f"{AREA}.0")  # fmt: skip
        self.probe_latency = probe_latency
        self.checkpoint_s = checkpoint_s  # at least this far apart (wall s): CHECKPOINT_SHARE
        self.checkpoint_cost_s = 0.0  # the last checkpoint's CPU time
        self.stats = WorkerStats()
        self.last_seq = 0  # the stream sequence the pipeline state includes
        self.cut: dict[str, int] = {}  # publisher -> its last cut number processed
        self.finished = False
        self._restore()
        self.sub = bus.subscribe(self.subject, f"picket-{self.name}", self.last_seq)
        self._saved = wall.monotonic()
        self._saved_cpu = wall.thread_time()
        self._saved_seq = -1  # the stream sequence the last checkpoint holds
        self._unacked: Msg | None = None
        self.busy_s = 0.0  # wall time spent processing (not waiting for the bus)

    def warm_up(self) -> float:
        """Load what the first batch would otherwise load (`pipeline.warm`) before reading
        the bus, so the first cuts do not wait seconds for start-up work; returns its CPU
        seconds."""
        from picket.pipeline.warm import warm_up

        return warm_up(self.pipe)

    # checkpoints ---------------------------------------------------------------------------
    def _key(self) -> str:
        return f"worker:{self.name}"

    def _restore(self) -> None:
        st = self.asm.store
        ck = st.load_checkpoint(self._key()) if st is not None else None
        if ck is None:
            return
        from picket.store.checkpoint import CheckpointError

        blob = ck[0]
        try:
            (n,) = struct.unpack_from("<I", blob)
            head = json.loads(blob[4 : 4 + n])
            seq, cut = int(head["seq"]), {str(k): int(v) for k, v in dict(head["cut"]).items()}
            self.pipe.restore(blob[4 + n :])
        except (CheckpointError, struct.error, ValueError, KeyError, TypeError) as e:
            # the retained stream is read again from its start: idempotent writes
            log.warning("worker %s: checkpoint not used (%s); starting from the stream's "
                        "start", self.name, e)  # fmt: skip
            return
        self._restore_sources(head.get("sources") or [])
        if head.get("commands"):  # the zone edits and watchlist it had taken, again
            self._take(sorted(dict(head["commands"]).items()))
        self.pipe.resume_mark = {}  # the bus replays exactly what follows the state
        self.last_seq, self.cut = seq, cut
        self.own.update({str(k): bool(v) for k, v in dict(head.get("own", {})).items()})
        if "merge" in head:
            self._restore_merge(head["merge"])
        self.finished = bool(head.get("finished", False))
        log.info("worker %s: resumed after stream sequence %d", self.name, self.last_seq)

    def _take(self, cmds: list[tuple[str, str]]) -> None:
        """Apply commands; the zones they leave (as one whole list) and the newest
        watchlist are kept for checkpoints (a restarted worker must judge against the
        edited zones, not its start-up files)."""
        zoned = self.taker.apply((w, b.encode()) for w, b in cmds)
        for w, b in cmds:
            if w == "watchlist":
                self.applied[w] = b
        if zoned:
            self.applied["zones"] = self.taker.zones_command()

    def _restore_sources(self, names: list[str]) -> None:
        """The source table the state's codes refer to (batches are renumbered into it)."""
        moved = [n for i, n in enumerate(names) if SOURCES.code(str(n)) != i]
        if moved:
            log.warning("worker %s: %d sources numbered otherwise than in the checkpoint; "
                        "restored evidence may name them wrongly", self.name,
                        len(moved))  # fmt: skip

    def checkpoint(self) -> None:
        """State and position as one row, queued behind the alert writes they follow; then
        the consumer's ack floor moves up to it."""
        st = self.asm.store
        self._saved = wall.monotonic()
        c0 = self._saved_cpu = wall.thread_time()
        if st is None:
            return
        self._saved_seq = self.last_seq
        # with the source table the state's codes refer to
        doc: dict[str, Any] = {"seq": self.last_seq, "cut": self.cut, "own": self.own,
                               "finished": self.finished, "sources": SOURCES.names,
                               "commands": self.applied}  # fmt: skip
        if self.feeds > 1:
            doc["merge"] = self._merge_state()
        head = json.dumps(doc).encode()
        now = self.pipe.now if math.isfinite(self.pipe.now) else 0.0
        blob = self.pipe.snapshot_for(st)
        st.save_checkpoint(struct.pack("<I", len(head)) + head + blob, now, self._key())
        self.checkpoint_cost_s = wall.thread_time() - c0
        self.stats.checkpoints += 1
        self.stats.checkpoint_cpu_s += self.checkpoint_cost_s
        if self._unacked is not None:
            self.sub.ack(self._unacked)
            self._unacked = None

    def checkpoint_if_new(self) -> None:
        """Checkpoint unless the last one holds this position already (the feed's end
        checkpoints as it is read: the largest state, not to be saved twice)."""
        if self.feeds > 1 or self.last_seq != self._saved_seq:
            self.checkpoint()

    def _merge_state(self) -> dict[str, Any]:
        """The held reports and each feed's clock, so a restart resumes the same merge."""
        import base64

        held = Decoded(Reports.concat(self.pending) if self.pending else Reports.empty(0),
                       self.statics)  # fmt: skip
        return {"wm": self.wm, "ended": sorted(self.ended), "idle": sorted(self.idle),
                "dom": {str(k): v for k, v in self.dom.items()}, "released": self.released,
                "held": base64.b64encode(encode(held, BatchMeta(0, math.nan))).decode(),
                }  # fmt: skip

    def _restore_merge(self, st: dict[str, Any]) -> None:
        import base64

        self.wm = {str(k): float(v) for k, v in st["wm"].items()}
        self.ended, self.idle = set(st["ended"]), set(st["idle"])
        self.dom = {int(k): float(v) for k, v in st["dom"].items()}
        self.released = float(st["released"])
        held, _ = decode(base64.b64decode(st["held"]))
        self.pending = [held.reports] if len(held.reports) else []
        self.statics = list(held.statics)
        now = wall.monotonic()
        self.heard = {s: now for s in self.wm}  # silence is counted again from the restart

    # the loop ------------------------------------------------------------------------------
    def step(self, max_msgs: int = 16, timeout: float = 0.5) -> int:
        """Process what the bus has (up to `max_msgs`); returns how many were new."""
        n = 0
        for m in self.sub.fetch(max_msgs, timeout):
            if m.seq <= self.last_seq:
                self.stats.skipped += 1
                continue
            t0 = wall.perf_counter()
            ok = self._handle(m)
            self.busy_s += wall.perf_counter() - t0
            if not ok:
                break  # rewound: the rest of this fetch comes again
            n += 1
        if self.feeds > 1 and not n and not self.finished:
            events = self._merge(None, None, None)  # a silent feed may stop holding it back
            self.stats.events += len(events)
        since = wall.monotonic() - self._saved
        if n and since >= self.checkpoint_s and (
                since >= CHECKPOINT_MAX_S or wall.thread_time() - self._saved_cpu
                >= self.checkpoint_cost_s / CHECKPOINT_SHARE):  # fmt: skip
            self.checkpoint()
        return n

    def _handle(self, m: Msg) -> bool:
        try:
            d, meta = decode(m.data)
        except BatchError as e:
            self.stats.bad += 1
            rej = self.asm.rejects
            if rej is not None:
                rej.reject("bus.bad_batch", m.subject, m.data[:200], n=1)
            log.warning("worker %s: %s (seq %d)", self.name, e, m.seq)
            self.last_seq = m.seq
            return True
        src = m.headers.get("src", "feed")
        want = self.cut.get(src, 0) + 1
        if meta.seq > want:  # a delivery lost in a reconnect: read again, in order
            self.stats.rewinds += 1
            log.warning("worker %s: cut %d of %s came before %d; reading again", self.name,
                        meta.seq, src, want)  # fmt: skip
            rewind: Callable[[int], None] | None = getattr(self.sub, "rewind", None)
            if rewind is not None:
                rewind(self.last_seq)
            return False
        if meta.seq < want:  # the same cut again (a decoder that published twice)
            self.stats.skipped += 1
            self.last_seq = m.seq
            return True
        if meta.cmds:  # before the cut, as one process takes them before a batch
            self._take(meta.cmds)
        if self.feeds > 1:
            events = self._merge(src, d, meta)
        else:
            events = self._apply(d, meta.watermark, meta.by_domain, meta.eof)
        self.stats.batches += 1
        self.stats.last_wall = wall.time()
        self.stats.first_wall = self.stats.first_wall or self.stats.last_wall
        self.stats.reports += len(d.reports)
        self.stats.events += len(events)
        if meta.sent:
            self.stats.latency_s.append(wall.time() - meta.sent)
            st = self.asm.store
            if events and self.probe_latency and st is not None and hasattr(st, "flush"):
                st.flush(60.0)
                self.stats.alert_latency_s.append(wall.time() - meta.sent)
        self.cut[src] = meta.seq
        self.last_seq = m.seq
        self._unacked = m
        if meta.eof:
            self.checkpoint()
        return True

    def _apply(self, d: Decoded, wm: float, by_domain: dict[int, float], eof: bool) -> list:
        """One step of event time: the reports up to watermark `wm` (and with `eof`, the end:
        what is open closes, as a replay's `finish` does)."""
        pipe = self.pipe
        for dom, t in by_domain.items():  # the whole cut's clock, not just this shard's
            pipe.now_by_domain[dom] = max(pipe.now_by_domain.get(dom, -np.inf), t)
        events: list = []
        if len(d.reports) or d.statics or not eof:
            events = pipe.process(d, now=wm if math.isfinite(wm) else None)
        if eof:
            closing = pipe.book.close_all(pipe.now)
            for sink in pipe.sinks:
                if closing:
                    sink.emit(closing)
            events += closing
            self.finished = True
        return events

    # several feeds: event time is the minimum watermark over the live ones ---------------
    def _holders(self) -> list[str]:
        return [s for s in self.wm if s not in self.ended and s not in self.idle]

    def _mark_idle(self) -> None:
        """A feed silent for `idle_s` (wall time) stops holding event time back; so does a
        feed expected (`feeds`) but never heard, `idle_s` after the worker started."""
        now = wall.monotonic()
        for s in self._holders():
            if now - self.heard.get(s, now) >= self.idle_s:
                self.idle.add(s)
                self.stats.idle_feeds += 1
                log.warning("worker %s: feed %s silent for %.0f s; event time goes on "
                            "without it", self.name, s, now - self.heard[s])  # fmt: skip
        missing = self.feeds - len(self.wm)
        if missing > 0 and now - self._started >= self.idle_s and not self._missing_idle:
            self._missing_idle = True
            self.stats.idle_feeds += missing
            log.warning("worker %s: %d of %d feeds never heard in %.0f s; event time goes "
                        "on without them", self.name, missing, self.feeds,
                        self.idle_s)  # fmt: skip

    def _merge(self, src: str | None, d: Decoded | None, meta: BatchMeta | None) -> list:
        """Hold each feed's reports until every live feed's watermark has passed them, then
        apply them in one step at that minimum watermark: a fast feed cannot move event
        time past a slow one's reports (their timers would judge silence too early)."""
        if src is not None and d is not None and meta is not None:
            if src in self.idle:
                self.idle.discard(src)
                log.warning("worker %s: feed %s heard again", self.name, src)
            self.heard[src] = wall.monotonic()
            if math.isfinite(meta.watermark):
                self.wm[src] = max(self.wm.get(src, -math.inf), meta.watermark)
            else:
                self.wm.setdefault(src, -math.inf)
            if meta.eof:
                self.ended.add(src)
            for dom, t in meta.by_domain.items():
                self.dom[dom] = max(self.dom.get(dom, -math.inf), t)
            late = d.reports.time <= self.released
            if late.any():  # a feed back from silence: its reports are behind event time
                self.stats.late += int(late.sum())
            if len(d.reports):
                self.pending.append(d.reports)
            self.statics.extend(d.statics)
        self._mark_idle()
        holders = self._holders()
        done = not holders and bool(self.ended) and (len(self.wm) >= self.feeds
                                                     or self._missing_idle)  # fmt: skip
        if len(self.wm) < self.feeds and not self._missing_idle:
            w = -math.inf  # an expected feed not heard yet
        elif holders:
            w = min(self.wm[s] for s in holders)
        else:
            w = max(self.wm.values())  # every feed ended or silent: all that is held
        if not done and not w > self.released:
            return []
        r = Reports.concat(self.pending) if self.pending else Reports.empty(0)
        go = r.time <= w if not done else np.ones(len(r), bool)
        rest = r.where(~go)
        self.pending = [rest] if len(rest) else []
        out = Decoded(r.where(go).sorted_by_time(), self.statics)
        self.statics = []
        if math.isfinite(w):
            self.released = max(self.released, w)
        self.stats.held_steps += 1
        dom = {k: min(v, self.released) for k, v in self.dom.items()}
        return self._apply(out, self.released, dom, done)

    def run(self, stop: Callable[[], bool], until_eof: bool = False) -> WorkerStats:
        cpu0 = wall.process_time()
        while not stop() and not (until_eof and self.finished):
            self.step()
        self.checkpoint_if_new()
        self.stats.cpu_s += wall.process_time() - cpu0
        return self.stats

    def close(self) -> None:
        self.sub.close()
        st = self.asm.store
        if st is not None and hasattr(st, "flush"):
            st.flush(30.0)
        self.asm.close()


def area_partner(k: int, n: int, m: int) -> int | None:
    """The area partition (of m) that shares a process with subject shard k of n (`Both`),
    or None: process k takes partition n-1-k where there is one. The two heaviest pieces,
    subject shard 0 (it runs the radar plot tracker) and area partition 0 (every aircraft:
    `picket.bus.area.WHOLE_DOMAINS`), so land in different processes when n > 1."""
    if not 1 <= m <= n:
        raise ValueError(f"area partitions for --role both: 1..{n} (the workers), not {m}")
    j = n - 1 - k
    return j if j < m else None


class Both:
    """Subject shard k of N and area partition `area_partner(k, N, M)` of M in one process
    (`picket worker --role both --partition k/N --area-shards M`), so N processes share the
    whole work: on a machine with N cores, N workers, not N subject workers plus area
    workers. On the demo's input M = 1 (the area stage whole, beside the last subject
    shard) balances 2 workers best and does the least work (docs/scaling.md).

    Two `Worker`s, each with its own pipeline, stream, checkpoint and name (the same as a
    `--role subject` or `--role area` worker's, so a deployment can move between the
    two), stepped in turn: a stage with nothing to read waits only briefly while the other
    has work."""

    def __init__(self, make: Callable[[str, int, int], Worker], k: int, n: int, m: int = 1):
        j = area_partner(k, n, m)
        self.workers = [make(SUBJECT, k, n)] + ([make(AREA_STAGE, j, m)] if j is not None
                                                else [])  # fmt: skip
        self.stats = WorkerStats()

    @property
    def name(self) -> str:
        return " + ".join(w.name for w in self.workers)

    @property
    def subject(self) -> str:
        return ", ".join(w.subject for w in self.workers)

    @property
    def last_seq(self) -> int:
        return max(w.last_seq for w in self.workers)

    @property
    def busy_s(self) -> float:
        return sum(w.busy_s for w in self.workers)

    def warm_up(self) -> float:
        return sum(w.warm_up() for w in self.workers)

    def run(self, stop: Callable[[], bool], until_eof: bool = False) -> WorkerStats:
        cpu0 = wall.process_time()
        wait = 0.25
        while not stop():
            live = [w for w in self.workers if not (until_eof and w.finished)]
            if not live:
                break
            n = sum(w.step(16, wait) for w in live)
            wait = 0.02 if n else 0.25  # busy: look at the other stream again soon
        for w in self.workers:
            w.checkpoint_if_new()
        self.stats = merge_stats([w.stats for w in self.workers])
        self.stats.cpu_s = wall.process_time() - cpu0
        return self.stats

    def close(self) -> None:
        for w in self.workers:
            w.close()


def merge_stats(parts: list[WorkerStats]) -> WorkerStats:
    """One process's counts over its stages (latencies pooled, the wall span widened)."""
    out = WorkerStats()
    for s in parts:
        for f in ("batches", "reports", "events", "skipped", "bad", "rewinds", "idle_feeds",
                  "late", "held_steps", "checkpoints", "checkpoint_cpu_s"):  # fmt: skip
            setattr(out, f, getattr(out, f) + getattr(s, f))
        out.latency_s += s.latency_s
        out.alert_latency_s += s.alert_latency_s
        out.cpu_s += s.cpu_s
        if s.first_wall:
            out.first_wall = min(out.first_wall or s.first_wall, s.first_wall)
        out.last_wall = max(out.last_wall, s.last_wall)
    return out
