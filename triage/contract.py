"""The one data contract shared by every part of ticket-triage.

`Ticket` is what importers produce, what training reads, what the triage service
scores and what the lifecycle core stores. `TriageResult` is what a `Triager`
returns. Labels (category, priority, team, ...) are plain strings because every
help desk names them differently; the models learn whatever vocabulary the
desk's history uses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

# The columns a history-label may fill, in the order the trainers look for them.
LABEL_FIELDS: tuple[str, ...] = (
    "category",
    "subcategory",
    "priority",
    "team",
    "assignee",
    "escalated",
    "sla_breached",
)


class Channel(StrEnum):
    """Where a ticket came in."""

    email = "email"
    chat = "chat"
    web = "web"
    phone = "phone"
    api = "api"


# Values seen in real exports, mapped onto our channels. Unknown values are an error,
# not a silent default, so a desk learns its mapping is incomplete.
CHANNEL_ALIASES: dict[str, Channel] = {
    "email": Channel.email,
    "e-mail": Channel.email,
    "mail": Channel.email,
    "chat": Channel.chat,
    "messaging": Channel.chat,
    "self service": Channel.web,
    "self-service": Channel.web,
    "web": Channel.web,
    "web form": Channel.web,
    "webform": Channel.web,
    "portal": Channel.web,
    "phone": Channel.phone,
    "voice": Channel.phone,
    "call": Channel.phone,
    "api": Channel.api,
    "ivr": Channel.phone,
    "direct opening": Channel.web,
}


# Lengths of the store's columns (`triage/store/models.py`): a request field that ends up
# in one of them says so in its `max_length`, so that a longer value is a 422 naming the
# field, not a database error.
LABEL_LENGTH = 200  # category, subcategory, team, assignee, tag, agent id, external id
PRIORITY_LENGTH = 50  # priority, customer tier
ADDRESS_LENGTH = 320  # an e-mail address (RFC 5321: 64 + @ + 255)
MESSAGE_ID_LENGTH = 500  # an e-mail Message-ID

# A tag or label value as the store keeps it.
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=LABEL_LENGTH)]


def find_nul(value: Any) -> bool:
    """True when `value` (a string, or a list / dict of them) contains a NUL character.

    PostgreSQL cannot store NUL in text columns, and no real ticket needs one.
    """
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(find_nul(v) for v in value)
    if isinstance(value, dict):
        return any(find_nul(k) or find_nul(v) for k, v in value.items())
    return False


class StoredModel(BaseModel):
    """Base of request bodies the store keeps: NUL characters are refused in every field."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if find_nul(value):
            raise ValueError("contains a NUL character")
        return value


