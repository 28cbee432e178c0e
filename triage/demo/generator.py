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

import math
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from triage.contract import KBArticle, Ticket
from triage.demo.catalog import (
    CATEGORIES,
    CHANNEL_WEIGHTS,
    CHANNELS,
    HARDWARE_CATEGORIES,
    HARDWARE_PRODUCTS,
    LANGUAGE_WEIGHTS,
    LANGUAGES,
    NEIGHBOURS,
    PRIORITIES,
    SLA,
    SOFTWARE_PRODUCTS,
    SUBCATEGORIES,
    TIER_WEIGHTS,
    TIERS,
    Subcategory,
)
from triage.demo.phrases import PhraseBook, books
from triage.demo.roster import Agent, Roster
from triage.demo.staff import build_roster

DEFAULT_START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
DEFAULT_DAYS = 182

FLIP_RATE = 0.08
MIXED_RATE = 0.06
VAGUE_RATE = 0.035
PRIORITY_NOISE = 0.12
FOLLOW_UP_RATE = 0.10
SPIKE_SHARE = 0.05
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
_WEEKDAY_WEIGHT = (1.25, 1.15, 1.1, 1.05, 0.95, 0.45, 0.35)
_HOUR_WEIGHT = (
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.4, 1.9, 2.0, 1.9,
    1.7, 1.8, 1.9, 1.8, 1.6, 1.3, 1.0, 0.8, 0.6, 0.45, 0.3, 0.2,
)  # fmt: skip
_TIER_SEVERITY = {"free": -0.35, "standard": 0.0, "premium": 0.3, "enterprise": 0.6}
_TIER_SPEED = {"free": 1.5, "standard": 1.0, "premium": 0.75, "enterprise": 0.55}
_PRIORITY_SPEED = {"low": 1.6, "normal": 1.0, "high": 0.5, "urgent": 0.25}
_FIRST_RESPONSE_HOURS = {"email": 2.6, "web": 2.2, "chat": 0.15, "phone": 0.05, "api": 2.8}
_ANGRY_TOPICS = frozenset({"double_charge", "lost_package", "refund_status", "account_locked"})


@dataclass
class DemoData:
    """A generated history: tickets in time order, KB articles, the roster, and the planted noise."""

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


