"""Automatic replies: the policy's decision on a triaged ticket, the reply itself, the
customer's answer to it (by link or by writing back), and the return to the team's
queue when nobody answers.

What is sent: a knowledge-base article, or a past reply whose template a person approved
(`triage.desk.templates`), never another customer's reply as it was written. When: only
when `AutoReplyPolicy` says so; every decision is audited (`auto_reply_decided`) with
its reasons, held or suggested ones included.

After sending, the ticket stays what it was for the desk: its status, team, assignee,
priority and SLA clocks are untouched, and the auto-reply is not a first response. While
the customer has not answered (until `auto_reply_due_at`), the assigner leaves it
unassigned in its team's queue; confirmed, it is solved; "I still need help", an
answer by e-mail, or no answer in time, and it is assigned like any other ticket.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage.contract import AutoReply, TriageResult
from triage.desk import outbox
from triage.desk.changes import transition
from triage.desk.ledger import DeskContext, lock, record
from triage.desk.queries import get
from triage.desk.records import Direction, TicketView
from triage.desk.reference import format_reference, parse_ticket_id, subject_tag
from triage.desk.reply_policy import ReplyAction, ReplyDecision, ReplyFacts
from triage.desk.status import Status
from triage.desk.templates import approved_template, fill
from triage.desk.tokens import new_token, redeem
from triage.errors import Conflict
from triage.store.models import MessageRow, ReplyTemplateRow, TicketRow

ACTOR = "system:auto-reply"
# Outcomes of a sent auto-reply (`TicketRow.auto_reply_outcome`); null while waiting.
RESOLVED, REOPENED, NO_ANSWER = "resolved", "reopened", "no_answer"

# The line under an auto-reply that links to the confirm page, per language.
_CONFIRM_LINE = {
    "en": "Did this solve your request? Tell us here: {url}",
    "ru": "Это решило ваш вопрос? Ответьте здесь: {url}",
    "pl": "Czy to rozwiązało Twój problem? Daj nam znać tutaj: {url}",
    "de": "Hat das Ihr Anliegen gelöst? Sagen Sie es uns hier: {url}",
}


def consider(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    result: TriageResult,
    abstained: list[str],
    now: datetime,
) -> ReplyDecision | None:
    """Decide on the matched answer of a just-triaged ticket, audit the decision and
    send the reply when the policy allows. None when there is nothing to decide."""
    reply = result.auto_reply
    if reply is None or row.auto_reply_id is not None:
        return None
    template = approved_template(session, reply.text) if reply.kind == "answer" else None
    facts = _facts(row, result, abstained, reply, template)
    decision = desk.config.reply_policy.decide(facts)
    if not desk.config.auto_reply and decision.action is ReplyAction.send:
        decision = ReplyDecision(action=ReplyAction.suggest, reasons=["disabled"])
    if decision.action is ReplyAction.send and row.status != Status.new.value:
        decision = ReplyDecision(action=ReplyAction.hold, reasons=["reopened"])
    details: dict[str, Any] = {
        "action": decision.action.value,
        "reasons": decision.reasons,
        "answer_id": reply.answer_id,
        "kind": reply.kind,
        "score": round(reply.score, 4),
        "template_id": template.id if template is not None else None,
    }
    if decision.signals:
        details["signals"] = decision.signals
    record(session, row, ACTOR, "auto_reply_decided", details, now)
    if decision.action is ReplyAction.send:
        _send(desk, session, row, reply, template, now)
    return decision


def _facts(
    row: TicketRow,
    result: TriageResult,
    abstained: list[str],
    reply: AutoReply,
    template: ReplyTemplateRow | None,
) -> ReplyFacts:
    # An abstaining priority head still has a leading guess: one leaning towards
    # "urgent" holds the reply back like a confident "urgent" would.
    predicted = row.predicted_priority
    if predicted is None and result.priority is not None and result.priority.top_k:
        predicted = max(result.priority.top_k, key=lambda s: s.probability).label
    return ReplyFacts(
        kind=reply.kind,
        confident=reply.safe_to_send,
        approved=reply.kind == "kb" or template is not None,
        priority=row.priority,
        predicted_priority=predicted,
        escalation_risk=row.escalation_risk,
        unconfirmed_priority_probabilities=(
            {s.label: s.probability for s in result.priority.top_k}
            if row.priority_unconfirmed and result.priority is not None
            else None
        ),
        escalation_risk_threshold=row.escalation_risk_threshold,
        category=row.category,
        subcategory=row.subcategory,
        category_abstained="category" in abstained and row.category is None,
        language=row.language,
        language_supported=result.language.supported if result.language is not None else True,
        reopened=row.status == Status.reopened.value,
        follow_up_of=row.follow_up_of,
        subject=row.subject or "",
        body=row.body or "",
    )


def _send(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    reply: AutoReply,
    template: ReplyTemplateRow | None,
    now: datetime,
) -> None:
    subject = f"{subject_tag(row.id, row.reply_token)} {row.subject}".strip()
    if template is not None:
        text = fill(template.text, customer_name=None, ticket=format_reference(row.id))
        answer_id = f"template-{template.id}"
    else:
        text, answer_id = reply.text, reply.article_id or reply.answer_id
    token = new_token(desk, session, row.id, "confirm", now)
    confirm_url = desk.config.confirm_url.format(token=token)
    line = _CONFIRM_LINE.get((row.language or "en")[:2], _CONFIRM_LINE["en"])
    # The thread keeps the answer; the customer's copy (the event) adds the confirm link,
    # a credential that neither agents' views nor exported training text should hold.
    body = f"{text}\n\n{line.format(url=confirm_url)}"
    session.add(
        MessageRow(
            ticket_id=row.id,
            direction=Direction.outbound.value,
            channel=row.channel,
            author=ACTOR,
            subject=subject,
            body=text,
            kind="auto_reply",
            created_at=now,
        )
    )
    row.auto_reply_id = answer_id
    row.auto_reply_due_at = now + desk.config.auto_reply_confirm_within
    row.updated_at = now
    details = {
        "answer_id": answer_id,
        "kind": reply.kind,
        "score": round(reply.score, 4),
        "confirm_by": row.auto_reply_due_at.isoformat(),
    }
    record(session, row, ACTOR, "auto_replied", details, now)
    # The event carries the message itself: the webhook receiver delivers it.
    message = outbox.outbound_message(row, subject, body)
    outbox.enqueue(
        session,
        "ticket.auto_replied",
        row.id,
        {**details, **message, "confirm_url": confirm_url},
        now,
    )


def awaiting_answer(row: TicketRow) -> bool:
    """Whether an auto-reply on `row` waits for the customer (the assigner waits too)."""
    return (
        row.auto_reply_id is not None
        and row.auto_reply_outcome is None
        and row.auto_reply_due_at is not None
    )


def settle(
    desk: DeskContext, session: Session, row: TicketRow, outcome: str, actor: str, now: datetime
) -> None:
    """Record the customer's answer to the auto-reply on a row-locked ticket: solved
    when it helped, else back to the team (reopened if it had been set aside)."""
    row.auto_reply_outcome = outcome
    row.auto_reply_due_at = None
    record(session, row, actor, "auto_reply_answered", {"outcome": outcome}, now)
    if outcome == RESOLVED:
        if row.status != Status.solved.value:
            transition(desk, session, row, Status.solved, actor, "auto-reply resolved", now)
    elif row.status in (Status.pending.value, Status.solved.value):
        transition(desk, session, row, Status.reopened, actor, "auto-reply did not help", now)


def answer_auto_reply(
    desk: DeskContext, ticket_id: int | str, solved: bool, *, actor: str
) -> TicketView:
    """The customer's answer to an auto-reply: solved, or still needs an agent."""
    number = parse_ticket_id(ticket_id)
    with desk.sessions.begin() as session:
        row = lock(session, number)
        _answer(desk, session, row, solved, actor, desk.clock())
    return get(desk, number)


