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


def test_policies_from_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "sla.json"
    path.write_text(
        json.dumps(
            {
                "default": "normal",
                "policies": {
                    "P1": {
                        "first_response_minutes": 30,
                        "resolution_minutes": 240,
                        "business_hours": False,
                    },
                    "normal": {"first_response_minutes": 480, "resolution_minutes": 2400},
                },
            }
        )
    )
    sla = SlaPolicies.load(path, CAL)
    saturday = _utc(2026, 1, 10, 12)
    assert sla.first_response_due("p1", saturday) == _utc(2026, 1, 10, 12, 30)
    assert sla.first_response_due("whatever", saturday) == _utc(2026, 1, 12, 17)
    assert sla.rank("p1") == 0 and sla.rank("normal") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"policies": {}}', "non-empty 'policies'"),
        (
            '{"policies": {"a": {"first_response_minutes": 0, "resolution_minutes": 5}}}',
            "policies.a.first_response_minutes",
        ),
        (
            '{"policies": {"a": {"first_response_minutes": 5, "resolution_minutes": 5, "x": 1}}}',
            "unknown keys",
        ),
        (
            '{"default": "b", "policies": {"a": {"first_response_minutes": 5, '
            '"resolution_minutes": 5}}}',
            "'b' is not",
        ),
    ],
)
def test_bad_policy_files_name_the_problem(tmp_path, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sla.json"
    path.write_text(content)
    with pytest.raises(TriageError, match=message):
        SlaPolicies.load(path, CAL)


def test_desk_reads_calendar_and_policies_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    from triage.desk import Desk
    from triage.settings import Settings

    path = tmp_path / "sla.json"
    path.write_text(
        '{"policies": {"gold": {"first_response_minutes": 60, "resolution_minutes": 120}}}'
    )
    settings = Settings(
        _env_file=None,
        business_hours="mon-sat 08:00-12:00",
        business_timezone="Europe/Berlin",
        business_holidays=["2026-01-06"],
        sla_policies_file=path,
    )
    desk = Desk.from_settings(settings, create_engine("sqlite://"))
    assert list(desk.sla.policies) == ["gold"]
    assert desk.sla.calendar.days == frozenset(range(6))
    # Monday 11:30 Berlin + 1 business hour: 30 min Monday, Tuesday is a holiday, 30 min Wednesday.
    assert desk.sla.first_response_due("gold", _utc(2026, 1, 5, 10, 30)) == _utc(2026, 1, 7, 7, 30)
