"""Ticket references as customers see them (`T-123`) and how replies carry them."""

from __future__ import annotations

import re

from triage.errors import NotFound

PREFIX = "T-"
# `[#T-123]` in an e-mail subject: what outbound mail puts there and replies keep.
SUBJECT_REFERENCE = re.compile(r"\[#T-(\d+)\]", re.IGNORECASE | re.ASCII)
# Ticket numbers are `INTEGER` columns, signed 32-bit on PostgreSQL: a larger number
# names no ticket (and would overflow inside the database).
MAX_TICKET_NUMBER = 2**31 - 1


def format_reference(ticket_id: int) -> str:
    """`T-123` for ticket 123."""
    return f"{PREFIX}{ticket_id}"


def subject_tag(ticket_id: int) -> str:
    """The tag outbound e-mail puts in the subject so that replies find the ticket."""
    return f"[#{format_reference(ticket_id)}]"


def find_reference(subject: str) -> int | None:
    """The ticket number a subject like `Re: [#T-12] Printer` refers to, if any."""
    match = SUBJECT_REFERENCE.search(subject or "")
    if match is None or int(match.group(1)) > MAX_TICKET_NUMBER:
        return None
    return int(match.group(1))


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
