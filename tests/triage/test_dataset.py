from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.contract import KBArticle, Ticket
from triage.dataset import (
    TicketWriter,
    iter_articles,
    iter_tickets,
    kb_path_for,
    write_articles,
    write_tickets,
)


def test_tickets_round_trip_through_parquet(tmp_path: Path) -> None:
    tickets = [
        Ticket(
            id=f"T-{i}",
            created_at=datetime(2026, 1, 1, i, tzinfo=UTC),
            channel="chat",
            subject=f"subject {i}",
            body="body",
            tags=["a", "b"],
            category="Access",
            escalated=bool(i % 2),
            extra={"impact": i, "vip": True},
        )
        for i in range(5)
    ]
    out = tmp_path / "t.parquet"
    assert write_tickets(out, tickets) == 5
    assert list(iter_tickets(out)) == tickets


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    with pytest.raises(RuntimeError), TicketWriter(out, batch_rows=2) as writer:
        for i in range(5):
            writer.write(Ticket(id=str(i), body="x"))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_articles_live_beside_tickets(tmp_path: Path) -> None:
    kb = kb_path_for(tmp_path / "rutube.parquet")
    assert kb.name == "rutube.kb.parquet"
    articles = [KBArticle(id="1", title="How?", body="Like this.", category="Video")]
    write_articles(kb, articles)
    assert list(iter_articles(kb)) == articles
