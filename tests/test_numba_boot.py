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


REPLAY = """
import hashlib, sys
from pathlib import Path
import numpy as np
from picket.config import Config
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files
asm = assemble(Config(store_path=None), console=False, store=False)
events = []
class Keep:
    def emit(self, ev): events.extend((w, a.to_json()) for w, a in ev)
    def tracks(self, ctx): pass
    def close(self): pass
asm.pipeline.sinks.append(Keep())
replay_files(asm.pipeline, [(Path(p), "ais-nmea") for p in sys.argv[1:]], asm.rejects,
             batch_s=60.0)
asm.pipeline.finish()
print("numba" in sys.modules, len(asm.pipeline.tracks), len(events),
      hashlib.sha256(repr(events).encode()).hexdigest()[:16])
"""


def test_picket_compiled_0_keeps_a_replay_on_the_numpy_forms(shared_data) -> None:
    """`PICKET_COMPILED=0`: a replay large enough for the compiled loops (AIS framing,
    payloads, `Sustain`) loads no numba and raises the same alerts, field for field."""
    import os

    ais = shared_data / "ais"
    paths = [str(ais / f) for f in ("dma_danish_waters_20131112_5min.nmea.gz",
                                    "dma_212123000_drift_bornholm_20141002.nmea",
                                    "dma_219165000_sudden_speed_change.nmea")]  # fmt: skip
    outs = {}
    for flag in ("1", "0"):
        env = {**os.environ, "PICKET_COMPILED": flag}
        out = subprocess.run([sys.executable, "-c", REPLAY, *paths], capture_output=True,
                             text=True, timeout=600, env=env)  # fmt: skip
        assert out.returncode == 0, out.stderr
        outs[flag] = out.stdout.strip().splitlines()[-1].split()
    assert outs["1"][0] == "True" and outs["0"][0] == "False"
    assert outs["1"][1:] == outs["0"][1:]
    assert int(outs["0"][2]) > 0  # alerts to compare
