"""`picket demo`: the Baltic scenario through the real decoders and the real pipeline.

The simulator emits wire bytes (AIS NMEA, Beast, plot CSV) in 10-second
chunks; each chunk is fed to picket's own decoders exactly as a socket's
bytes would be, and the decoded batch goes through the same driver loop
(`pipeline/driver.py`: the door, event-time batches, the flush) and `Pipeline` that
`picket run` and `picket replay` use.

Each demo is a run of its own: the store, dead letters and zone edits a
previous demo left in the work directory are moved to `runs/<time>/` first
(the newest few kept), so the page never shows another run's alerts or
triage as current. `picket run`/`replay` with a store path are cumulative by
design instead: deterministic alert ids upsert into the same store.
"""

from __future__ import annotations

import json
import logging
import shutil
import time as wall
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from picket.config import Config
from picket.model.decoded import Decoded
from picket.model.reports import Reports
from picket.pipeline.assemble import Assembly, assemble
from picket.pipeline.driver import Driver, ReplaySummary
from picket.sinks.jsonl import MemorySink
from picket.sources.registry import get_format

log = logging.getLogger(__name__)
KEEP_RUNS = 5  # archived demo runs kept in <workdir>/runs
RUN_FILES = ("picket.sqlite", "picket.sqlite-wal", "picket.sqlite-shm", "dead-letter.jsonl")


@dataclass
class DemoResult:
    summary: ReplaySummary
    alerts: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    rejects: str
    workdir: Path
    extra: dict[str, Any] = field(default_factory=dict)


def archive_previous_run(workdir: Path, keep: int = KEEP_RUNS) -> Path | None:
    """Move what an earlier demo left (store, dead letters, zone edits) to
    `runs/<UTC time of its store>/`, keep the newest `keep`; returns the archive, if any."""
    from picket.serve.zone_edits import EDITED_FILE

    store = workdir / "picket.sqlite"
    names = {*RUN_FILES, EDITED_FILE}
    found = [workdir / n for n in sorted(names) if (workdir / n).exists()]
    others = [f for f in found if not f.name.startswith(store.name)]
    if not others and (not store.exists() or _empty_store(store)):
        return None  # nothing a run left (a server may already hold this empty store open)
    stamp = (store if store.exists() else found[0]).stat().st_mtime
    name = wall.strftime("%Y%m%dT%H%M%SZ", wall.gmtime(stamp))
    runs = workdir / "runs"
    dest, k = runs / name, 1
    while dest.exists():
        k += 1
        dest = runs / f"{name}-{k}"
    dest.mkdir(parents=True)
    for f in found:
        f.replace(dest / f.name)
    old = sorted((p for p in runs.iterdir() if p.is_dir()), key=lambda p: p.name)
    for p in old[: max(0, len(old) - keep)]:
        shutil.rmtree(p, ignore_errors=True)
    log.info("previous demo run moved to %s", dest)
    return dest


def _empty_store(path: Path) -> bool:
    from picket.store.sqlite import Store

    st = Store(path)
    try:
        return not any(st.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                       for t in ("alerts", "triage", "track_points"))  # fmt: skip
    finally:
        st.close()


def write_geography(scn: Any, workdir: Path) -> tuple[Path, Path]:
    from picket.sim.geography import infrastructure_geojson, zones_geojson

    workdir.mkdir(parents=True, exist_ok=True)
    z, i = workdir / "zones.geojson", workdir / "infrastructure.geojson"
    z.write_text(json.dumps(zones_geojson()))
    i.write_text(json.dumps(infrastructure_geojson()))
    return z, i


