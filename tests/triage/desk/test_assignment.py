"""Assignment by team, skills, language, availability and load; capacity is never exceeded."""

from __future__ import annotations

import threading
from datetime import time

import pytest

from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges
from triage.desk.agents import AgentSpec, Directory, Shift
from triage.errors import NotFound
from triage.worker import Worker


def _refund(**kwargs: object) -> NewTicket:
    return NewTicket(channel=Channel.web, subject="Refund", body="refund please", **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def directory(desk: Desk) -> Directory:
    return Directory(desk.sessions)


def test_the_best_free_agent_of_the_team_gets_the_ticket(desk: Desk, directory: Directory) -> None:
    directory.upsert_agent(AgentSpec(id="ann", team="finance", skills=["billing"], capacity=2))
    directory.upsert_agent(AgentSpec(id="ben", team="finance", capacity=5))
    directory.upsert_agent(AgentSpec(id="cid", team="it", skills=["billing"], capacity=5))
    directory.upsert_agent(AgentSpec(id="dee", team="finance", skills=["billing"], online=False))
    t = desk.intake(_refund()).ticket
    assert t.assignee == "ann"
    [entry] = [e for e in desk.audit(t.id) if e.action == "assigned"]
    assert entry.details["agent"] == "ann"
    assert entry.details["parts"]["skill"] == 1.0 and entry.details["parts"]["team"] == 2.0
    assert entry.details["excluded"] == {"offline": ["dee"], "other_team": ["cid"]}
    # Ann's load now counts against her: the second refund still prefers her skill...
    assert desk.intake(_refund()).ticket.assignee == "ann"
    # ...but she is at capacity for the third.
    third = desk.intake(_refund()).ticket
    assert third.assignee == "ben"
    assert {a.id: a.load for a in directory.list_agents()} == {
        "ann": 2,
        "ben": 1,
        "cid": 0,
        "dee": 0,
    }


def test_a_ticket_routed_out_of_the_triage_queue_is_assigned_at_once(
    desk: Desk, directory: Directory
) -> None:
    directory.upsert_agent(AgentSpec(id="ivy", team="it"))
    t = desk.intake(NewTicket(channel=Channel.web, subject="Hi", body="something odd")).ticket
    assert t.triage_state.value == "needs_human" and t.assignee is None
    t = desk.update(t.id, TicketChanges(category="hw", priority="low"), actor="agent:lead")
    assert t.triage_state.value == "needs_human" and t.assignee is None
    t = desk.update(t.id, TicketChanges(team="it"), actor="agent:lead")
    assert (t.triage_state.value, t.assignee) == ("done", "ivy")
    actions = [e.action for e in desk.audit(t.id)]
    assert actions[-3:] == ["updated", "triaged_by_human", "assigned"]


def test_nobody_free_leaves_it_unassigned_until_the_worker_finds_someone(
    desk: Desk, directory: Directory
) -> None:
    directory.upsert_agent(AgentSpec(id="ann", team="finance", capacity=1))
    first = desk.intake(_refund()).ticket
    waiting = desk.intake(_refund()).ticket
    assert first.assignee == "ann" and waiting.assignee is None
    worker = Worker(desk)
    assert worker.run_once().assigned == 0
    # Intake says why nobody took it; the worker's passes do not repeat it.
    [waiting_entry] = [e for e in desk.audit(waiting.id) if e.action == "assignment_waiting"]
    assert waiting_entry.details == {"excluded": {"at_capacity": ["ann"]}}
    desk.update(first.id, TicketChanges(status=Status.solved), actor="agent:ann")
    report = worker.run_once()
    assert report.assigned == 1 and report.tickets["assigned"] == [waiting.reference]
    assert desk.get(waiting.id).assignee == "ann"


def test_shifts_tiers_and_languages_filter_candidates(
    desk: Desk, directory: Directory, clock
) -> None:  # type: ignore[no-untyped-def]
    # The clock is Monday 09:00 UTC.
    directory.upsert_agent(
        AgentSpec(id="night", team="finance", shifts=[Shift(start=time(22), end=time(6))])
    )
    directory.upsert_agent(AgentSpec(id="french", team="finance", languages=["fr"]))
    directory.upsert_agent(AgentSpec(id="senior", team="finance", tier=2, languages=["en"]))
    t = desk.intake(_refund(language="en")).ticket
    assert t.assignee == "senior"
    [entry] = [e for e in desk.audit(t.id) if e.action == "assigned"]
    assert entry.details["excluded"] == {"off_shift": ["night"], "language": ["french"]}
    clock.now = clock.now.replace(hour=23)
    assert Shift(start=time(22), end=time(6)).covers(clock.now)
    # Past midnight on Saturday still belongs to Friday's night shift.
    assert Shift(start=time(22), end=time(6), days=[4]).covers(clock.now.replace(day=10, hour=2))
    assert not Shift(start=time(22), end=time(6), days=[4]).covers(
        clock.now.replace(day=11, hour=2)
    )


def test_escalated_tickets_need_an_agent_of_that_tier(
    desk: Desk, directory: Directory, clock
) -> None:  # type: ignore[no-untyped-def]
    t = desk.intake(_refund()).ticket  # nobody yet
    clock.advance(days=1, hours=4)  # high: its resolution missed for half its target
    worker = Worker(desk)
    assert worker.run_once().escalated == 1
    directory.upsert_agent(AgentSpec(id="junior", team="finance", tier=1))
    assert worker.run_once().assigned == 0
    directory.upsert_agent(AgentSpec(id="lead", team="finance", tier=2))
    assert worker.run_once().assigned == 1
    assert desk.get(t.id).assignee == "lead"


def test_concurrent_assignment_never_exceeds_capacity(desk: Desk, directory: Directory) -> None:
    directory.upsert_agent(AgentSpec(id="ann", team="finance", capacity=3))
    directory.upsert_agent(AgentSpec(id="ben", team="finance", capacity=2))
    errors: list[BaseException] = []
    results = []

    def submit() -> None:
        try:
            for _ in range(2):
                results.append(desk.intake(_refund()).ticket)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(t.assignee or "-" for t in results) == [
        "-",
        "-",
        "-",
        "ann",
        "ann",
        "ann",
        "ben",
        "ben",
    ]
    assert {a.id: a.load for a in directory.list_agents()} == {"ann": 3, "ben": 2}


def test_agent_directory_errors(directory: Directory) -> None:
    with pytest.raises(NotFound):
        directory.get_agent("nobody")
    with pytest.raises(ValueError, match="time zone"):
        Shift(tz="Nowhere/Land")
    view = directory.upsert_agent(AgentSpec(id="ann", team="support"))
    assert view.load == 0 and view.team == "support"
    assert directory.set_online("ann", False).online is False


def test_the_models_assignee_is_a_preference_not_an_order(
    desk: Desk, directory: Directory, triager
) -> None:  # type: ignore[no-untyped-def]
    from triage.contract import HeadPrediction, LabelScore

    directory.upsert_agent(AgentSpec(id="ann", team="finance", online=False))
    directory.upsert_agent(AgentSpec(id="ben", team="finance"))
    directory.upsert_agent(AgentSpec(id="cy", team="finance"))
    scripted = triager.triage

    def with_assignee(ticket):  # type: ignore[no-untyped-def]
        scores = [LabelScore(label="ann", probability=0.6), LabelScore(label="cy", probability=0.3)]
        head = HeadPrediction(label="ann", confidence=0.6, abstained=False, top_k=scores)
        return scripted(ticket).model_copy(update={"assignee": head})

    triager.triage = with_assignee
    t = desk.intake(_refund()).ticket
    assert t.predicted["assignee"] == "ann"
    # Ann is offline: the model's second choice wins over an agent it did not suggest.
    assert t.assignee == "cy"
    [entry] = [e for e in desk.audit(t.id) if e.action == "assigned"]
    assert entry.details["parts"]["assignee"] == pytest.approx(0.3)
    assert entry.details["excluded"] == {"offline": ["ann"]}
