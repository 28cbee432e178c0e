"""The `Triager` protocol: how the rest of the system asks for predictions.

Two implementations exist: the in-process ONNX predictor and the HTTP client of a
remote triage service. The lifecycle core depends only on this protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from triage.contract import Ticket, TriageResult


@runtime_checkable
class Triager(Protocol):
    """Scores tickets. Implementations must be safe to share across threads."""

    @property
    def model_version(self) -> str:
        """Version of the model that answers."""
        ...

    def triage(self, ticket: Ticket) -> TriageResult:
        """Score one ticket."""
        ...

    def triage_batch(self, tickets: list[Ticket]) -> list[TriageResult]:
        """Score several tickets, in order."""
        ...
