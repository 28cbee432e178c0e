"""The write-back of `--apply`: a rescore's predictions into the desk's store.

What changes, on every open ticket the model has triaged before (`needs_human` or
`done`): the model's own columns, the ones `/v1/tickets` shows as `predicted` and the
worker and assigner read: `predicted_category/subcategory/priority/team/assignee`
(null where the new model abstains), `escalation_risk` with the threshold its model chose
(`escalation_risk_threshold`, null for a bundle without one), `model_version`, and the head
predictions inside `prediction` (label, confidence, abstention, top-k and risk per
head; the language and the auto-reply decided at intake are kept). Each changed ticket
gets one `rescored` audit entry, with the old and new value of every changed column,
under the new model version.

What never changes: what people work with and decided (`category`, `priority`,
`team`, `assignee`, the status, tier, SLA clocks, tags), even where the model filled
it at intake; a correction is a person's call, and an override must not vanish
because a model was promoted. A ticket still `queued` (never triaged) is left to the
worker, whose intake triage also fills those fields, sends the auto-reply and assigns;
a ticket solved or closed since the snapshot is left alone.

The new risks do act: the worker escalates a tier-1 ticket whose `escalation_risk`
reaches the threshold (the configured one, else the new model's own, written beside the
risk so that a new risk is never compared with the old model's threshold), which is what
the diff's `newly_at_risk` counts.

One transaction per page of results, rows locked (`FOR UPDATE` on PostgreSQL, the
write lock on SQLite), so a concurrent worker never interleaves with a half-applied
page. A ticket already holding exactly these predictions is skipped: rerunning an
interrupted `--apply` finishes it without a second audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from triage.rescore.sources import BASELINE_FIELDS

ACTOR = "system:rescore"
APPLY_PAGE = 500


@dataclass
class ApplyReport:
    """What `--apply` did, ticket by ticket."""

    updated: int = 0
    unchanged: int = 0
    skipped_queued: int = 0
    skipped_closed: int = 0
    missing: int = 0

    def as_dict(self) -> dict[str, int]:
        """A JSON-friendly summary."""
        return dict(self.__dict__)


def apply_results(
    database_url: str,
    results: Path,
    *,
    clock: Callable[[], Any] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> ApplyReport:
    """Write the predictions of results file `results` (a `--db` rescore) to the store."""
    from sqlalchemy import select

    from triage.desk import Desk
    from triage.desk.reference import parse_ticket_id
    from triage.desk.status import Status
    from triage.store import connect
    from triage.store.models import TicketRow

    engine = connect(database_url)
    desk = Desk(engine, clock=clock) if clock else Desk(engine)
    report = ApplyReport()
    closed = {Status.solved.value, Status.closed.value}
    try:
        for batch in pq.ParquetFile(results).iter_batches(batch_size=APPLY_PAGE):
            rows = batch.to_pylist()
            wanted = {parse_ticket_id(r["ticket_id"]): r for r in rows}
            now = desk.clock()
            with desk.sessions.begin() as session:
                tickets = session.scalars(
                    select(TicketRow)
                    .where(TicketRow.id.in_(list(wanted)))
                    .order_by(TicketRow.id)  # one lock order: no deadlock with a worker
                    .with_for_update()
                ).all()
                report.missing += len(wanted) - len(tickets)
                for ticket in tickets:
                    if ticket.status in closed:
                        report.skipped_closed += 1
                    elif ticket.triage_state == "queued":
                        report.skipped_queued += 1
                    elif _apply_one(desk, session, ticket, wanted[ticket.id], now):
                        report.updated += 1
                    else:
                        report.unchanged += 1
            if on_rows is not None:
                on_rows(len(rows))
    finally:
        engine.dispose()
    return report


def _apply_one(desk: Any, session: Any, ticket: Any, result: dict[str, Any], now: Any) -> bool:
    """Set one locked ticket's model columns; True (and audited) when anything changed."""
    version = result["model_version"]
    changes: dict[str, dict[str, Any]] = {}
    for name in BASELINE_FIELDS:
        key = f"{name}_label"
        if key not in result:
            continue  # the bundle has no such head: the stored value is not this model's
        old, new = getattr(ticket, f"predicted_{name}"), result[key]
        if old != new:
            changes[f"predicted_{name}"] = {"old": old, "new": new}
            setattr(ticket, f"predicted_{name}", new)
    risk = result.get("escalation_risk")
    if risk is not None:
        if ticket.escalation_risk != risk:
            changes["escalation_risk"] = {"old": ticket.escalation_risk, "new": risk}
            ticket.escalation_risk = risk
        # The new model's own threshold goes with its risk (None: it chose none, and the
        # worker uses the default, not the old model's).
        threshold = result.get("escalation_risk_threshold")
        if ticket.escalation_risk_threshold != threshold:
            changes["escalation_risk_threshold"] = {
                "old": ticket.escalation_risk_threshold,
                "new": threshold,
            }
            ticket.escalation_risk_threshold = threshold
    if ticket.model_version != version:
        changes["model_version"] = {"old": ticket.model_version, "new": version}
        ticket.model_version = version
    if not changes:
        return False
    ticket.prediction = _prediction(ticket.prediction, result)
    ticket.updated_at = now
    desk.record(session, ticket, ACTOR, "rescored", changes, now, model_version=version)
    return True


def _prediction(old: dict[str, Any] | None, result: dict[str, Any]) -> dict[str, Any]:
    """The stored `prediction` (a `TriageResult` without explanation) with the new heads."""
    prediction = dict(old or {})
    heads = {k[: -len("_label")] for k in result if k.endswith("_label")}
    for head in heads:
        entry: dict[str, Any] = {
            "label": result[f"{head}_label"],
            "confidence": result[f"{head}_confidence"],
            "abstained": result[f"{head}_abstained"],
            "top_k": result[f"{head}_top_k"] or [],
        }
        if head == "escalation":
            entry["risk"] = result["escalation_risk"]
            entry["risk_threshold"] = result.get("escalation_risk_threshold")
        prediction[head] = entry
    prediction["model_version"] = result["model_version"]
    return prediction
