"""Every route of the app against the role x route table of docs/security.md, and the
data each role sees: an integration its inbox, an agent its teams (issue 14, item 1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from triage.keys import create_key
from triage.settings import Settings

TABLE = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROLES = ("anonymous", "triage", "integration", "agent", "admin")


def role_table() -> dict[tuple[str, str], dict[str, bool]]:
    """`(METHOD, path) -> {role: allowed}` as docs/security.md states it."""
    text = TABLE.read_text(encoding="utf-8")
    section = text.split("## Role x route table", 1)[1].split("\n## ", 1)[0]
    table: dict[tuple[str, str], dict[str, bool]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 + len(ROLES) or cells[0] in ("method", "") or cells[0].startswith("-"):
            continue
        table[(cells[0], cells[1])] = {r: c == "yes" for r, c in zip(ROLES, cells[2:], strict=True)}
    return table


class _Stub:
    """A model that is never asked: these tests stop at the key check or just after it."""

    model_version = "stub-1"
    manifest: dict[str, object] = {}  # noqa: RUF012

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        raise AssertionError("not called")


@pytest.fixture
def keyed(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, dict[str, dict]]]:
    keys = tmp_path / "keys.json"
    made = {
        "triage": create_key(keys, frozenset({"triage"}), "scorer")[0],
        "integration": create_key(keys, frozenset({"tickets"}), "mail", inbox="support")[0],
        "agent": create_key(keys, frozenset({"agent"}), "ada", teams=frozenset({"billing"}))[0],
        "admin": create_key(keys, frozenset({"admin"}), "ops")[0],
    }
    settings = Settings(
        _env_file=None,
        bundle=tmp_path,
        model_alias=None,
        api_keys_file=keys,
        model_watch_interval_s=0,
        insecure_no_auth=False,
        desk=True,
        database_url=database_url,
    )
    stub = _Stub()
    app = create_app(settings, load=lambda path: (SimpleNamespace(manifest={}), stub))
    headers = {role: {"Authorization": f"Bearer {k}"} for role, k in made.items()}
    headers["anonymous"] = {}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, headers


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Every `(METHOD, path)` the app answers, the included routers' included (the
    console's aside)."""
    found = set()
    for route in app.routes:
        # FastAPI >= 0.16x wraps an included router; its contexts are the routes.
        contexts = getattr(route, "effective_route_contexts", None)
        for item in contexts() if contexts else [route]:
            for method in getattr(item, "methods", None) or ():
                # The console signs people in with a session cookie, not a bearer key:
                # docs/security.md, "The console"; tested in tests/api/console.
                console = item.path == "/" or item.path.startswith("/console")
                if method != "HEAD" and not console:
                    found.add((method, item.path))
    return found


def test_every_route_has_an_entry_and_behaves_as_the_table_says(keyed) -> None:
    client, headers = keyed
    table = role_table()
    assert _routes(client.app) == set(table), "routes and docs/security.md disagree"
    wrong = []
    for (method, path), allowed in sorted(table.items()):
        url = re.sub(r"\{[^}]+\}", "1", path)
        for role in ROLES:
            status = client.request(method, url, headers=headers[role]).status_code
            refused = status in (401, 403)
            if refused == allowed[role] or (role == "anonymous" and refused and status != 401):
                wrong.append(f"{method} {path} as {role}: {status}")
    assert not wrong, "\n".join(wrong)


def test_an_integration_sees_only_its_inbox(keyed, tmp_path: Path) -> None:
    client, headers = keyed
    mail, admin = headers["integration"], headers["admin"]
    mine = client.post("/v1/tickets", json={"channel": "email", "body": "a"}, headers=mail)
    other = client.post("/v1/tickets", json={"channel": "email", "body": "b"}, headers=admin)
    assert mine.status_code == other.status_code == 201
    mine_id, other_id = mine.json()["id"], other.json()["id"]
    assert mine.json()["inbox"] == "support"
    assert client.get(f"/v1/tickets/{mine_id}", headers=mail).status_code == 200
    hidden = client.get(f"/v1/tickets/{other_id}", headers=mail)
    missing = client.get("/v1/tickets/999999", headers=mail)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].startswith("no ticket T-")
    listed = client.get("/v1/tickets", headers=mail).json()
    assert [t["id"] for t in listed["items"]] == [mine_id] and listed["total"] == 1
    reply = {"body": "me too", "author": "x@example.com"}
    r = client.post(f"/v1/tickets/{other_id}/messages", json=reply, headers=mail)
    assert r.status_code == 404
    # A reference to another inbox's ticket does not join it: a new ticket in this inbox.
    r = client.post(
        "/v1/messages", json={"subject": f"Re: [#T-{other_id}]", "body": "hi"}, headers=mail
    )
    assert r.status_code == 201 and r.json()["ticket"]["id"] not in (mine_id, other_id)


