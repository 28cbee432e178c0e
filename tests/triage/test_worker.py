"""The worker on SQLite and PostgreSQL, with the clock moved instead of waited for."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges, TriageState
from triage.store.models import AuditRow, OutboxRow, TeamRow
from triage.worker import Worker, WorkerReport

AGENT = "agent:alice"


def _ticket(
    subject: str = "Refund please", body: str = "I want a refund", **kwargs: object
) -> NewTicket:
    return NewTicket(
        channel=Channel.web, subject=subject, body=body, requester="bob@example.com", **kwargs
    )  # type: ignore[arg-type]


def _side_by_side(workers: list[Worker], work, passes: int) -> list[BaseException]:  # type: ignore[no-untyped-def]
    """Each worker runs `work(worker)` `passes` times on its own thread, all at once; the errors."""
    errors: list[BaseException] = []

    def run(worker: Worker) -> None:
        try:
            for _ in range(passes):
                work(worker)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _audits_per_ticket(desk: Desk, action: str) -> dict[int, int]:
    """How many audit entries of `action` each ticket has (tickets with none are absent)."""
    with desk.sessions() as session:
        return dict(
            session.execute(
                select(AuditRow.ticket_id, func.count())
                .where(AuditRow.action == action)
                .group_by(AuditRow.ticket_id)
            ).all()
        )


def _count(desk: Desk, model: type, **where: object) -> int:
    with desk.sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query) or 0


def test_retriage_picks_up_queued_tickets_with_back_off(desk: Desk, triager, clock) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(desk)
    triager.down = True
    t = desk.intake(_ticket()).ticket
    assert t.triage_state is TriageState.queued
    # Still inside the back-off: the worker leaves it alone.
    assert worker.run_once().retriage_failed == 0
    clock.advance(seconds=120)
    report = worker.run_once()
    assert (report.retriaged, report.retriage_failed) == (0, 1)
    # Two failures now: the next try waits 2 back-off periods.
    t = desk.get(t.id)
    assert t.triage_state is TriageState.queued
    triager.down = False
    clock.advance(seconds=60)
    assert worker.run_once().retriaged == 0
    clock.advance(seconds=61)
    report = worker.run_once()
    assert report.retriaged == 1 and report.tickets["retriaged"] == [t.reference]
    t = desk.get(t.id)
    assert (t.triage_state, t.category, t.team) == (TriageState.done, "billing", "finance")
    assert [e.action for e in desk.audit(t.id)] == [
        "created",
        "triage_failed",
        "triage_failed",
        "triaged",
    ]


def test_escalation_through_the_tiers(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    with desk.sessions.begin() as session:
        session.add(TeamRow(name="finance", manager="carol@example.com"))
    worker = Worker(desk)
    t = desk.intake(_ticket()).ticket  # high: first response due 13:00, resolution 17:00
    clock.now = datetime(2026, 1, 5, 12, 59, tzinfo=UTC)
    assert worker.run_once().breached == 0
    # A missed first response is marked and notified, not escalated.
    clock.now = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    report = worker.run_once()
    assert (report.escalated, report.breached) == (0, 1)
    t = desk.get(t.id)
    assert (t.tier, t.escalated, t.sla_breached) == (1, False, True)
    with desk.sessions() as session:
        notice = session.scalars(
            select(OutboxRow).where(OutboxRow.event == "ticket.sla_breached")
        ).one()
        assert notice.payload["clocks"] == ["first_response"]
        assert notice.payload["team"] == "finance"
    assert worker.run_once().breached == 0
    # A missed resolution of a high ticket escalates once the breach lasted half its
    # 8-hour target: 4 business hours after Monday 17:00.
    clock.now = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    assert worker.run_once().escalated == 0
    clock.now = datetime(2026, 1, 6, 12, 59, tzinfo=UTC)
    assert worker.run_once().escalated == 0
    clock.now = datetime(2026, 1, 6, 13, 0, tzinfo=UTC)
    report = worker.run_once()
    assert (report.escalated, report.breached) == (1, 0)
    t = desk.get(t.id)
    assert (t.tier, t.escalated, t.sla_breached) == (2, True, True)
    escalated = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert escalated[0].details == {
        "from_tier": "L1",
        "to_tier": "L2",
        "reason": "resolution due (high, past the grace period)",
        "rule": "resolution",
        "manager": "carol@example.com",
    }
    with desk.sessions() as session:
        event = session.scalars(
            select(OutboxRow).where(OutboxRow.event == "ticket.escalated")
        ).one()
        assert event.payload["manager"] == "carol@example.com" and event.payload["to_tier"] == "L2"
    # L2 gets the first-response target (4 business hours: Tuesday 17:00) before L3.
    clock.now = datetime(2026, 1, 6, 16, 59, tzinfo=UTC)
    assert worker.run_once().escalated == 0
    clock.now = datetime(2026, 1, 6, 17, 0, tzinfo=UTC)
    assert worker.run_once().escalated == 1
    assert desk.get(t.id).tier == 3
    clock.advance(days=3)
    assert worker.run_once().escalated == 0
    assert _count(desk, AuditRow, action="escalated") == 2
    assert _count(desk, AuditRow, action="sla_breached") == 1


def test_a_low_ticket_escalates_after_its_grace_period(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(desk)
    t = desk.intake(_ticket(subject="Invoice copy", body="where is my invoice")).ticket
    assert t.priority == "low"  # resolution: 40 business hours, due Friday 17:00
    clock.now = datetime(2026, 1, 9, 17, 0, tzinfo=UTC)
    report = worker.run_once()
    assert (report.escalated, report.breached) == (0, 1)
    # Half the target (20 business hours) later: Wednesday 13:00 of the next week.
    clock.now = datetime(2026, 1, 14, 12, 59, tzinfo=UTC)
    assert worker.run_once().escalated == 0
    clock.now = datetime(2026, 1, 14, 13, 0, tzinfo=UTC)
    report = worker.run_once()
    assert report.escalated == 1
    [entry] = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert entry.details["rule"] == "resolution"
    assert entry.details["reason"] == "resolution due (low, past the grace period)"


def test_immediate_priorities_escalate_when_the_resolution_is_missed(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from triage.escalation import EscalationPolicy

    policy = EscalationPolicy(immediate=frozenset({"high"}), risk_threshold=0.95)
    desk.config = replace(desk.config, escalation=policy)
    worker = Worker(desk)
    risky = desk.intake(_ticket(subject="Refund after outage", body="refund for the outage"))
    assert risky.ticket.escalation_risk == 0.9  # below 0.95: no early escalation
    late = desk.intake(_ticket()).ticket
    assert worker.run_once().escalated == 0
    clock.now = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    assert (worker.run_once().escalated, desk.get(late.id).sla_breached) == (0, True)
    clock.now = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    assert worker.run_once().escalated == 2
    [entry] = [e for e in desk.audit(late.id) if e.action == "escalated"]
    assert (entry.details["rule"], entry.details["reason"]) == (
        "resolution",
        "resolution due (high)",
    )


def test_a_first_response_breach_escalates_when_configured(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from triage.escalation import EscalationPolicy

    desk.config = replace(desk.config, escalation=EscalationPolicy(escalate_first_response=True))
    worker = Worker(desk)
    late = desk.intake(_ticket()).ticket
    clock.now = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
    report = worker.run_once()
    assert (report.escalated, report.breached) == (1, 1)
    [entry] = [e for e in desk.audit(late.id) if e.action == "escalated"]
    assert (entry.details["rule"], entry.details["reason"]) == (
        "first_response",
        "first_response due",
    )


def test_predicted_breach_escalates_once_before_the_deadline(desk: Desk) -> None:
    worker = Worker(desk)
    t = desk.intake(_ticket(subject="Refund after outage", body="refund for the outage")).ticket
    assert t.escalation_risk == 0.9
    report = worker.run_once()
    assert report.escalated == 1 and report.breached == 0
    [entry] = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert entry.details["rule"] == "risk"
    # A model without a threshold of its own (an older bundle): the former default.
    assert entry.details["reason"] == (
        "predicted escalation (risk 0.90 >= 0.70, the default threshold)"
    )
    assert worker.run_once().escalated == 0
    assert desk.get(t.id).sla_breached is False


def test_the_models_risk_threshold_escalates_when_none_is_configured(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    triager.risk_threshold = 0.05  # the rate-matched threshold training chose
    worker = Worker(desk)
    plain = desk.intake(_ticket()).ticket  # risk 0.1: under 0.7, over the model's 0.05
    [triaged] = [e for e in desk.audit(plain.id) if e.action == "triaged"]
    assert triaged.details["escalation_risk_threshold"] == 0.05
    assert worker.run_once().escalated == 1
    [entry] = [e for e in desk.audit(plain.id) if e.action == "escalated"]
    assert entry.details["rule"] == "risk"
    assert entry.details["reason"] == (
        "predicted escalation (risk 0.10 >= 0.05, the model's threshold)"
    )


def test_a_configured_risk_threshold_wins_over_the_models(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from triage.escalation import EscalationPolicy

    triager.risk_threshold = 0.05
    desk.config = replace(desk.config, escalation=EscalationPolicy(risk_threshold=0.5))
    worker = Worker(desk)
    plain = desk.intake(_ticket()).ticket  # risk 0.1: over the model's, under the setting
    risky = desk.intake(_ticket(subject="Refund after outage", body="refund for the outage"))
    assert worker.run_once().escalated == 1
    assert not [e for e in desk.audit(plain.id) if e.action == "escalated"]
    [entry] = [e for e in desk.audit(risky.ticket.id) if e.action == "escalated"]
    assert entry.details["reason"] == (
        "predicted escalation (risk 0.90 >= 0.50, the configured threshold)"
    )


def test_answered_paused_or_solved_tickets_do_not_escalate(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(desk)
    pending = desk.intake(_ticket()).ticket
    desk.update(pending.id, TicketChanges(status=Status.pending), actor=AGENT)
    solved = desk.intake(_ticket()).ticket
    desk.update(solved.id, TicketChanges(status=Status.solved), actor=AGENT)
    clock.advance(hours=30)  # past both deadlines, before the pending reminder
    report = worker.run_once()
    assert report.escalated == 0 and report.breached == 0


def test_pending_reminder_reopens_the_ticket(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(desk)
    t = desk.intake(_ticket()).ticket
    desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    clock.advance(hours=71)
    assert worker.run_once().reminded == 0
    clock.advance(hours=1)
    report = worker.run_once()
    assert report.reminded == 1
    t = desk.get(t.id)
    assert t.status is Status.reopened
    reminder = (t.messages or [])[-1]
    assert reminder.kind == "reminder" and reminder.subject.startswith(t.reply_tag or "?")
    assert _count(desk, OutboxRow, event="ticket.reminder") == 1
    with desk.sessions() as session:
        payload = session.scalars(
            select(OutboxRow.payload).where(OutboxRow.event == "ticket.reminder")
        ).one()
    assert (payload["to"], payload["subject"], payload["body"]) == (
        "bob@example.com",
        reminder.subject,
        reminder.body,
    )
    assert worker.run_once().reminded == 0


def test_solved_tickets_close_after_n_days(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    worker = Worker(desk)
    t = desk.intake(_ticket()).ticket
    desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    clock.advance(days=3, hours=23)
    assert worker.run_once().closed == 0
    clock.advance(hours=1)
    assert worker.run_once().closed == 1
    t = desk.get(t.id)
    assert t.status is Status.closed and t.closed_at == clock.now


def test_two_workers_never_act_on_the_same_ticket_twice(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    ids = [desk.intake(_ticket()).ticket.id for _ in range(16)]
    for ticket_id in ids[:6]:
        desk.update(ticket_id, TicketChanges(status=Status.solved), actor=AGENT)
    clock.advance(days=5)
    workers = [Worker(desk, batch=3, name=f"w{i}") for i in range(2)]
    assert _side_by_side(workers, lambda worker: worker.run_once(), passes=6) == []
    # 10 unsolved tickets, far past every deadline, six passes each at the same moment:
    # exactly one escalation (L1→L2) per ticket, never a duplicate, none starved.
    per_ticket = _audits_per_ticket(desk, "escalated")
    assert set(per_ticket) == set(ids[6:])
    assert set(per_ticket.values()) == {1}
    assert _count(desk, OutboxRow, event="ticket.escalated") == 10
    assert _count(desk, AuditRow, action="sla_breached") == 10
    closed = [e for e in (desk.audit(i) for i in ids[:6])]
    assert all(
        sum(a.action == "status_changed" and a.details["to"] == "closed" for a in c) == 1
        for c in closed
    )
    assert _count(desk, OutboxRow, event="ticket.solved") == 6


def test_two_workers_never_assign_the_same_ticket_twice(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    from triage.desk.agents import AgentSpec, Directory

    # Nobody is there at intake: 12 routed tickets wait for the worker.
    ids = [desk.intake(_ticket(body=f"refund {i}")).ticket.id for i in range(12)]
    directory = Directory(desk.sessions)
    for name, capacity in (("ann", 4), ("ben", 3), ("cy", 2)):
        directory.upsert_agent(AgentSpec(id=name, team="finance", capacity=capacity))
    workers = [Worker(desk, batch=4, name=f"w{i}") for i in range(2)]

    def assign(worker: Worker) -> object:
        return worker.assign(WorkerReport(now=clock.now))

    assert _side_by_side(workers, assign, passes=4) == []
    per_ticket = _audits_per_ticket(desk, "assigned")
    # 9 seats for 12 tickets: 9 tickets assigned exactly once, nobody over capacity.
    assert len(per_ticket) == 9 and set(per_ticket.values()) == {1}
    assert set(per_ticket) <= set(ids)
    assert {a.id: a.load for a in directory.list_agents()} == {"ann": 4, "ben": 3, "cy": 2}
    assert _count(desk, OutboxRow, event="ticket.assigned") == 9


def test_worker_time_is_the_desk_clock(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert Worker(desk).run_once().now == clock.now
    assert clock.now - timedelta(0) == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_a_backlog_is_re_triaged_in_batches_and_a_bad_ticket_holds_nobody_back(
    desk: Desk,
    triager,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    triager.down = True
    ids = [desk.intake(_ticket(body=f"refund {i}")).ticket.id for i in range(5)]
    poison = desk.intake(_ticket(body="poison refund")).ticket.id
    triager.down = False
    clock.advance(minutes=5)
    batches = triager.batches
    report = Worker(desk).run_once()
    # One batch call for all six; it fails on the poison ticket, so each is retried alone.
    assert triager.batches == batches + 1
    assert (report.retriaged, report.retriage_failed) == (5, 1)
    assert {desk.get(i).triage_state for i in ids} == {TriageState.done}
    assert desk.get(poison).triage_state is TriageState.queued
    assert "ValueError" in (desk.get(poison).triage_error or "")
