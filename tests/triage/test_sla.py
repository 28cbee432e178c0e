"""SLA clocks on a business-hours calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from triage.errors import TriageError
from triage.sla import BusinessCalendar, SlaPolicies


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


CAL = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC")


def test_add_inside_one_day() -> None:
    # 2026-01-05 is a Monday.
    assert CAL.add(_utc(2026, 1, 5, 10), timedelta(hours=4)) == _utc(2026, 1, 5, 14)


def test_add_before_opening_starts_at_opening() -> None:
    assert CAL.add(_utc(2026, 1, 5, 6), timedelta(hours=1)) == _utc(2026, 1, 5, 10)


def test_add_rolls_over_the_weekend() -> None:
    # Friday 15:00 + 4 business hours: 2 on Friday, 2 on Monday.
    assert CAL.add(_utc(2026, 1, 9, 15), timedelta(hours=4)) == _utc(2026, 1, 12, 11)


def test_holidays_are_skipped() -> None:
    cal = BusinessCalendar.parse("mon-fri 09:00-17:00", "UTC", frozenset({date(2026, 1, 6)}))
    assert cal.add(_utc(2026, 1, 5, 16), timedelta(hours=2)) == _utc(2026, 1, 7, 10)


def test_local_time_zone_and_dst() -> None:
    cal = BusinessCalendar.parse("mon-fri 09:00-17:00", "Europe/Paris")
    # Winter: Paris is UTC+1, so 09:00 local opens at 08:00 UTC.
    assert cal.add(_utc(2026, 1, 5, 7), timedelta(hours=1)) == _utc(2026, 1, 5, 9)
    # Summer: UTC+2.
    assert cal.add(_utc(2026, 7, 6, 6), timedelta(hours=1)) == _utc(2026, 7, 6, 8)


def test_elapsed_is_the_inverse_of_add() -> None:
    start = _utc(2026, 1, 8, 16, 30)
    for hours in (0.5, 3, 8, 20, 41):
        end = CAL.add(start, timedelta(hours=hours))
        assert CAL.elapsed(start, end) == timedelta(hours=hours)
    assert CAL.elapsed(_utc(2026, 1, 10, 0), _utc(2026, 1, 11, 23)) == timedelta(0)


def test_bad_calendar_is_a_clear_error() -> None:
    with pytest.raises(TriageError, match="business hours"):
        BusinessCalendar.parse("weekdays 9-5")
    with pytest.raises(TriageError, match="Mars/Olympus"):
        BusinessCalendar.parse("mon-fri 09:00-17:00", "Mars/Olympus")


def test_policies_by_priority() -> None:
    sla = SlaPolicies(calendar=CAL)
    friday_evening = _utc(2026, 1, 9, 18)
    # Urgent runs 24x7; high waits for Monday's opening.
    assert sla.first_response_due("Urgent", friday_evening) == _utc(2026, 1, 9, 19)
    assert sla.first_response_due("high", friday_evening) == _utc(2026, 1, 12, 13)
    assert sla.resolution_due(None, friday_evening) == sla.resolution_due("medium", friday_evening)
    assert sla.rank("urgent") < sla.rank("high") < sla.rank("low") < sla.rank("whatever")


def test_pause_keeps_the_remaining_business_time() -> None:
    sla = SlaPolicies(calendar=CAL)
    due = _utc(2026, 1, 5, 17)
    left = sla.remaining("high", _utc(2026, 1, 5, 15), due)
    assert left == timedelta(hours=2)
    # Paused over the weekend, resumed on Wednesday at 16:00: 1h Wednesday + 1h Thursday.
    assert sla.resume("high", _utc(2026, 1, 7, 16), left) == _utc(2026, 1, 8, 10)
    # A clock that was already breached stays breached.
    assert sla.resume("high", _utc(2026, 1, 7, 16), -timedelta(hours=1)) < _utc(2026, 1, 7, 16)
