"""When the desk may answer a customer on its own: one policy, one decision per ticket.

The matcher (`triage.inference.auto_reply`) says which answer fits a ticket and how sure
it is; it does not know whether sending it is safe. This policy does. It sends only a
knowledge-base article or a template a person approved, and never when a person must
answer: an urgent or high priority (predicted or set), an escalation risk at or above the
threshold, an angry or complaining customer, a category marked "always a person", a
category the model abstained on, an unsupported language, a reopened ticket or a
follow-up. Its decision (send, hold with the reasons, or suggest to agents) is audited.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from triage.complaint import complaint_signals, follow_up_signals
from triage.escalation import EscalationPolicy


class ReplyAction(StrEnum):
    """What the desk does with the matched answer."""

    send = "send"  # to the customer, now
    hold = "hold"  # a "never" rule applies: a person answers (the match is a suggestion)
    suggest = "suggest"  # no rule against it, but not sendable: a suggestion for agents


class HoldReason(StrEnum):
    """Why a reply was held back (audited; the replay summary counts them)."""

    priority = "priority"  # urgent or high, predicted or set
    # The priority is an unconfirmed fallback and the model gives the blocked priorities
    # too much probability (`AutoReplyPolicy.unconfirmed_priority_max`).
    priority_unsure = "priority_unsure"
    escalation_risk = "escalation_risk"
    complaint = "complaint"  # an angry or complaining customer
    always_human = "always_human"  # a category marked "always a person"
    category_abstained = "category_abstained"
    unsupported_language = "unsupported_language"
    reopened = "reopened"
    follow_up = "follow_up"


class SuggestReason(StrEnum):
    """Why an answer no rule forbids is only suggested."""

    not_confident = "not_confident"  # below the matcher's safe threshold
    unapproved = "unapproved"  # a past reply no person approved as a template
    disabled = "disabled"  # auto-replies are switched off


class ReplyFacts(BaseModel):
    """What the policy looks at, gathered from the ticket and its triage result."""

    kind: str  # "kb" or "answer"
    confident: bool  # the matcher's safe-to-send rule
    approved: bool  # a KB article, or a past reply with an approved template
    priority: str | None = None
    predicted_priority: str | None = None
    escalation_risk: float | None = None
    # When the priority is an unconfirmed fallback (the priority head abstained): the
    # head's probability per label; None when the model or a person set the priority.
    unconfirmed_priority_probabilities: dict[str, float] | None = None
    # The scoring model's risk threshold (`triage.escalation`); None: none recorded.
    escalation_risk_threshold: float | None = None
    category: str | None = None
    subcategory: str | None = None
    category_abstained: bool = False
    language: str | None = None
    language_supported: bool = True
    reopened: bool = False
    follow_up_of: int | None = None
    subject: str = ""
    body: str = ""


class ReplyDecision(BaseModel):
    """The policy's answer: the action and every reason behind it (with the phrases
    that matched, for the complaint and follow-up signals)."""

    action: ReplyAction
    reasons: list[str] = Field(default_factory=list)
    signals: dict[str, list[str]] = Field(default_factory=dict)


def _lower(values: frozenset[str]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values)


class AutoReplyPolicy(BaseModel):
    """The rules an automatic reply must pass. Built from the settings at a composition
    root (`from_settings` on the desk's config); every field has a safe default."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = True
    # Priorities (predicted or set) that always get a person.
    blocked_priorities: frozenset[str] = frozenset({"urgent", "high"})
    # A fallback priority is a guess: reply automatically only when the priority head
    # gives the blocked priorities together less than this probability. 0.1 asks the
    # same certainty as the desk's 0.9 target precision. On the demo desk's newest 1,200
    # tickets, 839 had an unconfirmed priority whose leading guess was not blocked, 17%
    # of them truly urgent or high; below 0.1 passed 109, 4.6% urgent or high (below 0.2:
    # 371, 6.5%). A 1,000-ticket replay without this rule sent 5 of 36 KB replies to
    # tickets the agent then set to high.
    unconfirmed_priority_max: float = Field(default=0.1, ge=0.0, le=1.0)
    # None: the threshold of the model that scored the ticket, as the escalation rule uses.
    escalation_risk_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    # Categories or subcategories (case-insensitive) that always get a person. The
    # default names the demo desk's: security, privacy/legal, billing disputes.
    always_human: frozenset[str] = frozenset(
        {
            "Security",
            "Legal",
            "Privacy",
            "Data privacy request",
            "Suspicious login",
            "Phishing report",
            "Double charge",
            "Billing dispute",
            "Chargeback",
        }
    )
    # Languages auto-replies may be sent in; empty: whatever the model supports.
    languages: frozenset[str] = frozenset()
    complaint_signal: bool = True
    follow_up_signal: bool = True

    def decide(self, facts: ReplyFacts) -> ReplyDecision:
        """Send, hold (with every "never" rule that applies) or suggest."""
        reasons, signals = self._holds(facts)
        if reasons:
            return ReplyDecision(action=ReplyAction.hold, reasons=reasons, signals=signals)
        suggest = []
        if not self.enabled:
            suggest.append(SuggestReason.disabled.value)
        if not facts.approved:
            suggest.append(SuggestReason.unapproved.value)
        if not facts.confident:
            suggest.append(SuggestReason.not_confident.value)
        if suggest:
            return ReplyDecision(action=ReplyAction.suggest, reasons=suggest)
        return ReplyDecision(action=ReplyAction.send)

    def risk_threshold(self, model_threshold: float | None) -> float:
        """The escalation risk that holds a reply for a ticket whose model chose
        `model_threshold`: the configured one wins, then the model's, then the default
        (the escalation rule's, `EscalationPolicy.threshold_for`)."""
        return EscalationPolicy(risk_threshold=self.escalation_risk_threshold).threshold_for(
            model_threshold
        )

    def _holds(self, facts: ReplyFacts) -> tuple[list[str], dict[str, list[str]]]:
        """The "never" rules that apply, in a fixed order, and the phrases behind them."""
        reasons: list[HoldReason] = []
        signals: dict[str, list[str]] = {}
        blocked = _lower(self.blocked_priorities)
        priorities = {(p or "").strip().lower() for p in (facts.priority, facts.predicted_priority)}
        if priorities & blocked:
            reasons.append(HoldReason.priority)
        elif facts.unconfirmed_priority_probabilities is not None:
            unsure = sum(
                p
                for label, p in facts.unconfirmed_priority_probabilities.items()
                if label.strip().lower() in blocked
            )
            if unsure >= self.unconfirmed_priority_max:
                reasons.append(HoldReason.priority_unsure)
        if facts.escalation_risk is not None and facts.escalation_risk >= self.risk_threshold(
            facts.escalation_risk_threshold
        ):
            reasons.append(HoldReason.escalation_risk)
        if self.complaint_signal:
            found = complaint_signals(f"{facts.subject}\n{facts.body}")
            if found:
                reasons.append(HoldReason.complaint)
                signals["complaint"] = found
        names = {(n or "").strip().lower() for n in (facts.category, facts.subcategory)}
        if names & _lower(self.always_human):
            reasons.append(HoldReason.always_human)
        if facts.category_abstained or facts.category is None:
            reasons.append(HoldReason.category_abstained)
        if not facts.language_supported or (
            self.languages and (facts.language or "").lower() not in _lower(self.languages)
        ):
            reasons.append(HoldReason.unsupported_language)
        if facts.reopened:
            reasons.append(HoldReason.reopened)
        follow = follow_up_signals(facts.subject, facts.body) if self.follow_up_signal else []
        if facts.follow_up_of is not None or follow:
            reasons.append(HoldReason.follow_up)
            if follow:
                signals["follow_up"] = follow
        return [r.value for r in reasons], signals
