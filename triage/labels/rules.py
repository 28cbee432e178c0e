"""The desk's own tickets as training data: only what people decided, and outcomes.

`export_desk(database, out)` writes the store's tickets in the common format (Parquet in
the `Ticket` contract, `triage.dataset`) for `triage train`. A model retrained on its own
unconfirmed answers would only learn them more firmly, mistakes included, so a label is
written only where a person decided it or where the desk saw it happen:

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

The read is one snapshot (a read-only transaction: SQLite's WAL snapshot, REPEATABLE READ
on PostgreSQL) streamed with `yield_per`: tickets come `batch_rows` at a time, each batch
with its audit entries, answers and surveys, so memory does not grow with the store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from triage.contract import Ticket
from triage.dataset import TicketWriter
from triage.desk.ledger import PREDICTED_FIELDS
from triage.desk.records import Direction
from triage.desk.reference import format_reference
from triage.desk.status import Status
from triage.errors import RowError, TriageError
from triage.store import connect, head_revision, session_factory
from triage.store.models import AuditRow, CsatRow, MessageRow, TicketRow

# Fields a person's decision labels (the heads the desk stores a prediction for).
DECIDED_FIELDS: tuple[str, ...] = PREDICTED_FIELDS
# Statuses whose SLA outcome and answer are known.
FINAL_STATUSES: tuple[str, ...] = (Status.solved.value, Status.closed.value)
# Desk.rate flags a rating of 2 or less for follow-up: the answer did not satisfy.
UNSATISFIED_RATING = 2
# Tickets per streamed batch (each batch also loads its audit entries and answers).
BATCH_ROWS = 500

# The audit actions that set a decided field, and who stands behind each.
_SETTING_ACTIONS = ("created", "triaged", "updated", "assigned", "unassigned")
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
class _Decisions:
    """Who last set each decided field of one ticket (from its audit entries), the value
    a person set, and the tags the ticket opened with."""

    setter: dict[str, str] = field(default_factory=dict)
    person_value: dict[str, Any] = field(default_factory=dict)
    opening_tags: list[str] | None = None

    @classmethod
    def from_audit(cls, entries: Sequence[AuditRow]) -> _Decisions:
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


def desk_training_tickets(
    engine: Engine,
    report: DeskExportReport,
    *,
    batch_rows: int = BATCH_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[Ticket]:
    """The store's tickets that carry a confirmed label or answer, in id order, streamed
    from one snapshot; `report` counts what was written and withheld. `on_progress` gets
    (tickets read, tickets in the store) after each batch."""
    where = report.database
    sessions = _snapshot_sessions(engine)
    try:
        with sessions() as session:
            check_schema(session.connection(), where)
            total = session.scalar(select(func.count()).select_from(TicketRow)) or 0
            if on_progress is not None:
                on_progress(0, total)
            result = session.scalars(
                select(TicketRow).order_by(TicketRow.id).execution_options(yield_per=batch_rows)
            )
            for rows in result.partitions():
                ids = [row.id for row in rows]
                final = [row.id for row in rows if row.status in FINAL_STATUSES]
                audit = _audit(session, ids)
                answers = _answers(session, final)
                ratings = _ratings(session, final)
                for row in rows:
                    ticket = _training_ticket(
                        row,
                        _Decisions.from_audit(audit.get(row.id, ())),
                        answers.get(row.id, ()),
                        ratings.get(row.id, ()),
                        report,
                        where,
                    )
                    if ticket is not None:
                        yield ticket
                if on_progress is not None:
                    on_progress(report.tickets_read, total)
    except SQLAlchemyError as exc:
        raise TriageError(f"{where}: cannot read the store ({_reason(exc)})") from exc


def export_desk(
    database: str | Engine,
    out: str | Path,
    *,
    batch_rows: int = BATCH_ROWS,
    on_progress: Callable[[int, int], None] | None = None,
) -> DeskExportReport:
    """Write the store's confirmed labels and answers to `out` (atomically: a failed export
    leaves no file). `database` is a URL (`settings.database_url`) or an engine."""
    engine = _open(database) if isinstance(database, str) else database
    report = DeskExportReport(
        database=engine.url.render_as_string(hide_password=True), out=Path(out)
    )
    try:
        with TicketWriter(out) as writer:
            writer.write_all(
                desk_training_tickets(
                    engine, report, batch_rows=batch_rows, on_progress=on_progress
                )
            )
        report.tickets_written = writer.rows_written
    finally:
        if isinstance(database, str):
            engine.dispose()
    return report


def check_schema(connection: Connection, where: str) -> None:
    """Raise a `TriageError` unless the database holds the desk's schema at the revision
    this code reads (a store never upgraded, or the wrong database, is a clear error)."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise TriageError(
            f"{where}: no help-desk store in this database (wrong --database-url? "
            "`triage db upgrade` creates an empty one)"
        )
    head = head_revision()
    if revision != head:
        raise TriageError(
            f"{where}: the store is at schema revision {revision}, this version of triage "
            f"reads {head}; run `triage db upgrade` with the newer of the two"
        )


