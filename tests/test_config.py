"""Config files: overrides reach detectors; mistakes name the file and the key."""

import pytest

from picket import config


def test_overrides_reach_the_detector(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(
        '[detectors."maritime.anchor_drag"]\nmin_duration_s = 42\n'
        '[detectors]\ndisabled = ["gnss.spoofing"]\n'
    )
    cfg = config.load(p)
    dets = {d.kind: d for d in config.build_detectors(cfg)}
    assert dets["maritime.anchor_drag"].th.min_duration_s == 42
    assert "gnss.spoofing" not in dets


@pytest.mark.parametrize(
    "text, needle",
    [
        ('[detectors."maritime.nope"]\nx = 1\n', "maritime.nope"),
        ('[detectors."maritime.drift"]\nmin_speed = 1\n', "min_speed"),
        ("[bogus]\n", "bogus"),
        ("[store\n", "c.toml"),
    ],
)
def test_errors_say_what_and_where(tmp_path, text, needle):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(config.ConfigError, match=needle):
        config.load(p)


def test_every_threshold_documents_its_source():
    rows = config.describe_defaults()
    assert rows and all(r["doc"] and r["source"] for r in rows)
