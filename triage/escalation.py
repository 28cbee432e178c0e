"""The escalation policy: which late or risky tickets move up a tier (L1 → L2 → L3).

A missed SLA target and an escalation are two different things, as in the help-desk
tools desks already use (Zendesk and Freshdesk SLA policies mark a breach and notify,
and escalate to the next level by separate rules with their own delays):

* **a breach is marked**: the ticket is flagged `sla_breached`, an `sla_breached` audit
  entry names the late clocks, and a `ticket.sla_breached` webhook notifies the team;
* **a first-response breach only notifies**: the ticket's agent is late to say hello,
  which the next tier cannot fix (`escalate_first_response` turns it into an escalation);
* **a resolution breach escalates** at once for the priorities in `immediate` (urgent and
  high: the customer is blocked), and for the others once the breach has lasted `grace`
  of the priority's own resolution target (half of it by default: a low ticket three days
  late is a problem, an hour late is not);
* **a predicted escalation escalates early**: a tier-1 ticket whose escalation risk (the
  escalation head's probability, calibrated on the history's base rate) reaches its
  threshold goes up before anything is late. The threshold is the one the model's training
  chose (`training.risk_threshold`: the risk at which the share of tickets flagged equals
  the history's rate of escalations not explained by a breach, stored per ticket as
  `escalation_risk_threshold`), unless `risk_threshold` is configured, which then wins;
  a model without one (older bundles) falls back to `DEFAULT_RISK_THRESHOLD`.

`history_escalations` applies the SLA rules to a history's own priorities and times, so
a desk can check the policy against what its people did before switching it on (the
replay prints it beside the history's escalations).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from triage.contract import Ticket
from triage.sla import SlaPolicies
from triage.store.models import AuditRow, TicketRow

# Escalation reasons, as the audit and the replay's breakdown name them.
RESOLUTION = "resolution"
FIRST_RESPONSE = "first_response"
RISK = "risk"
# The risk threshold of a ticket whose model recorded none and no threshold is configured
# (the setting's default before models chose their own).
DEFAULT_RISK_THRESHOLD = 0.7


@dataclass(frozen=True)
class EscalationPolicy:
    """When a ticket moves up a tier (module docstring)."""

    # Priorities whose resolution breach escalates at once.
    immediate: frozenset[str] = frozenset({"urgent", "critical"})
    # Other priorities escalate once the resolution breach lasted this share of their
    # resolution target.
    grace: float = 0.5
    # A first-response breach escalates too (default: it only notifies).
    escalate_first_response: bool = False
    # A tier-1 ticket whose calibrated escalation probability reaches this escalates;
    # None: the threshold its model's training chose (stored per ticket), else the default.
    risk_threshold: float | None = None

    def resolution_escalates_at(
        self, sla: SlaPolicies, priority: str | None, due: datetime
    ) -> datetime:
        """When a resolution breach of a ticket due at `due` escalates."""
        if (priority or "").strip().lower() in self.immediate or self.grace <= 0:
            return due
        target = sla.policy(priority).resolution
        return sla.after(priority, due, target * self.grace)

    def threshold_for(self, model_threshold: float | None) -> float:
        """The risk threshold for a ticket whose model chose `model_threshold` (None:
        none recorded): the configured one wins, then the model's, then the default."""
        if self.risk_threshold is not None:
            return self.risk_threshold
        return DEFAULT_RISK_THRESHOLD if model_threshold is None else model_threshold

    def at_risk(self, risk: float | None, tier: int, model_threshold: float | None = None) -> bool:
        """True when the risk rule escalates a ticket at `tier` with this `risk`, scored by
        a model that chose `model_threshold`."""
        return tier == 1 and risk is not None and risk >= self.threshold_for(model_threshold)

    def at_risk_clause(self) -> ColumnElement[bool]:
        """`at_risk` as a condition on the tickets table (the worker's query)."""
        if self.risk_threshold is not None:
            threshold: Any = self.risk_threshold
        else:
            threshold = func.coalesce(TicketRow.escalation_risk_threshold, DEFAULT_RISK_THRESHOLD)
        return (TicketRow.escalation_risk >= threshold) & (TicketRow.tier == 1)


def _late(ticket: Ticket, sla: SlaPolicies) -> tuple[bool, datetime | None]:
    """Whether the history's first reply was late, and when its solve was due if the
    solve came late (None when on time)."""
    created = ticket.created_at
    if created is None:
        return False, None
    replied = ticket.first_response_at
    first_late = replied is not None and replied > sla.first_response_due(ticket.priority, created)
    due = sla.resolution_due(ticket.priority, created)
    solved = ticket.resolved_at
    return first_late, (due if solved is not None and solved > due else None)


def history_escalations(
    tickets: Iterable[Ticket], sla: SlaPolicies, policy: EscalationPolicy
) -> Counter[str]:
    """Tickets the policy's SLA rules would have escalated on the history's own
    priorities and reply/solve times, by reason (the risk rule needs a model: left out).
    Also counts `tickets`, `breached` (either clock late) and `escalated_in_history`."""
    counts: Counter[str] = Counter()
    for ticket in tickets:
        counts["tickets"] += 1
        counts["escalated_in_history"] += bool(ticket.escalated)
        first_late, due = _late(ticket, sla)
        counts["breached"] += first_late or due is not None
        solved = ticket.resolved_at
        late_enough = (
            due is not None
            and solved is not None
            and solved > policy.resolution_escalates_at(sla, ticket.priority, due)
        )
        if late_enough:
            counts[RESOLUTION] += 1
        elif first_late and policy.escalate_first_response:
            counts[FIRST_RESPONSE] += 1
    return counts


def escalations_by_rule(session: Session) -> dict[str, int]:
    """Tickets escalated, by the rule of their first escalation (from the audit log)."""
    first: dict[int | None, str] = {}
    for ticket_id, details in session.execute(
        select(AuditRow.ticket_id, AuditRow.details)
        .where(AuditRow.action == "escalated")
        .order_by(AuditRow.id)
    ):
        first.setdefault(ticket_id, (details or {}).get("rule", "other"))
    return dict(Counter(first.values()))


def replay_line(summary: Any) -> str:
    """A replay's escalations against the history's, by rule, beside the SLA rules on the
    history's own times (`triage.replay.ReplaySummary`)."""
    by = ", ".join(f"{k} {v}" for k, v in sorted(summary.escalated_by.items())) or "none"
    history = summary.history_escalated
    ratio = f" ({summary.escalated / history - 1:+.0%})" if history else ""
    policy = summary.policy_on_history
    on_history = (
        "; the SLA rules on the history's own times: "
        f"{policy.get(RESOLUTION, 0) + policy.get(FIRST_RESPONSE, 0)}"
        if policy
        else ""
    )
    return (
        f"escalated {summary.escalated} vs {history} in history{ratio} [by rule: {by}]; "
        f"SLA breached {summary.breached} vs {summary.history_breached} in history{on_history}"
    )