def _open(url: str) -> Engine:
    """An engine on `url`; a SQLite file that does not exist is an error, not a new file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if (
            path
            and path != ":memory:"
            and not path.startswith("file:")
            and not Path(path).is_file()
        ):
            raise TriageError(f"{url}: no such database file ({Path(path).resolve()})")
    return connect(url)


def _snapshot_sessions(engine: Engine) -> sessionmaker[Session]:
    """Read-only sessions that see one snapshot for the whole export."""
    if engine.dialect.name == "postgresql":
        # READ COMMITTED would let a ticket and its audit entries come from two moments.
        engine = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    return session_factory(engine, read_only=True)


def _audit(session: Session, ids: list[int]) -> dict[int, list[AuditRow]]:
    rows = session.scalars(
        select(AuditRow)
        .where(AuditRow.ticket_id.in_(ids), AuditRow.action.in_(_SETTING_ACTIONS))
        .order_by(AuditRow.ticket_id, AuditRow.id)
    )
    grouped: dict[int, list[AuditRow]] = defaultdict(list)
    for row in rows:
        grouped[row.ticket_id].append(row)  # type: ignore[index]
    return grouped


def _answers(session: Session, ids: list[int]) -> dict[int, list[MessageRow]]:
    """The replies (both ways) and auto-replies of solved or closed tickets, oldest first;
    reminders and the opening message are not answers."""
    if not ids:
        return {}
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.ticket_id.in_(ids), MessageRow.kind.in_(("reply", "auto_reply")))
        .order_by(MessageRow.ticket_id, MessageRow.id)
    )
    grouped: dict[int, list[MessageRow]] = defaultdict(list)
    for row in rows:
        grouped[row.ticket_id].append(row)
    return grouped


def _ratings(session: Session, ids: list[int]) -> dict[int, list[tuple[datetime, int]]]:
    """(survey sent, rating) of the answered surveys of solved or closed tickets."""
    if not ids:
        return {}
    rows = session.execute(
        select(CsatRow.ticket_id, CsatRow.sent_at, CsatRow.rating).where(
            CsatRow.ticket_id.in_(ids), CsatRow.rating.is_not(None)
        )
    )
    grouped: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for ticket_id, sent_at, rating in rows:
        grouped[ticket_id].append((sent_at, rating))
    return grouped


def _training_ticket(
    row: TicketRow,
    decisions: _Decisions,
    messages: Sequence[MessageRow],
    ratings: Sequence[tuple[datetime, int]],
    report: DeskExportReport,
    where: str,
) -> Ticket | None:
    """One stored ticket in the contract with only its confirmed labels, or None (and
    counted) when it has none."""
    report.tickets_read += 1
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
    final = row.status in FINAL_STATUSES
    if final:
        labels["sla_breached"] = bool(row.sla_breached)
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


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's one-line reason, without SQLAlchemy's statement dump."""
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
