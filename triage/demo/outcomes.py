"""How the demo desk handled each ticket: when it answered and solved it, whether it
escalated, and which agent took it (the team's shifts, load and skills decide)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from triage.demo.catalog import SLA, Subcategory
from triage.demo.roster import Agent

_TIER_SPEED = {"free": 1.5, "standard": 1.0, "premium": 0.75, "enterprise": 0.55}
_PRIORITY_SPEED = {"low": 1.6, "normal": 1.0, "high": 0.5, "urgent": 0.25}
_FIRST_RESPONSE_HOURS = {"email": 2.6, "web": 2.2, "chat": 0.15, "phone": 0.05, "api": 2.8}


def service_times(
    rng: random.Random,
    wait: float,
    sub: Subcategory,
    channel: str,
    priority: str,
    tier: str,
    created: datetime,
    slow: float,
    follow_up: bool,
    mixed: bool,
) -> tuple[datetime, datetime, bool]:
    """When the desk first answered and solved the ticket, and whether that broke the SLA.
    `wait`: calendar hours until a shift of the team is on; `slow`: the team's load factor."""
    target = SLA[priority]
    if priority in ("urgent", "high"):
        wait *= 0.4 if priority == "urgent" else 0.7  # on-call staff are paged
    first_response = wait + _FIRST_RESPONSE_HOURS[channel] * _PRIORITY_SPEED[
        priority
    ] * _TIER_SPEED[tier] * slow * rng.lognormvariate(0.0, 0.7)
    work = sub.resolve_hours * _PRIORITY_SPEED[priority] * math.sqrt(_TIER_SPEED[tier]) * slow
    work *= (1.6 if follow_up else 1.0) * (1.2 if mixed else 1.0) * rng.lognormvariate(0.0, 0.75)
    calendar = 0.55 if priority == "urgent" else 0.8  # hands-on hours spread over shifts
    resolution = work * calendar
    # Nobody answers within the first minute; breaches are judged on the stored times.
    first_response_at = created + timedelta(seconds=round(first_response * 3600) + 60)
    resolved_at = first_response_at + timedelta(seconds=round(resolution * 3600) + 60)
    breached = first_response_at - created > timedelta(hours=target.first_response_hours) or (
        resolved_at - created > timedelta(hours=target.resolution_hours)
    )
    return first_response_at, resolved_at, breached


def escalates(
    rng: random.Random,
    sub: Subcategory,
    tier: str,
    priority: str,
    breached: bool,
    angry: bool,
    follow_up: bool,
    load: float,
) -> bool:
    logit = (
        -3.7
        + 1.9 * breached
        + 1.4 * angry
        + 0.7 * (tier == "enterprise")
        + 0.8 * (priority == "urgent")
        + 0.6 * follow_up
        + 0.5 * (sub.category == "Security")
        + 0.4 * (load > 1.6)
    )
    return rng.random() < 1.0 / (1.0 + math.exp(-logit))


def pick_agent(
    rng: random.Random,
    agents: list[Agent],
    language: str,
    sub: Subcategory,
    priority: str,
    when: datetime,
    senior: bool,
) -> Agent:
    weights = []
    for agent in agents:
        w = 8.0 if language in agent.languages else 0.15
        w *= 2.0 if sub.name in agent.subcategories else 1.0
        w *= 2.0 if agent.shift.covers(when.weekday(), when.hour) else 1.0
        hard = senior or priority in ("high", "urgent")
        w *= 2.0 if (agent.tier != "L1") == hard else 1.0
        weights.append(w)
    return rng.choices(agents, weights=weights)[0]
