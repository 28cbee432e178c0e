"""The generic importer: any table, a preset's column names, the user's `--map`.

A mapping says which source column fills which contract field
(`--map subject=Title --map extra.region=Region`); `triage.ingest.mapping` decides it and
the report prints it. Row by row: blank rows are skipped and counted, each cell is
converted (`triage.ingest.convert`), derivations run (Jira comments ->
`first_response_at`), the ticket is validated, and its id checked against the ids before
it (`--dedupe`). A bad row stops the import, or with `--on-error skip` goes to the
rejects file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.errors import RowError
from triage.ingest.base import ImportOptions, ImportReport, text_of, validate_ticket
from triage.ingest.convert import Converters, OutsideEnum, scalar, tags
from triage.ingest.identity import IdGuard
from triage.ingest.mapping import (
    CONTRACT_FIELDS,
    LABEL_BY_NAME,
    Plan,
    Step,
    parse_mapping,
    plan_columns,
)
from triage.ingest.presets import PRESETS, Preset, RowContext
from triage.ingest.presets.jira import LANGUAGE_NAMES
from triage.ingest.rows import Record, clean_cell, row_position
from triage.ingest.tables import open_table

__all__ = ["PRESETS", "RowBuilder", "iter_generic", "parse_mapping", "record_plan"]

_SYNONYMS = {
    "description": "body",
    "content": "body",
    "text": "body",
    "message": "body",
    "details": "body",
    "title": "subject",
    "summary": "subject",
}


def _field(column: str, target: str) -> str:
    """How an error names a field: `Created -> created_at`, or just `created_at`."""
    return target if column == target else f"{column} -> {target}"


class RowBuilder:
    """Turns a record into a validated `Ticket` following a plan."""

    def __init__(
        self,
        plan: Plan,
        preset: Preset | None,
        options: ImportOptions,
        table: str,
        header: list[str],
        stem: str,
    ) -> None:
        self.plan, self.preset, self.table, self.stem = plan, preset, table, stem
        self.header = header
        self.convert = Converters(preset, options.date_format)
        self.steps = [(s, self.convert.for_target(s.target)) for s in plan.steps.values()]
        self.columns = plan.columns()
        self.separator = preset.tag_separator if preset else None

    def _value(self, step: Step, convert: Any, values: list[Any]) -> Any:
        if len(step.positions) == 1 and step.target != "tags":  # the usual case, kept fast
            cell = clean_cell(values[step.positions[0]])
            return None if cell is None else convert(cell)
        cells = [clean_cell(values[i]) for i in step.positions]
        if step.target == "tags":
            return tags(cells, self.separator)
        present = [c for c in cells if c is not None]
        if not present:
            return None
        if step.target.startswith("extra.") and len(present) > 1:
            return ", ".join(text_of(scalar(c)) for c in present)
        return convert(present[0])

    def fields(
        self, record: Record, only: set[str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The contract fields and the extras of one record (RowError on a bad cell);
        `only` limits them to those targets."""
        data: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for step, convert in self.steps:
            if only is not None and step.target not in only:
                continue
            try:
                value = self._value(step, convert, record.values)
            except ValueError as exc:
                raise self._error(record, _field(step.column, step.target), exc) from None
            if value is None:
                continue
            if isinstance(value, OutsideEnum):
                extra.setdefault("channel", value.text)
            elif step.target.startswith("extra."):
                extra[step.target[6:]] = value
            else:
                data[step.target] = value
        return data, extra

    def _derive(self, record: Record, data: dict[str, Any]) -> None:
        for derivation in self.plan.derivations:
            roles = {
                r: [clean_cell(record.values[i]) for i in self.plan.roles[r]]
                for r in derivation.reads(self.plan.roles)
            }
            try:
                value = derivation.compute(RowContext(roles, data, self.convert.loose))
            except ValueError as exc:
                column = self.plan_role_column(derivation.roles[0])
                raise self._error(record, _field(column, derivation.target), exc) from None
            if value is not None:
                data[derivation.target] = value

    def plan_role_column(self, role: str) -> str:
        """The header a role reads (for messages)."""
        positions = self.plan.roles.get(role) or []
        return self.header[positions[0]] if positions else role

    def _error(self, record: Record, fld: str, exc: Exception) -> RowError:
        return RowError(
            self.table, record.row, fld, f"{exc} " + row_position(record.row, record.position)
        )

    def finish(self, report: ImportReport) -> None:
        """Tell the report what the converters saw: values kept aside, date forms."""
        channel = self.plan.steps.get("channel")
        for warning in self.convert.warnings(channel.column if channel else None):
            report.warn(warning)
        for use in report.columns:
            reader = self.convert.dates.get(use.field)
            if reader is not None and reader.forms and use.how != "derived":
                forms = ", ".join(sorted(reader.forms))
                use.note = f"{use.note}; dates: {forms}" if use.note else f"dates: {forms}"

    def build(self, record: Record) -> Ticket:
        """The ticket of one record; RowError names the column and the reason."""
        data, extra = self.fields(record)
        self._derive(record, data)
        data.setdefault("id", f"{self.stem}-{record.row}")
        if extra:
            data["extra"] = extra
        return validate_ticket(data, self.table, record.row, record.position, self.columns)


