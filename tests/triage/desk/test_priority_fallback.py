"""Routing when only the priority head abstains, on SQLite and PostgreSQL.

Category and team are confident, the urgency is not: the ticket goes to its team with a
fallback priority (the desk's default, raised to the model's leading guess when that is
more urgent), flagged for a person to confirm, instead of waiting in the human triage
queue. Confirming it is a training label.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from triage.contract import Channel, HeadPrediction, LabelScore
from triage.desk import Desk, DeskConfig, NewTicket, TicketChanges, TicketQuery, TriageState
from triage.desk.agents import AgentSpec, Directory
from triage.sla import BusinessCalendar, SlaPolicies

AGENT = "agent:alice"


def _unsure_priority(triager, leading: str | None, probability: float = 0.45, *, category=True):  # type: ignore[no-untyped-def]
    """Make the scripted triager abstain on priority (leaning to `leading`) for refunds."""
    scripted = triager.triage

    def answer(ticket):  # type: ignore[no-untyped-def]
        result = scripted(ticket)
        top = [LabelScore(label=leading, probability=probability)] if leading else []
        if leading and leading != "low":
            top.append(LabelScore(label="low", probability=round((1 - probability) / 3, 4)))
        update = {
            "priority": HeadPrediction(
                label=None, confidence=probability if top else 0.3, abstained=True, top_k=top
            )
        }
        if not category:
            update["category"] = HeadPrediction(label=None, confidence=0.2, abstained=True)
        return result.model_copy(update=update)

    triager.triage = answer


def _refund(**kwargs: object) -> NewTicket:
    return NewTicket(channel=Channel.email, subject="Refund", body="refund please", **kwargs)  # type: ignore[arg-type]


def test_a_confident_team_routes_the_ticket_with_the_default_priority(
    desk: Desk, triager, clock
) -> None:  # type: ignore[no-untyped-def]
    Directory(desk.sessions).upsert_agent(AgentSpec(id="fin", team="finance"))
    _unsure_priority(triager, "low")
    t = desk.intake(_refund()).ticket
    assert t.triage_state is TriageState.done
    assert (t.category, t.team, t.priority) == ("billing", "finance", "medium")
    assert t.priority_unconfirmed is True and t.predicted["priority"] is None
    # Routed, so assigned right away; the SLA clock runs on the default priority.
    assert t.assignee == "fin"
    sla = desk.sla
    assert t.first_response_due_at == sla.first_response_due("medium", t.created_at)
    assert t.resolution_due_at == sla.resolution_due("medium", t.created_at)
    [triaged] = [e for e in desk.audit(t.id) if e.action == "triaged"]
    assert triaged.details["queue"] is None
    assert triaged.details["abstained"] == ["priority"]
    assert triaged.details["priority_fallback"] == {
        "priority": "medium",
        "source": "default",
        "default": "medium",
        "guess": "low",
        "guess_probability": 0.45,
    }
    assert triaged.model_version == "scripted-1"
    assert desk.list(TicketQuery(triage_state=TriageState.needs_human)).total == 0
    assert [x.id for x in desk.list(TicketQuery(priority_unconfirmed=True)).items] == [t.id]
    assert desk.dashboard().priority_unconfirmed == 1


def test_a_more_urgent_leading_guess_wins_over_the_default(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    _unsure_priority(triager, "urgent", 0.41)
    t = desk.intake(_refund()).ticket
    assert (t.priority, t.priority_unconfirmed) == ("urgent", True)
    # Urgent runs 24x7: one hour from creation.
    assert t.first_response_due_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    [triaged] = [e for e in desk.audit(t.id) if e.action == "triaged"]
    assert triaged.details["priority_fallback"]["source"] == "leading_guess"


def test_an_unknown_guess_or_none_keeps_the_configured_default(engine, triager, clock) -> None:  # type: ignore[no-untyped-def]
    calendar = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC")
    desk = Desk(
        engine,
        triager,
        sla=SlaPolicies(calendar=calendar),
        config=DeskConfig(default_priority="high"),
        clock=clock,
    )
    _unsure_priority(triager, "sev-0")
    assert desk.intake(_refund()).ticket.priority == "high"
    _unsure_priority(triager, None)
    assert desk.intake(_refund()).ticket.priority == "high"


def test_confirming_the_priority_is_a_label_and_clears_the_flag(desk: Desk, triager, clock) -> None:  # type: ignore[no-untyped-def]
    _unsure_priority(triager, "low")
    first = desk.intake(_refund()).ticket
    second = desk.intake(_refund()).ticket
    clock.advance(minutes=10)
    # Confirmed as it is: no change of value, but a correction (the model abstained).
    t = desk.update(first.id, TicketChanges(priority="medium"), actor=AGENT)
    assert (t.priority, t.priority_unconfirmed) == ("medium", False)
    assert t.resolution_due_at == first.resolution_due_at
    last = desk.audit(t.id)[-1]
    assert last.action == "updated"
    assert last.details["priority"] == {"old": "medium", "new": "medium", "confirmed": True}
    # Corrected to another value: the SLA targets follow, counted from creation.
    t = desk.update(second.id, TicketChanges(priority="high"), actor=AGENT)
    assert (t.priority, t.priority_unconfirmed) == ("high", False)
    assert t.first_response_due_at == desk.sla.first_response_due("high", t.created_at)
    labels = [
        (c.ticket_id, c.predicted_value, c.old_value, c.new_value) for c in desk.corrections()
    ]
    assert labels == [(first.id, None, "medium", "medium"), (second.id, None, "medium", "high")]
    assert {c.model_version for c in desk.corrections()} == {"scripted-1"}
    # Once confirmed, setting the same value again is no change at all.
    desk.update(first.id, TicketChanges(priority="medium"), actor=AGENT)
    assert len(desk.corrections()) == 2
    assert desk.list(TicketQuery(priority_unconfirmed=True)).total == 0


@pytest.mark.parametrize("route", [True, False])
def test_the_human_queue_keeps_tickets_without_category_or_when_switched_off(
    engine, triager, clock, route: bool
) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(engine, triager, config=DeskConfig(route_without_priority=route), clock=clock)
    _unsure_priority(triager, "high", category=not route)
    t = desk.intake(_refund()).ticket
    assert t.triage_state is TriageState.needs_human
    assert t.priority is None and t.priority_unconfirmed is False
    [triaged] = [e for e in desk.audit(t.id) if e.action == "triaged"]
    assert triaged.details["queue"] == "human_triage"
    assert "priority_fallback" not in triaged.details


def test_an_unknown_default_priority_is_a_clear_error(engine) -> None:  # type: ignore[no-untyped-def]
    from triage.errors import TriageError
    from triage.settings import Settings

    with pytest.raises(TriageError, match="TRIAGE_DEFAULT_PRIORITY 'sev1'.*urgent, critical"):
        Desk.from_settings(Settings(_env_file=None, default_priority="sev1"), engine)
    desk = Desk.from_settings(Settings(_env_file=None, default_priority="High"), engine)
    assert desk.config.default_priority == "High" and desk.config.route_without_priority
    # Stored as the policies spell it: confirmed as is, it is the model's "high" class.
    assert desk.fallback_priority(None)["priority"] == "high"


def test_the_fallback_is_one_of_the_models_own_labels(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    """The SLA policies' default "medium" is no label of a low/normal/high/urgent model:
    the fallback is the model's label with the same SLA targets, "normal"."""
    scripted = triager.triage

    def answer(ticket):  # type: ignore[no-untyped-def]
        top = [
            LabelScore(label=label, probability=p)
            for label, p in (("low", 0.4), ("normal", 0.3), ("high", 0.2), ("urgent", 0.1))
        ]
        unsure = HeadPrediction(label=None, confidence=0.4, abstained=True, top_k=top)
        return scripted(ticket).model_copy(update={"priority": unsure})

    triager.triage = answer
    t = desk.intake(_refund()).ticket
    assert (t.priority, t.priority_unconfirmed) == ("normal", True)
    [triaged] = [e for e in desk.audit(t.id) if e.action == "triaged"]
    fallback = triaged.details["priority_fallback"]
    assert (fallback["priority"], fallback["configured_default"]) == ("normal", "medium")


