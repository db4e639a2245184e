"""The `picket` command line as a user meets it: help, pipes, bad arguments, limits, outputs."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from picket.cli.main import build_parser, main
from picket.model.alerts import KINDS, Alert
from picket.store.sqlite import Store


def _picket() -> list[str]:
    script = Path(sys.executable).parent / "picket"
    return [str(script)] if script.exists() else [sys.executable, "-m", "picket.cli.main"]


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    acts = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(acts[0].choices) if acts else {}


def _commands() -> list[list[str]]:
    """Every command and subcommand, as argv paths: ["alerts"], ["space", "screen"]..."""
    out = []
    for name, sp in _subparsers(build_parser()).items():
        out.append([name])
        out += [[name, sub] for sub in _subparsers(sp)]
    return out


@pytest.fixture
def store(tmp_path) -> Path:
    """A real store holding 412 maritime.drift alerts, one a minute."""
    path = tmp_path / "s.sqlite"
    st = Store(path)
    t0 = 1_412_200_000.0
    st.upsert_alerts([
        Alert(id=f"a{k:04d}", kind="maritime.drift", severity="warning", time=t0 + 60 * k,
              domain="maritime", subject=f"mmsi:{212000000 + k}", lat=55.0, lon=15.0,
              summary=f"vessel {k} drifting " + "x" * 200, evidence={"k": k},
              last_time=t0 + 60 * k)
        for k in range(412)
    ])  # fmt: skip
    st.close()
    return path


# help ---------------------------------------------------------------------------------
def test_help_lists_every_command_with_a_description(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    subs = _subparsers(build_parser())
    assert len(subs) >= 12
    for name in subs:  # "  name   one-line description" in the command list
        assert re.search(rf"^\s+{name}\s+\w.*$", text, re.M), f"no description for {name}"
    # the description names every command (it went stale once)
    desc = set(re.findall(r"[a-z]+", build_parser().description or ""))
    missing = [n for n in subs if n not in desc]
    assert not missing, f"picket's description does not name {missing}"


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_answers_help(path, capsys):
    with pytest.raises(SystemExit) as e:
        main([*path, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: picket " + " ".join(path))


# pipes --------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["formats"], ["config"]])
def test_closed_pipe_is_quiet(argv):
    """The reader is gone before picket writes: the first flush meets a broken pipe."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([*_picket(), *argv], stdout=w, stderr=subprocess.PIPE, text=True,
                           timeout=60)  # fmt: skip
    finally:
        os.close(w)
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr
    assert p.returncode in (0, 141), p.stderr


def test_head_of_a_long_listing(store):
    """`picket alerts --json | head -1`: the reader leaves after one line of ~150 kB."""
    p = subprocess.Popen([*_picket(), "alerts", "--store", str(store), "--json", "--limit",
                          "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    rc = p.wait(timeout=60)
    assert json.loads(first)["kind"] == "maritime.drift"
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert rc == 141, err


def test_head_with_a_shell_pipe(store):
    p = subprocess.run(f"{' '.join(_picket())} alerts --store {store} --json --limit 1000 "
                       "| head -n 2", shell=True, capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert len(p.stdout.splitlines()) == 2
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr, p.stderr


# bad arguments ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["alerts", "--since", "yesterday"],
        ["alerts", "--until", "2024-13-45"],
        ["export", "--since", "nan"],
        ["serve", "--at", "the end"],
        ["space", "screen", "c.tle", "--start", "next tuesday"],
        ["space", "passes", "c.tle", "--area", "a.geojson", "--start", "soon"],
        ["replay", "x.bin", "--start-time", "12:00"],
        ["jamming", "daily", "x.bin", "--out", "d", "--start-time", "noon"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_bad_time_is_one_line_and_exit_2(argv, store, capsys):
    if argv[0] in ("alerts", "export", "serve"):
        argv = [*argv, "--store", str(store)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    flag = next(a for a in argv if a.startswith("--") and a in err)
    assert err.startswith(f"picket {argv[0]}") and flag, err


def test_every_time_option_is_checked():
    """An option documented as a time is checked by main() (a new one needs TIME_OPTIONS)."""
    from picket.cli.main import TIME_OPTIONS

    seen = []
    for path in _commands():
        sp = build_parser()
        for w in path:
            sp = _subparsers(sp)[w]
        for act in sp._actions:
            if act.help and re.search(r"ISO|unix seconds", act.help):
                seen.append(act.dest)
                assert act.dest in TIME_OPTIONS, f"picket {' '.join(path)} {act.option_strings}"
    assert {"since", "until", "start", "start_time"} <= set(seen)


def test_alerts_says_when_the_limit_cut(store, capsys):
    assert main(["alerts", "--store", str(store), "--limit", "100"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 100
    assert "showing 100 of 412; --limit to see more" in err
    assert main(["alerts", "--store", str(store), "--limit", "500"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 412 and "showing" not in err and "412 alerts" in err
    assert main(["alerts", "--store", str(store), "--limit", "412", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 412 and "showing" not in err


def test_alerts_unknown_kind_warns(store, capsys):
    assert main(["alerts", "--store", str(store), "--kind", "maritime.drifting"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "maritime.drifting" in err and all(k in err for k in KINDS), err
    for ok in ("maritime.drift", "maritime.*", "maritime", "gnss"):
        assert main(["alerts", "--store", str(store), "--kind", ok]) == 0
        assert "warning" not in capsys.readouterr().err, ok


# jamming show -------------------------------------------------------------------------
def test_jamming_show_writes_here_not_beside_input(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    src, here = tmp_path / "in", tmp_path / "here"
    src.mkdir()
    here.mkdir()
    f = src / "2022-02-24-h3_4.csv"
    f.write_text("hex,count_good_aircraft,count_bad_aircraft\n"
                 "841f053ffffffff,20,15\n841f1d5ffffffff,40,1\n")  # fmt: skip
    monkeypatch.chdir(here)
    assert main(["jamming", "show", str(f)]) == 0
    assert sorted(p.name for p in src.iterdir()) == [f.name]
    assert {p.name for p in here.iterdir()} == {"2022-02-24-h3_4.png", "2022-02-24-h3_4.geojson"}
    gj = json.loads((here / "2022-02-24-h3_4.geojson").read_text())
    assert len(gj["features"]) == 2
    png, geo = tmp_path / "out/m.png", tmp_path / "out/m.geojson"
    assert main(["jamming", "show", str(f), "--png", str(png), "--geojson", str(geo)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and geo.exists()
    assert sorted(p.name for p in src.iterdir()) == [f.name]
    capsys.readouterr()


# start-up -----------------------------------------------------------------------------
def test_lazy_parser_lists_the_same_commands():
    """`picket --help` builds the parser without importing the commands' modules: it must
    still list every command (a module's new command needs a MODULE_COMMANDS line)."""
    full = _subparsers(build_parser())
    for word in ("", "formats", "space", "demo"):
        lazy = _subparsers(build_parser(word))
        assert sorted(lazy) == sorted(full), word
    assert _subparsers(build_parser("space"))["space"]._actions[1:], "space built for real"


@pytest.mark.parametrize("argv", [["--help"], ["formats"]])
def test_help_and_formats_import_little(argv):
    """No SciPy, numba or tracker to print a help text or a list of formats (was 0.5 s CPU,
    now ~0.02 s and ~0.2 s)."""
    code = ("import sys; from picket.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'numba')\n"
            "               or m.startswith(('picket.track', 'picket.detect')))\n"
            "print('HEAVY', heavy, file=sys.stderr)")  # fmt: skip
    r = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert "HEAVY []" in r.stderr, r.stderr[-2000:]
