"""What the command line imports before it does anything (issue 18: `picket --help` and
`picket formats` under 0.3 s CPU). Import lists, not timings: a module that creeps into
the start of every command shows here on any machine."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

CODE = """import sys
from picket.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("MODULES", sorted(sys.modules), file=sys.stderr)
"""


def _modules(argv: list[str]) -> set[str]:
    r = subprocess.run([sys.executable, "-c", CODE, *argv], capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    line = next(x for x in r.stderr.splitlines() if x.startswith("MODULES"))
    return set(ast.literal_eval(line[len("MODULES ") :]))


def test_help_imports_no_numpy() -> None:
    mods = _modules(["--help"])
    assert "picket.cli.main" in mods
    assert not {m for m in mods if m.split(".")[0] in ("numpy", "scipy", "numba")}


@pytest.mark.parametrize("argv", [["formats"], ["track", "--help"]])
def test_no_compiled_or_scientific_stack(argv: list[str]) -> None:
    """The formats listing imports the readers (NumPy), never numba, SciPy or the readers'
    compiled loops (loaded by a large chunk of an OpenSky CSV, not by its import)."""
    mods = _modules(argv)
    heavy = {m for m in mods if m.split(".")[0] in ("scipy", "numba", "pandas", "shapely")}
    assert not heavy
    assert "picket.sources.opensky_kernels" not in mods
    if argv == ["formats"]:
        assert "picket.sources.air_json" in mods
    else:  # the tracker's command: alerts are imported only when a time option is given
        assert "picket.model.alerts" not in mods
