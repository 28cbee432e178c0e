"""End to end over HTTP: the desk calls a real triage service (our FastAPI app under
uvicorn, through `HttpTriager`), the service is killed mid-run and restarted, and no
ticket is lost: every ticket is stored, queued while the service is down, and
re-triaged by the worker once it is back.

The served model is a fixed-answer triager: what is under test is the failure path
(network, HTTP client, queue, worker), not the model. The same flow with a trained
demo bundle belongs to the README's main-command test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.contract import Channel, HeadPrediction, TriageResult
from triage.desk import Desk, NewMessage, NewTicket, TicketQuery, TriageState
from triage.remote import HttpTriager
from triage.settings import Settings
from triage.worker import Worker


class FixedTriager:
    model_version = "fixed-e2e"

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        head = HeadPrediction(label="billing", confidence=0.9, abstained=False)
        return TriageResult(
            ticket_id=ticket.id,
            category=head,
            priority=head.model_copy(update={"label": "medium"}),
            team=head.model_copy(update={"label": "finance"}),
            model_version=self.model_version,
            timing_ms=0.1,
        )

    def triage_batch(self, tickets):  # type: ignore[no-untyped-def]
        return [self.triage(t) for t in tickets]


@pytest.fixture
def service(tmp_path: Path, app_server):  # type: ignore[no-untyped-def]
    """The triage API answering with `FixedTriager`, on a port that survives a restart."""
    pytest.importorskip("uvicorn", reason="the triage service needs the serve extra")
    from api.app import create_app

    settings = Settings(
        _env_file=None,
        bundle=tmp_path,
        model_alias=None,
        insecure_no_auth=True,
        model_watch_interval_s=0,
    )
    s = app_server(lambda: create_app(settings, load=lambda path: (None, FixedTriager())))
    s.start()
    return s


def _ticket(i: int) -> NewTicket:
    return NewTicket(
        channel=Channel.email, subject=f"Refund {i}", body="charged twice", message_id=f"<m{i}@x>"
    )


def test_killing_the_triage_service_mid_run_loses_no_ticket(engine, clock, service) -> None:  # type: ignore[no-untyped-def]
    remote = HttpTriager(service.url, timeout_s=2.0, retries=0)
    desk = Desk(engine, remote, clock=clock)
    worker = Worker(desk)

    before = [desk.intake(_ticket(i)).ticket for i in range(4)]
    assert all(t.triage_state is TriageState.done and t.team == "finance" for t in before)

    service.kill()
    during = [desk.intake(_ticket(i)).ticket for i in range(4, 8)]
    assert all(t.triage_state is TriageState.queued and t.triage_error for t in during)
    # The same e-mail delivered again while the service is down is still one ticket.
    again = desk.receive(NewMessage(subject="Refund 5", body="charged twice", message_id="<m5@x>"))
    assert not again.created and again.ticket.id == during[1].id
    clock.advance(minutes=2)
    assert worker.run_once().retriage_failed == 4

    service.start()
    clock.advance(minutes=5)
    report = worker.run_once()
    assert report.retriaged == 4
    tickets = desk.list(TicketQuery(limit=100)).items
    assert len(tickets) == 8
    assert {t.triage_state for t in tickets} == {TriageState.done}
    assert {t.model_version for t in tickets} == {"fixed-e2e"}
    assert sorted(t.thread_id or "" for t in tickets) == sorted(f"<m{i}@x>" for i in range(8))
    remote.close()
