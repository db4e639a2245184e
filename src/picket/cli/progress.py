"""Progress shown on a terminal for long work (replays, screens, passes).

Bars go to stderr, and only when stderr is a terminal: pipes, logs and tests' captured
output never see them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def _noop(*_: object) -> None:
    return None


def progress_bar(total: int, label: str, unit: str = "bytes") -> tuple[Callable, Callable]:
    """(advance(n), stop) for a transient progress bar on stderr.

    `unit="bytes"` shows sizes (replay reads files); anything else shows "done/total unit".
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    count = (DownloadColumn(),) if unit == "bytes" else (MofNCompleteColumn(), TextColumn(unit))
    prog = Progress("[progress.description]{task.description}", BarColumn(), *count,
                    TimeRemainingColumn(), transient=True,
                    console=Console(stderr=True))  # fmt: skip
    task = prog.add_task(label, total=total)
    prog.start()
    return (lambda n: prog.advance(task, n)), prog.stop


def terminal_progress(total: int, label: str, unit: str = "bytes",
                      enabled: bool = True) -> tuple[Callable | None, Callable]:  # fmt: skip
    """`progress_bar` when stderr is a terminal (and `enabled`), else (None, a no-op stop).

    Callers pass `advance` on as an optional callback: None means nobody is watching.
    """
    if not enabled or not sys.stderr.isatty():
        return None, _noop
    return progress_bar(total, label, unit)
