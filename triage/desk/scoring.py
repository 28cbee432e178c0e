"""Scoring: a queued ticket goes to the triage service and its result is applied (the
predicted fields, the routing, the SLA targets of a predicted priority, and the
auto-reply policy's decision on the matched answer, `triage.desk.auto_replies`).

The triage service is called outside any transaction: a ticket is committed first
(`triage_state = queued`) and only then scored, so a slow or dead triage service never
loses a ticket; the worker re-triages whatever stayed queued.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from triage.contract import HeadPrediction, TriageResult
from triage.desk import auto_replies
from triage.desk.ledger import PREDICTED_FIELDS, ROUTING_FIELDS, DeskContext, lock, record
from triage.desk.queries import as_contract_ticket
from triage.desk.records import TriageState
from triage.desk.reference import format_reference
from triage.errors import NotFound, RemoteUnavailableError
from triage.store.models import TicketRow

log = logging.getLogger(__name__)


def triage_ticket(desk: DeskContext, ticket_id: int) -> bool:
    """Score a queued ticket and apply the result. False (and the ticket stays
    queued for the worker, with back-off) when the triage service fails."""
    if desk.triager is None:
        return False
    with desk.readers() as session:
        row = session.get(TicketRow, ticket_id)
        if row is None:
            raise NotFound(f"no ticket {format_reference(ticket_id)}")
        if row.triage_state != TriageState.queued.value:
            return True
        ticket = as_contract_ticket(row)
    try:
        result = desk.triager.triage(ticket)
    except Exception as exc:  # noqa: BLE001 - any failure of the service queues the ticket
        log.warning("triage of %s failed: %s", ticket.id, exc)
        _triage_failed(desk, ticket_id, f"{type(exc).__name__}: {exc}")
        return False
    _apply_triage(desk, ticket_id, result)
    return True


def triage_tickets(desk: DeskContext, ticket_ids: list[int]) -> tuple[list[int], list[int]]:
    """Score several queued tickets in one `triage_batch` call (a backlog after an
    outage drains in a few calls). Returns (triaged, failed) ids. When the service
    is unreachable every ticket stays queued; when it refuses the batch for another
    reason (one bad ticket), the tickets are tried one by one so that the others
    are not held back."""
    if desk.triager is None or not ticket_ids:
        return [], list(ticket_ids)
    with desk.readers() as session:
        rows = session.scalars(
            select(TicketRow).where(
                TicketRow.id.in_(ticket_ids), TicketRow.triage_state == TriageState.queued.value
            )
        ).all()
        pending = {row.id: as_contract_ticket(row) for row in rows}
    done = [i for i in ticket_ids if i not in pending]
    if not pending:
        return done, []
    ids = list(pending)
    try:
        results = desk.triager.triage_batch([pending[i] for i in ids])
    except RemoteUnavailableError as exc:
        log.warning("triage service unavailable for %d tickets: %s", len(ids), exc)
        for ticket_id in ids:
            _triage_failed(desk, ticket_id, f"{type(exc).__name__}: {exc}")
        return done, ids
    except Exception as exc:  # noqa: BLE001 - fall back to one call per ticket
        log.warning("batch triage of %d tickets failed (%s); trying one by one", len(ids), exc)
        failed: list[int] = []
        for ticket_id in ids:
            (done if triage_ticket(desk, ticket_id) else failed).append(ticket_id)
        return done, failed
    for ticket_id, result in zip(ids, results, strict=True):
        _apply_triage(desk, ticket_id, result)
        done.append(ticket_id)
    return done, []


def _triage_failed(desk: DeskContext, ticket_id: int, error: str) -> None:
    """The ticket stays queued; the worker tries again after a doubling back-off."""
    now = desk.clock()
    with desk.sessions.begin() as session:
        row = lock(session, ticket_id)
        row.triage_attempts += 1
        backoff = desk.config.retriage_backoff * (2 ** min(row.triage_attempts - 1, 6))
        row.retriage_at = now + backoff
        row.triage_error = error[:2000]
        details = {
            "error": row.triage_error,
            "attempts": row.triage_attempts,
            "retry_at": row.retriage_at.isoformat(),
        }
        record(session, row, "system:triage", "triage_failed", details, now)


def _apply_triage(desk: DeskContext, ticket_id: int, result: TriageResult) -> None:
    now = desk.clock()
    with desk.sessions.begin() as session:
        row = lock(session, ticket_id)
        if row.triage_state != TriageState.queued.value:
            return  # another worker applied a result first
        filled, abstained = _fill_predictions(row, result)
        details: dict[str, Any] = {"filled": filled, "abstained": abstained}
        missing = _route(desk, row, result, "priority" in filled, details)
        row.triage_state = (TriageState.needs_human if missing else TriageState.done).value
        row.updated_at = now
        details["queue"] = "human_triage" if missing else None
        details["escalation_risk"] = row.escalation_risk
        if row.escalation_risk_threshold is not None:
            details["escalation_risk_threshold"] = row.escalation_risk_threshold
        record(session, row, "model", "triaged", details, now, result.model_version)
        # The policy decides on the matched answer (and audits why); a reply is sent
        # only when it allows (`triage.desk.auto_replies`).
        auto_replies.consider(desk, session, row, result, abstained, now)


def _fill_predictions(row: TicketRow, result: TriageResult) -> tuple[dict[str, str], list[str]]:
    """Store the model's answers on the row and fill the fields nobody set. Returns the
    fields filled and the heads that abstained."""
    filled: dict[str, str] = {}
    abstained: list[str] = []
    for name in PREDICTED_FIELDS:
        head = getattr(result, name)
        if head is None:
            continue
        if head.abstained or head.label is None:
            abstained.append(name)
            continue
        setattr(row, f"predicted_{name}", head.label)
        # The assignee head is one input of the assigner (with availability,
        # skills and load), never a direct assignment: it could pick someone
        # offline or full.
        if name != "assignee" and getattr(row, name) is None:
            setattr(row, name, head.label)
            filled[name] = head.label
    if result.escalation is not None:
        row.escalation_risk = result.escalation.risk
        row.escalation_risk_threshold = result.escalation.risk_threshold
    if row.language is None and result.language is not None:
        row.language = result.language.code
    row.model_version = result.model_version
    row.prediction = result.model_dump(mode="json", exclude={"explanation"})
    row.triage_error = None
    row.retriage_at = None
    return filled, abstained


def _route(
    desk: DeskContext,
    row: TicketRow,
    result: TriageResult,
    priority_filled: bool,
    details: dict[str, Any],
) -> list[str]:
    """The routing fields still missing (the human triage queue's reason), after a fallback
    priority when only the priority is unknown; a priority the model set or the fallback
    gave sets the SLA targets."""
    missing = [f for f in ROUTING_FIELDS if getattr(row, f) is None]
    if missing == ["priority"] and desk.config.route_without_priority:
        # Category and team are known, only the urgency is not: the team can start
        # while a person confirms the priority (docs/lifecycle.md, "Triage on intake").
        fallback = fallback_priority(desk, result.priority)
        row.priority = fallback["priority"]
        row.priority_unconfirmed = True
        details["priority_fallback"] = fallback
        missing = []
    if (priority_filled or row.priority_unconfirmed) and row.first_response_at is None:
        row.first_response_due_at = desk.sla.first_response_due(row.priority, row.created_at)
        row.resolution_due_at = desk.sla.resolution_due(row.priority, row.created_at)
    return missing


def fallback_priority(desk: DeskContext, head: HeadPrediction | None) -> dict[str, Any]:
    """The priority a routed ticket gets when the priority head abstained: the desk's
    default, or the head's leading guess when that is a more urgent known priority.

    An unsure model never lowers a ticket below the default, but one leaning towards
    "urgent" is taken seriously: a missed SLA costs more than early attention. Returns
    the audit entry's details: the priority, its source, and the guess.

    A default the model never produces ("medium" beside its low/normal/high/urgent) is
    mapped to the model's label with the same SLA targets (`_model_label`), so the
    fallback is one of the model's own labels.
    """
    # Spelled as the SLA policies spell it (TRIAGE_DEFAULT_PRIORITY=High is accepted):
    # a person confirming it as is must not add a "High" class beside "high".
    configured = (desk.config.default_priority or desk.sla.default).strip().lower()
    scores = list(head.top_k) if head is not None else []
    guess = max(scores, key=lambda s: s.probability) if scores else None
    default = _model_label(desk, configured, [s.label for s in scores])
    chosen: dict[str, Any] = {"priority": default, "source": "default", "default": default}
    if default != configured:
        chosen["configured_default"] = configured
    if guess is not None:
        chosen["guess"] = guess.label
        chosen["guess_probability"] = round(guess.probability, 4)
        if desk.sla.rank(guess.label) < desk.sla.rank(default):
            chosen["priority"] = guess.label
            chosen["source"] = "leading_guess"
    return chosen


def _model_label(desk: DeskContext, default: str, labels: list[str]) -> str:
    """`default` when the model uses it (or names no labels); else the model's label with
    the same SLA targets: "medium" becomes "normal" for a low/normal/high/urgent model.
    A default no model label matches stays (set `TRIAGE_DEFAULT_PRIORITY` to one)."""
    known = [label.strip().lower() for label in labels]
    if not known or default in known:
        return default
    policy = desk.sla.policy(default)
    same = [label for label in known if desk.sla.policy(label) == policy]
    return min(same, key=desk.sla.rank) if same else default
