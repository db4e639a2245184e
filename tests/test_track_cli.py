"""`picket track` end to end on a small synthetic plot file with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from picket.cli.track_cmd import main


@pytest.mark.parametrize("model", ["cv", "imm"])
def test_track_command_xy(tmp_path, model):
    rng = np.random.default_rng(0)
    lines = ["# origin: 59.0, 24.0", "time,x,y,sensor"]
    for k in range(20):
        for j in range(4):
            x, y = 1000 * j + 10 * k, -500 + 4 * k
            lines.append(f"{k},{x + rng.normal(0, 3):.2f},{y + rng.normal(0, 3):.2f},r1")
        for _ in range(3):
            lines.append(f"{k},{rng.uniform(-2000, 5000):.1f},{rng.uniform(-2000, 2000):.1f},r1")
    lines.append("bad,row")
    src, out = tmp_path / "plots.csv", tmp_path / "tracks.csv"
    src.write_text("\n".join(lines) + "\n")
    argv = ["track", str(src), "--out", str(out), "--measurement-sigma", "3"]
    argv += ["--process-noise", "0.1", "--initial-velocity-sigma", "20", "--confirm", "3/3"]
    argv += ["--model", model]
    assert main(argv) == 0
    assert out.read_text().splitlines()[0] == "time,track_id,x,y"
    t, tid, x, y = np.loadtxt(out, delimiter=",", skiprows=1, unpack=True)
    assert len(np.unique(tid)) == 4
    last = t == 19
    np.testing.assert_allclose(np.sort(x[last]), 1000 * np.arange(4) + 190, atol=6)
    np.testing.assert_allclose(y[last], -500 + 76, atol=6)


def test_bad_confirm_is_an_error(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("time,x,y\n0,1,2\n")
    assert main(["track", str(src), "--out", str(tmp_path / "o.csv"), "--confirm", "4/2"]) == 2


def test_own_time_plots_need_scan_quantum_and_zero_tracks_say_why(tmp_path, capsys):
    # Three aircraft, each plot stamped at its own time within a 4 s revolution.
    rng = np.random.default_rng(2)
    lines = ["# origin: 59.0, 24.0", "time,x,y"]
    for k in range(25):
        for j in range(3):
            t = 4.0 * k + rng.uniform(0, 4)
            x, y = 5000.0 * j + 200.0 * t, -3000.0 + 50.0 * t
            lines.append(f"{t:.3f},{x + rng.normal(0, 20):.1f},{y + rng.normal(0, 20):.1f}")
    src, out = tmp_path / "plots.csv", tmp_path / "tracks.csv"
    src.write_text("\n".join(lines) + "\n")
    argv = ["track", str(src), "--out", str(out), "--measurement-sigma", "20"]
    argv += ["--initial-velocity-sigma", "300"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "0 tracks: 75 plots from 1 sensors in 75 scans" in err
    assert "set --scan-quantum" in err
    assert main([*argv, "--scan-quantum", "4"]) == 0
    err = capsys.readouterr().err
    assert "0 tracks:" not in err
    _, tid, x, _ = np.loadtxt(out, delimiter=",", skiprows=1, unpack=True)
    assert len(np.unique(tid)) == 3


def test_site_line_makes_revolution_scans(tmp_path, capsys):
    # A 4.8 s radar's plots, each at its beam time, no --scan-quantum: with the radar's
    # site in the file its scans are revolutions, without it every plot is a scan.
    from tests.test_track_async import _radar

    rng = np.random.default_rng(8)
    site = (60.0, 25.0)
    targets = [(60.3, 24.9, 90.0, 200.0), (60.0, 25.6, 0.0, 150.0)]
    t, lat, lon, _ = _radar(site, 4.8, 1.7e9, 30, targets, rng)
    rows = [f"{a:.3f},{b:.7f},{c:.7f},psr" for a, b, c in zip(t, lat, lon, strict=True)]
    src, out = tmp_path / "plots.csv", tmp_path / "tracks.csv"
    argv = ["track", str(src), "--out", str(out), "--measurement-sigma", "30"]
    argv += ["--initial-velocity-sigma", "250"]
    src.write_text("\n".join(["time,lat,lon,sensor", *rows]) + "\n")
    assert main(argv) == 0
    assert "0 tracks: 60 plots from 1 sensors in 60 scans" in capsys.readouterr().err
    src.write_text("\n".join(["# site: psr, 60, 25", "time,lat,lon,sensor", *rows]) + "\n")
    assert main(argv) == 0
    assert ", 2 tracks" in capsys.readouterr().err
    _, tid, _, _ = np.loadtxt(out, delimiter=",", skiprows=1, unpack=True)
    assert len(np.unique(tid)) == 2


def test_track_runs_without_scipy_and_writes_what_it_tracked(tmp_path):
    """A benchmark-sized scene (200 targets a scan, the k-d tree's old territory) in a
    fresh interpreter: SciPy is never imported (its import costs more than the run), and
    the written table is the tracker's own output to the printed digits."""
    import subprocess
    import sys

    rng = np.random.default_rng(5)
    grid = np.stack(np.meshgrid(np.arange(15), np.arange(14)), -1).reshape(-1, 2)[:200] * 50.0
    vel = rng.normal(0, 1, grid.shape)
    rows = ["time,x,y"]
    for k in range(8):
        z = grid + vel * k + rng.normal(0, 1, grid.shape)
        rows += [f"{k},{a:.3f},{b:.3f}" for a, b in z]
    src, out = tmp_path / "plots.csv", tmp_path / "tracks.csv"
    src.write_text("\n".join(rows) + "\n")
    code = (
        "import sys; from picket.cli.main import main; rc = main(sys.argv[1:]); "
        "print('SCIPY' if any(m.startswith('scipy') for m in sys.modules) else 'NO-SCIPY'); "
        "sys.exit(rc)"
    )
    args = ["track", str(src), "--out", str(out), "--measurement-sigma", "1",
            "--process-noise", "0.05", "--initial-velocity-sigma", "2"]  # fmt: skip
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "NO-SCIPY"
    t, tid, x, y = np.loadtxt(out, delimiter=",", skiprows=1, unpack=True)
    last = t == 7
    assert len(np.unique(tid[last])) == 200
    truth = grid + vel * 7
    d = np.hypot(x[last, None] - truth[None, :, 0], y[last, None] - truth[None, :, 1])
    assert np.all(d.min(axis=1) < 3.0)  # every track on a target


def test_the_run_freezes_the_collector_and_leaves_it_as_it_was(tmp_path, monkeypatch):
    """The objects alive at the start are out of the run's collections (gc.freeze) and back
    in after, also when the run fails, so an in-process caller keeps a normal collector."""
    import gc

    from picket.cli import track_cmd

    seen = []
    real = track_cmd._run

    def spy(args):
        seen.append(gc.get_freeze_count())
        return real(args)

    monkeypatch.setattr(track_cmd, "_run", spy)
    src = tmp_path / "p.csv"
    src.write_text("time,x,y\n0,1,2\n1,2,3\n")
    assert gc.get_freeze_count() == 0
    assert main(["track", str(src), "--out", str(tmp_path / "o.csv")]) == 0
    assert seen[-1] > 1000 and gc.get_freeze_count() == 0
    with pytest.raises(FileNotFoundError):
        main(["track", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.csv")])
    assert gc.get_freeze_count() == 0
