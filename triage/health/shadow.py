"""The shadow challenger: a second model scores every intake too, off the request's
critical path, and its answers are stored (`shadow_predictions`), never acted on.

`ShadowScorer.submit(ticket_id)` only puts the number on a queue; a daemon thread reads
the ticket, scores it with the challenger and stores the answer, so intake waits for
neither the second model nor its write. A full queue drops the ticket (counted): the
comparison needs a sample, not every ticket, and the service must never slow down.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage.contract import TriageResult
from triage.desk.queries import as_contract_ticket
from triage.store.models import ShadowRow, TicketRow
from triage.triager import Triager

log = logging.getLogger(__name__)

SHADOW_HEADS: tuple[str, ...] = ("category", "subcategory", "priority", "team", "assignee")


def shadow_row(ticket_id: int, result: TriageResult, now: datetime) -> ShadowRow:
    """The stored form of a challenger's result (heads that abstained are null)."""
    labels = {}
    for head in SHADOW_HEADS:
        answer = getattr(result, head)
        labels[head] = None if answer is None or answer.abstained else answer.label
    return ShadowRow(
        ticket_id=ticket_id,
        model_version=result.model_version,
        created_at=now,
        prediction=result.model_dump(mode="json", exclude={"explanation"}),
        **labels,
    )


class ShadowScorer:
    """Scores submitted tickets with `triager` in a background thread and stores the
    answers. `drain()` waits until everything submitted so far is stored."""

    def __init__(
        self,
        triager: Triager,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        *,
        capacity: int = 10_000,
    ) -> None:
        self.triager = triager
        self.sessions = sessions
        self.clock = clock
        self.dropped = 0
        self.failed = 0
        self.stored = 0
        self._queue: queue.Queue[int | None] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
        self._thread.start()

    def submit(self, ticket_id: int) -> None:
        """Queue a ticket for shadow scoring; never blocks."""
        try:
            self._queue.put_nowait(ticket_id)
        except queue.Full:
            self.dropped += 1

    def drain(self) -> None:
        """Block until every ticket submitted so far was scored and stored (or failed)."""
        self._queue.join()

    def close(self) -> None:
        """Stop the thread after the queued tickets."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            ticket_id = self._queue.get()
            try:
                if ticket_id is None:
                    return
                self._score(ticket_id)
            except Exception as exc:  # noqa: BLE001 - the shadow never takes the service down
                self.failed += 1
                log.warning("shadow scoring of ticket %s failed: %s", ticket_id, type(exc).__name__)
            finally:
                self._queue.task_done()

    def _score(self, ticket_id: int) -> None:
        with self.sessions() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                return
            ticket = as_contract_ticket(row)
        result = self.triager.triage(ticket)
        try:
            with self.sessions.begin() as session:
                exists = session.scalar(
                    select(ShadowRow.id).where(
                        ShadowRow.ticket_id == ticket_id,
                        ShadowRow.model_version == result.model_version,
                    )
                )
                if exists is None:
                    session.add(shadow_row(ticket_id, result, self.clock()))
                    self.stored += 1
        except IntegrityError:
            pass  # scored twice at once (two workers): the first answer stays
