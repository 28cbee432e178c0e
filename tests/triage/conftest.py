"""Lifecycle fixtures: a movable clock, a scripted triager and a desk on the test database.

The database fixtures themselves (`database_url`, `engine`: SQLite and PostgreSQL)
live in tests/conftest.py, shared with the API tests.
"""

from __future__ import annotations

import pytest


class FakeClock:
    """A clock the test moves by hand: SLA and worker tests move time instead of waiting."""

    def __init__(self, start: str = "2026-01-05T09:00:00+00:00") -> None:
        from datetime import datetime

        self.now = datetime.fromisoformat(start)

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. `advance(hours=2)`."""
        from datetime import timedelta

        self.now += timedelta(**delta)


class ScriptedTriager:
    """A `Triager` whose answers the test chooses by keyword.

    The lifecycle branches on what the model says (confident, abstained, service
    down), so these tests need to pick the answer. The real in-process and remote
    triagers are exercised end to end against a trained bundle elsewhere.
    Text containing "refund" → billing/high/finance, confident; "printer" → IT,
    but the team head abstains; "password" → account/low/support with a safe
    auto-reply; "poison" raises (a ticket the model cannot score); anything else:
    every head abstains. `down = True`
    makes it raise like an unreachable service.
    """

    model_version = "scripted-1"

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.batches = 0

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        from triage.contract import AutoReply, EscalationPrediction, HeadPrediction, TriageResult

        self.calls += 1
        if self.down:
            raise ConnectionError("triage service unreachable")

        def head(label, confidence=0.95):  # type: ignore[no-untyped-def]
            if label is None:
                return HeadPrediction(label=None, confidence=0.3, abstained=True)
            return HeadPrediction(label=label, confidence=confidence, abstained=False)

        text = ticket.text.lower()
        if "poison" in text:
            raise ValueError("this ticket breaks the model")
        if "refund" in text:
            heads = {"category": head("billing"), "priority": head("high"), "team": head("finance")}
        elif "printer" in text:
            heads = {"category": head("hardware"), "priority": head("low"), "team": head(None)}
        else:
            heads = {"category": head(None), "priority": head(None), "team": head(None)}
        risk = 0.9 if "outage" in text else 0.1
        reply = None
        if "password" in text:
            heads = {"category": head("account"), "priority": head("low"), "team": head("support")}
            reply = AutoReply(
                answer_id="kb-reset",
                kind="kb",
                text="Use the 'Forgot password' link to reset it.",
                score=0.93,
                safe_to_send=True,
            )
        return TriageResult(
            ticket_id=ticket.id,
            **heads,
            auto_reply=reply,
            escalation=EscalationPrediction(
                label=None, confidence=risk, abstained=False, risk=risk
            ),
            model_version=self.model_version,
            timing_ms=1.0,
        )

    def triage_batch(self, tickets):  # type: ignore[no-untyped-def]
        self.batches += 1
        return [self.triage(t) for t in tickets]


@pytest.fixture
def clock() -> FakeClock:
    """A movable clock starting Monday 2026-01-05 09:00 UTC."""
    return FakeClock()


@pytest.fixture
def triager() -> ScriptedTriager:
    """A keyword-scripted triager (see `ScriptedTriager`)."""
    return ScriptedTriager()


@pytest.fixture
def desk(engine, triager, clock):  # type: ignore[no-untyped-def]
    """A desk on the test database with the scripted triager and the movable clock."""
    from triage.desk import Desk
    from triage.sla import BusinessCalendar, SlaPolicies

    calendar = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC")
    return Desk(engine, triager, sla=SlaPolicies(calendar=calendar), clock=clock)
