"""The auto-reply policy: one test per "never" rule, what may be sent, and the lexicon."""

from __future__ import annotations

import pytest

from triage.complaint import complaint_signals, follow_up_signals
from triage.desk.reply_policy import AutoReplyPolicy, ReplyAction, ReplyFacts

POLICY = AutoReplyPolicy()


def _facts(**changes: object) -> ReplyFacts:
    """A self-service question every rule lets through; each test breaks one rule."""
    base: dict[str, object] = {
        "kind": "kb",
        "confident": True,
        "approved": True,
        "priority": "low",
        "predicted_priority": "low",
        "escalation_risk": 0.1,
        "category": "Account Access",
        "subcategory": "Password reset",
        "language": "en",
        "subject": "Password",
        "body": "How do I reset my password?",
    }
    return ReplyFacts(**{**base, **changes})


def _held_for(facts: ReplyFacts) -> list[str]:
    decision = POLICY.decide(facts)
    assert decision.action is ReplyAction.hold
    return decision.reasons


def test_a_plain_self_service_question_is_sent() -> None:
    decision = POLICY.decide(_facts())
    assert (decision.action, decision.reasons) == (ReplyAction.send, [])


@pytest.mark.parametrize("field", ["priority", "predicted_priority"])
@pytest.mark.parametrize("priority", ["urgent", "high", "High"])
def test_never_on_urgent_or_high_priority_predicted_or_set(field: str, priority: str) -> None:
    assert _held_for(_facts(**{field: priority})) == ["priority"]


def test_an_unconfirmed_fallback_priority_sends_only_when_urgent_or_high_is_unlikely() -> None:
    # The head abstained and the desk routed with a fallback "normal": a guess.
    unsure = {"low": 0.3, "normal": 0.45, "high": 0.2, "urgent": 0.05}
    facts = _facts(priority="normal", predicted_priority=None)
    assert _held_for(facts.model_copy(update={"unconfirmed_priority_probabilities": unsure})) == [
        "priority_unsure"
    ]
    sure = {"low": 0.5, "normal": 0.45, "High": 0.04, "urgent": 0.01}
    sent = POLICY.decide(facts.model_copy(update={"unconfirmed_priority_probabilities": sure}))
    assert sent.action is ReplyAction.send
    # The bound is the policy's: a desk that accepts more risk sets it higher.
    lenient = AutoReplyPolicy(unconfirmed_priority_max=0.3)
    relaxed = facts.model_copy(update={"unconfirmed_priority_probabilities": unsure})
    assert lenient.decide(relaxed).action is ReplyAction.send
    # A priority the model or a person set carries no such probabilities: no hold.
    assert POLICY.decide(facts).action is ReplyAction.send


def test_never_at_or_above_the_escalation_risk_threshold() -> None:
    assert _held_for(_facts(escalation_risk=0.7)) == ["escalation_risk"]
    assert POLICY.decide(_facts(escalation_risk=0.69)).action is ReplyAction.send
    strict = AutoReplyPolicy(escalation_risk_threshold=0.3)
    assert strict.decide(_facts(escalation_risk=0.3)).reasons == ["escalation_risk"]


def test_the_models_risk_threshold_holds_unless_one_is_configured() -> None:
    # Unset: the threshold the scoring model chose in training (here 0.2).
    facts = _facts(escalation_risk=0.25, escalation_risk_threshold=0.2)
    assert _held_for(facts) == ["escalation_risk"]
    assert POLICY.decide(_facts(escalation_risk=0.19, escalation_risk_threshold=0.2)).action is (
        ReplyAction.send
    )
    # A configured threshold wins over the model's.
    assert AutoReplyPolicy(escalation_risk_threshold=0.5).decide(facts).action is ReplyAction.send


@pytest.mark.parametrize(
    "body",
    [
        "How do I reset my password? This is unacceptable.",
        "Как сбросить пароль? Это просто недопустимо.",
        "Jak zresetować hasło? Wasza obsługa jest fatalna.",
        "Wie setze ich mein Passwort zurück? Das ist inakzeptabel.",
        "Reset my password NOW!!!",
    ],
)
def test_never_when_the_customer_is_angry_or_complaining(body: str) -> None:
    decision = POLICY.decide(_facts(body=body))
    assert decision.reasons == ["complaint"] and decision.signals["complaint"]


@pytest.mark.parametrize(
    ("category", "subcategory"),
    [
        ("Security", "Suspicious login"),
        ("Security", "Data privacy request"),
        ("Billing", "Double charge"),
        ("legal", None),
    ],
)
def test_never_in_always_a_person_categories(category: str, subcategory: str | None) -> None:
    assert _held_for(_facts(category=category, subcategory=subcategory)) == ["always_human"]


def test_always_a_person_categories_are_configurable() -> None:
    policy = AutoReplyPolicy(always_human=frozenset({"Account Access"}))
    assert policy.decide(_facts()).reasons == ["always_human"]


def test_never_when_the_category_abstains() -> None:
    assert _held_for(_facts(category_abstained=True, category=None)) == ["category_abstained"]


def test_never_in_an_unsupported_language() -> None:
    assert _held_for(_facts(language_supported=False)) == ["unsupported_language"]
    only_en = AutoReplyPolicy(languages=frozenset({"en"}))
    assert only_en.decide(_facts(language="pl")).reasons == ["unsupported_language"]


def test_never_on_a_reopened_ticket() -> None:
    assert _held_for(_facts(reopened=True)) == ["reopened"]


@pytest.mark.parametrize(
    "changes",
    [
        {"follow_up_of": 12},
        {"subject": "Re: Password"},
        {"subject": "AW: Passwort"},
        {"body": "About my previous ticket T-12: the problem is still not solved."},
        {"body": "По моей прошлой заявке: проблема до сих пор не решена."},
        {"body": "Chodzi o moje poprzednie zgłoszenie, problem nadal nie jest rozwiązany."},
        {"body": "Es geht um mein vorheriges Ticket, das Problem ist immer noch nicht gelöst."},
    ],
)
def test_never_on_a_follow_up(changes: dict[str, object]) -> None:
    assert _held_for(_facts(**changes)) == ["follow_up"]


def test_every_rule_that_applies_is_named() -> None:
    reasons = _held_for(_facts(priority="urgent", escalation_risk=0.9, follow_up_of=3))
    assert reasons == ["priority", "escalation_risk", "follow_up"]


def test_an_unapproved_past_reply_is_only_a_suggestion() -> None:
    decision = POLICY.decide(_facts(kind="answer", approved=False))
    assert (decision.action, decision.reasons) == (ReplyAction.suggest, ["unapproved"])
    assert POLICY.decide(_facts(kind="answer", approved=True)).action is ReplyAction.send


def test_an_unsure_match_is_only_a_suggestion() -> None:
    decision = POLICY.decide(_facts(confident=False))
    assert (decision.action, decision.reasons) == (ReplyAction.suggest, ["not_confident"])


def test_calm_messages_raise_no_signal() -> None:
    calm = [
        "Hello, how can I download my invoice for March?",
        "Здравствуйте, как скачать счёт за март?",
        "Dzień dobry, jak pobrać fakturę za marzec?",
        "Guten Tag, wie lade ich meine Rechnung für März herunter?",
    ]
    for text in calm:
        assert complaint_signals(text) == [] and follow_up_signals("Invoice", text) == []
