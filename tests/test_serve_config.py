"""`[serve] min_interval_s` in picket.toml: checked at load, printed by `picket config`,
and honoured by the live server `serve_assembly` starts (a real server and pipeline)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from picket.config import ConfigError, from_dict
from picket.model.decoded import Decoded
from picket.model.reports import Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.assemble import assemble
from picket.serve import LiveSink, serve_assembly

T0 = 1_736_935_200.0


def _batch(t: float, k: int) -> Decoded:
    return Decoded(Reports.build(1, time=np.array([t]), domain=np.array([Domain.MARITIME]),
                                 kind=np.array([Kind.POSITION]),
                                 subject=np.array([key(Namespace.MMSI, 235000001)]),
                                 lat=np.array([55.0]), lon=np.array([14.0 + 0.01 * k])))


def test_the_key_is_read_and_checked():
    assert from_dict({}).serve_min_interval_s == 0.0  # every batch, as before the key
    assert from_dict({"serve": {"min_interval_s": 2.5}}).serve_min_interval_s == 2.5
    assert from_dict({"serve": {"min_interval_s": 0}}).serve_min_interval_s == 0.0
    for bad in (-1, "fast", True, float("inf")):
        with pytest.raises(ConfigError, match=r"\[serve\] min_interval_s"):
            from_dict({"serve": {"min_interval_s": bad}})
    with pytest.raises(ConfigError, match=r"\[serve\] unknown keys \['tick'\]"):
        from_dict({"serve": {"tick": 1}})


def test_picket_config_prints_it():
    code = "from picket.cli.main import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "config"], capture_output=True,
                         text=True, timeout=120, check=True).stdout  # fmt: skip
    lines = out.splitlines()
    i = lines.index("[serve]")
    assert lines[i + 1].startswith("min_interval_s = 0.0  # wall s between the live picture")


@pytest.mark.parametrize(("every", "published"), [(0.0, 3), (3600.0, 1)])
def test_serve_assembly_honours_it(tmp_path, every, published):
    """Three batches at once: all three snapshots with 0, one (then the held rest at the
    end) with an hour between snapshots."""
    cfg = from_dict({"serve": {"min_interval_s": every},
                     "store": {"path": str(tmp_path / "p.sqlite")}}, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False)
    h = serve_assembly(asm, port=0)
    try:
        live = next(s for s in asm.pipeline.sinks if isinstance(s, LiveSink))
        assert live.min_interval_s == every
        for k in range(3):
            asm.pipeline.process(_batch(T0 + 10 * k, k))
        assert live.published == published
        asm.pipeline.finish()
        assert live.published == published + (every > 0)  # what was held, at the close
        pic = h.hub.current()  # the server's picture, from the bus
        assert pic.time == T0 + 20 and len(pic) == 1
    finally:
        h.stop()
        asm.close()
