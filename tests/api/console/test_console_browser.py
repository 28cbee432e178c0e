"""The console in a real browser: headless Debian Chromium (Playwright pointed at
/usr/bin/chromium, never a downloaded browser) against a real uvicorn server serving
a bundle trained on the demo desk.

The path an agent walks: sign in, open the human triage queue, accept one prediction,
correct one category (the correction reaches `GET /v1/corrections` with the model
version), reply with a suggested knowledge-base answer, solve the ticket, and read the
dashboard's figures, which must equal `GET /v1/dashboard`.

Screenshots go to a temporary folder, or to `$TRIAGE_CONSOLE_SCREENSHOTS` (the docs'
screenshots: `TRIAGE_CONSOLE_SCREENSHOTS=docs/console pytest tests/api/console -m slow`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiKeys, LiveServer, serve_settings, start_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium: install Debian's chromium (scripts/setup.sh does, as root)",
)


@pytest.fixture(scope="module")
def console_server(
    demo_bundle: Path, demo_tickets_file: Path, api_keys: ApiKeys, tmp_path_factory
) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("console") / "desk.db"
    settings = serve_settings(
        demo_bundle,
        api_keys,
        desk=True,
        database_url=f"sqlite:///{db}",
        console_secret="browser-test",
        console_refresh_s=1,
    )
    server = start_server(settings)
    yield server
    server.stop()


def _load_desk(server: LiveServer, keys: ApiKeys, demo: Path) -> dict[str, Any]:
    """Agents and tickets from the demo desk; returns the stuck ticket and a KB one."""
    import pyarrow.parquet as pq

    headers = keys.header(keys.both)
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as api:
        for agent, team in (("root", "billing"), ("anna", "logistics")):
            api.put(f"/v1/teams/{team}", json={}).raise_for_status()
            spec = {"id": agent, "team": team, "capacity": 5}
            api.put(f"/v1/agents/{agent}", json=spec).raise_for_status()
        rows = pq.read_table(demo).to_pylist()[-40:]
        for row in rows:
            body = {"channel": row["channel"], "subject": row["subject"], "body": row["body"]}
            api.post("/v1/tickets", json=body).raise_for_status()
        for text in ("hello", "???", "asdf qwerty zxcv"):
            api.post("/v1/tickets", json={"channel": "web", "body": text}).raise_for_status()
        stuck = api.get("/v1/tickets", params={"triage_state": "needs_human"}).json()
        assert stuck["total"] > 0, "the demo model abstained on nothing"
        kb = pq.read_table(demo.with_suffix(".kb.parquet")).to_pylist()[0]
        ticket = api.post(
            "/v1/tickets",
            json={"channel": "email", "subject": kb["title"], "body": kb["title"]},
        ).json()
        return {"stuck": stuck["items"], "kb_ticket": ticket}


def test_an_agent_works_a_ticket_in_the_browser(
    console_server: LiveServer, api_keys: ApiKeys, demo_tickets_file: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("TRIAGE_CONSOLE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    loaded = _load_desk(console_server, api_keys, demo_tickets_file)
    api = httpx.Client(
        base_url=console_server.url, headers=api_keys.header(api_keys.both), timeout=60
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # Sign in: the sign-in form, then the human triage queue.
        page.goto(f"{console_server.url}/console")
        assert "/console/login" in page.url
        page.get_by_label("API key").fill(api_keys.both)
        page.screenshot(path=str(shots / "sign-in.png"))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/queue/triage")
        refs = page.locator("#rows tr[data-ticket]").evaluate_all(
            "rows => rows.map(r => r.dataset.ticket)"
        )
        assert set(refs) == {t["reference"] for t in loaded["stuck"]}
        page.screenshot(path=str(shots / "queue.png"), full_page=True)

        # Keyboard: j selects the first row, Enter opens it.
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        page.wait_for_url("**/console/tickets/*")
        ticket_id = int(page.url.rsplit("/", 1)[1])
        assert page.locator("tr.abstained").count() > 0
        page.screenshot(path=str(shots / "ticket.png"), full_page=True)

        # Accept one prediction with the keyboard (`a` clicks the first Accept).
        first = page.locator("button.accept").first
        field = first.get_attribute("data-field")
        value = page.locator(f"#head-{field} input[name=value][type=hidden]").get_attribute("value")
        with page.expect_navigation():
            page.keyboard.press("a")
        assert api.get(f"/v1/tickets/{ticket_id}").json()[field] == value

        # Correct the category to one the model did not say.
        ticket = api.get(f"/v1/tickets/{ticket_id}").json()
        version = ticket["model_version"]
        kb_category = "Billing" if ticket["category"] != "Billing" else "Technical Support"
        page.get_by_label("New value (Category)").fill(kb_category)
        with page.expect_navigation():
            page.locator("#change-category").click()
        corrections = api.get("/v1/corrections").json()
        assert any(
            c["ticket_id"] == ticket_id
            and c["field"] == "category"
            and c["new_value"] == kb_category
            and c["model_version"] == version
            and c["actor"] == "agent:root"
            for c in corrections
        ), corrections

        # Reply with the suggested knowledge-base answer on a ticket that has one.
        kb_ticket = loaded["kb_ticket"]
        page.goto(f"{console_server.url}/console/tickets/{kb_ticket['id']}")
        suggestion = page.locator("li", has=page.locator(".badge", has_text="kb")).first
        text = suggestion.locator("pre.suggestion").text_content() or ""
        assert text.strip()
        sent_before = len(api.get(f"/v1/tickets/{kb_ticket['id']}").json()["messages"])
        suggestion.get_by_role("button", name="Use this reply").click()
        assert page.get_by_label("Reply", exact=True).input_value() == text
        # Filling the box sends nothing: the agent sends.
        thread = api.get(f"/v1/tickets/{kb_ticket['id']}").json()["messages"]
        assert len(thread) == sent_before
        with page.expect_navigation():
            page.locator("#send-reply").click()
        messages = api.get(f"/v1/tickets/{kb_ticket['id']}").json()["messages"]
        last = messages[-1]
        assert (last["direction"], last["author"], last["body"]) == (
            "outbound",
            "root",
            text.strip(),
        )

        # Solve it: only the legal moves are offered.
        page.get_by_label("Move to").select_option("solved")
        with page.expect_navigation():
            page.locator("#move-status").click()
        assert page.locator("#status").text_content() == "solved"
        assert api.get(f"/v1/tickets/{kb_ticket['id']}").json()["status"] == "solved"
        page.screenshot(path=str(shots / "ticket-solved.png"), full_page=True)

        # The dashboard draws the API's figures.
        page.goto(f"{console_server.url}/console/dashboard")
        board = api.get("/v1/dashboard").json()
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
        drawn = page.locator("figure.chart").evaluate_all(
            """figs => Object.fromEntries(figs.map(f => [f.id,
                 Array.from(f.querySelectorAll('rect.bar')).map(
                   b => [b.dataset.label, Number(b.dataset.value)])]))"""
        )
        assert dict(drawn["backlog"]) == board["open_by_team"]
        assert drawn["sla"][0][1] == (board["sla_compliance_pct"] or 0)
        assert drawn["sla-days"] == [
            [d["day"][5:], d["compliance_pct"]] for d in board["sla_by_day"]
        ]
        assert drawn["sla-days"], "the ticket solved above is on today's bar"
        assert drawn["breached"][0][1] == board["breached_open"]
        assert dict(drawn["load"]) == {a["id"]: a["load"] for a in board["agents"]}
        assert [v for _, v in drawn["autoreply"]] == [
            board["auto_replies_sent"],
            board["auto_replies_resolved"],
            board["auto_replies_reopened"],
            board["auto_replies_no_answer"],
        ]
        assert [v for _, v in drawn["csat"]] == [
            board["csat_sent"],
            board["csat_answered"],
            board["csat_average"] or 0,
            board["csat_followups"],
        ]
        rates = {
            f"{v['model_version']} · {h['head']}": round(100 * h["acceptance_rate"], 2)
            for v in board["model_health"]["versions"]
            for h in v["heads"]
            if h["acceptance_rate"] is not None
        }
        assert dict(drawn["acceptance"]) == rates and rates
        assert page.locator("#fig-breached").text_content() == str(board["breached_open"])

        # Live refresh: a new ticket shows up in an open queue without a reload.
        page.goto(f"{console_server.url}/console/queue/all")
        before = int(page.locator("#total").text_content() or "0")
        new = api.post("/v1/tickets", json={"channel": "chat", "body": "my invoice is wrong"})
        # Polled from here: the page's policy forbids the eval that wait_for_function uses.
        deadline = time.monotonic() + 15
        while page.locator("#total").text_content() != str(before + 1):
            assert time.monotonic() < deadline, "the queue did not refresh itself"
            page.wait_for_timeout(200)
        assert page.locator(f"#rows tr[data-ticket='{new.json()['reference']}']").count() == 1
        browser.close()
    api.close()
