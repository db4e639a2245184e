"""What a long-running pipeline loads once, at start rather than inside its first batches.

The airports layer, air.loitering's compiled loops, the protected lines' grid and the
gazetteer's search tree (with SciPy's import) are loaded lazily, on the first aircraft,
position or named alert: a replay pays them where it first needs them, but a live service
or a cluster worker would hold its first batches back by a second or two. `warm_up` loads
what the pipeline's detectors will use, and returns its CPU seconds.
"""

from __future__ import annotations

import time
from typing import Any


def warm_up(pipeline: Any) -> float:
    c0 = time.process_time()
    kinds = {getattr(d, "kind", "") for d in pipeline.detectors}
    if kinds:  # alerts name the place they are at
        from picket.detect.places import warm_up as places_warm_up

        places_warm_up()
    if any(k.startswith("air.") for k in kinds):
        from picket.geo.airports import airports_of

        airports_of(pipeline.world)
    lines = pipeline.world.lines
    if lines is not None and len(lines) and len(lines.seg_line):  # every position asks it
        lines.grid()
    if "air.loitering" in kinds:
        from picket.detect.air_loiter_kernels import warm_up as loiter_warm_up

        loiter_warm_up()
    return time.process_time() - c0
