"""CDMs from picket.toml (`[space] cdm`) and live: a real `picket run` follows a folder;
a CDM written by picket's own writer (space/cdm.py) dropped in while it runs becomes a
`space.conjunction` alert in the store with its provenance; a copy of the same file adds
nothing; a bad file is counted and dead-lettered; a restart reads none of them again
(the checkpoint remembers them). `picket space screen --config` reads the same section."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from picket import config as cfgmod
from picket.cli.space_cmd import add_parser
from picket.detect.space_conjunction import CdmFollower
from picket.model.rejects import Rejects
from picket.space.cdm import cdm_text
from picket.space.elements import ElementSets
from picket.space.report import ConjunctionReport
from picket.space.screen import Conjunctions

CREATED = 1_780_000_000.0  # 2026-05-28: an issue time before the wall clock


def _cdm(miss_km: float = 0.25, norad: tuple[int, int] = (43013, 31142),
         created: float = CREATED) -> str:  # fmt: skip
    """One CDM in picket's own KVN (the writer `picket space screen --cdm-dir` uses), for a
    pass `miss_km` apart 500 km above the equator, TCA a day after CREATED."""
    el = ElementSets.build(2, norad=np.array(norad, np.int64),
                           name=np.array(["EXAMPLESAT 1", "FENGYUN 1C DEB"], object),
                           object_id=np.array(["2017-073A", "1999-025DXJ"], object),
                           epoch=np.full(2, created - 3600.0),
                           provider=np.array(["test", "test"], object))  # fmt: skip
    r1 = np.array([[6878.137, 0.0, 0.0]])
    r2 = r1 + np.array([[0.0, miss_km, 0.0]])
    v1 = np.array([[0.0, 7.6, 0.0]])
    conj = Conjunctions(np.array([0]), np.array([1]), np.array([CREATED + 86400.0]),
                        np.array([miss_km]), np.array([14.5]), r1, v1,
                        r2, np.array([[0.0, -6.4, 3.77]]))  # fmt: skip
    return cdm_text(ConjunctionReport.build(conj, el), 0, created)


def _age(p: Path) -> Path:
    """As a file finished a while ago (the follower waits for files being written)."""
    t = time.time() - 10
    os.utime(p, (t, t))
    return p


def _rows(db: Path, sql: str) -> list[tuple]:
    if not db.exists():
        return []
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the run has not made its tables yet
        return []
    finally:
        con.close()


def _wait(cond, timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


class _Run:
    """`picket run picket.toml --no-serve` in a subprocess, stopped by SIGINT (checkpointed)."""

    def __init__(self, work: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen([sys.executable, "-m", "picket.cli.main", "run",
                                   str(work / "picket.toml"), "--no-serve", "--batch-s", "0.2"],
                                  cwd=work, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)  # fmt: skip

    def stop(self) -> str:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            out, _ = self.p.communicate(timeout=30)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
        return out.decode(errors="replace")


def test_picket_run_follows_a_cdm_folder(tmp_path):
    work, inbox = tmp_path / "work", tmp_path / "work" / "cdm-inbox"
    inbox.mkdir(parents=True)
    (work / "picket.toml").write_text("""
