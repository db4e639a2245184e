"""Files written whole or not at all.

Readers (a server following the edits file, the next run loading a cache) see the old file
or the new one, never half of one, and two writers in one folder each rename a temporary
file of their own, so neither can take the other's away.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_atomic(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Call `write` on a new temporary file beside `path`, then rename it to `path`. An
    OSError is raised to the caller, with the temporary file removed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
