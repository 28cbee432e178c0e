"""The background worker: re-triage, SLA breaches and escalation, pending reminders,
auto-close.

Each job picks its tickets with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two workers running at once split the due tickets between them instead of
acting on the same one twice; every action re-checks its condition on the locked
row and records what it did (tier, escalated_at, ...), so a later pass does not
repeat it either. On SQLite, every transaction is `BEGIN IMMEDIATE` (see
`triage.store.engine`): workers take turns holding the single write lock, which
gives the same guarantee with one writer at a time.

Time comes from the desk's clock, so `triage worker --once --now ...` and the
tests move time instead of waiting.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from triage import escalation
from triage.desk import Desk, Direction, Status, TriageState, auto_replies, outbox
from triage.desk.reference import format_reference, subject_tag
from triage.desk.status import ACTIVE
from triage.store.models import MessageRow, OutboxRow, TeamRow, TicketRow
from triage.webhook import MAX_ATTEMPTS, WebhookSender, retry_delay

log = logging.getLogger(__name__)

MAX_TIER = 3
# Tickets per `triage_batch` call when draining the re-triage queue.
RETRIAGE_CHUNK = 64
REMINDER_TEXT = "We are still waiting for your reply to continue with this request."


@dataclass
class WorkerReport:
    """What one pass did, by job."""

    now: datetime
    retriaged: int = 0
    retriage_failed: int = 0
    escalated: int = 0
    assigned: int = 0
    breached: int = 0
    reminded: int = 0
    auto_reply_unanswered: int = 0
    closed: int = 0
    delivered: int = 0
    delivery_failed: int = 0
    tickets: dict[str, list[str]] = field(default_factory=dict)

    def note(self, job: str, ticket_id: int) -> None:
        """Remember that `job` acted on `ticket_id`."""
        self.tickets.setdefault(job, []).append(format_reference(ticket_id))


class Worker:
    """Runs the lifecycle's timed jobs against a desk."""

    def __init__(
        self,
        desk: Desk,
        *,
        webhooks: WebhookSender | None = None,
        batch: int = 100,
        name: str = "worker",
    ) -> None:
        self.desk = desk
        self.webhooks = webhooks
        self.batch = batch
        self.actor = f"system:{name}"

    def _pick(self, session: Session, query: Select[Any]) -> list[Any]:
        """Lock up to `batch` matching rows that no other worker holds."""
        entity = query.column_descriptions[0]["entity"]
        query = query.order_by(entity.id).limit(self.batch)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.scalars(query).all())

    def run_once(self) -> WorkerReport:
        """One pass of every job at the desk clock's current time."""
        now = self.desk.clock()
        report = WorkerReport(now=now)
        self.retriage(report)
        self.escalate(report)
        # Before assigning: a ticket whose auto-reply went unanswered is assigned this pass.
        self.return_unanswered(report)
        self.assign(report)
        self.remind_pending(report)
        self.close_solved(report)
        # Last, so that the events the other jobs just queued go out in the same pass.
        self.deliver_webhooks(report)
        return report

    def run(self, interval_s: float, stop: threading.Event) -> None:
        """Pass after pass, `interval_s` apart, until `stop` is set."""
        while not stop.is_set():
            try:
                report = self.run_once()
                log.info("worker pass: %s", report)
            except Exception:  # keep the worker alive; the next pass retries
                log.exception("worker pass failed")
            stop.wait(interval_s)

    # ------------------------------------------------------------------ jobs

    def retriage(self, report: WorkerReport) -> None:
        """Triage tickets that stayed queued (service was down, process died)."""
        if self.desk.triager is None:
            return
        now = report.now
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.triage_state == TriageState.queued.value,
                    or_(TicketRow.retriage_at.is_(None), TicketRow.retriage_at <= now),
                ),
            )
            # Claim them for one back-off period, so that another worker leaves them
            # alone while this one waits on the triage service outside the transaction.
            for row in rows:
                row.retriage_at = now + self.desk.config.retriage_backoff
            claimed = [row.id for row in rows]
        for start in range(0, len(claimed), RETRIAGE_CHUNK):
            done, failed = self.desk.triage_tickets(claimed[start : start + RETRIAGE_CHUNK])
            report.retriaged += len(done)
            report.retriage_failed += len(failed)
            for ticket_id in done:
                report.note("retriaged", ticket_id)

    def escalate(self, report: WorkerReport) -> None:
        """Mark SLA breaches (notifying the team) and escalate the tickets the desk's
        `EscalationPolicy` says should go a tier up (L1 → L2 → L3), notifying the team's
        manager through the webhook outbox.

        A ticket escalates again only after the next tier had the policy's
        first-response target to act, so one breach does not jump straight to L3.
        """
        now = report.now
        policy = self.desk.config.escalation
        first_response_late = and_(
            TicketRow.first_response_at.is_(None), TicketRow.first_response_due_at <= now
        )
        resolution_late = TicketRow.resolution_due_at <= now
        may_escalate = and_(
            TicketRow.tier < MAX_TIER,
            or_(TicketRow.next_escalation_at.is_(None), TicketRow.next_escalation_at <= now),
        )
        due = (
            or_(first_response_late, resolution_late)
            if policy.escalate_first_response
            else resolution_late
        )
        at_risk = policy.at_risk_clause()
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.status.in_([s.value for s in ACTIVE]),
                    or_(
                        # A breach to mark (once).
                        and_(
                            TicketRow.sla_breached.is_(False),
                            or_(first_response_late, resolution_late),
                        ),
                        # Tickets whose escalation is not due yet (a grace period, the
                        # next tier's time) are not picked at all, so they cannot crowd
                        # the batch and starve the others.
                        and_(may_escalate, or_(due, at_risk)),
                    ),
                ),
            )
            for row in rows:
                self._escalate_one(session, row, now, report)

    def _escalation_reason(
        self, row: TicketRow, late: list[str], now: datetime
    ) -> tuple[str, str] | None:
        """The rule that escalates `row` now and why, or None (then, for a resolution breach
        still in its grace period, `next_escalation_at` is set to when it ends)."""
        policy = self.desk.config.escalation
        if "resolution" in late and row.resolution_due_at is not None:
            at = policy.resolution_escalates_at(self.desk.sla, row.priority, row.resolution_due_at)
            if at <= now:
                grace = "" if at == row.resolution_due_at else ", past the grace period"
                return escalation.RESOLUTION, f"resolution due ({row.priority or '-'}{grace})"
            if row.next_escalation_at is None or row.next_escalation_at < at:
                row.next_escalation_at = at
        if "first_response" in late and policy.escalate_first_response:
            return escalation.FIRST_RESPONSE, "first_response due"
        if policy.at_risk(row.escalation_risk, row.tier, row.escalation_risk_threshold):
            threshold = policy.threshold_for(row.escalation_risk_threshold)
            source = "configured" if policy.risk_threshold is not None else "model's"
            if policy.risk_threshold is None and row.escalation_risk_threshold is None:
                source = "default"
            return escalation.RISK, (
                f"predicted escalation (risk {row.escalation_risk:.2f} >= "
                f"{threshold:.2f}, the {source} threshold)"
            )
        return None

    def _escalate_one(
        self,
        session: Session,
        row: TicketRow,
        now: datetime,
        report: WorkerReport,
    ) -> None:
        late = self.desk.late_clocks(row, now)
        if self.desk.mark_breached(session, row, now, self.actor, late):
            report.breached += 1
            report.note("breached", row.id)
            outbox.enqueue(
                session,
                "ticket.sla_breached",
                row.id,
                {"reference": format_reference(row.id), "clocks": late, "team": row.team},
                now,
            )
        if row.tier >= MAX_TIER:
            return
        if row.next_escalation_at is not None and row.next_escalation_at > now:
            return
        decided = self._escalation_reason(row, late, now)
        if decided is None:
            return
        rule, reason = decided
        old_tier = row.tier
        row.tier += 1
        row.escalated = True
        row.escalated_at = now
        row.next_escalation_at = self.desk.sla.first_response_due(row.priority, now)
        row.updated_at = now
        manager = (
            session.scalar(select(TeamRow.manager).where(TeamRow.name == row.team))
            if row.team
            else None
        )
        details = {
            "from_tier": f"L{old_tier}",
            "to_tier": f"L{row.tier}",
            "reason": reason,
            "rule": rule,
            "manager": manager,
        }
        self.desk.record(session, row, self.actor, "escalated", details, now)
        outbox.enqueue(
            session,
            "ticket.escalated",
            row.id,
            {"reference": format_reference(row.id), **details},
            now,
        )
        report.escalated += 1
        report.note("escalated", row.id)

    def assign(self, report: WorkerReport) -> None:
        """Assign routed tickets nobody has yet (no agent was free at intake, an
        escalation raised the tier, the triage service was down)."""
        now = report.now
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.status.in_([s.value for s in ACTIVE]),
                    TicketRow.assignee.is_(None),
                    TicketRow.triage_state == TriageState.done.value,
                ),
            )
            for row in rows:
                if self.desk.assign_locked(session, row, now, self.actor):
                    report.assigned += 1
                    report.note("assigned", row.id)

    def return_unanswered(self, report: WorkerReport) -> None:
        """Tickets whose auto-reply the customer did not confirm in time go back to
        their team's queue (with a note), to be assigned like any other."""
        now = report.now
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.auto_reply_due_at <= now, TicketRow.auto_reply_outcome.is_(None)
                ),
            )
            for row in rows:
                if auto_replies.return_unanswered(session, row, self.actor, now):
                    report.auto_reply_unanswered += 1
                    report.note("auto_reply_unanswered", row.id)

    def remind_pending(self, report: WorkerReport) -> None:
        """Tickets pending past their reminder time: remind the customer and hand the
        ticket back to an agent (reopened)."""
        now = report.now
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.status == Status.pending.value, TicketRow.pending_until <= now
                ),
            )
            for row in rows:
                subject = f"{subject_tag(row.id, row.reply_token)} {row.subject}".strip()
                session.add(
                    MessageRow(
                        ticket_id=row.id,
                        direction=Direction.outbound.value,
                        channel=row.channel,
                        author=self.actor,
                        subject=subject,
                        body=REMINDER_TEXT,
                        kind="reminder",
                        created_at=now,
                    )
                )
                message = outbox.outbound_message(row, subject, REMINDER_TEXT)
                outbox.enqueue(session, "ticket.reminder", row.id, message, now)
                self.desk.transition(
                    session, row, Status.reopened, self.actor, "pending reminder elapsed", now
                )
                report.reminded += 1
                report.note("reminded", row.id)

    def close_solved(self, report: WorkerReport) -> None:
        """Close tickets solved more than `close_after` ago."""
        now = report.now
        cutoff = now - self.desk.config.close_after
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(TicketRow).where(
                    TicketRow.status == Status.solved.value, TicketRow.solved_at <= cutoff
                ),
            )
            for row in rows:
                self.desk.transition(
                    session, row, Status.closed, self.actor, "solved long enough", now
                )
                report.closed += 1
                report.note("closed", row.id)

    def deliver_webhooks(self, report: WorkerReport) -> None:
        """Send due outbox events, signed; failures retry with exponential back-off
        (`triage.webhook.retry_delay`) up to `MAX_ATTEMPTS` tries."""
        if self.webhooks is None:
            return
        now = report.now
        with self.desk.sessions.begin() as session:
            rows = self._pick(
                session,
                select(OutboxRow).where(
                    OutboxRow.delivered_at.is_(None),
                    OutboxRow.next_attempt_at <= now,
                    OutboxRow.attempts < MAX_ATTEMPTS,
                ),
            )
            # Lease them (counting the try now) so that another worker does not send
            # them too while this one waits on the receiver outside the transaction.
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + retry_delay(row.attempts)
            jobs = [(row.id, row.event, row.payload) for row in rows]
        for outbox_id, event, payload in jobs:
            outcome = self.webhooks.send(outbox_id, event, payload, now)
            with self.desk.sessions.begin() as session:
                row = session.get(OutboxRow, outbox_id, with_for_update=True)
                if row is None:
                    continue
                if outcome.ok:
                    row.delivered_at = now
                    row.last_error = None
                    report.delivered += 1
                else:
                    row.last_error = outcome.error
                    report.delivery_failed += 1
