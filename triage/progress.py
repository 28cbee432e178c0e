"""How long work reports where it is: one protocol for training, rescoring and benchmarks.

The work calls `stage` when a step starts and `advance` as it goes; what the user sees is
the caller's choice: the CLI draws rich progress bars (`triage_cli.progress`), scripts
print one line per stage (`Printed`), library calls and tests pass nothing (`Silent`).
"""

from __future__ import annotations

import sys
from typing import Protocol


class Progress(Protocol):
    """Receives the stages of a long job."""

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        """A new stage starts: `total` steps if known, `completed` of them already done
        (a resumed run)."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more steps of the current stage are done."""


class Silent:
    """Progress nobody watches."""

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        """Ignored."""

    def advance(self, steps: int = 1) -> None:
        """Ignored."""


class Printed(Silent):
    """One line per stage on stderr, for scripts and logs."""

    def stage(self, name: str, total: int | None = None, completed: int = 0) -> None:
        """Print the stage's name."""
        print(f"{name} ...", file=sys.stderr, flush=True)
