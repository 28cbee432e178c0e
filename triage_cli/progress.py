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


class LineStages:
    """One line per stage on stderr with the time since the start: what a log or a pipe
    sees, where a live bar would only be drawn once at the end (`triage train | tee`)."""

    def __init__(self, stream: Any = None) -> None:
        import sys
        import time

        self._stream = stream or sys.stderr
        self._clock = time.perf_counter
        self._start = self._clock()
        self._name, self._total, self._done = "", None, 0

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        """Print the stage's name, the elapsed seconds and its size when known."""
        size = f" ({total} steps)" if total else ""
        self._name, self._total, self._done = name, total, completed
        elapsed = self._clock() - self._start
        print(f"[{elapsed:7.1f} s] {name}{size}", file=self._stream, flush=True)

    def advance(self, steps: int = 1) -> None:
        """A line per step of a stage of few steps (the heads), none for long ones."""
        self._done += steps
        if self._total and self._total <= 20:
            elapsed = self._clock() - self._start
            print(
                f"[{elapsed:7.1f} s] {self._name} {self._done}/{self._total}",
                file=self._stream,
                flush=True,
            )

    def dataset(self, name: str, index: int, total: int) -> None:
        """A benchmark's dataset `index` of `total` starts."""
        self.stage(f"dataset {index}/{total}: {name}")

    def finish(self) -> None:
        """Print the total."""
        self.stage("done")
