"""The model-health loop end to end on a small demo desk with a planted shift (issue 18):
the monitor flags the shift, retraining on the desk's confirmed labels installs a
challenger, the challenger beats the champion in shadow, and it is promoted.

One run (`benchmarks.health_loop`, a module fixture) trains two TF-IDF bundles and
streams 1,000 tickets through a real desk; the tests read its figures and its store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from benchmarks.health_loop import LoopConfig, LoopResult, run_loop


@pytest.fixture(scope="module")
def health_loop(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoopResult, Path]:
    """The loop's figures and its work directory (desk.db, models/)."""
    work = tmp_path_factory.mktemp("health-loop")
    return run_loop(LoopConfig(), work), work


def test_the_monitor_flags_the_shift_within_300_tickets(health_loop) -> None:  # type: ignore[no-untyped-def]
    figures = health_loop[0].figures
    assert figures["false_alarms_before_shift"] == 0
    assert figures["flagged_after_tickets"] is not None
    assert figures["flagged_after_tickets"] <= 300
    drifted = {
        s["signal"] for s in health_loop[0].monitor_before["signals"] if s["status"] == "alert"
    }
    assert "field.extra.product" in drifted


def test_retraining_installs_a_challenger_that_wins_in_shadow(health_loop) -> None:  # type: ignore[no-untyped-def]
    figures = health_loop[0].figures
    assert figures["retrain"]["installed"], figures["retrain"]["gate"]
    assert figures["retrain"]["desk_labels"] > 0
    assert figures["new_category_recall_champion"] == 0.0  # it never saw the category
    assert figures["new_category_recall_challenger"] >= 0.80
    comparison = figures["comparison"]
    assert comparison["difference"]["low"] > 0
    assert figures["promoted"] and figures["champion_after"] == figures["retrain"]["version"]


def test_every_step_is_audited(health_loop) -> None:  # type: ignore[no-untyped-def]
    from triage.store import connect
    from triage.store.models import AuditRow

    engine = connect(f"sqlite:///{health_loop[1] / 'desk.db'}")
    with engine.connect() as conn:
        actions = (
            conn.execute(
                select(AuditRow.action)
                .where(AuditRow.actor == "system:retrain")
                .order_by(AuditRow.id)
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert actions == ["retrain_started", "challenger_installed", "auto_promoted"]
