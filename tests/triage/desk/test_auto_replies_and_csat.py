"""Auto-replies, CSAT and the dashboard, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from triage.contract import Channel
from triage.desk import Desk, Direction, NewMessage, NewTicket, Status, TicketChanges
from triage.desk.agents import AgentSpec, Directory
from triage.errors import Conflict, NotFound, TriageError
from triage.store.models import CsatRow, OutboxRow
from triage.worker import Worker

AGENT = "agent:alice"


def _password() -> NewTicket:
    return NewTicket(
        channel=Channel.chat, subject="Password", body="forgot my password", requester="bob@x.org"
    )


def _events(desk: Desk, event: str) -> list[dict]:
    with desk.sessions() as session:
        return [
            r.payload for r in session.scalars(select(OutboxRow).where(OutboxRow.event == event))
        ]


def _survey_token(desk: Desk, ticket_id: int) -> str:
    with desk.sessions() as session:
        return session.scalars(
            select(CsatRow.token).where(CsatRow.ticket_id == ticket_id, CsatRow.purpose == "csat")
        ).one()


def _confirm_token(desk: Desk, ticket_id: int) -> str:
    with desk.sessions() as session:
        return session.scalars(
            select(CsatRow.token).where(
                CsatRow.ticket_id == ticket_id, CsatRow.purpose == "confirm"
            )
        ).one()


def test_kb_auto_reply_is_sent_and_the_ticket_stays_with_its_team(desk: Desk) -> None:
    t = desk.intake(_password()).ticket
    # Still the team's ticket, with its SLA clocks running: not pending, not answered.
    assert t.status is Status.new and t.auto_reply_id == "kb-reset"
    assert t.team == "support" and t.first_response_at is None
    assert t.auto_reply_due_at == t.created_at + timedelta(hours=48)
    reply = (t.messages or [])[-1]
    assert (reply.direction, reply.kind) == (Direction.outbound, "auto_reply")
    assert "Forgot password" in reply.body and reply.subject.startswith(t.reply_tag or "?")
    token = _confirm_token(desk, t.id)
    assert token not in reply.body  # the link is a credential: only the customer's copy
    [event] = _events(desk, "ticket.auto_replied")
    assert event["answer_id"] == "kb-reset"
    assert event["confirm_url"] == f"http://localhost:8000/v1/confirm/{token}"
    assert event["body"] == f"{reply.body}\n\n" + (
        f"Did this solve your request? Tell us here: http://localhost:8000/v1/confirm/{token}"
    )
    # The event carries the message: the webhook receiver (a mail or chat gateway) sends it.
    assert (event["to"], event["channel"], event["reference"]) == ("bob@x.org", "chat", t.reference)
    assert event["subject"] == reply.subject and event["body"].startswith(reply.body)
    # Nobody is assigned while the customer decides.
    assert t.assignee is None
    actions = [e.action for e in desk.audit(t.id)]
    assert "auto_replied" in actions
    [decided] = [e for e in desk.audit(t.id) if e.action == "auto_reply_decided"]
    assert decided.details["action"] == "send" and decided.details["reasons"] == []


def test_auto_replies_can_be_turned_off(engine, triager, clock) -> None:  # type: ignore[no-untyped-def]
    from triage.desk import DeskConfig

    desk = Desk(engine, triager, clock=clock, config=DeskConfig(auto_reply=False))
    t = desk.intake(_password()).ticket
    assert t.status is Status.new and t.auto_reply_id is None
    [decided] = [e for e in desk.audit(t.id) if e.action == "auto_reply_decided"]
    assert (decided.details["action"], decided.details["reasons"]) == ("suggest", ["disabled"])


def test_customer_confirms_then_rates(desk: Desk) -> None:
    t = desk.intake(_password()).ticket
    t = desk.answer_auto_reply(t.id, True, actor="customer:bob")
    assert t.status is Status.solved and t.auto_reply_outcome == "resolved"
    # Answering the same again is harmless; changing the answer is a conflict.
    assert desk.answer_auto_reply(t.id, True, actor="customer:bob").status is Status.solved
    with pytest.raises(Conflict):
        desk.answer_auto_reply(t.id, False, actor="customer:bob")
    [solved] = _events(desk, "ticket.solved")
    token = _survey_token(desk, t.id)
    assert solved["survey_url"] == f"http://localhost:8000/v1/csat/{token}"
    t = desk.rate(token, 5, "quick!")
    assert t.needs_followup is False
    with pytest.raises(Conflict):
        desk.rate(token, 4)
    [event] = _events(desk, "csat.received")
    assert event["rating"] == 5


def test_customer_still_needs_help_goes_to_an_agent(desk: Desk) -> None:
    Directory(desk.sessions).upsert_agent(AgentSpec(id="sam", team="support"))
    t = desk.intake(_password()).ticket
    assert Worker(desk).run_once().assigned == 0  # the customer is deciding
    t = desk.answer_auto_reply(t.id, False, actor="customer:bob")
    assert t.status is Status.new and t.auto_reply_outcome == "reopened"
    assert Worker(desk).run_once().assigned == 1
    assert desk.get(t.id).assignee == "sam"


def test_a_reply_after_an_auto_reply_counts_as_not_resolved(desk: Desk) -> None:
    t = desk.intake(_password()).ticket
    t = desk.receive(
        NewMessage(author="bob@x.org", subject=f"Re: {t.reply_tag}", body="did not work")
    ).ticket
    assert t.status is Status.new and t.auto_reply_outcome == "reopened"
    assert t.auto_reply_due_at is None


def test_unconfirmed_auto_reply_returns_to_the_team_queue(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    Directory(desk.sessions).upsert_agent(AgentSpec(id="sam", team="support"))
    t = desk.intake(_password()).ticket
    clock.advance(hours=47)
    assert Worker(desk).run_once().auto_reply_unanswered == 0
    clock.advance(hours=2)
    report = Worker(desk).run_once()
    assert (report.auto_reply_unanswered, report.assigned) == (1, 1)
    t = desk.get(t.id)
    assert (t.status, t.team, t.assignee) == (Status.new, "support", "sam")
    assert t.auto_reply_outcome == "no_answer"
    [entry] = [e for e in desk.audit(t.id) if e.action == "auto_reply_unanswered"]
    assert "back to the team's queue" in entry.details["note"]
    # A late answer still counts.
    assert desk.confirm_auto_reply(_confirm_token(desk, t.id), True).status is Status.solved


def test_confirm_link_is_single_purpose_and_expires(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_password()).ticket
    confirm = _confirm_token(desk, t.id)
    with pytest.raises(NotFound):
        desk.rate(confirm, 5)  # a confirm token is no survey
    t = desk.confirm_auto_reply(confirm, True)
    assert t.status is Status.solved and t.auto_reply_outcome == "resolved"
    with pytest.raises(Conflict):
        desk.confirm_auto_reply(confirm, True)
    survey = _survey_token(desk, t.id)
    with pytest.raises(NotFound):
        desk.confirm_auto_reply(survey, True)  # a survey token confirms nothing
    clock.advance(days=15)
    with pytest.raises(NotFound, match="expired"):
        desk.rate(survey, 5)


def test_low_rating_flags_follow_up_and_bad_ratings_are_refused(desk: Desk) -> None:
    t = desk.intake(NewTicket(channel=Channel.web, subject="Refund", body="refund")).ticket
    with pytest.raises(Conflict, match="no auto-reply"):
        desk.answer_auto_reply(t.id, True, actor="customer:bob")
    desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    token = _survey_token(desk, t.id)
    with pytest.raises(TriageError, match="1 to 5"):
        desk.rate(token, 0)
    with pytest.raises(NotFound):
        desk.rate("nope", 3)
    t = desk.rate(token, 2, "slow")
    assert t.needs_followup is True
    [entry] = [e for e in desk.audit(t.id) if e.action == "csat_received"]
    assert entry.details == {"rating": 2, "comment": "slow", "followup": True}


def test_dashboard(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    directory = Directory(desk.sessions)
    directory.upsert_agent(AgentSpec(id="fin", team="finance", capacity=4))
    refund = desk.intake(NewTicket(channel=Channel.web, subject="Refund", body="refund")).ticket
    desk.intake(NewTicket(channel=Channel.web, subject="Printer", body="printer jam"))
    ok = desk.intake(_password()).ticket
    desk.answer_auto_reply(ok.id, True, actor="customer:bob")
    no = desk.intake(_password()).ticket
    desk.answer_auto_reply(no.id, False, actor="customer:bob")
    desk.rate(_survey_token(desk, ok.id), 4)
    clock.advance(days=1)
    Worker(desk).run_once()  # the refund breaches its SLA
    desk.update(refund.id, TicketChanges(status=Status.solved), actor=AGENT)
    d = desk.dashboard()
    assert d.open_by_status == {"new": 2}
    assert d.open_by_team == {"unrouted": 1, "support": 1}
    assert d.triage_queue == {"needs_human": 1}
    assert (d.sla_decided, d.sla_met, d.sla_compliance_pct) == (2, 1, 50.0)
    assert d.auto_replies_sent == 2 and d.auto_reply_resolution_rate == 0.5
    [kb] = d.auto_reply_outcomes
    assert (kb.answer_id, kb.sent, kb.confirmed, kb.reopened, kb.no_answer) == (
        "kb-reset",
        2,
        1,
        1,
        0,
    )
    assert kb.confirmed_rate == 0.5
    assert (d.csat_sent, d.csat_answered, d.csat_average) == (2, 1, 4.0)
    # The support ticket went to the finance agent: support has no agents at all, so
    # the assigner falls back to anyone free (the audit log says so).
    assert [(a.id, a.load, a.capacity) for a in d.agents] == [("fin", 1, 4)]


def test_an_auto_reply_unanswered_on_a_ticket_an_agent_solved_stays_solved(
    desk: Desk, clock
) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_password()).ticket
    desk.update(t.id, TicketChanges(status=Status.solved), actor=AGENT)
    clock.advance(hours=49)
    assert Worker(desk).run_once().auto_reply_unanswered == 1
    t = desk.get(t.id)
    assert (t.status, t.auto_reply_outcome) == (Status.solved, "no_answer")
    assert not _events(desk, "ticket.auto_reply_unanswered")
