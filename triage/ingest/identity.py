"""Ticket ids must be unique: a repeated id fails naming both rows, or `--dedupe` keeps one.

`--dedupe first` keeps the first row with an id and drops the later ones; `--dedupe last`
keeps the last (Zendesk's incremental export repeats a ticket each time it changed, the
last copy being the newest), which needs a first pass over the ids. Dropped copies are
counted in the report. Without `--dedupe`, a repeat is a row error: the import stops, or
with `--on-error skip` the later row goes to the rejects file.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage.errors import RowError
from triage.ingest.report import ImportReport
from triage.ingest.rows import Record, row_position


class IdGuard:
    """Remembers each id's row and decides what a repeat means."""

    def __init__(
        self, dedupe: str | None, report: ImportReport, table: str, column: str | None
    ) -> None:
        self.dedupe, self.report, self.table = dedupe, report, table
        self.field = f"{column} -> id" if column and column != "id" else "id"
        self.seen: dict[str, int] = {}
        self.last: dict[str, int] | None = None
        report.dedupe = dedupe

    def prepare(self, ids: Iterable[tuple[str, int]]) -> None:
        """For `--dedupe last`: the last row of every id (from a first pass)."""
        self.last = {}
        for ticket_id, row in ids:
            self.last[ticket_id] = row

    def keep(self, ticket_id: str, record: Record) -> bool:
        """Whether to write this row's ticket; RowError for a repeat without `--dedupe`."""
        if self.last is not None:
            if self.last.get(ticket_id, record.row) != record.row:
                self.report.duplicates += 1
                return False
            return True
        first = self.seen.get(ticket_id)
        if first is None:
            self.seen[ticket_id] = record.row
            return True
        if self.dedupe == "first":
            self.report.duplicates += 1
            return False
        raise RowError(
            self.table,
            record.row,
            self.field,
            f"duplicate id {ticket_id!r}: rows {first} and {record.row} have it; pass "
            "--dedupe first or --dedupe last to keep one "
            + row_position(record.row, record.position),
        )
