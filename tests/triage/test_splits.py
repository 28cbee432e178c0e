"""`plan_split`: the one rule that decides between a time and a stratified split."""

from __future__ import annotations

import math

from triage.splits import plan_split

DAY = 86_400.0


def test_auto_splits_by_time_when_timestamps_cover_a_long_history() -> None:
    plan = plan_split([i * DAY for i in range(30)])
    assert plan.kind == "time"
    assert "100% of 30 tickets" in plan.reason


def test_auto_is_stratified_when_the_history_is_short() -> None:
    plan = plan_split([i * 3600.0 for i in range(30)])  # 30 hours
    assert plan.kind == "stratified"
    assert "shorter than 14 days" in plan.reason


def test_auto_is_stratified_when_timestamps_are_missing() -> None:
    stamps = [i * DAY if i % 3 else None for i in range(30)] + [math.nan]
    plan = plan_split(stamps)
    assert plan.kind == "stratified"
    assert "fewer than 90% have one" in plan.reason


def test_an_explicit_request_wins() -> None:
    assert plan_split([None, None], "time").kind == "time"
    assert plan_split([i * DAY for i in range(30)], "stratified").kind == "stratified"
