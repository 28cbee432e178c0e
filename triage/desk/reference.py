"""Ticket references as customers see them (`T-123`) and how replies carry them.

Outbound mail puts `[#T-123-<reply token>]` in the subject. The token is random and
unguessable (72 bits), stored with the ticket: a reply joins the ticket by its subject
only when the token matches, so nobody can join (and reopen) a ticket by guessing its
sequential number. A bare `[#T-123]` joins nothing by itself.
"""

from __future__ import annotations

import hmac
import re
import secrets

from triage.errors import NotFound

PREFIX = "T-"
# `[#T-123-token]` in an e-mail subject: what outbound mail puts there and replies keep.
SUBJECT_REFERENCE = re.compile(r"\[#T-(\d+)(?:-([A-Za-z0-9_-]{1,64}))?\]", re.IGNORECASE | re.ASCII)
REPLY_TOKEN_LENGTH = 12
# Ticket numbers are `INTEGER` columns, signed 32-bit on PostgreSQL: a larger number
# names no ticket (and would overflow inside the database).
MAX_TICKET_NUMBER = 2**31 - 1


def format_reference(ticket_id: int) -> str:
    """`T-123` for ticket 123."""
    return f"{PREFIX}{ticket_id}"


def new_reply_token() -> str:
    """A fresh unguessable reply token (URL-safe, `REPLY_TOKEN_LENGTH` characters)."""
    return secrets.token_urlsafe(9)


def subject_tag(ticket_id: int, token: str | None = None) -> str:
    """The tag outbound e-mail puts in the subject so that replies find the ticket:
    `[#T-12-<token>]` (`[#T-12]` for a ticket from before reply tokens)."""
    if token:
        return f"[#{format_reference(ticket_id)}-{token}]"
    return f"[#{format_reference(ticket_id)}]"


def find_reference(subject: str) -> tuple[int, str | None] | None:
    """`(ticket number, reply token or None)` a subject like `Re: [#T-12-abc] Printer`
    refers to, if any."""
    match = SUBJECT_REFERENCE.search(subject or "")
    if match is None or int(match.group(1)) > MAX_TICKET_NUMBER:
        return None
    return int(match.group(1)), match.group(2)


def token_matches(given: str | None, stored: str | None) -> bool:
    """Constant-time comparison of a reply token with the ticket's; no token never matches."""
    if not given or not stored:
        return False
    return hmac.compare_digest(given.encode(), stored.encode())


def parse_ticket_id(value: int | str) -> int:
    """Accept `123`, `"123"` or `"T-123"`; anything else is a `NotFound`."""
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.upper().startswith(PREFIX):
        text = text[len(PREFIX) :]
    # ASCII digits only: `str.isdigit` also accepts "³", which `int` refuses.
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_TICKET_NUMBER:
        raise NotFound(f"no ticket {value!r}: expected a number or T-<number>")
    return int(text)