def _order(step: Step) -> tuple[int, int]:
    if step.target in CONTRACT_FIELDS:
        return CONTRACT_FIELDS.index(step.target), 0
    return len(CONTRACT_FIELDS), step.positions[0]


def record_plan(report: ImportReport, plan: Plan, preset: Preset | None, header: list[str]) -> None:
    """Put the plan's decisions into the report (column -> field, derivations, unmapped)."""
    for step in sorted(plan.steps.values(), key=_order):
        note = ""
        if len(step.positions) > 1:
            note = (
                f"{len(step.positions)} columns joined"
                if step.target == "tags" or step.target.startswith("extra.")
                else f"each row: the first non-empty of {len(step.positions)} columns"
            )
        if preset is not None and step.target in preset.value_notes:
            note = preset.value_notes[step.target]
        if step.how == LABEL_BY_NAME:
            label = step.target.removeprefix("extra.")
            note = f"--map {label}={step.column} to learn it as the {label} label"
        report.use(step.target, [header[i] for i in step.positions], step.how, note)
    for derivation in plan.derivations:
        columns = [header[i] for r in derivation.reads(plan.roles) for i in plan.roles[r]]
        report.use(derivation.target, columns, "derived", derivation.describe)
    report.unmapped = list(plan.unmapped)
    if preset is not None:
        language = LANGUAGE_NAMES.get(plan.language or "", None)
        report.detected = preset.title + (
            f", headers in {language}" if language and preset.languages else ""
        )
    _hint_synonyms(report, plan, header)


def _hint_synonyms(report: ImportReport, plan: Plan, header: list[str]) -> None:
    """A column that looks like ticket text but fills nothing is worth a warning."""
    used = {i for s in plan.steps.values() for i in s.positions}
    for i, name in enumerate(header):
        target = _SYNONYMS.get(name.strip().lower())
        if target and target not in plan.steps and i not in used:
            report.warn(
                f"column {name!r} is not imported although it looks like the ticket's {target}; "
                f"pass --map {target}={name!r} if it is"
            )


def iter_generic(
    path: Path,
    options: ImportOptions,
    report: ImportReport,
    fmt: str | None = None,
    preset: Preset | None = None,
) -> Iterator[Ticket]:
    """Tickets from any supported table through a column mapping, validated row by row."""
    with open_table(path, fmt, options.encoding, flatten=True, on_bad_row=report.reject) as table:
        plan = plan_columns(
            table.name,
            table.columns,
            preset,
            dict(options.mapping),
            common_format=is_common_format(path),
        )
        record_plan(report, plan, preset, table.columns)
        rows = RowBuilder(plan, preset, options, table.name, table.columns, path.name.split(".")[0])
        ids = IdGuard(options.dedupe, report, table.name, plan.columns().get("id"))
        if options.dedupe == "last":
            ids.prepare(_ids(path, fmt, options, plan, rows.stem))
        for record in table:
            try:
                ticket = rows.build(record)
                if not ids.keep(ticket.id, record):
                    continue
            except RowError as err:
                report.reject(err)
                continue
            yield ticket
        report.blank_rows += table.blank_rows
    rows.finish(report)


def _ids(
    path: Path, fmt: str | None, options: ImportOptions, plan: Plan, stem: str
) -> Iterator[tuple[str, int]]:
    """(id, row) of every record, for `--dedupe last` (a first pass over the file)."""
    step = plan.steps.get("id")
    with open_table(
        path, fmt, options.encoding, flatten=True, on_bad_row=lambda err: None
    ) as table:
        for record in table:
            cell = None
            if step is not None:
                cell = next(
                    (
                        c
                        for c in (clean_cell(record.values[i]) for i in step.positions)
                        if c is not None
                    ),
                    None,
                )
            yield (
                (text_of(scalar(cell)).strip() if cell is not None else f"{stem}-{record.row}"),
                record.row,
            )


def is_common_format(path: Path) -> bool:
    """A Parquet file with exactly the ticket schema (`triage.dataset.TICKET_SCHEMA`): a
    file our own tools wrote, whose label columns are labels by the contract, not by name."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    import pyarrow.parquet as pq

    from triage.dataset import TICKET_SCHEMA

    try:
        schema = pq.read_schema(path)
    except Exception:  # not readable as Parquet: open_table reports it
        return False
    return schema.remove_metadata().equals(TICKET_SCHEMA)
