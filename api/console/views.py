"""What the console's pages show, shaped from the desk's views: queue rows, predictions,
suggested replies. No HTTP here and no HTML: the templates draw these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from triage.desk import Status, TicketQuery, TicketView
from triage.desk.records import TriageState
from triage.desk.status import ACTIVE

# The fields a person can accept or change on the ticket page (the desk's predicted fields).
EDITABLE = ("category", "subcategory", "priority", "team", "assignee")
OPEN_STATUSES = [Status.new, Status.open, Status.reopened, Status.pending]
QUEUES = ("triage", "mine", "team", "breaching", "unconfirmed", "all")
# "Breaching soon": a running clock due within this long.
BREACHING_WINDOW = timedelta(hours=2)
SORT_KEYS = ("ticket", "due", "risk", "priority", "category", "language", "channel", "status")


@dataclass(frozen=True)
class QueueRow:
    """One ticket of a queue, as its row shows it."""

    ticket: TicketView
    seconds_left: float | None  # the running clock's time left; negative once past due
    due_label: str
    late: bool
    priority_rank: int


def queue_query(
    name: str, agent: str, teams: list[str] | None, now: datetime, limit: int
) -> TicketQuery:
    """The desk filter behind a named queue; `teams`: the agent's teams (the team queue)."""
    base: dict[str, Any] = {"status": OPEN_STATUSES, "limit": limit}
    if name == "triage":
        base["triage_state"] = TriageState.needs_human
    elif name == "mine":
        base["assignee"] = agent
    elif name == "team":
        # An agent without a team has an empty team queue.
        base["teams"] = teams or []
    elif name == "breaching":
        base["due_before"] = now + BREACHING_WINDOW
    elif name == "unconfirmed":
        base["priority_unconfirmed"] = True
    return TicketQuery(**base)


def time_left(ticket: TicketView, now: datetime) -> float | None:
    """Seconds until the ticket's next running SLA clock is due (negative: late); None
    when no clock runs (pending, solved, no SLA)."""
    if ticket.status not in ACTIVE:
        return None
    due = ticket.resolution_due_at
    first = ticket.first_response_due_at
    if ticket.first_response_at is None and first is not None and (due is None or first < due):
        due = first
    return None if due is None else (due - now).total_seconds()


def format_duration(seconds: float | None) -> str:
    """`2h 05m`, `-40m`, `3d 4h`; an em dash when there is no clock."""
    if seconds is None:
        return "—"
    sign = "-" if seconds < 0 else ""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {mins:02d}m"
    return f"{sign}{mins}m"


def queue_rows(
    tickets: list[TicketView], now: datetime, priorities: list[str], sort: str, desc: bool
) -> list[QueueRow]:
    """The queue's rows, sorted by column `sort` (the desk's urgency order for `due`)."""
    ranks = {name: i for i, name in enumerate(priorities)}
    rows = []
    for t in tickets:
        left = time_left(t, now)
        rank = ranks.get((t.priority or "").lower(), len(ranks))
        late = t.sla_breached or (left is not None and left < 0)
        rows.append(QueueRow(t, left, format_duration(left), late, rank))
    keys: dict[str, Any] = {
        "ticket": lambda r: r.ticket.id,
        "due": lambda r: (r.seconds_left is None, r.seconds_left or 0.0),
        "risk": lambda r: r.ticket.escalation_risk or 0.0,
        "priority": lambda r: r.priority_rank,
        "category": lambda r: r.ticket.category or "",
        "language": lambda r: r.ticket.language or "",
        "channel": lambda r: r.ticket.channel,
        "status": lambda r: r.ticket.status.value,
    }
    if sort in keys:
        rows.sort(key=keys[sort], reverse=desc)
    return rows


@dataclass(frozen=True)
class HeadRow:
    """One prediction on the ticket page."""

    field: str
    label: str | None  # the head's answer; None when it abstained
    confidence: float | None
    abstained: bool
    suggestion: str | None  # what Accept sets: the answer, or the abstaining head's top label
    current: str | None
    alternatives: list[str]
    unconfirmed: bool


def head_rows(ticket: TicketView, prediction: dict[str, Any] | None) -> list[HeadRow]:
    """The ticket's predictions, head by head, beside the values the ticket has now."""
    rows = []
    for name in EDITABLE:
        head = (prediction or {}).get(name)
        current = getattr(ticket, name)
        unconfirmed = name == "priority" and ticket.priority_unconfirmed
        if not head:
            rows.append(HeadRow(name, None, None, False, None, current, [], unconfirmed))
            continue
        top = [str(s["label"]) for s in head.get("top_k") or [] if s.get("label")]
        label = head.get("label")
        abstained = bool(head.get("abstained")) or label is None
        suggestion = label if not abstained else (top[0] if top else None)
        rows.append(
            HeadRow(
                name,
                None if abstained else label,
                float(head.get("confidence", 0.0)),
                abstained,
                suggestion,
                current,
                top,
                unconfirmed,
            )
        )
    return rows


@dataclass(frozen=True)
class Suggestion:
    """A reply the agent may put in the reply box (never sent by itself)."""

    source: str  # "kb" (a knowledge-base article) or "answer" (a similar past reply)
    ref: str
    text: str
    score: float


# Approved templates offered on a ticket page, most used first.
TEMPLATES_SHOWN = 3


def template_suggestions(
    templates: list[Any], language: str | None, reference: str
) -> list[Suggestion]:
    """Approved templates in the ticket's language (every one while the language is
    unknown), filled in for this ticket, most used first."""
    from triage.desk.templates import fill

    fitting = [t for t in templates if language is None or t.language in (None, language)]
    fitting = fitting[:TEMPLATES_SHOWN]
    return [
        Suggestion(
            "template", f"template-{t.id}", fill(t.text, customer_name=None, ticket=reference), 0.0
        )
        for t in fitting
    ]


def suggestions(*auto_replies: dict[str, Any] | None) -> list[Suggestion]:
    """The suggested replies of the stored and the fresh triage results, once each."""
    seen: set[str] = set()
    found = []
    for reply in auto_replies:
        if not reply or reply.get("answer_id") in seen:
            continue
        seen.add(str(reply.get("answer_id")))
        ref = reply.get("article_id") or reply.get("answer_id") or ""
        found.append(
            Suggestion(
                str(reply.get("kind", "answer")),
                str(ref),
                str(reply.get("text", "")),
                float(reply.get("score", 0.0)),
            )
        )
    return found
