"""`triage.progress.Progress` drawn as rich progress bars: one bar per stage."""

from __future__ import annotations

from typing import Any


class RichStages:
    """Draws each stage as its own rich bar; a finished stage's bar shows it complete.

    `progress` is an open `rich.progress.Progress` (its columns are the command's choice).
    """

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task: Any = None

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        """Close the current bar as complete and open one for `name`."""
        if self._task is not None:
            task = self._progress.tasks[self._task]
            done = task.total or task.completed or 1
            self._progress.update(self._task, total=done, completed=done)
        self._task = self._progress.add_task(name, total=total, completed=completed)

    def advance(self, steps: int = 1) -> None:
        """Move the current bar on by `steps`."""
        if self._task is not None:
            self._progress.advance(self._task, steps)

    def finish(self) -> None:
        """Close the last bar and show a completed `done` bar."""
        self.stage("done", total=1, completed=1)
