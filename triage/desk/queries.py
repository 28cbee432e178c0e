"""Reading the desk: one ticket, filtered pages, a ticket's history, the corrections,
the dashboard; and the views they return."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, lazyload

from triage.contract import Ticket
from triage.desk.dashboard import build_dashboard
from triage.desk.ledger import PREDICTED_FIELDS, DeskContext
from triage.desk.records import (
    AuditEntry,
    CorrectionView,
    Dashboard,
    Direction,
    MessageView,
    TicketPage,
    TicketQuery,
    TicketView,
    TriageState,
)
from triage.desk.reference import format_reference, parse_ticket_id, subject_tag
from triage.desk.status import ACTIVE, Status
from triage.errors import NotFound
from triage.store.models import AuditRow, CorrectionRow, MessageRow, TagRow, TicketRow


def get(desk: DeskContext, ticket_id: int | str, *, messages: bool = True) -> TicketView:
    """One ticket, with its thread unless `messages=False`."""
    number = parse_ticket_id(ticket_id)
    with desk.readers() as session:
        row = session.get(TicketRow, number)
        if row is None:
            raise NotFound(f"no ticket {format_reference(number)}")
        return view(row, messages_of(session, number) if messages else None)


def stored_prediction(desk: DeskContext, ticket_id: int | str) -> dict[str, Any] | None:
    """The triage result stored when the ticket was scored (every head with its confidence
    and top labels, the auto-reply; not the explanation), or None when never scored."""
    number = parse_ticket_id(ticket_id)
    with desk.readers() as session:
        row = session.get(TicketRow, number)
        if row is None:
            raise NotFound(f"no ticket {format_reference(number)}")
        return row.prediction


def list_tickets(desk: DeskContext, query: TicketQuery) -> TicketPage:
    """Tickets matching `query`, most urgent priority first, then the tickets whose
    clocks run (new, open, reopened) by their next due time (the first response while
    unanswered, else the resolution), then the others; paginated."""
    conditions = _conditions(query)
    with desk.readers() as session:
        total = session.scalar(select(func.count(TicketRow.id)).where(*conditions)) or 0
        rows = session.scalars(
            select(TicketRow)
            .where(*conditions)
            .order_by(*_urgency_order(list(desk.sla.policies)))
            .limit(query.limit)
            .offset(query.offset)
            # The page's tags in one plain query below: filling 500 ORM collections
            # cost more than the rest of a 500-ticket page (the console's queue).
            .options(lazyload(TicketRow.tags))
        ).all()
        tags: dict[int, list[str]] = {}
        if rows:
            pairs = session.execute(
                select(TagRow.ticket_id, TagRow.tag).where(
                    TagRow.ticket_id.in_([r.id for r in rows])
                )
            ).all()
            for ticket_id, tag in pairs:
                tags.setdefault(ticket_id, []).append(tag)
        return TicketPage(total=total, items=[view(r, None, tags.get(r.id, [])) for r in rows])


def _conditions(query: TicketQuery) -> list[Any]:
    """The WHERE clauses of `query`'s filters."""
    conditions: list[Any] = []
    if query.status:
        conditions.append(TicketRow.status.in_([s.value for s in query.status]))
    if query.team is not None:
        conditions.append(TicketRow.team == query.team)
    if query.assignee is not None:
        conditions.append(TicketRow.assignee == query.assignee)
    if query.priority is not None:
        conditions.append(func.lower(TicketRow.priority) == query.priority.lower())
    if query.inbox is not None:
        conditions.append(TicketRow.inbox == query.inbox)
    if query.teams is not None:
        conditions.append(TicketRow.team.in_(query.teams))
    if query.tag is not None:
        conditions.append(TicketRow.id.in_(select(TagRow.ticket_id).where(TagRow.tag == query.tag)))
    if query.due_before is not None:
        # Only running clocks are due: a pending or solved ticket's clock is paused.
        conditions.append(TicketRow.status.in_([s.value for s in ACTIVE]))
        conditions.append(
            or_(
                TicketRow.resolution_due_at < query.due_before,
                (TicketRow.first_response_at.is_(None))
                & (TicketRow.first_response_due_at < query.due_before),
            )
        )
    if query.triage_state is not None:
        conditions.append(TicketRow.triage_state == query.triage_state.value)
    if query.priority_unconfirmed is not None:
        conditions.append(TicketRow.priority_unconfirmed.is_(query.priority_unconfirmed))
    return conditions


def _urgency_order(priorities: list[str]) -> tuple[Any, ...]:
    """ORDER BY: priority rank (in the SLA policies' order, unknown last), running clocks
    before paused ones, the next due time, the ticket number."""
    rank = case(
        {name: i for i, name in enumerate(priorities)},
        value=func.lower(TicketRow.priority),
        else_=len(priorities),
    )
    paused = case((TicketRow.status.in_([s.value for s in ACTIVE]), 0), else_=1)
    next_due = case(
        (
            TicketRow.first_response_at.is_(None)
            & (TicketRow.first_response_due_at < TicketRow.resolution_due_at),
            TicketRow.first_response_due_at,
        ),
        else_=TicketRow.resolution_due_at,
    )
    return rank, paused, next_due.asc().nulls_last(), TicketRow.id


