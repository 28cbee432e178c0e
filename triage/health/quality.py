"""Live quality per model version and head, computed from what the desk stored.

The desk keeps what the model said (`predicted_*`, `model_version`) apart from what
people decided (the ticket's fields, and a `CorrectionRow` for every override). From
those, per model version and head:

- **abstention rate**: scored tickets on which the head abstained (a person decides);
- **acceptance rate**: answered predictions people kept, i.e. not overridden so far;
- **realized precision**: among answered predictions a person has settled (the ticket
  is solved or closed, or the field was corrected, and the field has a value), the
  share equal to the final value;
- **auto-reply resolution rate**: auto-replies the customer marked solved, of those
  answered either way.

Only aggregate queries: no ticket is loaded. `since` restricts everything to tickets
created from that moment, so a caller can watch a recent window.

The assignee head is an input of the assigner, never applied directly: its "final
value" is whoever worked the ticket, so its precision reads as "the assigner agreed".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from triage.store.models import CorrectionRow, TicketRow

# The heads whose answers the desk stores as `predicted_<head>` (desk.ledger's list).
QUALITY_HEADS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee")
# A person has seen the ticket to its end: its fields are the human labels.
SETTLED_STATUSES: tuple[str, ...] = ("solved", "closed")


class HeadQuality(BaseModel):
    """One head of one model version, live."""

    head: str
    scored: int  # tickets this version scored on which the head answered or abstained
    answered: int  # the head gave a label (not abstained)
    abstained: int
    corrected: int  # answered predictions a person overrode
    labelled: int  # answered predictions with a human label (settled or corrected)
    correct: int  # labelled predictions equal to the final value
    abstention_rate: float | None
    acceptance_rate: float | None
    realized_precision: float | None


class VersionQuality(BaseModel):
    """Everything measured about one model version."""

    model_version: str
    scored: int
    heads: list[HeadQuality]
    auto_replies_sent: int
    auto_replies_resolved: int
    auto_replies_reopened: int
    auto_reply_resolution_rate: float | None


class ModelHealth(BaseModel):
    """Live quality of every model version that scored tickets on this desk."""

    since: datetime | None = None
    versions: list[VersionQuality]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _heads_present(session: Session, since: datetime | None) -> dict[str, set[str]]:
    """Per version, the heads its results carried (one stored result per version is
    enough: a bundle's heads do not change)."""
    where: list[ColumnElement[bool]] = [
        TicketRow.model_version.is_not(None),
        TicketRow.prediction.is_not(None),
    ]
    if since is not None:
        where.append(TicketRow.created_at >= since)
    first = (
        select(func.min(TicketRow.id)).where(*where).group_by(TicketRow.model_version).subquery()
    )
    rows = session.execute(
        select(TicketRow.model_version, TicketRow.prediction).where(TicketRow.id.in_(select(first)))
    ).all()
    present: dict[str, set[str]] = {}
    for version, prediction in rows:
        result: dict[str, Any] = prediction or {}
        present[str(version)] = {h for h in QUALITY_HEADS if result.get(h) is not None}
    return present


def _head_rows(session: Session, head: str, since: datetime | None) -> dict[str, tuple[int, ...]]:
    """Per version: (scored, answered, corrected, labelled, correct) for `head`."""
    predicted = getattr(TicketRow, f"predicted_{head}")
    final = getattr(TicketRow, head)
    corrected_ids = select(CorrectionRow.ticket_id).where(
        CorrectionRow.field == head, CorrectionRow.predicted_value.is_not(None)
    )
    answered = predicted.is_not(None)
    corrected = and_(answered, TicketRow.id.in_(corrected_ids))
    # A settled ticket whose field stayed empty (no assigner ran, say) has no label.
    labelled = and_(
        answered,
        final.is_not(None),
        TicketRow.status.in_(SETTLED_STATUSES) | TicketRow.id.in_(corrected_ids),
    )
    correct = and_(labelled, final == predicted)

    def tally(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    where: list[ColumnElement[bool]] = [TicketRow.model_version.is_not(None)]
    if since is not None:
        where.append(TicketRow.created_at >= since)
    rows = session.execute(
        select(
            TicketRow.model_version,
            func.count(TicketRow.id),
            tally(answered),
            tally(corrected),
            tally(labelled),
            tally(correct),
        )
        .where(*where)
        .group_by(TicketRow.model_version)
    ).all()
    return {str(r[0]): tuple(int(v or 0) for v in r[1:]) for r in rows}


def _auto_replies(session: Session, since: datetime | None) -> dict[str, tuple[int, int, int]]:
    """Per version: auto-replies (sent, resolved, reopened)."""
    where: list[ColumnElement[bool]] = [
        TicketRow.model_version.is_not(None),
        TicketRow.auto_reply_id.is_not(None),
    ]
    if since is not None:
        where.append(TicketRow.created_at >= since)
    rows = session.execute(
        select(
            TicketRow.model_version,
            func.count(TicketRow.id),
            func.sum(case((TicketRow.auto_reply_outcome == "resolved", 1), else_=0)),
            func.sum(case((TicketRow.auto_reply_outcome == "reopened", 1), else_=0)),
        )
        .where(*where)
        .group_by(TicketRow.model_version)
    ).all()
    return {str(r[0]): (int(r[1]), int(r[2] or 0), int(r[3] or 0)) for r in rows}


def measure_quality(session: Session, since: datetime | None = None) -> ModelHealth:
    """Live quality per model version and head (see the module docstring)."""
    present = _heads_present(session, since)
    per_head = {head: _head_rows(session, head, since) for head in QUALITY_HEADS}
    replies = _auto_replies(session, since)
    versions = []
    for version in sorted(present):
        heads = []
        total = 0
        for head in QUALITY_HEADS:
            scored, answered, corrected, labelled, correct = per_head[head].get(
                version, (0, 0, 0, 0, 0)
            )
            total = max(total, scored)
            if head not in present[version] and answered == 0:
                continue
            abstained = scored - answered
            heads.append(
                HeadQuality(
                    head=head,
                    scored=scored,
                    answered=answered,
                    abstained=abstained,
                    corrected=corrected,
                    labelled=labelled,
                    correct=correct,
                    abstention_rate=_ratio(abstained, scored),
                    acceptance_rate=_ratio(answered - corrected, answered),
                    realized_precision=_ratio(correct, labelled),
                )
            )
        sent, resolved, reopened = replies.get(version, (0, 0, 0))
        versions.append(
            VersionQuality(
                model_version=version,
                scored=total,
                heads=heads,
                auto_replies_sent=sent,
                auto_replies_resolved=resolved,
                auto_replies_reopened=reopened,
                auto_reply_resolution_rate=_ratio(resolved, resolved + reopened),
            )
        )
    return ModelHealth(since=since, versions=versions)
