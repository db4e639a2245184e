"""picket.log: compact lines, levels from the argument or PICKET_LOG, bad values kept out."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import pytest

from picket import log

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ([DIWEC]) ([\w.]+): (.*)$")


@pytest.fixture
def clean_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for name in ("picket", "picket.store", "picket.log_probe"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _lines(buf: io.StringIO) -> list[tuple[str, ...]]:
    out = []
    for line in buf.getvalue().splitlines():
        m = LINE.match(line)
        assert m, line
        out.append(m.groups())
    return out


def test_levels_and_format(clean_logging, monkeypatch):
    monkeypatch.setenv("PICKET_LOG", "error")
    buf = io.StringIO()
    assert log.setup("info,picket.store=debug", stream=buf) == logging.INFO  # argument wins
    logging.getLogger("picket.log_probe").debug("not shown")
    logging.getLogger("picket.log_probe").info("shown %d", 1)
    logging.getLogger("picket.store").debug("store detail")
    logging.getLogger("elsewhere").debug("third party detail stays out")
    assert _lines(buf) == [("I", "log_probe", "shown 1"), ("D", "store", "store detail")]
    buf2 = io.StringIO()
    log.setup(stream=buf2)  # again: PICKET_LOG alone, the old handler and levels replaced
    logging.getLogger("picket.store").warning("once")
    logging.getLogger("picket.store").info("hidden")
    logging.getLogger("picket.store").error("kept")
    assert buf.getvalue().count("once") == 0
    assert _lines(buf2) == [("E", "store", "kept")]


def test_a_bad_level_is_said_and_the_default_kept(clean_logging, monkeypatch, capsys):
    monkeypatch.setenv("PICKET_LOG", "loud")
    buf = io.StringIO()
    assert log.setup(stream=buf) == logging.WARNING
    assert "PICKET_LOG: 'loud' is not a log level" in capsys.readouterr().err
    with pytest.raises(ValueError):
        log.parse_spec("info,picket.x=nope")
    assert log.parse_spec("15, picket.a = debug") == (15, {"picket.a": logging.DEBUG})


def test_a_command_process_logs_from_the_environment():
    code = ("import logging; from picket import log; log.setup(); "
            "logging.getLogger('picket.pipeline.runtime').info('checkpoint saved')")  # fmt: skip
    env = {"PICKET_LOG": "info", "PATH": ""}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=60, check=True)  # fmt: skip
    assert LINE.match(r.stderr.strip()).groups() == ("I", "pipeline.runtime", "checkpoint saved")
