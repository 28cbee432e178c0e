"""The same cases through the in-process predictor and through HttpTriager against a
real server give identical results; HTTP failures become typed errors."""

from __future__ import annotations

import json
import socket

import pytest

from tests.api.conftest import TICKET_100_WORDS
from triage.bundle import load_bundle
from triage.contract import Ticket
from triage.errors import RemoteTriagerError, RemoteUnavailableError
from triage.predictor import OnnxTriager
from triage.remote import HttpTriager
from triage.triager import Triager

CASES = [
    Ticket(**TICKET_100_WORDS),
    Ticket(id="short", subject="Password reset link expired"),
    Ticket(
        id="body-only",
        body="The parcel was delivered to the wrong address, please help",
        channel="chat",
    ),
    Ticket(
        id="de",
        subject="Rechnung doppelt bezahlt",
        body="Ich wurde zweimal belastet, bitte erstatten Sie den Betrag.",
    ),
    Ticket(
        id="ru",
        subject="Не могу войти",
        body="После обновления пароль не принимается, аккаунт заблокирован.",
    ),
    Ticket(
        id="ja",
        subject="ログインできません",
        body="パスワードをリセットしましたが、まだログインできません。",
    ),
    Ticket(
        id="meta",
        subject="Laptop broken",
        body="Screen flickers",
        customer_tier="enterprise",
        tags=["vip", "hardware"],
    ),
    Ticket(id="empty"),
]


def _comparable(result) -> dict:
    return result.model_dump(mode="json", exclude={"timing_ms"})


@pytest.fixture(scope="module")
def local(demo_bundle) -> OnnxTriager:
    return OnnxTriager(load_bundle(demo_bundle, threads=1))


@pytest.fixture(scope="module")
def remote(live_server, api_keys):
    with HttpTriager(live_server.url, api_keys.triage, timeout_s=10) as triager:
        yield triager


def test_both_implement_the_protocol(local, remote):
    assert isinstance(local, Triager) and isinstance(remote, Triager)
    assert remote.model_version == local.model_version


@pytest.mark.parametrize("ticket", CASES, ids=lambda t: t.id)
def test_local_and_remote_agree(local, remote, ticket):
    assert _comparable(remote.triage(ticket)) == _comparable(local.triage(ticket))


def test_the_escalation_risk_threshold_travels_to_a_remote_desk(remote, demo_bundle):
    # The desk's risk rule reads it from the result, so a remote triager's desk gets the
    # threshold the model's training chose, as an in-process one does.
    manifest = json.loads((demo_bundle / "manifest.json").read_text())
    [head] = [h for h in manifest["heads"] if h["name"] == "escalation"]
    result = remote.triage(CASES[0])
    assert result.escalation is not None
    assert result.escalation.risk_threshold == head["risk_threshold"]["value"]
    assert 0.0 < result.escalation.risk_threshold < 1.0


def test_batches_agree(local, remote):
    remote_results = remote.triage_batch(CASES)
    assert [_comparable(r) for r in remote_results] == [
        _comparable(r) for r in local.triage_batch(CASES)
    ]
    assert [r.ticket_id for r in remote_results] == [t.id for t in CASES]


def test_wrong_key_is_a_typed_error(live_server):
    with (
        HttpTriager(live_server.url, "tt_000000000000_wrong") as triager,
        pytest.raises(RemoteTriagerError) as caught,
    ):
        triager.triage(CASES[0])
    assert caught.value.status == 401 and "invalid API key" in str(caught.value)


def test_rejected_input_names_the_field(live_server, api_keys, api_settings):
    ticket = Ticket(id="long", body="x" * (api_settings.max_text_chars + 1))
    with (
        HttpTriager(live_server.url, api_keys.triage) as triager,
        pytest.raises(RemoteTriagerError) as caught,
    ):
        triager.triage(ticket)
    assert caught.value.status == 422 and "body: subject and body together" in str(caught.value)


def test_unreachable_service_retries_then_raises():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        HttpTriager(f"http://127.0.0.1:{port}", "k", retries=2, backoff_s=0.001) as triager,
        pytest.raises(RemoteUnavailableError, match="after 3 attempt"),
    ):
        triager.triage(CASES[1])


def test_read_timeout_is_not_retried():
    # A listener that accepts and never answers: the request reached the service, so
    # resending it could double the load; exactly one connection must arrive.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with (
            HttpTriager(f"http://127.0.0.1:{port}", "k", timeout_s=0.2, retries=3) as triager,
            pytest.raises(RemoteUnavailableError, match="timed out"),
        ):
            triager.triage(CASES[1])
        listener.settimeout(0.1)
        accepted = []
        try:
            while True:
                accepted.append(listener.accept()[0])
        except TimeoutError:
            pass
        for conn in accepted:
            conn.close()
    assert len(accepted) == 1
