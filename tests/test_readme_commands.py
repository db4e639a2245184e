"""Every `picket ...` line in README.md's code blocks runs on real data and exits cleanly.

The commands are read from the README itself, so a command added there is covered here.
Placeholders (INPUT..., CATALOG..., picket.toml...) become real files from ../shared/data
or small files written below; one the table does not know fails loudly, naming the line,
so whoever documents a new one adds its substitution here. Optional `[...]` groups are
run too; `a|b` runs the first alternative. Each command runs as a real subprocess in a
scratch directory, with flags that keep it short (`SETTINGS`), a free port if it serves,
and a time budget; it fails if it exits non-zero, prints a traceback or runs over.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED

README = Path(__file__).resolve().parents[1] / "README.md"
BUDGET_S = 45.0  # per command; the flags below keep each near 20 s or less on 2 shared cores
FREE_PORT = "{free_port}"


@dataclass(frozen=True)
class Command:
    line: int  # where it starts in README.md
    text: str  # as written, continuation lines joined

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def readme_commands(text: str) -> list[Command]:
    """`picket ...` commands in fenced code blocks: indented lines and lines after a
    trailing backslash continue the command above; comments are dropped."""
    out: list[Command] = []
    fenced, cur, start, cont = False, None, 0, False
    for n, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("```"):
            if cur:
                out.append(Command(start, cur))
            fenced, cur, cont = not fenced, None, False
            continue
        if not fenced:
            continue
        body = _strip_comment(raw).rstrip()
        if cur is not None and (cont or (raw[:1].isspace() and body.strip())):
            cur += " " + body.strip().removesuffix("\\").strip()
        elif raw.startswith("picket "):
            if cur:
                out.append(Command(start, cur))
            cur, start = body.removesuffix("\\").strip(), n
        else:
            if cur:
                out.append(Command(start, cur))
            cur = None
        cont = body.endswith("\\")
    return out


def _strip_comment(line: str) -> str:
    """The line without a shell comment (a `#` starting a word)."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0]


# -- placeholders ---------------------------------------------------------------------
@dataclass
class Setting:
    """What a command needs beyond its README line to run short and offline."""

    force: dict[str, str] = field(default_factory=dict)  # option -> value (set or replace)
    add: list[str] = field(default_factory=list)  # appended as they are
    budget_s: float = BUDGET_S


SETTINGS: dict[str, Setting] = {
    "demo": Setting(force={"--port": FREE_PORT}, add=["--quiet", "--no-linger"], budget_s=180),
    "run": Setting(force={"--seconds": "4", "--port": FREE_PORT}),
    "serve": Setting(force={"--seconds": "2", "--port": FREE_PORT}),
    # a clean checkout's first screen compiles its loops (numba: ~30 s on 2 shared cores)
    "space screen": Setting(force={"--days": "0.5", "--workers": "1"}, budget_s=120),
    "space passes": Setting(force={"--hours": "2"}),
    "bench": Setting(add=["--repeat", "1"]),
    "cluster up": Setting(force={"--port": FREE_PORT, "--seconds": "25"}, budget_s=90),
    "share": Setting(force={"--seconds": "3"}),
}
NATS_URL = "{nats}"  # a nats-server the test starts for the command (`picket share`)


