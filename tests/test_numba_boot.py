"""numba's first load skips SciPy's linalg (picket/numba_boot.py), and kernels that need
BLAS still get it: each case in a fresh interpreter, as a service starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("numba")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_kernels_load_without_scipy_linalg() -> None:
    got = _run(
        "import sys\n"
        "from picket.detect.air_loiter_kernels import warm_up\n"
        "from picket.sources.opensky_kernels import warm_up as reader\n"
        "warm_up(); reader()\n"
        "print('scipy.linalg' in sys.modules)\n"
    )
    assert got == "False"


def test_blas_still_there_for_kernels_that_use_it() -> None:
    """np.dot in a kernel compiled after the boot imports SciPy then and gives NumPy's
    answer; np.correlate (numba's own inner product now) gives NumPy's too."""
    got = _run(
        "import sys, numpy as np\n"
        "from picket.numba_boot import ready\n"
        "ready()\n"
        "from numba import njit\n"
        "f = njit(lambda a, b: np.dot(a, b))\n"
        "g = njit(lambda a, b: np.correlate(a, b))\n"
        "a = np.arange(1.0, 6.0); b = np.arange(2.0, 7.0)\n"
        "print(f(a, b) == np.dot(a, b), 'scipy.linalg' in sys.modules,\n"
        "      np.allclose(g(a, b[:3]), np.correlate(a, b[:3])))\n"
    )
    assert got == "True True True"


def test_scipy_linalg_loaded_first_is_used() -> None:
    got = _run(
        "import sys, scipy.linalg\n"
        "from picket.numba_boot import ready\n"
        "ready()\n"
        "import numba.np.arraymath as m\n"
        "print(m._HAVE_BLAS, sys.meta_path[0].__class__.__name__ != '_NoLinalg')\n"
    )
    assert got == "True True"
