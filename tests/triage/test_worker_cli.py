"""`triage worker --once --now ...` and `triage db upgrade` against both databases."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
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
    # A missed first reply is marked (and notified), not escalated.
    assert (report["breached"], report["escalated"]) == (1, 0)
    # The resolution (due Monday 17:00) missed for half its 8 business hours: escalated.
    later = runner.invoke(
        app, ["worker", "--once", "--now", "2026-01-06T13:00:00Z", "--database-url", database_url]
    )
    assert later.exit_code == 0, later.output
    report = json.loads(later.stdout.strip().splitlines()[-1])
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


@pytest.mark.slow
def test_two_worker_processes_at_once_escalate_each_ticket_once(
    desk: Desk, database_url: str
) -> None:
    ids = [
        desk.intake(NewTicket(channel=Channel.web, subject="Refund", body=f"refund {i}")).ticket.id
        for i in range(12)
    ]
    command = [
        sys.executable,
        "-m",
        "triage_cli.main",
        "worker",
        "--once",
        "--batch",
        "2",
        "--now",
        "2026-01-07T12:00:00Z",
        "--database-url",
        database_url,
    ]
    procs = [
        subprocess.Popen(
            [*command, "--name", f"w{i}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    escalated = [e for i in ids for e in desk.audit(i) if e.action == "escalated"]
    # Each process takes at most --batch 2 tickets per job: whether the two passes
    # overlap (SKIP LOCKED / the SQLite write lock) or not, the oldest 4 tickets are
    # escalated exactly once each.
    assert sorted(e.ticket_id for e in escalated) == ids[:4]
    assert {e.actor for e in escalated} <= {"system:w0", "system:w1"}
