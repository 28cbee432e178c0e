"""Champion against challenger on the same live tickets: agreement, and accuracy against
the human labels that arrived since, with 95% confidence intervals.

Only tickets both models scored count: the champion's answer is on the ticket (it
acted), the challenger's in `shadow_predictions`. A ticket is labelled for a head once a
person settled it (solved or closed) or corrected that field; its final value is the
label. An abstention is never correct: accuracy here is "answered and right", so a
model cannot win by abstaining more.
"""

from __future__ import annotations

import math
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.health.quality import SETTLED_STATUSES
from triage.health.versions import of_version
from triage.store.models import CorrectionRow, ShadowRow, TicketRow

_Z95 = 1.959964


class Interval(BaseModel):
    """A proportion (or difference) with its 95% confidence interval."""

    value: float | None
    low: float | None
    high: float | None


class Comparison(BaseModel):
    """Champion and challenger on the tickets both scored, for one head."""

    head: str
    champion: str
    challenger: str
    shadowed: int  # tickets both scored
    shadow_since: datetime | None
    shadow_days: float
    agreement: Interval  # same answer (abstentions included)
    labelled: int
    champion_accuracy: Interval
    challenger_accuracy: Interval
    difference: Interval  # challenger - champion, paired


def wilson(successes: int, n: int) -> Interval:
    """The Wilson score interval of a proportion (sound at small n and near 0 or 1)."""
    if n == 0:
        return Interval(value=None, low=None, high=None)
    p = successes / n
    denominator = 1 + _Z95**2 / n
    centre = (p + _Z95**2 / (2 * n)) / denominator
    half = _Z95 * math.sqrt(p * (1 - p) / n + _Z95**2 / (4 * n * n)) / denominator
    return Interval(value=round(p, 4), low=round(centre - half, 4), high=round(centre + half, 4))


def paired_difference(differences: list[int]) -> Interval:
    """Mean of paired differences (each -1, 0 or 1) with a normal-approximation interval."""
    n = len(differences)
    if n == 0:
        return Interval(value=None, low=None, high=None)
    mean = sum(differences) / n
    variance = sum((d - mean) ** 2 for d in differences) / (n - 1) if n > 1 else 0.0
    half = _Z95 * math.sqrt(variance / n)
    return Interval(value=round(mean, 4), low=round(mean - half, 4), high=round(mean + half, 4))


def compare_models(
    session: Session,
    champion: str,
    challenger: str,
    *,
    head: str = "category",
    now: datetime,
    since: datetime | None = None,
) -> Comparison:
    """Compare the versions `champion` and `challenger` on `head` (see the module doc)."""
    predicted = getattr(TicketRow, f"predicted_{head}")
    final = getattr(TicketRow, head)
    shadow = getattr(ShadowRow, head)
    corrected = select(CorrectionRow.ticket_id).where(CorrectionRow.field == head)
    where = [
        of_version(ShadowRow.model_version, challenger),
        of_version(TicketRow.model_version, champion),
    ]
    if since is not None:
        where.append(TicketRow.created_at >= since)
    rows = session.execute(
        select(
            predicted,
            shadow,
            final,
            TicketRow.status.in_(SETTLED_STATUSES) | TicketRow.id.in_(corrected),
        )
        .join(ShadowRow, ShadowRow.ticket_id == TicketRow.id)
        .where(*where)
    ).all()
    first = session.scalar(select(func.min(ShadowRow.created_at)).where(*where[:1]))
    agree = sum(1 for p, s, _, _ in rows if p == s)
    labelled = [(p, s, f) for p, s, f, settled in rows if settled and f is not None]
    champion_right = [int(p is not None and p == f) for p, _, f in labelled]
    challenger_right = [int(s is not None and s == f) for _, s, f in labelled]
    return Comparison(
        head=head,
        champion=champion,
        challenger=challenger,
        shadowed=len(rows),
        shadow_since=first,
        shadow_days=round((now - first).total_seconds() / 86400, 2) if first else 0.0,
        agreement=wilson(agree, len(rows)),
        labelled=len(labelled),
        champion_accuracy=wilson(sum(champion_right), len(labelled)),
        challenger_accuracy=wilson(sum(challenger_right), len(labelled)),
        difference=paired_difference(
            [c - b for b, c in zip(champion_right, challenger_right, strict=True)]
        ),
    )


def shadow_verdict(comparison: Comparison, *, min_tickets: int, min_days: float) -> str | None:
    """Why the challenger may not be promoted from shadow yet (None: it may): too few
    labelled tickets, too short a shadow period."""
    if comparison.labelled < min_tickets:
        return (
            f"only {comparison.labelled} labelled tickets compared in shadow "
            f"(at least {min_tickets} required)"
        )
    if comparison.shadow_days < min_days:
        return f"in shadow for {comparison.shadow_days} days (at least {min_days} required)"
    return None