def _timestamps(
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
    articles, ids = [], {}
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


def _coverage(roster: Roster) -> dict[str, list[list[bool]]]:
    """Per team, [weekday][hour] -> is any agent on shift."""
    cover = {}
    for team in roster.teams:
        agents = roster.agents_of(team.id)
        cover[team.id] = [
            [any(a.shift.covers(d, h) for a in agents) for h in range(24)] for d in range(7)
        ]
    return cover


def _hours_until_covered(grid: list[list[bool]], when: datetime) -> float:
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


def _slots(
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


def _pick_agent(
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


def generate(
    tickets: int = 6000, seed: int = 7, start: datetime = DEFAULT_START, days: int = DEFAULT_DAYS
) -> DemoData:
    """Generate `tickets` tickets over `days` days from `start`; the same seed gives the same data."""
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    if days < 30:
        raise ValueError("days must be at least 30")
    rng = random.Random(seed)
    phrase_books = books()
    roster = build_roster()
    articles, article_ids = _articles(phrase_books)
    coverage = _coverage(roster)
    team_agents = {t.id: roster.agents_of(t.id) for t in roster.teams}
    by_category: dict[str, list[Subcategory]] = {
        c: [s for s in SUBCATEGORIES if s.category == c] for c in CATEGORIES
    }
    sub_weights = [s.weight for s in SUBCATEGORIES]
    total_weight = sum(sub_weights)
    team_daily = Counter()
    for s in SUBCATEGORIES:
        team_daily[s.team] += tickets * s.weight / total_weight / days

    customers = _customers(rng, max(100, tickets // 3), phrase_books)
    activity = [rng.paretovariate(1.6) for _ in customers]
    cum_activity = list(_accumulate(activity))

    recent: dict[str, deque[datetime]] = {t.id: deque() for t in roster.teams}
    unhappy: deque[_Past] = deque()  # earlier tickets a customer may write again about
    out: list[Ticket] = []
    flipped: list[str] = []

    for index, (created, spike) in enumerate(_timestamps(rng, tickets, start, days)):
        ticket_id = f"DEMO-{index + 1:06d}"
        while unhappy and created - unhappy[0].created_at > timedelta(days=14):
            unhappy.popleft()
        previous = None
        if unhappy and rng.random() < FOLLOW_UP_RATE:
            at = rng.randrange(len(unhappy))
            if unhappy[at].created_at + timedelta(hours=6) <= created:
                previous = unhappy[at]
                del unhappy[at]  # one follow-up per ticket
        if previous is not None:
            customer_index = previous.customer
            sub = previous.sub
        else:
            customer_index = rng.choices(range(len(customers)), cum_weights=cum_activity)[0]
            if spike is not None and rng.random() < 0.8:
                sub = next(s for s in SUBCATEGORIES if s.key == spike)
            else:
                sub = rng.choices(SUBCATEGORIES, weights=sub_weights)[0]
        customer = customers[customer_index]
        language, tier = customer.language, customer.tier
        book = phrase_books[language]
        follow_up = previous is not None

        channel = rng.choices(CHANNELS, weights=CHANNEL_WEIGHTS)[0]
        if sub.key in ("integration", "data_error") and rng.random() < 0.3:
            channel = "api"

        severity = (
            sub.severity
            + _TIER_SEVERITY[tier]
            + rng.gauss(0.0, 0.55)
            + (0.45 if follow_up else 0.0)
        )
        true_priority = PRIORITIES[min(3, max(0, round(severity)))]
        priority = true_priority
        if rng.random() < PRIORITY_NOISE:
            level = PRIORITIES.index(priority) + rng.choice((-1, 1))
            priority = PRIORITIES[min(3, max(0, level))]

        angry_p = (
            0.05 + 0.3 * follow_up + 0.1 * (sub.key in _ANGRY_TOPICS) + 0.05 * (tier == "free")
        )
        angry = rng.random() < angry_p
        vague = not follow_up and rng.random() < VAGUE_RATE
        mixed = not vague and rng.random() < MIXED_RATE

        slots = _slots(rng, book, sub, tier, created, customer.email)
        if follow_up:
            slots["ticket"] = previous.id
        written, body = _compose(
            rng, book, sub, slots, true_priority, angry, vague, mixed, previous, customer
        )
        # Chat transcripts often come without a subject line.
        subject = "" if channel == "chat" and rng.random() < 0.5 else written

        # Labels as the agent filed them: sometimes under a neighbouring category.
        label_sub = sub
        if rng.random() < FLIP_RATE:
            label_sub = rng.choice(by_category[rng.choice(NEIGHBOURS[sub.category])])
            flipped.append(ticket_id)
        team = label_sub.team

        # Load: the team's tickets over the last 24 hours against its usual daily volume.
        window = recent[team]
        while window and created - window[0] > timedelta(hours=24):
            window.popleft()
        window.append(created)
        load = len(window) / max(team_daily[team], 1.0)
        slow = 1.0 + 1.4 * max(0.0, load - 1.3)

        target = SLA[priority]
        wait = _hours_until_covered(coverage[team], created)
        if priority in ("urgent", "high"):
            wait *= 0.4 if priority == "urgent" else 0.7  # on-call staff are paged
        first_response = wait + _FIRST_RESPONSE_HOURS[channel] * _PRIORITY_SPEED[
            priority
        ] * _TIER_SPEED[tier] * slow * rng.lognormvariate(0.0, 0.7)
        work = sub.resolve_hours * _PRIORITY_SPEED[priority] * math.sqrt(_TIER_SPEED[tier]) * slow
        work *= (
            (1.6 if follow_up else 1.0) * (1.2 if mixed else 1.0) * rng.lognormvariate(0.0, 0.75)
        )
        calendar = 0.55 if priority == "urgent" else 0.8  # hands-on hours spread over shifts
        resolution = work * calendar
        # Nobody answers within the first minute; breaches are judged on the stored times.
        first_response_at = created + timedelta(seconds=round(first_response * 3600) + 60)
        resolved_at = first_response_at + timedelta(seconds=round(resolution * 3600) + 60)
        breached = first_response_at - created > timedelta(hours=target.first_response_hours) or (
            resolved_at - created > timedelta(hours=target.resolution_hours)
        )

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
        escalated = rng.random() < 1.0 / (1.0 + math.exp(-logit))

        agent = _pick_agent(
            rng, team_agents[team], language, label_sub, priority, first_response_at, escalated
        )

        kb_id = None
        if vague:
            answer_core = book.clarify
        elif (
            sub.kb
            and (language, sub.key) in article_ids
            and rng.random()
            < (
                KB_SELF_SERVICE_RATE
                if book.problems[sub.key][SELF_SERVICE_VARIANT].format_map(slots) in body
                else KB_OTHER_RATE
            )
        ):
            kb_id = article_ids[(language, sub.key)]
            answer_core = book.articles[sub.key][1]
        else:
            answer_core = book.answers[sub.key].format_map(slots)
        agent_first = agent.name.split()[0]
        answer = "\n\n".join(
            (
                rng.choice(book.agent_greetings).format(name=customer.first_name),
                answer_core,
                rng.choice(book.agent_signoffs).format(agent=agent_first),
            )
        )

        tags = []
        if follow_up:
            tags.append("follow-up")
        if tier == "enterprise":
            tags.append("vip")
        if spike is not None and sub.key == spike and rng.random() < 0.5:
            tags.append("outage")
        extra: dict[str, str | int | float | bool | None] = {"product": slots["product"]}
        if follow_up:
            extra["follow_up_of"] = previous.id

        ticket = Ticket(
            id=ticket_id,
            created_at=created,
            channel=channel,
            subject=subject,
            body=body,
            requester=customer.email,
            customer_tier=tier,
            language=language,
            tags=tags,
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
        out.append(ticket)
        if not vague and (breached or escalated or angry or rng.random() < 0.04):
            unhappy.append(_Past(ticket_id, created, customer_index, sub, written))

    return DemoData(tickets=out, articles=articles, roster=roster, flipped=frozenset(flipped))


def _accumulate(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


def _compose(
    rng: random.Random,
    book: PhraseBook,
    sub: Subcategory,
    slots: dict,
    priority: str,
    angry: bool,
    vague: bool,
    mixed: bool,
    previous: _Past | None,
    customer: _Customer,
) -> tuple[str, str]:
    """Subject and body of one customer message."""
    if vague:
        subject, body = rng.choice(book.vague)
        return subject, body
    if previous is not None:
        subject = rng.choice(book.reply_prefixes) + previous.subject
    else:
        subject = rng.choice(book.subjects[sub.key]).format_map(slots)
        if priority == "urgent" and rng.random() < 0.3:
            subject = book.urgent_prefix + subject

    sentences: list[str] = []
    if previous is not None:
        sentences.append(rng.choice(book.followups).format_map(slots))
    problems = rng.sample(book.problems[sub.key], k=rng.choice((1, 2, 2, 3)))
    sentences.extend(p.format_map(slots) for p in problems)
    context = rng.sample(book.context[sub.context], k=rng.choice((0, 1, 2, 2)))
    first = 1 if previous is not None else 0  # a follow-up opens by naming the earlier ticket
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
        lines.append(f"{rng.choice(book.closings)}\n{customer.first_name}")
    return subject, "\n\n".join(lines)
