"""`[incidents]` in picket.toml: checked at load, carried by the pipeline's geography, used by
the server's joiner."""

import pytest

from picket.config import ConfigError, from_dict
from picket.pipeline.assemble import assemble
from picket.serve import LiveHub, LiveSink
from picket.serve.app import build_app


def test_incident_rules_from_the_config_reach_the_server(tmp_path):
    cfg = from_dict({"incidents": {"distance_m": 5000.0, "exclude": ["air.low_slow"]},
                     "store": {"path": str(tmp_path / "p.sqlite")}}, base=tmp_path)  # fmt: skip
    assert cfg.incidents == {"distance_m": 5000.0, "exclude": ["air.low_slow"]}
    asm = assemble(cfg, console=False)
    try:
        hub = LiveHub()
        LiveSink(hub, pipeline=asm.pipeline)
        app = build_app(hub, asm.store)
        rules = app.state.picket.incidents.rules
        assert rules.distance_m == 5000.0 and not rules.joins("air.low_slow")
        assert rules.joins("maritime.drift")
    finally:
        asm.close()


def test_unknown_or_bad_incident_keys_stop_the_start():
    with pytest.raises(ConfigError, match=r"\[incidents\].*unknown keys \['distanc'\]"):
        from_dict({"incidents": {"distanc": 1}})
    with pytest.raises(ConfigError, match="distance_m > 0"):
        from_dict({"incidents": {"distance_m": -1}})