def _answer(
    desk: DeskContext, session: Session, row: TicketRow, solved: bool, actor: str, now: datetime
) -> None:
    outcome = RESOLVED if solved else REOPENED
    if row.auto_reply_id is None:
        raise Conflict(f"{format_reference(row.id)} got no auto-reply")
    if row.auto_reply_outcome == outcome:
        return
    if row.auto_reply_outcome not in (None, NO_ANSWER):
        raise Conflict(
            f"{format_reference(row.id)}: the auto-reply was already marked "
            f"{row.auto_reply_outcome}"
        )
    settle(desk, session, row, outcome, actor, now)


def confirm(desk: DeskContext, token: str, solved: bool) -> TicketView:
    """The customer's answer from the link under an auto-reply (a "confirm" token)."""
    now = desk.clock()
    with desk.sessions.begin() as session:
        link = redeem(session, token, "confirm", now)
        if link.answered_at is not None:
            raise Conflict("this link was already used")
        row = lock(session, link.ticket_id)
        link.answered_at = now
        _answer(desk, session, row, solved, f"customer:{row.requester or 'anonymous'}", now)
        number = row.id
    return get(desk, number)


def return_unanswered(session: Session, row: TicketRow, actor: str, now: datetime) -> bool:
    """Hand a row-locked ticket whose auto-reply nobody confirmed in time back to its
    team's queue, with a note in the audit log and an event. True when it did."""
    due = row.auto_reply_due_at
    if not awaiting_answer(row) or due is None or due > now:
        return False
    row.auto_reply_outcome = NO_ANSWER
    row.auto_reply_due_at = None
    row.updated_at = now
    if row.status in (Status.solved.value, Status.closed.value):
        # An agent already solved it: no queue to return to, the outcome is recorded.
        record(session, row, actor, "auto_reply_unanswered", {"outcome": NO_ANSWER}, now)
        return True
    note = "The customer did not confirm the auto-reply in time: back to the team's queue."
    details = {"outcome": NO_ANSWER, "team": row.team, "note": note}
    record(session, row, actor, "auto_reply_unanswered", details, now)
    outbox.enqueue(session, "ticket.auto_reply_unanswered", row.id, details, now)
    return True
