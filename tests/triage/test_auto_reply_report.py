"""The auto-reply report of a desk (what the replay prints): sent, held by reason,
suggested, and sent replies checked against the policy."""

from __future__ import annotations

from sqlalchemy import update

from triage.auto_reply_report import auto_reply_report
from triage.contract import Channel
from triage.desk import Desk, NewTicket
from triage.store.models import TicketRow


def _ticket(subject: str, body: str) -> NewTicket:
    return NewTicket(channel=Channel.email, subject=subject, body=body)


def test_counts_decisions_and_finds_forbidden_sends(desk: Desk) -> None:
    sent = desk.intake(_ticket("Password", "forgot my password")).ticket
    desk.intake(_ticket("Password", "forgot my password, this is unacceptable"))
    desk.intake(_ticket("Re: Password", "forgot my password, total outage"))
    desk.intake(_ticket("Invoice", "where is my invoice"))
    desk.intake(_ticket("Refund", "refund"))  # nothing matched: no decision
    report = auto_reply_report(desk)
    assert (report.decided, report.sent, report.sent_kb, report.held, report.suggested) == (
        4,
        1,
        1,
        2,
        1,
    )
    assert report.held_by_reason == {"complaint": 1, "follow_up": 1, "escalation_risk": 1}
    assert report.suggested_by_reason == {"unapproved": 1}
    assert report.sent_urgent_or_high == report.sent_without_team == report.sent_unapproved == 0
    [outcome] = report.outcomes
    assert (outcome.answer_id, outcome.sent, outcome.waiting) == ("kb-reset", 1, 1)
    assert "held back by reason: complaint 1, escalation_risk 1, follow_up 1" in report.lines()[1]

    # A reply that went where the policy forbids shows up as a violation.
    with desk.sessions.begin() as session:
        session.execute(
            update(TicketRow)
            .where(TicketRow.id == sent.id)
            .values(priority="urgent", team=None, category="Security")
        )
    report = auto_reply_report(desk)
    assert (report.sent_urgent_or_high, report.sent_without_team, report.sent_always_human) == (
        1,
        1,
        1,
    )
