"""The desk's store as training data (`triage.labels`), on SQLite and PostgreSQL.

A desk is worked through the real `Desk` API (intake scored by a triager with fixed
answers, corrections, a confirmed fallback priority, the human triage queue, the
assigner, auto-replies confirmed and refused, agent replies, solves on time and late,
CSAT, the worker marking a breach), then exported; the tests assert exactly which labels
come out: a person's value wins, the model's unconfirmed answers and fallback priorities
never appear, the SLA label is the outcome of solved tickets, and answers come from the
messages that solved them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, select

from triage.contract import (
    LABEL_FIELDS,
    AutoReply,
    Channel,
    EscalationPrediction,
    HeadPrediction,
    TriageResult,
)
from triage.dataset import iter_tickets
from triage.desk import Desk, Direction, NewMessage, NewTicket, Status, TicketChanges
from triage.desk.agents import AgentSpec, Directory
from triage.errors import TriageError
from triage.labels import (
    DeskExportReport,
    desk_training_tickets,
    export_desk,
    is_person,
)
from triage.sla import BusinessCalendar, SlaPolicies
from triage.store.models import CorrectionRow, CsatRow
from triage.worker import Worker

if TYPE_CHECKING:
    from tests.triage.conftest import FakeClock

AGENT, OTHER = "agent:ann", "agent:bo"
KB_ANSWER = "Use the 'Forgot password' link to reset it."

# What the model answers, by the first word of the subject; None: the head abstains.
ANSWERS: dict[str, dict[str, str | None]] = {
    "refund": {"category": "billing", "subcategory": "refunds", "priority": "high",
               "team": "finance", "assignee": "ann"},
    "vpn": {"category": "network", "priority": None, "team": "it"},
    "hello": {"category": None, "priority": None, "team": None},
    "password": {"category": "account", "priority": "low", "team": "support"},
    "outage": {"category": "incident", "priority": "urgent", "team": "it"},
}  # fmt: skip


class AnswerSheet:
    """A `Triager` with fixed answers per subject (see `ANSWERS`); "password" tickets get
    a KB article as a safe auto-reply. `down = True` raises like an unreachable service."""

    model_version = "sheet-1"

    def __init__(self) -> None:
        self.down = False

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("triage service unreachable")
        answers = ANSWERS[ticket.subject.split()[0].strip(",").lower()]
        heads = {
            name: HeadPrediction(label=label, confidence=0.95 if label else 0.3,
                                 abstained=label is None)
            for name, label in answers.items()
        }  # fmt: skip
        reply = None
        if ticket.subject.lower().startswith("password"):
            reply = AutoReply(answer_id="kb-reset", kind="kb", text=KB_ANSWER, score=0.93,
                              safe_to_send=True, article_id="kb-reset")  # fmt: skip
        return TriageResult(
            ticket_id=ticket.id,
            **heads,
            auto_reply=reply,
            escalation=EscalationPrediction(label=None, confidence=0.9, abstained=False, risk=0.1),
            model_version=self.model_version,
            timing_ms=1.0,
        )

    def triage_batch(self, tickets):  # type: ignore[no-untyped-def]
        return [self.triage(t) for t in tickets]


@pytest.fixture
def sheet() -> AnswerSheet:
    return AnswerSheet()


@pytest.fixture
def desk(engine: Engine, sheet: AnswerSheet, clock: FakeClock) -> Desk:
    """A desk on the test database with the answer sheet, one support agent and the clock."""
    calendar = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC")
    desk = Desk(engine, sheet, sla=SlaPolicies(calendar=calendar), clock=clock)
    Directory(desk.sessions).upsert_agent(AgentSpec(id="sam", team="support", capacity=50))
    return desk


def _new(subject: str, **kwargs) -> NewTicket:  # type: ignore[no-untyped-def]
    return NewTicket(channel=Channel.email, subject=subject, body=f"{subject}: details",
                     requester="c@example.com", **kwargs)  # fmt: skip


def _reply(desk: Desk, ticket_id: int, text: str) -> None:
    desk.add_message(ticket_id, NewMessage(direction=Direction.outbound, author="ann", body=text),
                     actor=AGENT)  # fmt: skip


def _customer(desk: Desk, ticket_id: int, text: str) -> None:
    desk.add_message(ticket_id, NewMessage(body=text, author="c@example.com"),
                     actor="customer:c@example.com")  # fmt: skip


def _solve(desk: Desk, ticket_id: int) -> None:
    desk.update(ticket_id, TicketChanges(status=Status.solved), actor=AGENT)


def _rate(desk: Desk, ticket_id: int, rating: int) -> None:
    with desk.readers() as session:
        token = session.scalar(select(CsatRow.token).where(CsatRow.ticket_id == ticket_id))
    desk.rate(token, rating)


def work_the_desk(desk: Desk, sheet: AnswerSheet, clock: FakeClock) -> dict[str, int]:
    """Every path a label can take; returns ticket ids by story."""
    ids: dict[str, int] = {}

    def intake(name: str, subject: str, **kwargs) -> int:  # type: ignore[no-untyped-def]
        ids[name] = desk.intake(_new(subject, **kwargs)).ticket.id
        return ids[name]

    # 09:00. An urgent ticket nobody answers: the worker marks the breach later, but it
    # stays open, so it has no outcome yet.
    intake("open_breached", "Outage in the north office")
    # The model's category corrected; its other answers left as they were.
    t = intake("corrected", "Refund for order 1")
    desk.update(t, TicketChanges(category="payments"), actor=AGENT)
    _customer(desk, t, "Any news? I am still waiting for the refund.")  # the thread, not the text
    # Changed by one person, set back to the model's answer by another: a person's value.
    t = intake("set_back", "Refund for order 2")
    desk.update(t, TicketChanges(team="billing-ops"), actor=AGENT)
    desk.update(t, TicketChanges(team="finance"), actor=OTHER)
    # Only the priority head abstained: routed on the fallback priority. One is left
    # unconfirmed (and solved), the other confirmed at the same value.
    intake("fallback", "VPN drops every hour")
    t = intake("fallback_confirmed", "VPN is slow")
    desk.update(t, TicketChanges(priority="medium"), actor=AGENT)
    # Every routing head abstained: people triage it; the assigner then picks an agent.
    t = intake("human_queue", "Hello, question about my contract")
    desk.update(t, TicketChanges(category="contracts", subcategory="terms", priority="low",
                                 team="support"), actor=AGENT)  # fmt: skip
    # The same, but the person also chooses who handles it.
    t = intake("human_assigned", "Hello, another question")
    desk.update(t, TicketChanges(category="contracts", priority="low", team="support",
                                 assignee="bo"), actor=OTHER)  # fmt: skip
    # The requester set the routing fields at intake (the model filled nothing).
    intake("requester_set", "Hello from a partner", category="billing", priority="urgent",
           team="finance")  # fmt: skip
    # Safe auto-replies: one the customer confirmed, one they refused (then an agent).
    intake("auto_resolved", "Password forgotten")
    desk.answer_auto_reply(ids["auto_resolved"], True, actor="customer:c@example.com")
    t = intake("auto_refused", "Password reset link broken")
    desk.answer_auto_reply(t, False, actor="customer:c@example.com")
    # The service was down at intake: queued, nothing set by anyone.
    sheet.down = True
    intake("queued", "Refund for order 3")
    sheet.down = False
    # 09:30. Solved on time: untouched model answers, an agent's reply as the answer.
    clock.advance(minutes=30)
    t = intake("solved_untouched", "Refund for order 4")
    _reply(desk, t, "We refunded order 4.")
    _solve(desk, t)
    _solve(desk, ids["fallback"])
    _reply(desk, ids["auto_refused"], "Reset it from the admin console.")
    _solve(desk, ids["auto_refused"])
    # Tags at opening only; the answer was rated 1: labels stay, the answer does not.
    t = intake("unsatisfied", "Refund for order 5", tags=["vip"])
    desk.update(t, TicketChanges(add_tags=["refund-denied"], category="payments"), actor=AGENT)
    _reply(desk, t, "No refund is possible for this order.")
    _solve(desk, t)
    _rate(desk, t, 1)
    # A second outage, answered and solved five hours later: a breach (rated well).
    t = intake("late", "Outage of the mail server")
    clock.advance(hours=5)
    _reply(desk, t, "The mail server is back.")
    _solve(desk, t)
    _rate(desk, t, 5)
    sheet.down = True  # still down for the queued ticket's re-triage
    Worker(desk, name="test").run_once()  # marks (and escalates) the first outage
    return ids


def _labels(ticket) -> dict[str, object]:  # type: ignore[no-untyped-def]
    fields = (*LABEL_FIELDS, "agent_answer", "kb_article_id")
    return {f: getattr(ticket, f) for f in fields if getattr(ticket, f) is not None}


def test_only_what_people_decided_and_outcomes_are_exported(
    desk: Desk, sheet: AnswerSheet, clock: FakeClock, tmp_path: Path
) -> None:
    ids = work_the_desk(desk, sheet, clock)
    with desk.readers() as session:
        corrections = session.scalars(select(CorrectionRow)).all()
    # The store holds what the export must see past: a breach and an escalation on an
    # open ticket, unconfirmed values on solved ones, the assigner's pick.
    opened = desk.get(ids["open_breached"], messages=False)
    assert opened.sla_breached and opened.escalated and opened.status is Status.new
    assert desk.get(ids["fallback"]).priority_unconfirmed
    assert desk.get(ids["human_queue"]).assignee == "sam"
    assert {(c.ticket_id, c.field) for c in corrections} >= {(ids["corrected"], "category")}
    assert [c.new_value for c in corrections if c.ticket_id == ids["set_back"]] == ["billing-ops"]

    out = tmp_path / "desk.parquet"
    report = export_desk(desk.engine, out)
    exported = {t.id: t for t in iter_tickets(out)}
    by_story = {
        name: _labels(exported[f"T-{i}"]) for name, i in ids.items() if f"T-{i}" in exported
    }

    assert by_story == {
        "corrected": {"category": "payments"},
        "set_back": {"team": "finance"},
        "fallback": {"sla_breached": False},
        "fallback_confirmed": {"priority": "medium"},
        "human_queue": {"category": "contracts", "subcategory": "terms", "priority": "low",
                        "team": "support"},
        "human_assigned": {"category": "contracts", "priority": "low", "team": "support",
                           "assignee": "bo"},
        "auto_resolved": {"sla_breached": False, "agent_answer": KB_ANSWER,
                          "kb_article_id": "kb-reset"},
        "auto_refused": {"sla_breached": False,
                         "agent_answer": "Reset it from the admin console."},
        "solved_untouched": {"sla_breached": False, "agent_answer": "We refunded order 4."},
        "unsatisfied": {"category": "payments", "sla_breached": False},
        "late": {"sla_breached": True, "agent_answer": "The mail server is back."},
    }  # fmt: skip
    # Skipped: only unconfirmed values (the model's, the requester's), or nothing at all.
    assert {"open_breached", "requester_set", "queued"}.isdisjoint(by_story)

    assert report.tickets_read == len(ids) == 14
    assert report.tickets_written == len(exported) == 11
    assert (report.skipped_unconfirmed, report.skipped_unlabelled) == (2, 1)
    assert report.as_dict()["labels"] == {
        "category": 4, "subcategory": 1, "priority": 3, "team": 3, "assignee": 1,
        "sla_breached": 6, "agent_answer": 4,
    }  # fmt: skip
    assert report.breached == 1 and report.no_outcome == 8 and report.answers_unsatisfied == 1
    # Withheld, by where the value came from.
    assert report.withheld_by_source["fallback priority"] == 1
    assert report.withheld_by_source["intake"] == 3  # the requester's three fields
    assert report.withheld_by_source["assigner"] >= 1
    assert report.as_dict()["withheld"] == {
        "category": 9, "subcategory": 4, "priority": 10, "team": 10, "assignee": 10,
    }  # fmt: skip
    assert report.as_dict()["withheld_by_source"] == {
        "model": 29, "assigner": 10, "intake": 3, "fallback priority": 1,
    }  # fmt: skip


def test_features_are_what_the_model_saw_at_intake(
    desk: Desk, clock: FakeClock, tmp_path: Path
) -> None:
    t = desk.intake(
        NewTicket(channel=Channel.chat, subject="Refund for order 9", body="charged twice",
                  requester="c@example.com", customer_tier="gold", language="de",
                  tags=["vip", "card"], extra={"region": "EU", "seats": 12})
    ).ticket  # fmt: skip
    clock.advance(minutes=5)
    _customer(desk, t.id, "Hello? Nobody answered yet.")
    desk.update(t.id, TicketChanges(team="payments", add_tags=["refund-approved"],
                                    remove_tags=["card"]), actor=AGENT)  # fmt: skip
    desk.update(t.id, TicketChanges(add_tags=["second-look"]), actor=OTHER)
    untagged = desk.intake(_new("Refund for order 10", tags=["web"])).ticket
    desk.update(untagged.id, TicketChanges(category="payments"), actor=AGENT)

    out = tmp_path / "desk.parquet"
    export_desk(desk.engine, out)
    exported = {x.id: x for x in iter_tickets(out)}
    ticket = exported[t.reference]
    # The opening message, never the thread; the tags it opened with, not what people
    # added or removed later; the time it came in.
    assert (ticket.subject, ticket.body) == ("Refund for order 9", "charged twice")
    assert ticket.tags == ["card", "vip"] and exported[untagged.reference].tags == ["web"]
    assert ticket.created_at == t.created_at and ticket.channel is Channel.chat
    assert (ticket.customer_tier, ticket.language, ticket.requester) == (
        "gold",
        "de",
        "c@example.com",
    )
    assert ticket.extra == {"region": "EU", "seats": 12}
    assert ticket.team == "payments" and ticket.escalated is None and ticket.sla_breached is None
    assert ticket.first_response_at is None and ticket.resolved_at is None


def test_batches_stream_the_same_export(
    desk: Desk, sheet: AnswerSheet, clock: FakeClock, tmp_path: Path
) -> None:
    work_the_desk(desk, sheet, clock)
    whole = export_desk(desk.engine, tmp_path / "whole.parquet")
    calls: list[tuple[int, int]] = []
    small = export_desk(
        desk.engine, tmp_path / "small.parquet", batch_rows=4,
        on_progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    assert calls == [(0, 14), (4, 14), (8, 14), (12, 14), (14, 14)]
    assert small.as_dict() | {"out": None} == whole.as_dict() | {"out": None}
    assert pq.read_table(tmp_path / "small.parquet").equals(
        pq.read_table(tmp_path / "whole.parquet")
    )


def test_an_export_reads_one_snapshot_and_does_not_block_the_desk(
    desk: Desk, sheet: AnswerSheet, clock: FakeClock
) -> None:
    ids = work_the_desk(desk, sheet, clock)
    report = DeskExportReport(database="test")
    stream = desk_training_tickets(desk.engine, report, batch_rows=2)
    first = next(stream)
    # The desk keeps working while the export reads (no lock held against writers) ...
    late = desk.intake(_new("Hello, written during the export")).ticket
    desk.update(late.id, TicketChanges(category="contracts"), actor=AGENT)
    desk.update(ids["human_queue"], TicketChanges(category="warranty"), actor=OTHER)
    rest = {t.id: t for t in stream}
    # ... and the export sees the store as it was when it started: a ticket and its audit
    # entries from the same moment (else "contracts" would lose its person's entry).
    assert first.id == f"T-{ids['corrected']}" and late.reference not in rest
    assert report.tickets_read == len(ids)
    assert rest[f"T-{ids['human_queue']}"].category == "contracts"


def test_actors_who_count_as_a_person() -> None:
    assert is_person("agent:ann") and is_person("api:zendesk-sync")
    assert not any(map(is_person, ["model", "system:assigner", "customer:c@example.com"]))


def test_a_missing_or_foreign_database_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(TriageError, match=r"no such database file"):
        export_desk(f"sqlite:///{missing}", tmp_path / "out.parquet")
    assert not missing.exists()  # not created by looking

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(TriageError, match=r"no help-desk store in this database"):
        export_desk(f"sqlite:///{empty}", tmp_path / "out.parquet")

    with pytest.raises(TriageError, match=r"cannot read the store"):
        export_desk("postgresql+psycopg://postgres@127.0.0.1:1/test", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


def test_an_old_schema_asks_for_an_upgrade(tmp_path: Path) -> None:
    from triage.store import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0002")
    with pytest.raises(TriageError, match=r"schema revision 0002.*triage db upgrade"):
        export_desk(url, tmp_path / "out.parquet")
