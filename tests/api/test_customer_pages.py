"""The customer's pages over HTTP (CSAT and auto-reply confirmation: GET a page, POST its
buttons, in en/ru/pl/de), the admin template routes, and tokens kept out of the access
log; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.access_log import TokenRedactingFilter, redact
from api.errors import install_error_handlers
from api.routes import customer, templates, tickets
from api.security import Authenticator
from api.server import log_config
from tests.triage.conftest import FakeClock, ScriptedTriager
from triage.desk import Desk

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(engine, tmp_path: Path, clock: FakeClock) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = FastAPI()
    app.state.auth = Authenticator(tmp_path / "keys.json", enabled=False)
    app.state.desk = Desk(engine, ScriptedTriager(), clock=clock)
    install_error_handlers(app)
    for router in (tickets.router, customer.router, templates.router):
        app.include_router(router)
    with TestClient(app) as c:
        yield c


def _password(client: TestClient, language: str = "en") -> dict:
    body = {"channel": "email", "subject": "Password", "body": "forgot my password"}
    r = client.post("/v1/tickets", json={**body, "language": language})
    assert r.status_code == 201, r.text
    return r.json()


def _confirm_path(client: TestClient, ticket: dict) -> str:
    """The confirm link the customer got: in the `ticket.auto_replied` event's body."""
    from sqlalchemy import select

    from triage.store.models import OutboxRow

    desk: Desk = client.app.state.desk  # type: ignore[attr-defined]
    with desk.sessions() as session:
        [body] = session.scalars(
            select(OutboxRow.payload["body"].as_string()).where(
                OutboxRow.event == "ticket.auto_replied", OutboxRow.ticket_id == ticket["id"]
            )
        ).all()
    [link] = re.findall(r"http://localhost:8000(/v1/confirm/\S+)", body)
    return link


@pytest.mark.parametrize(
    ("language", "question", "yes"),
    [
        ("en", "did it solve your request?", "Yes, this solved it"),
        ("ru", "он решил ваш вопрос?", "Да, вопрос решён"),
        ("pl", "czy rozwiązała problem?", "Tak, problem rozwiązany"),
        ("de", "Hat sie Ihr Anliegen gelöst?", "Ja, das hat geholfen"),
    ],
)
def test_confirm_link_opens_a_page_whose_buttons_post(
    client: TestClient, language: str, question: str, yes: str
) -> None:
    t = _password(client, language)
    path = _confirm_path(client, t)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert question in page.text and yes in page.text
    assert f'<html lang="{language}">' in page.text
    assert f'method="post" action="{path}/form"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    # Opening the link answered nothing: a mail scanner following it changes nothing.
    assert client.get(f"/v1/tickets/{t['id']}").json()["auto_reply_outcome"] is None

    done = client.post(f"{path}/form", content="solved=yes", headers=FORM)
    assert done.status_code == 200 and t["reference"] in done.text
    assert client.get(f"/v1/tickets/{t['id']}").json()["status"] == "solved"
    assert client.post(f"{path}/form", content="solved=no", headers=FORM).status_code == 409
    assert client.get(path).status_code == 200  # "already used", still a page


def test_still_need_help_and_bad_answers(client: TestClient) -> None:
    t = _password(client)
    path = _confirm_path(client, t)
    bad = client.post(f"{path}/form", content="solved=maybe", headers=FORM)
    assert bad.status_code == 422 and "solved" in bad.text
    r = client.post(f"{path}/form", content="solved=no", headers=FORM)
    assert r.status_code == 200 and "as soon as possible" in r.text
    after = client.get(f"/v1/tickets/{t['id']}").json()
    assert (after["status"], after["auto_reply_outcome"]) == ("new", "reopened")


def test_confirm_json_for_integrations(client: TestClient) -> None:
    path = _confirm_path(client, _password(client))
    assert client.post(path, json={"solved": "perhaps"}).status_code == 422
    assert client.post(path, json={"solved": True}).status_code == 204
    assert client.post(path, json={"solved": True}).status_code == 409
    assert client.post("/v1/confirm/nope", json={"solved": True}).status_code == 404


