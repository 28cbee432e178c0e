"""Live quality per model version and head, from a real desk's records (SQLite and
PostgreSQL): acceptance, realized precision, abstention, auto-reply outcomes; in the
dashboard and as Prometheus gauges."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from api.errors import install_error_handlers
from api.health_metrics import ModelHealthCollector
from api.routes import tickets
from api.security import Authenticator
from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges
from triage.health.drift import Reference, compare

AGENT = "agent:alice"


def _ticket(body: str) -> NewTicket:
    return NewTicket(channel=Channel.email, subject="help", body=body, requester="c@example.com")


def _seed(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    """Six tickets under scripted-1, one under scripted-2 (see the asserts)."""
    corrected = desk.intake(_ticket("refund please")).ticket
    solved = desk.intake(_ticket("a refund")).ticket
    desk.intake(_ticket("refund, still open"))
    desk.intake(_ticket("the printer jams"))  # team abstains
    password = desk.intake(_ticket("forgot my password")).ticket  # auto-reply
    desk.intake(_ticket("hello there"))  # every head abstains
    desk.update(corrected.id, TicketChanges(category="account"), actor=AGENT)
    desk.update(solved.id, TicketChanges(status=Status.solved), actor=AGENT)
    desk.answer_auto_reply(password.id, True, actor="customer:c")
    triager.model_version = "scripted-2"
    later = desk.intake(_ticket("refund again")).ticket
    desk.update(later.id, TicketChanges(team="support", status=Status.solved), actor=AGENT)


def test_quality_per_version_and_head(desk: Desk, triager) -> None:  # type: ignore[no-untyped-def]
    _seed(desk, triager)
    health = desk.model_health()
    assert [v.model_version for v in health.versions] == ["scripted-1", "scripted-2"]
    first, second = health.versions
    assert first.scored == 6
    heads = {h.head: h for h in first.heads}
    # The scripted model has no subcategory or assignee head: they are not reported.
    assert set(heads) == {"category", "priority", "team"}
    category = heads["category"]
    assert (category.answered, category.abstained, category.corrected) == (5, 1, 1)
    assert category.acceptance_rate == 0.8
    # Labelled: the corrected ticket, the solved one, the auto-replied one (solved).
    assert (category.labelled, category.correct) == (3, 2)
    assert category.realized_precision == round(2 / 3, 4)
    team = heads["team"]
    assert (team.answered, team.abstained) == (4, 2)
    assert team.abstention_rate == round(2 / 6, 4)
    assert team.acceptance_rate == 1.0 and team.realized_precision == 1.0
    assert (first.auto_replies_sent, first.auto_replies_resolved) == (1, 1)
    assert first.auto_reply_resolution_rate == 1.0
    team2 = {h.head: h for h in second.heads}["team"]
    assert (team2.answered, team2.corrected, team2.realized_precision) == (1, 1, 0.0)
    assert second.auto_reply_resolution_rate is None


def test_since_keeps_a_recent_window(desk: Desk, triager, clock) -> None:  # type: ignore[no-untyped-def]
    desk.intake(_ticket("refund please"))
    clock.advance(hours=1)
    start = clock.now
    desk.intake(_ticket("hello there"))
    (version,) = desk.model_health(since=start).versions
    category = {h.head: h for h in version.heads}["category"]
    assert (version.scored, category.answered, category.abstained) == (1, 0, 1)


def test_dashboard_and_metrics_show_model_health(  # type: ignore[no-untyped-def]
    desk: Desk, triager, tmp_path: Path
) -> None:
    _seed(desk, triager)
    app = FastAPI()
    app.state.auth = Authenticator(tmp_path / "keys.json", enabled=False)
    app.state.desk = desk
    install_error_handlers(app)
    app.include_router(tickets.router)
    with TestClient(app) as client:
        health = client.get("/v1/dashboard").json()["model_health"]
    versions = {v["model_version"]: v for v in health["versions"]}
    category = {h["head"]: h for h in versions["scripted-1"]["heads"]}["category"]
    assert category["acceptance_rate"] == 0.8

    reference = Reference(
        model_version="scripted-2",
        size=10,
        heads=["category"],
        primary="category",
        extras={},
        counts={"field.channel": {"web": 10}},
    )
    report = compare(
        reference,
        [{"field.channel": "email"}] * 5,
        warn=0.1,
        alert=0.25,
        model_version="scripted-2",
    )
    registry = CollectorRegistry()
    registry.register(ModelHealthCollector(desk.model_health, lambda: report))
    text = generate_latest(registry).decode()
    assert 'triage_model_acceptance_rate{head="category",version="scripted-1"} 0.8' in text
    assert 'triage_model_realized_precision{head="team",version="scripted-2"} 0.0' in text
    assert 'triage_model_labelled_predictions{head="category",version="scripted-1"} 3.0' in text
    assert 'triage_auto_reply_resolution_rate{version="scripted-1"} 1.0' in text
    psi = report.signals[0].psi
    assert f'triage_drift_psi{{signal="field.channel",version="scripted-2"}} {psi}' in text
