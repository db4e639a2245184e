"""`pipeline.warm.warm_up`: a live service or a worker loads at start what its first
batches would otherwise load (the airports layer, the compiled loops, the gazetteer's
tree), so the first aircraft or the first named alert does not hold a batch back."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from picket.config import Config
from picket.pipeline.assemble import assemble
from picket.pipeline.warm import warm_up
asm = assemble(Config(store_path=None), store=False, console=False)
before = {"scipy.spatial": "scipy.spatial" in sys.modules}
if sys.argv[1] == "warm":
    warm_up(asm.pipeline)
from picket.geo import gazetteer
g = gazetteer.load() if gazetteer.load.cache_info().currsize else None
print(json.dumps({**before, "after_scipy": "scipy.spatial" in sys.modules,
                  "tree": g is not None and "tree" in vars(g),
                  "airports": not callable(asm.pipeline.world._airports)}))
"""


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_warm_up_loads_what_the_first_batches_would():
    cold, warm = _probe("cold"), _probe("warm")
    assert not cold["scipy.spatial"] and not warm["scipy.spatial"]  # not at assembly
    assert not cold["tree"] and not cold["airports"]  # lazy until used
    assert warm["tree"] and warm["airports"] and warm["after_scipy"]


def test_warm_up_builds_the_protected_lines_grid(shared_data):
    """Every position of every batch asks the corridor: its grid is built at start."""
    from picket.config import Config
    from picket.pipeline.assemble import assemble
    from picket.pipeline.warm import warm_up

    cables = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    asm = assemble(Config(store_path=None), store=False, console=False, line_files=[cables])
    lines = asm.pipeline.world.lines
    assert lines is not None and len(lines) and lines._near is None
    warm_up(asm.pipeline)
    assert lines._near is not None and lines.grid() is lines._near
