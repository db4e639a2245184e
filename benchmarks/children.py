"""Child processes timed by their own CPU, run as an installed picket runs.

An installed picket has its modules' bytecode cached; where the environment sets
PYTHONDONTWRITEBYTECODE, every child would compile them from source again (tens of ms
that no user pays). `installed_env` gives the children a bytecode cache of their own
under the temporary directory (the one `bench_opensky.bytecode` fills in-process).
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
from pathlib import Path

PYC = Path(tempfile.gettempdir()) / "picket_pyc"


def installed_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYC)
    return {**env, **extra}


def child_cpu(cmd: list[str], env: dict[str, str] | None = None,
              check: bool = False) -> tuple[float, int]:  # fmt: skip
    """(CPU seconds, user + system, of the child from getrusage of the children; exit
    code); a failing child's stderr tail is printed, or raised with `check`."""
    import sys

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       check=False)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        if check:
            raise subprocess.CalledProcessError(p.returncode, cmd, stderr=p.stderr)
        sys.stderr.write(p.stderr.decode(errors="replace")[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, p.returncode
