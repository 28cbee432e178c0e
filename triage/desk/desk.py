"""The help desk: one object over one database that the routes, the worker and the CLI use.

`Desk` is a facade: each of its methods is one use case, written in its own module
(`intake`: new tickets, messages and threads; `scoring`: triage results and auto-replies;
`changes`: updates, transitions, SLA breaches and CSAT; `assignment`: agents for tickets;
`queries`: reads and views) over `ledger` (the row lock and the audit record). The desk
holds the parts those modules share: transactions, the triage service, the SLA policies,
the lifecycle settings and the clock.

Every change happens in one database transaction together with its audit entry and
its webhook events, so the log and the outbox never disagree with the tickets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from triage.contract import HeadPrediction
from triage.desk import (
    assignment,
    auto_replies,
    held,
    intake,
    queries,
    scoring,
    templates,
    tokens,
)
from triage.desk import changes as changes_
from triage.desk.config import DeskConfig
from triage.desk.ledger import record, utcnow
from triage.desk.records import (
    AuditEntry,
    CorrectionView,
    Dashboard,
    HeldMessageView,
    IntakeResult,
    NewMessage,
    NewTicket,
    TicketChanges,
    TicketPage,
    TicketQuery,
    TicketView,
)
from triage.desk.status import Status
from triage.errors import TriageError
from triage.health.quality import ModelHealth, measure_quality
from triage.settings import Settings
from triage.sla import BusinessCalendar, SlaPolicies
from triage.store import session_factory
from triage.store.models import TicketRow
from triage.triager import Triager

__all__ = ["Desk", "DeskConfig", "utcnow"]


class ShadowSink(Protocol):
    """Takes new tickets for shadow scoring without blocking (`triage.health.shadow`)."""

    def submit(self, ticket_id: int) -> None:
        """Queue `ticket_id` for scoring by the shadow model."""


class Desk:
    """The lifecycle core over one database. Safe to share across threads.

    Its attributes are read on every call, so a caller may swap `clock` or `sla` on a
    running desk (the replay and the tests do).
    """

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
        # A shadow scorer (`triage.health.shadow.ShadowScorer`): new tickets are handed
        # to it after intake, off the critical path.
        self.shadow: ShadowSink | None = None

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

    # -- intake and threads (triage.desk.intake) ---------------------------------------

    def intake(
        self,
        new: NewTicket,
        *,
        idempotency_key: str | None = None,
        actor: str | None = None,
        inbox: str | None = None,
    ) -> IntakeResult:
        """Store a new ticket, then triage it; a repeated `idempotency_key` returns the
        ticket the first request created."""
        result = intake.intake(self, new, idempotency_key=idempotency_key, actor=actor, inbox=inbox)
        if self.shadow is not None and result.created:
            self.shadow.submit(result.ticket.id)
        return result

    def receive(
        self,
        message: NewMessage,
        *,
        idempotency_key: str | None = None,
        inbox: str | None = None,
    ) -> IntakeResult:
        """Route an incoming message to its ticket (by reference or thread id), or open
        a new ticket."""
        result = intake.receive(self, message, idempotency_key=idempotency_key, inbox=inbox)
        if self.shadow is not None and result.created:
            self.shadow.submit(result.ticket.id)
        return result

    def add_message(self, ticket_id: int | str, message: NewMessage, *, actor: str) -> TicketView:
        """Append a message; a customer reply reopens the ticket (or, closed, opens a
        follow-up), the first desk reply stops the first-response clock."""
        return intake.add_message(self, ticket_id, message, actor=actor)

    def held_messages(self, *, teams: list[str] | None = None) -> list[HeldMessageView]:
        """E-mails held because their sender is not on the ticket (these teams' only)."""
        return held.list_held(self, teams=teams)

    def held_ticket(self, held_id: int) -> int:
        """The ticket a held message named (`NotFound` for an unknown id)."""
        return held.ticket_of(self, held_id)

    def release_held(self, held_id: int, *, actor: str) -> TicketView:
        """An agent lets a held message into its ticket's thread (as the customer's reply)."""
        ticket_id, message = held.take(self, held_id)
        return intake.add_message(self, ticket_id, message, actor=actor)

    # -- scoring and auto-replies (triage.desk.scoring) --------------------------------

    def triage_ticket(self, ticket_id: int) -> bool:
        """Score a queued ticket and apply the result; False (still queued) when the
        triage service fails."""
        return scoring.triage_ticket(self, ticket_id)

    def triage_tickets(self, ticket_ids: list[int]) -> tuple[list[int], list[int]]:
        """Score several queued tickets in one batch call; (triaged, failed) ids."""
        return scoring.triage_tickets(self, ticket_ids)

    def fallback_priority(self, head: HeadPrediction | None) -> dict[str, Any]:
        """The priority of a routed ticket whose priority head abstained, with its source."""
        return scoring.fallback_priority(self, head)

    def answer_auto_reply(self, ticket_id: int | str, solved: bool, *, actor: str) -> TicketView:
        """The customer's answer to an auto-reply: solved, or reopened for an agent."""
        return auto_replies.answer_auto_reply(self, ticket_id, solved, actor=actor)

    def confirm_auto_reply(self, token: str, solved: bool) -> TicketView:
        """The customer's answer from the confirm link under an auto-reply."""
        return auto_replies.confirm(self, token, solved)

    def link(self, token: str, purpose: str) -> tokens.LinkView:
        """What a customer's CSAT or confirm link opens (NotFound: invalid or expired)."""
        return tokens.describe(self, token, purpose)

    # -- answer templates (triage.desk.templates) --------------------------------------

    def mine_templates(
        self, replies: Iterable[tuple[str, str | None]], *, min_uses: int = 3
    ) -> templates.MineReport:
        """Propose templates from past replies (`(text, language)` pairs)."""
        return templates.mine(self, replies, min_uses=min_uses)

    def list_templates(
        self, status: templates.TemplateStatus | None = None
    ) -> list[templates.TemplateView]:
        """Answer templates, most used first."""
        return templates.list_templates(self, status)

    def review_template(
        self,
        template_id: int,
        status: templates.TemplateStatus,
        *,
        actor: str,
        text: str | None = None,
    ) -> templates.TemplateView:
        """Approve (optionally with a reviewed text) or retire a template."""
        return templates.review(self, template_id, status, actor=actor, text=text)

    # -- changes and transitions (triage.desk.changes) ---------------------------------

    def update(self, ticket_id: int | str, changes: TicketChanges, *, actor: str) -> TicketView:
        """Apply a person's changes; overriding a predicted field stores a correction."""
        return changes_.update(self, ticket_id, changes, actor=actor)

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
        """Move a row-locked `row` to `target` inside the caller's transaction."""
        changes_.transition(self, session, row, target, actor, reason, now, pending_until)

    def late_clocks(self, row: TicketRow, now: datetime) -> list[str]:
        """The SLA clocks of `row` past due at `now`."""
        return changes_.late_clocks(row, now)

    def mark_breached(
        self,
        session: Session,
        row: TicketRow,
        now: datetime,
        actor: str = "system:sla",
        late: list[str] | None = None,
    ) -> bool:
        """Flag a row-locked ticket as having missed its SLA (once); True when this call did."""
        return changes_.mark_breached(session, row, now, actor, late)

    def rate(self, token: str, rating: int, comment: str | None = None) -> TicketView:
        """Record a CSAT rating (1-5); 2 or less flags the ticket for follow-up."""
        return changes_.rate(self, token, rating, comment)

    # -- assignment (triage.desk.assignment) -------------------------------------------

    def assign(self, ticket_id: int | str, *, actor: str = "system:assigner") -> str | None:
        """Give a routed, unassigned ticket to the best available agent; None when nobody
        can take it."""
        return assignment.assign(self, ticket_id, actor=actor)

    def assign_locked(
        self,
        session: Session,
        row: TicketRow,
        now: datetime,
        actor: str,
        *,
        explain_wait: bool = False,
    ) -> str | None:
        """`assign` inside the caller's transaction, on a row-locked ticket."""
        return assignment.assign_locked(self, session, row, now, actor, explain_wait=explain_wait)

    def remove_agent(self, agent_id: str, *, actor: str) -> list[int]:
        """Delete an agent and hand their open tickets back; the handed-back ticket ids."""
        return assignment.remove_agent(self, agent_id, actor=actor)

    # -- queries and views (triage.desk.queries) ---------------------------------------

    def get(self, ticket_id: int | str, *, messages: bool = True) -> TicketView:
        """One ticket, with its thread unless `messages=False`."""
        return queries.get(self, ticket_id, messages=messages)

    def prediction(self, ticket_id: int | str) -> dict[str, Any] | None:
        """The stored triage result of a ticket (heads, confidences, auto-reply), or None."""
        return queries.stored_prediction(self, ticket_id)

    def audit(self, ticket_id: int | str) -> list[AuditEntry]:
        """A ticket's history, oldest first."""
        return queries.audit(self, ticket_id)

    def corrections(self, *, after_id: int = 0, limit: int = 1000) -> list[CorrectionView]:
        """Corrections (training labels) in the order people made them."""
        return queries.corrections(self, after_id=after_id, limit=limit)

    def dashboard(self) -> Dashboard:
        """Open tickets, SLA compliance, agent load, auto-reply resolution rate and CSAT."""
        return queries.dashboard(self)

    def model_health(self, since: datetime | None = None) -> ModelHealth:
        """Live quality per model version and head (`triage.health.quality`)."""
        with self.readers() as session:
            return measure_quality(session, since)

    # Defined after every annotation that says `list[...]`: in the class body that name
    # is this method from here on.
    def list(self, query: TicketQuery) -> TicketPage:
        """Tickets matching `query`, most urgent first, paginated."""
        return queries.list_tickets(self, query)

    # -- audit (triage.desk.ledger) ----------------------------------------------------

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
        record(session, row, actor, action, details, now, model_version)
