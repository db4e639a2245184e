"""Progress shown on a terminal for long work (replays, screens)."""

from __future__ import annotations


def progress_bar(total: int, label: str) -> tuple:
    """(advance(n_bytes), stop) for a transient byte progress bar."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TimeRemainingColumn(), transient=True)  # fmt: skip
    task = prog.add_task(label, total=total)
    prog.start()
    return (lambda n: prog.advance(task, n)), prog.stop
