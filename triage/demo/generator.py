"""Seeded generator of a realistic multilingual help-desk history.

One `random.Random(seed)` drives every choice, in a fixed order, so the same seed gives
the same tickets byte for byte. Tickets are produced in time order, which lets the load
on a team (its tickets over the last 24 hours) slow its answers, and lets follow-ups
point at earlier tickets that went badly.

What a model can learn from it, on purpose:
- category/subcategory from the wording (per-language templates), but not perfectly:
  ~8% of labels are flipped to a neighbouring category, ~6% of texts mix two topics and
  ~3.5% are too vague to classify;
- priority from the subcategory, the customer tier and urgency wording, with noise;
- SLA breach from priority, channel, tier, category, time of day/week (shift coverage),
  follow-up wording ("again", "still") and team load;
- escalation from breaches, anger wording, tier and priority;
- auto-replies: about a third of the answers are knowledge-base articles.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from triage.contract import KBArticle, Ticket
from triage.demo.catalog import (
    CATEGORIES,
    CHANNEL_WEIGHTS,
    CHANNELS,
    LANGUAGE_WEIGHTS,
    LANGUAGES,
    NEIGHBOURS,
    PRIORITIES,
    SUBCATEGORIES,
    TIER_WEIGHTS,
    TIERS,
    Subcategory,
)
from triage.demo.outcomes import escalates, pick_agent, service_times
from triage.demo.phrases import PhraseBook, books
from triage.demo.roster import Roster
from triage.demo.staff import build_roster
from triage.demo.timing import coverage, hours_until_covered, timestamps
from triage.demo.writing import agent_answer, compose
from triage.demo.writing import slots as write_slots

DEFAULT_START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
DEFAULT_DAYS = 182

FLIP_RATE = 0.08
MIXED_RATE = 0.06
VAGUE_RATE = 0.035
PRIORITY_NOISE = 0.12
FOLLOW_UP_RATE = 0.10

_TIER_SEVERITY = {"free": -0.35, "standard": 0.0, "premium": 0.3, "enterprise": 0.6}
_ANGRY_TOPICS = frozenset({"double_charge", "lost_package", "refund_status", "account_locked"})


@dataclass
class DemoData:
    """A generated history: tickets in time order, KB articles, the roster, and the planted
    noise."""

    tickets: list[Ticket]
    articles: list[KBArticle]
    roster: Roster
    flipped: frozenset[str] = field(default_factory=frozenset)  # ids whose category label is wrong


@dataclass
class _Past:
    """What a follow-up needs to know about an earlier ticket."""

    id: str
    created_at: datetime
    customer: int
    sub: Subcategory
    subject: str


@dataclass(frozen=True)
class _Customer:
    email: str
    language: str
    tier: str
    first_name: str


def _customers(rng: random.Random, n: int, phrase_books: dict[str, PhraseBook]) -> list[_Customer]:
    people = []
    for i in range(n):
        language = rng.choices(LANGUAGES, weights=LANGUAGE_WEIGHTS)[0]
        book = phrase_books[language]
        people.append(
            _Customer(
                email=f"customer{i:05d}@{book.email_domain}",
                language=language,
                tier=rng.choices(TIERS, weights=TIER_WEIGHTS)[0],
                first_name=rng.choice(book.first_names),
            )
        )
    return people


def _articles(
    phrase_books: dict[str, PhraseBook],
) -> tuple[list[KBArticle], dict[tuple[str, str], str]]:
    articles: list[KBArticle] = []
    ids: dict[tuple[str, str], str] = {}
    for language in LANGUAGES:
        book = phrase_books[language]
        for sub in SUBCATEGORIES:
            if sub.key not in book.articles:
                continue
            article_id = f"KB-{len(articles) + 1:04d}"
            title, body = book.articles[sub.key]
            articles.append(
                KBArticle(
                    id=article_id,
                    title=title,
                    body=body,
                    category=sub.category,
                    subcategory=sub.name,
                    language=language,
                )
            )
            ids[(language, sub.key)] = article_id
    return articles, ids


def generate(
    tickets: int = 6000, seed: int = 7, start: datetime = DEFAULT_START, days: int = DEFAULT_DAYS
) -> DemoData:
    """Generate `tickets` tickets over `days` days from `start`; the same seed gives the
    same data."""
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    if days < 30:
        raise ValueError("days must be at least 30")
    rng = random.Random(seed)
    history = _History(rng, tickets, days)
    for index, (created, spike) in enumerate(timestamps(rng, tickets, start, days)):
        history.add(f"DEMO-{index + 1:06d}", created, spike)
    return DemoData(
        tickets=history.tickets,
        articles=history.articles,
        roster=history.roster,
        flipped=frozenset(history.flipped),
    )


class _History:
    """The desk's history as it is written, one ticket after another.

    Every random choice comes from the one `rng`, in the order of the steps of `add`:
    reordering two steps changes every ticket after them (the seed's promise is byte
    for byte).
    """

    def __init__(self, rng: random.Random, tickets: int, days: int) -> None:
        self.rng = rng
        self.books = books()
        self.roster = build_roster()
        self.articles, self.article_ids = _articles(self.books)
        self.coverage = coverage(self.roster)
        self.team_agents = {t.id: self.roster.agents_of(t.id) for t in self.roster.teams}
        self.by_category: dict[str, list[Subcategory]] = {
            c: [s for s in SUBCATEGORIES if s.category == c] for c in CATEGORIES
        }
        self.sub_weights = [s.weight for s in SUBCATEGORIES]
        total_weight = sum(self.sub_weights)
        self.team_daily: defaultdict[str, float] = defaultdict(float)
        for s in SUBCATEGORIES:
            self.team_daily[s.team] += tickets * s.weight / total_weight / days
        self.customers = _customers(rng, max(100, tickets // 3), self.books)
        activity = [rng.paretovariate(1.6) for _ in self.customers]
        self.cum_activity = list(_accumulate(activity))
        self.recent: dict[str, deque[datetime]] = {t.id: deque() for t in self.roster.teams}
        self.unhappy: deque[_Past] = deque()  # earlier tickets a customer may write again about
        self.tickets: list[Ticket] = []
        self.flipped: list[str] = []

    def add(self, ticket_id: str, created: datetime, spike: str | None) -> None:
        """Write the next ticket, created at `created` (during the incident `spike`, if any)."""
        rng = self.rng
        previous = self._follow_up_of(created)
        customer_index, sub = self._topic(previous, spike)
        customer = self.customers[customer_index]
        language, tier = customer.language, customer.tier
        book = self.books[language]
        follow_up = previous is not None
        channel = _channel(rng, sub)
        true_priority, priority = _priorities(rng, sub, tier, follow_up)
        angry, vague, mixed = _mood(rng, sub, tier, follow_up)

        slots = write_slots(rng, book, sub, tier, created, customer.email)
        if previous is not None:
            slots["ticket"] = previous.id
        written, body = compose(
            rng,
            book,
            sub,
            slots,
            true_priority,
            angry,
            vague,
            mixed,
            previous.subject if previous is not None else None,
            customer.first_name,
        )
        # Chat transcripts often come without a subject line.
        subject = "" if channel == "chat" and rng.random() < 0.5 else written

        label_sub = self._filed_under(sub, ticket_id)
        team = label_sub.team
        load, slow = self._load(team, created)
        first_response_at, resolved_at, breached = service_times(
            rng,
            hours_until_covered(self.coverage[team], created),
            sub,
            channel,
            priority,
            tier,
            created,
            slow,
            follow_up,
            mixed,
        )
        escalated = escalates(rng, sub, tier, priority, breached, angry, follow_up, load)
        agent = pick_agent(
            rng, self.team_agents[team], language, label_sub, priority, first_response_at, escalated
        )
        kb_id, answer = agent_answer(
            rng,
            book,
            sub,
            slots,
            body,
            vague,
            self.article_ids.get((language, sub.key)),
            agent.name,
            customer.first_name,
        )

        extra: dict[str, str | int | float | bool | None] = {"product": slots["product"]}
        if previous is not None:
            extra["follow_up_of"] = previous.id
        self.tickets.append(
            Ticket(
                id=ticket_id,
                created_at=created,
                channel=channel,
                subject=subject,
                body=body,
                requester=customer.email,
                customer_tier=tier,
                language=language,
                tags=_tags(rng, sub, tier, spike, follow_up),
                category=label_sub.category,
                subcategory=label_sub.name,
                priority=priority,
                team=team,
                assignee=agent.id,
                escalated=escalated,
                sla_breached=breached,
                first_response_at=first_response_at,
                resolved_at=resolved_at,
                agent_answer=answer,
                kb_article_id=kb_id,
                extra=extra,
            )
        )
        if not vague and (breached or escalated or angry or rng.random() < 0.04):
            self.unhappy.append(_Past(ticket_id, created, customer_index, sub, written))

    def _follow_up_of(self, created: datetime) -> _Past | None:
        """The earlier unhappy ticket this one follows up, if the customer writes again."""
        unhappy = self.unhappy
        while unhappy and created - unhappy[0].created_at > timedelta(days=14):
            unhappy.popleft()
        if unhappy and self.rng.random() < FOLLOW_UP_RATE:
            at = self.rng.randrange(len(unhappy))
            if unhappy[at].created_at + timedelta(hours=6) <= created:
                previous = unhappy[at]
                del unhappy[at]  # one follow-up per ticket
                return previous
        return None

    def _topic(self, previous: _Past | None, spike: str | None) -> tuple[int, Subcategory]:
        """Who writes (an index into the customers) and about what."""
        if previous is not None:
            return previous.customer, previous.sub
        rng = self.rng
        customer_index = rng.choices(range(len(self.customers)), cum_weights=self.cum_activity)[0]
        if spike is not None and rng.random() < 0.8:
            return customer_index, next(s for s in SUBCATEGORIES if s.key == spike)
        return customer_index, rng.choices(SUBCATEGORIES, weights=self.sub_weights)[0]

    def _filed_under(self, sub: Subcategory, ticket_id: str) -> Subcategory:
        """Labels as the agent filed them: sometimes under a neighbouring category."""
        rng = self.rng
        if rng.random() < FLIP_RATE:
            self.flipped.append(ticket_id)
            return rng.choice(self.by_category[rng.choice(NEIGHBOURS[sub.category])])
        return sub

    def _load(self, team: str, created: datetime) -> tuple[float, float]:
        """The team's tickets over the last 24 hours against its usual daily volume, and
        how much that slows its answers."""
        window = self.recent[team]
        while window and created - window[0] > timedelta(hours=24):
            window.popleft()
        window.append(created)
        load = len(window) / max(self.team_daily[team], 1.0)
        return load, 1.0 + 1.4 * max(0.0, load - 1.3)


def _channel(rng: random.Random, sub: Subcategory) -> str:
    channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
    if sub.key in ("integration", "data_error") and rng.random() < 0.3:
        channel = "api"
    return channel


def _priorities(
    rng: random.Random, sub: Subcategory, tier: str, follow_up: bool
) -> tuple[str, str]:
    """The ticket's true urgency, and the priority filed (with noise)."""
    severity = (
        sub.severity + _TIER_SEVERITY[tier] + rng.gauss(0.0, 0.55) + (0.45 if follow_up else 0.0)
    )
    true_priority = PRIORITIES[min(3, max(0, round(severity)))]
    priority = true_priority
    if rng.random() < PRIORITY_NOISE:
        level = PRIORITIES.index(priority) + rng.choice((-1, 1))
        priority = PRIORITIES[min(3, max(0, level))]
    return true_priority, priority


def _mood(
    rng: random.Random, sub: Subcategory, tier: str, follow_up: bool
) -> tuple[bool, bool, bool]:
    """Whether the customer writes angry, vaguely, or about two topics at once."""
    angry_p = 0.05 + 0.3 * follow_up + 0.1 * (sub.key in _ANGRY_TOPICS) + 0.05 * (tier == "free")
    angry = rng.random() < angry_p
    vague = not follow_up and rng.random() < VAGUE_RATE
    mixed = not vague and rng.random() < MIXED_RATE
    return angry, vague, mixed


def _tags(
    rng: random.Random, sub: Subcategory, tier: str, spike: str | None, follow_up: bool
) -> list[str]:
    tags = []
    if follow_up:
        tags.append("follow-up")
    if tier == "enterprise":
        tags.append("vip")
    if spike is not None and sub.key == spike and rng.random() < 0.5:
        tags.append("outage")
    return tags


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out
