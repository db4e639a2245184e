"""The demo's Baltic hour as test input: the simulated feeds through the real decoders,
cut in 10 s chunks, with its zones and infrastructure written beside, and a pipeline
assembled on them. Shared by the tests that compare one process with bus workers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class DemoCase:
    scn: Any  # picket.sim.scenario.Scenario
    zones: Path
    infra: Path

    def cuts(self, limit_s: float = 1300.0) -> Iterator[Any]:
        """The decoded 10 s chunks of the first `limit_s` event seconds."""
        from picket.demo.run import decoded_chunks
        from picket.model.rejects import Rejects

        class Rj:
            rejects = Rejects(None)

        return itertools.takewhile(lambda d: not len(d.reports) or
                                   d.reports.time[0] < self.scn.start + limit_s,
                                   decoded_chunks(self.scn, Rj, 10.0))  # fmt: skip

    def assemble(self, *sinks: Any, cfg: Any = None, store: bool = False) -> Any:
        """A pipeline with every default detector on the demo's geography."""
        from picket.config import Config
        from picket.pipeline.assemble import assemble

        return assemble(cfg or Config(store_path=None), store=store, console=False,
                        zone_files=[self.zones], line_files=[self.infra],
                        extra_sinks=list(sinks))  # fmt: skip


def demo_case(folder: Path, seed: int = 7) -> DemoCase:
    from picket.demo.run import write_geography
    from picket.sim import scenario

    scn = scenario.build(seed=seed, duration_s=3600.0)
    z, i = write_geography(scn, Path(folder))
    return DemoCase(scn, z, i)


def alert_key(a: Any) -> tuple:
    """What must be equal between one process and a cluster: identity and every time."""
    return (a.id, a.kind, a.subject, a.time, a.last_time, a.status, a.closed_time)
