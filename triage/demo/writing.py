"""What the demo's customers write: the slot values of one ticket and the message built
from a phrase book (`triage.demo.phrases`)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from triage.demo.catalog import (
    HARDWARE_CATEGORIES,
    HARDWARE_PRODUCTS,
    SOFTWARE_PRODUCTS,
    SUBCATEGORIES,
    Subcategory,
)
from triage.demo.phrases import PhraseBook

# Agents answer with the KB article mostly when the customer asks the self-service question
# it covers (the subcategory's last problem phrasing), rarely otherwise: as on a real desk,
# the wording tells whether an article will do or an agent has to act.
SELF_SERVICE_VARIANT = 2
KB_SELF_SERVICE_RATE = 0.97
KB_OTHER_RATE = 0.1

_DEVICES = (
    "iPhone 15",
    "Galaxy S23",
    "Pixel 8",
    "MacBook Air",
    "Windows 11",
    "iPad Air",
    "ThinkPad X1",
)
_ERRORS = (
    "E-4012",
    "ERR_SYNC_503",
    "0x80070005",
    "AUTH-401",
    "TIMEOUT-504",
    "E-1107",
    "ERR_CONN_RESET",
)
_BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
_INTEGRATIONS = ("Salesforce", "Slack", "Shopify", "Zapier", "HubSpot", "Jira")
_PLANS = {
    "free": ("Free", "Basic"),
    "standard": ("Basic", "Pro"),
    "premium": ("Pro",),
    "enterprise": ("Business",),
}
_AMOUNTS = (9.99, 14.99, 19.99, 29.0, 49.0, 59.9, 99.0, 129.0, 249.0)


def slots(
    rng: random.Random, book: PhraseBook, sub: Subcategory, tier: str, created: datetime, email: str
) -> dict:
    products = HARDWARE_PRODUCTS if sub.category in HARDWARE_CATEGORIES else SOFTWARE_PRODUCTS
    earlier: date = (created - timedelta(days=rng.randint(1, 12))).date()
    return {
        "product": rng.choice(products),
        "device": rng.choice(_DEVICES),
        "error": rng.choice(_ERRORS),
        "order": f"ORD-{rng.randint(100000, 999999)}",
        "invoice": f"INV-{created.year}-{rng.randint(10000, 99999)}",
        "amount": book.money(rng.choice(_AMOUNTS)),
        "date": book.day(earlier),
        "plan": rng.choice(_PLANS[tier]),
        "browser": rng.choice(_BROWSERS),
        "version": f"{rng.randint(3, 5)}.{rng.randint(0, 9)}.{rng.randint(0, 12)}",
        "ticket": "",
        "email": email,
        "city": rng.choice(book.cities),
        "integration": rng.choice(_INTEGRATIONS),
    }


def compose(
    rng: random.Random,
    book: PhraseBook,
    sub: Subcategory,
    slots: dict,
    priority: str,
    angry: bool,
    vague: bool,
    mixed: bool,
    follow_up_subject: str | None,
    first_name: str,
) -> tuple[str, str]:
    """Subject and body of one customer message (`follow_up_subject`: the subject of the
    ticket this one follows up, None for a new topic)."""
    if vague:
        subject, body = rng.choice(book.vague)
        return subject, body
    if follow_up_subject is not None:
        subject = rng.choice(book.reply_prefixes) + follow_up_subject
    else:
        subject = rng.choice(book.subjects[sub.key]).format_map(slots)
        if priority == "urgent" and rng.random() < 0.3:
            subject = book.urgent_prefix + subject

    sentences: list[str] = []
    if follow_up_subject is not None:
        sentences.append(rng.choice(book.followups).format_map(slots))
    problems = rng.sample(book.problems[sub.key], k=rng.choice((1, 2, 2, 3)))
    sentences.extend(p.format_map(slots) for p in problems)
    context = rng.sample(book.context[sub.context], k=rng.choice((0, 1, 2, 2)))
    # A follow-up opens by naming the earlier ticket.
    first = 1 if follow_up_subject is not None else 0
    for sentence in context:
        sentences.insert(rng.randrange(first, len(sentences) + 1), sentence.format_map(slots))
    if mixed:
        other = rng.choice([s for s in SUBCATEGORIES if s.category != sub.category])
        sentences.append(
            f"{rng.choice(book.also)} {rng.choice(book.problems[other.key]).format_map(slots)}"
        )
    if priority == "urgent" and rng.random() < 0.75:
        sentences.append(rng.choice(book.urgent))
    elif (priority == "high" and rng.random() < 0.5) or (
        priority == "normal" and rng.random() < 0.08
    ):
        sentences.append(rng.choice(book.high))
    if angry:
        sentences.append(rng.choice(book.anger))

    lines = []
    if rng.random() < 0.85:
        lines.append(rng.choice(book.openers))
    lines.append(" ".join(sentences))
    if rng.random() < 0.8:
        lines.append(f"{rng.choice(book.closings)}\n{first_name}")
    return subject, "\n\n".join(lines)


def agent_answer(
    rng: random.Random,
    book: PhraseBook,
    sub: Subcategory,
    slots: dict,
    body: str,
    vague: bool,
    article_id: str | None,
    agent_name: str,
    first_name: str,
) -> tuple[str | None, str]:
    """The agent's answer to the customer's `body`, and the KB article it quotes (None:
    written for this ticket). `article_id`: the subcategory's article in this language."""
    kb_id = None
    if vague:
        answer_core = book.clarify
    elif (
        sub.kb
        and article_id is not None
        and rng.random()
        < (
            KB_SELF_SERVICE_RATE
            if book.problems[sub.key][SELF_SERVICE_VARIANT].format_map(slots) in body
            else KB_OTHER_RATE
        )
    ):
        kb_id = article_id
        answer_core = book.articles[sub.key][1]
    else:
        answer_core = book.answers[sub.key].format_map(slots)
    agent_first = agent_name.split()[0]
    answer = "\n\n".join(
        (
            rng.choice(book.agent_greetings).format(name=first_name),
            answer_core,
            rng.choice(book.agent_signoffs).format(agent=agent_first),
        )
    )
    return kb_id, answer