def test_a_priority_raised_after_a_breach_escalates_on_its_own_schedule(
    desk: Desk, triager, clock
) -> None:  # type: ignore[no-untyped-def]
    """The worker set the grace period of the fallback's breach; a person raising the
    priority drops it, so the ticket escalates on the new priority's schedule (urgent:
    at once), not when the old grace period ends."""
    from triage.worker import Worker

    _unsure_priority(triager, "low")
    t = desk.intake(_refund()).ticket  # Monday 09:00, medium: due Wednesday 17:00
    worker = Worker(desk)
    clock.advance(days=3)  # Thursday 09:00: late, inside medium's grace (to Friday 13:00)
    report = worker.run_once()
    assert (report.breached, report.escalated) == (1, 0)
    grace_end = datetime(2026, 1, 9, 13, tzinfo=UTC)
    half = desk.sla.policy("medium").resolution / 2
    assert desk.sla.after("medium", t.resolution_due_at, half) == grace_end
    t = desk.update(t.id, TicketChanges(priority="urgent"), actor=AGENT)
    assert t.resolution_due_at == datetime(2026, 1, 5, 13, tzinfo=UTC)  # 4 h from creation
    assert worker.run_once().escalated == 1
    [escalated] = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert escalated.details["rule"] == "resolution" and clock.now < grace_end


def test_a_priority_lowered_before_the_due_time_runs_on_the_lower_targets(
    desk: Desk, triager, clock
) -> None:  # type: ignore[no-untyped-def]
    from triage.desk.records import Direction, NewMessage
    from triage.worker import Worker

    _unsure_priority(triager, "low")
    t = desk.intake(_refund()).ticket
    clock.advance(hours=1)
    t = desk.update(t.id, TicketChanges(priority="low"), actor=AGENT)
    assert t.resolution_due_at == desk.sla.resolution_due("low", t.created_at)
    reply = NewMessage(direction=Direction.outbound, channel=Channel.email, body="On it.")
    desk.add_message(t.id, reply, actor=AGENT)
    clock.advance(days=3)  # past medium's due time, inside low's 40 business hours
    report = Worker(desk).run_once()
    assert (report.breached, report.escalated) == (0, 0)
    assert not desk.get(t.id).sla_breached
