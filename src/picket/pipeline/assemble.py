"""Build a ready pipeline from a `Config`: zones, lines, detectors, tracker, store, sinks."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from picket.config import Config, ConfigError, build_detectors
from picket.fusion.tracks import TrackConfig, TrackTable
from picket.model.rejects import Rejects
from picket.model.world import World
from picket.pipeline.runtime import Pipeline, Sink
from picket.sinks.console import ConsoleSink
from picket.sinks.jsonl import JsonlSink
from picket.sinks.store_sink import StoreSink
from picket.store import open_store
from picket.store.sqlite import Store

log = logging.getLogger(__name__)
# unread bytes the outputs' bus may hold; beyond it the oldest snapshots are dropped and
# counted (`InProcessBus.skipped`): outputs only ever fall that far behind a fast replay
EDGE_RETAIN = 256 << 20


@dataclass
class Assembly:
    pipeline: Pipeline
    rejects: Rejects
    store: Store | None
    world: World = field(default_factory=World)  # the pipeline's World
    # the [[outputs]] (CoT, webhooks, alert files...): each has `stats()`; they run at the
    # edge of a bus the pipeline publishes on (`picket.share.edge`), not as its sinks
    outputs: list[Any] = field(default_factory=list)
    resumed: str | None = None  # what a restart carried over (docs/restart.md), one line
    config: Any = None  # the `Config` it was assembled from (the server's settings)

    def close(self) -> None:
        self.rejects.close()
        if self.store is not None:
            _save_harbours(self.store, self.pipeline)
            self.store.close()


def replace_zones(pipeline: Pipeline, zones: Any, reindexed: bool) -> None:
    """Swap the zones every detector reads, from the next batch on (call between batches,
    in the pipeline's thread: live zone edits). `reindexed`: zones already known changed
    position (one was deleted, or the set replaced), so detectors that remember a track's
    zone by index are told to forget (`zones_changed()`, where they define it)."""
    pipeline.world.zones = zones  # a new geography version: per-kind subsets are made anew
    if reindexed:
        for det in pipeline.detectors:
            forget = getattr(det, "zones_changed", None)
            if callable(forget):
                forget()


def attach_outputs(asm: Assembly, specs: list[Any]) -> list[Any]:
    """Build checked outputs (`OutputSpec`) and attach them to a ready assembly (the demo's
    `on_assembly` hook): call before the first batch."""
    from picket.share.outputs_config import build_outputs

    outs = build_outputs(specs)
    if outs:
        edge_outputs(asm.pipeline, outs)
        asm.outputs.extend(outs)
    return outs


def edge_outputs(pipe: Pipeline, outputs: list[Any]) -> Any:
    """Run `outputs` at the edge of an in-process bus: the pipeline publishes its alert
    events and track snapshots there (`BusSink`), and an `OutputEdge` thread feeds them to
    the outputs, as `picket share` does from a cluster's bus. Closed by `Pipeline.finish`."""
    from picket.bus import InProcessBus
    from picket.bus.sink import BusSink
    from picket.share.edge import OutputEdge

    if pipe.edges:
        pipe.edges[0].add(outputs)
        return pipe.edges[0]
    bus = InProcessBus(retain_bytes=EDGE_RETAIN)
    pipe.sinks.append(BusSink(bus, reports=False, picture=True))
    edge = OutputEdge(bus, outputs)
    pipe.edges.append(edge)
    return edge


def load_geography(
    cfg: Config,
    rejects: Rejects,
    zone_files: list[str | Path] = (),  # type: ignore[assignment]
    line_files: list[str | Path] = (),  # type: ignore[assignment]
) -> World:
    """Zones, protected lines and the airports layer named by `cfg` and the extra files."""
    import functools

    from picket.geo.airports import load_airports
    from picket.geo.zones import load_lines, load_zones

    zfiles = [cfg.path(z) for z in cfg.zone_files] + [Path(z) for z in zone_files]
    lfiles = [cfg.path(z) for z in cfg.infrastructure_files] + [Path(z) for z in line_files]
    world = World()
    for f in zfiles + lfiles:
        if not Path(f).exists():
            raise FileNotFoundError(f"{f}: no such zone/infrastructure file")
    if zfiles:
        world.zones = load_zones(zfiles, rejects)
    if lfiles:
        world.lines = load_lines(lfiles, rejects, cfg.default_corridor_m)
    # the world airports (picket.geo.airports), read at the first aircraft, once per process
    world.airports = (
        functools.partial(load_airports, float(cfg.airports_radius_m))
        if cfg.airports_enabled else None
    )  # fmt: skip
    return world


def assemble(
    cfg: Config,
    *,
    alerts_out: str | Path | None = None,
    console: bool | None = None,
    store: bool = True,
    zone_files: list[str | Path] = (),  # type: ignore[assignment]
    line_files: list[str | Path] = (),  # type: ignore[assignment]
    extra_sinks: list[Sink] = (),  # type: ignore[assignment]
    dead_letter: str | Path | None = None,
    extra_outputs: list[Any] = (),  # type: ignore[assignment]
    resume: bool = False,
) -> Assembly:
    """The pipeline for `cfg`; `extra_outputs` are outputs checked elsewhere
    (`OutputSpec`s from command-line flags), attached after the config's own. `resume`
    (`picket run`): carry on from the store's checkpoint and open alerts, and checkpoint
    every `checkpoint_s` wall seconds (docs/restart.md)."""
    from picket.share.outputs_config import build_outputs, check_outputs

    # checked before anything opens a file or a socket: a bad table stops the start
    specs = check_outputs(cfg.outputs, cfg.base) + list(extra_outputs)
    st = open_store(cfg.store_target(), cfg.store_dir()) if store and cfg.store_target() else None
    dl = dead_letter or (st.dead_letter_path if st else None)
    rejects = Rejects(dl, max_bytes=int(cfg.dead_letter_max_mb * (1 << 20)),
                      backups=cfg.dead_letter_files)  # fmt: skip
    world = load_geography(cfg, rejects, list(zone_files), list(line_files))
    if getattr(cfg, "incidents", None):  # [incidents] rules, read by the server's joiner
        world.incidents = dict(cfg.incidents)
    sinks: list[Sink] = []
    if console if console is not None else cfg.console:
        sinks.append(ConsoleSink())
    out = alerts_out or cfg.alerts_jsonl
    if out:
        sinks.append(JsonlSink(cfg.path(str(out)) if not Path(out).is_absolute() else out))
    if st is not None:
        sinks.append(StoreSink(st, cfg.track_history_s))
    sinks.extend(extra_sinks)
    from picket.track.config import TrackerConfig
    from picket.track.tracker import PlotTracker

    tcfg = dict(cfg.tracker)
    if "confirm" in tcfg:
        tcfg["confirm"] = tuple(tcfg["confirm"])
    try:
        plot_tracker = PlotTracker(TrackerConfig(**tcfg))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"[tracker]: {e}") from None
    detectors = build_detectors(cfg, rejects)
    outputs = build_outputs(specs)
    pipe = Pipeline(
        detectors=detectors,
        sinks=sinks,
        world=world,
        tracks=TrackTable(TrackConfig(history=cfg.history)),
        plot_tracker=plot_tracker,
        rejects=rejects,
    )
    if cfg.forget_after_s:
        from picket.model.domains import DOMAIN_CODES

        pipe.forget_after_s.update({DOMAIN_CODES[k]: v for k, v in cfg.forget_after_s.items()})
    if outputs:
        edge_outputs(pipe, outputs)
    if st is not None:
        _load_harbours(st, pipe)
    resumed = None
    if resume and st is not None:
        if hasattr(st, "save_checkpoint"):
            resumed = _resume(pipe, st, [*sinks, *outputs],
                              float(getattr(cfg, "checkpoint_s", 10.0)))  # fmt: skip
        else:
            log.warning("restart: %s keeps no checkpoints; detectors start empty",
                        type(st).__name__)  # fmt: skip
    return Assembly(pipe, rejects, st, world, outputs, resumed, cfg)


