"""Answer templates: mined with placeholders, sent only once a person approved them; and
the policy holding replies back on the desk, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from triage.contract import Channel
from triage.desk import Desk, NewTicket
from triage.desk.templates import TemplateStatus, template_key, templatize
from triage.errors import Conflict, NotFound

INVOICE = (
    "Hi Anna,\n\nYou can download every invoice under Settings > Billing.\n\nBest regards,\nTom"
)


def _invoice() -> NewTicket:
    return NewTicket(
        channel=Channel.email, subject="Invoice", body="where is my invoice", requester="a@x.org"
    )


def _decision(desk: Desk, ticket_id: int) -> dict:
    [entry] = [e for e in desk.audit(ticket_id) if e.action == "auto_reply_decided"]
    return entry.details


@pytest.mark.parametrize(
    ("text", "expected", "placeholders"),
    [
        (
            "Hi Tom,\n\nThe second charge of $19.99 was refunded to tom@mail.com.\n\nBest,\nAnn",
            "The second charge of {amount} was refunded to {email}.",
            ["amount", "email"],
        ),
        (
            "Вторая оплата 5 391 ₽ по заказу ORD-123456 возвращена.",
            "Вторая оплата {amount} по заказу {reference} возвращена.",
            ["amount", "reference"],
        ),
        (
            "Rechnung INV-2026-12345 über 49,00 € ist unterwegs.",
            "Rechnung {reference} über {amount} ist unterwegs.",
            ["reference", "amount"],
        ),
        ("Zwrot 199,60 zł wysłany.", "Zwrot {amount} wysłany.", ["amount"]),
    ],
)
def test_templatize_replaces_the_customers_details(
    text: str, expected: str, placeholders: list[str]
) -> None:
    assert templatize(text) == (expected, placeholders)


def test_same_wording_with_other_details_is_one_template() -> None:
    a = "Hi Tom,\n\nYour refund of $19.99 for ORD-111111 is on its way.\n\nBest,\nAnn"
    b = "Hello Eva,\n\nYour refund of $49.00 for ORD-222222 is on its way.\n\nKind regards,\nBo"
    assert template_key(a) == template_key(b)


def test_an_unapproved_past_reply_is_only_suggested(desk: Desk) -> None:
    t = desk.intake(_invoice()).ticket
    assert t.auto_reply_id is None and len(t.messages or []) == 1
    details = _decision(desk, t.id)
    assert (details["action"], details["reasons"]) == ("suggest", ["unapproved"])
    assert details["answer_id"] == "answer-7"


def test_mine_approve_send_retire(desk: Desk) -> None:
    report = desk.mine_templates([(INVOICE, "en")] * 3 + [("One-off answer.", "en")])
    assert (report.replies, report.candidates, report.added) == (4, 1, 1)
    [proposed] = desk.list_templates()
    assert proposed.status is TemplateStatus.proposed and proposed.uses == 3
    assert desk.mine_templates([(INVOICE, "en")] * 4).known == 1  # mined again: not twice

    approved = desk.review_template(proposed.id, TemplateStatus.approved, actor="admin:lea")
    assert (approved.status, approved.reviewed_by) == (TemplateStatus.approved, "admin:lea")
    t = desk.intake(_invoice()).ticket
    assert t.auto_reply_id == f"template-{proposed.id}"
    reply = (t.messages or [])[-1]
    assert reply.body.startswith("You can download every invoice under Settings > Billing.")
    assert "Anna" not in reply.body and "Tom" not in reply.body
    assert _decision(desk, t.id)["template_id"] == proposed.id

    desk.review_template(proposed.id, TemplateStatus.retired, actor="admin:lea")
    t = desk.intake(_invoice()).ticket
    assert t.auto_reply_id is None and _decision(desk, t.id)["action"] == "suggest"
    assert [x.status for x in desk.list_templates(TemplateStatus.retired)] == [
        TemplateStatus.retired
    ]


def test_a_template_with_another_customers_details_needs_a_reviewed_text(desk: Desk) -> None:
    refund = "Hi Tom,\n\nThe charge of $19.99 was refunded.\n\nBest,\nAnn"
    desk.mine_templates([(refund, "en")] * 3)
    [proposed] = desk.list_templates()
    assert proposed.placeholders == ["amount"]
    with pytest.raises(Conflict, match="amount"):
        desk.review_template(proposed.id, TemplateStatus.approved, actor="admin:lea")
    text = "Refunds reach your card within 5 business days ({ticket})."
    ok = desk.review_template(proposed.id, TemplateStatus.approved, actor="admin:lea", text=text)
    assert (ok.status, ok.placeholders) == (TemplateStatus.approved, ["ticket"])
    with pytest.raises(NotFound):
        desk.review_template(999, TemplateStatus.retired, actor="admin:lea")


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("Password", "forgot my password. This is unacceptable.", "complaint"),
        ("Re: Password", "forgot my password", "follow_up"),
        ("Password", "forgot my password, total outage here", "escalation_risk"),
    ],
)
def test_the_desk_holds_a_kb_reply_the_policy_forbids(
    desk: Desk, subject: str, body: str, reason: str
) -> None:
    t = desk.intake(NewTicket(channel=Channel.chat, subject=subject, body=body)).ticket
    assert t.auto_reply_id is None and len(t.messages or []) == 1
    details = _decision(desk, t.id)
    assert details["action"] == "hold" and reason in details["reasons"]
