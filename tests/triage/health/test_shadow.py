"""The shadow challenger on a real desk (SQLite and PostgreSQL): it scores every new
ticket without acting, its answers are stored, and the comparison with the champion
uses the human labels that arrived since."""

from __future__ import annotations

import pytest

from tests.triage.conftest import ScriptedTriager
from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges
from triage.health.compare import compare_models, paired_difference, shadow_verdict, wilson
from triage.health.shadow import ShadowScorer
from triage.store.models import ShadowRow

AGENT = "agent:alice"


class Challenger(ScriptedTriager):
    """Says "payments" where the champion says "billing"; otherwise the same."""

    model_version = "challenger-1"

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        result = super().triage(ticket)
        if result.category is not None and result.category.label == "billing":
            result.category = result.category.model_copy(update={"label": "payments"})
        return result


def _ticket(body: str) -> NewTicket:
    return NewTicket(channel=Channel.email, subject="help", body=body, requester="c@example.com")


def test_shadow_scores_without_acting_and_compares(desk: Desk, clock) -> None:  # type: ignore[no-untyped-def]
    scorer = ShadowScorer(Challenger(), desk.sessions, desk.clock)
    desk.shadow = scorer
    ids = [desk.intake(_ticket(f"refund number {i}")).ticket.id for i in range(4)]
    ids.append(desk.intake(_ticket("forgot my password")).ticket.id)
    scorer.drain()
    # The champion acted: the ticket carries its answer, not the challenger's.
    assert {desk.get(i).category for i in ids[:4]} == {"billing"}
    with desk.readers() as session:
        rows = session.query(ShadowRow).order_by(ShadowRow.ticket_id).all()
        assert [(r.ticket_id, r.category) for r in rows] == [
            *[(i, "payments") for i in ids[:4]],
            (ids[4], "account"),
        ]
        assert {r.model_version for r in rows} == {"challenger-1"}
    # People say three refunds were "payments" (the challenger was right), one billing.
    for i in ids[:3]:
        desk.update(i, TicketChanges(category="payments", status=Status.solved), actor=AGENT)
    desk.update(ids[3], TicketChanges(status=Status.solved), actor=AGENT)
    clock.advance(days=2)
    with desk.readers() as session:
        result = compare_models(session, "scripted-1", "challenger-1", now=clock.now)
    # The auto-replied ticket waits for the customer (pending): not labelled yet.
    assert (result.shadowed, result.labelled) == (5, 4)
    assert result.agreement.value == 0.2
    assert result.champion_accuracy.value == 0.25
    assert result.challenger_accuracy.value == 0.75
    assert result.difference.value == 0.5
    assert result.shadow_days == 2.0
    assert shadow_verdict(result, min_tickets=10, min_days=0) is not None
    assert shadow_verdict(result, min_tickets=4, min_days=3) is not None
    assert shadow_verdict(result, min_tickets=4, min_days=1) is None
    scorer.close()


def test_a_failing_challenger_never_touches_intake(desk: Desk) -> None:  # type: ignore[no-untyped-def]
    broken = ScriptedTriager()
    broken.down = True
    scorer = ShadowScorer(broken, desk.sessions, desk.clock)
    desk.shadow = scorer
    ticket = desk.intake(_ticket("refund please")).ticket
    scorer.drain()
    assert ticket.category == "billing" and scorer.failed == 1 and scorer.stored == 0
    scorer.close()


def test_intervals() -> None:
    assert wilson(0, 0).value is None
    interval = wilson(8, 10)
    assert interval.low == pytest.approx(0.4902, abs=1e-4)
    assert interval.high == pytest.approx(0.9433, abs=1e-4)
    same = paired_difference([0, 0, 0])
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
