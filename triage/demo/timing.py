"""When the demo's tickets come in and when its teams are on shift."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from triage.demo.roster import Roster

# Share of tickets that come in incident spikes (four incidents over the history).
SPIKE_SHARE = 0.05
_WEEKDAY_WEIGHT = (1.25, 1.15, 1.1, 1.05, 0.95, 0.45, 0.35)
_HOUR_WEIGHT = (
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.4, 1.9, 2.0, 1.9,
    1.7, 1.8, 1.9, 1.8, 1.6, 1.3, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2,
)  # fmt: skip


def timestamps(
    rng: random.Random, n: int, start: datetime, days: int
) -> list[tuple[datetime, str | None]]:
    """`n` creation times with weekday/business-hour patterns, growth, and a few incident spikes."""
    day_weights = [
        _WEEKDAY_WEIGHT[(start + timedelta(days=d)).weekday()] * (1.0 + 0.3 * d / days)
        for d in range(days)
    ]
    spike_subs = ("sync_error", "delayed", "payment_failed", "app_crash")
    spikes = [(rng.randrange(10, days - 5), spike_subs[i]) for i in range(len(spike_subs))]
    n_spike = int(n * SPIKE_SHARE)
    out: list[tuple[datetime, str | None]] = []
    hours = range(24)
    for day in rng.choices(range(days), weights=day_weights, k=n - n_spike):
        hour = rng.choices(hours, weights=_HOUR_WEIGHT)[0]
        out.append((start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600)), None))
    for i in range(n_spike):
        day, key = spikes[i % len(spikes)]
        hour = rng.choices(hours, weights=_HOUR_WEIGHT)[0]
        when = start + timedelta(
            days=day + rng.randrange(2), hours=hour, seconds=rng.randrange(3600)
        )
        out.append((when, key))
    out.sort(key=lambda item: item[0])
    return out


def coverage(roster: Roster) -> dict[str, list[list[bool]]]:
    """Per team, [weekday][hour] -> is any agent on shift."""
    cover = {}
    for team in roster.teams:
        agents = roster.agents_of(team.id)
        cover[team.id] = [
            [any(a.shift.covers(d, h) for a in agents) for h in range(24)] for d in range(7)
        ]
    return cover


def hours_until_covered(grid: list[list[bool]], when: datetime) -> float:
    """Calendar hours from `when` until a shift of the team is on (0 when one is on now)."""
    weekday, hour = when.weekday(), when.hour
    if grid[weekday][hour]:
        return 0.0
    into_hour = when.minute / 60 + when.second / 3600
    for step in range(1, 24 * 7 + 1):
        d, h = divmod(hour + step, 24)
        if grid[(weekday + d) % 7][h]:
            return step - into_hour
    return 0.0  # pragma: no cover - every demo team has shifts
