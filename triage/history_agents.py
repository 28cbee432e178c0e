"""The history's agents in a replay (`triage.replay`): what they did on each ticket, done
again on the desk at the history's times through the desk's ordinary API (a reply, the
solve, and on picking a ticket up the routing the desk left to a person)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from triage.contract import Channel, Ticket
from triage.desk.desk import Desk
from triage.desk.ledger import ROUTING_FIELDS
from triage.desk.records import Direction, NewMessage, TicketChanges
from triage.desk.status import Status
from triage.errors import IllegalTransition


@dataclass(order=True)
class HistoryAction:
    """Something the history's agent did on a replayed ticket, at the history's time."""

    at: datetime
    ticket_id: int
    kind: str = field(compare=False)  # "reply" or "solve"
    text: str = field(compare=False)
    agent: str | None = field(compare=False)
    # On the agent's first action: the routing the history's people gave the ticket
    # (category, team, priority), set where the desk still asks a person for it.
    routing: dict[str, str] = field(default_factory=dict, compare=False)


def history_actions(source: Ticket, ticket_id: int) -> list[HistoryAction]:
    """What the history's agents did on a ticket: the first reply, then the solve. The
    first of them also carries the history's routing, for the agent to set what the
    desk left to a person (`pick_up`)."""
    created = source.created_at
    actions = []
    if source.first_response_at is not None:
        at = max(source.first_response_at, created) if created else source.first_response_at
        text = source.agent_answer or "(the agent's reply, from the history)"
        actions.append(HistoryAction(at, ticket_id, "reply", text, source.assignee))
    if source.resolved_at is not None:
        at = max(source.resolved_at, created) if created else source.resolved_at
        actions.append(HistoryAction(at, ticket_id, "solve", "", source.assignee))
    if actions:
        first = min(actions)
        first.routing = {
            name: value for name in ROUTING_FIELDS if (value := getattr(source, name)) is not None
        }
    return actions


def pick_up(desk: Desk, action: HistoryAction) -> dict[str, tuple[str | None, str]]:
    """The agent who first acts on a ticket sets what the desk left to a person: a
    priority routed on a fallback (`priority_unconfirmed`) and routing fields the model
    abstained on (the human triage queue). Returns what was set: field -> (old, new).

    The history's labels are what its people set, and the earliest time the history shows
    them at work on the ticket is its first reply (or the solve, when nobody replied): the
    replay sets them then, through the desk's own update path, so the SLA targets follow
    the confirmed priority as they do for a person at the console (`triage.desk.changes`).
    A priority the model answered is left alone: the desk does not ask anyone to check
    it, and overriding it from the history would hide what the model did.
    """
    ticket = desk.get(action.ticket_id, messages=False)
    wanted = {
        name: value
        for name, value in action.routing.items()
        if getattr(ticket, name) is None or (name == "priority" and ticket.priority_unconfirmed)
    }
    if wanted:
        actor = f"agent:{ticket.assignee or action.agent or 'history'}"
        desk.update(ticket.id, TicketChanges(**wanted), actor=actor)
    return {name: (getattr(ticket, name), value) for name, value in wanted.items()}


def act(desk: Desk, action: HistoryAction) -> bool:
    """Do what the history's agent did, as the desk's assignee when it has one. False
    when the ticket no longer allows it (e.g. closed)."""
    ticket = desk.get(action.ticket_id, messages=False)
    agent = ticket.assignee or action.agent or "history"
    actor = f"agent:{agent}"
    try:
        if action.kind == "reply":
            desk.add_message(
                action.ticket_id,
                NewMessage(
                    direction=Direction.outbound,
                    channel=Channel(ticket.channel),
                    author=agent,
                    body=action.text,
                ),
                actor=actor,
            )
        elif ticket.status not in (Status.solved, Status.closed):
            desk.update(action.ticket_id, TicketChanges(status=Status.solved), actor=actor)
        else:
            return False
    except IllegalTransition:
        return False
    return True
