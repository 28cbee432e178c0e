"""No input makes a 500 (issue 14, item 4), on SQLite and PostgreSQL: NUL characters,
values longer than their column, ids and offsets past the integer columns, huge
`[#T-...]` references, empty Message-IDs; and a 500 keeps a keep-alive connection open."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import UnexpectedErrorMiddleware, install_error_handlers
from api.limits import BodySizeLimitMiddleware
from api.routes import tickets
from api.security import Authenticator
from triage.desk import Desk


def desk_app(engine, keys_file: Path) -> FastAPI:  # type: ignore[no-untyped-def]
    """The desk routes with the request limits and error handling `create_app` installs."""
    app = FastAPI()
    app.state.auth = Authenticator(keys_file, enabled=False)
    app.state.desk = Desk(engine)
    install_error_handlers(app)
    app.include_router(tickets.router)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=1_000_000)
    return app


@pytest.fixture
def client(engine, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(desk_app(engine, tmp_path / "keys.json"), raise_server_exceptions=False) as c:
        yield c


def _ticket(client: TestClient, **body: object) -> dict:
    r = client.post("/v1/tickets", json={"channel": "email", "body": "hello", **body})
    assert r.status_code == 201, r.text
    return r.json()


def _fields(response) -> set[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, (response.status_code, response.text)
    return {e["field"] for e in response.json()["detail"]}


@pytest.mark.parametrize(
    "body",
    [
        {"subject": "a\x00b"},
        {"body": "x\x00"},
        {"tags": ["ok", "b\x00d"]},
        {"requester": "a\x00@example.com"},
        {"extra": {"k\x00": 1}},
    ],
)
def test_a_nul_character_in_a_ticket_is_a_422(client: TestClient, body: dict) -> None:
    r = client.post("/v1/tickets", json={"channel": "email", "body": "hello", **body})
    assert _fields(r) & {"subject", "body", "tags", "requester", "extra"}


def test_a_nul_character_anywhere_else_is_a_422(client: TestClient) -> None:
    t = _ticket(client)
    assert _fields(client.patch(f"/v1/tickets/{t['id']}", json={"team": "a\x00"})) == {"team"}
    message = {"body": "x", "author": "a\x00"}
    assert _fields(client.post("/v1/messages", json=message)) == {"author"}
    assert _fields(client.get("/v1/tickets", params={"team": "a\x00"})) == {"query"}
    assert _fields(client.get("/v1/agents/a%00b")) == {"path"}
    agent = {"id": "x", "shifts": [{"tz": "UTC\x00"}]}
    assert _fields(client.put("/v1/agents/x", json=agent))
    assert _fields(client.put("/v1/teams/t", json={"manager": "m\x00"})) == {"manager"}


def test_values_longer_than_their_column_are_a_422(client: TestClient) -> None:
    long = "x" * 201
    assert _fields(client.post("/v1/tickets", json={"channel": "web", "tags": [long]}))
    t = _ticket(client)
    for field in ("category", "subcategory", "team", "assignee"):
        r = client.patch(f"/v1/tickets/{t['id']}", json={field: long})
        assert _fields(r) == {field}
    assert _fields(client.patch(f"/v1/tickets/{t['id']}", json={"priority": "p" * 51}))
    assert _fields(client.patch(f"/v1/tickets/{t['id']}", json={"add_tags": [long]}))
    assert _fields(client.put("/v1/agents/a", json={"id": "a", "skills": [long]}))


@pytest.mark.parametrize("ticket", ["2147483648", "T-9223372036854775808", str(10**30)])
def test_ticket_numbers_past_the_integer_column_are_a_404(client: TestClient, ticket) -> None:
    assert client.get(f"/v1/tickets/{ticket}").status_code == 404
    assert client.get(f"/v1/tickets/{ticket}/audit").status_code == 404
    r = client.patch(f"/v1/tickets/{ticket}", json={"status": "open"})
    assert r.status_code == 404


def test_offsets_past_64_bits_are_a_422(client: TestClient) -> None:
    assert _fields(client.get("/v1/tickets", params={"offset": 2**63})) == {"offset"}
    assert client.get("/v1/tickets", params={"offset": 2**63 - 1}).status_code == 200


def test_a_huge_subject_reference_opens_a_new_ticket(client: TestClient) -> None:
    for number in ("999999999999999999999", "2147483648"):
        r = client.post("/v1/messages", json={"subject": f"Re: [#T-{number}]", "body": "hi"})
        assert r.status_code == 201, r.text


def test_an_empty_message_id_is_absent(client: TestClient) -> None:
    a = _ticket(client, message_id="")
    b = _ticket(client, message_id="")
    assert a["id"] != b["id"] and a["thread_id"] is None
    for _ in range(2):
        r = client.post("/v1/messages", json={"body": "hi", "message_id": "", "in_reply_to": ""})
        assert r.status_code == 201, r.text


@pytest.mark.slow
def test_a_500_leaves_the_keep_alive_connection_open() -> None:
    import socket
    import threading
    import time

    import uvicorn

    from api.server import NoDelayProtocol

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(UnexpectedErrorMiddleware)

    @app.post("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    @app.get("/fine")
    def fine() -> dict[str, bool]:
        return {"ok": True}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, http=NoDelayProtocol, log_level="critical", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/boom", body=b"{}", headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        assert first.status == 500 and b"internal error" in first.read()
        conn.request("GET", "/fine")  # same connection
        second = conn.getresponse()
        assert second.status == 200 and second.read() == b'{"ok":true}'
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_row_ids_past_the_integer_column_are_a_422(client: TestClient) -> None:
    assert _fields(client.get("/v1/corrections", params={"after_id": 2**31})) == {"after_id"}
    assert client.get("/v1/corrections", params={"after_id": 2**31 - 1}).status_code == 200


def test_database_errors_carry_no_statement_parameters(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from triage.store import connect

    hidden = connect(engine.url.render_as_string(hide_password=False))
    try:
        with hidden.begin() as conn:
            conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "ann@example.com"})
    except SQLAlchemyError as exc:
        assert "ann@example.com" not in str(exc)
    else:
        raise AssertionError("the statement should fail")
    finally:
        hidden.dispose()
