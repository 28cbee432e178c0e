"""What every use case of the desk shares: its parts, the row lock and the audit record.

Each use case (`intake`, `scoring`, `changes`, `assignment`, `queries`) is a module of
functions taking the desk's parts (`DeskContext`, which `triage.desk.desk.Desk` is) as
their first argument. Every change happens in one transaction together with its audit
entry (`record`) and its webhook events (`triage.desk.outbox`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from triage.desk.config import DeskConfig
from triage.desk.reference import format_reference
from triage.errors import NotFound
from triage.sla import SlaPolicies
from triage.store.models import AuditRow, TicketRow
from triage.triager import Triager

# Fields the model predicts and people may override; an override is a correction.
PREDICTED_FIELDS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee")
# A ticket leaves the human triage queue once people or the model filled these.
ROUTING_FIELDS: tuple[str, ...] = ("category", "priority", "team")


def utcnow() -> datetime:
    """The real clock; tests and `triage worker --now` pass their own."""
    return datetime.now(UTC)


class DeskContext(Protocol):
    """The parts of a desk its use cases work with (read on every call: a caller may
    swap the clock or the SLA policies of a running desk)."""

    sessions: sessionmaker[Session]  # writing transactions
    readers: sessionmaker[Session]  # read-only sessions (no write lock on SQLite)
    triager: Triager | None
    sla: SlaPolicies
    config: DeskConfig
    clock: Callable[[], datetime]


def lock(session: Session, ticket_id: int) -> TicketRow:
    """Load a ticket for change, row-locked on PostgreSQL (SQLite holds the write lock)."""
    row = session.get(TicketRow, ticket_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no ticket {format_reference(ticket_id)}")
    return row


def record(
    session: Session,
    row: TicketRow,
    actor: str,
    action: str,
    details: dict[str, Any],
    now: datetime,
    model_version: str | None = None,
) -> None:
    """Add an audit entry for `row` to the caller's transaction."""
    session.add(
        AuditRow(
            ticket_id=row.id,
            actor=actor,
            created_at=now,
            action=action,
            details=_jsonable(details),
            model_version=model_version or row.model_version,
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
