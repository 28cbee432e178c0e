"""The customer's link tokens: single-purpose ("csat": rate a solved ticket, "confirm":
answer an auto-reply), unguessable, and expiring."""

from __future__ import annotations

import secrets
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.desk.ledger import DeskContext
from triage.desk.reference import format_reference
from triage.errors import NotFound
from triage.store.models import CsatRow, TicketRow

CSAT, CONFIRM = "csat", "confirm"


def new_token(
    desk: DeskContext, session: Session, ticket_id: int, purpose: str, now: datetime
) -> str:
    """A new link token of `purpose` for a ticket, valid for `customer_token_ttl`."""
    token = secrets.token_urlsafe(24)
    session.add(
        CsatRow(
            ticket_id=ticket_id,
            token=token,
            purpose=purpose,
            sent_at=now,
            expires_at=now + desk.config.customer_token_ttl,
        )
    )
    return token


def find(session: Session, token: str, purpose: str, now: datetime) -> CsatRow:
    """The token's row, if it has `purpose` and has not expired; NotFound otherwise, the
    same answer for all three so that a link reveals nothing about other tokens."""
    row = session.scalar(select(CsatRow).where(CsatRow.token == token))
    if row is None or row.purpose != purpose or (row.expires_at and row.expires_at <= now):
        raise NotFound("this link is not valid (or has expired)")
    return row


def redeem(session: Session, token: str, purpose: str, now: datetime) -> CsatRow:
    """`find`, with the row locked for the answer."""
    row = session.scalar(select(CsatRow).where(CsatRow.token == token).with_for_update())
    if row is None or row.purpose != purpose or (row.expires_at and row.expires_at <= now):
        raise NotFound("this link is not valid (or has expired)")
    return row


class LinkView(BaseModel):
    """What a customer's link page shows: the ticket, its language, and whether the link
    was used already (rating given, or auto-reply answered)."""

    reference: str
    language: str | None
    purpose: str
    answered: bool


def describe(desk: DeskContext, token: str, purpose: str) -> LinkView:
    """The page behind a valid link of `purpose`; NotFound when invalid or expired."""
    with desk.readers() as session:
        link = find(session, token, purpose, desk.clock())
        ticket = session.get(TicketRow, link.ticket_id)
        return LinkView(
            reference=format_reference(link.ticket_id),
            language=ticket.language if ticket is not None else None,
            purpose=purpose,
            answered=link.answered_at is not None or link.rating is not None,
        )
