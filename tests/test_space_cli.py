"""`picket space ...` end to end on small inputs built in a temporary directory."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from picket.cli.space_cmd import add_parser


def _run(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["space", *argv])
    return a.func(a)


@pytest.fixture
def small_catalogue(shared_data, tmp_path) -> Path:
    """The 150 objects nearest 550 km altitude from the 2024 file."""
    lines = (shared_data / "space/celestrak_omm_catalog_20241101.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    mm = np.array([float(r.split(",")[-14]) for r in rows])
    near = np.argsort(np.abs(mm - 15.05))[:150]
    cat = tmp_path / "cat.csv"
    cat.write_text("\n".join([header, *(rows[i] for i in sorted(near))]) + "\n")
    return cat


@pytest.mark.realdata
def test_screen_writes_csv_cdms_and_alerts(small_catalogue, tmp_path, capsys):
    cat = small_catalogue
    out, alerts, cdm = tmp_path / "c.csv", tmp_path / "a.jsonl", tmp_path / "cdm"
    rc = _run(["screen", str(cat), "--days", "1", "--out", str(out), "--alerts-out", str(alerts),
               "--alert-km", "5", "--cdm-dir", str(cdm), "--workers", "1"])  # fmt: skip
    assert rc == 0
    rows_out = list(csv.DictReader(out.open()))
    assert rows_out and all(float(r["TCA_RANGE"]) <= 5 for r in rows_out)
    assert len(list(cdm.glob("*.cdm"))) == len(rows_out)
    al = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert {a["kind"] for a in al} == {"space.conjunction"}
    assert {a["subject"] for a in al} == {f"norad:{r['NORAD_CAT_ID_1']}" for r in rows_out}
    assert "pairs:" in capsys.readouterr().out


@pytest.mark.realdata
def test_manoeuvres_command(shared_data, tmp_path):
    out, alerts = tmp_path / "m.csv", tmp_path / "m.jsonl"
    rc = _run(["manoeuvres", str(shared_data / "space/iss_tle_history_2021_2022.txt"),
               "--out", str(out), "--alerts-out", str(alerts)])  # fmt: skip
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    al = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert len(rows) == len(al) >= 9
    assert any(r["AFTER"].startswith("2021-11-11") for r in rows)


def test_screen_missing_file(tmp_path):
    assert _run(["screen", str(tmp_path / "none.tle")]) == 2


# progress -----------------------------------------------------------------------------
AREA = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"name": "Bornholm"},
    "geometry": {"type": "Polygon", "coordinates": [[[14.0, 54.6], [16.2, 54.6], [16.2, 55.6],
                                                     [14.0, 55.6], [14.0, 54.6]]]}}]}  # fmt: skip


BAR = re.compile(r"\d+/\d+ steps")


def _picket() -> list[str]:
    script = Path(sys.executable).parent / "picket"
    return [str(script)] if script.exists() else [sys.executable, "-m", "picket.cli.main"]


def _run_cli(argv: list[str], cwd: Path, tty: bool) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) with stderr on a real pseudo-terminal, or on a pipe."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    if not tty:
        r = subprocess.run([*_picket(), *argv], cwd=cwd, capture_output=True, text=True,
                           env=env, timeout=120)  # fmt: skip
        return r.returncode, r.stdout, r.stderr
    master, slave = os.openpty()
    p = subprocess.Popen([*_picket(), *argv], cwd=cwd, stdout=subprocess.PIPE, stderr=slave,
                         env=env)  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    assert p.stdout is not None
    out = p.stdout.read().decode()
    text = b"".join(chunks).decode(errors="replace")
    return p.wait(timeout=120), out, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)  # no colours


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("what", ["screen", "passes"])
def test_progress_on_a_terminal_only(what, small_catalogue, tmp_path):
    (tmp_path / "area.geojson").write_text(json.dumps(AREA))
    argv = (["space", "screen", str(small_catalogue), "--days", "0.5", "--workers", "1"]
            if what == "screen" else
            ["space", "passes", str(small_catalogue), "--area", "area.geojson", "--hours", "6"])
    rc, out, err = _run_cli(argv, tmp_path, tty=True)
    assert rc == 0, err
    assert what in err and BAR.search(err), err  # the bar: "<label> ━━━ n/total steps"
    assert not BAR.search(out)
    rc, out, err = _run_cli(argv, tmp_path, tty=False)
    assert rc == 0, err
    assert not BAR.search(err + out) and "\x1b[" not in err + out, err


@pytest.mark.realdata
@pytest.mark.parametrize("workers", [1, 2])
def test_screen_reports_every_step(small_catalogue, workers):
    from picket.model.rejects import Rejects
    from picket.space.propagate import Propagator
    from picket.space.read import read_catalogues
    from picket.space.screen import ScreenConfig, screen, screen_steps

    el = read_catalogues([str(small_catalogue)], Rejects())
    prop = Propagator(el)
    t0 = float(np.floor(np.quantile(el.epoch, 0.99) / 60.0) * 60.0)
    cfg = ScreenConfig(threshold_km=5.0, workers=workers)
    calls: list[int] = []
    _, st = screen(prop, t0, 3 * 3600.0, cfg, progress=calls.append)
    assert sum(calls) == screen_steps(3 * 3600.0, cfg) == st.steps
    assert len(calls) == (st.steps if workers == 1 else 8)  # per step; per task (2 x 4)


def test_screen_workers_take_sigterm_as_the_default_whatever_the_caller_installed():
    """A process that installed a SIGTERM handler of its own (a live command's stop flag,
    run in-process before) forks the screen's workers: they get the default SIGTERM back,
    so the pool's exit, which terminates them, cannot hang on a worker that ignores it (a
    CI run hung there once)."""
    import signal

    from picket.space.screen import _pool

    old = signal.signal(signal.SIGTERM, _ignore)
    try:
        with _pool(2) as pool:
            got = pool.map(signal.getsignal, [signal.SIGTERM, signal.SIGINT], chunksize=1)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert got == [signal.SIG_DFL, signal.SIG_IGN]  # Ctrl-C is the parent's to handle


def _ignore(signum, frame):
    return None


def test_main_puts_the_callers_signal_handlers_back():
    """`picket share` (like run, worker and cluster) takes SIGTERM while it runs; called
    through `main()` inside a process that goes on, the caller's handler is back after."""
    import signal

    from picket.cli.main import main

    def mine(signum, frame):
        return None

    old = signal.signal(signal.SIGTERM, mine)
    try:
        assert main(["share", "--nats", "memory:", "--seconds", "0.2",
                     "--webhook", "http://127.0.0.1:9/hook"]) == 0  # fmt: skip
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, old)
