"""Reading the desk's store for training: one snapshot, streamed in batches, written to
Parquet in the `Ticket` contract (`triage.dataset`); which values are labels is
`triage.labels.rules`.

The read is one snapshot (a read-only transaction: SQLite's WAL snapshot, REPEATABLE READ
on PostgreSQL) streamed with `yield_per`: tickets come `batch_rows` at a time, each batch
with its audit entries, answers and surveys, so memory does not grow with the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.contract import Ticket
from triage.dataset import TicketWriter
from triage.errors import TriageError
from triage.labels.rules import (
    FINAL_STATUSES,
    SETTING_ACTIONS,
    Decisions,
    DeskExportReport,
    training_ticket,
)
from triage.store import connect, head_revision, session_factory
from triage.store.models import AuditRow, CsatRow, MessageRow, TicketRow

# Tickets per streamed batch (each batch also loads its audit entries and answers).
BATCH_ROWS = 500


def desk_training_tickets(
    engine: Engine,
    report: DeskExportReport,
    *,
    batch_rows: int = BATCH_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[Ticket]:
    """The store's tickets that carry a confirmed label or answer, in id order, streamed
    from one snapshot; `report` counts what was written and withheld. `on_progress` gets
    (tickets read, tickets in the store) after each batch."""
    where = report.database
    sessions = _snapshot_sessions(engine)
    try:
        with sessions() as session:
            check_schema(session.connection(), where)
            total = session.scalar(select(func.count()).select_from(TicketRow)) or 0
            if on_progress is not None:
                on_progress(0, total)
            result = session.scalars(
                select(TicketRow).order_by(TicketRow.id).execution_options(yield_per=batch_rows)
            )
            for rows in result.partitions():
                ids = [row.id for row in rows]
                final = [row.id for row in rows if row.status in FINAL_STATUSES]
                audit = _audit(session, ids)
                answers = _answers(session, final)
                ratings = _ratings(session, final)
                for row in rows:
                    ticket = training_ticket(
                        row,
                        Decisions.from_audit(audit.get(row.id, ())),
                        answers.get(row.id, ()),
                        ratings.get(row.id, ()),
                        report,
                        where,
                    )
                    if ticket is not None:
                        yield ticket
                if on_progress is not None:
                    on_progress(report.tickets_read, total)
    except SQLAlchemyError as exc:
        raise TriageError(f"{where}: cannot read the store ({_reason(exc)})") from exc


def export_desk(
    database: str | Engine,
    out: str | Path,
    *,
    batch_rows: int = BATCH_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> DeskExportReport:
    """Write the store's confirmed labels and answers to `out` (atomically: a failed export
    leaves no file). `database` is a URL (`settings.database_url`) or an engine."""
    engine = _open(database) if isinstance(database, str) else database
    report = DeskExportReport(
        database=engine.url.render_as_string(hide_password=True), out=Path(out)
    )
    try:
        with TicketWriter(out) as writer:
            writer.write_all(
                desk_training_tickets(
                    engine, report, batch_rows=batch_rows, on_progress=on_progress
                )
            )
        report.tickets_written = writer.rows_written
    finally:
        if isinstance(database, str):
            engine.dispose()
    return report


def check_schema(connection: Connection, where: str) -> None:
    """Raise a `TriageError` unless the database holds the desk's schema at the revision
    this code reads (a store never upgraded, or the wrong database, is a clear error)."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise TriageError(
            f"{where}: no help-desk store in this database (wrong --database-url? "
            "`triage db upgrade` creates an empty one)"
        )
    head = head_revision()
    if revision != head:
        raise TriageError(
            f"{where}: the store is at schema revision {revision}, this version of triage "
            f"reads {head}; run `triage db upgrade` with the newer of the two"
        )


def _open(url: str) -> Engine:
    """An engine on `url`; a SQLite file that does not exist is an error, not a new file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if (
            path
            and path != ":memory:"
            and not path.startswith("file:")
            and not Path(path).is_file()
        ):
            raise TriageError(f"{url}: no such database file ({Path(path).resolve()})")
    return connect(url)


def _snapshot_sessions(engine: Engine) -> sessionmaker[Session]:
    """Read-only sessions that see one snapshot for the whole export."""
    if engine.dialect.name == "postgresql":
        # READ COMMITTED would let a ticket and its audit entries come from two moments.
        engine = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    return session_factory(engine, read_only=True)


def _audit(session: Session, ids: list[int]) -> dict[int, list[AuditRow]]:
    rows = session.scalars(
        select(AuditRow)
        .where(AuditRow.ticket_id.in_(ids), AuditRow.action.in_(SETTING_ACTIONS))
        .order_by(AuditRow.ticket_id, AuditRow.id)
    )
    grouped: dict[int, list[AuditRow]] = defaultdict(list)
    for row in rows:
        grouped[row.ticket_id].append(row)  # type: ignore[index]
    return grouped


def _answers(session: Session, ids: list[int]) -> dict[int, list[MessageRow]]:
    """The replies (both ways) and auto-replies of solved or closed tickets, oldest first;
    reminders and the opening message are not answers."""
    if not ids:
        return {}
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.ticket_id.in_(ids), MessageRow.kind.in_(("reply", "auto_reply")))
        .order_by(MessageRow.ticket_id, MessageRow.id)
    )
    grouped: dict[int, list[MessageRow]] = defaultdict(list)
    for row in rows:
        grouped[row.ticket_id].append(row)
    return grouped


def _ratings(session: Session, ids: list[int]) -> dict[int, list[tuple[datetime, int]]]:
    """(survey sent, rating) of the answered surveys of solved or closed tickets."""
    if not ids:
        return {}
    rows = session.execute(
        select(CsatRow.ticket_id, CsatRow.sent_at, CsatRow.rating).where(
            CsatRow.ticket_id.in_(ids), CsatRow.rating.is_not(None)
        )
    )
    grouped: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for ticket_id, sent_at, rating in rows:
        if rating is not None:  # filtered above; narrows the column's type
            grouped[ticket_id].append((sent_at, rating))
    return grouped


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's one-line reason, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
