"""Which values of the desk's own tickets are training labels: only what people decided,
and outcomes.

`triage.labels.export.export_desk(database, out)` writes the store's tickets in the
common format (Parquet in the `Ticket` contract, `triage.dataset`) for `triage train`. A
model retrained on its own unconfirmed answers would only learn them more firmly, mistakes
included, so a label is written only where a person decided it or where the desk saw it
happen:

- **category, subcategory, priority, team, assignee**: the ticket's current value when
  the last change to that field was a person's (`Desk.update`, as its `updated` audit
  entry records it: every correction, a confirmed fallback priority, a field a person set
  on a ticket the model abstained on or never scored, a value set back to the model's
  answer). A person is any actor but the model, the desk's own jobs (`system:*`) and
  customers (`customer:*`): an agent (`agent:NAME`) or an API user (`api:KEY`).
  Withheld: what the model filled, the fallback priority of a `priority_unconfirmed`
  ticket, what the requester or an upstream system set at intake, and the assigner's
  pick (it weighs the model's assignee head).
- A field nobody touched on a solved ticket is **not** taken as "confirmed by not
  correcting": agents fix what stops them working a ticket (a wrong team), rarely a
  subcategory or a priority that was urgent enough, so silence says little, and those
  labels would be exactly the model's confident answers, its confident mistakes
  included: the errors retraining should fix would be the ones it learns.
- **sla_breached**: the SLA outcome of solved and closed tickets (a late first reply or a
  late solve marks it for good); an open ticket has no outcome yet. **escalated** is
  never written: the worker also escalates on the model's predicted risk, so it partly
  records the model's own prediction; the escalation head learns from `sla_breached`.
- **agent_answer** (for the auto-reply matcher): on a solved or closed ticket, the desk's
  last outbound message before the solve, either an agent's reply or an auto-reply the
  customer confirmed solved the request (`kb_article_id` then names its KB article).
  Left out when the customer rated that solve 2 or less (the desk's follow-up threshold):
  the answer did not satisfy.
- `first_response_at` and `resolved_at` (the last solve) as they happened.

The features are what the model sees at intake: the opening message (subject and body,
never the thread), `created_at`, channel, requester, customer tier, language, extras, and
the tags the ticket opened with (tags people add later can carry the outcome). Ids are
the desk's references (`T-123`). Tickets without any label or answer are skipped and
counted; the desk holds no KB articles, so no `.kb.parquet` is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from triage.contract import Ticket
from triage.desk.ledger import PREDICTED_FIELDS
from triage.desk.records import Direction
from triage.desk.reference import format_reference
from triage.desk.status import Status
from triage.errors import RowError
from triage.store.models import AuditRow, MessageRow, TicketRow

# Fields a person's decision labels (the heads the desk stores a prediction for).
DECIDED_FIELDS: tuple[str, ...] = PREDICTED_FIELDS
# Statuses whose SLA outcome and answer are known.
FINAL_STATUSES: tuple[str, ...] = (Status.solved.value, Status.closed.value)
# Desk.rate flags a rating of 2 or less for follow-up: the answer did not satisfy.
UNSATISFIED_RATING = 2
# The audit actions that set a decided field (what `Decisions.from_audit` reads).
SETTING_ACTIONS = ("created", "triaged", "updated", "assigned", "unassigned")
# Where a withheld value came from (the report counts them).
MODEL, FALLBACK, INTAKE, ASSIGNER, MACHINE, UNKNOWN = (
    "model",
    "fallback priority",
    "intake",
    "assigner",
    "system",
    "unknown",
)
_PERSON = "person"


def is_person(actor: str) -> bool:
    """True for a desk person (an agent or an API user): not the model, not the desk's
    own jobs (`system:*`), not a customer (`customer:*`)."""
    return actor != "model" and not actor.startswith(("system:", "customer:"))


@dataclass
class DeskExportReport:
    """What an export wrote, and what it withheld and why."""

    database: str
    out: Path | None = None
    tickets_read: int = 0
    tickets_written: int = 0
    # Not written: every value they had was unconfirmed, or they had none yet.
    skipped_unconfirmed: int = 0
    skipped_unlabelled: int = 0
    # Labels written per field (the decided fields, `sla_breached`, `agent_answer`).
    labels: Counter[str] = field(default_factory=Counter)
    # Values present but unconfirmed, per field and per source (model, fallback priority,
    # intake, assigner, system, unknown).
    withheld: Counter[str] = field(default_factory=Counter)
    withheld_by_source: Counter[str] = field(default_factory=Counter)
    breached: int = 0
    # Tickets not solved or closed: no SLA outcome yet.
    no_outcome: int = 0
    # Answers left out because the customer rated the solve 2 or less.
    answers_unsatisfied: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        return {
            "database": self.database,
            "out": str(self.out) if self.out is not None else None,
            "tickets_read": self.tickets_read,
            "tickets_written": self.tickets_written,
            "skipped_unconfirmed": self.skipped_unconfirmed,
            "skipped_unlabelled": self.skipped_unlabelled,
            "labels": {
                f: self.labels[f] for f in (*DECIDED_FIELDS, "sla_breached", "agent_answer")
            },
            "withheld": {f: self.withheld[f] for f in DECIDED_FIELDS},
            "withheld_by_source": dict(self.withheld_by_source.most_common()),
            "breached": self.breached,
            "no_outcome": self.no_outcome,
            "answers_unsatisfied": self.answers_unsatisfied,
        }


@dataclass
class Decisions:
    """Who last set each decided field of one ticket (from its audit entries), the value
    a person set, and the tags the ticket opened with."""

    setter: dict[str, str] = field(default_factory=dict)
    person_value: dict[str, Any] = field(default_factory=dict)
    opening_tags: list[str] | None = None

    @classmethod
    def from_audit(cls, entries: Sequence[AuditRow]) -> Decisions:
        """Replay a ticket's setting entries, oldest first."""
        decisions = cls()
        for entry in entries:
            details = entry.details or {}
            if entry.action == "created":
                # NewTicket may carry these: the requester's (or an upstream system's) say.
                for name in ("category", "priority", "team"):
                    decisions.setter[name] = INTAKE
            elif entry.action == "triaged":
                for name in details.get("filled") or {}:
                    decisions.setter[name] = MODEL
                if details.get("priority_fallback"):
                    decisions.setter["priority"] = FALLBACK
            elif entry.action == "updated":
                who = _PERSON if is_person(entry.actor) else MACHINE
                for name in DECIDED_FIELDS:
                    change = details.get(name)
                    if isinstance(change, dict):
                        decisions.setter[name] = who
                        decisions.person_value[name] = change.get("new")
                tags = details.get("tags")
                if decisions.opening_tags is None and isinstance(tags, dict):
                    decisions.opening_tags = list(tags.get("old") or [])
            elif entry.action == "assigned":
                # The assigner's pick, whoever asked for it: not a person's decision.
                decisions.setter["assignee"] = ASSIGNER
            elif entry.action == "unassigned":
                decisions.setter["assignee"] = MACHINE
        return decisions


