"""What every table reader yields: records with their place in the file, inside a `Table`.

Record numbers are 1-based *data* rows (the header is not counted); each record also
carries where it sits in the file (the line a CSV record ends on, the sheet row of an
XLSX record, the line or item of a JSON file) so an error message can point at it
either way. Rows whose every cell is empty are not records: readers skip them and count
them in `Table.blank_rows`, so an import can say how many it skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from triage.errors import InputFileError, RowError

# Called with a malformed row when the caller skips bad rows; None means raise it.
BadRowHandler = Callable[[RowError], None]


@dataclass(frozen=True)
class Record:
    """One data row: its 1-based data-row number, its position in the file, its values."""

    row: int
    position: str
    values: list[Any]


@dataclass
class Table:
    """An open tabular source: its display name, its header and a stream of records."""

    name: str
    columns: list[str]
    records: Iterator[Record]
    _closers: list[Any] = field(default_factory=list)
    # Rows of only empty cells the reader skipped (so far: the count grows while reading).
    blank_rows: int = 0

    def __iter__(self) -> Iterator[Record]:
        return self.records

    def index(self, column: str) -> int:
        """Position of `column` in the header; `InputFileError` listing the header if absent."""
        try:
            return self.columns.index(column)
        except ValueError:
            raise missing_column(self.name, column, self.columns) from None

    def close(self) -> None:
        """Release the underlying file handles."""
        for closer in reversed(self._closers):
            closer.close()
        self._closers.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def missing_column(name: str, column: str, present: list[str]) -> InputFileError:
    """The error for a required column the file does not have, listing what it has."""
    shown = ", ".join(repr(c) for c in present) or "(none)"
    return InputFileError(
        f"{name}: required column {column!r} is missing; the columns present are: {shown}"
    )


def clean_cell(value: Any) -> Any:
    """A cell as the contract reads it: surrounding blanks stripped; empty text and NaN
    (how Parquet and pandas exports write a missing number) are missing values (None)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (list, tuple, dict)) and not value:
        return None
    return value


def is_blank(values: list[Any]) -> bool:
    """Whether every cell of a row is empty (a spreadsheet's trailing `,,,,` rows)."""
    first = values[0] if values else None
    if type(first) is str and first.strip():  # the usual row, decided without a generator
        return False
    return all(clean_cell(v) is None for v in values)


def row_position(row: int, where: str) -> str:
    """Text that says how a row number counts, appended to row error reasons."""
    return f"(row {row} = data row after the header; {where})"
