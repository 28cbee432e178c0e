"""The console over HTTP (TestClient), on the real app composition with a scripted model:
sign-in and sign-out, CSRF refusals, queues, the ticket page and its forms, the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.triage.conftest import ScriptedTriager
from triage.desk.templates import TemplateStatus
from triage.keys import create_key, revoke_key
from triage.settings import Settings


class Console:
    """A test client with the keys it may sign in with."""

    def __init__(self, client: TestClient, keys: Path, agent: str, admin: str) -> None:
        self.client = client
        self.keys = keys
        self.agent = agent
        self.admin = admin

    def sign_in(self, key: str) -> str:
        """Sign in; the session's CSRF token (read from a page's form)."""
        r = self.client.post(
            "/console/login", data={"key": key, "next": "/console/queue/all"}, follow_redirects=True
        )
        assert r.status_code == 200, r.text
        return csrf_of(r.text)

    def api(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def ticket(self, subject: str, body: str) -> dict:
        r = self.client.post(
            "/v1/tickets",
            json={"channel": "email", "subject": subject, "body": body},
            headers=self.api(self.admin),
        )
        assert r.status_code == 201, r.text
        return r.json()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    from api.app import create_app

    keys = tmp_path / "keys.json"
    agent, _ = create_key(
        keys, frozenset({"agent"}), name="alice", teams=frozenset({"finance", "support"})
    )
    admin, _ = create_key(keys, frozenset({"admin"}), name="boss")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bundle=tmp_path,
        model_alias=None,
        api_keys_file=keys,
        model_watch_interval_s=0,
        desk=True,
        database_url=f"sqlite:///{tmp_path / 'desk.db'}",
        console_secret="test-secret",
    )
    app = create_app(settings, load=lambda path: (None, ScriptedTriager()))
    with TestClient(app) as client:
        yield Console(client, keys, agent, admin)


def test_pages_need_a_session_and_a_valid_key(console: Console) -> None:
    c = console.client
    r = c.get("/console/queue/triage", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/login?next=/console/queue/triage"
    assert c.get("/", follow_redirects=False).headers["location"] == "/console"
    r = c.post("/console/login", data={"key": "tt_nope_nope"})
    assert r.status_code == 401 and "That key is not valid." in r.text
    # A forged cookie is no session.
    c.cookies.set("triage_console", "eyJ4Ijo.0000")
    assert c.get("/console/queue/all", follow_redirects=False).status_code == 303


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_ends_it(console: Console) -> None:
    c = console.client
    r = c.post(
        "/console/login",
        data={"key": console.agent, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert console.agent not in r.headers["set-cookie"]
    page = c.get("/console/queue/all")
    assert page.status_code == 200 and "alice (agent)" in page.text
    # Sign-out without the CSRF token is refused; with it, the session ends.
    assert c.post("/console/logout", data={}).status_code == 403
    r = c.post("/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/console/queue/all", follow_redirects=False).status_code == 303


def test_a_revoked_key_ends_its_sessions(console: Console) -> None:
    console.sign_in(console.agent)
    assert console.client.get("/console/queue/all").status_code == 200
    key_id = console.agent.split("_")[1]
    revoke_key(console.keys, key_id)
    console.client.app.state.auth.reload()  # type: ignore[attr-defined]
    r = console.client.get("/console/queue/all", follow_redirects=False)
    assert r.status_code == 303


def test_admin_role_comes_from_the_admin_scope(console: Console) -> None:
    console.sign_in(console.admin)
    assert "boss (admin)" in console.client.get("/console/queue/all").text


def test_the_human_triage_queue_lists_abstentions_with_their_columns(console: Console) -> None:
    stuck = console.ticket("Printer jams", "the printer on floor 2 jams")  # team abstains
    routed = console.ticket("Refund", "please refund my order")  # confident: routed
    console.sign_in(console.admin)
    page = console.client.get("/console/queue/triage")
    assert page.status_code == 200
    assert stuck["reference"] in page.text and routed["reference"] not in page.text
    assert "Server-Timing" in page.headers
    rows = console.client.get("/console/queue/triage/rows?sort=risk&desc=true")
    assert rows.status_code == 200 and rows.text.lstrip().startswith("<tbody")
    assert stuck["reference"] in rows.text
    everything = console.client.get("/console/queue/all?sort=ticket&desc=true").text
    assert everything.index(routed["reference"]) < everything.index(stuck["reference"])
    assert console.client.get("/console/queue/nope").status_code == 404
    # A saved view: the URL's filters narrow the queue, and its refresh keeps them.
    view = console.client.get("/console/queue/all?priority=high&sort=ticket").text
    assert routed["reference"] in view and stuck["reference"] not in view
    assert "/console/queue/all/rows?sort=ticket&amp;desc=false&amp;priority=high" in view


def test_an_agent_sees_what_its_key_sees_over_the_api(console: Console) -> None:
    stuck = console.ticket("Printer jams", "the printer on floor 2 jams")  # no team yet
    routed = console.ticket("Refund", "please refund my order")  # team finance
    csrf = console.sign_in(console.agent)
    listed = console.client.get("/console/queue/all").text
    assert routed["reference"] in listed and stuck["reference"] not in listed
    assert stuck["reference"] not in console.client.get("/console/queue/triage").text
    assert routed["reference"] in console.client.get("/console/queue/team").text
    assert console.client.get(f"/console/tickets/{stuck['id']}").status_code == 404
    r = console.client.post(
        f"/console/tickets/{stuck['id']}/set",
        data={"csrf": csrf, "field": "team", "value": "finance"},
    )
    assert r.status_code == 404
    # Keys that are not people cannot sign in.
    scorer, _ = create_key(console.keys, frozenset({"triage"}), name="scorer")
    console.client.app.state.auth.reload()  # type: ignore[attr-defined]
    assert console.client.post("/console/login", data={"key": scorer}).status_code == 401


def test_the_ticket_page_shows_predictions_and_abstentions(console: Console) -> None:
    t = console.ticket("Printer jams", "the printer on floor 2 jams")
    console.sign_in(console.admin)
    page = console.client.get(f"/console/tickets/{t['id']}")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert page.status_code == 200
    team_row = re.search(r'<tr class="abstained" id="head-team">', page.text)
    assert team_row, "the abstaining team head is highlighted"
    assert 'id="head-category"' in page.text and "95%" in page.text
    # Legal moves only: a new ticket may go to open, pending or solved, never closed.
    moves = re.findall(r'<option value="(\w+)">', page.text.split('id="status-target"')[1])[:4]
    assert moves[:3] == ["open", "pending", "solved"] and "closed" not in moves


def test_a_correction_posts_through_the_desk_with_the_model_version(console: Console) -> None:
    t = console.ticket("Printer jams", "the printer on floor 2 jams")
    csrf = console.sign_in(console.admin)
    url = f"/console/tickets/{t['id']}/set"
    # Without the session's CSRF token nothing changes.
    refused = console.client.post(url, data={"field": "category", "value": "network"})
    assert refused.status_code == 403
    r = console.client.post(url, data={"csrf": csrf, "field": "category", "value": "network"})
    assert r.status_code == 200  # followed the redirect to the ticket page
    corrections = console.client.get("/v1/corrections", headers=console.api(console.admin)).json()
    assert [
        (c["field"], c["predicted_value"], c["new_value"], c["model_version"]) for c in corrections
    ] == [("category", "hardware", "network", "scripted-1")]
    assert corrections[0]["actor"] == "agent:boss"
    # Routing the team takes the ticket out of the human triage queue.
    console.client.post(url, data={"csrf": csrf, "field": "team", "value": "it"})
    ticket = console.client.get(f"/v1/tickets/{t['id']}", headers=console.api(console.admin))
    assert ticket.json()["team"] == "it" and ticket.json()["triage_state"] == "done"
    bad = console.client.post(url, data={"csrf": csrf, "field": "status", "value": "x"})
    assert bad.status_code == 400


def test_reply_and_status_moves_use_the_desk_rules(console: Console) -> None:
    t = console.ticket("Password", "I forgot my password")
    csrf = console.sign_in(console.agent)
    page = console.client.get(f"/console/tickets/{t['id']}").text
    assert "Forgot password" in page  # the knowledge-base suggestion, not sent
    # Approved templates are suggested too, filled in for this ticket.
    desk = console.client.app.state.desk  # type: ignore[attr-defined]
    desk.mine_templates([(f"Hello, see {t['reference']} for the steps.", "en")] * 3, min_uses=3)
    [proposed] = desk.list_templates()
    reviewed = "Hello, see {ticket} for the steps."
    desk.review_template(proposed.id, TemplateStatus.approved, actor="boss", text=reviewed)
    page = console.client.get(f"/console/tickets/{t['id']}").text
    assert f"template-{proposed.id}" in page and f"see {t['reference']} for the steps" in page
    base = f"/console/tickets/{t['id']}"
    r = console.client.post(f"{base}/reply", data={"csrf": csrf, "body": "Use Forgot password."})
    assert r.status_code == 200 and "Use Forgot password." in r.text
    r = console.client.post(f"{base}/status", data={"csrf": csrf, "status": "closed"})
    assert "cannot move" in r.text  # refused, shown on the page, nothing changed
    r = console.client.post(f"{base}/status", data={"csrf": csrf, "status": "solved"})
    assert '<strong id="status">solved</strong>' in r.text
    audit = console.client.get(
        f"{base}".replace("/console", "/v1") + "/audit", headers=console.api(console.admin)
    ).json()
    assert any(e["actor"] == "agent:alice" for e in audit)


def test_the_dashboard_draws_the_api_figures(console: Console) -> None:
    console.ticket("Printer jams", "the printer on floor 2 jams")
    console.ticket("Refund", "please refund my order")
    console.sign_in(console.agent)
    page = console.client.get("/console/dashboard")
    assert page.status_code == 200
    board = console.client.get("/v1/dashboard", headers=console.api(console.agent)).json()
    backlog = page.text.split('id="backlog"')[1].split("</figure>")[0]
    drawn = dict(re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', backlog))
    assert {k: int(v) for k, v in drawn.items()} == board["open_by_team"]
    # SLA compliance over time: one bar per day with solved tickets.
    csrf = csrf_of(page.text)
    refund = console.client.get("/v1/tickets", headers=console.api(console.admin)).json()
    [routed] = [t for t in refund["items"] if t["team"] == "finance"]
    console.client.post(
        f"/console/tickets/{routed['id']}/status", data={"csrf": csrf, "status": "solved"}
    )
    page = console.client.get("/console/dashboard")
    board = console.client.get("/v1/dashboard", headers=console.api(console.agent)).json()
    days = page.text.split('id="sla-days"')[1].split("</figure>")[0]
    drawn_days = re.findall(r'data-label="([^"]+)" data-value="([^"]+)"', days)
    assert [(d, float(v)) for d, v in drawn_days] == [
        (day["day"][5:], day["compliance_pct"]) for day in board["sla_by_day"]
    ]
    assert len(drawn_days) == 1


def test_ui_strings_are_translated(console: Console) -> None:
    page = console.client.get("/console/login?lang=de")
    assert "Anmelden" in page.text and 'lang="de"' in page.text
    # The choice is remembered over the browser's language.
    remembered = console.client.get("/console/login", headers={"Accept-Language": "ru"})
    assert "Anmelden" in remembered.text
    console.client.cookies.clear()
    assert "Войти" in console.client.get("/console/login", headers={"Accept-Language": "ru"}).text
    assert "Zaloguj" in console.client.get("/console/login?lang=pl").text


def test_bad_form_values_are_refused_never_a_500(console: Console) -> None:
    t = console.ticket("Printer jams", "the printer on floor 2 jams")
    csrf = console.sign_in(console.admin)
    base = f"/console/tickets/{t['id']}"
    for path, data in (
        ("set", {"field": "category", "value": "x" * 300}),  # longer than the column
        ("set", {"field": "team", "value": "it\x00"}),
        ("reply", {"body": "hello\x00there"}),
        ("status", {"status": "x" * 100}),
    ):
        r = console.client.post(f"{base}/{path}", data={"csrf": csrf, **data})
        assert r.status_code < 500, (path, data, r.status_code)
    ticket = console.client.get(f"/v1/tickets/{t['id']}", headers=console.api(console.admin))
    assert ticket.json()["category"] != "x" * 300 and ticket.json()["team"] != "it\x00"
    for key in ("tt_\x00", "k" * 100_000, ""):
        r = console.client.post("/console/login", data={"key": key, "next": "/console"})
        assert 400 <= r.status_code < 500, (key[:10], r.status_code)
    r = console.client.post(f"{base}/nope", data={"csrf": csrf})
    assert r.status_code in (404, 405)
    r = console.client.post("/console/tickets/99999999999999999999/status", data={"csrf": csrf})
    assert 400 <= r.status_code < 500
