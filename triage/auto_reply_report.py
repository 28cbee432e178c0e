"""What the desk's automatic replies did over a replay (or any desk): sent, held back
by reason, suggested; and the checks that none went where the policy forbids.

Read from the audit log (`auto_reply_decided`) and the tickets, so it reports what
happened, not what the policy was meant to do: a sent reply on an urgent ticket, in an
"always a person" category or without a team is counted here as a violation.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from triage.desk import Desk
from triage.desk.dashboard import auto_reply_outcomes
from triage.desk.records import AutoReplyOutcome
from triage.store.models import AuditRow, TicketRow


class AutoReplyReport(BaseModel):
    """The auto-reply decisions of a desk and their outcomes."""

    decided: int = 0  # tickets with a matched answer the policy decided on
    sent: int = 0
    sent_kb: int = 0
    sent_templates: int = 0
    held: int = 0
    held_by_reason: dict[str, int] = Field(default_factory=dict)  # a ticket counts per reason
    suggested: int = 0
    suggested_by_reason: dict[str, int] = Field(default_factory=dict)
    # Sent where the policy forbids it: each must be 0.
    sent_unapproved: int = 0
    sent_urgent_or_high: int = 0
    sent_at_or_above_risk: int = 0
    sent_always_human: int = 0
    sent_without_team: int = 0
    # Outcomes per KB article / template (confirmed, reopened, no answer, waiting).
    outcomes: list[AutoReplyOutcome] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as short lines for a terminal."""
        held = ", ".join(f"{k} {v}" for k, v in sorted(self.held_by_reason.items())) or "-"
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.suggested_by_reason.items())) or "-"
        return [
            f"auto-replies: {self.decided} matched; sent {self.sent} "
            f"(KB {self.sent_kb}, approved templates {self.sent_templates}), "
            f"held back {self.held}, suggested to agents {self.suggested}",
            f"  held back by reason: {held}",
            f"  suggested because: {why}",
            f"  sent where forbidden (each must be 0): unapproved {self.sent_unapproved}, "
            f"urgent/high {self.sent_urgent_or_high}, risk>=threshold "
            f"{self.sent_at_or_above_risk}, always-a-person {self.sent_always_human}, "
            f"no team {self.sent_without_team}",
        ]


def auto_reply_report(desk: Desk) -> AutoReplyReport:
    """Count the desk's auto-reply decisions and check the sent ones against the policy."""
    policy = desk.config.reply_policy
    blocked = {p.lower() for p in policy.blocked_priorities}
    always = {c.lower() for c in policy.always_human}
    report = AutoReplyReport()
    held: Counter[str] = Counter()
    suggested: Counter[str] = Counter()
    with desk.readers() as session:
        decisions: dict[int, dict[str, Any]] = {}
        for ticket_id, details in session.execute(
            select(AuditRow.ticket_id, AuditRow.details)
            .where(AuditRow.action == "auto_reply_decided")
            .order_by(AuditRow.id)
        ):
            decisions[int(ticket_id)] = dict(details)  # the last decision of a ticket
        for details in decisions.values():
            action = details.get("action")
            if action == "hold":
                report.held += 1
                held.update(details.get("reasons") or [])
            elif action == "suggest":
                report.suggested += 1
                suggested.update(details.get("reasons") or [])
        report.decided = len(decisions)
        for row in session.scalars(select(TicketRow).where(TicketRow.auto_reply_id.is_not(None))):
            risk = policy.risk_threshold(row.escalation_risk_threshold)
            _check_sent(report, row, blocked, always, risk)
        report.outcomes = auto_reply_outcomes(session)
    report.held_by_reason = dict(held)
    report.suggested_by_reason = dict(suggested)
    return report


def _check_sent(
    report: AutoReplyReport, row: TicketRow, blocked: set[str], always: set[str], risk: float
) -> None:
    report.sent += 1
    template = (row.auto_reply_id or "").startswith("template-")
    report.sent_templates += template
    report.sent_kb += not template
    # A sent past reply is an approved template's or a KB article's, never a raw reply.
    report.sent_unapproved += (row.auto_reply_id or "").startswith("answer-")
    priorities = {(row.priority or "").lower(), (row.predicted_priority or "").lower()}
    report.sent_urgent_or_high += bool(priorities & blocked)
    report.sent_at_or_above_risk += (row.escalation_risk or 0.0) >= risk
    names = {(row.category or "").lower(), (row.subcategory or "").lower()}
    report.sent_always_human += bool(names & always)
    report.sent_without_team += row.team is None
