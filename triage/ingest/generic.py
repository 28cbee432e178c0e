"""The generic importer: any CSV / Parquet / JSONL / XLSX export plus a column mapping.

A mapping says which source column fills which contract field
(`--map subject=Title --map extra.region=Region`). Columns named exactly like a
contract field map to themselves. Presets carry the column names of common help-desk
exports (Zendesk, Jira, ServiceNow); an explicit `--map` overrides a preset, and
`--map FIELD=` (empty) drops a preset's mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.errors import InputFileError, RowError
from triage.ingest.base import (
    ImportOptions,
    ImportReport,
    optional_text,
    parse_datetime,
    text_of,
    validate_ticket,
)
from triage.ingest.tables import Table, clean_cell, missing_column, open_table, row_position

CONTRACT_FIELDS: tuple[str, ...] = tuple(f for f in Ticket.model_fields if f != "extra")
_DATE_FIELDS = {"created_at", "first_response_at", "resolved_at"}
_BOOL_FIELDS = {"escalated", "sla_breached"}
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


@dataclass(frozen=True)
class Preset:
    """Column names of one help-desk's export and how their values read."""

    name: str
    description: str
    mapping: dict[str, str]
    # The text columns: at least one of them must exist in the file.
    text_columns: tuple[str, ...]
    # Formats tried, in order, after ISO 8601 when no --date-format is given.
    date_formats: tuple[str, ...] = ()
    tag_separator: str | None = None
    channel_values: dict[str, str] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    # Zendesk Support "Export as CSV" (Reporting > Export) column names.
    "zendesk": Preset(
        name="zendesk",
        description="Zendesk Support CSV export",
        mapping={
            "id": "Id",
            "subject": "Subject",
            "body": "Description",
            "created_at": "Created at",
            "channel": "Via",
            "priority": "Priority",
            "team": "Group",
            "assignee": "Assignee",
            "tags": "Tags",
            "requester": "Requester",
            "category": "Type",
            "resolved_at": "Solved at",
            "extra.status": "Status",
            "extra.organization": "Organization",
            "extra.reopens": "Reopens",
        },
        text_columns=("Subject", "Description"),
        date_formats=("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%d %H:%M", "%Y-%m-%d"),
        tag_separator=" ",
        channel_values={
            "web form": "web",
            "web widget": "web",
            "help center": "web",
            "mail": "email",
            "email": "email",
            "chat": "chat",
            "messaging": "chat",
            "api": "api",
            "web service": "api",
            "phone call (incoming)": "phone",
            "phone call (outgoing)": "phone",
            "voicemail": "phone",
            "phone": "phone",
        },
    ),
    # Jira "Export > CSV (all fields)": multi-valued fields repeat their column (Labels, ...).
    "jira": Preset(
        name="jira",
        description="Jira / Jira Service Management CSV export",
        mapping={
            "id": "Issue key",
            "subject": "Summary",
            "body": "Description",
            "created_at": "Created",
            "priority": "Priority",
            "category": "Issue Type",
            "assignee": "Assignee",
            "team": "Component/s",
            "tags": "Labels",
            "resolved_at": "Resolved",
            "requester": "Reporter",
            "extra.status": "Status",
            "extra.resolution": "Resolution",
        },
        text_columns=("Summary", "Description"),
        date_formats=("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%Y-%m-%d %H:%M"),
    ),
    # ServiceNow list export of the incident table (field names, not labels).
    "servicenow": Preset(
        name="servicenow",
        description="ServiceNow incident list CSV export",
        mapping={
            "id": "number",
            "subject": "short_description",
            "body": "description",
            "created_at": "opened_at",
            "channel": "contact_type",
            "priority": "priority",
            "category": "category",
            "subcategory": "subcategory",
            "team": "assignment_group",
            "assignee": "assigned_to",
            "requester": "caller_id",
            "resolved_at": "resolved_at",
            "extra.impact": "impact",
            "extra.urgency": "urgency",
            "extra.state": "state",
        },
        text_columns=("short_description", "description"),
        date_formats=("%Y-%m-%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S"),
        channel_values={"self-service": "web", "walk-in": "phone", "virtual agent": "chat"},
    ),
}


def _check_target(target: str) -> None:
    if target in CONTRACT_FIELDS:
        return
    if target.startswith("extra.") and len(target) > len("extra."):
        return
    raise InputFileError(
        f"--map {target}=...: {target!r} is not a ticket field; use one of "
        f"{', '.join(CONTRACT_FIELDS)} or extra.NAME"
    )


def parse_mapping(items: list[str]) -> dict[str, str]:
    """`['subject=Title', 'extra.region=Region']` as a dict target -> column, checked."""
    mapping: dict[str, str] = {}
    for item in items:
        target, sep, column = item.partition("=")
        target = target.strip()
        if not sep or not target:
            raise InputFileError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map subject=Title")
        _check_target(target)
        mapping[target] = column.strip()
    return mapping


