"""The help desk: intake, threads, status changes, corrections and the audit log.

Every change happens in one database transaction together with its audit entry and
its webhook events, so the log and the outbox never disagree with the tickets.
The triage service is called outside any transaction: a ticket is committed first
(`triage_state = queued`) and only then scored, so a slow or dead triage service
never loses a ticket; the worker re-triages whatever stayed queued.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage.contract import AutoReply, HeadPrediction, Ticket, TriageResult
from triage.desk import outbox
from triage.desk.agents import LOAD_STATUSES
from triage.desk.assignment import AssignmentWeights, lock_assignments, pick_agent
from triage.desk.dashboard import build_dashboard
from triage.desk.records import (
    AuditEntry,
    CorrectionView,
    Dashboard,
    Direction,
    IntakeResult,
    MessageView,
    NewMessage,
    NewTicket,
    TicketChanges,
    TicketPage,
    TicketQuery,
    TicketView,
    TriageState,
)
from triage.desk.reference import find_reference, format_reference, parse_ticket_id, subject_tag
from triage.desk.status import ACTIVE, PAUSED, Status, check_transition
from triage.errors import Conflict, IllegalTransition, NotFound, RemoteUnavailableError, TriageError
from triage.settings import Settings
from triage.sla import BusinessCalendar, SlaPolicies
from triage.store import session_factory
from triage.store.models import (
    AgentRow,
    AuditRow,
    CorrectionRow,
    CsatRow,
    MessageRow,
    TagRow,
    TicketRow,
)
from triage.triager import Triager

log = logging.getLogger(__name__)

# Fields the model predicts and people may override; an override is a correction.
PREDICTED_FIELDS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee")
# A ticket leaves the human triage queue once people or the model filled these.
ROUTING_FIELDS: tuple[str, ...] = ("category", "priority", "team")


def utcnow() -> datetime:
    """The real clock; tests and `triage worker --now` pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeskConfig:
    """Timers and thresholds of the lifecycle."""

    pending_reminder: timedelta = timedelta(hours=72)
    close_after: timedelta = timedelta(days=4)
    retriage_backoff: timedelta = timedelta(seconds=60)
    escalation_risk_threshold: float = 0.7
    # Pick an agent as soon as a ticket is routed (triaged with a team).
    auto_assign: bool = True
    # Send auto-replies the model marks safe, and set the ticket pending.
    auto_reply: bool = True
    # When only the priority head abstains (category and team are known), route the
    # ticket to its team with a fallback priority flagged for a person to confirm,
    # instead of holding it in the human triage queue (see `fallback_priority`).
    route_without_priority: bool = True
    # The fallback priority; None: the SLA policies' default.
    default_priority: str | None = None
    # Where the customer rates a solved ticket; `{token}` is the survey's token.
    survey_url: str = "http://localhost:8000/v1/csat/{token}"
    weights: AssignmentWeights = field(default_factory=AssignmentWeights)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeskConfig:
        """The lifecycle timers configured through `TRIAGE_*` settings."""
        return cls(
            pending_reminder=timedelta(hours=settings.pending_reminder_hours),
            close_after=timedelta(days=settings.close_after_days),
            retriage_backoff=timedelta(seconds=settings.retriage_backoff_s),
            escalation_risk_threshold=settings.escalation_risk_threshold,
            auto_reply=settings.auto_reply_enabled,
            route_without_priority=settings.route_without_priority,
            default_priority=settings.default_priority,
            survey_url=settings.public_url.rstrip("/") + "/v1/csat/{token}",
        )


