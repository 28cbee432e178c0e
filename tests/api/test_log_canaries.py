"""No personal data in the logs (issue 14, item 5): canary e-mail addresses, IBANs and
card numbers sent through every route, successful and failing requests alike, appear in
no log record at any level."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import serve_settings
from tests.api.test_roles import role_table

EMAIL = "canary.person@example.org"
IBAN = "DE89370400440532013000"
CARD = "4111111111111111"
CANARIES = (EMAIL, IBAN, CARD, "canary.person")
TEXT = f"Please refund {CARD} to {IBAN}, write to {EMAIL}"


def _bodies(path: str) -> list[object]:
    """Bodies that reach the handler and bodies that fail validation, all with canaries."""
    ticket = {"channel": "email", "subject": TEXT, "body": TEXT, "requester": EMAIL}
    valid = {
        "/v1/triage": {"id": EMAIL, "subject": TEXT, "body": TEXT, "requester": EMAIL},
        "/v1/triage/batch": {"tickets": [{"id": IBAN, "subject": TEXT, "body": TEXT}]},
        "/v1/tickets": ticket,
        "/v1/messages": {"subject": f"Re: [#T-1] {TEXT}", "body": TEXT, "author": EMAIL},
        "/v1/tickets/{ticket_id}": {"status": "open", "team": EMAIL, "add_tags": [IBAN]},
        "/v1/tickets/{ticket_id}/messages": {"body": TEXT, "author": EMAIL},
        "/v1/agents/{agent_id}": {"id": "a1", "name": TEXT[:200], "email": EMAIL},
        "/v1/teams/{name}": {"manager": EMAIL},
        "/v1/admin/reload": {"bundle": f"/{EMAIL}/{IBAN}"},
        "/v1/csat/{token}": {"rating": 2, "comment": TEXT},
    }
    invalid = {"subject": TEXT, "body": TEXT, "requester": EMAIL, "nope": CARD, "id": 3}
    return [valid.get(path, {"online": True}), invalid, TEXT]


@pytest.mark.parametrize("database", ["sqlite"])
def test_no_canary_reaches_any_log(demo_bundle, api_keys, tmp_path, caplog, database) -> None:
    settings = serve_settings(
        demo_bundle,
        api_keys,
        desk=True,
        database_url=f"sqlite:///{tmp_path / 'desk.db'}",
        models_dir=tmp_path,
    )
    caplog.set_level(logging.DEBUG)
    headers = api_keys.header(api_keys.both)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.post("/v1/tickets", json={"channel": "web", "body": "seed"}, headers=headers)
        for (method, path), _roles in sorted(role_table().items()):
            for ticket_id in ("1", EMAIL, IBAN):
                url = re.sub(r"\{[^}]+\}", ticket_id, path)
                query = {"team": EMAIL, "tag": IBAN, "assignee": CARD}
                for body in _bodies(path):
                    for who in (headers, {"Authorization": f"Bearer {CARD}"}):
                        client.request(
                            method,
                            url,
                            params=query,
                            json=body,
                            headers={**who, "X-Actor": EMAIL, "Idempotency-Key": IBAN},
                        )
    # The test client's own request log (httpx) is the client's, not the server's.
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in server_side
    )
    assert any(r.name.startswith("triage") for r in server_side), "the capture is not working"
    found = [c for c in CANARIES if c in logged]
    assert not found, f"personal data in the logs: {found}\n{logged[:3000]}"
