"""`triage train --db` and `triage data export-desk` through the real entry point, on SQLite
and PostgreSQL.

The store is filled through the real `Desk` API from demo tickets: a triager with one
fixed answer (category Billing, team billing, priority abstained: routed on a fallback
priority) scores every ticket; agents set two tickets in three to the history's labels
(corrections and confirmed priorities), and solve half of those, some a week late, with
the history's reply. The export must hold exactly those labels; the bundle trained on it
must have the heads they support.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.conftest import run_cli
from triage.contract import Channel, EscalationPrediction, HeadPrediction, TriageResult
from triage.dataset import iter_tickets
from triage.desk import Desk, Direction, NewMessage, NewTicket, Status, TicketChanges
from triage.registry import ModelRegistry
from triage.replay import MovableClock, intake_of
from triage.settings import get_settings

TICKETS = 240
MODEL_ANSWERS = {"category": "Billing", "team": "billing"}


class FixedTriager:
    """Always the same confident category and team; the priority head abstains."""

    model_version = "fixed-1"

    def triage(self, ticket):  # type: ignore[no-untyped-def]
        def head(label: str | None) -> HeadPrediction:
            return HeadPrediction(
                label=label, confidence=0.9 if label else 0.3, abstained=not label
            )

        return TriageResult(
            ticket_id=ticket.id,
            category=head(MODEL_ANSWERS["category"]),
            priority=head(None),
            team=head(MODEL_ANSWERS["team"]),
            escalation=EscalationPrediction(label=None, confidence=0.8, abstained=False, risk=0.2),
            model_version=self.model_version,
            timing_ms=1.0,
        )

    def triage_batch(self, tickets):  # type: ignore[no-untyped-def]
        return [self.triage(t) for t in tickets]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Registry, MLflow store and embedding cache of the CLI's settings, under tmp_path."""
    monkeypatch.setenv("TRIAGE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TRIAGE_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("TRIAGE_EMBEDDING_CACHE_DIR", str(tmp_path / "embeddings"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def fill_store(engine: Engine, demo_tickets_file: Path, n: int) -> dict[str, dict]:
    """Work `n` demo tickets through the desk; returns the labels each exported ticket
    must carry, by reference."""
    history = list(iter_tickets(demo_tickets_file))[:n]
    clock = MovableClock(history[0].created_at)
    desk = Desk(engine, FixedTriager(), clock=clock)
    expected: dict[str, dict] = {}
    late: list[tuple[str, object]] = []
    for i, source in enumerate(history):
        clock.now = max(clock.now, source.created_at)
        new = intake_of(source)
        ref = desk.intake(new).ticket.reference
        if i % 3 == 2:
            continue  # nobody looked at it: only the model's answers and a fallback priority
        actor = f"agent:{source.assignee}"
        decided = {f: getattr(source, f) for f in ("category", "subcategory", "priority", "team")}
        desk.update(ref, TicketChanges(**decided), actor=actor)
        # Sending the value a field already has changes nothing, so the desk records
        # nothing: the model's own answer is not confirmed that way (a fallback priority is).
        expected[ref] = {f: v for f, v in decided.items() if v != MODEL_ANSWERS.get(f)}
        if i % 3 == 0:
            if i % 6 == 0:
                _answer_and_solve(desk, ref, source.agent_answer, actor)
                expected[ref] |= {"sla_breached": False, "agent_answer": source.agent_answer}
            else:
                late.append((ref, source))
    clock.now += timedelta(days=10)  # past every resolution target
    for ref, source in late:
        _answer_and_solve(desk, ref, source.agent_answer, f"agent:{source.assignee}")
        expected[ref] |= {"sla_breached": True, "agent_answer": source.agent_answer}
    return expected


def _answer_and_solve(desk: Desk, ref: str, answer: str | None, actor: str) -> None:
    if answer:
        message = NewMessage(direction=Direction.outbound, author=actor, body=answer)
        desk.add_message(ref, message, actor=actor)
    desk.update(ref, TicketChanges(status=Status.solved), actor=actor)


@pytest.mark.slow
def test_train_on_the_store_exports_confirmed_labels_and_writes_a_bundle(
    engine: Engine,
    database_url: str,
    demo_tickets_file: Path,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    expected = fill_store(engine, demo_tickets_file, TICKETS)
    assert len(expected) == TICKETS * 2 // 3

    # The export a data scientist inspects first.
    export = workspace / "desk.parquet"
    code, out, err = run_cli(
        monkeypatch, capsys, "data", "export-desk", "--out", export, "--database-url", database_url
    )
    assert code == 0, err
    assert f"wrote {len(expected)} of {TICKETS} tickets" in out
    assert f"skipped {TICKETS - len(expected)}: {TICKETS - len(expected)} whose labels" in out
    exported = {t.id: t for t in iter_tickets(export)}
    fields = ("category", "subcategory", "priority", "team", "assignee", "escalated",
              "sla_breached", "agent_answer")  # fmt: skip
    got = {
        ref: {f: getattr(t, f) for f in fields if getattr(t, f) is not None}
        for ref, t in exported.items()
    }
    want = {
        ref: {f: v for f, v in labels.items() if v is not None} for ref, labels in expected.items()
    }
    assert got == want  # the model's Billing/billing and its fallback priorities never appear

    code, out, err = run_cli(monkeypatch, capsys, "data", "stats", export, "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["rows"] == len(expected)
    assert stats["labels"]["priority"]["missing"] == 0

    code, out, err = run_cli(monkeypatch, capsys, "data", "export-desk", "--out",
                             workspace / "again.parquet", "--database-url", database_url,
                             "--json")  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)

    def count(field: str) -> int:
        return sum(labels.get(field) is not None for labels in expected.values())

    assert summary["labels"] == {f: count(f) for f in summary["labels"]}
    assert summary["labels"]["priority"] == len(expected) and summary["labels"]["assignee"] == 0
    assert 0 < summary["labels"]["category"] < len(expected)
    unconfirmed = TICKETS - len(expected)
    assert summary["withheld"]["priority"] == unconfirmed
    assert summary["withheld_by_source"]["fallback priority"] == unconfirmed
    assert summary["breached"] == sum(bool(v.get("sla_breached")) for v in expected.values())

    # Training on the store: the same export beside the bundle, then the usual run.
    bundle = workspace / "models" / "desk"
    code, out, err = run_cli(monkeypatch, capsys, "train", "--db", "--database-url", database_url,
                             "--out", bundle, "--encoder", "none")  # fmt: skip
    assert code == 0, err
    assert f"wrote {len(expected)} of {TICKETS} tickets" in out
    assert f"bundle written to {bundle}" in out
    trained_on = bundle.with_name("desk.desk.parquet")
    assert {t.id for t in iter_tickets(trained_on)} == set(expected)
    manifest = json.loads((bundle / "manifest.json").read_text())
    heads = {head["name"]: head["field"] for head in manifest["heads"]}
    assert heads == {"category": "category", "subcategory": "subcategory", "priority": "priority",
                     "team": "team", "escalation": "sla_breached"}  # fmt: skip
    versions = ModelRegistry(workspace / "models").list_versions()
    assert [v.version for v in versions] == [manifest["model_version"]]


def test_a_store_with_too_few_labels_says_so_and_exits_2(
    engine: Engine,
    database_url: str,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    bundle = workspace / "models" / "desk"
    code, out, err = run_cli(monkeypatch, capsys, "train", "--db", "--database-url", database_url,
                             "--out", bundle, "--encoder", "none")  # fmt: skip
    assert code == 2
    assert "wrote 0 of 0 tickets" in out
    assert "error:" in err and "no usable labels" in err and "Traceback" not in err

    desk = Desk(engine, FixedTriager())
    for i in range(5):
        ticket = desk.intake(NewTicket(channel=Channel.web, subject=f"Refund {i}")).ticket
        desk.update(ticket.id, TicketChanges(category="Payments"), actor="agent:ann")
    code, out, err = run_cli(monkeypatch, capsys, "train", "--db", "--database-url", database_url,
                             "--out", bundle, "--encoder", "none")  # fmt: skip
    assert code == 2
    assert "wrote 5 of 5 tickets" in out
    assert "desk.desk.parquet: no usable labels: need at least 30 tickets" in " ".join(err.split())
    assert not (bundle / "manifest.json").exists()


def test_usage_errors_name_the_options(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = workspace / "models" / "x"
    source = "Invalid value for --data / --db: give exactly one source"
    cases = [
        ([], source),
        (["--db", "--data", workspace / "t.parquet"], source),
        (["--data", "t.parquet", "--database-url", "sqlite:///x.db"], "goes with --db"),
    ]
    for args, message in cases:
        code, _, err = run_cli(monkeypatch, capsys, "train", *args, "--out", out)
        assert code == 2 and message in " ".join(err.replace("│", " ").split()), err
    assert not out.exists()

    missing = workspace / "nope.db"
    target = workspace / "e.parquet"
    url = f"sqlite:///{missing}"
    code, _, err = run_cli(
        monkeypatch, capsys, "data", "export-desk", "--out", target, "--database-url", url
    )
    assert code == 2 and "no such database file" in err and not missing.exists()
    assert not target.exists()
