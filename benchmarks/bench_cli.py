"""How long the command line takes to start, and what a small `space screen` costs cold and warm.

Each command runs in a child process; its CPU time (user + system) is read with
`getrusage(RUSAGE_CHILDREN)` around the run, so the number is the child's own
work (imports included), whatever else the machine is doing.

- `picket --help` and `picket formats`: target under 0.3 s CPU each (the parser
  imports only the command being run; the formats listing imports the decoders).
- `picket space screen` on 200 objects of the real 3LE catalogue for one hour:
  run twice with a fresh `NUMBA_CACHE_DIR`. The first run compiles the numba
  kernels (sieve, Hermite midpoints) and writes them to that directory; the
  second loads them and must not compile again. Without `NUMBA_CACHE_DIR` the
  kernels are cached in `__pycache__` beside the modules, or, where that is not
  writable, in numba's per-user cache; set `NUMBA_CACHE_DIR` for a read-only
  installation run by a user without a writable home.

The children run as an installed picket does: with its modules' bytecode cached.
Where the environment sets PYTHONDONTWRITEBYTECODE, every run would compile picket's
modules from source again (~0.08 s of `formats`), which no pip-installed copy does; so
the children get a bytecode cache of their own (`children.installed_env`) and one
untimed run fills it.

Run: ``picket bench cli [--repeat 3]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from children import child_cpu, installed_env
from shared_data import SHARED

TARGET_S = 0.3
CATALOG = SHARED / "space" / "catalog_3le_20220715.txt"
OBJECTS = 200


def picket_cmd() -> list[str]:
    """The installed entry point beside this interpreter, else `python -m picket.cli.main`."""
    exe = Path(sys.executable).with_name("picket")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "picket.cli.main"]


def cache_files(d: Path) -> list[tuple[str, int]]:
    """numba's cache files under `d` with their modification times (a recompile rewrites)."""
    return sorted((str(p), p.stat().st_mtime_ns) for p in d.rglob("*.nb[ic]"))


def small_catalog(out: Path, n: int = OBJECTS) -> Path:
    """The first `n` objects (three lines each) of the real 3LE catalogue."""
    lines = CATALOG.read_text().splitlines()
    out.write_text("\n".join(lines[: 3 * n]) + "\n")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench cli", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each start-up command")
    a = ap.parse_args(argv)
    pk = picket_cmd()
    worst = 0.0
    env = installed_env()
    for args in (["--help"], ["formats"]):
        child_cpu(pk + args, env)  # fills the bytecode cache, untimed
        runs = [child_cpu(pk + args, env) for _ in range(max(1, a.repeat))]
        cpu = min(c for c, _ in runs)
        worst = max(worst, cpu)
        print(f"picket {' '.join(args)}: {cpu:.3f} s CPU (best of {len(runs)}; "
              f"target < {TARGET_S} s)")  # fmt: skip
    print(f"start-up: {'PASS' if worst < TARGET_S else 'FAIL'}", flush=True)
    if not CATALOG.exists():
        print(f"space screen: real catalogue not found at {CATALOG}", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        cat = small_catalog(Path(tmp) / "small.3le")
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        cmd = [*pk, "space", "screen", str(cat), "--days", str(1 / 24), "--workers", "1",
               "--out", str(Path(tmp) / "conj.csv")]  # fmt: skip
        cold, rc1 = child_cpu(cmd, env)
        files = cache_files(Path(tmp) / "numba")
        warm, rc2 = child_cpu(cmd, env)
        again = cache_files(Path(tmp) / "numba")
        print(f"space screen, {OBJECTS} objects, 1 h: first run {cold:.2f} s CPU (compiles, "
              f"{len(files)} cache files), second {warm:.2f} s CPU (loads them)")  # fmt: skip
        ok = rc1 == 0 and rc2 == 0 and len(files) > 0 and again == files  # none rewritten
        print(f"numba cache: {'PASS' if ok else 'FAIL'} (no recompilation on the second run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
