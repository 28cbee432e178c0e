"""Assignment: choosing an agent for a ticket, giving it to them, handing tickets back.

Candidates are the agents who are online, on shift, of a high enough tier for the
ticket's escalation level, below capacity, speak the ticket's language (when both
are known) and belong to the ticket's team (when it has one and the team has agents).
Among them the score combines the model's team and assignee probabilities, skill
match on the category, and current load. Assignments take turns (`lock_assignments`):
loads are counted inside the lock, so concurrent assignments (intake, several workers)
never push an agent over capacity and never deadlock on each other's agent rows. The
choice, its score and why others were left out go to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.desk import outbox
from triage.desk.agents import LOAD_STATUSES, loads, spec_of
from triage.desk.config import AssignmentWeights
from triage.desk.ledger import DeskContext, lock, record
from triage.desk.records import TriageState
from triage.desk.reference import parse_ticket_id
from triage.desk.status import ACTIVE
from triage.errors import NotFound
from triage.store.models import AgentRow, TicketRow

DEFAULT_WEIGHTS = AssignmentWeights()

# Key of the PostgreSQL advisory lock that serialises assignments ("tria").
ASSIGNMENT_LOCK_KEY = 0x74726961


def lock_assignments(session: Session) -> None:
    """Wait for this transaction's turn to assign (or remove) agents.

    PostgreSQL: a transaction-scoped advisory lock. Locking agent rows one by one
    instead deadlocked two workers that each held one agent and wanted the other's;
    an assignment takes milliseconds, so taking turns costs nothing that matters.
    SQLite: every writing transaction already holds the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ASSIGNMENT_LOCK_KEY)))


@dataclass
class Choice:
    """The agent picked, the score and its parts, and the agents left out and why."""

    agent: str
    score: float
    parts: dict[str, float]
    considered: int
    excluded: dict[str, list[str]] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """The audit-log entry explaining the choice."""
        return {
            "agent": self.agent,
            "score": round(self.score, 4),
            "parts": {k: round(v, 4) for k, v in self.parts.items()},
            "candidates": self.considered,
            "excluded": self.excluded,
        }


def _probabilities(prediction: dict[str, Any] | None, head: str) -> dict[str, float]:
    data = (prediction or {}).get(head) or {}
    scores = {str(s["label"]): float(s["probability"]) for s in data.get("top_k") or []}
    if data.get("label") is not None and data["label"] not in scores:
        scores[str(data["label"])] = float(data.get("confidence") or 0.0)
    return scores


def pick_agent(
    session: Session,
    ticket: TicketRow,
    now: datetime,
    weights: AssignmentWeights = DEFAULT_WEIGHTS,
) -> tuple[Choice | None, dict[str, list[str]]]:
    """Choose an agent for `ticket` inside the caller's transaction, which holds the
    assignment lock from here to its commit.

    Returns the choice (None when nobody can take it) and the excluded agents by reason.
    """
    lock_assignments(session)
    agents = [spec_of(r) for r in session.scalars(select(AgentRow).order_by(AgentRow.id)).all()]
    counts = loads(session)
    team_p = _probabilities(ticket.prediction, "team")
    assignee_p = _probabilities(ticket.prediction, "assignee")
    team_has_agents = ticket.team is not None and any(a.team == ticket.team for a in agents)
    excluded: dict[str, list[str]] = {}
    scored: list[tuple[float, int, str, dict[str, float]]] = []
    for agent in agents:
        load = counts.get(agent.id, 0)
        reason = None
        # Other teams first: the reasons listed for the team's own agents are the ones
        # that explain a wait (off shift, at capacity, ...).
        if team_has_agents and agent.team != ticket.team:
            reason = "other_team"
        elif not agent.online:
            reason = "offline"
        elif not agent.on_shift(now):
            reason = "off_shift"
        elif agent.tier < ticket.tier:
            reason = "tier_too_low"
        elif load >= agent.capacity:
            reason = "at_capacity"
        elif ticket.language and agent.languages and ticket.language not in agent.languages:
            reason = "language"
        if reason:
            excluded.setdefault(reason, []).append(agent.id)
            continue
        parts = {
            "team": weights.team
            * (
                1.0
                if agent.team is not None and agent.team == ticket.team
                else team_p.get(agent.team or "", 0.0)
            ),
            "assignee": weights.assignee * assignee_p.get(agent.id, 0.0),
            "skill": weights.skill
            * (1.0 if {ticket.category, ticket.subcategory} & set(agent.skills) - {None} else 0.0),
            "language": weights.language
            * (1.0 if ticket.language and ticket.language in agent.languages else 0.0),
            "load": -weights.load * (load / agent.capacity if agent.capacity else 1.0),
        }
        scored.append((sum(parts.values()), load, agent.id, parts))
    if not scored:
        return None, excluded
    score, _load, agent_id, parts = min(scored, key=lambda s: (-s[0], s[1], s[2]))
    return Choice(agent_id, score, parts, considered=len(scored), excluded=excluded), excluded


