"""Logging for picket's commands: one compact line per record, levels set in one place.

Why a module: picket's libraries only call `logging.getLogger(__name__)`; a command
calls `setup()` once, so a run prints what went wrong (a checkpoint that failed, a zone
file that could not be read) with its time and source, at the level the operator chose:

    PICKET_LOG=info picket run -c picket.toml
    PICKET_LOG=warning,picket.store=debug picket serve ...

A level is a name (debug, info, warning, error, critical) or a number; `name=level`
pairs set one logger's level. A bad value never stops a command: it is said once on
stderr and the default kept.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

ENV = "PICKET_LOG"
DEFAULT = logging.WARNING
FORMAT = "%(asctime)s %(levelname).1s %(name)s: %(message)s"
_MARK = "_picket_handler"  # set on the handler setup() installs, so a second call replaces it
_NAMED: set[str] = set()  # loggers given their own level by the last setup()


class _Formatter(logging.Formatter):
    """UTC times to the millisecond with a Z, and logger names without the `picket.`."""

    converter = time.gmtime

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        t = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        return f"{t}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        if name.startswith("picket."):
            record.name = name[len("picket."):]
        try:
            return super().format(record)
        finally:
            record.name = name


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at each record (as `logging.lastResort` does), so a
    command run in-process under a test's captured, later closed, stderr leaves no stale
    stream behind."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def parse_level(text: str | int) -> int:
    """A level name or number as a number; ValueError if it is neither."""
    if isinstance(text, int):
        return text
    t = text.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    lvl = logging.getLevelName(t.upper())
    if not isinstance(lvl, int):
        raise ValueError(f"{text!r} is not a log level (debug, info, warning, error, critical)")
    return lvl


def parse_spec(spec: str) -> tuple[int | None, dict[str, int]]:
    """`warning,picket.store=debug` -> (the overall level or None, per-logger levels)."""
    overall, per = None, {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, eq, lvl = part.partition("=")
        if eq:
            per[name.strip()] = parse_level(lvl)
        else:
            overall = parse_level(part)
    return overall, per


def setup(level: str | int | None = None, stream: TextIO | None = None) -> int:
    """Send log records to `stream` (stderr) as compact lines; returns the overall level.

    `level` (a name, number or spec as in the module docstring) wins over `PICKET_LOG`,
    which wins over WARNING. Calling it again replaces the handler it installed."""
    overall, per = DEFAULT, {}
    for source, spec in (("PICKET_LOG", os.environ.get(ENV)), ("the log level", level)):
        if spec is None or spec == "":
            continue
        try:
            o, p = parse_spec(spec) if isinstance(spec, str) else (parse_level(spec), {})
        except ValueError as e:
            print(f"picket: {source}: {e}; keeping {logging.getLevelName(overall)}",
                  file=sys.stderr)  # fmt: skip
            continue
        overall = o if o is not None else overall
        per.update(p)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(_Formatter(FORMAT))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(overall)  # other libraries' loggers inherit it
    logging.getLogger("picket").setLevel(overall)
    for name in _NAMED - set(per):
        logging.getLogger(name).setLevel(logging.NOTSET)
    for name, lvl in per.items():  # a record a named logger lets through reaches the handler
        logging.getLogger(name).setLevel(lvl)
    _NAMED.clear()
    _NAMED.update(per)
    return overall