def test_idempotency_keys_are_scoped_per_inbox(keyed, tmp_path: Path) -> None:
    client, headers = keyed
    from triage.keys import create_key as make

    other_key, _ = make(
        Path(client.app.state.settings.api_keys_file), frozenset({"tickets"}), inbox="sales"
    )
    client.app.state.auth.reload()
    sales = {"Authorization": f"Bearer {other_key}", "Idempotency-Key": "k1"}
    support = {**headers["integration"], "Idempotency-Key": "k1"}
    a = client.post("/v1/tickets", json={"channel": "web", "body": "a"}, headers=support)
    b = client.post("/v1/tickets", json={"channel": "web", "body": "b"}, headers=sales)
    again = client.post("/v1/tickets", json={"channel": "web", "body": "a"}, headers=support)
    assert (a.status_code, b.status_code, again.status_code) == (201, 201, 200)
    assert a.json()["id"] != b.json()["id"] and again.json()["id"] == a.json()["id"]
    assert b.json()["body"] == "b"


def test_an_agent_sees_its_teams_tickets(keyed) -> None:
    client, headers = keyed
    agent, admin = headers["agent"], headers["admin"]
    billing = client.post(
        "/v1/tickets", json={"channel": "web", "body": "a", "team": "billing"}, headers=admin
    ).json()
    it = client.post(
        "/v1/tickets", json={"channel": "web", "body": "b", "team": "it"}, headers=admin
    ).json()
    assert client.get(f"/v1/tickets/{billing['id']}", headers=agent).status_code == 200
    assert client.get(f"/v1/tickets/{it['id']}", headers=agent).status_code == 404
    assert client.get(f"/v1/tickets/{it['id']}/audit", headers=agent).status_code == 404
    r = client.patch(f"/v1/tickets/{it['id']}", json={"status": "open"}, headers=agent)
    assert r.status_code == 404
    assert [t["id"] for t in client.get("/v1/tickets", headers=agent).json()["items"]] == [
        billing["id"]
    ]


def test_x_actor_needs_the_act_as_scope(keyed) -> None:
    client, headers = keyed
    admin = headers["admin"]
    t = client.post(
        "/v1/tickets", json={"channel": "web", "body": "a", "team": "billing"}, headers=admin
    ).json()
    r = client.patch(
        f"/v1/tickets/{t['id']}", json={"status": "open"}, headers={**admin, "X-Actor": "eve"}
    )
    assert r.status_code == 200
    audit = client.get(f"/v1/tickets/{t['id']}/audit", headers=admin).json()
    assert audit[-1]["actor"] == "api:ops"
    path = Path(client.app.state.settings.api_keys_file)
    ui, _ = create_key(path, frozenset({"agent", "act-as"}), "ui", teams=frozenset({"billing"}))
    client.app.state.auth.reload()
    r = client.patch(
        f"/v1/tickets/{t['id']}",
        json={"status": "pending"},
        headers={"Authorization": f"Bearer {ui}", "X-Actor": "ada"},
    )
    assert r.status_code == 200
    audit = client.get(f"/v1/tickets/{t['id']}/audit", headers=admin).json()
    assert audit[-1]["actor"] == "agent:ada"


def test_docs_pages_load_local_assets_with_security_headers(keyed) -> None:
    client, _ = keyed
    for page in ("/docs", "/redoc"):
        r = client.get(page)
        assert r.status_code == 200
        assert "cdn." not in r.text and "https://" not in r.text.split("<body")[0]
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert client.get(f"/docs-assets/{asset}").status_code == 200


def test_an_agent_key_sets_presence_only_in_its_team(keyed) -> None:
    client, headers = keyed
    agent, admin = headers["agent"], headers["admin"]  # the agent key is "ada", team billing
    for name, team in (("ada", "it"), ("cy", "billing"), ("bob", "it")):
        r = client.put(
            f"/v1/agents/{name}", json={"id": name, "team": team, "capacity": 2}, headers=admin
        )
        assert r.status_code == 200, r.text
    off = {"online": False}
    # Its own presence (the key is named after the agent) and its team's agents: yes.
    assert client.put("/v1/agents/ada/presence", json=off, headers=agent).status_code == 200
    assert client.put("/v1/agents/cy/presence", json=off, headers=agent).status_code == 200
    # Another team's agent: no, and the agent stays online.
    r = client.put("/v1/agents/bob/presence", json=off, headers=agent)
    assert r.status_code == 403
    assert client.get("/v1/agents/bob", headers=admin).json()["online"] is True
    assert client.put("/v1/agents/bob/presence", json=off, headers=admin).status_code == 200