@dataclass
class _Plan:
    # target -> all header positions of its column (repeated columns feed list fields)
    positions: dict[str, list[int]]
    columns: dict[str, str]


def _plan(table: Table, preset: Preset | None, explicit: dict[str, str]) -> _Plan:
    header = table.columns
    mapping: dict[str, str] = {}
    required: set[str] = set()
    for name in CONTRACT_FIELDS:  # columns named like contract fields map to themselves
        if name in header:
            mapping[name] = name
    if preset:
        for target, column in preset.mapping.items():
            if column in header:
                mapping[target] = column
        if not any(c in header for c in preset.text_columns):
            raise missing_column(table.name, " or ".join(preset.text_columns), header)
    for target, column in explicit.items():
        _check_target(target)
        if column:
            mapping[target] = column
            required.add(target)
        else:
            mapping.pop(target, None)
    for target in sorted(required):
        if mapping[target] not in header:
            raise missing_column(table.name, mapping[target], header)
    if "subject" not in mapping and "body" not in mapping:
        raise InputFileError(
            f"{table.name}: no column maps to the ticket text; name columns 'subject'/'body' or "
            f"pass e.g. --map subject=Title --map body=Description (columns present: "
            f"{', '.join(repr(c) for c in header)})"
        )
    positions = {t: [i for i, h in enumerate(header) if h == c] for t, c in mapping.items()}
    return _Plan(positions, mapping)


def _tags(values: list[Any], preset: Preset | None) -> str | None:
    tags: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            tags.extend(str(v) for v in value)
        elif preset and preset.tag_separator:
            tags.extend(text_of(value).split(preset.tag_separator))
        else:
            tags.append(text_of(value))
    # The contract splits the joined string on commas and semicolons.
    return ",".join(t for t in tags if t.strip()) if tags else None


def _date_parser(preset: Preset | None, date_format: str | None) -> Callable[[Any], Any]:
    if date_format or not preset or not preset.date_formats:
        return lambda value: parse_datetime(value, date_format)
    formats = preset.date_formats

    def parse(value: Any) -> datetime | None:
        try:
            return parse_datetime(value)
        except ValueError:
            for fmt in formats:
                try:
                    return datetime.strptime(str(value), fmt)
                except ValueError:
                    continue
            raise ValueError(
                f"cannot parse {value!r} as a date (tried ISO 8601 and {', '.join(formats)}); "
                "pass --date-format"
            ) from None

    return parse


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = text_of(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a yes/no value")


def _converter(target: str, preset: Preset | None, date_format: str | None) -> Callable[[Any], Any]:
    """How one non-empty cell becomes the value of `target`; ValueError when it cannot."""
    if target in _DATE_FIELDS:
        return _date_parser(preset, date_format)
    if target in _BOOL_FIELDS:
        return _boolean
    if target == "channel" and preset and preset.channel_values:
        values = preset.channel_values
        return lambda value: values.get(text_of(value).lower(), text_of(value))
    if target.startswith("extra."):
        return lambda value: value if isinstance(value, (str, int, float, bool)) else text_of(value)
    return text_of if target in ("subject", "body") else optional_text


def iter_generic(
    path: Path,
    options: ImportOptions,
    report: ImportReport,
    fmt: str | None = None,
    preset: Preset | None = None,
) -> Iterator[Ticket]:
    """Tickets from any supported table through a column mapping, validated row by row."""
    explicit = dict(options.mapping)
    with open_table(path, fmt, options.encoding) as table:
        plan = _plan(table, preset, explicit)
        unmapped = [c for c in table.columns if c not in set(plan.columns.values())]
        if unmapped:
            report.notes.append(f"columns not imported: {', '.join(unmapped)}")
        stem = path.name.split(".")[0]
        steps = [
            (target, positions, _converter(target, preset, options.date_format))
            for target, positions in plan.positions.items()
        ]
        for record in table:
            values = record.values
            data: dict[str, Any] = {}
            extra: dict[str, Any] = {}
            for target, positions, convert in steps:
                try:
                    if target == "tags":
                        value = _tags([values[i] for i in positions], preset)
                    else:
                        # First non-empty cell among the target's columns (usually just one).
                        value = None
                        for i in positions:
                            value = clean_cell(values[i])
                            if value is not None:
                                break
                        if value is not None:
                            value = convert(value)
                except ValueError as exc:
                    raise RowError(
                        table.name,
                        record.row,
                        f"{plan.columns[target]} -> {target}",
                        f"{exc} " + row_position(record.row, record.position),
                    ) from None
                if value is None:
                    continue
                if target.startswith("extra."):
                    extra[target[6:]] = value
                else:
                    data[target] = value
            data.setdefault("id", f"{stem}-{record.row}")
            if extra:
                data["extra"] = extra
            yield validate_ticket(data, table.name, record.row, record.position, plan.columns)
