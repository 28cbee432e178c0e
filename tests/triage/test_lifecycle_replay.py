"""Replaying a demo history through the desk (what the README's main command shows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from triage.dataset import iter_tickets
from triage.demo import write_demo
from triage.demo.roster import load_roster
from triage.desk import Desk, TicketQuery
from triage.desk.agents import Directory
from triage.desk.replay import MovableClock, load_roster_into, replay, roster_policies
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
    # Replaying the same file again adds nothing.
    again = replay(desk, clock, tickets)
    assert again.created == 0 and desk.list(TicketQuery()).total == 16


def test_desk_replay_command(demo: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    result = CliRunner().invoke(
        app, ["desk", "replay", str(demo), "--limit", "12", "--json", "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert len(lines) == 13
    assert lines[-1]["summary"]["tickets"] == 12
    assert lines[0]["reference"] == "T-1" and lines[0]["why"]