def training_ticket(
    row: TicketRow,
    decisions: Decisions,
    messages: Sequence[MessageRow],
    ratings: Sequence[tuple[datetime, int]],
    report: DeskExportReport,
    where: str,
) -> Ticket | None:
    """One stored ticket in the contract with only its confirmed labels, or None (and
    counted) when it has none."""
    report.tickets_read += 1
    labels, withheld = _decided_labels(row, decisions, report)
    final = row.status in FINAL_STATUSES
    if final:
        labels.update(_outcome_labels(row, messages, ratings, report))
    else:
        report.no_outcome += 1
    if not labels:
        if withheld:
            report.skipped_unconfirmed += 1
        else:
            report.skipped_unlabelled += 1
        return None
    tags = decisions.opening_tags
    if tags is None:
        tags = sorted(t.tag for t in row.tags)
    data = {
        "id": format_reference(row.id),
        "created_at": row.created_at,
        "channel": row.channel,
        "subject": row.subject,
        "body": row.body,
        "requester": row.requester,
        "customer_tier": row.customer_tier,
        "language": row.language,
        "tags": tags,
        "extra": row.extra or {},
        "first_response_at": row.first_response_at,
        "resolved_at": row.solved_at if final else None,
        **labels,
    }
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or None
        raise RowError(where, row.id, name, f"{error['msg']} (ticket {data['id']})") from None


