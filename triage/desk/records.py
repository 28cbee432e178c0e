"""What goes into and comes out of the desk: requests and views (pydantic models).

The HTTP API uses these same models as request and response bodies.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.contract import (
    ADDRESS_LENGTH,
    LABEL_LENGTH,
    MESSAGE_ID_LENGTH,
    PRIORITY_LENGTH,
    Channel,
    Label,
    StoredModel,
)
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


class NewTicket(StoredModel):
    """A ticket arriving from any channel."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    channel: Channel
    subject: str = Field(default="", max_length=2_000)
    body: str = Field(default="", max_length=200_000)
    requester: str | None = Field(default=None, max_length=ADDRESS_LENGTH)
    customer_tier: str | None = Field(default=None, max_length=PRIORITY_LENGTH)
    language: str | None = Field(default=None, max_length=20)
    tags: list[Label] = Field(default_factory=list, max_length=50)
    external_id: str | None = Field(default=None, max_length=LABEL_LENGTH)
    # Fields a requester (or an upstream system) may already set; the model fills the rest.
    priority: str | None = Field(default=None, max_length=PRIORITY_LENGTH)
    category: str | None = Field(default=None, max_length=LABEL_LENGTH)
    team: str | None = Field(default=None, max_length=LABEL_LENGTH)
    # E-mail headers: the Message-ID opens a thread that replies can join. An empty one
    # is no Message-ID (stored, it would collide with the next empty one).
    message_id: str | None = Field(default=None, max_length=MESSAGE_ID_LENGTH)
    # Addresses copied on the e-mail: their replies join the thread like the requester's.
    cc: list[Annotated[str, Field(max_length=ADDRESS_LENGTH)]] = Field(
        default_factory=list, max_length=50
    )
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=100)

    @field_validator("message_id")
    @classmethod
    def _absent_if_empty(cls, value: str | None) -> str | None:
        return value or None


class NewMessage(StoredModel):
    """A message on a ticket's thread, or an e-mail that may belong to one."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    direction: Direction = Direction.inbound
    channel: Channel = Channel.email
    author: str | None = Field(default=None, max_length=ADDRESS_LENGTH)
    subject: str = Field(default="", max_length=2_000)
    body: str = Field(min_length=1, max_length=200_000)
    # An empty Message-ID is no Message-ID (stored, it would collide with the next one).
    message_id: str | None = Field(default=None, max_length=MESSAGE_ID_LENGTH)
    in_reply_to: str | None = Field(default=None, max_length=MESSAGE_ID_LENGTH)
    references: list[Annotated[str, Field(max_length=MESSAGE_ID_LENGTH)]] = Field(
        default_factory=list, max_length=100
    )
    # Addresses copied on the e-mail: their replies join the thread like the requester's.
    cc: list[Annotated[str, Field(max_length=ADDRESS_LENGTH)]] = Field(
        default_factory=list, max_length=50
    )

    @field_validator("message_id", "in_reply_to")
    @classmethod
    def _absent_if_empty(cls, value: str | None) -> str | None:
        return value or None


class TicketChanges(StoredModel):
    """A person's change to a ticket. Only the fields present in the request change."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status | None = None
    category: str | None = Field(default=None, max_length=LABEL_LENGTH)
    subcategory: str | None = Field(default=None, max_length=LABEL_LENGTH)
    priority: str | None = Field(default=None, max_length=PRIORITY_LENGTH)
    team: str | None = Field(default=None, max_length=LABEL_LENGTH)
    assignee: str | None = Field(default=None, max_length=LABEL_LENGTH)
    tags: list[Label] | None = Field(default=None, max_length=50)
    add_tags: list[Label] = Field(default_factory=list, max_length=50)
    remove_tags: list[Label] = Field(default_factory=list, max_length=50)
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
    inbox: str | None = None
    thread_id: str | None
    # What outbound e-mail puts in the subject (`[#T-12-<token>]`): replies quoting it
    # join the ticket. Null for tickets from before reply tokens.
    reply_tag: str | None = None
    cc: list[str] = Field(default_factory=list)
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
    # While an auto-reply waits for the customer: when the ticket returns to its team.
    auto_reply_due_at: datetime | None = None
    # Routed with a fallback priority because the priority head abstained: a person
    # should confirm it (setting the priority, even to the same value, does).
    priority_unconfirmed: bool = False
    messages: list[MessageView] | None = None


class IntakeResult(BaseModel):
    """The ticket a request landed on, and whether this request created it."""

    ticket: TicketView
    created: bool
    held: bool = Field(
        default=False,
        description="the message named this ticket but came from neither its requester "
        "nor its CC list: it was held for an agent and did not join or reopen the ticket",
    )


class HeldMessageView(BaseModel):
    """An e-mail held for an agent instead of joining its ticket."""

    id: int
    ticket_id: int
    author: str | None
    subject: str
    body: str
    channel: str
    message_id: str | None
    reason: str
    created_at: datetime
    released_at: datetime | None


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
    # Visibility of the caller: only this inbox's tickets / only these teams' tickets.
    inbox: str | None = None
    teams: list[str] | None = None
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


class SlaDay(BaseModel):
    """SLA compliance of the tickets solved on one day (UTC)."""

    day: date
    decided: int
    met: int
    compliance_pct: float


class AutoReplyOutcome(BaseModel):
    """What customers did with one KB article or approved template sent automatically:
    confirmed it solved their request, said it did not (or wrote back), or said nothing
    (`waiting` while the confirmation window is open)."""

    answer_id: str  # the KB article's id, or "template-<id>"
    sent: int
    confirmed: int
    reopened: int
    no_answer: int
    waiting: int
    confirmed_rate: float | None  # confirmed / (sent - waiting)


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
    auto_replies_no_answer: int = 0
    # Per KB article and per approved template, most sent first.
    auto_reply_outcomes: list[AutoReplyOutcome] = Field(default_factory=list)
    csat_sent: int
    csat_answered: int
    csat_average: float | None
    csat_followups: int
    # SLA compliance over time: the last 14 days with solved tickets, oldest first.
    sla_by_day: list[SlaDay] = Field(default_factory=list)
    # Live quality per model version and head (triage.health.quality).
    model_health: ModelHealth | None = None
