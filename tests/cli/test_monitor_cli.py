"""`triage monitor`, `triage models promote --to challenger` and `triage models compare`
through the real entry point, on a desk store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.triage.conftest import FakeClock, ScriptedTriager
from tests.triage.test_registry import write_bundle
from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status, TicketChanges
from triage.health.drift import Reference, write_reference
from triage.health.shadow import ShadowScorer
from triage.registry import ModelRegistry


class Challenger(ScriptedTriager):
    """Answers "payments" where the champion answers "billing"."""

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        result = super().triage(ticket)
        result.model_version = "v2"
        if result.category is not None and result.category.label == "billing":
            result.category = result.category.model_copy(update={"label": "payments"})
        return result


@pytest.fixture
def store(engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A desk whose champion (v1) scored 30 tickets, 20 of them also shadowed by v2;
    people said "payments" on the shadowed refunds. Returns (database URL, models dir)."""
    champion = ScriptedTriager()
    champion.model_version = "v1"
    desk = Desk(engine, champion, clock=FakeClock())
    for i in range(10):
        desk.intake(NewTicket(channel=Channel.email, subject="s", body=f"refund {i}"))
    scorer = ShadowScorer(Challenger(), desk.sessions, desk.clock)
    desk.shadow = scorer
    for i in range(20):
        t = desk.intake(NewTicket(channel=Channel.web, subject="s", body=f"refund {i}")).ticket
        desk.update(t.id, TicketChanges(category="payments", status=Status.solved), actor="agent:a")
    scorer.drain()
    scorer.close()
    models = tmp_path / "models"
    registry = ModelRegistry(models)
    for version in ("v1", "v2"):
        registry.register(write_bundle(models, version, category=0.8, priority=0.5))
    registry.promote("v1")
    write_reference(
        models / "v1",
        Reference(
            model_version="v1",
            size=100,
            heads=["category"],
            primary="category",
            extras={},
            counts={
                "predicted.category": {"billing": 100},
                "field.channel": {"email": 100},
            },
        ),
    )
    return engine.url.render_as_string(hide_password=False), models


def test_monitor_prints_quality_and_drift_and_writes_the_page(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, store, tmp_path: Path
) -> None:
    url, models = store
    page = tmp_path / "monitor.html"
    args = ["monitor", "--db", url, "--model", "champion", "--models-dir", models]
    code, out, err = run_cli(monkeypatch, capsys, *args, "--window", 30, "--html", page)
    assert code == 0, err
    assert "live quality" in out and "category" in out
    assert "field.channel" in out and "alert" in out  # 20 of 30 from the web: shifted
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html and "field.channel" in html

    code, out, _ = run_cli(monkeypatch, capsys, *args, "--window", 30, "--html", "", "--json")
    body = json.loads(out)
    category = body["quality"]["versions"][0]["heads"][0]
    assert (category["head"], category["labelled"], category["realized_precision"]) == (
        "category",
        20,
        0.0,
    )
    assert not body["drifted"]  # one signal at alert; two make the model drifted
    code, _, _ = run_cli(
        monkeypatch, capsys, *args, "--window", 30, "--html", "", "--fail-on-drift"
    )
    assert code == 0


def test_promote_to_challenger_and_compare(monkeypatch, capsys, store) -> None:  # type: ignore[no-untyped-def]
    url, models = store
    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "promote", "v2", "--to", "challenger", "--models-dir", models
    )
    assert code == 0 and "challenger: (none) -> v2" in out
    assert ModelRegistry(models).current("champion") == "v1"
    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "compare", "--db", url, "--models-dir", models, "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert (result["champion"], result["challenger"], result["shadowed"]) == ("v1", "v2", 20)
    assert result["champion_accuracy"]["value"] == 0.0
    assert result["challenger_accuracy"]["value"] == 1.0
    assert result["difference"]["low"] > 0.9

    code, out, _ = run_cli(
        monkeypatch, capsys, "models", "compare", "--db", url, "--models-dir", models
    )
    assert "challenger accuracy: 100.0%" in out


def test_promotion_waits_for_the_shadow_sample(monkeypatch, capsys, store) -> None:  # type: ignore[no-untyped-def]
    from triage.settings import get_settings

    url, models = store
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    monkeypatch.setenv("TRIAGE_SHADOW_MIN_TICKETS", "50")
    get_settings.cache_clear()
    try:
        code, _, err = run_cli(
            monkeypatch, capsys, "models", "promote", "v2", "--models-dir", models
        )
        assert code == 2 and "only 20 labelled tickets" in err
        monkeypatch.setenv("TRIAGE_SHADOW_MIN_TICKETS", "20")
        get_settings.cache_clear()
        code, out, err = run_cli(
            monkeypatch, capsys, "models", "promote", "v2", "--models-dir", models
        )
        assert code == 0, err
        assert ModelRegistry(models).current("champion") == "v2"
    finally:
        get_settings.cache_clear()