def placeholders(d: Path) -> dict[str, str]:
    """Placeholder -> value. Keys: "TOKEN", "OPTION TOKEN" or "COMMAND: TOKEN" (most
    specific first). Literal words the README uses as they are map to themselves."""
    ais = SHARED / "ais/dma_212123000_drift_bornholm_20141002.nmea"
    return {
        # inputs
        "INPUT...": str(ais),
        "jamming daily: INPUT...": str(SHARED / "air/beast_capture_gulf_of_finland_20180403_61s"
                                       ".bin"),
        "--zones F...": str(d / "area.geojson"),
        "--infrastructure F...": str(SHARED / "geo/submarine_cables_telegeography_2021.geojson"),
        "CATALOG...": str(d / "catalog.csv"),
        "HISTORY.txt": str(SHARED / "space/iss_tle_history_2021_2022.txt"),
        "area.geojson": str(d / "area.geojson"),
        "gpsjam.csv": str(SHARED / "air/gpsjam_2022-02-24_h3r4.csv"),  # a read-only folder
        "picket.toml": str(d / "picket.toml"),
        "share: picket.toml": str(d / "outputs.toml"),
        "share: URL": NATS_URL,
        "PLOTS.csv": str(d / "plots.csv"),
        "--store F": "var/picket.sqlite",
        "NAME": "ais_decode",
        # values
        "X": "0",  # --speed: as fast as possible
        "S": "3600",  # demo --duration: the least that holds every incident
        "T": "2014-10-02T00:00:00Z",
        "--start-time ISO": "2014-10-02T00:00:00Z",  # clockless input only: ignored here
        "--rate N": "10",  # lines per second of clockless input
        "--radar-site SAC/SIC:LAT,LON,HEIGHT_M": "0/1:45.0,15.0,300",  # unused by AIS input
        "mmsi:...": "mmsi:212123000",
        "--bbox W": "14.0",  # around Bornholm, where the replayed vessel drifted
        "--bbox S": "54.8",
        "--bbox E": "15.8",
        "--bbox N": "55.6",
        "air,maritime": "air,maritime",
        "maritime.*": "maritime.*",
        # outputs, written in the scratch directory
        "a.jsonl": "a.jsonl",
        "alerts.jsonl": "alerts.jsonl",
        "t.csv": "t.csv",
        "who.parquet": "who.parquet",
        "conjunctions.csv": "conjunctions.csv",
        "TRACKS.csv": "tracks.csv",
        "DIR": "daily",
        "D": "cdm",
    }


class UnknownPlaceholder(LookupError):
    pass


def argv_for(cmd: Command, values: dict[str, str]) -> tuple[str, list[str]]:
    """(command name, argv after `picket`) for a README line, placeholders filled in."""
    words = shlex.split(cmd.text)[1:]
    name_parts: list[str] = []
    for w in words:  # leading bare lowercase words are the command and subcommand
        if not re.fullmatch(r"[a-z]+", w) or len(name_parts) == 2:
            break
        name_parts.append(w)
    name = " ".join(name_parts)
    argv, opt = list(name_parts), ""
    for w in words[len(name_parts):]:
        w = w.strip("[]")
        if not w:
            continue
        if w.startswith("-"):
            argv.append(w)
            opt = w
            continue
        if "|" in w and w not in values:  # choices: run the first one
            w = w.split("|")[0]
        argv.append(_value(cmd, name, opt, w, values))
    return name, argv


def _value(cmd: Command, name: str, opt: str, w: str, values: dict[str, str]) -> str:
    if re.fullmatch(r"-?\d+(\.\d+)?|[a-z][a-z0-9_-]*", w):  # numbers, choices (cv, kml, auto)
        return w
    if w.startswith("../shared/data/"):  # the README's paths are relative to the checkout
        return str(SHARED / w.removeprefix("../shared/data/"))
    for key in (f"{name}: {w}", f"{opt} {w}", w):
        if key in values:
            return values[key]
    raise UnknownPlaceholder(
        f"{cmd}: no substitution for {w!r}: add one to placeholders() in {Path(__file__).name}"
    )


def apply_setting(name: str, argv: list[str], port: int) -> tuple[list[str], float]:
    """argv with the command's forced options and extra flags; its time budget."""
    s = SETTINGS.get(name) or SETTINGS.get(name.split(" ")[0]) or Setting()
    argv = list(argv)
    for opt, val in s.force.items():
        val = val.replace(FREE_PORT, str(port))
        if opt in argv:
            argv[argv.index(opt) + 1] = val
        else:
            argv += [opt, val]
    return argv + s.add, s.budget_s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _picket() -> list[str]:
    script = Path(sys.executable).parent / "picket"
    return [str(script)] if script.exists() else [sys.executable, "-m", "picket.cli.main"]