def _resume(pipe: Pipeline, st: Store, sinks: list[Sink], every_s: float) -> str | None:
    """Restore the checkpoint, hand the book the alerts the store holds open, let alert files
    keep what they held, and checkpoint from now on (docs/restart.md). Returns one line on
    what was carried over, None for a fresh store."""
    from picket.model.alerts import Alert, iso
    from picket.sinks.jsonl import JsonlSink
    from picket.store.checkpoint import CheckpointError

    ck = st.load_checkpoint()
    said = []
    if ck is not None:
        try:
            fresh = pipe.restore(ck[0])
            said.append(f"state restored from the checkpoint at "
                        f"{iso(ck[1]) if ck[1] > 0 else 'the start'}"
                        + (f" ({', '.join(fresh)} start empty)" if fresh else ""))  # fmt: skip
        except CheckpointError as e:
            log.warning("restart: checkpoint not used (%s); detectors start empty", e)
            said.append("checkpoint not used, detectors start empty")
    n = pipe.book.load_open(st.open_alerts())
    if n:
        said.append(f"{n} open alerts from the store wait for their condition")
    for line in said:
        log.info("restart: %s", line)
    pipe.seen_event = st.has_event
    # alert files keep what they held, brought up to the store's state: the file was last
    # written up to checkpoint_s before the crash, the store holds every event
    since = ck[1] - 3600.0 if ck is not None else math.inf  # slack for out-of-order events
    for sink in sinks:
        if not isinstance(sink, JsonlSink):
            continue
        try:
            if sink.path.exists():
                for line in sink.path.read_text(encoding="utf-8").splitlines():
                    a = Alert.from_json(json.loads(line))
                    sink.alerts.setdefault(a.id, a)
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("restart: %s: earlier alerts not kept: %s", sink.path, e)
        ids = list(sink.alerts)
        newer = st.alerts_touched_after(since) if math.isfinite(since) else st.open_alerts()
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            newer += st.alert_objects(f"id IN ({','.join('?' * len(part))})", tuple(part))
        for a in newer:
            sink.alerts[a.id] = a

    def save(p: Pipeline) -> None:
        st.save_checkpoint(p.snapshot_for(st), float(p.now) if math.isfinite(p.now) else 0.0)

    pipe.checkpointer, pipe.checkpoint_s = save, every_s
    return "restart: " + "; ".join(said) if said else None


def _harbour_learner(pipe: Pipeline) -> Any:
    from picket.detect.harbours import HarbourLearning

    return next((d.learner for d in pipe.detectors if isinstance(d, HarbourLearning)), None)


def _load_harbours(st: Any, pipe: Pipeline) -> None:
    """Harbours learned by earlier runs on this store count from their learned time on
    (store/harbours.py; SQLite and PostgreSQL)."""
    learner = _harbour_learner(pipe)
    if learner is not None and hasattr(st, "harbour_cells"):
        from picket.store import harbours

        harbours.load(st, learner)
        pipe.world.harbours = learner


def _save_harbours(st: Any, pipe: Pipeline) -> None:
    learner = _harbour_learner(pipe)
    if learner is not None and learner.cells and hasattr(st, "save_harbour_cells"):
        from picket.store import harbours

        harbours.save(st, learner)
