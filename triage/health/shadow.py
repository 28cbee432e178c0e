"""The shadow challenger: a second model scores every intake too, off the request's
critical path, and its answers are stored (`shadow_predictions`), never acted on.

`ShadowScorer.submit(ticket_id)` only puts the number on a queue; a daemon thread (at a
lower CPU priority) reads the waiting tickets, scores them with the challenger in one
batch and stores the answers in one transaction, so intake waits for neither the second
model nor its writes. A full queue drops the ticket (counted): the
comparison needs a sample, not every ticket, and the service must never slow down.
"""

from __future__ import annotations

import contextlib
import logging
import os
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
        batch: int = 32,
    ) -> None:
        self.triager = triager
        self.sessions = sessions
        self.clock = clock
        self.dropped = 0
        self.failed = 0
        self.stored = 0
        self.batch = batch
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
        _lower_priority()
        while True:
            first = self._queue.get()
            batch = [first]
            # Whatever else is waiting goes in the same model call and the same write
            # transaction: on SQLite every write takes the database's write lock, which
            # intake then waits for.
            while len(batch) < self.batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            ids = [i for i in batch if i is not None]
            try:
                if ids:
                    self._score(ids)
            except Exception as exc:  # noqa: BLE001 - the shadow never takes the service down
                self.failed += len(ids)
                log.warning("shadow scoring of %d tickets failed: %s", len(ids), type(exc).__name__)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _score(self, ticket_ids: list[int]) -> None:
        with self.sessions() as session:
            rows = session.scalars(select(TicketRow).where(TicketRow.id.in_(ticket_ids))).all()
            tickets = {row.id: as_contract_ticket(row) for row in rows}
        if not tickets:
            return
        numbers = list(tickets)
        results = self.triager.triage_batch([tickets[i] for i in numbers])
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                done = set(
                    session.scalars(
                        select(ShadowRow.ticket_id).where(
                            ShadowRow.ticket_id.in_(numbers),
                            ShadowRow.model_version == results[0].model_version,
                        )
                    )
                )
                for number, result in zip(numbers, results, strict=True):
                    if number not in done:
                        session.add(shadow_row(number, result, now))
                self.stored += len(numbers) - len(done)
        except IntegrityError:
            pass  # scored twice at once (two workers): the first answers stay


def _lower_priority() -> None:
    """Nice this thread (Linux: threads have their own nice value) so that, on a busy
    machine, intake's own scoring gets the cores first."""
    # Not Linux, or not allowed: the thread runs at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
