"""SLA policies and the business-hours calendar their clocks run on.

A policy per priority gives a first-response and a resolution target. Targets of
business-hours policies only count time inside the desk's opening hours; 24x7
policies (urgent tickets) count wall-clock time. While a ticket is pending (waiting
for the customer) or solved, the resolution clock is paused: the business time that
was left is kept and added back from the moment the ticket is worked on again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.errors import InputFileError, RowError, TriageError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(
    r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})\s*$"
)
# Walking the calendar day by day is cheap, but a calendar with no working day would
# loop forever; ten years of days is far more than any SLA target.
_MAX_DAYS = 3660


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            a, b = _DAYS.index(first), _DAYS.index(last)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
        else:
            days.add(_DAYS.index(part))
    return frozenset(days)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours: working weekdays (0 = Monday), daily start and end, holidays."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    days: frozenset[int] = frozenset(range(5))
    start: time = time(9)
    end: time = time(17)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def parse(
        cls, hours: str, timezone: str = "UTC", holidays: frozenset[date] = frozenset()
    ) -> BusinessCalendar:
        """Build a calendar from text like ``"mon-fri 09:00-17:00"`` and a zone name."""
        match = _HOURS.match(hours.lower())
        try:
            if not match:
                raise ValueError("expected e.g. 'mon-fri 09:00-17:00'")
            days = _parse_days(match["days"])
            start = time.fromisoformat(match["start"].zfill(5))
            end = time.fromisoformat(match["end"].zfill(5))
            if not start < end:
                raise ValueError("opening time must be before closing time")
            tz = ZoneInfo(timezone)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise TriageError(f"business hours {hours!r} ({timezone}): {exc}") from exc
        if not days:
            raise TriageError(f"business hours {hours!r}: no working day")
        return cls(tz=tz, days=days, start=start, end=end, holidays=holidays)

    def _windows(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening windows (UTC start, UTC end) from the local day containing `moment` on."""
        day = moment.astimezone(self.tz).date()
        for _ in range(_MAX_DAYS):
            if day.weekday() in self.days and day not in self.holidays:
                opens = datetime.combine(day, self.start, self.tz).astimezone(UTC)
                closes = datetime.combine(day, self.end, self.tz).astimezone(UTC)
                yield opens, closes
            day += timedelta(days=1)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`."""
        remaining = duration
        cursor = start.astimezone(UTC)
        for opens, closes in self._windows(cursor):
            if closes <= cursor:
                continue
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        raise TriageError("business calendar has no opening hours in the next ten years")

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between `start` and `end` (negative when `end` is earlier)."""
        if end < start:
            return -self.elapsed(end, start)
        total = timedelta(0)
        for opens, closes in self._windows(start):
            if opens >= end:
                break
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        return total


@dataclass(frozen=True)
class SlaPolicy:
    """Targets for one priority; `business_hours=False` means the clock runs 24x7."""

    first_response: timedelta
    resolution: timedelta
    business_hours: bool = True


# Highest priority first: the order tickets are listed and worked in.
DEFAULT_POLICIES: dict[str, SlaPolicy] = {
    "urgent": SlaPolicy(timedelta(hours=1), timedelta(hours=4), business_hours=False),
    "critical": SlaPolicy(timedelta(hours=1), timedelta(hours=4), business_hours=False),
    "high": SlaPolicy(timedelta(hours=4), timedelta(hours=8)),
    "medium": SlaPolicy(timedelta(hours=8), timedelta(hours=24)),
    "normal": SlaPolicy(timedelta(hours=8), timedelta(hours=24)),
    "low": SlaPolicy(timedelta(hours=24), timedelta(hours=40)),
}


@dataclass(frozen=True)
class SlaPolicies:
    """Policies by priority name (case-insensitive) on one calendar."""

    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    policies: dict[str, SlaPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    default: str = "medium"

    @classmethod
    def load(cls, path: Path, calendar: BusinessCalendar) -> SlaPolicies:
        """Policies from a JSON file, most urgent priority first::

        {"default": "normal",
         "policies": {"p1": {"first_response_minutes": 30, "resolution_minutes": 240,
                             "business_hours": false},
                      "normal": {"first_response_minutes": 480, "resolution_minutes": 2400}}}
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise InputFileError(
                f"{path}: cannot read SLA policies ({exc.strerror or exc})"
            ) from exc
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path}: not valid JSON ({exc})") from exc
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("policies"), dict)
            or not data["policies"]
        ):
            raise InputFileError(f"{path}: expected an object with a non-empty 'policies' object")
        policies: dict[str, SlaPolicy] = {}
        for name, spec in data["policies"].items():
            where = f"policies.{name}"
            if not isinstance(spec, dict):
                raise RowError(path, None, where, "expected an object")
            for key in ("first_response_minutes", "resolution_minutes"):
                value = spec.get(key)
                if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                    raise RowError(
                        path, None, f"{where}.{key}", f"expected a positive number, got {value!r}"
                    )
            unknown = set(spec) - {"first_response_minutes", "resolution_minutes", "business_hours"}
            if unknown:
                raise RowError(path, None, where, f"unknown keys {sorted(unknown)}")
            policies[str(name).strip().lower()] = SlaPolicy(
                first_response=timedelta(minutes=spec["first_response_minutes"]),
                resolution=timedelta(minutes=spec["resolution_minutes"]),
                business_hours=bool(spec.get("business_hours", True)),
            )
        default = str(data.get("default", next(iter(policies)))).strip().lower()
        if default not in policies:
            raise RowError(path, None, "default", f"{default!r} is not one of the policies")
        return cls(calendar=calendar, policies=policies, default=default)

    def policy(self, priority: str | None) -> SlaPolicy:
        """The policy for `priority`; unknown or missing priorities get the default's."""
        key = (priority or "").strip().lower()
        return self.policies.get(key) or self.policies[self.default]

    def rank(self, priority: str | None) -> int:
        """Sort rank of `priority`: 0 is the most urgent; unknown ones come last."""
        key = (priority or "").strip().lower()
        names = list(self.policies)
        return names.index(key) if key in names else len(names)

    def _add(self, policy: SlaPolicy, start: datetime, duration: timedelta) -> datetime:
        if policy.business_hours:
            return self.calendar.add(start, duration)
        return start + duration

    def _elapsed(self, policy: SlaPolicy, start: datetime, end: datetime) -> timedelta:
        if policy.business_hours:
            return self.calendar.elapsed(start, end)
        return end - start

    def first_response_due(self, priority: str | None, created_at: datetime) -> datetime:
        """When the first reply to a ticket created at `created_at` is due."""
        policy = self.policy(priority)
        return self._add(policy, created_at, policy.first_response)

    def resolution_due(self, priority: str | None, created_at: datetime) -> datetime:
        """When a ticket created at `created_at` must be solved, ignoring pauses."""
        policy = self.policy(priority)
        return self._add(policy, created_at, policy.resolution)

    def after(self, priority: str | None, moment: datetime, duration: timedelta) -> datetime:
        """`duration` of the priority's clock (business or calendar time) after `moment`."""
        return self._add(self.policy(priority), moment, duration)

    def remaining(self, priority: str | None, now: datetime, due: datetime) -> timedelta:
        """Clock time left until `due` (negative once breached), kept while paused."""
        return self._elapsed(self.policy(priority), now, due)

    def resume(self, priority: str | None, now: datetime, remaining: timedelta) -> datetime:
        """The new due time when a paused clock with `remaining` left restarts at `now`."""
        if remaining <= timedelta(0):
            # Already breached when paused: the breach stays a breach.
            return now + remaining
        return self._add(self.policy(priority), now, remaining)