def test_csat_link_opens_a_page_and_rates(client: TestClient) -> None:
    t = _password(client, "de")
    client.post(_confirm_path(client, t) + "/form", content="solved=yes", headers=FORM)
    assert client.get(f"/v1/tickets/{t['id']}").json()["status"] == "solved"
    token = _survey_token(client, t["id"])
    page = client.get(f"/v1/csat/{token}")
    assert page.status_code == 200 and "Wie zufrieden sind Sie" in page.text
    assert page.text.count('name="rating"') == 5
    assert (
        client.post(f"/v1/csat/{token}/form", content="rating=7", headers=FORM).status_code == 422
    )
    r = client.post(f"/v1/csat/{token}/form", content="rating=2&comment=zu+langsam", headers=FORM)
    assert r.status_code == 200 and "Vielen Dank" in r.text
    d = client.get("/v1/dashboard").json()
    assert (d["csat_answered"], d["csat_average"], d["csat_followups"]) == (1, 2.0, 1)
    # A confirm token opens no survey, a survey token confirms nothing.
    assert client.get(f"/v1/csat/{_confirm_path(client, t).rsplit('/', 1)[1]}").status_code == 404
    assert client.get(f"/v1/confirm/{token}").status_code == 404


def test_links_expire(client: TestClient, clock: FakeClock) -> None:
    path = _confirm_path(client, _password(client))
    clock.advance(days=15)
    page = client.get(path)
    assert page.status_code == 404 and "expired" in page.text
    assert client.post(f"{path}/form", content="solved=yes", headers=FORM).status_code == 404


def _survey_token(client: TestClient, ticket_id: int) -> str:
    from sqlalchemy import select

    from triage.store.models import CsatRow

    desk: Desk = client.app.state.desk  # type: ignore[attr-defined]
    with desk.sessions() as session:
        return session.scalars(
            select(CsatRow.token).where(CsatRow.ticket_id == ticket_id, CsatRow.purpose == "csat")
        ).one()


def test_admin_template_routes(client: TestClient) -> None:
    desk: Desk = client.app.state.desk  # type: ignore[attr-defined]
    reply = "Hi Anna,\n\nYou can download every invoice under Settings > Billing.\n\nBest,\nTom"
    desk.mine_templates([(reply, "en")] * 3)
    [proposed] = client.get("/v1/admin/templates").json()
    assert proposed["status"] == "proposed"
    invoice = {"channel": "email", "subject": "Invoice", "body": "where is my invoice"}
    assert client.post("/v1/tickets", json=invoice).json()["auto_reply_id"] is None
    r = client.post(f"/v1/admin/templates/{proposed['id']}/approve", headers={"X-Actor": "lea"})
    assert r.status_code == 200 and r.json()["reviewed_by"] == "agent:lea"
    sent = client.post("/v1/tickets", json=invoice).json()
    assert sent["auto_reply_id"] == f"template-{proposed['id']}"
    assert client.get("/v1/admin/templates?status=approved").json()[0]["id"] == proposed["id"]
    assert client.get("/v1/admin/templates?status=nope").status_code == 422
    assert client.post("/v1/admin/templates/999/retire").status_code == 404
    r = client.post(f"/v1/admin/templates/{proposed['id']}/approve", json={"text": ""})
    assert r.status_code == 422 and "text" in r.text
    assert client.post(f"/v1/admin/templates/{proposed['id']}/retire").json()["status"] == "retired"
    board = client.get("/v1/dashboard").json()
    [outcome] = board["auto_reply_outcomes"]
    assert (outcome["answer_id"], outcome["sent"], outcome["waiting"]) == (
        f"template-{proposed['id']}",
        1,
        1,
    )


def test_tokens_never_reach_the_access_log() -> None:
    assert redact("/v1/csat/Ab-9_x") == "/v1/csat/***"
    assert redact("/v1/confirm/Ab-9_x/form?x=1") == "/v1/confirm/***/form?x=***"
    assert redact("/v1/tickets/12") == "/v1/tickets/12"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/v1/confirm/secret-token", "1.1", 200),
        None,
    )
    assert TokenRedactingFilter().filter(record)
    assert "secret-token" not in record.getMessage() and "/v1/confirm/***" in record.getMessage()
    config = log_config("info")
    assert config["handlers"]["access"]["filters"] == ["redact_tokens"]


def test_query_values_never_reach_the_access_log() -> None:
    # Canary personal data in a query string: an e-mail, an IBAN, a card number.
    path = (
        "/v1/tickets?assignee=jane.roe%40example.com&q=DE89370400440532013000"
        "&limit=5&x=4111111111111111"
    )
    assert redact(path) == "/v1/tickets?assignee=***&q=***&limit=***&x=***"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200),
        None,
    )
    assert TokenRedactingFilter().filter(record)
    message = record.getMessage()
    for canary in ("jane.roe", "DE89370400440532013000", "4111111111111111"):
        assert canary not in message
    assert "/v1/tickets?assignee=***" in message
