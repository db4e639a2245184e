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


THREADS = """import os, sys
from picket.cli.main import main
import numpy
numpy.ones((400, 400)) @ numpy.ones((400, 400))  # a product OpenBLAS would split
print(len(os.listdir("/proc/self/task")))
"""

BLAS_VARS = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _threads(**env: str) -> int:
    import os

    clean = {k: v for k, v in os.environ.items() if k not in BLAS_VARS}
    r = subprocess.run([sys.executable, "-c", THREADS], capture_output=True, text=True,
                       timeout=120, env={**clean, **env}, check=True)  # fmt: skip
    return int(r.stdout.split()[-1])


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self/task"), reason="needs Linux /proc")
@pytest.mark.skipif((__import__("os").cpu_count() or 1) < 2, reason="one core: one BLAS thread")
def test_commands_run_numpy_with_one_blas_thread_unless_the_caller_chose() -> None:
    """A picket command's OpenBLAS starts no idle threads (they spin ~0.1 s of CPU each,
    taken from other workers on a busy machine); a count the caller set is kept."""
    assert _threads() == 1
    assert _threads(OPENBLAS_NUM_THREADS="2") == 2
    assert _threads(OMP_NUM_THREADS="2") == 2


def test_one_blas_thread_leaves_a_chosen_count() -> None:
    from picket.cli import one_blas_thread

    env: dict[str, str] = {}
    one_blas_thread(env)
    assert env == {"OPENBLAS_NUM_THREADS": "1"}
    env = {"OMP_NUM_THREADS": "4"}
    one_blas_thread(env)
    assert env == {"OMP_NUM_THREADS": "4"}