class Desk:
    """The lifecycle core over one database. Safe to share across threads."""

    def __init__(
        self,
        engine: Engine,
        triager: Triager | None = None,
        *,
        sla: SlaPolicies | None = None,
        config: DeskConfig | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.readers = session_factory(engine, read_only=True)
        self.triager = triager
        self.sla = sla or SlaPolicies()
        self.config = config or DeskConfig()
        self.clock = clock

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        engine: Engine,
        triager: Triager | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Desk:
        """A desk with the calendar, policies and timers the settings describe."""
        calendar = BusinessCalendar.parse(
            settings.business_hours,
            settings.business_timezone,
            frozenset(settings.business_holidays),
        )
        sla = (
            SlaPolicies.load(settings.sla_policies_file, calendar)
            if settings.sla_policies_file
            else SlaPolicies(calendar=calendar)
        )
        default = settings.default_priority
        if default is not None and default.strip().lower() not in sla.policies:
            raise TriageError(
                f"TRIAGE_DEFAULT_PRIORITY {default!r} is not one of the SLA priorities "
                f"({', '.join(sla.policies)})"
            )
        return cls(
            engine,
            triager,
            sla=sla,
            config=DeskConfig.from_settings(settings),
            clock=clock,
        )

    # ------------------------------------------------------------------ intake

    def intake(
        self, new: NewTicket, *, idempotency_key: str | None = None, actor: str | None = None
    ) -> IntakeResult:
        """Store a new ticket, then triage it. A repeated `idempotency_key` returns the
        ticket the first request created instead of creating another."""
        actor = actor or f"customer:{new.requester or 'anonymous'}"
        if idempotency_key:
            existing = self._find_by_key(idempotency_key)
            if existing is not None:
                return IntakeResult(ticket=self.get(existing), created=False)
        try:
            ticket_id = self._insert(new, idempotency_key, actor, follow_up_of=None)
        except IntegrityError:
            # A concurrent retry won the race on the unique key (or the same e-mail
            # was delivered twice): answer with the ticket it created.
            existing = (self._find_by_key(idempotency_key) if idempotency_key else None) or (
                self._find_by_message_id(new.message_id) if new.message_id else None
            )
            if existing is None:
                raise
            return IntakeResult(ticket=self.get(existing), created=False)
        # Only a routed ticket can be assigned: skip the transaction otherwise.
        if self.triage_ticket(ticket_id) and self.config.auto_assign:
            self.assign(ticket_id)
        return IntakeResult(ticket=self.get(ticket_id), created=True)

    def _find_by_key(self, key: str) -> int | None:
        with self.readers() as session:
            return session.scalar(select(TicketRow.id).where(TicketRow.idempotency_key == key))

    def _find_by_message_id(self, message_id: str) -> int | None:
        with self.readers() as session:
            return session.scalar(
                select(MessageRow.ticket_id).where(MessageRow.external_message_id == message_id)
            )

    def _insert(
        self, new: NewTicket, idempotency_key: str | None, actor: str, follow_up_of: int | None
    ) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            row = TicketRow(
                external_id=new.external_id,
                idempotency_key=idempotency_key,
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
                first_response_due_at=self.sla.first_response_due(new.priority, now),
                resolution_due_at=self.sla.resolution_due(new.priority, now),
                triage_state=TriageState.queued.value,
                triage_attempts=0,
                # The worker leaves the ticket to this request for one back-off period.
                retriage_at=now + self.config.retriage_backoff,
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
            self.record(session, row, actor, "created", details, now)
            outbox.enqueue(
                session, "ticket.created", row.id, {"reference": format_reference(row.id)}, now
            )
            return row.id

    # ------------------------------------------------------------------ triage

    def triage_ticket(self, ticket_id: int) -> bool:
        """Score a queued ticket and apply the result. False (and the ticket stays
        queued for the worker, with back-off) when the triage service fails."""
        if self.triager is None:
            return False
        with self.readers() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                raise NotFound(f"no ticket {format_reference(ticket_id)}")
            if row.triage_state != TriageState.queued.value:
                return True
            ticket = as_contract_ticket(row)
        try:
            result = self.triager.triage(ticket)
        except Exception as exc:  # noqa: BLE001 - any failure of the service queues the ticket
            log.warning("triage of %s failed: %s", ticket.id, exc)
            self._triage_failed(ticket_id, f"{type(exc).__name__}: {exc}")
            return False
        self._apply_triage(ticket_id, result)
        return True

    def triage_tickets(self, ticket_ids: list[int]) -> tuple[list[int], list[int]]:
        """Score several queued tickets in one `triage_batch` call (a backlog after an
        outage drains in a few calls). Returns (triaged, failed) ids. When the service
        is unreachable every ticket stays queued; when it refuses the batch for another
        reason (one bad ticket), the tickets are tried one by one so that the others
        are not held back."""
        if self.triager is None or not ticket_ids:
            return [], list(ticket_ids)
        with self.readers() as session:
            rows = session.scalars(
                select(TicketRow).where(
                    TicketRow.id.in_(ticket_ids), TicketRow.triage_state == TriageState.queued.value
                )
            ).all()
            pending = {row.id: as_contract_ticket(row) for row in rows}
        done = [i for i in ticket_ids if i not in pending]
        if not pending:
            return done, []
        ids = list(pending)
        try:
            results = self.triager.triage_batch([pending[i] for i in ids])
        except RemoteUnavailableError as exc:
            log.warning("triage service unavailable for %d tickets: %s", len(ids), exc)
            for ticket_id in ids:
                self._triage_failed(ticket_id, f"{type(exc).__name__}: {exc}")
            return done, ids
        except Exception as exc:  # noqa: BLE001 - fall back to one call per ticket
            log.warning("batch triage of %d tickets failed (%s); trying one by one", len(ids), exc)
            failed = []
            for ticket_id in ids:
                (done if self.triage_ticket(ticket_id) else failed).append(ticket_id)
            return done, failed
        for ticket_id, result in zip(ids, results, strict=True):
            self._apply_triage(ticket_id, result)
            done.append(ticket_id)
        return done, []

    def _triage_failed(self, ticket_id: int, error: str) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            row = lock(session, ticket_id)
            row.triage_attempts += 1
            backoff = self.config.retriage_backoff * (2 ** min(row.triage_attempts - 1, 6))
            row.retriage_at = now + backoff
            row.triage_error = error[:2000]
            self.record(
                session,
                row,
                "system:triage",
                "triage_failed",
                {
                    "error": row.triage_error,
                    "attempts": row.triage_attempts,
                    "retry_at": row.retriage_at.isoformat(),
                },
                now,
            )

    def _apply_triage(self, ticket_id: int, result: TriageResult) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            row = lock(session, ticket_id)
            if row.triage_state != TriageState.queued.value:
                return  # another worker applied a result first
            filled: dict[str, str] = {}
            abstained: list[str] = []
            for name in PREDICTED_FIELDS:
                head = getattr(result, name)
                if head is None:
                    continue
                if head.abstained or head.label is None:
                    abstained.append(name)
                    continue
                setattr(row, f"predicted_{name}", head.label)
                # The assignee head is one input of the assigner (with availability,
                # skills and load), never a direct assignment: it could pick someone
                # offline or full.
                if name != "assignee" and getattr(row, name) is None:
                    setattr(row, name, head.label)
                    filled[name] = head.label
            if result.escalation is not None:
                row.escalation_risk = result.escalation.risk
            if row.language is None and result.language is not None:
                row.language = result.language.code
            row.model_version = result.model_version
            row.prediction = result.model_dump(mode="json", exclude={"explanation"})
            row.triage_error = None
            row.retriage_at = None
            missing = [f for f in ROUTING_FIELDS if getattr(row, f) is None]
            details: dict[str, Any] = {"filled": filled, "abstained": abstained}
            if missing == ["priority"] and self.config.route_without_priority:
                # Category and team are known, only the urgency is not: the team can start
                # while a person confirms the priority (docs/lifecycle.md, "Triage on intake").
                fallback = self.fallback_priority(result.priority)
                row.priority = fallback["priority"]
                row.priority_unconfirmed = True
                details["priority_fallback"] = fallback
                missing = []
            if ("priority" in filled or row.priority_unconfirmed) and row.first_response_at is None:
                row.first_response_due_at = self.sla.first_response_due(
                    row.priority, row.created_at
                )
                row.resolution_due_at = self.sla.resolution_due(row.priority, row.created_at)
            row.triage_state = (TriageState.needs_human if missing else TriageState.done).value
            row.updated_at = now
            details["queue"] = "human_triage" if missing else None
            details["escalation_risk"] = row.escalation_risk
            self.record(session, row, "model", "triaged", details, now, result.model_version)
            reply = result.auto_reply
            if (
                self.config.auto_reply
                and reply is not None
                and reply.safe_to_send
                and row.status == Status.new.value
                and row.auto_reply_id is None
            ):
                self._send_auto_reply(session, row, reply, now)

    def fallback_priority(self, head: HeadPrediction | None) -> dict[str, Any]:
        """The priority a routed ticket gets when the priority head abstained: the desk's
        default, or the head's leading guess when that is a more urgent known priority.

        An unsure model never lowers a ticket below the default, but one leaning towards
        "urgent" is taken seriously: a missed SLA costs more than early attention. Returns
        the audit entry's details: the priority, its source, and the guess.
        """
        # Spelled as the SLA policies spell it (TRIAGE_DEFAULT_PRIORITY=High is accepted):
        # a person confirming it as is must not add a "High" class beside "high".
        default = (self.config.default_priority or self.sla.default).strip().lower()
        scores = list(head.top_k) if head is not None else []
        guess = max(scores, key=lambda s: s.probability) if scores else None
        chosen: dict[str, Any] = {"priority": default, "source": "default", "default": default}
        if guess is not None:
            chosen["guess"] = guess.label
            chosen["guess_probability"] = round(guess.probability, 4)
            if self.sla.rank(guess.label) < self.sla.rank(default):
                chosen["priority"] = guess.label
                chosen["source"] = "leading_guess"
        return chosen

    def _send_auto_reply(
        self, session: Session, row: TicketRow, reply: AutoReply, now: datetime
    ) -> None:
        actor = "system:auto-reply"
        subject = f"{subject_tag(row.id)} {row.subject}".strip()
        session.add(
            MessageRow(
                ticket_id=row.id,
                direction=Direction.outbound.value,
                channel=row.channel,
                author=actor,
                subject=subject,
                body=reply.text,
                kind="auto_reply",
                created_at=now,
            )
        )
        row.auto_reply_id = reply.answer_id
        details = {"answer_id": reply.answer_id, "kind": reply.kind, "score": round(reply.score, 4)}
        self.record(session, row, actor, "auto_replied", details, now)
        # The event carries the message itself: the webhook receiver delivers it.
        message = outbox.outbound_message(row, subject, reply.text)
        outbox.enqueue(session, "ticket.auto_replied", row.id, {**details, **message}, now)
        self.transition(session, row, Status.pending, actor, "auto-reply sent", now)

    def answer_auto_reply(self, ticket_id: int | str, solved: bool, *, actor: str) -> TicketView:
        """The customer's answer to an auto-reply: solved, or still needs an agent
        (reopened, and the worker assigns it)."""
        number = parse_ticket_id(ticket_id)
        now = self.clock()
        outcome = "resolved" if solved else "reopened"
        with self.sessions.begin() as session:
            row = lock(session, number)
            if row.auto_reply_id is None:
                raise Conflict(f"{format_reference(number)} got no auto-reply")
            if row.auto_reply_outcome is not None:
                if row.auto_reply_outcome == outcome:
                    return _view(row, _messages(session, row.id))
                raise Conflict(
                    f"{format_reference(number)}: the auto-reply was already marked {row.auto_reply_outcome}"
                )
            row.auto_reply_outcome = outcome
            self.record(session, row, actor, "auto_reply_answered", {"outcome": outcome}, now)
            target = Status.solved if solved else Status.reopened
            if row.status != target.value:
                self.transition(session, row, target, actor, f"auto-reply {outcome}", now)
        return self.get(number)

    # ------------------------------------------------------------------ CSAT

    def rate(self, token: str, rating: int, comment: str | None = None) -> TicketView:
        """Record a CSAT rating (1-5) from a survey link; 2 or less flags the ticket
        for follow-up."""
        if not 1 <= rating <= 5:
            raise TriageError(f"rating {rating}: expected 1 to 5")
        now = self.clock()
        with self.sessions.begin() as session:
            survey = session.scalar(select(CsatRow).where(CsatRow.token == token).with_for_update())
            if survey is None:
                raise NotFound("no such survey")
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
            self.record(
                session,
                row,
                f"customer:{row.requester or 'anonymous'}",
                "csat_received",
                details,
                now,
            )
            outbox.enqueue(session, "csat.received", row.id, details, now)
            number = row.id
        return self.get(number)

    # ------------------------------------------------------------------ assignment

    def assign(self, ticket_id: int | str, *, actor: str = "system:assigner") -> str | None:
        """Give a routed, unassigned ticket to the best available agent (see
        `triage.desk.assignment`). Returns the assignee, or None when nobody can take it;
        then the audit entry `assignment_waiting` says who was left out and why, and the
        worker tries again on its passes."""
        number = parse_ticket_id(ticket_id)
        with self.sessions.begin() as session:
            row = lock(session, number)
            return self.assign_locked(session, row, self.clock(), actor, explain_wait=True)

    def assign_locked(
        self,
        session: Session,
        row: TicketRow,
        now: datetime,
        actor: str,
        *,
        explain_wait: bool = False,
    ) -> str | None:
        """`assign` inside the caller's transaction, on a row-locked ticket. The worker
        retries every pass, so it leaves `explain_wait` off: one entry, not one a pass."""
        if row.assignee is not None:
            return row.assignee
        if (
            row.status not in {s.value for s in ACTIVE}
            or row.triage_state != TriageState.done.value
        ):
            return None
        choice, excluded = pick_agent(session, row, now, self.config.weights)
        if choice is None:
            # A desk without agents (triage only) does not assign: nothing to explain.
            if explain_wait and excluded:
                self.record(session, row, actor, "assignment_waiting", {"excluded": excluded}, now)
            return None
        row.assignee = choice.agent
        row.updated_at = now
        self.record(session, row, actor, "assigned", choice.details(), now)
        outbox.enqueue(
            session, "ticket.assigned", row.id, {"assignee": choice.agent, "by": actor}, now
        )
        return choice.agent

    def remove_agent(self, agent_id: str, *, actor: str) -> list[int]:
        """Delete an agent. Their open tickets (the ones counting against capacity) are
        handed back, audited, for the worker to assign again; solved and closed tickets
        keep the name as history. Returns the handed-back ticket ids."""
        now = self.clock()
        with self.sessions.begin() as session:
            lock_assignments(session)  # no assignment to this agent while removing them
            agent = session.get(AgentRow, agent_id)
            if agent is None:
                raise NotFound(f"no agent {agent_id!r}")
            rows = session.scalars(
                select(TicketRow)
                .where(TicketRow.assignee == agent_id, TicketRow.status.in_(LOAD_STATUSES))
                .order_by(TicketRow.id)
                .with_for_update()
            ).all()
            for row in rows:
                row.assignee = None
                row.updated_at = now
                self.record(
                    session, row, actor, "unassigned", {"agent": agent_id, "reason": "removed"}, now
                )
            session.delete(agent)
            return [row.id for row in rows]

    # ------------------------------------------------------------------ messages

    def receive(self, message: NewMessage, *, idempotency_key: str | None = None) -> IntakeResult:
        """Route an incoming message: a reply carrying a ticket reference (`[#T-12]` in
        the subject) or a known thread id (`In-Reply-To` / `References`) joins its
        ticket; anything else opens a new ticket. A re-delivered message is stored once."""
        if message.message_id:
            known = self._find_by_message_id(message.message_id)
            if known is not None:
                return IntakeResult(ticket=self.get(known), created=False)
        ticket_id = self._thread_of(message)
        if ticket_id is not None:
            view = self.add_message(
                ticket_id, message, actor=f"customer:{message.author or 'anonymous'}"
            )
            return IntakeResult(ticket=view, created=view.id != ticket_id)
        new = NewTicket(
            channel=message.channel,
            subject=message.subject,
            body=message.body,
            requester=message.author,
            message_id=message.message_id,
        )
        return self.intake(new, idempotency_key=idempotency_key)

    def _thread_of(self, message: NewMessage) -> int | None:
        with self.readers() as session:
            number = find_reference(message.subject)
            if number is not None and session.get(TicketRow, number) is not None:
                return number
            ids = [i for i in [message.in_reply_to, *reversed(message.references)] if i]
            for thread_id in ids:
                found = session.scalar(
                    select(MessageRow.ticket_id).where(MessageRow.external_message_id == thread_id)
                ) or session.scalar(select(TicketRow.id).where(TicketRow.thread_id == thread_id))
                if found is not None:
                    return found
        return None

    def add_message(self, ticket_id: int | str, message: NewMessage, *, actor: str) -> TicketView:
        """Append a message. A customer reply reopens a pending or solved ticket and,
        on a closed one, opens a follow-up ticket; the first desk reply stops the
        first-response clock. A message id already stored is not stored again."""
        try:
            return self._add_message(parse_ticket_id(ticket_id), message, actor)
        except IntegrityError:
            # The same e-mail delivered twice at once: the other delivery stored it.
            known = self._find_by_message_id(message.message_id) if message.message_id else None
            if known is None:
                raise
            return self.get(known)

    def _add_message(self, number: int, message: NewMessage, actor: str) -> TicketView:
        now = self.clock()
        with self.sessions.begin() as session:
            row = lock(session, number)
            if message.message_id and session.scalar(
                select(MessageRow.id).where(MessageRow.external_message_id == message.message_id)
            ):
                return _view(row, _messages(session, row.id))
            if row.status == Status.closed.value:
                if message.direction is Direction.outbound:
                    raise IllegalTransition(
                        f"{format_reference(number)} is closed; it takes no replies"
                    )
                follow_up = True
            else:
                follow_up = False
                subject = message.subject
                if message.direction is Direction.outbound and not subject:
                    subject = f"{subject_tag(row.id)} {row.subject}".strip()
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
                self.record(
                    session,
                    row,
                    actor,
                    "message_added",
                    {"direction": message.direction.value, "message_id": message.message_id},
                    now,
                )
                if message.direction is Direction.inbound:
                    if row.auto_reply_id is not None and row.auto_reply_outcome is None:
                        # Writing back after an auto-reply means it did not settle it.
                        row.auto_reply_outcome = "reopened"
                    if row.status in (Status.pending.value, Status.solved.value):
                        self.transition(
                            session, row, Status.reopened, actor, "customer replied", now
                        )
                else:
                    if row.first_response_at is None:
                        self.mark_breached(session, row, now)  # a late first reply
                        row.first_response_at = now
                    if row.status == Status.new.value:
                        self.transition(session, row, Status.open, actor, "first reply", now)
                row.updated_at = now
        if follow_up:
            new = NewTicket(
                channel=message.channel,
                subject=message.subject or row.subject,
                body=message.body,
                requester=message.author or row.requester,
                message_id=message.message_id,
            )
            follow_id = self._insert(new, None, actor, follow_up_of=number)
            self.triage_ticket(follow_id)
            return self.get(follow_id)
        return self.get(number)

    # ------------------------------------------------------------------ changes

    def update(self, ticket_id: int | str, changes: TicketChanges, *, actor: str) -> TicketView:
        """Apply a person's changes. Overriding a predicted field stores a correction
        (a training label); every change is audited."""
        number = parse_ticket_id(ticket_id)
        now = self.clock()
        given = changes.model_fields_set
        with self.sessions.begin() as session:
            row = lock(session, number)
            if changes.status is not None and changes.status.value != row.status:
                # Check first so that an illegal move changes nothing at all.
                check_transition(row.status, changes.status)
            changed: dict[str, dict[str, Any]] = {}
            # A person setting the priority of a ticket routed with a fallback priority
            # confirms it, even to the same value: a label for the abstaining head.
            confirming = (
                "priority" in given and changes.priority is not None and row.priority_unconfirmed
            )
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
            tags = [t.tag for t in row.tags]
            wanted = list(changes.tags) if changes.tags is not None else list(tags)
            wanted = [
                t
                for t in dict.fromkeys([*wanted, *changes.add_tags])
                if t not in changes.remove_tags
            ]
            if sorted(wanted) != sorted(tags):
                row.tags = [t for t in row.tags if t.tag in wanted] + [
                    TagRow(tag=t) for t in wanted if t not in tags
                ]
                changed["tags"] = {"old": sorted(tags), "new": sorted(wanted)}
            if (
                "priority" in changed
                and changed["priority"]["old"] != changed["priority"]["new"]
                and row.status in {s.value for s in ACTIVE}
            ):
                # The new priority's targets, counted from creation.
                if row.first_response_at is None:
                    row.first_response_due_at = self.sla.first_response_due(
                        row.priority, row.created_at
                    )
                row.resolution_due_at = self.sla.resolution_due(row.priority, row.created_at)
            if changed:
                self.record(session, row, actor, "updated", changed, now)
            if "assignee" in changed and row.assignee:
                outbox.enqueue(
                    session, "ticket.assigned", row.id, {"assignee": row.assignee, "by": actor}, now
                )
            routed = row.triage_state == TriageState.needs_human.value and all(
                getattr(row, f) is not None for f in ROUTING_FIELDS
            )
            if routed:
                row.triage_state = TriageState.done.value
                self.record(session, row, actor, "triaged_by_human", {}, now)
            if changes.status is not None and changes.status.value != row.status:
                self.transition(
                    session, row, changes.status, actor, None, now, changes.pending_until
                )
            elif changes.pending_until is not None and row.status == Status.pending.value:
                row.pending_until = changes.pending_until
                self.record(
                    session,
                    row,
                    actor,
                    "updated",
                    {"pending_until": changes.pending_until.isoformat()},
                    now,
                )
            row.updated_at = now
            assign = routed and row.assignee is None and self.config.auto_assign
        if assign:
            # Routed by a person out of the triage queue: an agent picks it up now, as
            # the model's routing would have.
            self.assign(number, actor="system:assigner")
        return self.get(number)

    def transition(
        self,
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
            self.mark_breached(session, row, now)
        if target in PAUSED and current not in PAUSED and row.resolution_due_at is not None:
            row.sla_paused_at = now
            row.resolution_remaining_s = self.sla.remaining(
                row.priority, now, row.resolution_due_at
            ).total_seconds()
        if target in ACTIVE and current in PAUSED and row.resolution_remaining_s is not None:
            row.resolution_due_at = self.sla.resume(
                row.priority, now, timedelta(seconds=row.resolution_remaining_s)
            )
            row.sla_paused_at = None
            row.resolution_remaining_s = None
        row.pending_until = (
            (pending_until or now + self.config.pending_reminder)
            if target is Status.pending
            else None
        )
        if target is Status.solved:
            row.solved_at = now
            token = secrets.token_urlsafe(24)
            session.add(CsatRow(ticket_id=row.id, token=token, sent_at=now))
            survey = self.config.survey_url.format(token=token)
            payload = {
                "reference": format_reference(row.id),
                "to": row.requester,
                "by": actor,
                "survey_url": survey,
            }
            outbox.enqueue(session, "ticket.solved", row.id, payload, now)
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
        self.record(session, row, actor, "status_changed", details, now)

    # ------------------------------------------------------------------ SLA

    def late_clocks(self, row: TicketRow, now: datetime) -> list[str]:
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
        self,
        session: Session,
        row: TicketRow,
        now: datetime,
        actor: str = "system:sla",
        late: list[str] | None = None,
    ) -> bool:
        """Flag a row-locked ticket as having missed its SLA when a clock is late (once,
        with an `sla_breached` audit entry). True when this call flagged it."""
        late = self.late_clocks(row, now) if late is None else late
        if not late or row.sla_breached:
            return False
        row.sla_breached = True
        self.record(session, row, actor, "sla_breached", {"clocks": late}, now)
        return True

    # ------------------------------------------------------------------ reads

    def get(self, ticket_id: int | str, *, messages: bool = True) -> TicketView:
        """One ticket, with its thread unless `messages=False`."""
        number = parse_ticket_id(ticket_id)
        with self.readers() as session:
            row = session.get(TicketRow, number)
            if row is None:
                raise NotFound(f"no ticket {format_reference(number)}")
            return _view(row, _messages(session, number) if messages else None)

    def list(self, query: TicketQuery) -> TicketPage:
        """Tickets matching `query`, most urgent priority first, then the tickets whose
        clocks run (new, open, reopened) by their next due time (the first response while
        unanswered, else the resolution), then the others; paginated."""
        active = [s.value for s in ACTIVE]
        conditions = []
        if query.status:
            conditions.append(TicketRow.status.in_([s.value for s in query.status]))
        if query.team is not None:
            conditions.append(TicketRow.team == query.team)
        if query.assignee is not None:
            conditions.append(TicketRow.assignee == query.assignee)
        if query.priority is not None:
            conditions.append(func.lower(TicketRow.priority) == query.priority.lower())
        if query.tag is not None:
            conditions.append(
                TicketRow.id.in_(select(TagRow.ticket_id).where(TagRow.tag == query.tag))
            )
        if query.due_before is not None:
            # Only running clocks are due: a pending or solved ticket's clock is paused.
            conditions.append(TicketRow.status.in_(active))
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
        names = list(self.sla.policies)
        rank = case(
            {name: i for i, name in enumerate(names)},
            value=func.lower(TicketRow.priority),
            else_=len(names),
        )
        paused = case((TicketRow.status.in_(active), 0), else_=1)
        next_due = case(
            (
                TicketRow.first_response_at.is_(None)
                & (TicketRow.first_response_due_at < TicketRow.resolution_due_at),
                TicketRow.first_response_due_at,
            ),
            else_=TicketRow.resolution_due_at,
        )
        with self.readers() as session:
            total = session.scalar(select(func.count(TicketRow.id)).where(*conditions)) or 0
            rows = session.scalars(
                select(TicketRow)
                .where(*conditions)
                .order_by(rank, paused, next_due.asc().nulls_last(), TicketRow.id)
                .limit(query.limit)
                .offset(query.offset)
            ).all()
            return TicketPage(total=total, items=[_view(r, None) for r in rows])

    def audit(self, ticket_id: int | str) -> list[AuditEntry]:
        """A ticket's history, oldest first."""
        number = parse_ticket_id(ticket_id)
        with self.readers() as session:
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

    def corrections(self, *, after_id: int = 0, limit: int = 1000) -> list[CorrectionView]:
        """Corrections (training labels) in the order people made them."""
        with self.readers() as session:
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

    def dashboard(self) -> Dashboard:
        """Open tickets by status and team, SLA compliance, agent load, auto-reply
        resolution rate and CSAT (see `triage.desk.dashboard`)."""
        with self.readers() as session:
            return build_dashboard(session, self.clock())

    # ------------------------------------------------------------------ audit

    def record(
        self,
        session: Session,
        row: TicketRow,
        actor: str,
        action: str,
        details: dict[str, Any],
        now: datetime,
        model_version: str | None = None,
    ) -> None:
        """Add an audit entry for `row` to the caller's transaction."""
        session.add(
            AuditRow(
                ticket_id=row.id,
                actor=actor,
                created_at=now,
                action=action,
                details=_jsonable(details),
                model_version=model_version or row.model_version,
            )
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def lock(session: Session, ticket_id: int) -> TicketRow:
    """Load a ticket for change, row-locked on PostgreSQL (SQLite holds the write lock)."""
    row = session.get(TicketRow, ticket_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no ticket {format_reference(ticket_id)}")
    return row


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


def _messages(session: Session, ticket_id: int) -> list[MessageView]:
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


def _view(row: TicketRow, messages: list[MessageView] | None) -> TicketView:
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
        tags=sorted(t.tag for t in row.tags),
        external_id=row.external_id,
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
        priority_unconfirmed=row.priority_unconfirmed,
        messages=messages,
    )
