"""Thresholds on a time split: fitted on the newest training slice, checked on the test split."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from training.pipeline import PRECISION_SHORTFALL, TrainConfig, precision_warnings, train
from triage.contract import Ticket
from triage.dataset import write_tickets

WORDS = {
    "billing": "invoice refund charge payment card",
    "access": "password login locked account reset",
    "network": "vpn wifi router latency packet",
}


def _drifting(n: int, drift_after: float) -> list[Ticket]:
    """Category in the text; after `drift_after` of the history, half the tickets of each
    topic are filed under the next category (a reorganised desk)."""
    rng = np.random.default_rng(5)
    names = list(WORDS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        topic = int(rng.integers(0, 3))
        label = topic
        if i >= drift_after * n and rng.random() < 0.5:
            label = (topic + 1) % 3
        words = rng.choice(WORDS[names[topic]].split(), size=5).tolist()
        out.append(
            Ticket(
                id=f"T{i}",
                created_at=start + timedelta(hours=5 * i),
                subject=" ".join(words[:2]),
                body=" ".join(words[2:]),
                category=names[label],
            )
        )
    return out


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_a_drifted_test_split_warns_that_thresholds_did_not_hold(tmp_path) -> None:
    path = tmp_path / "drift.parquet"
    write_tickets(path, _drifting(600, drift_after=0.8))
    config = TrainConfig(encoder=None, bundle_name="drift", split="time", n_jobs=1)
    report = train(path, tmp_path / "drift", config)
    head = report.heads["category"]
    assert report.split["kind"] == "time"
    assert head.metrics["calibrated_on"] == "newest training slice"
    realized = head.metrics["precision_at_threshold"]
    assert realized < 0.9 - PRECISION_SHORTFALL
    assert any(
        w.startswith("category: thresholds fitted for precision 0.90") for w in report.warnings
    )
    manifest = json.loads((tmp_path / "drift" / "manifest.json").read_text())
    assert manifest["metrics"]["category"]["realized_precision"] == realized
    assert manifest["metrics"]["category"]["target_precision"] == 0.9
    assert manifest["warnings"] == report.warnings


@pytest.mark.slow  # trains a (small, TF-IDF-only) bundle
def test_no_warning_when_the_thresholds_hold(tmp_path) -> None:
    path = tmp_path / "stable.parquet"
    write_tickets(path, _drifting(600, drift_after=2.0))
    config = TrainConfig(encoder=None, bundle_name="stable", split="time", n_jobs=1)
    report = train(path, tmp_path / "stable", config)
    assert report.heads["category"].metrics["precision_at_threshold"] >= 0.85
    assert report.warnings == []


def test_the_warning_rule_is_five_points() -> None:
    class Head:
        def __init__(self, realized: float) -> None:
            self.metrics = {
                "precision_at_threshold": realized,
                "coverage_at_target_precision": 0.5,
            }

    assert precision_warnings({"a": Head(0.86)}, 0.9) == []
    assert len(precision_warnings({"a": Head(0.84)}, 0.9)) == 1


def test_the_warning_blames_newer_tickets_only_on_a_time_split() -> None:
    class Head:
        def __init__(self, calibrated_on: str) -> None:
            self.metrics = {
                "precision_at_threshold": 0.8,
                "coverage_at_target_precision": 0.5,
                "calibrated_on": calibrated_on,
            }

    [time_split] = precision_warnings({"a": Head("newest training slice")}, 0.9)
    [stratified] = precision_warnings({"a": Head("out-of-fold")}, 0.9)
    assert "newer tickets" in time_split
    assert "newer tickets" not in stratified
    assert "calibrated on the out-of-fold scores" in stratified
