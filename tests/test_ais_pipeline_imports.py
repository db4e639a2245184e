"""Building the pipeline with every default detector loads no numba: numba with LLVM is
about 110 MB of RSS (an AIS replay peaks at 156 MB without it, 271 MB with its compiled
loops; issue 18's cap is 224 MB). Compiled loops load where a batch first needs them, and
a live feed's small batches keep their NumPy twins (docs/performance.md)."""

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
