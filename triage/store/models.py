"""The lifecycle core's tables, as typed SQLAlchemy 2 models.

The schema itself is owned by the Alembic migrations in `triage/store/migrations`;
these models must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from triage.store.columns import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of every lifecycle table."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class TicketRow(Base):
    """A ticket: the contract's fields plus lifecycle state, SLA clocks and predictions."""

    __tablename__ = "tickets"
    # Never reuse a ticket number on SQLite: references like [#T-12] live on in mailboxes.
    __table_args__ = (
        UniqueConstraint("reply_token", name="uq_tickets_reply_token"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The id the source system gave the ticket, if any (the contract's `Ticket.id`).
    external_id: Mapped[str | None] = mapped_column(String(200))
    # Stored scoped to the caller (`api.security.scoped_idempotency_key`), so that two
    # clients' equal keys never meet.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The inbox of the integration key that created the ticket (null: staff or unscoped).
    inbox: Mapped[str | None] = mapped_column(String(200), index=True)
    # Unguessable token in outbound subjects (`[#T-12-<token>]`): replies join by it.
    reply_token: Mapped[str | None] = mapped_column(String(64))
    # Addresses copied on the opening e-mail: their replies join like the requester's.
    cc: Mapped[list[Any] | None] = mapped_column(JSON)
    # Message-ID of the e-mail that opened the ticket: replies quoting it join the thread.
    thread_id: Mapped[str | None] = mapped_column(String(500), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    requester: Mapped[str | None] = mapped_column(String(320))
    customer_tier: Mapped[str | None] = mapped_column(String(50))
    language: Mapped[str | None] = mapped_column(String(20))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    status: Mapped[str] = mapped_column(String(20), index=True)
    category: Mapped[str | None] = mapped_column(String(200))
    subcategory: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(50))
    team: Mapped[str | None] = mapped_column(String(200), index=True)
    assignee: Mapped[str | None] = mapped_column(String(200), index=True)
    tier: Mapped[int] = mapped_column(Integer, default=1)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[datetime | None]
    # After an escalation, the next tier gets until this moment before the next one.
    next_escalation_at: Mapped[datetime | None]
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_followup: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_of: Mapped[int | None] = mapped_column(Integer)

    # SLA clocks. The resolution clock stops while pending: `sla_paused_at` marks the
    # pause and `resolution_remaining_s` keeps the business time that was left.
    first_response_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    sla_paused_at: Mapped[datetime | None]
    resolution_remaining_s: Mapped[float | None] = mapped_column(Float)
    pending_until: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # Triage: what the model said, kept apart from what people decided.
    # triage_state: queued (not triaged yet or service down), needs_human (a head
    # abstained), done.
    triage_state: Mapped[str] = mapped_column(String(20), index=True)
    triage_attempts: Mapped[int] = mapped_column(Integer, default=0)
    retriage_at: Mapped[datetime | None]
    triage_error: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(200))
    predicted_category: Mapped[str | None] = mapped_column(String(200))
    predicted_subcategory: Mapped[str | None] = mapped_column(String(200))
    predicted_priority: Mapped[str | None] = mapped_column(String(50))
    predicted_team: Mapped[str | None] = mapped_column(String(200))
    predicted_assignee: Mapped[str | None] = mapped_column(String(200))
    # The priority head abstained but category and team were confident: the ticket was
    # routed with a fallback priority that a person should confirm (docs/lifecycle.md).
    priority_unconfirmed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    escalation_risk: Mapped[float | None] = mapped_column(Float)
    # The risk threshold the scoring model's training chose (None: the model had none);
    # the risk rule uses it unless a threshold is configured (`triage.escalation`).
    escalation_risk_threshold: Mapped[float | None] = mapped_column(Float)
    prediction: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Auto-reply: the answer sent, and whether it solved the request ("resolved") or
    # the customer still needed an agent ("reopened"); null while undecided.
    auto_reply_id: Mapped[str | None] = mapped_column(String(200))
    auto_reply_outcome: Mapped[str | None] = mapped_column(String(20))
    # When an unconfirmed auto-reply hands the ticket back to its team's queue.
    auto_reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    tags: Mapped[list[TagRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", lazy="selectin"
    )


class TagRow(Base):
    """One tag on one ticket (a table, so that listing by tag is an indexed join)."""

    __tablename__ = "ticket_tags"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    ticket: Mapped[TicketRow] = relationship(back_populates="tags")


class MessageRow(Base):
    """One message of a ticket's thread, inbound (customer) or outbound (desk)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # E-mail Message-ID: unique so that a re-delivered e-mail is stored once.
    external_message_id: Mapped[str | None] = mapped_column(String(500), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20), default="reply")
    created_at: Mapped[datetime]


class CorrectionRow(Base):
    """A person overriding a predicted field: a training label."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(50))
    predicted_value: Mapped[str | None] = mapped_column(String(200))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    model_version: Mapped[str | None] = mapped_column(String(200))


class AuditRow(Base):
    """One change, by whom, when, and under which model version."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ticket_id_id", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(50))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_version: Mapped[str | None] = mapped_column(String(200))


class TeamRow(Base):
    """A team tickets are routed to, with the manager escalations notify."""

    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    manager: Mapped[str | None] = mapped_column(String(320))


class AgentRow(Base):
    """A person who works tickets: skills, languages, capacity, shifts, tier."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    team: Mapped[str | None] = mapped_column(ForeignKey("teams.name", ondelete="SET NULL"))
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=10)
    # [{"days": [0..6], "start": "09:00", "end": "17:00", "tz": "Europe/Paris"}, ...]
    shifts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[int] = mapped_column(Integer, default=1)


class OutboxRow(Base):
    """A webhook event waiting for delivery; the worker sends it, retrying with back-off."""

    __tablename__ = "webhook_outbox"
    __table_args__ = (Index("ix_webhook_outbox_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(50))
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class CsatRow(Base):
    """A satisfaction survey sent on solve, and the customer's rating."""

    __tablename__ = "csat"
    __table_args__ = (UniqueConstraint("token"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64))
    # What the token may do: "csat" (rate a solved ticket) or "confirm" (answer an
    # auto-reply); a token of one purpose is refused by the other's route.
    purpose: Mapped[str] = mapped_column(String(20), default="csat")
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]


class ReplyTemplateRow(Base):
    """An answer template mined from past agent replies, with placeholders for customer
    details. Only an approved one may be sent automatically (`triage.desk.templates`)."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Hash of the normalised template text: how a matched past reply finds its template.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    placeholders: Mapped[list[Any]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(20))
    uses: Mapped[int] = mapped_column(Integer, default=0)
    # proposed (mined, not reviewed), approved, retired.
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    reviewed_at: Mapped[datetime | None]


class ShadowRow(Base):
    """A shadow (challenger) model's answer for a ticket: stored, never acted on. The
    head columns hold the labels it gave (null: abstained or no such head)."""

    __tablename__ = "shadow_predictions"
    __table_args__ = (
        UniqueConstraint("ticket_id", "model_version", name="uq_shadow_ticket_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    model_version: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime]
    category: Mapped[str | None] = mapped_column(String(200))
    subcategory: Mapped[str | None] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(50))
    team: Mapped[str | None] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(200))
    prediction: Mapped[dict[str, Any]] = mapped_column(JSON)


class HeldMessageRow(Base):
    """An e-mail that named a ticket but came from neither its requester nor its CC list:
    kept for an agent to look at instead of joining (and reopening) the ticket."""

    __tablename__ = "held_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    external_message_id: Mapped[str | None] = mapped_column(String(500))
    in_reply_to: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
