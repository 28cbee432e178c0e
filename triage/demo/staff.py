"""The demo desk's staff: six teams, their managers and twenty agents with their
languages, skills (subcategories of `triage.demo.catalog`), tiers and shifts."""

from __future__ import annotations

from triage.demo.catalog import LANGUAGES, PRIORITIES, SLA, SUBCATEGORIES, TIERS
from triage.demo.roster import Agent, Manager, Roster, Shift, Team

_WEEKDAYS = [0, 1, 2, 3, 4]
_EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def _subs(*categories: str) -> list[str]:
    return [s.name for s in SUBCATEGORIES if s.category in categories]


def _agent(
    agent_id: str,
    name: str,
    team: str,
    tier: str,
    languages: list[str],
    subcategories: list[str],
    shift: tuple[int, int, list[int]],
    manager: str,
) -> Agent:
    by_name = {s.name: s for s in SUBCATEGORIES}
    capacity = {"L1": 25, "L2": 18, "L3": 12}[tier]
    return Agent(
        id=agent_id,
        name=name,
        email=f"{agent_id}@desk.example.com",
        team=team,
        tier=tier,
        languages=languages,
        categories=sorted({by_name[s].category for s in subcategories}),
        subcategories=subcategories,
        capacity=capacity,
        shift=Shift(start_hour=shift[0], end_hour=shift[1], weekdays=shift[2]),
        manager=manager,
    )


def build_roster() -> Roster:
    """The demo desk: six teams, their managers and twenty agents with skills and shifts."""
    day, late, weekend = (8, 17, _WEEKDAYS), (13, 22, _WEEKDAYS), (9, 18, [2, 3, 4, 5, 6])
    on_call = (0, 24, _EVERY_DAY)
    billing = _subs("Billing") + ["Refund status"]
    accounts = _subs("Account Access")
    tech = _subs("Technical Issue", "Bug Report", "Hardware")
    logistics = ["Return request", "Exchange"] + _subs("Shipping & Delivery")
    security = _subs("Security")
    product = _subs("Product Question", "Feature Request")
    managers = [
        Manager(id="m.harris", name="Rachel Harris", email="m.harris@desk.example.com"),
        Manager(id="m.becker", name="Jonas Becker", email="m.becker@desk.example.com"),
        Manager(id="m.nowak", name="Katarzyna Nowak", email="m.nowak@desk.example.com"),
    ]
    agents = [
        _agent("emma.clarke", "Emma Clarke", "billing", "L1", ["en"], billing, day, "m.harris"),
        _agent(
            "olga.ivanova",
            "Olga Ivanova",
            "billing",
            "L1",
            ["en", "ru"],
            billing[:4],
            late,
            "m.harris",
        ),
        _agent(
            "piotr.zielinski",
            "Piotr Zieliński",
            "billing",
            "L2",
            ["en", "pl"],
            billing,
            weekend,
            "m.harris",
        ),
        _agent(
            "lena.schmidt", "Lena Schmidt", "billing", "L3", ["en", "de"], billing, day, "m.harris"
        ),
        _agent(
            "daniel.wright",
            "Daniel Wright",
            "accounts",
            "L1",
            ["en", "de"],
            accounts,
            late,
            "m.harris",
        ),
        _agent(
            "irina.sokolova",
            "Irina Sokolova",
            "accounts",
            "L1",
            ["en", "ru"],
            accounts,
            day,
            "m.harris",
        ),
        _agent(
            "marta.wisniewska",
            "Marta Wiśniewska",
            "accounts",
            "L2",
            ["en", "pl"],
            accounts,
            weekend,
            "m.harris",
        ),
        _agent("tom.baker", "Tom Baker", "tech-support", "L1", ["en"], tech, day, "m.becker"),
        _agent(
            "sergey.petrov",
            "Sergey Petrov",
            "tech-support",
            "L1",
            ["en", "ru"],
            tech,
            late,
            "m.becker",
        ),
        _agent(
            "jakub.kaminski",
            "Jakub Kamiński",
            "tech-support",
            "L2",
            ["en", "pl"],
            tech[:4] + tech[7:],
            day,
            "m.becker",
        ),
        _agent(
            "felix.wagner",
            "Felix Wagner",
            "tech-support",
            "L2",
            ["en", "de"],
            tech[:7],
            weekend,
            "m.becker",
        ),
        _agent("priya.shah", "Priya Shah", "tech-support", "L3", ["en"], tech, day, "m.becker"),
        _agent(
            "anna.kowalczyk",
            "Anna Kowalczyk",
            "logistics",
            "L1",
            ["en", "pl"],
            logistics,
            day,
            "m.nowak",
        ),
        _agent(
            "max.hoffmann",
            "Max Hoffmann",
            "logistics",
            "L1",
            ["en", "de"],
            logistics,
            late,
            "m.nowak",
        ),
        _agent(
            "dmitry.volkov",
            "Dmitry Volkov",
            "logistics",
            "L2",
            ["en", "ru"],
            logistics,
            weekend,
            "m.nowak",
        ),
        _agent(
            "sarah.mitchell",
            "Sarah Mitchell",
            "security",
            "L2",
            ["en", "ru"],
            security,
            on_call,
            "m.becker",
        ),
        _agent(
            "stefan.braun",
            "Stefan Braun",
            "security",
            "L3",
            ["en", "de", "pl"],
            security,
            day,
            "m.becker",
        ),
        _agent("james.cooper", "James Cooper", "product", "L1", ["en"], product, day, "m.nowak"),
        _agent(
            "agnieszka.lewandowska",
            "Agnieszka Lewandowska",
            "product",
            "L2",
            ["en", "pl"],
            product,
            late,
            "m.nowak",
        ),
        _agent(
            "julia.fischer",
            "Julia Fischer",
            "product",
            "L2",
            ["en", "de", "ru"],
            product,
            day,
            "m.nowak",
        ),
    ]
    teams = [
        Team(
            id="billing",
            name="Billing",
            manager="m.harris",
            categories=["Billing", "Returns & Refunds"],
        ),
        Team(id="accounts", name="Accounts", manager="m.harris", categories=["Account Access"]),
        Team(
            id="tech-support",
            name="Technical support",
            manager="m.becker",
            categories=["Technical Issue", "Bug Report", "Hardware"],
        ),
        Team(
            id="logistics",
            name="Logistics",
            manager="m.nowak",
            categories=["Shipping & Delivery", "Returns & Refunds"],
        ),
        Team(id="security", name="Security", manager="m.becker", categories=["Security"]),
        Team(
            id="product",
            name="Product",
            manager="m.nowak",
            categories=["Product Question", "Feature Request"],
        ),
    ]
    return Roster(
        name="Demo desk",
        timezone="UTC",
        languages=list(LANGUAGES),
        priorities=list(PRIORITIES),
        customer_tiers=list(TIERS),
        sla=dict(SLA),
        managers=managers,
        teams=teams,
        agents=agents,
    )