def audit(desk: DeskContext, ticket_id: int | str) -> list[AuditEntry]:
    """A ticket's history, oldest first."""
    number = parse_ticket_id(ticket_id)
    with desk.readers() as session:
        if session.get(TicketRow, number) is None:
            raise NotFound(f"no ticket {format_reference(number)}")
        rows = session.scalars(
            select(AuditRow).where(AuditRow.ticket_id == number).order_by(AuditRow.id)
        ).all()
        return [
            AuditEntry(
                id=r.id,
                ticket_id=r.ticket_id,
                actor=r.actor,
                created_at=r.created_at,
                action=r.action,
                details=r.details,
                model_version=r.model_version,
            )
            for r in rows
        ]


def corrections(desk: DeskContext, *, after_id: int = 0, limit: int = 1000) -> list[CorrectionView]:
    """Corrections (training labels) in the order people made them."""
    with desk.readers() as session:
        rows = session.scalars(
            select(CorrectionRow)
            .where(CorrectionRow.id > after_id)
            .order_by(CorrectionRow.id)
            .limit(limit)
        ).all()
        return [
            CorrectionView(
                ticket_id=r.ticket_id,
                field=r.field,
                predicted_value=r.predicted_value,
                old_value=r.old_value,
                new_value=r.new_value,
                actor=r.actor,
                created_at=r.created_at,
                model_version=r.model_version,
            )
            for r in rows
        ]


def dashboard(desk: DeskContext) -> Dashboard:
    """Open tickets by status and team, SLA compliance, agent load, auto-reply
    resolution rate and CSAT (see `triage.desk.dashboard`)."""
    with desk.readers() as session:
        return build_dashboard(session, desk.clock())


def as_contract_ticket(row: TicketRow) -> Ticket:
    """A stored ticket as the contract's `Ticket`: what the triage service scores (at
    intake, on re-triage, and in `triage rescore --db`)."""
    return Ticket(
        id=format_reference(row.id),
        created_at=row.created_at,
        channel=row.channel,
        subject=row.subject,
        body=row.body,
        requester=row.requester,
        customer_tier=row.customer_tier,
        language=row.language,
        tags=[t.tag for t in row.tags],
        extra=row.extra or {},
    )


def messages_of(session: Session, ticket_id: int) -> list[MessageView]:
    """A ticket's thread, oldest first."""
    rows = session.scalars(
        select(MessageRow).where(MessageRow.ticket_id == ticket_id).order_by(MessageRow.id)
    ).all()
    return [
        MessageView(
            id=m.id,
            direction=Direction(m.direction),
            channel=m.channel,
            author=m.author,
            subject=m.subject,
            body=m.body,
            message_id=m.external_message_id,
            in_reply_to=m.in_reply_to,
            kind=m.kind,
            created_at=m.created_at,
        )
        for m in rows
    ]


def view(
    row: TicketRow, messages: list[MessageView] | None, tags: list[str] | None = None
) -> TicketView:
    """A stored ticket as the API shows it (`messages=None`: without its thread; `tags`:
    its tags when the caller loaded them, else read from the row)."""
    return TicketView(
        id=row.id,
        reference=format_reference(row.id),
        status=Status(row.status),
        channel=row.channel,
        subject=row.subject,
        body=row.body,
        requester=row.requester,
        customer_tier=row.customer_tier,
        language=row.language,
        tags=sorted(tags if tags is not None else (t.tag for t in row.tags)),
        external_id=row.external_id,
        inbox=row.inbox,
        reply_tag=subject_tag(row.id, row.reply_token) if row.reply_token else None,
        cc=list(row.cc or []),
        thread_id=row.thread_id,
        category=row.category,
        subcategory=row.subcategory,
        priority=row.priority,
        team=row.team,
        assignee=row.assignee,
        tier=row.tier,
        escalated=row.escalated,
        sla_breached=row.sla_breached,
        needs_followup=row.needs_followup,
        follow_up_of=row.follow_up_of,
        created_at=row.created_at,
        updated_at=row.updated_at,
        first_response_at=row.first_response_at,
        first_response_due_at=row.first_response_due_at,
        resolution_due_at=row.resolution_due_at,
        pending_until=row.pending_until,
        solved_at=row.solved_at,
        closed_at=row.closed_at,
        triage_state=TriageState(row.triage_state),
        triage_error=row.triage_error,
        model_version=row.model_version,
        predicted={f: getattr(row, f"predicted_{f}") for f in PREDICTED_FIELDS},
        escalation_risk=row.escalation_risk,
        auto_reply_id=row.auto_reply_id,
        auto_reply_outcome=row.auto_reply_outcome,
        auto_reply_due_at=row.auto_reply_due_at,
        priority_unconfirmed=row.priority_unconfirmed,
        messages=messages,
    )
