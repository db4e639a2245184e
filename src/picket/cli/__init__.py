"""picket's command line.

Commands run NumPy with one BLAS thread unless the caller chose a number
(`OPENBLAS_NUM_THREADS`, `GOTO_NUM_THREADS`, `OMP_NUM_THREADS`). picket's maths are
vectorised over many small matrices, which OpenBLAS never splits across threads, while
its idle threads spin for about 0.1 s of CPU once NumPy has loaded them: about 40 ms
more CPU for a `picket track` run here (docs/performance.md), and on a machine whose
cores all run workers that time is taken from the other workers. It has to be set before NumPy is
first imported, so it is done when this package is.
"""

import os
from collections.abc import MutableMapping

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread(environ: MutableMapping[str, str] = os.environ) -> None:
    """Ask OpenBLAS for one thread where no thread count is set."""
    if not any(k in environ for k in BLAS_THREAD_VARIABLES):
        environ["OPENBLAS_NUM_THREADS"] = "1"


one_blas_thread()
