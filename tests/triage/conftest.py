"""Database fixtures: the store and lifecycle tests run against SQLite and PostgreSQL.

Each test module gets a fresh, migrated database (a SQLite file, or a uniquely named
PostgreSQL schema selected through `search_path` in the URL, so the URL alone carries
it into a `triage worker` subprocess). Between tests every table is emptied.
PostgreSQL is skipped, with the reason, only when the server cannot be reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reason() -> str | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - dev extra missing
        return "psycopg is not installed (pip install -e .[dev])"
    try:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3
        ):
            return None
    except psycopg.OperationalError as exc:
        return f"PostgreSQL at 127.0.0.1:5432 (db test, user postgres) unreachable: {exc}".strip()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of a fresh database at the latest migration, one per module and backend."""
    from triage.store import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'triage.db'}"
        migrate(url)
        yield url
        return
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    """An engine on the module's database, emptied before the test."""
    from sqlalchemy import text

    from triage.store import connect
    from triage.store.models import Base

    engine = connect(database_url)
    with engine.begin() as conn:
        tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM sqlite_sequence"))  # restart ticket numbers
    yield engine
    engine.dispose()


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
    auto-reply; anything else: every head abstains. `down = True`
    makes it raise like an unreachable service.
    """

    model_version = "scripted-1"

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

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