def _aware(value: datetime | None) -> datetime | None:
    # Naive timestamps in exports are taken as UTC: mixing naive and aware datetimes
    # breaks ordering and SLA arithmetic later on.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Ticket(BaseModel):
    """A help-desk ticket, with the optional labels its history carries.

    Free text may be empty only for purely structured event logs (for example the
    UCI incident log); importers of text datasets reject empty text row by row.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    created_at: datetime | None = None
    channel: Channel | None = None
    subject: str = ""
    body: str = ""
    requester: str | None = None
    customer_tier: str | None = None
    language: str | None = Field(default=None, description="ISO 639-1 code, e.g. 'en'")
    tags: list[str] = Field(default_factory=list)

    # History labels: what agents decided. Absent for a new ticket.
    category: str | None = None
    subcategory: str | None = None
    priority: str | None = None
    team: str | None = None
    assignee: str | None = None
    escalated: bool | None = None
    sla_breached: bool | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    agent_answer: str | None = None
    kb_article_id: str | None = None

    # Structured fields a desk exports beyond the contract (impact, urgency, caller,
    # reassignment counts, ...). Values are scalars so they fit a Parquet map column.
    extra: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    @field_validator("created_at", "first_response_at", "resolved_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @field_validator("channel", mode="before")
    @classmethod
    def _channel(cls, value: Any) -> Any:
        if value is None or isinstance(value, Channel):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        if text in CHANNEL_ALIASES:
            return CHANNEL_ALIASES[text]
        raise ValueError(
            f"unknown channel {value!r}; expected one of {', '.join(c.value for c in Channel)}"
        )

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [t.strip() for t in value.replace(";", ",").split(",") if t.strip()]
        if not hasattr(value, "__iter__"):
            # Let pydantic answer "Input should be a valid list" instead of a TypeError
            # (an HTTP 500) when a client sends `"tags": 3`.
            return value
        return [str(t).strip() for t in value if t is not None and str(t).strip()]

    @property
    def text(self) -> str:
        """Subject and body as one string: what the text models read."""
        if self.subject and self.body:
            return f"{self.subject}\n{self.body}"
        return self.subject or self.body


class LabelScore(BaseModel):
    """One candidate label with its calibrated probability."""

    label: str
    probability: float = Field(ge=0.0, le=1.0)


class HeadPrediction(BaseModel):
    """One model head's answer: the label, or an abstention that routes to a human."""

    label: str | None = Field(description="chosen label; null when the head abstains")
    confidence: float = Field(ge=0.0, le=1.0, description="calibrated probability of the top label")
    abstained: bool = Field(description="true: below the head's threshold, needs a human")
    top_k: list[LabelScore] = Field(default_factory=list)
    fallback_to_parent: bool = Field(
        default=False,
        description="subcategory only: the child was unsure or contradicted the category, "
        "so the answer is the parent category's label",
    )


class EscalationPrediction(HeadPrediction):
    """Escalation / SLA-breach risk; `risk` is the calibrated probability of a breach."""

    risk: float = Field(ge=0.0, le=1.0)
    risk_threshold: float | None = Field(
        None,
        description="the risk at which the model's training flags a ticket as likely to "
        "escalate (rate-matched to the history's escalations not explained by an SLA breach); "
        "above 1 when the head has no signal; null for bundles trained before it was recorded",
    )


class AutoReply(BaseModel):
    """The best-matching past answer or knowledge-base article."""

    answer_id: str
    kind: str = Field(description="'kb' for a knowledge-base article, 'answer' for a past reply")
    text: str
    score: float
    safe_to_send: bool = Field(description="true when the match clears the precision threshold")
    article_id: str | None = None


class Language(BaseModel):
    """The detected language and whether the models were trained on it."""

    code: str
    confidence: float = Field(ge=0.0, le=1.0)
    supported: bool


class TermWeight(BaseModel):
    """A term and how much it pushed a head towards its label."""

    head: str
    term: str
    weight: float


class SimilarTicket(BaseModel):
    """A historical ticket close to this one, with the label it had."""

    id: str
    score: float
    label: str | None = None


class Explanation(BaseModel):
    """Why the model said what it said."""

    terms: list[TermWeight] = Field(default_factory=list)
    similar_tickets: list[SimilarTicket] = Field(default_factory=list)


class TriageResult(BaseModel):
    """Everything the triage service predicts for one ticket."""

    ticket_id: str
    category: HeadPrediction | None = None
    subcategory: HeadPrediction | None = None
    priority: HeadPrediction | None = None
    team: HeadPrediction | None = None
    assignee: HeadPrediction | None = None
    escalation: EscalationPrediction | None = None
    auto_reply: AutoReply | None = None
    language: Language | None = None
    explanation: Explanation = Field(default_factory=Explanation)
    model_version: str
    timing_ms: float = Field(ge=0.0, description="server-side time to score this ticket")
    path: Literal["cheap", "full"] | None = Field(
        None,
        description="which stage of a cascade bundle answered: 'cheap' (TF-IDF and a static "
        "embedding, confident enough) or 'full' (the sentence encoder); null without a cascade",
    )


class KBArticle(BaseModel):
    """A knowledge-base article (or FAQ entry) the auto-reply matcher may suggest."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, description="the question or title the article answers")
    body: str = Field(min_length=1, description="the answer text sent to the customer")
    category: str | None = None
    subcategory: str | None = None
    language: str | None = None
