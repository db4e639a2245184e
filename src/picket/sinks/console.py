"""Alerts printed as they fire, for the demo and for `picket run` in a terminal."""

from __future__ import annotations

from rich.console import Console

from picket.fusion.context import BatchContext
from picket.model.alerts import Event, iso

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


class ConsoleSink:
    def __init__(self, console: Console | None = None, show_updates: bool = False):
        self.console = console or Console(stderr=False, highlight=False)
        self.show_updates = show_updates
        self._severity: dict[str, str] = {}

    def emit(self, events: list[Event]) -> None:
        for what, a in events:
            escalated = what == "update" and self._severity.get(a.id) != a.severity
            self._severity[a.id] = a.severity
            if what == "open" or escalated or (what == "update" and self.show_updates):
                tag = "OPEN " if what == "open" else "UP   "
                self.console.print(
                    f"[{STYLE[a.severity]}]{tag}{a.severity:<8}[/] {iso(a.time)} "
                    f"[bold]{a.kind}[/] {a.subject}: {a.summary}"
                )
            elif what == "close":
                self._severity.pop(a.id, None)

    def tracks(self, ctx: BatchContext) -> None:
        return None

    def close(self) -> None:
        return None
