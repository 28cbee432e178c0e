"""`triage desk replay`: run a ticket history through the help desk and show where each
ticket went and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


@app.command("replay")
def replay_command(
    data: Annotated[
        Path,
        typer.Argument(help="tickets in the common Parquet format (e.g. demo-out/demo.parquet)"),
    ],
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster", help="teams/agents/SLA file (default: DATA's NAME.agents.json when present)"
        ),
    ] = None,
    limit: int = typer.Option(200, "--limit", min=1, help="replay the last N tickets of the file"),
    show: int = typer.Option(20, "--show", min=0, help="tickets to print in the table"),
    database_url: str | None = typer.Option(
        None, "--database-url", help="default: TRIAGE_DATABASE_URL"
    ),
    as_json: bool = typer.Option(
        False, "--json", help="one JSON line per ticket, then the summary"
    ),
    follow_history: bool = typer.Option(
        True,
        "--follow-history/--no-follow-history",
        help="the history's agents reply and solve at their recorded times",
    ),
) -> None:
    """Replay tickets through intake at their original times (labels removed), with the
    worker running as simulated time passes and the history's agents replying and
    solving at their recorded times; print where each went and why."""
    from collections import deque
    from datetime import UTC, datetime

    from triage.auto_reply_report import auto_reply_report
    from triage.dataset import iter_tickets
    from triage.demo.roster import agents_path_for, load_roster
    from triage.desk import Desk
    from triage.desk.agents import Directory
    from triage.replay import MovableClock, load_roster_into, replay, roster_policies
    from triage.settings import get_settings
    from triage.store import connect, migrate
    from triage_cli.worker import _triager

    settings = get_settings()
    url = database_url or settings.database_url
    migrate(url)
    engine = connect(url)
    tickets = list(deque(iter_tickets(data), maxlen=limit))
    if not tickets:
        raise typer.BadParameter(f"{data}: no tickets")
    clock = MovableClock(tickets[0].created_at or datetime.now(UTC))
    triager = _triager(settings)
    if triager is None:
        _err.print(
            "warning: no triager configured (TRIAGE_BUNDLE / TRIAGE_MODEL_ALIAS / "
            "TRIAGE_TRIAGER_URL): "
            "every ticket stays queued for re-triage"
        )
    desk = Desk.from_settings(settings, engine, triager, clock=clock)
    roster_file = roster or agents_path_for(data)
    if roster_file.exists():
        parsed = load_roster(roster_file)
        desk.sla = roster_policies(parsed)
        agents = load_roster_into(Directory(desk.sessions, desk.readers), parsed)
        _err.print(f"roster {roster_file}: {agents} agents, SLA for {', '.join(desk.sla.policies)}")
    rows = []

    def on_ticket(t) -> None:  # type: ignore[no-untyped-def]
        if as_json:
            print(t.model_dump_json(), flush=True)
        elif len(rows) < show:
            rows.append(t)

    summary = replay(desk, clock, tickets, on_ticket=on_ticket, follow_history=follow_history)
    replies = auto_reply_report(desk)
    engine.dispose()
    totals = {
        "tickets": summary.tickets,
        "created": summary.created,
        "triaged": summary.triaged,
        "human_queue": summary.human_queue,
        "priority_to_confirm": summary.priority_unconfirmed,
        "priority_confirmed_by_agents": summary.people_confirmed_priority,
        "priority_changed_by_agents": summary.people_changed_priority,
        "routed_by_agents": summary.people_routed,
        "queued_for_retriage": summary.queued,
        "auto_replied": summary.auto_replied,
        "auto_replied_kb_as_history": summary.auto_replied_as_history,
        "auto_replies": replies.model_dump(mode="json"),
        "assigned": summary.assigned,
        "answered_as_in_history": summary.history_replies,
        "solved_as_in_history": summary.history_solves,
        "sla_breached": summary.breached,
        "sla_breached_in_history": summary.history_breached,
        "escalated": summary.escalated,
        "escalated_in_history": summary.history_escalated,
        "escalated_by_rule": summary.escalated_by,
        "escalation_policy_on_history": summary.policy_on_history,
        "worker_passes": summary.worker_passes,
        "accuracy_vs_history": summary.accuracy(),
    }
    if as_json:
        print(json.dumps({"summary": totals}), flush=True)
        return
    _out.print(escape(f"{summary.tickets} tickets replayed from {data}; value [history's label]:"))
    for t in rows:
        line = (
            f"{t.reference} ({t.source_id}) {t.status}, tier L{t.tier}: "
            f"category {t.category or '-'} [{t.true_category or '-'}], "
            f"priority {t.priority or '-'}{' (to confirm)' if t.priority_unconfirmed else ''} "
            f"[{t.true_priority or '-'}], "
            f"team {t.team or '-'} [{t.true_team or '-'}], assignee {t.assignee or '-'}"
        )
        _out.print(escape(line), soft_wrap=True)
        for reason in t.why:
            _out.print(escape(f"    - {reason}"), soft_wrap=True)
    _out.print(json.dumps({k: v for k, v in totals.items() if k != "auto_replies"}, indent=2))
    _out.print(escape(summary.escalation_line()), soft_wrap=True)
    for line in replies.lines():
        _out.print(escape(line), soft_wrap=True)
    _out.print(
        escape(
            f"  KB replies sent {replies.sent_kb}; with the article the history's agent used: "
            f"{summary.auto_replied_as_history} (stand-in for confirmations in a replay)"
        ),
        soft_wrap=True,
    )
