"""`triage replies templates`: mine, list, approve (with a reviewed text) and retire."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from triage.contract import Channel, Ticket
from triage.dataset import write_tickets
from triage.settings import get_settings

REFUND = "Hi {name},\n\nThe second charge of ${amount} was refunded.\n\nBest regards,\nTom"
LINK = "Hello {name},\n\nYou can download every invoice under Settings > Billing.\n\nBest,\nAnn"


def _history(path: Path) -> Path:
    tickets = [
        Ticket(
            id=f"h-{i}",
            channel=Channel.email,
            subject="Billing",
            body="question",
            language="en",
            agent_answer=(REFUND if i % 2 else LINK).format(name=name, amount=amount),
            kb_article_id="KB-1" if i == 0 else None,
        )
        for i, (name, amount) in enumerate(
            [
                ("Ann", "9.99"),
                ("Bo", "19.99"),
                ("Cy", "5"),
                ("Di", "49.00"),
                ("Ed", "1"),
                ("Fi", "2"),
            ]
        )
    ]
    write_tickets(path, tickets)
    return path


def test_mine_list_approve_retire(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'desk.db'}")
    get_settings.cache_clear()
    try:
        data = _history(tmp_path / "history.parquet")
        code, out, _ = run_cli(monkeypatch, capsys, "replies", "templates", "mine", data)
        # Six replies, one quoting a KB article (not a template): two wordings, each 2-3x.
        assert code == 0 and "5 past replies: 1 recurring templates, 1 new proposals" in out
        code, out, _ = run_cli(
            monkeypatch, capsys, "replies", "templates", "mine", data, "--min-uses", "2"
        )
        assert code == 0 and "2 recurring templates, 1 new proposals, 1 already known" in out

        code, out, _ = run_cli(monkeypatch, capsys, "replies", "templates", "list")
        rows = {line.split()[0]: line for line in out.splitlines()}
        refund = next(i for i, line in rows.items() if "[amount]" in line)
        link = next(i for i in rows if i != refund)
        assert "proposed" in rows[refund] and "$" not in rows[refund] and "Tom" not in out

        # A template holding another customer's amount cannot be approved as mined.
        code, _, err = run_cli(monkeypatch, capsys, "replies", "templates", "approve", refund)
        assert code == 2 and "amount" in err
        reviewed = tmp_path / "reviewed.txt"
        reviewed.write_text("Refunds reach your card within 5 business days.", encoding="utf-8")
        code, out, _ = run_cli(
            monkeypatch,
            capsys,
            "replies",
            "templates",
            "approve",
            refund,
            "--text-file",
            reviewed,
            "--actor",
            "admin:lea",
        )
        assert code == 0 and f"template {refund} approved by admin:lea" in out
        code, out, _ = run_cli(monkeypatch, capsys, "replies", "templates", "retire", link)
        assert code == 0
        code, out, _ = run_cli(
            monkeypatch, capsys, "replies", "templates", "list", "--status", "approved"
        )
        assert out.split()[0] == refund and "5 business days" in out
        code, _, err = run_cli(
            monkeypatch, capsys, "replies", "templates", "list", "--status", "nope"
        )
        assert code == 2 and "--status" in err
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("command", ["approve", "retire"])
def test_unknown_template_exits_2(tmp_path: Path, monkeypatch, capsys, command: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRIAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'desk.db'}")
    get_settings.cache_clear()
    try:
        code, _, err = run_cli(monkeypatch, capsys, "replies", "templates", command, "42")
        assert code == 2 and "no template 42" in err
    finally:
        get_settings.cache_clear()
