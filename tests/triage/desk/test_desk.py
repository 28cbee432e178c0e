"""The desk end to end on SQLite and PostgreSQL: intake, triage, threads, states,
corrections, audit and views."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from triage.contract import Channel
from triage.desk import Desk, Direction, NewMessage, NewTicket, Status, TicketChanges, TicketQuery
from triage.desk.records import TriageState
from triage.errors import IllegalTransition, NotFound
from triage.remote import HttpTriager

AGENT = "agent:alice"


def _refund(**kwargs: object) -> NewTicket:
    values: dict[str, object] = {
        "channel": Channel.email,
        "subject": "Refund please",
        "body": "I was charged twice, I want a refund.",
        "requester": "bob@example.com",
    }
    values.update(kwargs)
    return NewTicket(**values)  # type: ignore[arg-type]


def _actions(desk: Desk, ticket_id: int) -> list[str]:
    return [e.action for e in desk.audit(ticket_id)]


def test_confident_predictions_fill_routing_fields(desk: Desk) -> None:
    result = desk.intake(_refund(tags=["vip"]))
    t = result.ticket
    assert result.created
    assert (t.category, t.priority, t.team) == ("billing", "high", "finance")
    assert t.triage_state is TriageState.done
    assert t.status is Status.new
    assert t.model_version == "scripted-1"
    assert t.predicted["category"] == "billing"
    assert t.escalation_risk == pytest.approx(0.1)
    # High priority: 4 business hours to first response, 8 to resolution (Monday 09:00).
    assert t.first_response_due_at == datetime(2026, 1, 5, 13, tzinfo=UTC)
    assert t.resolution_due_at == datetime(2026, 1, 5, 17, tzinfo=UTC)
    assert t.tags == ["vip"]
    assert [m.kind for m in t.messages or []] == ["original"]
    audit = desk.audit(t.id)
    assert [e.action for e in audit] == ["created", "triaged"]
    assert audit[1].model_version == "scripted-1"
    assert audit[1].details["filled"] == {
        "category": "billing",
        "priority": "high",
        "team": "finance",
    }


def test_requester_values_are_kept_over_predictions(desk: Desk) -> None:
    t = desk.intake(_refund(priority="urgent")).ticket
    assert t.priority == "urgent"
    assert t.predicted["priority"] == "high"


def test_abstentions_go_to_the_human_triage_queue(desk: Desk) -> None:
    t = desk.intake(_refund(subject="Printer jam", body="The printer on floor 2 jams")).ticket
    assert t.category == "hardware" and t.team is None
    assert t.triage_state is TriageState.needs_human
    queue = desk.list(TicketQuery(triage_state=TriageState.needs_human))
    assert [x.id for x in queue.items] == [t.id]
    # A person routes it: the queue empties and the team choice is a training label.
    t = desk.update(t.id, TicketChanges(team="it-desk"), actor=AGENT)
    assert t.triage_state is TriageState.done
    assert desk.list(TicketQuery(triage_state=TriageState.needs_human)).total == 0
    [correction] = desk.corrections()
    assert (correction.field, correction.predicted_value, correction.new_value) == (
        "team",
        None,
        "it-desk",
    )


def test_triage_service_down_keeps_the_ticket_queued(engine, clock) -> None:  # type: ignore[no-untyped-def]
    # A real HTTP client pointed at a port nobody listens on.
    dead = HttpTriager("http://127.0.0.1:9", timeout_s=0.5, retries=0)
    desk = Desk(engine, dead, clock=clock)
    result = desk.intake(_refund(), idempotency_key="k-down")
    t = result.ticket
    assert result.created
    assert t.triage_state is TriageState.queued
    assert t.triage_error and "RemoteUnavailable" in t.triage_error
    assert t.category is None
    assert _actions(desk, t.id) == ["created", "triage_failed"]
    # The ticket is fully there: it can be listed and worked on.
    assert desk.list(TicketQuery(triage_state=TriageState.queued)).total == 1
    dead.close()


def test_retriage_after_the_service_comes_back(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    triager.down = True
    t = desk.intake(_refund()).ticket
    assert t.triage_state is TriageState.queued
    triager.down = False
    assert desk.triage_ticket(t.id)
    t = desk.get(t.id)
    assert t.triage_state is TriageState.done and t.category == "billing"
    assert t.triage_error is None
    # A second attempt is a no-op, not a second triage.
    calls = triager.calls
    assert desk.triage_ticket(t.id)
    assert triager.calls == calls


def test_idempotency_key_returns_the_first_ticket(desk: Desk) -> None:
    first = desk.intake(_refund(), idempotency_key="abc")
    again = desk.intake(_refund(body="different retry body"), idempotency_key="abc")
    assert first.created and not again.created
    assert again.ticket.id == first.ticket.id
    assert desk.list(TicketQuery()).total == 1


def test_concurrent_retries_create_one_ticket(desk: Desk) -> None:
    results = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            results.append(desk.intake(_refund(), idempotency_key="same-key"))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.ticket.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert desk.list(TicketQuery()).total == 1


def test_email_replies_join_their_thread(desk: Desk) -> None:
    opened = desk.receive(
        NewMessage(
            author="bob@example.com", subject="Refund", body="refund me", message_id="<m1@x>"
        )
    )
    assert opened.created
    tid = opened.ticket.id
    assert opened.ticket.thread_id == "<m1@x>"
    # By the reply tag in the subject (the number and the ticket's reply token).
    tag = opened.ticket.reply_tag
    assert tag is not None and tag.startswith(f"[#T-{tid}-")
    r1 = desk.receive(
        NewMessage(author="bob@example.com", subject=f"Re: {tag} Refund", body="any news?")
    )
    # By In-Reply-To.
    r2 = desk.receive(
        NewMessage(
            author="bob@example.com", body="hello?", in_reply_to="<m1@x>", message_id="<m2@x>"
        )
    )
    # By References, quoting the second message.
    r3 = desk.receive(
        NewMessage(author="bob@example.com", body="again", references=["<zz>", "<m2@x>"])
    )
    assert {r1.ticket.id, r2.ticket.id, r3.ticket.id} == {tid}
    assert not (r1.created or r2.created or r3.created)
    # The same e-mail delivered twice is stored once.
    dup = desk.receive(
        NewMessage(
            author="bob@example.com", body="hello?", in_reply_to="<m1@x>", message_id="<m2@x>"
        )
    )
    assert dup.ticket.id == tid and not dup.created
    assert len(desk.get(tid).messages or []) == 4
    # An unrelated e-mail, or a reference to a ticket that does not exist, opens a new one.
    other = desk.receive(
        NewMessage(author="eve@example.com", subject="[#T-999] hi", body="new issue")
    )
    assert other.created and other.ticket.id != tid


def test_agent_reply_stops_first_response_clock_and_tags_the_subject(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_refund()).ticket
    clock.advance(minutes=30)
    t = desk.add_message(
        t.id, NewMessage(direction=Direction.outbound, author=AGENT, body="On it"), actor=AGENT
    )
    assert t.status is Status.open
    assert t.first_response_at == clock.now
    assert (t.messages or [])[-1].subject.startswith(t.reply_tag or "?")


def test_full_status_path_and_customer_reopen(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_refund()).ticket
    t = desk.update(t.id, TicketChanges(status=Status.open), actor=AGENT)
    t = desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    assert t.pending_until == clock.now + timedelta(hours=72)
    t = desk.add_message(
        t.id, NewMessage(author="bob@example.com", body="here is the invoice"), actor="customer:bob"
    )
    assert t.status is Status.reopened and t.pending_until is None
    t = desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    assert t.solved_at == clock.now
    t = desk.add_message(
        t.id, NewMessage(author="bob@example.com", body="still broken"), actor="customer:bob"
    )
    assert t.status is Status.reopened and t.solved_at is None
    t = desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    t = desk.update(t.id, TicketChanges(status=Status.closed), actor=AGENT)
    assert t.closed_at == clock.now
    moves = [
        (e.details["from"], e.details["to"])
        for e in desk.audit(t.id)
        if e.action == "status_changed"
    ]
    assert moves == [
        ("new", "open"),
        ("open", "pending"),
        ("pending", "reopened"),
        ("reopened", "solved"),
        ("solved", "reopened"),
        ("reopened", "solved"),
        ("solved", "closed"),
    ]


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], Status.closed),
        ([Status.solved, Status.closed], Status.open),
        ([Status.open], Status.new),
    ],
)
def test_illegal_transitions_change_nothing(
    desk: Desk, path: list[Status], illegal: Status
) -> None:
    t = desk.intake(_refund()).ticket
    for status in path:
        desk.update(t.id, TicketChanges(status=status), actor=AGENT)
    before = desk.get(t.id)
    with pytest.raises(IllegalTransition, match=f"to {illegal}"):
        desk.update(t.id, TicketChanges(status=illegal, category="other"), actor=AGENT)
    assert desk.get(t.id) == before
    assert desk.corrections() == []


def test_reply_to_a_closed_ticket_opens_a_follow_up(desk: Desk) -> None:
    t = desk.intake(_refund()).ticket
    desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    desk.update(t.id, TicketChanges(status=Status.closed), actor=AGENT)
    r = desk.receive(
        NewMessage(author="bob@example.com", subject=f"Re: {t.reply_tag}", body="refund again")
    )
    assert r.created and r.ticket.follow_up_of == t.id
    assert desk.get(t.id).status is Status.closed
    with pytest.raises(IllegalTransition):
        desk.add_message(t.id, NewMessage(direction=Direction.outbound, body="late"), actor=AGENT)


def test_pending_pauses_the_resolution_clock(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_refund()).ticket  # high: resolution due Monday 17:00
    clock.advance(hours=2)  # 11:00, 6 business hours left
    desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    clock.advance(days=2)  # Wednesday 11:00
    t = desk.add_message(
        t.id, NewMessage(author="bob@example.com", body="answer"), actor="customer:bob"
    )
    assert t.status is Status.reopened
    assert t.resolution_due_at == datetime(2026, 1, 7, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    "priority, resumed_due",
    [
        # Urgent runs 24x7, 4 h from creation: 2 h were left at the 11:00 pause.
        ("urgent", datetime(2026, 1, 7, 13, tzinfo=UTC)),
        # Low has 40 business hours: 38 were left at the pause, counted from Wednesday 11:00.
        ("low", datetime(2026, 1, 13, 17, tzinfo=UTC)),
    ],
)
def test_a_priority_changed_while_paused_resumes_on_the_new_target(
    desk: Desk, clock, priority: str, resumed_due: datetime
) -> None:  # type: ignore[no-untyped-def]
    """Waiting on the customer, the ticket's priority changes: the clock resumes with what
    the new priority's target had left at the pause (high's 6 business hours would give
    Wednesday 17:00), the same due time as a priority changed just before the pause."""
    paused = desk.intake(_refund()).ticket  # high, Monday 09:00
    running = desk.intake(_refund()).ticket
    clock.advance(hours=2)  # 11:00
    desk.update(running.id, TicketChanges(priority=priority), actor=AGENT)
    for t in (paused, running):
        desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    clock.advance(hours=1)
    desk.update(paused.id, TicketChanges(priority=priority), actor=AGENT)
    clock.advance(days=2, hours=-1)  # Wednesday 11:00: the customer answers both
    for t in (paused, running):
        back = desk.add_message(
            t.id, NewMessage(author="bob@example.com", body="answer"), actor="customer:bob"
        )
        assert back.status is Status.reopened
        assert back.resolution_due_at == resumed_due


def test_a_priority_raised_past_its_target_while_paused_is_late_on_resume(
    desk: Desk, clock
) -> None:  # type: ignore[no-untyped-def]
    """Raised to urgent after urgent's 4 h had run out before the pause: the clock had no
    time left, so it resumes already late and the worker marks the breach and escalates at
    once (urgent), as for a running clock. (High's 3 business hours left at the pause
    would have made it due at 14:00 on resuming.)"""
    from triage.worker import Worker

    t = desk.intake(_refund()).ticket  # high, Monday 09:00
    clock.advance(hours=5)  # 14:00: 3 of high's business hours left
    desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    desk.update(t.id, TicketChanges(priority="urgent"), actor=AGENT)
    clock.advance(days=1)  # Tuesday 14:00
    t = desk.update(t.id, TicketChanges(status=Status.open), actor=AGENT)
    assert t.resolution_due_at == clock.now - timedelta(hours=1)
    report = Worker(desk).run_once()
    assert (report.breached, report.escalated) == (1, 1)
    assert desk.get(t.id).sla_breached


def test_a_priority_raised_while_paused_drops_the_old_grace_period(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    """The worker set high's grace period for the breach (to Tuesday 13:00); raised to
    urgent while waiting on the customer, the ticket escalates at once on resuming, by
    urgent's rule, not when high's grace period ends."""
    from triage.worker import Worker

    t = desk.intake(_refund()).ticket  # high, Monday 09:00: due Monday 17:00
    worker = Worker(desk)
    clock.advance(days=1)  # Tuesday 09:00: late, inside high's grace period
    assert (worker.run_once().breached, desk.get(t.id).tier) == (1, 1)
    clock.advance(hours=1)
    desk.update(t.id, TicketChanges(status=Status.pending), actor=AGENT)
    desk.update(t.id, TicketChanges(priority="urgent"), actor=AGENT)
    clock.advance(hours=1)  # Tuesday 11:00, before the old grace period's end
    desk.update(t.id, TicketChanges(status=Status.open), actor=AGENT)
    assert worker.run_once().escalated == 1
    [escalated] = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert escalated.details["rule"] == "resolution"


def test_overriding_a_prediction_is_a_correction(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_refund()).ticket
    desk.update(t.id, TicketChanges(category="billing"), actor=AGENT)  # no change
    desk.update(t.id, TicketChanges(priority="high", team="finance"), actor=AGENT)  # confirms
    assert desk.corrections() == []
    clock.advance(minutes=5)
    t = desk.update(
        t.id, TicketChanges(category="fraud", priority="urgent", tags=["chargeback"]), actor=AGENT
    )
    corrections = {c.field: c for c in desk.corrections()}
    assert set(corrections) == {"category", "priority"}
    c = corrections["category"]
    assert (c.predicted_value, c.old_value, c.new_value, c.actor) == (
        "billing",
        "billing",
        "fraud",
        AGENT,
    )
    assert c.model_version == "scripted-1" and c.created_at == clock.now
    # Urgent runs 24x7: 1h to first response from creation.
    assert t.first_response_due_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    last = desk.audit(t.id)[-1]
    assert last.action == "updated" and last.actor == AGENT
    assert last.details["category"] == {"old": "billing", "new": "fraud"}
    assert last.details["tags"] == {"old": [], "new": ["chargeback"]}
    assert last.model_version == "scripted-1"


def test_list_filters_sorts_and_pages(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    low = desk.intake(_refund(subject="Printer", body="printer broken", tags=["floor2"])).ticket
    clock.advance(minutes=1)
    high = desk.intake(_refund()).ticket
    clock.advance(minutes=1)
    urgent = desk.intake(_refund(priority="urgent")).ticket
    desk.update(high.id, TicketChanges(assignee="alice"), actor=AGENT)
    everything = desk.list(TicketQuery())
    assert [t.id for t in everything.items] == [urgent.id, high.id, low.id]
    assert desk.list(TicketQuery(assignee="alice")).items[0].id == high.id
    assert [t.id for t in desk.list(TicketQuery(tag="floor2")).items] == [low.id]
    assert desk.list(TicketQuery(team="finance")).total == 2
    assert desk.list(TicketQuery(priority="LOW")).total == 1
    assert desk.list(TicketQuery(status=[Status.open])).total == 0
    due = desk.list(TicketQuery(due_before=datetime(2026, 1, 5, 12, tzinfo=UTC)))
    assert [t.id for t in due.items] == [urgent.id]
    page = desk.list(TicketQuery(limit=2, offset=2))
    assert page.total == 3 and [t.id for t in page.items] == [low.id]


def test_due_before_lists_running_clocks_by_next_due_time(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    # High priority on Monday 09:00: first response due 13:00, resolution 17:00.
    answered = desk.intake(_refund()).ticket
    clock.advance(minutes=30)
    unanswered = desk.intake(_refund()).ticket  # first response due 13:30
    paused = desk.intake(_refund()).ticket
    solved = desk.intake(_refund()).ticket
    desk.add_message(
        answered.id, NewMessage(direction=Direction.outbound, body="On it"), actor=AGENT
    )
    desk.update(paused.id, TicketChanges(status=Status.pending), actor=AGENT)
    desk.update(solved.id, TicketChanges(status=Status.solved), actor=AGENT)
    # Same priority: the unanswered ticket's next due (13:30, first response) comes before
    # the answered one's (17:00, resolution); paused and solved clocks come last.
    order = [t.id for t in desk.list(TicketQuery()).items]
    assert order == [unanswered.id, answered.id, paused.id, solved.id]
    # "SLA due before" lists only running clocks: a pending or solved ticket is not due.
    due = desk.list(TicketQuery(due_before=datetime(2026, 1, 5, 18, tzinfo=UTC)))
    assert [t.id for t in due.items] == [unanswered.id, answered.id]
    due = desk.list(TicketQuery(due_before=datetime(2026, 1, 5, 14, tzinfo=UTC)))
    assert [t.id for t in due.items] == [unanswered.id]


def test_a_late_first_reply_or_solve_is_a_breach_without_a_worker_pass(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    # High priority on Monday 09:00: first response due 13:00, resolution 17:00.
    late_reply, late_solve, paused = (desk.intake(_refund()).ticket for _ in range(3))
    clock.now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    for t in (late_solve, paused):
        desk.add_message(t.id, NewMessage(direction=Direction.outbound, body="On it"), actor=AGENT)
    desk.update(paused.id, TicketChanges(status=Status.pending), actor=AGENT)  # 7 h left
    clock.now = datetime(2026, 1, 5, 13, 30, tzinfo=UTC)
    t = desk.add_message(
        late_reply.id, NewMessage(direction=Direction.outbound, body="Sorry"), actor=AGENT
    )
    assert t.sla_breached
    [entry] = [e for e in desk.audit(t.id) if e.action == "sla_breached"]
    assert entry.details == {"clocks": ["first_response"]}
    clock.now = datetime(2026, 1, 5, 17, 30, tzinfo=UTC)
    assert desk.update(late_solve.id, TicketChanges(status=Status.solved), actor=AGENT).sla_breached
    [entry] = [e for e in desk.audit(late_solve.id) if e.action == "sla_breached"]
    assert (entry.details, entry.actor) == ({"clocks": ["resolution"]}, "system:sla")
    # The pending ticket's clock stood still: solved in time.
    assert not desk.update(paused.id, TicketChanges(status=Status.solved), actor=AGENT).sla_breached
    desk.update(late_reply.id, TicketChanges(status=Status.solved), actor=AGENT)
    d = desk.dashboard()
    assert (d.sla_decided, d.sla_met, d.sla_compliance_pct) == (3, 1, 33.33)
    # Over time: per day solved (UTC), within the last fortnight.
    by_day = [(s.day.isoformat(), s.decided, s.met, s.compliance_pct) for s in d.sla_by_day]
    assert by_day == [("2026-01-05", 3, 1, 33.33)]
    clock.now = datetime(2026, 1, 25, tzinfo=UTC)
    assert desk.dashboard().sla_by_day == []


def test_unknown_tickets_are_not_found(desk: Desk) -> None:
    with pytest.raises(NotFound):
        desk.get(12345)
    with pytest.raises(NotFound):
        desk.get("T-abc")
    with pytest.raises(NotFound):
        desk.update("T-999", TicketChanges(status=Status.open), actor=AGENT)
    assert desk.intake(_refund()).ticket.reference == "T-1"
    assert desk.get("T-1").id == 1


def test_the_same_reply_delivered_concurrently_is_stored_once(desk: Desk) -> None:
    tid = desk.intake(_refund(message_id="<root@x>")).ticket.id
    results = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            reply = NewMessage(
                author="bob@example.com",
                body="any news?",
                in_reply_to="<root@x>",
                message_id="<r@x>",
            )
            results.append(desk.receive(reply))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {r.ticket.id for r in results} == {tid}
    assert [m.message_id for m in desk.get(tid).messages or []] == ["<root@x>", "<r@x>"]
