"""numba's first load without SciPy's linear algebra.

numba's first compile or cache load imports its whole library of implementations, and one
of them (`numba.np.arraymath`) imports `scipy.linalg` only to learn whether BLAS exists
for `np.dot` on 1-d arrays inside `np.correlate`/`np.convolve`. That import is a third of
the start-up of a process whose compiled loops use no BLAS (`bench opensky`: 0.13 s of
0.5 s). `ready()` loads numba's library with `scipy.linalg` unimportable in this thread for
that moment only: those two functions then use numba's own inner product, and `np.dot`
and `np.linalg` still import SciPy when a kernel uses them (numba checks again there).
Where SciPy's linalg is already imported, nothing is skipped. Call `ready()` before the
first call of a kernel; it is cheap after the first time.
"""

from __future__ import annotations

import _thread
import importlib
import logging
import os
import sys
from importlib.machinery import ModuleSpec
from typing import Any

log = logging.getLogger(__name__)
_done = False
OFF = ("0", "false", "no", "off")


def wanted() -> bool:
    """Whether the compiled loops that have a NumPy twin may load: not where the environment
    sets `PICKET_COMPILED=0`. numba and LLVM cost about 110 MB of RSS (85 MB of it LLVM's
    library pages) and about a second once; a small machine beside a receiver may prefer
    the NumPy forms, which give the same numbers, slower. air.loitering's loops have no
    twin and load regardless."""
    return os.environ.get("PICKET_COMPILED", "1").strip().lower() not in OFF


def twin(module: str, broken: list[str]) -> Any:
    """The module of compiled loops `module`, or None where its NumPy twin must serve:
    `PICKET_COMPILED=0`, no numba (noted in `broken`, so the import is not tried at every
    batch), or the loops failed once (the caller appends why to `broken`)."""
    if broken or not wanted():
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        broken.append(f"{module} cannot be imported (numba not installed?)")
        return None


class _NoLinalg:
    """An import finder refusing `scipy.linalg` to one thread."""

    def __init__(self) -> None:
        self.thread = _thread.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if name == "scipy.linalg" and _thread.get_ident() == self.thread:
            raise ModuleNotFoundError("scipy.linalg is not loaded for numba's BLAS check")
        return None


def ready() -> None:
    """Load numba's implementations once, skipping SciPy's linalg when it is not loaded."""
    global _done
    if _done:
        return
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.core.registry import cpu_target
    except ImportError:  # a numba without these names loads itself at its first call
        log.debug("numba's internals moved: its first call loads SciPy's linalg")
        _done = True
        return
    with global_compiler_lock:  # the lock a compile or a cache load takes
        if _done:
            return
        skip = "scipy.linalg" not in sys.modules and "numba.np.arraymath" not in sys.modules
        finder = _NoLinalg()
        if skip:
            sys.meta_path.insert(0, finder)
        try:
            cpu_target.target_context.refresh()
        except Exception:  # a numba that cannot load says so again at its first call
            log.exception("numba's implementations did not load")
        finally:
            if skip:
                sys.meta_path.remove(finder)
        _done = True
