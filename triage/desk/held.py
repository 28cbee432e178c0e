"""E-mails held for an agent: a message that named a ticket (by reply token or thread)
but came from an address that is neither the ticket's requester nor on its CC list.

Held messages join nothing and reopen nothing; agents list them and may release one
into its ticket's thread (then it counts as the customer's reply)."""

from __future__ import annotations

from email.utils import parseaddr

from sqlalchemy import select

from triage.desk.ledger import DeskContext
from triage.desk.records import HeldMessageView, NewMessage
from triage.errors import Conflict, NotFound
from triage.store.models import HeldMessageRow, TicketRow


def address(value: str | None) -> str:
    """The bare, lower-cased e-mail address of `value` (`"Ann <Ann@X.org>"` -> `ann@x.org`)."""
    return parseaddr(value or "")[1].strip().lower()


def may_join(desk: DeskContext, ticket_id: int, author: str | None) -> bool:
    """Whether a message from `author` may join ticket `ticket_id`: it comes from the
    requester or an address on the CC list. A ticket without a requester (an anonymous
    chat, say) has no one to compare with, so any message may join it."""
    with desk.readers() as session:
        row = session.get(TicketRow, ticket_id)
        if row is None or not row.requester:
            return True
        allowed = {address(row.requester), *(address(a) for a in row.cc or [])}
    return address(author) in allowed - {""}


def hold(desk: DeskContext, ticket_id: int, message: NewMessage, reason: str) -> int:
    """Keep `message` for an agent; returns the held message's id."""
    with desk.sessions.begin() as session:
        row = HeldMessageRow(
            ticket_id=ticket_id,
            author=message.author,
            subject=message.subject,
            body=message.body,
            channel=message.channel.value,
            external_message_id=message.message_id,
            in_reply_to=message.in_reply_to,
            reason=reason,
            created_at=desk.clock(),
        )
        session.add(row)
        session.flush()
        return row.id


def view(row: HeldMessageRow) -> HeldMessageView:
    """A held message as the API shows it."""
    return HeldMessageView(
        id=row.id,
        ticket_id=row.ticket_id,
        author=row.author,
        subject=row.subject,
        body=row.body,
        channel=row.channel,
        message_id=row.external_message_id,
        reason=row.reason,
        created_at=row.created_at,
        released_at=row.released_at,
    )


def list_held(
    desk: DeskContext, *, teams: list[str] | None = None, limit: int = 100
) -> list[HeldMessageView]:
    """Held messages not yet released, oldest first (only these teams' tickets, if given)."""
    query = select(HeldMessageRow).where(HeldMessageRow.released_at.is_(None))
    if teams is not None:
        query = query.join(TicketRow, TicketRow.id == HeldMessageRow.ticket_id).where(
            TicketRow.team.in_(teams)
        )
    with desk.readers() as session:
        rows = session.scalars(query.order_by(HeldMessageRow.id).limit(limit)).all()
        return [view(r) for r in rows]


def ticket_of(desk: DeskContext, held_id: int) -> int:
    """The ticket a held message named (`NotFound` for an unknown id)."""
    with desk.readers() as session:
        row = session.get(HeldMessageRow, held_id)
        if row is None:
            raise NotFound(f"no held message {held_id}")
        return row.ticket_id


def take(desk: DeskContext, held_id: int) -> tuple[int, NewMessage]:
    """Mark a held message released; returns its ticket and the message to add."""
    from triage.contract import Channel

    with desk.sessions.begin() as session:
        row = session.get(HeldMessageRow, held_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no held message {held_id}")
        if row.released_at is not None:
            raise Conflict(f"held message {held_id} was already released")
        row.released_at = desk.clock()
        message = NewMessage(
            author=row.author,
            subject=row.subject,
            body=row.body,
            channel=Channel(row.channel),
            message_id=row.external_message_id,
            in_reply_to=row.in_reply_to,
        )
        return row.ticket_id, message