def _decided_labels(
    row: TicketRow, decisions: Decisions, report: DeskExportReport
) -> tuple[dict[str, Any], int]:
    """The decided fields a person confirmed, and how many values were withheld."""
    labels: dict[str, Any] = {}
    withheld = 0
    for name in DECIDED_FIELDS:
        value = getattr(row, name)
        if not value:
            continue
        confirmed = (
            decisions.setter.get(name) == _PERSON
            and decisions.person_value.get(name) == value
            and not (name == "priority" and row.priority_unconfirmed)
        )
        if confirmed:
            labels[name] = value
            report.labels[name] += 1
        else:
            withheld += 1
            report.withheld[name] += 1
            source = FALLBACK if name == "priority" and row.priority_unconfirmed else None
            report.withheld_by_source[source or decisions.setter.get(name, UNKNOWN)] += 1
    return labels, withheld


def _outcome_labels(
    row: TicketRow,
    messages: Sequence[MessageRow],
    ratings: Sequence[tuple[datetime, int]],
    report: DeskExportReport,
) -> dict[str, Any]:
    """A solved or closed ticket's SLA outcome and the answer that solved it (unless the
    customer was unsatisfied)."""
    labels: dict[str, Any] = {"sla_breached": bool(row.sla_breached)}
    report.labels["sla_breached"] += 1
    report.breached += bool(row.sla_breached)
    answer, article = _answer(row, messages)
    if answer is not None and _unsatisfied(row, ratings):
        report.answers_unsatisfied += 1
        answer, article = None, None
    if answer is not None:
        labels["agent_answer"] = answer
        labels["kb_article_id"] = article
        report.labels["agent_answer"] += 1
    return labels


def _answer(row: TicketRow, messages: Sequence[MessageRow]) -> tuple[str | None, str | None]:
    """The answer that solved `row` and its KB article: the desk's last outbound message
    before the (last) solve, either an agent's reply (the agent judged it solved) or an
    auto-reply the customer confirmed and did not write back to afterwards."""
    solved_at = row.solved_at
    before = [m for m in messages if solved_at is None or m.created_at <= solved_at]
    outbound = [i for i, m in enumerate(before) if m.direction == Direction.outbound.value]
    if not outbound:
        return None, None
    last = before[outbound[-1]]
    if not last.body.strip():
        return None, None
    if last.kind != "auto_reply":
        return last.body, None
    wrote_back = any(m.direction == Direction.inbound.value for m in before[outbound[-1] + 1 :])
    if row.auto_reply_outcome != "resolved" or wrote_back:
        return None, None  # sent, but the customer still needed an agent
    sent = (row.prediction or {}).get("auto_reply") or {}
    article = None
    if sent.get("kind") == "kb" and sent.get("answer_id") == row.auto_reply_id:
        article = sent.get("article_id") or row.auto_reply_id
    return last.body, article


def _unsatisfied(row: TicketRow, ratings: Sequence[tuple[datetime, int]]) -> bool:
    """The customer rated the last solve (its survey or a later one) 2 or less."""
    solved_at = row.solved_at
    return any(
        rating <= UNSATISFIED_RATING and (solved_at is None or sent_at >= solved_at)
        for sent_at, rating in ratings
    )
