"""Intake and threads: new tickets (idempotent), incoming messages routed to their ticket
by reference or thread id, replies on a ticket and follow-ups of closed ones.

An incoming e-mail joins a ticket only by the ticket's unguessable reply token in the
subject (`[#T-12-<token>]`) or by Message-ID threading (In-Reply-To / References), and
only when it comes from the requester or an address on the ticket's CC list; otherwise
it is held for an agent (`triage.desk.held`) and joins and reopens nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.desk import held, outbox
from triage.desk.assignment import assign
from triage.desk.changes import mark_breached, transition
from triage.desk.ledger import DeskContext, lock, record
from triage.desk.queries import get, messages_of, view
from triage.desk.records import (
    Direction,
    IntakeResult,
    NewMessage,
    NewTicket,
    TicketView,
    TriageState,
)
from triage.desk.reference import (
    find_reference,
    format_reference,
    new_reply_token,
    parse_ticket_id,
    subject_tag,
    token_matches,
)
from triage.desk.scoring import triage_ticket
from triage.desk.status import Status
from triage.errors import IllegalTransition
from triage.store.models import MessageRow, TagRow, TicketRow


def intake(
    desk: DeskContext,
    new: NewTicket,
    *,
    idempotency_key: str | None = None,
    actor: str | None = None,
    inbox: str | None = None,
) -> IntakeResult:
    """Store a new ticket (in `inbox`, if given), then triage it. A repeated
    `idempotency_key` returns the ticket the first request created instead of creating
    another."""
    actor = actor or f"customer:{new.requester or 'anonymous'}"
    if idempotency_key:
        existing = _find_by_key(desk, idempotency_key)
        if existing is not None:
            return IntakeResult(ticket=get(desk, existing), created=False)
    try:
        ticket_id = insert(desk, new, idempotency_key, actor, follow_up_of=None, inbox=inbox)
    except IntegrityError:
        # A concurrent retry won the race on the unique key (or the same e-mail
        # was delivered twice): answer with the ticket it created.
        existing = (_find_by_key(desk, idempotency_key) if idempotency_key else None) or (
            find_by_message_id(desk, new.message_id) if new.message_id else None
        )
        if existing is None:
            raise
        return IntakeResult(ticket=get(desk, existing), created=False)
    # Only a routed ticket can be assigned: skip the transaction otherwise.
    if triage_ticket(desk, ticket_id) and desk.config.auto_assign:
        assign(desk, ticket_id)
    return IntakeResult(ticket=get(desk, ticket_id), created=True)


def _find_by_key(desk: DeskContext, key: str) -> int | None:
    with desk.readers() as session:
        return session.scalar(select(TicketRow.id).where(TicketRow.idempotency_key == key))


def find_by_message_id(
    desk: DeskContext, message_id: str, *, inbox: str | None = None
) -> int | None:
    """The ticket holding the message with this external id (in `inbox`, if given)."""
    with desk.readers() as session:
        found = session.scalar(
            select(MessageRow.ticket_id).where(MessageRow.external_message_id == message_id)
        )
        return found if found is not None and _in_inbox(session, found, inbox) else None


def insert(
    desk: DeskContext,
    new: NewTicket,
    idempotency_key: str | None,
    actor: str,
    follow_up_of: int | None,
    inbox: str | None = None,
) -> int:
    """Store a new ticket and its first message, queued for triage; returns its id."""
    now = desk.clock()
    with desk.sessions.begin() as session:
        row = TicketRow(
            external_id=new.external_id,
            idempotency_key=idempotency_key,
            inbox=inbox,
            reply_token=new_reply_token(),
            cc=list(dict.fromkeys(new.cc)) or None,
            thread_id=new.message_id,
            created_at=now,
            updated_at=now,
            channel=new.channel.value,
            subject=new.subject,
            body=new.body,
            requester=new.requester,
            customer_tier=new.customer_tier,
            language=new.language,
            extra=dict(new.extra),
            status=Status.new.value,
            category=new.category,
            priority=new.priority,
            priority_unconfirmed=False,
            team=new.team,
            tier=1,
            escalated=False,
            sla_breached=False,
            needs_followup=False,
            follow_up_of=follow_up_of,
            first_response_due_at=desk.sla.first_response_due(new.priority, now),
            resolution_due_at=desk.sla.resolution_due(new.priority, now),
            triage_state=TriageState.queued.value,
            triage_attempts=0,
            # The worker leaves the ticket to this request for one back-off period.
            retriage_at=now + desk.config.retriage_backoff,
        )
        row.tags = [TagRow(tag=t) for t in dict.fromkeys(new.tags)]
        session.add(row)
        session.flush()
        session.add(
            MessageRow(
                ticket_id=row.id,
                direction=Direction.inbound.value,
                channel=new.channel.value,
                author=new.requester,
                subject=new.subject,
                body=new.body,
                external_message_id=new.message_id,
                kind="original",
                created_at=now,
            )
        )
        details: dict[str, Any] = {"channel": new.channel.value, "subject": new.subject}
        if follow_up_of is not None:
            details["follow_up_of"] = follow_up_of
        record(session, row, actor, "created", details, now)
        outbox.enqueue(
            session, "ticket.created", row.id, {"reference": format_reference(row.id)}, now
        )
        return row.id


def receive(
    desk: DeskContext,
    message: NewMessage,
    *,
    idempotency_key: str | None = None,
    inbox: str | None = None,
) -> IntakeResult:
    """Route an incoming message: a reply carrying a ticket reference (`[#T-12]` in
    the subject) or a known thread id (`In-Reply-To` / `References`) joins its
    ticket; anything else opens a new ticket. A re-delivered message is stored once.
    With `inbox`, only that inbox's tickets are joined and new ones open in it."""
    if message.message_id:
        known = find_by_message_id(desk, message.message_id, inbox=inbox)
        if known is not None:
            return IntakeResult(ticket=get(desk, known), created=False)
    ticket_id = _thread_of(desk, message, inbox)
    if ticket_id is not None and not held.may_join(desk, ticket_id, message.author):
        held.hold(desk, ticket_id, message, "sender is neither the requester nor on the CC list")
        return IntakeResult(ticket=get(desk, ticket_id, messages=False), created=False, held=True)
    if ticket_id is not None:
        result = add_message(
            desk, ticket_id, message, actor=f"customer:{message.author or 'anonymous'}"
        )
        return IntakeResult(ticket=result, created=result.id != ticket_id)
    new = NewTicket(
        channel=message.channel,
        subject=message.subject,
        body=message.body,
        requester=message.author,
        message_id=message.message_id,
        cc=message.cc,
    )
    return intake(desk, new, idempotency_key=idempotency_key, inbox=inbox)


