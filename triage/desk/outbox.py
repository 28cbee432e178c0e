"""Webhook events, written to the outbox in the same transaction as the change.

Writing the event with the change means an event is never lost and never sent for a
change that rolled back; the worker delivers the outbox, so a slow receiver never
blocks a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage.desk.reference import format_reference
from triage.store.models import OutboxRow, TicketRow

EVENTS = frozenset(
    {
        "ticket.created",
        "ticket.assigned",
        "ticket.escalated",
        "ticket.sla_breached",
        "ticket.auto_replied",
        "ticket.auto_reply_unanswered",
        "ticket.solved",
        "ticket.reminder",
        "csat.received",
    }
)


def outbound_message(ticket: TicketRow, subject: str, body: str) -> dict[str, Any]:
    """The part of an event a mail or chat gateway needs to deliver a message the desk
    sends the customer (auto-reply, reminder): to whom, on which channel, what."""
    return {
        "reference": format_reference(ticket.id),
        "to": ticket.requester,
        "channel": ticket.channel,
        "subject": subject,
        "body": body,
    }


def enqueue(
    session: Session, event: str, ticket_id: int | None, payload: dict[str, Any], now: datetime
) -> None:
    """Queue `event` for delivery by the worker."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    session.add(
        OutboxRow(
            event=event,
            ticket_id=ticket_id,
            payload={"event": event, "ticket_id": ticket_id, "at": now.isoformat(), **payload},
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
