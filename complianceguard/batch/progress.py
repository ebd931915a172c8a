"""The scan's progress bar (rich): items done of all, failures and errors so far, time left.

Shown only on a terminal. It is refreshed by the scan loop (`tick`), never by a thread of its own,
because the local pool forks workers from this process and forking with threads running is unsafe.
"""

from __future__ import annotations

import time
from typing import Any

REFRESH_S = 0.1


class Progress:
    def __init__(self, total: int, enabled: bool, done: int = 0, console: Any = None):
        self.total = total
        self.failed = 0
        self.errors = 0
        self._bar: Any = None
        self._last = 0.0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        console = console or Console(stderr=True)
        if not console.is_terminal:
            return
        self._bar = Bar(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("[red]{task.fields[failed]} fail[/] [bold red]{task.fields[errors]} error[/]"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=console, auto_refresh=False, transient=False)
        self._task = self._bar.add_task("scan", total=total, completed=done, failed=0, errors=0)
        self._bar.start()

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def advance(self, verdict: str) -> None:
        self.failed += verdict == "fail"
        self.errors += verdict == "error"
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed, errors=self.errors)
            self.tick()

    def print(self, line: str, error: bool = False) -> None:
        """A line above the bar (per-item results) without tearing it."""
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, style="red" if error else None)
        else:
            import click

            click.echo(line, err=error)

    def tick(self) -> None:
        now = time.monotonic()
        if self._bar is not None and now - self._last >= REFRESH_S:
            self._last = now
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()
            self._bar.stop()
            self._bar = None
