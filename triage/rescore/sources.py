"""Where a rescore's tickets come from, and what its diff compares the new predictions with.

`FileSource`: a CSV, Parquet, JSONL or XLSX file in the ticket contract (columns named
like `Ticket` fields, `extra` as a JSON object or string, `extra.NAME` columns), such as
any `triage data import` output. Read record by record (`triage.ingest.tables`), every
row validated (`RowError` naming file, row and field). Its baseline is the file's own
labels: what agents decided (category, priority, team, ...; `sla_breached` for the
escalation risk).

`StoreSource`: the open tickets of the help desk's store (every status but solved and
closed), read in id order, a page at a time, as the desk itself shows them to the
model. Its baseline is what the store holds now: `predicted_*`, `escalation_risk` (with
the threshold its model chose, `escalation_risk_threshold`), `model_version`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.errors import InputFileError, RowError, TriageError
from triage.ingest.base import validate_ticket
from triage.ingest.tables import clean_cell, open_table, row_position

# The fields a diff compares: the heads the desk stores a prediction for.
BASELINE_FIELDS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee")
# Tickets per read transaction when snapshotting the store.
STORE_PAGE = 1_000
_TICKET_FIELDS = frozenset(Ticket.model_fields)


@dataclass(frozen=True)
class Baseline:
    """What one ticket's new predictions are compared with.

    `labels` per field of `BASELINE_FIELDS` (None: nothing to compare); `risk` the
    stored escalation risk and `risk_threshold` the threshold its model chose (None:
    none recorded), or `at_risk` a known outcome (the `sla_breached` label) when there
    is no risk to compare with.
    """

    labels: dict[str, str | None]
    risk: float | None = None
    risk_threshold: float | None = None
    at_risk: bool | None = None
    model_version: str | None = None


@dataclass
class FileSource:
    """A ticket file in the contract's columns; the diff compares with its labels."""

    path: Path
    ignored_columns: list[str] = field(default_factory=list)

    kind = "file"
    baseline_name = "labels in the input file"

    def fingerprint(self) -> dict[str, Any]:
        """Identifies the input: a resumed run must read the same bytes."""
        path = Path(self.path)
        if not path.is_file():
            raise InputFileError(f"{path}: no such file")
        stat = path.stat()
        return {
            "kind": self.kind,
            "path": str(path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }

    def tickets(self) -> Iterator[tuple[Ticket, Baseline]]:
        """Every row as a validated `Ticket` with its labels, streamed."""
        path = Path(self.path)
        with open_table(path) as table:
            columns = table.columns
            if "subject" not in columns and "body" not in columns:
                raise InputFileError(
                    f"{table.name}: no 'subject' or 'body' column; rescore reads files in the "
                    "ticket contract (columns named like the Ticket fields, as `triage data "
                    "import` writes them); convert other exports with `triage data import "
                    f"--map ...` first (columns present: {', '.join(map(repr, columns))})"
                )
            self.ignored_columns = [
                c for c in columns if c not in _TICKET_FIELDS and not c.startswith("extra.")
            ]
            stem = path.name.split(".")[0]
            for record in table:
                data: dict[str, Any] = {}
                extra: dict[str, Any] = {}
                for name, raw in zip(columns, record.values, strict=True):
                    value = clean_cell(raw)
                    if value is None:
                        continue
                    if name == "extra":
                        extra.update(_extra(value, table.name, record.row, record.position))
                    elif name.startswith("extra.") and len(name) > 6:
                        extra[name[6:]] = value
                    elif name in _TICKET_FIELDS:
                        data[name] = value
                data.setdefault("id", f"{stem}-{record.row}")
                if extra:
                    data["extra"] = extra
                ticket = validate_ticket(data, table.name, record.row, record.position)
                yield (
                    ticket,
                    Baseline(
                        labels={f: getattr(ticket, f) for f in BASELINE_FIELDS},
                        at_risk=ticket.sla_breached,
                    ),
                )


@dataclass
class StoreSource:
    """The store's open tickets; the diff compares with the predictions stored for them."""

    database_url: str

    kind = "store"
    baseline_name = "predictions stored in the desk"
    ignored_columns: tuple[str, ...] = ()

    def fingerprint(self) -> dict[str, Any]:
        """Identifies the database (password hidden); a resumed run keeps its snapshot.

        Checked first, before anything is staged: the database must hold the desk's
        schema at the revision this code reads (a mistyped URL, or a store not upgraded,
        is a clear error, and no empty SQLite file is left behind).
        """
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import SQLAlchemyError

        from triage.store import current_revision, head_revision

        url = make_url(self.database_url)
        shown = url.render_as_string(hide_password=True)
        file = url.database if url.get_backend_name() == "sqlite" else None
        on_disk = file is not None and file != ":memory:" and not file.startswith("file:")
        if on_disk and file is not None and not Path(file).is_file():
            raise InputFileError(f"{shown}: no such database file ({Path(file).resolve()})")
        try:
            revision = current_revision(self.database_url)
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise TriageError(f"{shown}: cannot read the database ({reason})") from None
        if revision is None:
            raise TriageError(
                f"{shown}: no help-desk store in this database (wrong --database-url? "
                "`triage db upgrade` creates one)"
            )
        if revision != head_revision():
            raise TriageError(
                f"{shown}: the store is at schema revision {revision}, this version of "
                f"triage reads {head_revision()}; run `triage db upgrade` first"
            )
        return {"kind": self.kind, "database": shown}

    def tickets(self) -> Iterator[tuple[Ticket, Baseline]]:
        """The open tickets in id order, as the desk hands them to the model."""
        from sqlalchemy import select

        from triage.desk.queries import as_contract_ticket
        from triage.desk.status import Status
        from triage.store import connect, session_factory
        from triage.store.models import TicketRow

        open_statuses = [s.value for s in Status if s not in (Status.solved, Status.closed)]
        engine = connect(self.database_url)
        readers = session_factory(engine, read_only=True)
        last = 0
        try:
            while True:
                # One short read transaction per page: a snapshot of 100k tickets must
                # not hold a transaction (or the whole backlog) open for minutes.
                with readers() as session:
                    rows = session.scalars(
                        select(TicketRow)
                        .where(TicketRow.status.in_(open_statuses), TicketRow.id > last)
                        .order_by(TicketRow.id)
                        .limit(STORE_PAGE)
                    ).all()
                    page = [(as_contract_ticket(row), _stored(row)) for row in rows]
                if not page:
                    return
                last = rows[-1].id
                yield from page
        finally:
            engine.dispose()


def _stored(row: Any) -> Baseline:
    return Baseline(
        labels={f: getattr(row, f"predicted_{f}") for f in BASELINE_FIELDS},
        risk=row.escalation_risk,
        risk_threshold=row.escalation_risk_threshold,
        model_version=row.model_version,
    )


def _extra(value: Any, file: str, row: int, position: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise RowError(
                file, row, "extra", f"not a JSON object ({exc}) " + row_position(row, position)
            ) from None
        if isinstance(parsed, dict):
            return parsed
    raise RowError(
        file, row, "extra", f"expected a JSON object, got {value!r} " + row_position(row, position)
    )
