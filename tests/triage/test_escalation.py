"""The escalation policy's SLA rules on a history's own times (`triage.escalation`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.contract import Ticket
from triage.escalation import EscalationPolicy, history_escalations
from triage.sla import SlaPolicies, SlaPolicy

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
SLA = SlaPolicies(
    policies={
        "urgent": SlaPolicy(timedelta(hours=1), timedelta(hours=4), business_hours=False),
        "normal": SlaPolicy(timedelta(hours=8), timedelta(hours=24), business_hours=False),
    },
    default="normal",
)


def _ticket(n: int, priority: str, reply_h: float, solve_h: float, escalated: bool) -> Ticket:
    return Ticket(
        id=f"t{n}",
        subject="s",
        created_at=T0,
        priority=priority,
        first_response_at=T0 + timedelta(hours=reply_h),
        resolved_at=T0 + timedelta(hours=solve_h),
        escalated=escalated,
    )


HISTORY = [
    _ticket(1, "urgent", 0.5, 4.5, True),  # resolution missed by 30 min: urgent, at once
    _ticket(2, "normal", 9, 20, False),  # first reply late only: notified, not escalated
    _ticket(3, "normal", 1, 30, False),  # resolution missed by 6 h: inside the 12 h grace
    _ticket(4, "normal", 1, 40, True),  # resolution missed by 16 h: past the grace
    _ticket(5, "normal", 1, 10, True),  # on time (history escalated it anyway)
]


def test_the_default_policy_on_a_history() -> None:
    counts = history_escalations(HISTORY, SLA, EscalationPolicy())
    assert counts == {
        "tickets": 5,
        "escalated_in_history": 3,
        "breached": 4,
        "resolution": 2,  # t1 (urgent, at once) and t4 (past the grace)
    }


def test_the_policy_knobs_change_what_escalates() -> None:
    eager = EscalationPolicy(grace=0.0, escalate_first_response=True)
    assert history_escalations(HISTORY, SLA, eager)["resolution"] == 3  # t3 too
    assert history_escalations(HISTORY, SLA, eager)["first_response"] == 1  # t2
    patient = EscalationPolicy(immediate=frozenset(), grace=1.0)
    assert history_escalations(HISTORY, SLA, patient)["resolution"] == 0
    urgent = EscalationPolicy(immediate=frozenset(), grace=0.25)  # 1 h for urgent, 6 h normal
    assert history_escalations(HISTORY, SLA, urgent)["resolution"] == 1  # t4 only


def test_the_risk_rule_reads_the_calibrated_probability() -> None:
    policy = EscalationPolicy(risk_threshold=0.6)
    assert policy.at_risk(0.6, tier=1) and not policy.at_risk(0.59, tier=1)
    assert not policy.at_risk(0.9, tier=2)  # only from L1
    assert not policy.at_risk(None, tier=1)  # no model, no prediction
