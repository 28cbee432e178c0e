"""Domain errors. Adapters (HTTP, CLI) map these to status codes and exit codes in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class TriageError(Exception):
    """Base class for every error ticket-triage raises on purpose."""


@dataclass
class RowError(TriageError):
    """One bad input row: names the file, the row, the field and the reason."""

    file: str | Path
    row: int | None
    field: str | None
    reason: str

    def __str__(self) -> str:
        where = [str(self.file)]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"field {self.field!r}")
        return f"{': '.join([', '.join(where), self.reason])}"


class InputFileError(TriageError):
    """A whole input file cannot be read (missing, unknown format, undecodable, missing columns)."""


class BundleError(TriageError):
    """A model bundle is missing, corrupt, tampered with or of an incompatible format."""


class EncoderError(TriageError):
    """The sentence encoder cannot be resolved, exported or loaded (unknown name, broken folder)."""


class ModelNotReadyError(TriageError):
    """No model is loaded yet, or the requested model has no such head."""


class RemoteTriagerError(TriageError):
    """A remote triage service answered with an error, or could not be reached.

    `status` is the HTTP status code, or None when no response came back at all.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RemoteUnavailableError(RemoteTriagerError):
    """The remote triage service could not be reached (after the retries) or timed out."""


class NotFound(TriageError):
    """The requested ticket, agent or other record does not exist (HTTP 404)."""


class Conflict(TriageError):
    """The request conflicts with the record's current state (HTTP 409)."""


class IllegalTransition(Conflict):
    """A ticket cannot move from its current status to the requested one (HTTP 409)."""
