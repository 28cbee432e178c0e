"""Changes to tickets: a person's update (fields, tags, status), status transitions with
their SLA clocks, SLA breaches, and the customer's CSAT rating.

Overriding a field the model predicted stores a correction (a training label); every
change is audited in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from triage.desk import outbox
from triage.desk.assignment import assign
from triage.desk.ledger import PREDICTED_FIELDS, ROUTING_FIELDS, DeskContext, lock, record
from triage.desk.queries import get
from triage.desk.records import TicketChanges, TicketView, TriageState
from triage.desk.reference import format_reference, parse_ticket_id
from triage.desk.status import ACTIVE, PAUSED, Status, check_transition
from triage.desk.tokens import CSAT, new_token, redeem
from triage.errors import Conflict, TriageError
from triage.store.models import CorrectionRow, TagRow, TicketRow

# What an update changed, audited as its `updated` entry: field -> {"old", "new"[, ...]}.
Changed = dict[str, dict[str, Any]]


def update(
    desk: DeskContext, ticket_id: int | str, changes: TicketChanges, *, actor: str
) -> TicketView:
    """Apply a person's changes. Overriding a predicted field stores a correction
    (a training label); every change is audited."""
    number = parse_ticket_id(ticket_id)
    now = desk.clock()
    with desk.sessions.begin() as session:
        row = lock(session, number)
        if changes.status is not None and changes.status.value != row.status:
            # Check first so that an illegal move changes nothing at all.
            check_transition(row.status, changes.status)
        changed = _set_fields(session, row, changes, actor, now)
        tags = _set_tags(row, changes)
        if tags is not None:
            changed["tags"] = tags
        if _priority_moved(changed) and row.status != Status.closed.value:
            _retarget(desk, row)
        if changed:
            record(session, row, actor, "updated", changed, now)
        if "assignee" in changed and row.assignee:
            outbox.enqueue(
                session, "ticket.assigned", row.id, {"assignee": row.assignee, "by": actor}, now
            )
        routed = _leave_triage_queue(session, row, actor, now)
        _change_status(desk, session, row, changes, actor, now)
        row.updated_at = now
        auto_assign = routed and row.assignee is None and desk.config.auto_assign
    if auto_assign:
        # Routed by a person out of the triage queue: an agent picks it up now, as
        # the model's routing would have.
        assign(desk, number, actor="system:assigner")
    return get(desk, number)


def _set_fields(
    session: Session, row: TicketRow, changes: TicketChanges, actor: str, now: datetime
) -> Changed:
    """Set the predicted fields the update names; a value other than the model's is a
    correction. Returns what changed."""
    given = changes.model_fields_set
    changed: Changed = {}
    # A person setting the priority of a ticket routed with a fallback priority
    # confirms it, even to the same value: a label for the abstaining head.
    confirming = "priority" in given and changes.priority is not None and row.priority_unconfirmed
    for name in PREDICTED_FIELDS:
        if name not in given:
            continue
        new_value = getattr(changes, name)
        old_value = getattr(row, name)
        confirmed = name == "priority" and confirming
        if new_value == old_value and not confirmed:
            continue
        setattr(row, name, new_value)
        changed[name] = {"old": old_value, "new": new_value}
        if confirmed:
            row.priority_unconfirmed = False
            changed[name]["confirmed"] = True
        predicted = getattr(row, f"predicted_{name}")
        if row.model_version is not None and new_value != predicted:
            session.add(
                CorrectionRow(
                    ticket_id=row.id,
                    field=name,
                    predicted_value=predicted,
                    old_value=old_value,
                    new_value=new_value,
                    actor=actor,
                    created_at=now,
                    model_version=row.model_version,
                )
            )
    return changed


def _set_tags(row: TicketRow, changes: TicketChanges) -> dict[str, Any] | None:
    """Replace, add and remove tags as the update asks; the change, or None when the
    tags stay the same."""
    tags = [t.tag for t in row.tags]
    wanted = list(changes.tags) if changes.tags is not None else list(tags)
    wanted = [
        t for t in dict.fromkeys([*wanted, *changes.add_tags]) if t not in changes.remove_tags
    ]
    if sorted(wanted) == sorted(tags):
        return None
    row.tags = [t for t in row.tags if t.tag in wanted] + [
        TagRow(tag=t) for t in wanted if t not in tags
    ]
    return {"old": sorted(tags), "new": sorted(wanted)}


def _priority_moved(changed: Changed) -> bool:
    return "priority" in changed and changed["priority"]["old"] != changed["priority"]["new"]


def _retarget(desk: DeskContext, row: TicketRow) -> None:
    """The new priority's SLA targets, counted from creation: a person who sets the
    priority says what the customer was owed from the start, as help-desk tools
    re-apply the SLA policy when the priority changes. A paused clock (pending, solved)
    gets the time the new priority's target would have left when it paused, so it
    resumes on the new target, as if the priority had been set before the pause. A
    breach already marked stays marked (it was notified; the audit keeps it). A grace
    period the worker set for the old priority's breach is dropped unless the ticket has
    escalated (then it is the next tier's time): the worker sets it again from the new
    due time, so a raised priority escalates on its own, earlier, schedule."""
    if row.first_response_at is None:
        row.first_response_due_at = desk.sla.first_response_due(row.priority, row.created_at)
    row.resolution_due_at = desk.sla.resolution_due(row.priority, row.created_at)
    if row.sla_paused_at is not None and row.resolution_remaining_s is not None:
        # Kept in the new priority's own clock (business or 24x7 time): resuming counts
        # it on that clock.
        row.resolution_remaining_s = desk.sla.remaining(
            row.priority, row.sla_paused_at, row.resolution_due_at
        ).total_seconds()
    if not row.escalated:
        row.next_escalation_at = None


def _leave_triage_queue(session: Session, row: TicketRow, actor: str, now: datetime) -> bool:
    """A ticket in the human triage queue that people have now routed leaves it. True
    when this update routed it."""
    routed = row.triage_state == TriageState.needs_human.value and all(
        getattr(row, f) is not None for f in ROUTING_FIELDS
    )
    if routed:
        row.triage_state = TriageState.done.value
        record(session, row, actor, "triaged_by_human", {}, now)
    return routed


def _change_status(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    changes: TicketChanges,
    actor: str,
    now: datetime,
) -> None:
    """The update's status move, or a new `pending_until` for a ticket that stays pending."""
    if changes.status is not None and changes.status.value != row.status:
        transition(desk, session, row, changes.status, actor, None, now, changes.pending_until)
    elif changes.pending_until is not None and row.status == Status.pending.value:
        row.pending_until = changes.pending_until
        details = {"pending_until": changes.pending_until.isoformat()}
        record(session, row, actor, "updated", details, now)


def transition(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    target: Status,
    actor: str,
    reason: str | None,
    now: datetime,
    pending_until: datetime | None = None,
) -> None:
    """Move a row-locked `row` to `target` inside the caller's transaction, running
    the SLA clocks, timers, events and audit entry that go with the move."""
    current = Status(row.status)
    check_transition(current, target)
    if target is Status.solved:
        # Solved late counts against SLA compliance even if no worker pass saw it due.
        mark_breached(session, row, now)
    _move_clocks(desk, row, current, target, now)
    row.pending_until = (
        (pending_until or now + desk.config.pending_reminder) if target is Status.pending else None
    )
    if target is Status.solved:
        row.solved_at = now
        _send_survey(desk, session, row, actor, now)
    elif target is Status.reopened:
        row.solved_at = None
    elif target is Status.closed:
        row.closed_at = now
    row.status = target.value
    row.updated_at = now
    details: dict[str, Any] = {"from": current.value, "to": target.value}
    if reason:
        details["reason"] = reason
    if row.pending_until is not None:
        details["pending_until"] = row.pending_until.isoformat()
    record(session, row, actor, "status_changed", details, now)


def _move_clocks(
    desk: DeskContext, row: TicketRow, current: Status, target: Status, now: datetime
) -> None:
    """Pause the resolution clock on entering a paused status (keeping the business time
    left), resume it on leaving one."""
    if target in PAUSED and current not in PAUSED and row.resolution_due_at is not None:
        row.sla_paused_at = now
        row.resolution_remaining_s = desk.sla.remaining(
            row.priority, now, row.resolution_due_at
        ).total_seconds()
    if target in ACTIVE and current in PAUSED and row.resolution_remaining_s is not None:
        row.resolution_due_at = desk.sla.resume(
            row.priority, now, timedelta(seconds=row.resolution_remaining_s)
        )
        row.sla_paused_at = None
        row.resolution_remaining_s = None


def _send_survey(
    desk: DeskContext, session: Session, row: TicketRow, actor: str, now: datetime
) -> None:
    """A CSAT survey for a solved ticket, announced with the `ticket.solved` event."""
    token = new_token(desk, session, row.id, CSAT, now)
    survey = desk.config.survey_url.format(token=token)
    payload = {
        "reference": format_reference(row.id),
        "to": row.requester,
        "by": actor,
        "survey_url": survey,
    }
    outbox.enqueue(session, "ticket.solved", row.id, payload, now)


def late_clocks(row: TicketRow, now: datetime) -> list[str]:
    """The SLA clocks of `row` past due at `now`: the first response while nobody
    answered, the resolution while it runs (or, paused, when no time was left)."""
    late = []
    if (
        row.first_response_at is None
        and row.first_response_due_at is not None
        and row.first_response_due_at <= now
    ):
        late.append("first_response")
    if Status(row.status) in PAUSED:
        if row.resolution_remaining_s is not None and row.resolution_remaining_s <= 0:
            late.append("resolution")
    elif row.resolution_due_at is not None and row.resolution_due_at <= now:
        late.append("resolution")
    return late


def mark_breached(
    session: Session,
    row: TicketRow,
    now: datetime,
    actor: str = "system:sla",
    late: list[str] | None = None,
) -> bool:
    """Flag a row-locked ticket as having missed its SLA when a clock is late (once,
    with an `sla_breached` audit entry). True when this call flagged it."""
    late = late_clocks(row, now) if late is None else late
    if not late or row.sla_breached:
        return False
    row.sla_breached = True
    record(session, row, actor, "sla_breached", {"clocks": late}, now)
    return True


def rate(desk: DeskContext, token: str, rating: int, comment: str | None = None) -> TicketView:
    """Record a CSAT rating (1-5) from a survey link; 2 or less flags the ticket
    for follow-up."""
    if not 1 <= rating <= 5:
        raise TriageError(f"rating {rating}: expected 1 to 5")
    now = desk.clock()
    with desk.sessions.begin() as session:
        survey = redeem(session, token, CSAT, now)
        if survey.rating is not None:
            raise Conflict("this survey was already answered")
        row = lock(session, survey.ticket_id)
        survey.rating = rating
        survey.comment = comment
        survey.answered_at = now
        followup = rating <= 2
        if followup:
            row.needs_followup = True
        details = {"rating": rating, "comment": comment, "followup": followup}
        customer = f"customer:{row.requester or 'anonymous'}"
        record(session, row, customer, "csat_received", details, now)
        outbox.enqueue(session, "csat.received", row.id, details, now)
        number = row.id
    return get(desk, number)
