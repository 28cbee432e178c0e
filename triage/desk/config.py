"""The desk's lifecycle settings: timers, thresholds and the assigner's weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from triage.settings import Settings


@dataclass(frozen=True)
class AssignmentWeights:
    """How much each signal counts in an agent's score (`triage.desk.assignment`)."""

    team: float = 2.0
    assignee: float = 1.0
    skill: float = 1.0
    language: float = 0.5
    load: float = 1.0


@dataclass(frozen=True)
class DeskConfig:
    """Timers and thresholds of the lifecycle."""

    pending_reminder: timedelta = timedelta(hours=72)
    close_after: timedelta = timedelta(days=4)
    retriage_backoff: timedelta = timedelta(seconds=60)
    escalation_risk_threshold: float = 0.7
    # Pick an agent as soon as a ticket is routed (triaged with a team).
    auto_assign: bool = True
    # Send auto-replies the model marks safe, and set the ticket pending.
    auto_reply: bool = True
    # When only the priority head abstains (category and team are known), route the
    # ticket to its team with a fallback priority flagged for a person to confirm,
    # instead of holding it in the human triage queue (see `fallback_priority`).
    route_without_priority: bool = True
    # The fallback priority; None: the SLA policies' default.
    default_priority: str | None = None
    # Where the customer rates a solved ticket; `{token}` is the survey's token.
    survey_url: str = "http://localhost:8000/v1/csat/{token}"
    weights: AssignmentWeights = field(default_factory=AssignmentWeights)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeskConfig:
        """The lifecycle timers configured through `TRIAGE_*` settings."""
        return cls(
            pending_reminder=timedelta(hours=settings.pending_reminder_hours),
            close_after=timedelta(days=settings.close_after_days),
            retriage_backoff=timedelta(seconds=settings.retriage_backoff_s),
            escalation_risk_threshold=settings.escalation_risk_threshold,
            auto_reply=settings.auto_reply_enabled,
            route_without_priority=settings.route_without_priority,
            default_priority=settings.default_priority,
            survey_url=settings.public_url.rstrip("/") + "/v1/csat/{token}",
        )
