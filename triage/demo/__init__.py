"""Built-in demo data: a seeded, multilingual help-desk history; the quickstart needs
nothing else.

`write_demo(out)` writes three files:
- `out` (`NAME.parquet`): tickets in the common format (`triage.dataset.write_tickets`);
- `NAME.kb.parquet`: the knowledge-base articles the auto-replies came from;
- `NAME.agents.json`: the roster (teams, managers, agents with skills and shifts, SLA
  targets), schema `triage.demo.roster.Roster`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from triage.dataset import kb_path_for, write_articles, write_tickets
from triage.demo.generator import DemoData, generate
from triage.demo.roster import Agent, Roster, Team, agents_path_for, load_roster, write_roster

__all__ = [
    "Agent",
    "DemoData",
    "DemoSummary",
    "Roster",
    "Team",
    "agents_path_for",
    "generate",
    "load_roster",
    "summarize",
    "write_demo",
]


class DemoSummary(BaseModel):
    """What a demo run produced: counts and rates worth printing."""

    tickets: int
    articles: int
    agents: int
    teams: int
    first_created: str | None
    last_created: str | None
    languages: dict[str, int]
    categories: dict[str, int]
    priorities: dict[str, int]
    channels: dict[str, int]
    sla_breach_rate: float
    escalation_rate: float
    kb_answer_rate: float
    follow_ups: int
    flipped_labels: int
    tickets_path: str | None = None
    kb_path: str | None = None
    agents_path: str | None = None


def summarize(data: DemoData) -> DemoSummary:
    """Counts per language, category, priority and channel, and the outcome rates."""
    tickets = data.tickets
    n = max(len(tickets), 1)
    created = sorted(t.created_at for t in tickets if t.created_at)

    def count(values) -> dict[str, int]:
        return dict(Counter(values).most_common())

    return DemoSummary(
        tickets=len(tickets),
        articles=len(data.articles),
        agents=len(data.roster.agents),
        teams=len(data.roster.teams),
        first_created=created[0].isoformat() if created else None,
        last_created=created[-1].isoformat() if created else None,
        languages=count(t.language for t in tickets),
        categories=count(t.category for t in tickets),
        priorities=count(t.priority for t in tickets),
        channels=count(t.channel.value for t in tickets if t.channel),
        sla_breach_rate=sum(bool(t.sla_breached) for t in tickets) / n,
        escalation_rate=sum(bool(t.escalated) for t in tickets) / n,
        kb_answer_rate=sum(t.kb_article_id is not None for t in tickets) / n,
        follow_ups=sum("follow-up" in t.tags for t in tickets),
        flipped_labels=len(data.flipped),
    )


def write_demo(out: str | Path, tickets: int = 6000, seed: int = 7) -> DemoSummary:
    """Generate the demo history and write tickets, KB articles and the roster file beside `out`."""
    out = Path(out)
    if not out.name.endswith(".parquet"):
        raise ValueError(f"{out}: the demo is written as Parquet; name the file NAME.parquet")
    data = generate(tickets=tickets, seed=seed)
    kb = kb_path_for(out)
    agents = agents_path_for(out)
    write_tickets(out, data.tickets)
    write_articles(kb, data.articles)
    write_roster(agents, data.roster)
    summary = summarize(data)
    summary.tickets_path, summary.kb_path, summary.agents_path = str(out), str(kb), str(agents)
    return summary