# -- scratch inputs ---------------------------------------------------------------------
def _write_inputs(d: Path) -> None:
    """Small inputs the README's placeholders stand for, and a store to read back."""
    poly = [[14.0, 54.6], [16.2, 54.6], [16.2, 55.6], [14.0, 55.6], [14.0, 54.6]]
    (d / "area.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "Bornholm", "kind": "restricted"},
        "geometry": {"type": "Polygon", "coordinates": [poly]}}]}))  # fmt: skip
    (d / "picket.toml").write_text(
        '[store]\npath = "var/picket.sqlite"\n\n'
        f'[[sources]]\nname = "ais-file"\nformat = "ais-nmea"\n'
        f'file = "{SHARED / "ais/dma_212123000_drift_bornholm_20141002.nmea"}"\n'
    )
    # 150 objects near 550 km from the 2024 catalogue: enough for real conjunctions
    lines = (SHARED / "space/celestrak_omm_catalog_20241101.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    mm = np.array([float(r.split(",")[-14]) for r in rows])
    near = np.sort(np.argsort(np.abs(mm - 15.05))[:150])
    (d / "catalog.csv").write_text("\n".join([header, *(rows[i] for i in near)]) + "\n")
    # two targets crossing, 40 radar scans of 4 s with 30 m noise (x, y east/north of origin)
    rng = np.random.default_rng(1)
    t = np.arange(40) * 4.0
    rows = []
    for x0, y0, vx, vy in ((0.0, 0.0, 120.0, 10.0), (8000.0, 2000.0, -90.0, 40.0)):
        xy = np.c_[x0 + vx * t, y0 + vy * t] + rng.normal(0, 30, (len(t), 2))
        rows += [(ti, f"{ti:.1f},{x:.1f},{y:.1f}") for ti, (x, y) in zip(t, xy, strict=True)]
    rows.sort(key=lambda r: r[0])
    (d / "outputs.toml").write_text('[[outputs]]\nkind = "alerts_jsonl"\npath = "shared.jsonl"\n')
    (d / "plots.csv").write_text("\n".join(["time,x,y", *(r for _, r in rows)]) + "\n")


@pytest.fixture(scope="module")
def workdir(shared_data, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    _write_inputs(d)
    # a store for `alerts`, `serve` and `export`, whatever order the README lists them in
    r = subprocess.run([*_picket(), "replay", str(SHARED / "ais/dma_212123000_drift_bornholm"
                        "_20141002.nmea"), "--quiet"], cwd=d,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return d


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def test_readme_has_commands():
    names = {argv_for(c, _AnyValue())[0] for c in COMMANDS}
    assert {"demo", "replay", "alerts", "space screen"} <= names, names


class _AnyValue(dict):
    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return "x"


def test_unknown_placeholder_fails_loudly():
    cmd = Command(7, "picket space screen CATALOG... --frobnicate WIDGET.bin")
    with pytest.raises(UnknownPlaceholder, match=r"README.md:7: .*'WIDGET.bin'"):
        argv_for(cmd, {"CATALOG...": "c.csv"})


def test_parse_continuations_and_comments():
    text = ("x\n```sh\npicket a B [--c d]  # note\n      [--e f]\npicket g h \\\n  --i j\n"
            "# -> result\nmake demo\n```\npicket outside\n")  # fmt: skip
    assert [(c.line, c.text) for c in readme_commands(text)] == [
        (3, "picket a B [--c d] [--e f]"), (5, "picket g h --i j")]  # fmt: skip


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("cmd", COMMANDS, ids=[f"L{c.line}-{c.text[:40]}" for c in COMMANDS])
def test_readme_command_runs(cmd: Command, workdir: Path):
    name, argv = argv_for(cmd, placeholders(workdir))
    argv, budget = apply_setting(name, argv, _free_port())
    env = {**os.environ, "COLUMNS": "100"}
    with contextlib.ExitStack() as stack:
        if NATS_URL in argv:
            from picket.bus.local import LocalNats, why_no_nats

            if why_no_nats():
                pytest.skip(why_no_nats() or "")
            url = stack.enter_context(contextlib.closing(LocalNats())).url
            argv = [url if w == NATS_URL else w for w in argv]
        _run(cmd, argv, budget, env, workdir)


def _run(cmd: Command, argv: list[str], budget: float, env: dict, workdir: Path) -> None:
    t0 = time.monotonic()
    try:
        r = subprocess.run([*_picket(), *argv], cwd=workdir, capture_output=True, text=True,
                           timeout=budget, env=env)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{cmd}\n  ran over its {budget:.0f} s budget: picket {shlex.join(argv)}")
    took = time.monotonic() - t0
    said = f"{cmd}\n  ran: picket {shlex.join(argv)} ({took:.1f} s)\n  exit {r.returncode}\n" \
           f"  stderr: {r.stderr[-1500:]}"  # fmt: skip
    assert "Traceback" not in r.stderr + r.stdout, said
    assert "Exception ignored" not in r.stderr, said
    assert r.returncode == 0, said
