"""Replaying a demo history through the desk (what the README's main command shows)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.contract import Channel, HeadPrediction, Ticket
from triage.dataset import iter_tickets
from triage.demo import write_demo
from triage.demo.roster import load_roster
from triage.desk import Desk, TicketQuery, TriageState
from triage.desk.agents import Directory
from triage.replay import MovableClock, load_roster_into, replay, roster_policies
from triage.sla import BusinessCalendar, SlaPolicies
from triage_cli.main import app


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.parquet"
    write_demo(path, tickets=120, seed=3)
    return path


def test_roster_becomes_agents_teams_and_policies(demo: Path, engine) -> None:  # type: ignore[no-untyped-def]
    roster = load_roster(demo.with_name("demo.agents.json"))
    sla = roster_policies(roster)
    assert list(sla.policies) == ["urgent", "high", "normal", "low"]
    assert (
        sla.policy("urgent").first_response.total_seconds()
        == roster.sla["urgent"].first_response_hours * 3600
    )
    directory = Directory(Desk(engine).sessions)
    assert load_roster_into(directory, roster) == len(roster.agents)
    agents = {a.id: a for a in directory.list_agents()}
    first = roster.agents[0]
    assert agents[first.id].tier == int(first.tier[1:])
    assert set(first.subcategories) <= set(agents[first.id].skills)


def test_replay_follows_the_tickets_clock_and_is_idempotent(demo: Path, engine, triager) -> None:  # type: ignore[no-untyped-def]
    tickets = list(iter_tickets(demo))[-16:]
    clock = MovableClock(tickets[0].created_at)
    desk = Desk(engine, triager, clock=clock)
    desk.sla = roster_policies(load_roster(demo.with_name("demo.agents.json")))
    seen = []
    summary = replay(desk, clock, tickets, on_ticket=seen.append)
    assert summary.tickets == summary.created == 16
    assert summary.triaged + summary.human_queue + summary.queued == 16
    assert summary.worker_passes >= 2
    assert [s.source_id for s in seen] == [t.id for t in tickets]
    assert all(s.why for s in seen)
    stored = {t.external_id: t for t in desk.list(TicketQuery(limit=100)).items}
    assert stored[tickets[5].id].created_at == tickets[5].created_at
    # The history's agents replied and solved at their recorded times: the SLA clocks
    # stopped there, so a ticket breached only where the history's answer came late.
    answered = [t for t in tickets if t.first_response_at is not None]
    assert summary.history_replies == len(answered) > 0
    assert summary.history_solves == sum(t.resolved_at is not None for t in tickets)
    first = stored[answered[0].id]
    reply = next(m for m in desk.get(first.id).messages or [] if m.direction.value == "outbound")
    assert reply.created_at == answered[0].first_response_at
    assert stored[answered[0].id].first_response_at == answered[0].first_response_at
    sla = desk.sla
    for t in tickets:
        if t.first_response_at is None or t.resolved_at is None:
            continue
        priority = stored[t.id].priority  # the one in force on the desk
        late = t.first_response_at >= sla.first_response_due(priority, t.created_at) or (
            t.resolved_at >= sla.resolution_due(priority, t.created_at)
        )
        assert stored[t.id].sla_breached is late, t.id
    assert summary.breached == sum(s.sla_breached for s in stored.values()) > 0
    # Replaying the same file again adds nothing: no ticket, no second reply.
    messages = sum(len(desk.get(s.id).messages or []) for s in stored.values())
    again = replay(desk, clock, tickets)
    assert again.created == 0 and desk.list(TicketQuery()).total == 16
    assert again.history_replies == 0
    assert sum(len(desk.get(s.id).messages or []) for s in stored.values()) == messages


def test_replay_escalates_by_the_policy_and_counts_by_rule(demo: Path, engine, triager) -> None:  # type: ignore[no-untyped-def]
    from triage.escalation import history_escalations

    tickets = list(iter_tickets(demo))[-60:]
    clock = MovableClock(tickets[0].created_at)
    desk = Desk(engine, triager, clock=clock)
    desk.sla = roster_policies(load_roster(demo.with_name("demo.agents.json")))
    summary = replay(desk, clock, tickets)
    assert summary.policy_on_history == dict(
        history_escalations(tickets, desk.sla, desk.config.escalation)
    )
    assert summary.policy_on_history["tickets"] == 60
    assert sum(summary.escalated_by.values()) == summary.escalated
    # A missed first reply is marked, never escalated, under the default policy.
    assert "first_response" not in summary.escalated_by
    for t in desk.list(TicketQuery(limit=100)).items:
        audit = desk.audit(t.id)
        rules = [e.details["rule"] for e in audit if e.action == "escalated"]
        breaches = [e.details["clocks"] for e in audit if e.action == "sla_breached"]
        if rules[:1] == ["resolution"]:
            assert t.sla_breached and breaches, t.reference
    line = summary.escalation_line()
    assert line.startswith(
        f"escalated {summary.escalated} vs {summary.history_escalated} in history"
    )
    assert "[by rule: " in line and "the SLA rules on the history's own times: " in line


def test_replay_without_the_history_leaves_tickets_unanswered(demo: Path, engine, triager) -> None:  # type: ignore[no-untyped-def]
    tickets = list(iter_tickets(demo))[-4:]
    clock = MovableClock(tickets[0].created_at)
    desk = Desk(engine, triager, clock=clock)
    summary = replay(desk, clock, tickets, follow_history=False)
    assert (summary.history_replies, summary.history_solves) == (0, 0)
    assert all(t.first_response_at is None for t in desk.list(TicketQuery()).items)


def test_desk_replay_command(demo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    result = CliRunner().invoke(
        app, ["desk", "replay", str(demo), "--limit", "12", "--json", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 13
    summary = lines[-1]["summary"]
    assert summary["tickets"] == 12
    # No triager here: nothing was routed on a fallback, so nobody had one to confirm.
    assert (summary["priority_to_confirm"], summary["priority_confirmed_by_agents"]) == (0, 0)
    assert lines[0]["reference"] == "T-1" and lines[0]["why"]


def _history_ticket(n: int, text: str, priority: str, **times: str) -> Ticket:
    """A history's ticket created Monday 2026-01-05 09:00, with its labels and times."""
    return Ticket(
        id=f"h-{n}",
        created_at=datetime(2026, 1, 5, 9, n, tzinfo=UTC),
        channel=Channel.email,
        subject=text,
        body=text,
        category="billing" if "refund" in text else "hardware",
        priority=priority,
        team="finance" if "refund" in text else "it",
        **{k: datetime.fromisoformat(v) for k, v in times.items()},  # type: ignore[arg-type]
    )


