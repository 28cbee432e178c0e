"""Drift: PSI per signal, rare buckets pooled, the reference file (absent in older
bundles), and the rolling window read from a real desk's store (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.contract import Channel, Ticket
from triage.desk import Desk, NewTicket
from triage.health.drift import (
    ABSTAINED,
    OTHER,
    RARE,
    DriftError,
    Reference,
    compare,
    merge_rare,
    psi,
    read_reference,
    ticket_signals,
    write_reference,
)
from triage.health.window import DriftMonitor


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift() -> None:
    reference = {"a": 50, "b": 50}
    assert psi(reference, {"a": 5, "b": 5}) == pytest.approx(0.0)
    small = psi(reference, {"a": 6, "b": 4})
    large = psi(reference, {"a": 9, "b": 1})
    assert 0 < small < 0.1 < 0.25 < large
    # A bucket the reference never saw: large, but finite.
    assert 0.5 < psi(reference, {"a": 5, "b": 4, "new": 1}) < 10


def test_rare_and_unseen_buckets_are_pooled() -> None:
    reference = {"a": 600, "b": 395, "c": 5}
    ref, win = merge_rare(reference, {"a": 3, "c": 1, "z": 2})
    assert ref == {"a": 600, "b": 395, RARE: 5}
    assert win == {"a": 3, RARE: 3}


def test_ticket_signals() -> None:
    ticket = Ticket(
        id="T-1",
        channel=Channel.email,
        subject="Invoice",
        body="my invoice is wrong wrong",
        extra={"product": "NewThing", "plan": "pro"},
    )
    prediction = {
        "category": {"label": "billing", "confidence": 0.95, "abstained": False},
        "team": {"label": None, "confidence": 0.2, "abstained": True},
        "language": {"code": "en", "confidence": 0.9, "supported": True},
    }
    signals = ticket_signals(
        ticket,
        prediction,
        heads=["category", "team", "priority"],
        primary="category",
        extras={"product": ["known"], "plan": []},
        vocabulary=frozenset({"invoice", "is", "my"}),
    )
    assert signals["predicted.category"] == "billing"
    assert signals["predicted.team"] == ABSTAINED
    assert "predicted.priority" not in signals
    assert signals["confidence"] == "(0.9, inf]"
    assert signals["language"] == "en"
    assert signals["oov_rate"] == "(0.3, 0.5]"  # 2 of 5 words unknown
    assert signals["field.extra.product"] == OTHER
    assert signals["field.extra.plan"] == "pro"
    known = ticket_signals(
        ticket.model_copy(update={"extra": {"product": " KNOWN "}}),
        prediction,
        heads=[],
        primary="category",
        extras={"product": ["known"]},
    )
    assert known["field.extra.product"] == "known"
    assert signals["field.channel"] == "email"


def _reference() -> Reference:
    return Reference(
        model_version="scripted-1",
        size=100,
        heads=["category"],
        primary="category",
        extras={},
        counts={
            "predicted.category": {"billing": 80, ABSTAINED: 20},
            "field.channel": {"email": 100},
        },
    )


def test_reference_round_trip_and_older_bundles(tmp_path: Path) -> None:
    assert read_reference(tmp_path) is None  # exported before drift monitoring
    write_reference(tmp_path, _reference())
    assert read_reference(tmp_path) == _reference()
    (tmp_path / "reference.json").write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(DriftError, match="version 99"):
        read_reference(tmp_path)


def test_the_window_comes_from_the_store(desk: Desk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write_reference(tmp_path, _reference())
    monitor = DriftMonitor(tmp_path, warn=0.1, alert=0.25, size=20)

    def intake(body: str, channel: Channel) -> None:
        desk.intake(NewTicket(channel=channel, subject="s", body=body))

    for _ in range(16):
        intake("refund please", Channel.email)  # the scripted model: billing
    for _ in range(4):
        intake("hello", Channel.email)  # abstains
    with desk.readers() as session:
        steady = monitor.check(session)
    assert steady is not None and steady.window == 20 and steady.status == "ok"
    for _ in range(20):
        intake("hello", Channel.web)
    with desk.readers() as session:
        shifted = monitor.check(session)
    assert shifted is not None
    assert set(shifted.alerts) == {"predicted.category", "field.channel"}
    # Without a reference the monitor reports nothing instead of failing.
    assert DriftMonitor(tmp_path / "none", warn=0.1, alert=0.25, size=20).check(session) is None


def test_compare_reports_the_buckets_that_moved() -> None:
    report = compare(
        _reference(),
        [{"predicted.category": ABSTAINED, "field.channel": "email"}] * 10,
        warn=0.1,
        alert=0.25,
    )
    by_signal = {s.signal: s for s in report.signals}
    assert by_signal["field.channel"].status == "ok"
    moved = by_signal["predicted.category"].moved[0]
    assert (moved["bucket"], moved["reference"], moved["window"]) in {
        (ABSTAINED, 0.2, 1.0),
        ("billing", 0.8, 0.0),
    }
    assert report.status == "alert" and report.alerts == ["predicted.category"]
