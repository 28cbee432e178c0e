"""The desk's lifecycle settings: timers, thresholds and the assigner's weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from triage.desk.reply_policy import AutoReplyPolicy
from triage.escalation import EscalationPolicy
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
    # Which late or risky tickets go up a tier (`triage.escalation`).
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    # Pick an agent as soon as a ticket is routed (triaged with a team).
    auto_assign: bool = True
    # Send the auto-replies the policy allows (KB articles, approved templates).
    auto_reply: bool = True
    reply_policy: AutoReplyPolicy = field(default_factory=AutoReplyPolicy)
    # An auto-replied ticket the customer has not confirmed goes back to its team's queue.
    auto_reply_confirm_within: timedelta = timedelta(hours=48)
    # How long a customer's CSAT or confirm link works.
    customer_token_ttl: timedelta = timedelta(days=14)
    # When only the priority head abstains (category and team are known), route the
    # ticket to its team with a fallback priority flagged for a person to confirm,
    # instead of holding it in the human triage queue (see `fallback_priority`).
    route_without_priority: bool = True
    # The fallback priority; None: the SLA policies' default.
    default_priority: str | None = None
    # Where the customer rates a solved ticket; `{token}` is the survey's token.
    survey_url: str = "http://localhost:8000/v1/csat/{token}"
    # Where the customer says whether an auto-reply solved the request.
    confirm_url: str = "http://localhost:8000/v1/confirm/{token}"
    weights: AssignmentWeights = field(default_factory=AssignmentWeights)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeskConfig:
        """The lifecycle timers configured through `TRIAGE_*` settings."""
        policy = AutoReplyPolicy(
            enabled=settings.auto_reply_enabled,
            blocked_priorities=frozenset(settings.auto_reply_blocked_priorities),
            escalation_risk_threshold=settings.escalation_risk_threshold,
            languages=frozenset(settings.auto_reply_languages),
            unconfirmed_priority_max=settings.auto_reply_unconfirmed_priority_max,
            **(
                {"always_human": frozenset(settings.auto_reply_always_human)}
                if settings.auto_reply_always_human is not None
                else {}
            ),
        )
        base = settings.public_url.rstrip("/")
        return cls(
            reply_policy=policy,
            auto_reply_confirm_within=timedelta(hours=settings.auto_reply_confirm_hours),
            customer_token_ttl=timedelta(days=settings.customer_token_days),
            confirm_url=base + "/v1/confirm/{token}",
            pending_reminder=timedelta(hours=settings.pending_reminder_hours),
            close_after=timedelta(days=settings.close_after_days),
            retriage_backoff=timedelta(seconds=settings.retriage_backoff_s),
            escalation=EscalationPolicy(
                immediate=frozenset(p.lower() for p in settings.escalation_immediate_priorities),
                grace=settings.escalation_grace,
                escalate_first_response=settings.escalate_on_first_response,
                risk_threshold=settings.escalation_risk_threshold,
            ),
            auto_reply=settings.auto_reply_enabled,
            route_without_priority=settings.route_without_priority,
            default_priority=settings.default_priority,
            survey_url=base + "/v1/csat/{token}",
        )