def assign(
    desk: DeskContext, ticket_id: int | str, *, actor: str = "system:assigner"
) -> str | None:
    """Give a routed, unassigned ticket to the best available agent (`pick_agent`).
    Returns the assignee, or None when nobody can take it; then the audit entry
    `assignment_waiting` says who was left out and why, and the worker tries again on
    its passes."""
    number = parse_ticket_id(ticket_id)
    with desk.sessions.begin() as session:
        row = lock(session, number)
        return assign_locked(desk, session, row, desk.clock(), actor, explain_wait=True)


def assign_locked(
    desk: DeskContext,
    session: Session,
    row: TicketRow,
    now: datetime,
    actor: str,
    *,
    explain_wait: bool = False,
) -> str | None:
    """`assign` inside the caller's transaction, on a row-locked ticket. The worker
    retries every pass, so it leaves `explain_wait` off: one entry, not one a pass."""
    if row.assignee is not None:
        return row.assignee
    if row.status not in {s.value for s in ACTIVE} or row.triage_state != TriageState.done.value:
        return None
    if row.auto_reply_due_at is not None and row.auto_reply_outcome is None:
        # The customer is deciding whether the auto-reply solved it: the ticket waits
        # in its team's queue until they answer or the window ends (the worker).
        return None
    choice, excluded = pick_agent(session, row, now, desk.config.weights)
    if choice is None:
        # A desk without agents (triage only) does not assign: nothing to explain.
        if explain_wait and excluded:
            record(session, row, actor, "assignment_waiting", {"excluded": excluded}, now)
        return None
    row.assignee = choice.agent
    row.updated_at = now
    record(session, row, actor, "assigned", choice.details(), now)
    outbox.enqueue(session, "ticket.assigned", row.id, {"assignee": choice.agent, "by": actor}, now)
    return choice.agent


def remove_agent(desk: DeskContext, agent_id: str, *, actor: str) -> list[int]:
    """Delete an agent. Their open tickets (the ones counting against capacity) are
    handed back, audited, for the worker to assign again; solved and closed tickets
    keep the name as history. Returns the handed-back ticket ids."""
    now = desk.clock()
    with desk.sessions.begin() as session:
        lock_assignments(session)  # no assignment to this agent while removing them
        agent = session.get(AgentRow, agent_id)
        if agent is None:
            raise NotFound(f"no agent {agent_id!r}")
        rows = session.scalars(
            select(TicketRow)
            .where(TicketRow.assignee == agent_id, TicketRow.status.in_(LOAD_STATUSES))
            .order_by(TicketRow.id)
            .with_for_update()
        ).all()
        for row in rows:
            row.assignee = None
            row.updated_at = now
            record(session, row, actor, "unassigned", {"agent": agent_id, "reason": "removed"}, now)
        session.delete(agent)
        return [row.id for row in rows]
