"""The help desk's lifecycle core: intake, threads, statuses, corrections, audit.

`Desk` (`desk`) is the service, a facade over one module per use case: `intake` (new
tickets, messages, threads), `scoring` (triage results, auto-replies), `changes`
(updates, transitions, SLA breaches, CSAT), `assignment` (agents for tickets) and
`queries` (reads and views), on `ledger` (row lock, audit record) and `config`
(`DeskConfig`). `records` holds the request and view models (shared with the HTTP API);
`status` the state machine; `reference` the `T-123` ticket references; `agents` the
directory; `outbox` the webhook events; `dashboard` the figures.
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
