"""Every config section refuses keys it does not know, naming the file, section and key."""

from __future__ import annotations

import pytest

from picket import config


@pytest.mark.parametrize(
    "text, needle",
    [
        ('[store]\npath = "x.sqlite"\ncheckpoint = 5\n', "[store] unknown keys ['checkpoint']"),
        ('[zones]\nfile = ["z.geojson"]\n', "[zones] unknown keys ['file']"),
        ("[infrastructure]\ncorridor_m = 5\n", "[infrastructure] unknown keys ['corridor_m']"),
        ('[sinks]\nalerts_json = "a.jsonl"\n', "[sinks] unknown keys ['alerts_json']"),
        ("[pipeline]\nbatch = 5\n", "[pipeline] unknown keys ['batch']"),
        ('store = "x"\n', "[store] must be a table"),
        ('[detectors]\ndisabled = ["gnss.spoof"]\n', "disabled names 'gnss.spoof'"),
    ],
)
def test_a_misspelt_key_is_an_error(tmp_path, text, needle):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(p)
    assert needle in str(e.value) and str(p) in str(e.value)


def test_every_known_key_is_taken(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(
        '[store]\npath = "s.sqlite"\ncheckpoint_s = 5\ndead_letter_max_mb = 1\n'
        "dead_letter_files = 0\n"
        '[zones]\nfiles = []\n[infrastructure]\nfiles = []\ndefault_corridor_m = 250\n'
        '[sinks]\nalerts_jsonl = "a.jsonl"\nconsole = false\n'
        "[pipeline]\nbatch_s = 5\nhistory = 8\ntrack_history_s = 60\n"
        '[detectors]\ndisabled = ["space.conjunction", "gnss.spoofing"]\n'
    )
    cfg = config.load(p)
    assert (cfg.checkpoint_s, cfg.dead_letter_files, cfg.default_corridor_m) == (5, 0, 250)
    assert (cfg.console, cfg.batch_s, cfg.history, cfg.track_history_s) == (False, 5, 8, 60)
    assert "gnss.spoofing" not in {d.kind for d in config.build_detectors(cfg)}
