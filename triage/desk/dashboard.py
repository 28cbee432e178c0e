"""The dashboard's numbers, computed with aggregate queries (no ticket is loaded)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.desk.agents import loads
from triage.desk.records import AgentLoad, AutoReplyOutcome, Dashboard, SlaDay
from triage.desk.status import Status
from triage.desk.tokens import CSAT
from triage.health.quality import measure_quality
from triage.store.models import AgentRow, CsatRow, TicketRow

_OPEN = [s.value for s in Status if s is not Status.closed and s is not Status.solved]
_DONE = [Status.solved.value, Status.closed.value]
# How far back the dashboard's "SLA compliance over time" looks.
SLA_DAYS = 14


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def sla_by_day(session: Session, now: datetime, days: int = SLA_DAYS) -> list[SlaDay]:
    """SLA compliance per day (UTC) of the tickets solved in the last `days` days, oldest
    first; days without a solved ticket are left out. Bucketed here, not in SQL: date
    functions differ between SQLite and PostgreSQL, and a fortnight's solved tickets
    are few."""
    rows = session.execute(
        select(TicketRow.solved_at, TicketRow.sla_breached).where(
            TicketRow.status.in_(_DONE), TicketRow.solved_at >= now - timedelta(days=days)
        )
    ).all()
    decided: dict[Any, list[int]] = {}
    for solved_at, breached in rows:
        if solved_at is None:
            continue
        counts = decided.setdefault(solved_at.date(), [0, 0])
        counts[0] += 1
        counts[1] += 0 if breached else 1
    return [
        SlaDay(day=day, decided=n, met=met, compliance_pct=round(100.0 * met / n, 2))
        for day, (n, met) in sorted(decided.items())
    ]


def auto_reply_outcomes(session: Session) -> list[AutoReplyOutcome]:
    """Outcomes of the automatic replies per KB article and per template, most sent first."""
    rows = session.execute(
        select(TicketRow.auto_reply_id, TicketRow.auto_reply_outcome, func.count())
        .where(TicketRow.auto_reply_id.is_not(None))
        .group_by(TicketRow.auto_reply_id, TicketRow.auto_reply_outcome)
    ).all()
    by_id: dict[str, dict[str | None, int]] = {}
    for answer_id, outcome, n in rows:
        by_id.setdefault(str(answer_id), {})[outcome] = int(n)
    out = []
    for answer_id, counts in by_id.items():
        sent = sum(counts.values())
        waiting = counts.get(None, 0)
        confirmed = counts.get("resolved", 0)
        out.append(
            AutoReplyOutcome(
                answer_id=answer_id,
                sent=sent,
                confirmed=confirmed,
                reopened=counts.get("reopened", 0),
                no_answer=counts.get("no_answer", 0),
                waiting=waiting,
                confirmed_rate=_ratio(confirmed, sent - waiting),
            )
        )
    return sorted(out, key=lambda o: (-o.sent, o.answer_id))


def build_dashboard(session: Session, now: datetime) -> Dashboard:
    """Counts over the whole desk at `now`."""

    def grouped(column: Any, *where: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(*where).group_by(column)).all()
        return {str(k) if k is not None else "unrouted": int(n) for k, n in rows}

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count(TicketRow.id)).where(*where)) or 0)

    open_tickets = TicketRow.status.in_(_OPEN)
    decided = count(TicketRow.status.in_(_DONE))
    met = count(TicketRow.status.in_(_DONE), TicketRow.sla_breached.is_(False))
    sent = count(TicketRow.auto_reply_id.is_not(None))
    resolved = count(TicketRow.auto_reply_outcome == "resolved")
    reopened = count(TicketRow.auto_reply_outcome == "reopened")
    surveys = CsatRow.purpose == CSAT
    csat_sent = int(session.scalar(select(func.count(CsatRow.id)).where(surveys)) or 0)
    answered = int(
        session.scalar(select(func.count(CsatRow.id)).where(surveys, CsatRow.rating.is_not(None)))
        or 0
    )
    average = session.scalar(
        select(func.avg(CsatRow.rating)).where(surveys, CsatRow.rating.is_not(None))
    )
    counts = loads(session)
    agents = [
        AgentLoad(
            id=a.id, team=a.team, online=a.online, load=counts.get(a.id, 0), capacity=a.capacity
        )
        for a in session.scalars(select(AgentRow).order_by(AgentRow.id)).all()
    ]
    return Dashboard(
        at=now,
        open_by_status=grouped(TicketRow.status, open_tickets),
        open_by_team=grouped(TicketRow.team, open_tickets),
        triage_queue=grouped(
            TicketRow.triage_state, open_tickets, TicketRow.triage_state != "done"
        ),
        sla_decided=decided,
        sla_met=met,
        sla_compliance_pct=None if not decided else round(100.0 * met / decided, 2),
        priority_unconfirmed=count(open_tickets, TicketRow.priority_unconfirmed.is_(True)),
        breached_open=count(open_tickets, TicketRow.sla_breached.is_(True)),
        agents=agents,
        auto_replies_sent=sent,
        auto_replies_resolved=resolved,
        auto_replies_reopened=reopened,
        auto_reply_resolution_rate=_ratio(resolved, resolved + reopened),
        auto_replies_no_answer=count(TicketRow.auto_reply_outcome == "no_answer"),
        auto_reply_outcomes=auto_reply_outcomes(session),
        csat_sent=csat_sent,
        csat_answered=answered,
        csat_average=None if average is None else round(float(average), 2),
        csat_followups=count(TicketRow.needs_followup.is_(True)),
        sla_by_day=sla_by_day(session, now),
        model_health=measure_quality(session),
    )