[store]
path = "picket.sqlite"
checkpoint_s = 0.2
[sinks]
console = false
[space]
cdm = ["cdm-inbox"]
cdm_poll_s = 0.2
""")
    db = work / "picket.sqlite"
    alerts = "SELECT kind, subject, status, evidence FROM alerts"
    n_events = "SELECT count(*) FROM alert_events"
    run = _Run(work)
    log = ""
    try:
        assert _wait(lambda: _rows(db, n_events) == [(0,)]), run.stop()  # running, empty
        text = _cdm()
        part = inbox / "a.cdm.part"  # written beside, then renamed in, as a download does
        part.write_text(text)
        _age(part).rename(inbox / "43013_31142.cdm")
        assert _wait(lambda: len(_rows(db, alerts)) == 1), run.stop()
        (kind, subject, status, ev), = _rows(db, alerts)
        assert (kind, subject, status) == ("space.conjunction", "norad:31142", "open")
        ev = json.loads(ev)
        assert ev["source"] == "cdm"
        assert ev["provenance"]["originator"] == "PICKET"
        assert ev["provenance"]["file"] == "43013_31142.cdm"
        assert ev["miss_distance_m"] == pytest.approx(250.0, abs=0.01)
        before = _rows(db, n_events)
        shutil.copy(inbox / "43013_31142.cdm", inbox / "copy-of-it.cdm")  # the same bytes
        _age(inbox / "copy-of-it.cdm")
        (inbox / "bad.cdm").write_text("CCSDS_CDM_VERS = 1.0\nORIGINATOR = X\n")
        _age(inbox / "bad.cdm")
        dead = work / "dead-letter.jsonl"
        assert _wait(lambda: dead.exists() and "space.cdm_invalid" in dead.read_text()), \
            run.stop()
        time.sleep(1.0)  # several more looks at the folder
        assert _rows(db, n_events) == before
        assert len(_rows(db, alerts)) == 1
        # the operator reissues it an hour later, closer: the one alert turns critical
        (inbox / "reissued.cdm").write_text(_cdm(0.15, created=CREATED + 3600))
        _age(inbox / "reissued.cdm")
        assert _wait(lambda: _rows(db, "SELECT severity FROM alerts") == [("critical",)]), \
            run.stop()
        (_, _, _, ev), = _rows(db, alerts)
        assert json.loads(ev)["provenance"]["file"] == "reissued.cdm"
        assert json.loads(ev)["count"] == 1  # the reissue replaces the first, as CSpOC's do
    finally:
        log = run.stop()
    assert "1 CDM files read before (not used)" in log  # the copy, known by its content
    lines = [json.loads(x) for x in (work / "dead-letter.jsonl").read_text().splitlines()]
    bad = [x for x in lines if x.get("reason") == "space.cdm_invalid"]
    assert len(bad) == 1 and "bad.cdm" in bad[0]["where"], log
    # a restart: the checkpoint remembers every file judged; none is read again
    events = _rows(db, n_events)
    run = _Run(work)
    try:
        assert _wait(lambda: "state restored" in _checkpoint_said(run)), run.stop()
        assert "CdmFollower" not in _checkpoint_said(run)  # its memory came back
        time.sleep(1.5)
        assert _rows(db, n_events) == events
    finally:
        log = run.stop()
    dl = [json.loads(x) for x in (work / "dead-letter.jsonl").read_text().splitlines()]
    assert sum(x.get("reason") == "space.cdm_invalid" for x in dl) == 1, log


def _checkpoint_said(run: _Run) -> str:
    """What the run printed so far (non-blocking read of its merged output)."""
    import select

    fd = run.p.stdout
    assert fd is not None
    got = getattr(run, "_said", "")
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd.fileno(), 65536)
        if not chunk:
            break
        got += chunk.decode(errors="replace")
    run._said = got  # type: ignore[attr-defined]
    return got


def test_with_a_live_clock_a_conjunction_stays_open_until_its_tca(tmp_path):
    """Live reports make the pipeline's clock finite: the alert opens at that clock (not at
    an issue time the quiet close would end at once), stays open while the TCA is ahead,
    and closes once it has passed; a CDM whose TCA had passed when it came is no alert."""
    from picket.model.decoded import Decoded
    from picket.pipeline.runtime import Pipeline

    (tmp_path / "a.cdm").write_text(_cdm())
    _age(tmp_path / "a.cdm")
    rj = Rejects()
    fol = CdmFollower([tmp_path], poll_s=0.0, rejects=rj)
    pipe = Pipeline([fol])
    now = CREATED + 7200.0  # two hours after the issue, 22 before the TCA
    (what, a), = pipe.process(Decoded.empty(), now=now)
    assert (what, a.subject, a.time, a.status) == ("open", "norad:31142", now, "open")
    for k in range(1, 40):  # 20 hours of batches, every half hour: no quiet close
        evs = pipe.process(Decoded.empty(), now=now + 1800.0 * k)
        assert all(w != "close" for w, _ in evs)
    evs = pipe.process(Decoded.empty(), now=CREATED + 86400.0 + 60.0)  # the TCA has passed
    assert [(w, x.status) for w, x in evs] == [("close", "closed")]
    (tmp_path / "late.cdm").write_text(_cdm(norad=(43020, 43021), created=CREATED))
    _age(tmp_path / "late.cdm")
    assert pipe.process(Decoded.empty(), now=CREATED + 86400.0 + 120.0) == []
    assert rj.rejected == 0


def _screen(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["space", "screen", *argv])
    return a.func(a)


def test_space_screen_reads_the_config_cdms(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "one.cdm").write_text(_cdm())
    (tmp_path / "picket.toml").write_text('[space]\ncdm = ["in"]\n[sinks]\nconsole = false\n')
    out = tmp_path / "a.jsonl"
    assert _screen(["--config", str(tmp_path / "picket.toml"), "--store",
                    str(tmp_path / "s.sqlite"), "--alerts-out", str(out)]) == 0  # fmt: skip
    assert "1 CDMs read (PICKET)" in capsys.readouterr().out
    (al,) = [json.loads(x) for x in out.read_text().splitlines()]  # once, not twice
    assert al["subject"] == "norad:31142" and al["evidence"]["provenance"]["file"] == "one.cdm"


@pytest.mark.parametrize(("sec", "said"), [
    ('cdm = ["x"]\nfollow = true', "unknown keys ['follow']"),
    ("cdm = 3", "list of CDM files"),
    ('cdm = ["x"]\ncdm_poll_s = 0', "must be > 0"),
])  # fmt: skip
def test_space_section_is_checked(tmp_path, sec, said):
    (tmp_path / "p.toml").write_text(f"[space]\n{sec}\n")
    with pytest.raises(cfgmod.ConfigError, match=said.replace("[", r"\[").replace("]", r"\]")):
        cfgmod.load(tmp_path / "p.toml")