def decoded_chunks(scn: Any, asm: Assembly, step_s: float,
                   driver: Driver | None = None) -> Iterator[Decoded]:  # fmt: skip
    """The scenario's wire bytes through picket's decoders, one chunk per `step_s`; with a
    `driver`, each decoder's output passes its door (as a recording's would)."""
    from picket.sim.emit import wire_chunks

    def door(d: Decoded, fmt: str) -> Decoded:
        return d if driver is None else driver.door(d, f"sim-{fmt}")

    decoders: dict[str, Any] = {}
    for _, chunks in wire_chunks(scn, step_s=step_s):
        parts, statics = [], []
        for fmt, data in chunks.items():
            dec = decoders.get(fmt)
            if dec is None:
                args = {"base_time": scn.start} if fmt == "beast" else {}
                dec = decoders[fmt] = get_format(fmt).decoder(asm.rejects, f"sim-{fmt}", **args)
            out = door(dec.feed(data), fmt)
            parts.append(out.reports)
            statics.extend(out.statics)
        r = Reports.concat(parts).sorted_by_time()
        yield Decoded(r, sorted(statics, key=lambda s: s.time))
    for fmt, dec in decoders.items():
        out = door(dec.flush(), fmt)
        if len(out.reports) or out.statics:
            yield Decoded(out.reports.sorted_by_time(), out.statics)


def run_demo(
    seed: int = 7,
    duration_s: float = 3600.0,
    speed: float = 0.0,
    workdir: str | Path = "var/demo",
    alerts_out: str | Path | None = None,
    console: bool = True,
    store: bool = True,
    on_assembly: Callable[[Assembly], None] | None = None,
    incidents: dict[str, Any] | None = None,  # [incidents] rules (docs/incidents.md)
) -> DemoResult:
    from picket.sim import scenario

    workdir = Path(workdir)
    if store:
        archive_previous_run(workdir)
    scn = scenario.build(seed=seed, duration_s=duration_s)
    zones, infra = write_geography(scn, workdir)
    cfg = Config(store_path=str(workdir / "picket.sqlite"), base=Path.cwd())
    cfg.incidents = dict(incidents or {})
    memory = MemorySink()
    asm = assemble(
        cfg, alerts_out=alerts_out, console=console, store=store, zone_files=[zones],
        line_files=[infra], dead_letter=workdir / "dead-letter.jsonl", extra_sinks=[memory],
    )  # fmt: skip
    _sky(asm, scn)
    if on_assembly:
        on_assembly(asm)
    t0 = wall.perf_counter()
    drv = Driver(asm.pipeline, asm.rejects)  # the loop replay and live use (pipeline/driver.py)
    summary = drv.run(decoded_chunks(scn, asm, 10.0, drv), batch_s=10.0, speed=speed)
    alerts = [a.to_json() for a in sorted(memory.alerts.values(), key=lambda a: a.time)]
    incidents = [_incident_json(i) for i in scn.incidents]
    joined = _join_incidents(asm, alerts)
    res = DemoResult(summary, alerts, incidents, asm.rejects.summary(), workdir,
                     {"wall_s": wall.perf_counter() - t0, "joined": joined})  # fmt: skip
    asm.close()
    return res


BALTIC_BBOX = (9.0, 53.5, 30.5, 66.0)  # west, south, east, north: the demo's area


def _sky(asm: Assembly, scn: Any) -> None:
    """Real catalogue satellites for the map's space layer and alerts' overflights, when
    the shared catalogue is beside the checkout (serve/satellites.py); loaded at first use,
    so a headless demo pays nothing."""
    from picket.serve.satellites import SkyLayer, find_catalogue

    path = find_catalogue()
    if path is None:
        log.info("no space catalogue found (../shared/data/space): the demo shows no satellites")
        return
    asm.pipeline.world.sky = SkyLayer(path, scn.start, scn.end, BALTIC_BBOX)


def _join_incidents(asm: Assembly, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's cross-domain incidents (detect/incidents.py), kept in the store as well so
    `picket serve` over the demo's store lists them without joining again."""
    from picket.detect.incidents import IncidentRules, join

    rules = IncidentRules.from_dict(asm.pipeline.world.incidents)
    records = join(alerts, rules)
    if asm.store is not None and hasattr(asm.store, "upsert_incidents"):
        asm.store.upsert_incidents(records)
    return records


def _incident_json(inc: Any) -> dict[str, Any]:
    if hasattr(inc, "to_json"):
        return inc.to_json()
    from dataclasses import asdict, is_dataclass

    return asdict(inc) if is_dataclass(inc) else dict(inc)
