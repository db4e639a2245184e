"""`picket run` stopped by SIGTERM (as systemd or docker stop it) ends as Ctrl-C does: the
last batch processed, the final checkpoint written, the summary printed, exit 0."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest


@pytest.mark.realdata
@pytest.mark.slow
def test_sigterm_stops_cleanly_with_a_final_checkpoint(shared_data, tmp_path):
    cfg = tmp_path / "picket.toml"
    store = tmp_path / "p.sqlite"
    cfg.write_text(
        f'[store]\npath = "{store}"\ncheckpoint_s = 3600\n'  # only the final one is written
        f'[[sources]]\nname = "ais"\nformat = "ais-nmea"\n'
        f'file = "{shared_data / "ais/dma_212123000_drift_bornholm_20141002.nmea"}"\n'
        "follow = true\n"
    )
    p = subprocess.Popen([sys.executable, "-m", "picket.cli.main", "run", str(cfg), "--no-serve"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(6)  # the file is read and followed
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 0, err
    assert "bytes per source" in out and "Traceback" not in err
    db = sqlite3.connect(store)
    assert db.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 1


def test_unknown_source_format_is_one_line(tmp_path):
    cfg = tmp_path / "picket.toml"
    cfg.write_text('[[sources]]\nname = "x"\nformat = "beest"\ntcp = "127.0.0.1:1"\n')
    p = subprocess.run([sys.executable, "-m", "picket.cli.main", "run", str(cfg), "--no-serve"],
                       capture_output=True, text=True, timeout=60)  # fmt: skip
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "sources[0] (x): unknown format 'beest'" in p.stderr
