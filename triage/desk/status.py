"""Ticket statuses and the transitions between them."""

from __future__ import annotations

from enum import StrEnum

from triage.errors import IllegalTransition


class Status(StrEnum):
    """Where a ticket is in its life.

    new: not answered yet. open: an agent works on it. pending: waiting for the
    customer (the SLA clock is paused). solved: answered, the customer may still
    reply. closed: final. reopened: a customer replied to a pending or solved ticket,
    or a pending reminder elapsed; it needs an agent again.
    """

    new = "new"
    open = "open"
    pending = "pending"
    solved = "solved"
    closed = "closed"
    reopened = "reopened"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.new: frozenset({Status.open, Status.pending, Status.solved}),
    Status.open: frozenset({Status.pending, Status.solved}),
    Status.reopened: frozenset({Status.open, Status.pending, Status.solved}),
    Status.pending: frozenset({Status.open, Status.reopened, Status.solved}),
    Status.solved: frozenset({Status.closed, Status.reopened}),
    Status.closed: frozenset(),
}

# Statuses in which an agent owes the customer something: the SLA clocks run.
ACTIVE: frozenset[Status] = frozenset({Status.new, Status.open, Status.reopened})
# Statuses that pause the resolution clock.
PAUSED: frozenset[Status] = frozenset({Status.pending, Status.solved})


def check_transition(current: Status | str, target: Status | str) -> None:
    """Raise `IllegalTransition` unless a ticket may go from `current` to `target`."""
    current, target = Status(current), Status(target)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (final)"
        raise IllegalTransition(f"cannot move a {current} ticket to {target}; allowed: {allowed}")
