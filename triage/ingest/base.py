"""What every importer shares: options, row validation, cell text."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from triage.contract import KBArticle, Ticket
from triage.errors import RowError
from triage.ingest.report import ImportReport
from triage.ingest.rows import row_position

__all__ = [
    "ArticleSource",
    "EventLogOptions",
    "ImportOptions",
    "ImportReport",
    "TicketSource",
    "declare",
    "optional_text",
    "text_of",
    "validate_article",
    "validate_ticket",
]


@dataclass
class EventLogOptions:
    """How an event log folds into tickets (`--format eventlog`, see `triage.ingest.eventlog`)."""

    case: str
    time: str
    status: str | None = None
    level: str | None = None
    escalated_when: str | None = None
    resolved_when: str | None = None


@dataclass
class ImportOptions:
    """Knobs of an import; dataset importers ignore what they do not need.

    `mapping`: FIELD -> COLUMN from `--map` (an empty COLUMN unmaps FIELD). `dedupe`:
    None fails on a repeated id; "first"/"last" keeps that occurrence. `on_error`:
    "fail" stops at the first bad row; "skip" writes it to the rejects file and goes on.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str = "utf-8"
    dedupe: Literal["first", "last"] | None = None
    on_error: Literal["fail", "skip"] = "fail"
    eventlog: EventLogOptions | None = None


TicketSource = Callable[[Path, ImportOptions, ImportReport], Iterator[Ticket]]
ArticleSource = Callable[[Path, ImportOptions, ImportReport], Iterator[KBArticle]]


def _first_error(exc: ValidationError) -> tuple[str, str, str]:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(row)"
    return loc, err["msg"], _shown(err.get("input"))


def _shown(value: Any, limit: int = 60) -> str:
    """A rejected value as an error message quotes it: cut short, since messages end up
    in logs and a cell may hold ticket text."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-1]} ({len(text)} chars)"


def validate_ticket(
    data: dict[str, Any],
    file: str,
    row: int,
    position: str,
    columns: Mapping[str, str] | None = None,
    *,
    require_text: bool = True,
) -> Ticket:
    """Validate one row against the `Ticket` contract, or raise `RowError` naming the column.

    `columns` maps contract fields to the source column they came from, so the error
    names what the user sees in their file. Subject and body both empty is an error
    unless `require_text` is False (structured event logs only).
    """
    if (
        require_text
        and not str(data.get("subject") or "").strip()
        and not str(data.get("body") or "").strip()
    ):
        cols = columns or {}
        names = " / ".join(repr(cols.get(f, f)) for f in ("subject", "body"))
        raise RowError(
            file,
            row,
            "subject/body",
            f"empty text: {names} are both empty " + row_position(row, position),
        )
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        loc, msg, value = _first_error(exc)
        head = loc.split(".")[0]
        column = (columns or {}).get(loc) or (columns or {}).get(head)
        fld = f"{column} -> {loc}" if column and column != loc else loc
        raise RowError(
            file, row, fld, f"{msg} (value {value}) " + row_position(row, position)
        ) from None


def validate_article(data: dict[str, Any], file: str, row: int, position: str) -> KBArticle:
    """Validate one knowledge-base row against `KBArticle`, or raise `RowError`."""
    try:
        return KBArticle.model_validate(data)
    except ValidationError as exc:
        loc, msg, value = _first_error(exc)
        raise RowError(
            file, row, loc, f"{msg} (value {value}) " + row_position(row, position)
        ) from None


def declare(report: ImportReport, columns: Mapping[str, str], how: str = "dataset") -> None:
    """Put a dataset importer's fixed column -> field mapping into the report."""
    for fld, column in columns.items():
        report.use(fld, [column], how)


def text_of(value: Any) -> str:
    """A cell as text: None is empty, numbers keep their usual spelling."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def optional_text(value: Any) -> str | None:
    """A cell as text, with empty cells as None."""
    text = text_of(value).strip()
    return text or None
