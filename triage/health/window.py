"""The rolling window: the last tickets the desk scored, as drift signals, read from
the store (no extra table: every scored ticket keeps its text and stored result)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from triage.desk.queries import as_contract_ticket
from triage.health.drift import (
    DriftReport,
    Reference,
    compare,
    read_reference,
    read_vocabulary,
)
from triage.health.versions import of_version
from triage.store.models import TicketRow


def window_signals(
    session: Session,
    reference: Reference,
    vocabulary: frozenset[str] | None,
    *,
    size: int,
    up_to_id: int | None = None,
    model_version: str | None = None,
) -> list[dict[str, str]]:
    """The drift signals of the last `size` scored tickets (those numbered `up_to_id` or
    less, when given; only those `model_version` scored, when given), oldest first."""
    where: list[ColumnElement[bool]] = [TicketRow.prediction.is_not(None)]
    if up_to_id is not None:
        where.append(TicketRow.id <= up_to_id)
    if model_version is not None:
        where.append(of_version(TicketRow.model_version, model_version))
    rows = session.scalars(
        select(TicketRow).where(*where).order_by(TicketRow.id.desc()).limit(size)
    ).all()
    return [
        reference.signals_of(as_contract_ticket(row), row.prediction or {}, vocabulary)
        for row in reversed(rows)
    ]


class DriftMonitor:
    """A bundle's reference and vocabulary, loaded once, compared with store windows."""

    def __init__(self, bundle_dir: str | Path, *, warn: float, alert: float, size: int) -> None:
        self.bundle_dir = Path(bundle_dir)
        self.reference = read_reference(self.bundle_dir)
        self.vocabulary = read_vocabulary(self.bundle_dir) if self.reference else None
        self.warn = warn
        self.alert = alert
        self.size = size

    def check(
        self, session: Session, *, up_to_id: int | None = None, model_version: str | None = None
    ) -> DriftReport | None:
        """The drift of the current window; None when the bundle has no reference."""
        if self.reference is None:
            return None
        samples = window_signals(
            session,
            self.reference,
            self.vocabulary,
            size=self.size,
            up_to_id=up_to_id,
            model_version=model_version,
        )
        return compare(
            self.reference,
            samples,
            warn=self.warn,
            alert=self.alert,
            model_version=model_version or self.reference.model_version,
        )
