"""Answer templates: past agent replies made reusable, and the review that lets one be sent.

A past reply was written for one customer: it greets them by name, quotes their amount,
order or invoice number and often says what the agent did for them ("I have refunded
it"). Mining replaces the customer's details with placeholders (`{amount}`, `{email}`,
`{reference}`) and proposes the template; only a person's approval (CLI `triage replies
templates approve`, or the admin API) lets the desk send it automatically. A reply whose
template is not approved stays a suggestion for agents.

A matched past reply finds its template by `template_key`: the hash of its text with the
placeholders in, so the same wording with another customer's details maps to one template.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.desk.ledger import DeskContext
from triage.errors import Conflict, NotFound, TriageError
from triage.store.models import ReplyTemplateRow


class TemplateStatus(StrEnum):
    """Where a template is in its review."""

    proposed = "proposed"
    approved = "approved"
    retired = "retired"


class TemplateView(BaseModel):
    """A template as the CLI and the admin API show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    text: str
    placeholders: list[str]
    language: str | None
    uses: int
    status: TemplateStatus
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None


class MineReport(BaseModel):
    """What one mining pass found."""

    replies: int  # past replies read
    candidates: int  # distinct templates recurring at least `min_uses` times
    added: int  # new proposals stored
    known: int  # already in the store (their use counts updated)


# Customer details, most specific first: each match becomes its placeholder.
_PLACEHOLDERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "amount",
        re.compile(
            r"(?:[$€£]\s?\d(?:[\d\s.,]*\d)?"
            r"|\d(?:[\d\s.,]*\d)?\s?(?:₽|zł|€|£|руб\.?|PLN|EUR|USD|RUB)(?!\w))"
        ),
    ),
    # Order, invoice and ticket numbers: letters and digits with dashes (ORD-123456,
    # INV-2026-12345), or a '#' and digits.
    ("reference", re.compile(r"(?:\b[A-Z]{2,}(?:-\d+)+\b|#\s?\d{3,}|\bT-\d+\b)")),
    ("number", re.compile(r"\b\d{5,}\b")),
)
# A greeting line naming the customer ("Hi Anna,", "Здравствуйте, Анна!").
_GREETING = re.compile(r"^([^\n,!]{1,30}?)[ ,]+([A-ZА-ЯЁŁŚŻŹĆŃÓ][\w-]+)\s*([,!])\s*$", re.M)


def strip_salutations(text: str) -> str:
    """The reusable middle of a reply: without a short greeting paragraph and a short
    sign-off paragraph (the agent's name), as the matcher's training keeps it."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(paragraphs) >= 3 and len(paragraphs[0]) <= 60 and len(paragraphs[-1]) <= 200:
        return "\n\n".join(paragraphs[1:-1])
    return text.strip()


def templatize(text: str) -> tuple[str, list[str]]:
    """`text` with the customer's details replaced by placeholders, and the placeholders
    used (in order of first use)."""
    out = strip_salutations(text)
    out = _GREETING.sub(lambda m: f"{m.group(1)} {{customer_name}}{m.group(3)}", out)
    for name, pattern in _PLACEHOLDERS:
        out = pattern.sub("{" + name + "}", out)
    used = list(dict.fromkeys(re.findall(r"\{(\w+)\}", out)))
    return out, used


def template_key(text: str) -> str:
    """The key of the template a reply's text belongs to (whitespace and case folded)."""
    templ, _ = templatize(text)
    normal = " ".join(templ.lower().split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:32]


def mine(
    desk: DeskContext,
    replies: Iterable[tuple[str, str | None]],
    *,
    min_uses: int = 3,
) -> MineReport:
    """Propose templates from past replies (`(text, language)` pairs): each wording that
    recurs at least `min_uses` times with its details replaced. A template already
    stored keeps its status (a retired one is not proposed again); its use count is
    updated."""
    counts: Counter[str] = Counter()
    first: dict[str, tuple[str, list[str], str | None]] = {}
    total = 0
    for text, language in replies:
        if not text or not text.strip():
            continue
        total += 1
        templ, used = templatize(text)
        key = template_key(text)
        counts[key] += 1
        first.setdefault(key, (templ, used, language))
    keep = {k: n for k, n in counts.items() if n >= min_uses}
    added = known = 0
    now = desk.clock()
    with desk.sessions.begin() as session:
        stored = {
            row.key: row
            for row in session.scalars(
                select(ReplyTemplateRow).where(ReplyTemplateRow.key.in_(list(keep)))
            )
        }
        for key, uses in sorted(keep.items(), key=lambda kv: -kv[1]):
            if key in stored:
                stored[key].uses = uses
                known += 1
                continue
            templ, used, language = first[key]
            session.add(
                ReplyTemplateRow(
                    key=key,
                    text=templ,
                    placeholders=used,
                    language=language,
                    uses=uses,
                    status=TemplateStatus.proposed.value,
                    created_at=now,
                )
            )
            added += 1
    return MineReport(replies=total, candidates=len(keep), added=added, known=known)


def list_templates(desk: DeskContext, status: TemplateStatus | None = None) -> list[TemplateView]:
    """Templates, most used first; only those of `status` when given."""
    with desk.readers() as session:
        query = select(ReplyTemplateRow).order_by(ReplyTemplateRow.uses.desc(), ReplyTemplateRow.id)
        if status is not None:
            query = query.where(ReplyTemplateRow.status == status.value)
        return [TemplateView.model_validate(r) for r in session.scalars(query)]


def review(
    desk: DeskContext,
    template_id: int,
    status: TemplateStatus,
    *,
    actor: str,
    text: str | None = None,
) -> TemplateView:
    """Approve or retire a template (a person's decision, recorded with who and when).
    Approving may replace the text with a reviewed wording; an approved template may
    only hold the placeholders the desk fills (`FILLED`)."""
    if status is TemplateStatus.proposed:
        raise TriageError("status: a template can be approved or retired, not proposed again")
    with desk.sessions.begin() as session:
        row = session.get(ReplyTemplateRow, template_id, with_for_update=True)
        if row is None:
            raise NotFound(f"no template {template_id}")
        if text is not None:
            if not text.strip():
                raise TriageError("text: empty")
            row.text = text.strip()
            row.placeholders = list(dict.fromkeys(re.findall(r"\{(\w+)\}", row.text)))
        unfilled = [p for p in row.placeholders if p not in FILLED]
        if status is TemplateStatus.approved and unfilled:
            raise Conflict(
                f"template {template_id}: placeholders {', '.join(unfilled)} hold another "
                "customer's details; approve it with a reviewed text without them"
            )
        row.status = status.value
        row.reviewed_by = actor
        row.reviewed_at = desk.clock()
        session.flush()
        return TemplateView.model_validate(row)


# The placeholders the desk fills from the ticket itself when it sends a template.
FILLED = frozenset({"customer_name", "ticket"})


def approved_template(session: Session, reply_text: str) -> ReplyTemplateRow | None:
    """The approved template of a matched past reply, or None (then it is a suggestion)."""
    return session.scalar(
        select(ReplyTemplateRow).where(
            ReplyTemplateRow.key == template_key(reply_text),
            ReplyTemplateRow.status == TemplateStatus.approved.value,
        )
    )


def fill(text: str, *, customer_name: str | None, ticket: str) -> str:
    """An approved template's text for one ticket: its customer's name and reference."""
    out = text.replace("{ticket}", ticket).replace("{customer_name}", customer_name or "")
    return re.sub(r" +([,!])", r"\1", out)
