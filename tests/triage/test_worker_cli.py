"""`triage worker --once --now ...` and `triage db upgrade` against both databases."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from triage.contract import Channel
from triage.desk import Desk, NewTicket, Status
from triage.store import current_revision, head_revision
from triage_cli.main import app

runner = CliRunner()
HEAD = head_revision()


def test_worker_once_moves_time_with_now(desk: Desk, database_url: str) -> None:
    t = desk.intake(NewTicket(channel=Channel.email, subject="Refund", body="refund me")).ticket
    assert t.first_response_due_at is not None and t.first_response_due_at.hour == 13

    early = runner.invoke(
        app, ["worker", "--once", "--now", "2026-01-05T12:00:00Z", "--database-url", database_url]
    )
    assert early.exit_code == 0, early.output
    first = json.loads(early.stdout.strip().splitlines()[-1])
    assert first["escalated"] == 0 and first["now"] == "2026-01-05T12:00:00+00:00"

    late = runner.invoke(
        app, ["worker", "--once", "--now", "2026-01-05T13:00:00Z", "--database-url", database_url]
    )
    assert late.exit_code == 0, late.output
    report = json.loads(late.stdout.strip().splitlines()[-1])
    assert report["escalated"] == 1 and report["tickets"]["escalated"] == [t.reference]
    got = desk.get(t.id)
    assert got.tier == 2 and got.status is Status.new
    [entry] = [e for e in desk.audit(t.id) if e.action == "escalated"]
    assert entry.actor == "system:worker"


def test_worker_rejects_a_bad_now(database_url: str) -> None:
    result = runner.invoke(
        app, ["worker", "--once", "--now", "yesterday", "--database-url", database_url]
    )
    assert result.exit_code == 2
    assert "--now 'yesterday'" in result.output


def test_db_upgrade_creates_the_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert f"revision {HEAD}" in result.stdout
    assert current_revision(url) == HEAD
