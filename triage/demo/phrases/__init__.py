"""Phrase books: what customers and agents write, per language, per subcategory.

Each language module defines `BOOK`, a `PhraseBook`. Strings may hold slots the generator
fills per ticket: {product} {device} {error} {order} {invoice} {amount} {date} {plan}
{browser} {version} {ticket} {email} {city} {integration}; agent texts also {name}
(the customer's first name) and {agent}.

The language modules are tables of sentences, one a line, 490-530 lines each: they are
over the 400-line limit for modules on purpose, since splitting a language's book by
subcategory would scatter what a translator reviews together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PhraseBook:
    """Everything the generator needs to write tickets and answers in one language."""

    language: str
    # Per subcategory key (see catalog.SUBCATEGORIES).
    subjects: dict[str, tuple[str, ...]]
    problems: dict[str, tuple[str, ...]]
    answers: dict[str, str]
    # Knowledge-base articles, (title, body), for the subcategories this language has them for.
    articles: dict[str, tuple[str, str]]
    # Shared pieces of a customer message.
    openers: tuple[str, ...]
    followups: tuple[str, ...]
    context: dict[str, tuple[str, ...]]  # keyed by Subcategory.context
    also: tuple[str, ...]  # joins a second, unrelated topic
    urgent: tuple[str, ...]
    high: tuple[str, ...]
    anger: tuple[str, ...]
    closings: tuple[str, ...]
    vague: tuple[tuple[str, str], ...]  # (subject, body) that say nearly nothing
    urgent_prefix: str
    reply_prefixes: tuple[str, ...]
    # Agent side.
    agent_greetings: tuple[str, ...]
    agent_signoffs: tuple[str, ...]
    clarify: str  # the answer to a vague ticket
    # People and formats.
    first_names: tuple[str, ...]
    email_domain: str
    cities: tuple[str, ...]
    money: Callable[[float], str]
    day: Callable[[date], str]


def books() -> dict[str, PhraseBook]:
    """The phrase book of every demo language, keyed by ISO 639-1 code."""
    from triage.demo.phrases import de, en, pl, ru

    return {b.language: b for b in (en.BOOK, ru.BOOK, pl.BOOK, de.BOOK)}
