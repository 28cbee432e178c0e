"""What every importer shares: options, the import report, row validation, date parsing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triage.contract import KBArticle, Ticket
from triage.errors import RowError
from triage.ingest.tables import row_position


@dataclass
class ImportOptions:
    """Knobs of the generic importer; dataset importers ignore what they do not need."""

    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str = "utf-8"


@dataclass
class ImportReport:
    """What an import did: rows written, rows dropped (with why), KB articles written."""

    source: str
    format: str
    out: Path | None = None
    rows_written: int = 0
    kb_out: Path | None = None
    kb_written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def drop(self, reason: str) -> None:
        """Count one row left out on purpose, for a reason the dataset's README documents."""
        self.dropped[reason] += 1

    @property
    def rows_dropped(self) -> int:
        """How many rows were left out, over all reasons."""
        return sum(self.dropped.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "source": self.source,
            "format": self.format,
            "out": str(self.out) if self.out else None,
            "rows_written": self.rows_written,
            "rows_dropped": self.rows_dropped,
            "dropped": dict(self.dropped),
            "kb_out": str(self.kb_out) if self.kb_out else None,
            "kb_written": self.kb_written,
            "notes": list(self.notes),
        }


TicketSource = Callable[[Path, ImportOptions, ImportReport], Iterator[Ticket]]
ArticleSource = Callable[[Path, ImportOptions, ImportReport], Iterator[KBArticle]]


def _first_error(exc: ValidationError) -> tuple[str, str, Any]:
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(row)"
    return loc, err["msg"], err.get("input")


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
            file, row, fld, f"{msg} (value {value!r}) " + row_position(row, position)
        ) from None


def validate_article(data: dict[str, Any], file: str, row: int, position: str) -> KBArticle:
    """Validate one knowledge-base row against `KBArticle`, or raise `RowError`."""
    try:
        return KBArticle.model_validate(data)
    except ValidationError as exc:
        loc, msg, value = _first_error(exc)
        raise RowError(
            file, row, loc, f"{msg} (value {value!r}) " + row_position(row, position)
        ) from None


def parse_datetime(value: Any, date_format: str | None = None) -> datetime | None:
    """A datetime from a cell: datetimes pass, empty is None, text is ISO 8601 or `date_format`.

    Raises ValueError with a message that says which format was expected.
    """
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if not text:
        return None
    if date_format:
        try:
            return datetime.strptime(text, date_format)
        except ValueError:
            raise ValueError(f"cannot parse {text!r} with --date-format {date_format!r}") from None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(
            f"cannot parse {text!r} as an ISO 8601 date; pass --date-format, e.g. '%d/%m/%Y %H:%M'"
        ) from None


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
