"""The demo desk's taxonomy and service levels: the facts the generator samples from (its
staff is `triage.demo.staff`).

Labels (category and subcategory names, team ids, priorities) are English whatever the
ticket's language, as on a real multilingual desk. Per-subcategory numbers are what make
the labels learnable but not trivial: how often a topic comes in, how severe it usually
is, how long it takes to solve and whether a knowledge-base article can answer it.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.demo.roster import SlaTarget

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
TIERS: tuple[str, ...] = ("free", "standard", "premium", "enterprise")
TIER_WEIGHTS: tuple[float, ...] = (0.35, 0.35, 0.2, 0.1)
LANGUAGES: tuple[str, ...] = ("en", "ru", "pl", "de")
LANGUAGE_WEIGHTS: tuple[float, ...] = (0.58, 0.16, 0.12, 0.14)
CHANNELS: tuple[str, ...] = ("email", "web", "chat", "phone", "api")
CHANNEL_WEIGHTS: tuple[float, ...] = (0.4, 0.25, 0.2, 0.08, 0.07)


@dataclass(frozen=True)
class Subcategory:
    """One leaf of the taxonomy and how tickets about it behave."""

    key: str  # stable slug used by the phrase books
    name: str  # the label a desk sees
    category: str
    team: str
    weight: float  # relative frequency
    severity: float  # 0 = low ... 3 = urgent, before tier and noise
    resolve_hours: float  # median hands-on time to resolve
    context: str  # which group of context sentences fits ("order", "account", ...)
    kb: bool  # a knowledge-base article can answer it


SUBCATEGORIES: tuple[Subcategory, ...] = (
    Subcategory(
        "double_charge", "Double charge", "Billing", "billing", 1.2, 1.6, 20, "billing", False
    ),
    Subcategory("invoice", "Invoice request", "Billing", "billing", 1.3, 0.5, 3, "billing", True),
    Subcategory(
        "payment_failed", "Payment failed", "Billing", "billing", 1.2, 1.3, 6, "billing", True
    ),
    Subcategory(
        "subscription", "Subscription change", "Billing", "billing", 1.0, 0.6, 4, "billing", True
    ),
    Subcategory(
        "password_reset",
        "Password reset",
        "Account Access",
        "accounts",
        1.6,
        1.0,
        1.5,
        "account",
        True,
    ),
    Subcategory(
        "two_factor",
        "Two-factor authentication",
        "Account Access",
        "accounts",
        1.0,
        1.3,
        3,
        "account",
        True,
    ),
    Subcategory(
        "account_locked",
        "Account locked",
        "Account Access",
        "accounts",
        1.1,
        1.7,
        3,
        "account",
        True,
    ),
    Subcategory(
        "app_crash", "App crash", "Technical Issue", "tech-support", 1.1, 1.8, 30, "device", False
    ),
    Subcategory(
        "sync_error", "Sync error", "Technical Issue", "tech-support", 1.0, 1.4, 16, "device", True
    ),
    Subcategory(
        "performance",
        "Slow performance",
        "Technical Issue",
        "tech-support",
        0.8,
        1.0,
        20,
        "device",
        True,
    ),
    Subcategory(
        "integration",
        "Integration error",
        "Technical Issue",
        "tech-support",
        0.7,
        1.7,
        30,
        "account",
        False,
    ),
    Subcategory(
        "delayed",
        "Delayed delivery",
        "Shipping & Delivery",
        "logistics",
        1.5,
        1.1,
        30,
        "order",
        True,
    ),
    Subcategory(
        "lost_package",
        "Lost package",
        "Shipping & Delivery",
        "logistics",
        0.8,
        1.8,
        70,
        "order",
        False,
    ),
    Subcategory(
        "address_change",
        "Address change",
        "Shipping & Delivery",
        "logistics",
        0.7,
        1.2,
        4,
        "order",
        True,
    ),
    Subcategory(
        "return_request",
        "Return request",
        "Returns & Refunds",
        "logistics",
        1.1,
        0.6,
        24,
        "order",
        True,
    ),
    Subcategory(
        "refund_status",
        "Refund status",
        "Returns & Refunds",
        "billing",
        1.1,
        1.1,
        30,
        "order",
        True,
    ),
    Subcategory(
        "exchange", "Exchange", "Returns & Refunds", "logistics", 0.6, 0.6, 36, "order", True
    ),
    Subcategory(
        "pricing", "Pricing and plans", "Product Question", "product", 0.9, 0.2, 2, "general", True
    ),
    Subcategory(
        "compatibility", "Compatibility", "Product Question", "product", 0.7, 0.3, 3, "device", True
    ),
    Subcategory("how_to", "How-to", "Product Question", "product", 1.1, 0.3, 2, "general", True),
    Subcategory(
        "ui_glitch", "UI glitch", "Bug Report", "tech-support", 0.7, 0.6, 60, "device", False
    ),
    Subcategory(
        "data_error", "Wrong data", "Bug Report", "tech-support", 0.6, 1.6, 50, "account", False
    ),
    Subcategory(
        "notifications",
        "Notifications",
        "Bug Report",
        "tech-support",
        0.6,
        0.7,
        40,
        "device",
        False,
    ),
    Subcategory(
        "suspicious_login", "Suspicious login", "Security", "security", 0.6, 2.6, 6, "account", True
    ),
    Subcategory(
        "phishing", "Phishing report", "Security", "security", 0.4, 2.0, 8, "account", True
    ),
    Subcategory(
        "data_request",
        "Data privacy request",
        "Security",
        "security",
        0.4,
        1.0,
        60,
        "account",
        True,
    ),
    Subcategory(
        "new_feature", "New feature", "Feature Request", "product", 0.7, -0.2, 80, "general", False
    ),
    Subcategory(
        "integration_request",
        "Integration request",
        "Feature Request",
        "product",
        0.4,
        0.0,
        80,
        "general",
        False,
    ),
    Subcategory(
        "no_power", "Device won't turn on", "Hardware", "tech-support", 0.7, 1.8, 40, "device", True
    ),
    Subcategory(
        "battery", "Battery problem", "Hardware", "tech-support", 0.6, 1.0, 30, "device", True
    ),
    Subcategory(
        "connectivity", "Connectivity", "Hardware", "tech-support", 0.8, 1.2, 20, "device", True
    ),
)

CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(s.category for s in SUBCATEGORIES))

# Where a tired agent files a ticket by mistake: the label noise follows these lines.
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "Billing": ("Returns & Refunds", "Account Access"),
    "Account Access": ("Security", "Technical Issue"),
    "Technical Issue": ("Bug Report", "Hardware"),
    "Shipping & Delivery": ("Returns & Refunds",),
    "Returns & Refunds": ("Billing", "Shipping & Delivery"),
    "Product Question": ("Feature Request", "Technical Issue"),
    "Bug Report": ("Technical Issue", "Feature Request"),
    "Security": ("Account Access",),
    "Feature Request": ("Product Question", "Bug Report"),
    "Hardware": ("Technical Issue", "Returns & Refunds"),
}

SOFTWARE_PRODUCTS: tuple[str, ...] = (
    "CloudDesk",
    "NovaSync",
    "TaskFlow Pro",
    "Ledgerly",
    "Nimbus Drive",
)
HARDWARE_PRODUCTS: tuple[str, ...] = (
    "HomeHub Mini",
    "Aero X2 router",
    "Pulse smartwatch",
    "Beam 4K camera",
    "SoundBar S1",
)
HARDWARE_CATEGORIES = frozenset({"Hardware", "Shipping & Delivery", "Returns & Refunds"})

# SLA targets per priority, in calendar hours.
SLA: dict[str, SlaTarget] = {
    "urgent": SlaTarget(first_response_hours=1, resolution_hours=8),
    "high": SlaTarget(first_response_hours=4, resolution_hours=24),
    "normal": SlaTarget(first_response_hours=8, resolution_hours=72),
    "low": SlaTarget(first_response_hours=24, resolution_hours=168),
}
