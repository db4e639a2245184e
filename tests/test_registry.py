"""One detector registry: config, KINDS, `picket config` and /api/kinds derive from it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import fields
from pathlib import Path

import pytest

from picket import config
from picket.config import Config, build_detectors
from picket.detect import registry
from picket.detect.base import Thresholds
from picket.model import alerts

ROOT = Path(__file__).resolve().parents[1]


def test_each_spec_names_its_own_class_kind_and_thresholds():
    for kind, s in registry.specs().items():
        assert s.cls.kind == kind, (kind, s.cls)  # the row points at the right class
        assert s.stage in ("subject", "area")
        assert callable(getattr(s.cls, "update", None))
        if s.thresholds is not None:
            assert issubclass(s.thresholds, Thresholds)
    ts = registry.specs()["air.transponder_loss"]
    assert ts.thresholds.__name__ == "TransponderLossThresholds" and ts.stage == "area"
    assert registry.specs()["air.emergency"].thresholds is None


def test_kinds_and_registry_agree_both_ways():
    reg = {k for k, s in registry.specs().items() if s.description}
    assert set(alerts.KINDS) == reg
    assert "maritime.harbours" not in alerts.KINDS  # learns, raises nothing
    assert "space.conjunction" in alerts.KINDS and "space.conjunction" not in config.DETECTORS
    built = {d.kind for d in build_detectors(Config())}
    assert built == set(config.DETECTORS)
    assert built | {"space.conjunction"} == set(alerts.KINDS) | {"maritime.harbours"}


def test_readme_kind_table_is_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    part = text[text.index("The kind vocabulary"):text.index("## Detector thresholds")]
    listed = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", part, re.M))
    assert listed == set(alerts.KINDS)


def _picket() -> list[str]:
    exe = shutil.which("picket", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-c", "from picket.cli.main import main; main()"]


def test_picket_config_lists_every_threshold():
    out = subprocess.run([*_picket(), "config"], capture_output=True, text=True, timeout=120,
                         check=True).stdout  # fmt: skip
    sections = re.split(r'^\[detectors\."([^"]+)"\]$', out, flags=re.M)
    listed = {k: body for k, body in zip(sections[1::2], sections[2::2], strict=True)}
    for kind, s in config.DETECTORS.items():
        th_cls = s[1]
        if th_cls is None:
            assert kind not in listed
            continue
        names = set(re.findall(r"^(\w+) = ", listed[kind], re.M))
        assert names == {f.name for f in fields(th_cls)}, kind


@pytest.fixture
def extra_detector(tmp_path, monkeypatch):
    """A detector module written outside the package, registered by its decorator alone."""
    (tmp_path / "probe_detector.py").write_text(textwrap.dedent('''
        from dataclasses import dataclass
        from picket.detect.base import Thresholds, th
        from picket.detect.registry import register

        @dataclass
        class ProbeThresholds(Thresholds):
            limit_m: float = th(5.0, "how near is near", "picket test")

        @register(description="a probe for the registry test")
        class Probe:
            kind = "test.probe"
            stage = "area"

            def __init__(self, th: ProbeThresholds | None = None):
                self.th = th or ProbeThresholds()

            def update(self, ctx):
                return []
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_REGISTERED", {})
    monkeypatch.setattr(registry, "_ALL", None)
    import importlib

    mod = importlib.import_module("probe_detector")
    yield mod
    sys.modules.pop("probe_detector", None)
    monkeypatch.setattr(registry, "_ALL", None)


def test_a_new_detector_is_one_module(extra_detector, tmp_path):
    assert alerts.KINDS["test.probe"] == "a probe for the registry test"
    assert config.DETECTORS["test.probe"] == (extra_detector.Probe,
                                              extra_detector.ProbeThresholds)  # fmt: skip
    assert next(iter(config.DETECTORS)) == "maritime.harbours"  # the built-ins keep their order
    rows = [r for r in config.describe_defaults() if r["detector"] == "test.probe"]
    assert [r["name"] for r in rows] == ["limit_m"]
    p = tmp_path / "c.toml"
    p.write_text('[detectors."test.probe"]\nlimit_m = 9.0\n')
    probe = [d for d in build_detectors(config.load(p)) if d.kind == "test.probe"]
    assert len(probe) == 1 and probe[0].th.limit_m == 9.0
    assert registry.specs()["test.probe"].stage == "area"


def test_one_kind_registers_once():
    @registry.register(description="x")
    class A:
        kind = "test.twice"

    try:
        with pytest.raises(ValueError, match="registered twice"):
            @registry.register(description="y")
            class B:
                kind = "test.twice"
    finally:
        registry._REGISTERED.pop("test.twice", None)
        registry._ALL = None


def test_suspect_kinds_are_the_pictures():
    from picket.serve.picture import SUSPECT_KINDS

    assert registry.suspect_kinds() == SUSPECT_KINDS
    assert registry.suspect_kinds() <= set(alerts.KINDS)
