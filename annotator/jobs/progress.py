"""A rich progress bar for the runner: rate, ETA and failures."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichReporter:
    def __init__(self, console: Console | None = None, description: str = "judging"):
        self.console = console or Console(stderr=True)
        self.description = description
        self.failed = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TextColumn("failed {task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            disable=not self.console.is_terminal,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=total, rate=0.0, failed=0)

    def advance(self, ok: bool) -> None:
        if self._progress is None or self._task is None:
            return
        self.failed += 0 if ok else 1
        self._progress.advance(self._task)
        task = self._progress.tasks[0]
        self._progress.update(self._task, rate=task.speed or 0.0, failed=self.failed)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
