"""What goes into and comes out of the desk: requests and views (pydantic models).

The HTTP API uses these same models as request and response bodies.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage.contract import Channel
from triage.desk.status import Status
from triage.health.quality import ModelHealth


class Direction(StrEnum):
    """inbound: from the customer; outbound: from the desk (agent or auto-reply)."""

    inbound = "inbound"
    outbound = "outbound"


class TriageState(StrEnum):
    """queued: waiting for the triage service; needs_human: a head abstained; done."""

    queued = "queued"
    needs_human = "needs_human"
    done = "done"


class NewTicket(BaseModel):
    """A ticket arriving from any channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    subject: str = Field(default="", max_length=2_000)
    body: str = Field(default="", max_length=200_000)
    requester: str | None = Field(default=None, max_length=320)
    customer_tier: str | None = Field(default=None, max_length=50)
    language: str | None = Field(default=None, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=50)
    external_id: str | None = Field(default=None, max_length=200)
    # Fields a requester (or an upstream system) may already set; the model fills the rest.
    priority: str | None = Field(default=None, max_length=50)
    category: str | None = Field(default=None, max_length=200)
    team: str | None = Field(default=None, max_length=200)
    # E-mail headers: the Message-ID opens a thread that replies can join.
    # Unique once stored: an empty id would collide with the next empty one.
    message_id: str | None = Field(default=None, min_length=1, max_length=500)
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class NewMessage(BaseModel):
    """A message on a ticket's thread, or an e-mail that may belong to one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    direction: Direction = Direction.inbound
    channel: Channel = Channel.email
    author: str | None = Field(default=None, max_length=320)
    subject: str = Field(default="", max_length=2_000)
    body: str = Field(min_length=1, max_length=200_000)
    # Unique once stored: an empty id would collide with the next empty one.
    message_id: str | None = Field(default=None, min_length=1, max_length=500)
    in_reply_to: str | None = Field(default=None, max_length=500)
    references: list[str] = Field(default_factory=list, max_length=100)


class TicketChanges(BaseModel):
    """A person's change to a ticket. Only the fields present in the request change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status | None = None
    category: str | None = None
    subcategory: str | None = None
    priority: str | None = None
    team: str | None = None
    assignee: str | None = None
    tags: list[str] | None = None
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    pending_until: datetime | None = None


class MessageView(BaseModel):
    """One message of a thread."""

    id: int
    direction: Direction
    channel: str
    author: str | None
    subject: str
    body: str
    message_id: str | None
    in_reply_to: str | None
    kind: str
    created_at: datetime


class TicketView(BaseModel):
    """A ticket as the desk shows it."""

    id: int
    reference: str
    status: Status
    channel: str
    subject: str
    body: str
    requester: str | None
    customer_tier: str | None
    language: str | None
    tags: list[str]
    external_id: str | None
    thread_id: str | None
    category: str | None
    subcategory: str | None
    priority: str | None
    team: str | None
    assignee: str | None
    tier: int
    escalated: bool
    sla_breached: bool
    needs_followup: bool
    follow_up_of: int | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    pending_until: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    triage_state: TriageState
    triage_error: str | None
    model_version: str | None
    predicted: dict[str, str | None]
    escalation_risk: float | None
    auto_reply_id: str | None
    auto_reply_outcome: str | None
    # Routed with a fallback priority because the priority head abstained: a person
    # should confirm it (setting the priority, even to the same value, does).
    priority_unconfirmed: bool = False
    messages: list[MessageView] | None = None


class IntakeResult(BaseModel):
    """The ticket a request landed on, and whether this request created it."""

    ticket: TicketView
    created: bool


class AuditEntry(BaseModel):
    """One change in a ticket's history."""

    id: int
    ticket_id: int | None
    actor: str
    created_at: datetime
    action: str
    details: dict[str, Any]
    model_version: str | None


class CorrectionView(BaseModel):
    """A person overriding the model: a training label."""

    ticket_id: int
    field: str
    predicted_value: str | None
    old_value: str | None
    new_value: str | None
    actor: str
    created_at: datetime
    model_version: str | None


class TicketQuery(BaseModel):
    """Filters of a ticket list; results come by priority, then due time."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=list)
    team: str | None = None
    assignee: str | None = None
    priority: str | None = None
    tag: str | None = None
    due_before: datetime | None = None
    triage_state: TriageState | None = None
    priority_unconfirmed: bool | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class TicketPage(BaseModel):
    """One page of a ticket list."""

    total: int
    items: list[TicketView]


class AgentLoad(BaseModel):
    """An agent's open tickets against capacity."""

    id: str
    team: str | None
    online: bool
    load: int
    capacity: int


class Dashboard(BaseModel):
    """The desk at a glance."""

    at: datetime
    open_by_status: dict[str, int]
    open_by_team: dict[str, int]
    triage_queue: dict[str, int]
    priority_unconfirmed: int
    sla_decided: int
    sla_met: int
    sla_compliance_pct: float | None
    breached_open: int
    agents: list[AgentLoad]
    auto_replies_sent: int
    auto_replies_resolved: int
    auto_replies_reopened: int
    auto_reply_resolution_rate: float | None
    csat_sent: int
    csat_answered: int
    csat_average: float | None
    csat_followups: int
    # Live quality per model version and head (triage.health.quality).
    model_health: ModelHealth | None = None
