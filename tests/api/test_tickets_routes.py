"""The desk's HTTP routes (`api.routes.tickets`) on SQLite and PostgreSQL: status codes,
idempotency header, filters, audit, agents, dashboard, CSAT, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.errors import install_error_handlers
from api.routes import tickets
from api.security import Authenticator
from triage.desk import Desk
from triage.store.models import CsatRow


@pytest.fixture
def client(engine, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    # No triager: tickets stay queued for triage, which these tests do not need.
    app = FastAPI()
    app.state.auth = Authenticator(tmp_path / "keys.json", enabled=False)
    app.state.desk = Desk(engine)
    install_error_handlers(app)
    app.include_router(tickets.router)
    with TestClient(app) as c:
        yield c


def _create(client: TestClient, key: str | None = None, **body: object) -> dict:
    payload = {"channel": "email", "subject": "Refund", "body": "refund me", **body}
    headers = {"Idempotency-Key": key} if key else {}
    r = client.post("/v1/tickets", json=payload, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_create_is_idempotent(client: TestClient) -> None:
    first = client.post(
        "/v1/tickets", json={"channel": "web", "body": "hi"}, headers={"Idempotency-Key": "k"}
    )
    again = client.post(
        "/v1/tickets", json={"channel": "web", "body": "hi"}, headers={"Idempotency-Key": "k"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.headers["Location"] == f"/v1/tickets/{first.json()['id']}"
    assert first.json()["triage_state"] == "queued"
    assert client.get("/v1/tickets").json()["total"] == 1


def test_bad_input_is_a_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/tickets", json={"channel": "fax", "body": "x"})
    assert r.status_code == 422
    assert "channel" in r.text
    assert client.get("/v1/tickets?due_before=2026-01-05T10:00:00").status_code == 422


def test_get_patch_audit_and_conflicts(client: TestClient) -> None:
    t = _create(client)
    assert client.get(f"/v1/tickets/{t['reference']}").json()["id"] == t["id"]
    assert client.get("/v1/tickets/T-999").status_code == 404
    r = client.patch(
        f"/v1/tickets/{t['id']}",
        json={"status": "open", "tags": ["vip"]},
        headers={"X-Actor": "alice"},
    )
    assert r.status_code == 200 and r.json()["status"] == "open" and r.json()["tags"] == ["vip"]
    r = client.patch(f"/v1/tickets/{t['id']}", json={"status": "closed"})
    assert r.status_code == 409 and "cannot move" in r.json()["detail"]
    r = client.patch(f"/v1/tickets/{t['id']}", json={"colour": "red"})
    assert r.status_code == 422
    audit = client.get(f"/v1/tickets/{t['id']}/audit").json()
    assert [e["action"] for e in audit] == ["created", "updated", "status_changed"]
    assert audit[1]["actor"] == "agent:alice"


def test_messages_join_threads(client: TestClient) -> None:
    t = _create(client, message_id="<a@x>")
    r = client.post("/v1/messages", json={"body": "any news?", "in_reply_to": "<a@x>"})
    assert r.status_code == 200
    assert r.json() == {"ticket": r.json()["ticket"], "created": False, "held": False}
    assert r.json()["ticket"]["id"] == t["id"]
    r = client.post("/v1/messages", json={"body": "new problem", "subject": "other"})
    assert r.status_code == 201 and r.json()["created"] is True
    r = client.post(
        f"/v1/tickets/{t['id']}/messages", json={"direction": "outbound", "body": "hello"}
    )
    assert r.status_code == 200 and r.json()["first_response_at"] is not None
    assert len(r.json()["messages"]) == 3


def test_list_filters(client: TestClient) -> None:
    a = _create(client, priority="low", tags=["x"])
    b = _create(client, priority="urgent")
    ids = [t["id"] for t in client.get("/v1/tickets").json()["items"]]
    assert ids == [b["id"], a["id"]]
    assert [t["id"] for t in client.get("/v1/tickets?tag=x").json()["items"]] == [a["id"]]
    assert client.get("/v1/tickets?status=new&status=open&limit=1").json()["total"] == 2
    assert client.get("/v1/tickets?due_before=2000-01-01T00:00:00Z").json()["total"] == 0
    assert client.get("/v1/tickets?status=bogus").status_code == 422


def test_agents_dashboard_and_csat(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    r = client.put("/v1/agents/ann", json={"id": "ignored", "team": "finance", "capacity": 3})
    assert r.status_code == 200 and r.json()["id"] == "ann" and r.json()["load"] == 0
    assert client.put("/v1/teams/finance", json={"manager": "m@x"}).status_code == 204
    assert client.put("/v1/agents/ann/presence", json={"online": False}).json()["online"] is False
    assert client.get("/v1/agents/nobody").status_code == 404
    t = _create(client)
    client.patch(f"/v1/tickets/{t['id']}", json={"assignee": "ann", "status": "solved"})
    assert [a["load"] for a in client.get("/v1/agents").json()] == [0]
    with Desk(engine).sessions() as session:
        token = session.scalars(select(CsatRow.token)).one()
    assert client.post(f"/v1/csat/{token}", json={"rating": 9}).status_code == 422
    assert client.post(f"/v1/csat/{token}", json={"rating": 1}).status_code == 204
    assert client.post(f"/v1/csat/{token}", json={"rating": 2}).status_code == 409
    assert client.post("/v1/csat/unknown", json={"rating": 2}).status_code == 404
    d = client.get("/v1/dashboard").json()
    assert d["csat_average"] == 1.0 and d["csat_followups"] == 1
    assert d["sla_compliance_pct"] == 100.0
    assert client.get("/v1/corrections").json() == []
    r = client.post(f"/v1/tickets/{t['id']}/auto-reply", json={"solved": True})
    assert r.status_code == 409


def test_agents_crud_with_shifts_and_capacity(client: TestClient) -> None:
    shift = {"days": [0, 1, 2, 3, 4], "start": "08:00:00", "end": "16:00:00", "tz": "Europe/Warsaw"}
    spec = {"team": "finance", "skills": ["billing"], "languages": ["pl"], "capacity": 2}
    r = client.put("/v1/agents/ann", json={**spec, "id": "ann", "shifts": [shift]})
    assert r.status_code == 200
    assert (r.json()["shifts"], r.json()["capacity"]) == ([shift], 2)
    bad = client.put("/v1/agents/x", json={"id": "x", "shifts": [{**shift, "days": [7]}]})
    assert bad.status_code == 422 and "days" in bad.text
    assert client.put("/v1/agents/x", json={"id": "x", "capacity": -1}).status_code == 422
    client.put("/v1/agents/ben", json={"id": "ben", "team": "finance", "capacity": 1})
    assert [a["id"] for a in client.get("/v1/agents?team=finance").json()] == ["ann", "ben"]
    open_ticket = _create(client)
    done = _create(client)
    client.patch(f"/v1/tickets/{open_ticket['id']}", json={"assignee": "ann"})
    client.patch(f"/v1/tickets/{done['id']}", json={"assignee": "ann", "status": "solved"})
    assert client.get("/v1/agents/ann").json()["load"] == 1
    # Removing an agent hands their open tickets back (audited); history keeps the name.
    r = client.delete("/v1/agents/ann", headers={"X-Actor": "lead"})
    assert r.status_code == 200
    assert r.json() == {"id": "ann", "unassigned": [open_ticket["reference"]]}
    assert client.get(f"/v1/tickets/{open_ticket['id']}").json()["assignee"] is None
    assert client.get(f"/v1/tickets/{done['id']}").json()["assignee"] == "ann"
    last = client.get(f"/v1/tickets/{open_ticket['id']}/audit").json()[-1]
    assert (last["action"], last["actor"], last["details"]) == (
        "unassigned",
        "agent:lead",
        {"agent": "ann", "reason": "removed"},
    )
    assert client.get("/v1/agents/ann").status_code == 404
    assert client.delete("/v1/agents/ann").status_code == 404
    assert [a["id"] for a in client.get("/v1/agents").json()] == ["ben"]


def test_list_by_unconfirmed_priority(client: TestClient) -> None:
    _create(client)
    assert client.get("/v1/tickets?priority_unconfirmed=true").json()["total"] == 0
    assert client.get("/v1/tickets?priority_unconfirmed=false").json()["total"] == 1
    assert client.get("/v1/tickets?priority_unconfirmed=maybe").status_code == 422
    assert client.get("/v1/dashboard").json()["priority_unconfirmed"] == 0


def test_inputs_the_fuzzer_found_are_4xx_not_500(client: TestClient) -> None:
    # Ids that look numeric to str.isdigit ("³") or overflow a 64-bit column name no ticket.
    for ticket_id in ("³", "T-99999999999999999999"):
        assert client.get(f"/v1/tickets/{ticket_id}").status_code == 404, ticket_id
    assert client.get("/v1/corrections?after_id=99999999999999999999").status_code == 422
    assert client.get("/v1/tickets?offset=99999999999999999999").status_code == 422
    # An empty Idempotency-Key is no key: two such requests make two tickets.
    for _ in range(2):
        created = client.post(
            "/v1/tickets", json={"channel": "web", "body": "hi"}, headers={"Idempotency-Key": ""}
        )
        assert created.status_code == 201, created.text
    # An empty (or blank) message id is no message id (issue 14); an empty team or a
    # blank agent id are refused.
    r = client.post("/v1/tickets", json={"channel": "email", "body": "x", "message_id": " "})
    assert r.status_code == 201 and r.json()["thread_id"] is None
    r = client.put("/v1/agents/ann", json={"id": "ann", "team": ""})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "team"
    assert client.put("/v1/agents/%0D", json={"id": "x"}).status_code == 422
    shift = {"days": [0], "start": "09:00", "end": "17:00+02:00"}
    assert client.put("/v1/agents/ann", json={"id": "ann", "shifts": [shift]}).status_code == 422


def test_no_desk_configured_is_a_503(tmp_path: Path) -> None:
    app = FastAPI()
    app.state.auth = Authenticator(tmp_path / "keys.json", enabled=False)
    app.include_router(tickets.router)
    with TestClient(app) as c:
        assert c.get("/v1/tickets").status_code == 503


def test_keys_and_scopes_guard_the_desk(engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from triage.keys import create_key

    keys = tmp_path / "keys.json"
    agent_key, _ = create_key(
        keys, frozenset({"agent"}), name="helpdesk-ui", teams=frozenset({"billing"})
    )
    admin_key, _ = create_key(keys, frozenset({"admin"}), name="ops")
    app = FastAPI()
    app.state.auth = Authenticator(keys, enabled=True)
    app.state.desk = Desk(engine)
    install_error_handlers(app)
    app.include_router(tickets.router)
    with TestClient(app) as c:
        assert c.get("/v1/tickets").status_code == 401
        agent = {"Authorization": f"Bearer {agent_key}"}
        admin = {"Authorization": f"Bearer {admin_key}"}
        body = {"channel": "api", "body": "x", "team": "billing"}
        t = c.post("/v1/tickets", json=body, headers=admin).json()
        c.patch(f"/v1/tickets/{t['id']}", json={"status": "open"}, headers=agent)
        assert (
            c.get(f"/v1/tickets/{t['id']}/audit", headers=agent).json()[-1]["actor"]
            == "api:helpdesk-ui"
        )
        assert c.get("/v1/corrections", headers=agent).status_code == 403
        assert c.get("/v1/corrections", headers=admin).status_code == 200
        assert c.put("/v1/agents/a", json={"id": "a"}, headers=agent).status_code == 403
        # The survey link works without a key (its token is the credential).
        assert c.post("/v1/csat/unknown", json={"rating": 3}).status_code == 404


class _FixedTriager:
    """Answers every ticket with the same confident routing (the wiring is under test)."""

    model_version = "fixed-1"

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        from triage.contract import HeadPrediction, TriageResult

        head = HeadPrediction(label="billing", confidence=0.9, abstained=False)
        return TriageResult(
            ticket_id=ticket.id,
            category=head,
            priority=head.model_copy(update={"label": "high"}),
            team=head.model_copy(update={"label": "finance"}),
            model_version=self.model_version,
            timing_ms=0.1,
        )

    def triage_batch(self, tickets):  # type: ignore[no-untyped-def]
        return [self.triage(t) for t in tickets]


def test_install_desk_follows_the_served_model(database_url: str, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from api.holder import ModelHolder
    from api.routes.tickets import install_desk
    from triage.settings import Settings

    app = FastAPI()
    app.state.auth = Authenticator(tmp_path / "keys.json", enabled=False)
    app.state.holder = ModelHolder(lambda path: (None, _FixedTriager()), lambda: tmp_path, "test")
    install_error_handlers(app)
    desk = install_desk(app, Settings(_env_file=None, database_url=database_url))
    with TestClient(app) as c:
        # No model loaded yet: the ticket is stored and queued, not refused.
        early = c.post("/v1/tickets", json={"channel": "api", "body": "refund"}).json()
        assert early["triage_state"] == "queued" and "no model loaded" in early["triage_error"]
        app.state.holder.reload()
        late = c.post("/v1/tickets", json={"channel": "api", "body": "refund"}).json()
        assert (late["triage_state"], late["team"], late["model_version"]) == (
            "done",
            "finance",
            "fixed-1",
        )
    desk.engine.dispose()
