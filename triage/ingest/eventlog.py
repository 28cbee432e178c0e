"""Event logs: one row per event (case id, timestamp, status, support level, ...) folded
into one ticket per case.

`--format eventlog --case COL --time COL [--status COL] [--level COL]
[--escalated-when 'level in L2,L3'] [--resolved-when 'status in Resolved,Closed']`

`fold_events` groups the events of each case whatever the file's order (a first pass
finds each case's last row, so a log grouped by case holds one case in memory at a time,
and a log sorted by time holds the cases still open) and orders them by time (file order
among equal times). The UCI importer folds its log with it.

A ticket is: `id` the case, `created_at` the first event's time; the fields known at open
(text, channel, requester, extras: every mapped non-label column) from the first event;
label columns (category, priority, team, ...) the last non-empty value of the history,
their opening value kept as `extra.open_FIELD`; and the labels derived from the history
(`triage.ingest.history`), each rule printed in the import report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.errors import InputFileError, RowError
from triage.ingest.base import EventLogOptions, ImportOptions, ImportReport, validate_ticket
from triage.ingest.dates import DateReader
from triage.ingest.folding import Folding
from triage.ingest.generic import RowBuilder, record_plan
from triage.ingest.mapping import plan_columns
from triage.ingest.rows import BadRowHandler, Record, Table, clean_cell, row_position
from triage.ingest.tables import open_table

Events = list[tuple[datetime, Record]]


def fold_events(
    open_source: Callable[[BadRowHandler | None], Table],
    case_of: Callable[[Table, Record], str],
    time_of: Callable[[Table, Record], datetime],
    report: ImportReport,
) -> Iterator[tuple[str, Events]]:
    """(case, its events ordered by time) for every case, each as soon as its last event
    is read. `case_of`/`time_of` raise `RowError` for a row without a usable case or time;
    such a row is rejected (`report.reject`)."""
    last_row: dict[str, int] = {}
    with open_source(lambda err: None) as table:
        for rec in table:
            try:
                last_row[case_of(table, rec)] = rec.row
            except RowError:
                continue
    open_cases: dict[str, Events] = {}
    with open_source(report.reject) as table:
        for rec in table:
            try:
                case = case_of(table, rec)
                at = time_of(table, rec)
            except RowError as err:
                report.reject(err)
                known = _case_or_none(case_of, table, rec)
                if known is None or last_row.get(known) != rec.row or known not in open_cases:
                    continue
                case = known
            else:
                open_cases.setdefault(case, []).append((at, rec))
                if last_row[case] != rec.row:
                    continue
            events = open_cases.pop(case)
            events.sort(key=lambda e: (e[0], e[1].row))
            yield case, events
        report.blank_rows += table.blank_rows


def _case_or_none(case_of: Callable[[Table, Record], str], table: Table, rec: Record) -> str | None:
    try:
        return case_of(table, rec)
    except RowError:
        return None


def _cell_reader(column: str, option: str) -> Callable[[Table, Record], Any]:
    def read(table: Table, rec: Record) -> Any:
        value = clean_cell(rec.values[table.index(column)])
        if value is None:
            raise RowError(
                table.name,
                rec.row,
                column,
                f"empty {option} " + row_position(rec.row, rec.position),
            )
        return value

    return read


def _time_reader(column: str, dates: DateReader) -> Callable[[Table, Record], datetime]:
    cell = _cell_reader(column, "--time")

    def read(table: Table, rec: Record) -> datetime:
        try:
            at = dates(cell(table, rec))
        except ValueError as exc:
            raise RowError(
                table.name, rec.row, column, f"{exc} " + row_position(rec.row, rec.position)
            ) from None
        assert at is not None
        return at

    return read


def _spec(options: ImportOptions) -> EventLogOptions:
    if options.eventlog is None:
        raise InputFileError(
            "--format eventlog needs the case and time columns: --case COLUMN --time COLUMN"
        )
    return options.eventlog


def iter_eventlog(
    path: Path, options: ImportOptions, report: ImportReport, fmt: str | None = None
) -> Iterator[Ticket]:
    """One ticket per case of an event log (see the module docstring)."""
    spec = _spec(options)

    def open_source(on_bad_row: BadRowHandler | None) -> Table:
        return open_table(path, fmt, options.encoding, flatten=True, on_bad_row=on_bad_row)

    with open_source(lambda err: None) as table:
        header, name = list(table.columns), table.name
    roles = [c for c in (spec.case, spec.time, spec.status, spec.level) if c]
    for column in roles:
        if column not in header:
            raise InputFileError(
                f"{name}: no column {column!r} (from --case/--time/--status/--level); "
                "the columns present are: " + ", ".join(repr(c) for c in header)
            )
    plan = plan_columns(
        name, header, None, dict(options.mapping), require_text=False, reserved=tuple(roles)
    )
    record_plan(report, plan, None, header)
    unmapped = {t for t, c in options.mapping.items() if not c}
    folding = Folding(spec, plan, header, report, unmapped)
    builder = RowBuilder(plan, None, options, name, header, "")
    dates = DateReader(options.date_format)
    events = fold_events(
        open_source, _cell_reader(spec.case, "--case"), _time_reader(spec.time, dates), report
    )
    for case, history in events:
        try:
            data = folding.ticket_data(case, history, builder)
            yield validate_ticket(
                data,
                name,
                history[0][1].row,
                history[0][1].position,
                plan.columns(),
                require_text=False,
            )
        except RowError as err:
            report.reject(err)
    folding.finish(dates)
    builder.finish(report)
