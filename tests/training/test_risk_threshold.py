"""The escalation head's rate-matched risk threshold (issue 15, item 6)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from training.risk_threshold import NEVER, choose, rate_matched_threshold, target_rate
from triage.contract import Ticket
from triage.dataset import write_tickets


def _desk(n: int, seed: int = 3) -> list[Ticket]:
    """Tickets where an outage word raises the odds of an escalation; a third of the
    escalations come with an SLA breach (those the desk's SLA rules explain)."""
    rng = np.random.default_rng(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        outage = rng.random() < 0.2
        escalated = rng.random() < (0.6 if outage else 0.05)
        breached = escalated and rng.random() < 1 / 3
        words = "outage down production broken" if outage else "question invoice how settings"
        out.append(
            Ticket(
                id=f"T{i}",
                created_at=start + timedelta(hours=3 * i),
                subject=" ".join(rng.choice(words.split(), size=2)),
                body=" ".join(rng.choice(words.split(), size=4)),
                category="ops" if outage else "help",
                escalated=escalated,
                sla_breached=breached,
            )
        )
    return out


def test_the_threshold_flags_the_target_share() -> None:
    risk = np.random.default_rng(0).beta(2, 10, 1000)
    for rate in (0.05, 0.1, 0.25):
        t = rate_matched_threshold(risk, rate)
        assert np.mean(risk >= t) == pytest.approx(rate, abs=1e-9)
    assert rate_matched_threshold(risk, 0.0) == NEVER  # no ticket to flag: never fires
    assert rate_matched_threshold(np.array([]), 0.3) == NEVER


def test_the_target_is_the_escalations_a_breach_does_not_explain() -> None:
    tickets = [
        Ticket(id="a", subject="x", escalated=True, sla_breached=False),
        Ticket(id="b", subject="x", escalated=True, sla_breached=True),  # the SLA rule's
        Ticket(id="c", subject="x", escalated=False, sla_breached=True),
        Ticket(id="d", subject="x", escalated=False, sla_breached=False),
        Ticket(id="e", subject="x", escalated=True),  # breach unknown: not counted
    ]
    rate, rule, counted = target_rate(tickets, np.arange(5), "escalated")
    assert (rate, rule, counted) == (0.25, "rate_matched", 4)
    # Without sla_breached the whole escalation rate is the target, and the rule says so.
    bare = [Ticket(id=t.id, subject="x", escalated=t.escalated) for t in tickets]
    rate, rule, counted = target_rate(bare, np.arange(5), "escalated")
    assert (rate, rule, counted) == (0.6, "rate_matched_escalated", 5)


def test_a_head_without_signal_never_fires() -> None:
    tickets = _desk(100)
    rows = (np.arange(80), np.arange(80, 100))
    entry = choose(tickets, "escalated", rows, np.linspace(0, 1, 80), no_signal=True)
    assert entry["value"] == NEVER and entry["rule"] == "no_signal"
    assert entry["calibration_rate"] == 0.0


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_training_records_the_rate_matched_threshold(tmp_path) -> None:
    from training.pipeline import TrainConfig, train
    from triage.predictor import OnnxTriager

    tickets = _desk(900)
    path = tmp_path / "desk.parquet"
    write_tickets(path, tickets)
    config = TrainConfig(encoder=None, bundle_name="risk", n_jobs=1, cascade=False)
    report = train(path, tmp_path / "risk", config)
    entry = report.heads["escalation"].metrics["risk_threshold"]
    test_ids = set(report.heads["escalation"].test_ids)
    train_rows = [t for t in tickets if t.id not in test_ids]
    expected = np.mean([t.escalated and not t.sla_breached for t in train_rows])
    assert entry["rule"] == "rate_matched"
    assert entry["rate"] == pytest.approx(expected)
    assert entry["source_rows"] == len(train_rows)
    # Chosen on the calibration rows: it flags the target share there (up to ties) ...
    assert entry["calibration_rate"] == pytest.approx(entry["rate"], abs=0.02)
    assert 0.0 < entry["value"] < 1.0
    # ... and the test split's share is reported beside its own rate.
    assert 0.0 < entry["test_rate"] < 0.5 and 0.0 < entry["test_target_rate"] < 0.5

    # The manifest round trip: the bundle records it and serving hands it out.
    manifest = json.loads((tmp_path / "risk" / "manifest.json").read_text())
    (head,) = [h for h in manifest["heads"] if h["name"] == "escalation"]
    assert head["risk_threshold"]["value"] == pytest.approx(entry["value"])
    assert head["risk_threshold"]["rule"] == "rate_matched"
    result = OnnxTriager.from_path(tmp_path / "risk").triage(tickets[0])
    assert result.escalation is not None
    assert result.escalation.risk_threshold == pytest.approx(entry["value"])
