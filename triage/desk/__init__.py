"""The help desk's lifecycle core: intake, threads, statuses, corrections, audit.

`Desk` is the service; `records` holds its request and view models (shared with
the HTTP API); `status` the state machine; `reference` the `T-123` ticket references.
"""

from triage.desk.desk import Desk, DeskConfig, utcnow
from triage.desk.records import (
    Direction,
    NewMessage,
    NewTicket,
    TicketChanges,
    TicketQuery,
    TicketView,
    TriageState,
)
from triage.desk.status import Status

__all__ = [
    "Desk",
    "DeskConfig",
    "Direction",
    "NewMessage",
    "NewTicket",
    "Status",
    "TicketChanges",
    "TicketQuery",
    "TicketView",
    "TriageState",
    "utcnow",
]
