"""Lifecycle fixtures: a movable clock, a scripted triager and a desk on the test database;
`AppServer`, the end-to-end tests' uvicorn server that can be killed and restarted.

The database fixtures themselves (`database_url`, `engine`: SQLite and PostgreSQL)
live in tests/conftest.py, shared with the API tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests import fast_lane


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
    auto-reply (a KB article); "invoice" → billing/low/finance with a safe past agent
    reply; "poison" raises (a ticket the model cannot score); anything else:
    every head abstains. `down = True`
    makes it raise like an unreachable service.
    """

    model_version = "scripted-1"

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.batches = 0
        # The escalation risk threshold the "model" chose in training (None: an older bundle).
        self.risk_threshold: float | None = None

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
        if "invoice" in text:
            # A past agent reply (not a KB article): sent only once its template is approved.
            heads = {"category": head("billing"), "priority": head("low"), "team": head("finance")}
            reply = AutoReply(
                answer_id="answer-7",
                kind="answer",
                text="Hi Anna,\n\nYou can download every invoice under Settings > Billing."
                "\n\nBest regards,\nTom",
                score=0.91,
                safe_to_send=True,
            )
        return TriageResult(
            ticket_id=ticket.id,
            **heads,
            auto_reply=reply,
            escalation=EscalationPrediction(
                label=None,
                confidence=risk,
                abstained=False,
                risk=risk,
                risk_threshold=self.risk_threshold,
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


class AppServer:
    """An ASGI app under uvicorn in a background thread, on a port fixed at creation, so
    it can be killed and started again at the same URL (a new app from `make_app`, like a
    restarted process)."""

    def __init__(self, make_app: Callable[[], Any]) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.make_app = make_app
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        """Serve a new app from `make_app`; returns once uvicorn has started."""
        import uvicorn

        fast_lane.require_slow("starts a uvicorn server")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(
            self.make_app(), lifespan="on", log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        # A deadline for a wedged start, not a timing: loading a bundle takes seconds.
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        """Stop the server and wait for its thread to end."""
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def app_server() -> Any:
    """Make `AppServer`s (`app_server(make_app)`, not started); any still running are
    killed after the test. A heavy fixture: the tests using it are `slow`."""
    servers: list[AppServer] = []

    def make(make_app: Callable[[], Any]) -> AppServer:
        server = AppServer(make_app)
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.running:
            server.kill()