def _unsure_of_refund_priorities(triager) -> None:  # type: ignore[no-untyped-def]
    """The scripted triager abstains on the priority of refunds (category and team
    confident): the desk routes them on its default priority, to be confirmed."""
    scripted = triager.triage

    def answer(ticket):  # type: ignore[no-untyped-def]
        result = scripted(ticket)
        if "refund" not in ticket.text.lower():
            return result
        unsure = HeadPrediction(label=None, confidence=0.3, abstained=True)
        return result.model_copy(update={"priority": unsure})

    triager.triage = answer


def test_history_agents_confirm_fallback_priorities_and_the_sla_follows(engine, triager) -> None:  # type: ignore[no-untyped-def]
    """At their first action, the history's agents set the priority the desk left
    unconfirmed (the history's label), through the desk's update: the targets become the
    confirmed priority's, counted from creation. Two refunds answered and solved at the
    same times, the next Monday: the one the history calls medium escalates (due
    Thursday, grace to Friday 13:00); the one it calls low breaches (due Friday 17:00)
    but is solved before its grace ends (the Wednesday after)."""
    calendar = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC")
    late = {
        "first_response_at": "2026-01-05T10:00:00+00:00",
        "resolved_at": "2026-01-12T10:00:00+00:00",
    }
    tickets = [
        _history_ticket(0, "refund please", "low", **late),
        _history_ticket(1, "refund again", "medium", **late),
        _history_ticket(2, "printer jammed", "high", first_response_at="2026-01-05T09:30:00+00:00"),
        _history_ticket(3, "refund, no answer", "low"),
    ]
    _unsure_of_refund_priorities(triager)
    clock = MovableClock(tickets[0].created_at)
    desk = Desk(engine, triager, sla=SlaPolicies(calendar=calendar), clock=clock)
    summary = replay(desk, clock, tickets)
    assert summary.priority_unconfirmed == 3
    stored = {t.external_id: t for t in desk.list(TicketQuery(limit=10)).items}
    low, medium, printer, unanswered = (stored[t.id] for t in tickets)
    assert (low.priority, low.priority_unconfirmed) == ("low", False)
    assert low.resolution_due_at == desk.sla.resolution_due("low", low.created_at)
    updates = [e for e in desk.audit(low.id) if e.action == "updated"]
    [confirmed] = [e for e in updates if "priority" in e.details]
    assert confirmed.details["priority"] == {"old": "medium", "new": "low", "confirmed": True}
    assert confirmed.created_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert confirmed.actor.startswith("agent:")
    assert (medium.priority, medium.priority_unconfirmed) == ("medium", False)
    # Nobody acted on the unanswered one in the history: it stays to confirm.
    assert unanswered.priority_unconfirmed is True
    # The printer's team head abstained (human triage queue): its agent routed it, and
    # left the priority the model answered alone.
    assert printer.triage_state is TriageState.done and printer.team == "it"
    assert printer.priority == "low"
    assert (summary.people_confirmed_priority, summary.people_changed_priority) == (2, 1)
    assert summary.people_routed == 1
    assert low.sla_breached and not low.escalated
    assert medium.sla_breached and medium.escalated
