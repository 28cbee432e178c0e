"""Webhooks: outbox events delivered by the worker to a real HTTP receiver, signed, retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges
from triage.webhook import WebhookSender, retry_delay, sign, verify
from triage.worker import Worker

SECRET = "s3cret"


class Receiver:
    """A local webhook endpoint that records requests and fails the first `failures`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers.items()), body))
                failing = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[str]:
        return [h["X-Triage-Event"] for h, _ in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def test_signature_round_trip() -> None:
    signature = sign(SECRET, "1767603600", b'{"a":1}')
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify(SECRET, "1767603600", b'{"a":1}', signature)
    assert not verify(SECRET, "1767603601", b'{"a":1}', signature)
    assert not verify("other", "1767603600", b'{"a":1}', signature)


def test_retry_delay_grows_and_caps() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 3600


def test_events_are_signed_and_delivered_once(desk: Desk, receiver: Receiver) -> None:
    sender = WebhookSender(receiver.url, SECRET)
    worker = Worker(desk, webhooks=sender)
    t = desk.intake(NewTicket(channel=Channel.api, subject="Refund", body="refund me")).ticket
    desk.update(t.id, TicketChanges(assignee="alice", status=Status.solved), actor="agent:alice")
    report = worker.run_once()
    assert report.delivered == 3
    assert receiver.events() == ["ticket.created", "ticket.assigned", "ticket.solved"]
    headers, body = receiver.requests[0]
    assert verify(SECRET, headers["X-Triage-Timestamp"], body, headers["X-Triage-Signature"])
    payload = json.loads(body)
    assert payload["ticket_id"] == t.id and payload["reference"] == t.reference
    assert worker.run_once().delivered == 0
    assert len(receiver.requests) == 3
    sender.close()


def test_failed_deliveries_retry_with_back_off(desk: Desk, receiver: Receiver, clock) -> None:  # type: ignore[no-untyped-def]
    sender = WebhookSender(receiver.url, SECRET)
    worker = Worker(desk, webhooks=sender)
    desk.intake(NewTicket(channel=Channel.api, subject="Refund", body="refund me"))
    receiver.failures = 2
    assert worker.run_once().delivery_failed == 1
    clock.advance(seconds=29)
    assert worker.run_once().delivery_failed == 0  # waiting out the first back-off
    clock.advance(seconds=1)
    assert worker.run_once().delivery_failed == 1
    clock.advance(seconds=60)
    assert worker.run_once().delivered == 1
    assert receiver.events() == ["ticket.created"] * 3
    assert len({h["X-Triage-Delivery"] for h, _ in receiver.requests}) == 1
    sender.close()


def test_a_dead_receiver_never_blocks_the_desk(desk: Desk) -> None:
    sender = WebhookSender("http://127.0.0.1:9/hook", SECRET, timeout_s=0.5)
    worker = Worker(desk, webhooks=sender)
    t = desk.intake(NewTicket(channel=Channel.api, subject="Refund", body="refund me")).ticket
    report = worker.run_once()
    assert report.delivery_failed == 1 and report.delivered == 0
    assert desk.get(t.id).id == t.id
    sender.close()
