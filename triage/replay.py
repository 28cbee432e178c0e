"""Replaying a ticket history through the desk: where each ticket went, and why.

The replay feeds stored tickets (the common Parquet format) to `Desk.intake` with their
labels removed, at their original times: the desk's clock follows the tickets'
`created_at`, and the worker runs a pass whenever simulated time moves by
`worker_every`, so SLA clocks, escalations, assignment and re-triage happen as they
would have. The history's agents act at their recorded times (first reply, solve), so
the SLA clocks stop where they stopped then, and on their first action they set what the
desk left to a person: a fallback priority is confirmed with the history's label, a ticket
in the human triage queue routed (`triage.history_agents`). Each ticket's idempotency key is
`replay:<its id>`, so replaying the same file twice adds nothing. The history's labels
are kept beside the outcome to compare.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select

from triage.contract import Channel, Ticket
from triage.desk.agents import AgentSpec, Directory, Shift
from triage.desk.desk import Desk
from triage.desk.records import NewTicket, TicketView
from triage.escalation import escalations_by_rule, history_escalations, replay_line
from triage.history_agents import HistoryAction, act, history_actions, pick_up
from triage.sla import BusinessCalendar, SlaPolicies, SlaPolicy
from triage.store.models import AuditRow
from triage.worker import Worker


def roster_policies(roster: object) -> SlaPolicies:
    """SLA policies from a roster file's targets (calendar hours), most urgent first."""
    priorities = list(getattr(roster, "priorities", []))
    targets = getattr(roster, "sla", {})
    ordered = [p for p in reversed(priorities) if p in targets] + [
        p for p in targets if p not in priorities
    ]
    policies = {
        p.lower(): SlaPolicy(
            first_response=timedelta(hours=targets[p].first_response_hours),
            resolution=timedelta(hours=targets[p].resolution_hours),
            business_hours=False,
        )
        for p in ordered
    }
    default = ordered[len(ordered) // 2].lower() if ordered else "medium"
    return SlaPolicies(calendar=BusinessCalendar(), policies=policies, default=default)


def load_roster_into(directory: Directory, roster: object) -> int:
    """Create the roster's teams (with their managers' e-mail) and agents. Returns the
    number of agents."""
    managers = {m.id: m.email for m in getattr(roster, "managers", [])}
    timezone = getattr(roster, "timezone", "UTC")
    for team in getattr(roster, "teams", []):
        directory.upsert_team(team.id, managers.get(team.manager))
    count = 0
    for agent in getattr(roster, "agents", []):
        shift = agent.shift
        end = time.max if shift.end_hour == 24 else time(shift.end_hour)
        directory.upsert_agent(
            AgentSpec(
                id=agent.id,
                name=agent.name,
                email=agent.email,
                team=agent.team,
                skills=[*agent.categories, *agent.subcategories],
                languages=agent.languages,
                capacity=agent.capacity,
                shifts=[
                    Shift(days=shift.weekdays, start=time(shift.start_hour), end=end, tz=timezone)
                ],
                online=True,
                tier=int(agent.tier[1:]),
            )
        )
        count += 1
    return count


class ReplayedTicket(BaseModel):
    """One replayed ticket: what the desk did, next to what the history says."""

    reference: str
    source_id: str
    created: bool
    status: str
    triage_state: str
    category: str | None
    priority: str | None
    priority_unconfirmed: bool = False
    team: str | None
    assignee: str | None
    tier: int
    auto_replied: bool
    true_category: str | None
    true_priority: str | None
    true_team: str | None
    why: list[str]

    @classmethod
    def of(cls, source: Ticket, t: TicketView, created: bool, why: list[str]) -> ReplayedTicket:
        """The line of `source`, replayed as the desk's ticket `t`."""
        return cls(
            reference=t.reference,
            source_id=source.id,
            created=created,
            status=t.status.value,
            triage_state=t.triage_state.value,
            category=t.category,
            priority=t.priority,
            priority_unconfirmed=t.priority_unconfirmed,
            team=t.team,
            assignee=t.assignee,
            tier=t.tier,
            auto_replied=t.auto_reply_id is not None,
            true_category=source.category,
            true_priority=source.priority,
            true_team=source.team,
            why=why,
        )


@dataclass
class ReplaySummary:
    """Totals over a replay."""

    tickets: int = 0
    created: int = 0
    triaged: int = 0
    human_queue: int = 0
    priority_unconfirmed: int = 0
    queued: int = 0
    auto_replied: int = 0
    # Auto-replies with the KB article the history's agent answered with (a replay's
    # stand-in for a confirmation: nobody clicks the links in a replay).
    auto_replied_as_history: int = 0
    assigned: int = 0
    escalated: int = 0
    breached: int = 0
    history_replies: int = 0
    history_solves: int = 0
    history_breached: int = 0
    history_escalated: int = 0
    # What the history's agents set on picking a ticket up (`history_agents.pick_up`): fallback
    # priorities confirmed (as routed, or changed to the history's) and tickets they
    # routed out of the human triage queue.
    people_confirmed_priority: int = 0
    people_changed_priority: int = 0
    people_routed: int = 0
    # Tickets escalated, by the rule of their first escalation (resolution, risk, ...).
    escalated_by: dict[str, int] = field(default_factory=dict)
    # What the escalation policy's SLA rules give on the history's own priorities and
    # times (`triage.escalation.history_escalations`): the policy checked without a model.
    policy_on_history: dict[str, int] = field(default_factory=dict)
    worker_passes: int = 0
    correct: dict[str, int] = field(
        default_factory=lambda: {"category": 0, "priority": 0, "team": 0}
    )
    labelled: dict[str, int] = field(
        default_factory=lambda: {"category": 0, "priority": 0, "team": 0}
    )

    def add(self, source: Ticket, t: TicketView, created: bool) -> None:
        """Count one replayed ticket: where it went, and its routing against the history's."""
        self.tickets += 1
        self.created += created
        self.history_breached += bool(source.sla_breached)
        self.history_escalated += bool(source.escalated)
        self.triaged += t.triage_state.value == "done"
        self.human_queue += t.triage_state.value == "needs_human"
        self.priority_unconfirmed += t.priority_unconfirmed
        self.queued += t.triage_state.value == "queued"
        self.auto_replied += t.auto_reply_id is not None
        self.auto_replied_as_history += (
            bool(t.auto_reply_id) and t.auto_reply_id == source.kb_article_id
        )
        for name in ("category", "priority", "team"):
            truth, got = getattr(source, name), getattr(t, name)
            if name == "priority" and t.priority_unconfirmed:
                continue
            if truth is not None and got is not None:
                self.labelled[name] += 1
                self.correct[name] += truth == got

    def count_pick_up(self, changes: dict[str, tuple[str | None, str]]) -> None:
        """Count what an agent set on picking a ticket up (`history_agents.pick_up`: field -> (old,
        new)): a fallback priority confirmed (and changed), or a ticket routed out of
        the human triage queue."""
        old, new = changes.get("priority", (None, None))
        if old is not None:
            self.people_confirmed_priority += 1
            self.people_changed_priority += old != new
        self.people_routed += any(before is None for before, _ in changes.values())

    def escalation_line(self) -> str:
        """One line: the replay's escalations against the history's, by rule."""
        return replay_line(self)

    def accuracy(self) -> dict[str, float | None]:
        """Share of filled routing fields that match the history's label (fallback
        priorities awaiting confirmation are not the model's answers: left out)."""
        return {
            k: (self.correct[k] / self.labelled[k] if self.labelled[k] else None)
            for k in self.correct
        }


class MovableClock:
    """The replay's clock: set to each ticket's time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def intake_of(source: Ticket, external_id: str | None = None) -> NewTicket:
    """What the desk's intake receives for a historical ticket: what the customer sent,
    without the labels and outcomes history added (and without `follow_up_of`, an id of
    the old system)."""
    return NewTicket(
        channel=source.channel or Channel.api,
        subject=source.subject,
        body=source.body,
        requester=source.requester,
        customer_tier=source.customer_tier,
        language=source.language,
        tags=source.tags,
        external_id=external_id,
        extra={k: v for k, v in source.extra.items() if k != "follow_up_of"},
    )


def _why(desk: Desk, ticket_id: int) -> list[str]:
    reasons = []
    for entry in desk.audit(ticket_id):
        d = entry.details
        if entry.action == "triaged":
            filled = ", ".join(f"{k}={v}" for k, v in d.get("filled", {}).items())
            reasons.append(f"model {entry.model_version}: {filled or 'nothing confident'}")
            fallback = d.get("priority_fallback")
            if fallback:
                source = (
                    f"the model's {fallback.get('guess_probability', 0):.0%} guess, "
                    f"more urgent than the default {fallback.get('default')}"
                    if fallback.get("source") == "leading_guess"
                    else "the desk default"
                )
                reasons.append(
                    f"unsure of the priority: routed as {fallback.get('priority')} ({source}) "
                    "until a person confirms"
                )
            if d.get("queue") == "human_triage":
                missing = [
                    f for f in d.get("abstained", []) if f in ("category", "priority", "team")
                ]
                reasons.append(f"unsure of {', '.join(missing) or 'routing'}: human triage queue")
        elif entry.action == "triage_failed":
            reasons.append(f"triage failed ({d.get('error')}), queued for re-triage")
        elif entry.action == "auto_replied":
            reasons.append(
                f"auto-replied with {d.get('kind')} {d.get('answer_id')} (score {d.get('score')})"
            )
        elif entry.action == "assigned":
            parts = ", ".join(f"{k} {v:+.2f}" for k, v in d.get("parts", {}).items() if v)
            reasons.append(
                f"assigned to {d.get('agent')} ({parts}; {d.get('candidates')} candidates)"
            )
        elif entry.action == "assignment_waiting":
            why = "; ".join(
                f"{k.replace('_', ' ')}: {', '.join(v)}"
                for k, v in d.get("excluded", {}).items()
                if k != "other_team"
            )
            reasons.append(f"no agent free yet ({why or 'no agents'}): the worker assigns later")
        elif entry.action == "escalated":
            reasons.append(f"escalated {d.get('from_tier')}→{d.get('to_tier')}: {d.get('reason')}")
    if not reasons:
        reasons.append("not triaged yet: queued for the triage service")
    return reasons


def replay(
    desk: Desk,
    clock: MovableClock,
    tickets: Iterable[Ticket],
    *,
    worker_every: timedelta = timedelta(minutes=15),
    on_ticket: Callable[[ReplayedTicket], None] | None = None,
    follow_history: bool = True,
) -> ReplaySummary:
    """Feed `tickets` (in file order, each at its `created_at`) through `desk`.

    With `follow_history`, the history's agents act too: each new ticket gets its first
    reply at the history's `first_response_at` and is solved at its `resolved_at`, so
    SLA clocks stop, escalations happen only where the history's answers came late (or
    the model predicted a breach), and solved tickets close.
    """
    worker = Worker(desk, name="replay-worker")
    summary = ReplaySummary()
    tickets = list(tickets)
    summary.policy_on_history = dict(history_escalations(tickets, desk.sla, desk.config.escalation))
    actions: list[HistoryAction] = []
    last_pass: datetime | None = None

    def move_to(moment: datetime) -> None:
        """Run the history's actions due by `moment`, with worker passes as time moves."""
        nonlocal last_pass

        def tick() -> None:
            nonlocal last_pass
            if last_pass is None:
                last_pass = clock.now
            elif clock.now - last_pass >= worker_every:
                worker.run_once()
                summary.worker_passes += 1
                last_pass = clock.now

        while actions and actions[0].at <= moment:
            action = heapq.heappop(actions)
            clock.now = max(clock.now, action.at)
            tick()
            if action.routing:
                summary.count_pick_up(pick_up(desk, action))
            if act(desk, action):
                summary.history_replies += action.kind == "reply"
                summary.history_solves += action.kind == "solve"
        clock.now = max(clock.now, moment)
        tick()

    for source in tickets:
        move_to(source.created_at or clock.now)
        new = intake_of(source, external_id=source.id)
        result = desk.intake(new, idempotency_key=f"replay:{source.id}", actor="system:replay")
        t = result.ticket
        if follow_history and result.created:
            for action in history_actions(source, t.id):
                heapq.heappush(actions, action)
        summary.add(source, t, result.created)
        if on_ticket is not None:
            on_ticket(ReplayedTicket.of(source, t, result.created, _why(desk, t.id)))
    if actions:
        move_to(max(a.at for a in actions))
    # A last pass an SLA period later shows what would have escalated.
    clock.now = clock.now + timedelta(hours=8) if summary.tickets else datetime.now(UTC)
    worker.run_once()
    summary.worker_passes += 1
    _count_outcomes(desk, summary)
    return summary


def _count_outcomes(desk: Desk, summary: ReplaySummary) -> None:
    """The tickets the replay assigned, escalated and saw breach (from the audit log)."""
    with desk.readers() as session:

        def tickets_with(action: str) -> int:
            return int(
                session.scalar(
                    select(func.count(func.distinct(AuditRow.ticket_id))).where(
                        AuditRow.action == action
                    )
                )
                or 0
            )

        summary.assigned = tickets_with("assigned")
        summary.escalated = tickets_with("escalated")
        summary.breached = tickets_with("sla_breached")
        summary.escalated_by = escalations_by_rule(session)
