"""Building the pipeline with every default detector loads no numba: LLVM alone is about
60 MB of RSS, the whole margin of `bench ais`'s peak RSS cap (issue 18: <= 224 MB; 192-196 MB
without numba, 253 MB with it). Compiled kernels load when a detector first needs them."""

import subprocess
import sys


def test_building_the_pipeline_loads_no_numba() -> None:
    code = ("import sys; from picket.config import Config; "
            "from picket.pipeline.assemble import assemble; "
            "assemble(Config(store_path=None), console=False, store=False); "
            "print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('numba', 'llvmlite')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "[]"