def _thread_of(desk: DeskContext, message: NewMessage, inbox: str | None) -> int | None:
    with desk.readers() as session:
        reference = find_reference(message.subject)
        if reference is not None and _in_inbox(session, reference[0], inbox):
            # The number alone is guessable: only the ticket's reply token joins it.
            row = session.get(TicketRow, reference[0])
            if row is not None and token_matches(reference[1], row.reply_token):
                return reference[0]
        ids = [i for i in [message.in_reply_to, *reversed(message.references)] if i]
        for thread_id in ids:
            found = session.scalar(
                select(MessageRow.ticket_id).where(MessageRow.external_message_id == thread_id)
            ) or session.scalar(select(TicketRow.id).where(TicketRow.thread_id == thread_id))
            if found is not None and _in_inbox(session, found, inbox):
                return found
    return None


def _in_inbox(session: Session, number: int, inbox: str | None) -> bool:
    """The ticket exists and, when `inbox` is given, belongs to it."""
    row = session.get(TicketRow, number)
    return row is not None and (inbox is None or row.inbox == inbox)


def add_message(
    desk: DeskContext, ticket_id: int | str, message: NewMessage, *, actor: str
) -> TicketView:
    """Append a message. A customer reply reopens a pending or solved ticket and,
    on a closed one, opens a follow-up ticket; the first desk reply stops the
    first-response clock. A message id already stored is not stored again."""
    try:
        return _add_message(desk, parse_ticket_id(ticket_id), message, actor)
    except IntegrityError:
        # The same e-mail delivered twice at once: the other delivery stored it.
        known = find_by_message_id(desk, message.message_id) if message.message_id else None
        if known is None:
            raise
        return get(desk, known)


def _add_message(desk: DeskContext, number: int, message: NewMessage, actor: str) -> TicketView:
    now = desk.clock()
    with desk.sessions.begin() as session:
        row = lock(session, number)
        if message.message_id and session.scalar(
            select(MessageRow.id).where(MessageRow.external_message_id == message.message_id)
        ):
            return view(row, messages_of(session, row.id))
        follow_up = row.status == Status.closed.value
        if follow_up:
            if message.direction is Direction.outbound:
                raise IllegalTransition(
                    f"{format_reference(number)} is closed; it takes no replies"
                )
        else:
            _append(desk, session, row, message, actor, now)
    if follow_up:
        new = NewTicket(
            channel=message.channel,
            subject=message.subject or row.subject,
            body=message.body,
            requester=message.author or row.requester,
            message_id=message.message_id,
        )
        follow_id = insert(desk, new, None, actor, follow_up_of=number)
        triage_ticket(desk, follow_id)
        return get(desk, follow_id)
    return get(desk, number)


def _append(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    message: NewMessage,
    actor: str,
    now: datetime,
) -> None:
    """Store a reply on an open ticket and move the ticket as the reply implies."""
    subject = message.subject
    if message.direction is Direction.outbound and not subject:
        subject = f"{subject_tag(row.id, row.reply_token)} {row.subject}".strip()
    session.add(
        MessageRow(
            ticket_id=row.id,
            direction=message.direction.value,
            channel=message.channel.value,
            author=message.author,
            subject=subject,
            body=message.body,
            external_message_id=message.message_id,
            in_reply_to=message.in_reply_to,
            kind="reply",
            created_at=now,
        )
    )
    details = {"direction": message.direction.value, "message_id": message.message_id}
    record(session, row, actor, "message_added", details, now)
    if message.direction is Direction.inbound:
        if row.auto_reply_id is not None and row.auto_reply_outcome in (None, "no_answer"):
            # Writing back after an auto-reply means it did not settle it: the ticket
            # goes to an agent now, not after the confirmation window.
            row.auto_reply_outcome = "reopened"
            row.auto_reply_due_at = None
        if row.status in (Status.pending.value, Status.solved.value):
            transition(desk, session, row, Status.reopened, actor, "customer replied", now)
    else:
        if row.first_response_at is None:
            mark_breached(session, row, now)  # a late first reply
            row.first_response_at = now
        if row.status == Status.new.value:
            transition(desk, session, row, Status.open, actor, "first reply", now)
    row.updated_at = now
