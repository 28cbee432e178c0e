"""Importer for `uci_incident_log`: a ServiceNow event log, one ticket per incident.

The log has one row per change of an incident (141,712 events, 24,918 incidents),
sorted by incident `number`; the importer streams it and folds each incident's
consecutive events into one `Ticket`. There is no free text, so subject and body are
empty (the contract allows that for structured logs only).

Leakage: a model that predicts at open time must not see what happened later. The
ticket therefore keeps what was known when the incident was opened apart from its
outcome:

* known at open (first event): `created_at` (opened_at), `channel` (contact_type),
  `requester` (caller_id) and the extra keys in `AT_OPEN_KEYS`: impact, urgency,
  location, u_symptom, cmdb_ci, opened_by, first_state and the opening values of the
  labels as `open_category`, `open_subcategory`, `open_priority`,
  `open_assignment_group`, `open_assigned_to`;
* outcomes (last event, or the maximum over events for counters): the labels
  `category`, `subcategory`, `priority`, `team` (assignment_group), `assignee`
  (assigned_to), `sla_breached` (= not made_sla), `resolved_at`, and the extra keys in
  `OUTCOME_KEYS`: reassignment_count, reopen_count, sys_mod_count, event_count,
  last_state, closed_code, closed_at, resolved_by, knowledge, u_priority_confirmation,
  problem_id, rfc, vendor, caused_by.

Features for an at-open model must come from `AT_OPEN_KEYS` only.

Quirks handled: `?` means missing; dates are `dd/mm/yyyy HH:MM`; the header spells
`incident_state` as `ident_state`; the second `category` column is the subcategory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.errors import RowError
from triage.ingest.archives import one_file
from triage.ingest.base import ImportOptions, ImportReport, validate_ticket
from triage.ingest.eventlog import fold_events
from triage.ingest.outcomes import UCI_CLOSING_COLUMNS, UCI_COUNTERS, UCI_OUTCOME_KEYS
from triage.ingest.rows import BadRowHandler, Record, Table, row_position
from triage.ingest.tables import open_csv

DATE_FORMAT = "%d/%m/%Y %H:%M"

AT_OPEN_KEYS: tuple[str, ...] = (
    "impact",
    "urgency",
    "location",
    "u_symptom",
    "cmdb_ci",
    "opened_by",
    "first_state",
    "open_category",
    "open_subcategory",
    "open_priority",
    "open_assignment_group",
    "open_assigned_to",
)
# Re-exported: training keeps these out of at-open features.
OUTCOME_KEYS: tuple[str, ...] = UCI_OUTCOME_KEYS
_COUNTERS = UCI_COUNTERS
_AT_OPEN_COLUMNS = ("impact", "urgency", "location", "u_symptom", "cmdb_ci", "opened_by")
_OUTCOME_COLUMNS = UCI_CLOSING_COLUMNS


class _Columns:
    def __init__(self, table: Table) -> None:
        self.pos = {
            name: table.index(name)
            for name in (
                "number",
                "ident_state",
                "made_sla",
                "caller_id",
                "opened_at",
                "contact_type",
                "priority",
                "assignment_group",
                "assigned_to",
                "resolved_at",
                "closed_at",
                "sys_updated_at",
                *_COUNTERS,
                *_AT_OPEN_COLUMNS,
                *_OUTCOME_COLUMNS,
            )
        }
        categories = [i for i, c in enumerate(table.columns) if c == "category"]
        if len(categories) != 2:
            raise RowError(
                table.name,
                None,
                "category",
                f"expected two 'category' columns (category, subcategory), found {len(categories)}",
            )
        self.pos["category"], self.pos["subcategory"] = categories


def _value(rec: Record, cols: _Columns, name: str) -> str | None:
    text = rec.values[cols.pos[name]].strip()
    return None if text in ("", "?") else text


def _parse_dmy(text: str) -> datetime:
    # strptime costs ~0.1 ms a call; three dates per incident made it the importer's
    # largest cost. The format is fixed, so split it by hand.
    day_month_year, _, clock = text.partition(" ")
    day, month, year = day_month_year.split("/")
    hour, minute = clock.split(":")
    if len(year) != 4:
        raise ValueError(text)
    return datetime(int(year), int(month), int(day), int(hour), int(minute))


def _date(rec: Record, cols: _Columns, name: str, file: str) -> datetime | None:
    text = _value(rec, cols, name)
    if text is None:
        return None
    try:
        return _parse_dmy(text)
    except ValueError:
        raise RowError(
            file,
            rec.row,
            name,
            f"{text!r} is not a dd/mm/yyyy HH:MM date " + row_position(rec.row, rec.position),
        ) from None


def _count(rec: Record, cols: _Columns, name: str, file: str) -> int:
    text = _value(rec, cols, name) or "0"
    try:
        return int(text)
    except ValueError:
        raise RowError(
            file,
            rec.row,
            name,
            f"{text!r} is not a whole number " + row_position(rec.row, rec.position),
        ) from None


def _bool(rec: Record, cols: _Columns, name: str, file: str) -> bool | None:
    text = _value(rec, cols, name)
    if text is None:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise RowError(
        file, rec.row, name, f"{text!r} is not true/false " + row_position(rec.row, rec.position)
    )


def _incident(events: list[Record], cols: _Columns, file: str) -> Ticket:
    first, last = events[0], events[-1]
    extra: dict[str, Any] = {}
    for name in _AT_OPEN_COLUMNS:
        extra[name] = _value(first, cols, name)
    extra["first_state"] = _value(first, cols, "ident_state")
    for name in ("category", "subcategory", "priority", "assignment_group", "assigned_to"):
        extra[f"open_{name}"] = _value(first, cols, name)
    for name in _COUNTERS:
        extra[name] = max(_count(e, cols, name, file) for e in events)
    extra["event_count"] = len(events)
    extra["last_state"] = _value(last, cols, "ident_state")
    for name in _OUTCOME_COLUMNS:
        extra[name] = _value(last, cols, name)
    for name in ("knowledge", "u_priority_confirmation"):
        extra[name] = _bool(last, cols, name, file)
    closed = _date(last, cols, "closed_at", file)
    extra["closed_at"] = closed.isoformat() if closed else None
    made_sla = _bool(last, cols, "made_sla", file)
    number = _value(first, cols, "number")
    data = {
        "id": f"INC{number}",
        "created_at": _date(first, cols, "opened_at", file),
        "channel": _value(first, cols, "contact_type"),
        "requester": _value(first, cols, "caller_id"),
        "category": _value(last, cols, "category"),
        "subcategory": _value(last, cols, "subcategory"),
        "priority": _value(last, cols, "priority"),
        "team": _value(last, cols, "assignment_group"),
        "assignee": _value(last, cols, "assigned_to"),
        "sla_breached": None if made_sla is None else not made_sla,
        "resolved_at": _date(last, cols, "resolved_at", file),
        "extra": {k: v for k, v in extra.items() if v is not None},
    }
    columns = {
        "created_at": "opened_at",
        "channel": "contact_type",
        "requester": "caller_id",
        "team": "assignment_group",
        "assignee": "assigned_to",
        "sla_breached": "made_sla",
    }
    return validate_ticket(data, file, first.row, first.position, columns, require_text=False)


def _number(cols: _Columns) -> Callable[[Table, Record], str]:
    def case(table: Table, rec: Record) -> str:
        number = _value(rec, cols, "number")
        if number is None:
            raise RowError(
                table.name,
                rec.row,
                "number",
                "empty incident number " + row_position(rec.row, rec.position),
            )
        return number

    return case


def _updated(cols: _Columns) -> Callable[[Table, Record], datetime]:
    def at(table: Table, rec: Record) -> datetime:
        return _date(rec, cols, "sys_updated_at", table.name) or datetime.min

    return at


def iter_uci_incidents(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """One ticket per incident `number`, folded from its events (see the module doc) by
    the event-log machinery (`triage.ingest.eventlog.fold_events`): events in
    `sys_updated_at` order, file order among equal times, wherever they are in the log."""
    path = one_file(source, "*.zip")
    with open_csv(path) as table:
        cols = _Columns(table)
        name = table.name
    _declare(report)

    def open_source(on_bad_row: BadRowHandler | None) -> Table:
        return open_csv(path, on_bad_row=on_bad_row)

    for _number_value, events in fold_events(open_source, _number(cols), _updated(cols), report):
        yield _incident([rec for _, rec in events], cols, name)


def _declare(report: ImportReport) -> None:
    """The dataset's fixed mapping, for the import report."""
    for fld, column, how in (
        ("id", "number", "dataset; one ticket per incident"),
        ("created_at", "opened_at", "dataset; first event"),
        ("channel", "contact_type", "dataset; first event"),
        ("requester", "caller_id", "dataset; first event"),
        ("category", "category", "dataset; last event"),
        ("subcategory", "category (2nd)", "dataset; last event"),
        ("priority", "priority", "dataset; last event"),
        ("team", "assignment_group", "dataset; last event"),
        ("assignee", "assigned_to", "dataset; last event"),
        ("sla_breached", "made_sla", "dataset; not made_sla at the last event"),
        ("resolved_at", "resolved_at", "dataset; last event"),
    ):
        how, _, note = how.partition("; ")
        report.use(fld, [column], how, note)
    report.derivations.append(
        "events folded per incident number in sys_updated_at order; at-open extras: "
        + ", ".join(AT_OPEN_KEYS)
        + "; outcome extras: "
        + ", ".join(UCI_OUTCOME_KEYS)
    )
