"""Labels derived from a case's history of events: escalated, reassignments, reopens,
resolution time. Every rule is spelled out in the import report.

* escalated: with `--escalated-when 'level in L2,L3'` (or `status in ...`, or any column),
  some event of the case matches; without a rule but with `--level`, the level moved away
  from the opening level at some point.
* reassignment_count: changes of the team (else the assignee) between consecutive events
  that both have one.
* reopen_count: moves from a resolved status back to another one.
* resolved_at: the time of the last move into a resolved status, if the case ends in one.
  Resolved statuses are `--resolved-when 'status in Resolved,Closed'`, by default the
  usual words for resolved/closed/done in the languages the presets read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from triage.errors import InputFileError
from triage.ingest.dates import fold

DEFAULT_RESOLVED = frozenset(
    fold(s)
    for s in (
        "resolved",
        "closed",
        "solved",
        "done",
        "completed",
        "cancelled",
        "canceled",
        "fixed",
        "erledigt",
        "geschlossen",
        "gelöst",
        "résolu",
        "fermé",
        "resuelto",
        "cerrado",
        "resolvido",
        "fechado",
        "решено",
        "закрыто",
        "rozwiązane",
        "zamknięte",
    )
)
_RULE = re.compile(r"^\s*(?P<field>.+?)\s+(?:(?P<in>in)\s+|(?:==?)\s*)(?P<values>.+?)\s*$", re.I)


@dataclass(frozen=True)
class Rule:
    """`FIELD in A,B` / `FIELD = A`: matches an event whose FIELD is one of the values."""

    text: str
    column: str
    values: frozenset[str]

    def matches(self, value: object) -> bool:
        """Whether a cell value is one of the rule's values (case and accents aside)."""
        return value is not None and fold(str(value)) in self.values


def parse_rule(option: str, text: str, roles: dict[str, str | None], header: list[str]) -> Rule:
    """Read a rule; FIELD is `level`, `status` (the `--level`/`--status` columns) or a
    column name. `InputFileError` says what is wrong with it."""
    m = _RULE.match(text)
    if m is None:
        raise InputFileError(
            f"{option} {text!r}: expected 'FIELD in VALUE,VALUE' or 'FIELD = VALUE', "
            "e.g. 'level in L2,L3'"
        )
    name = m["field"].strip()
    column = roles.get(name.lower()) if name.lower() in roles else name
    if column is None:
        raise InputFileError(f"{option} {text!r}: {name!r} needs --{name.lower()} COLUMN")
    if column not in header:
        raise InputFileError(
            f"{option} {text!r}: no column {column!r}; the columns present are: "
            + ", ".join(repr(c) for c in header)
        )
    values = [v.strip() for v in m["values"].split(",")] if m["in"] else [m["values"].strip()]
    return Rule(text, column, frozenset(fold(v) for v in values if v))


@dataclass(frozen=True)
class Event:
    """What the derivations need of one event."""

    at: datetime
    status: object = None
    level: object = None
    owner: object = None  # the team, else the assignee
    escalation_value: object = None  # the rule's column


def changes(values: Sequence[object]) -> int:
    """How often consecutive non-empty values differ."""
    present = [fold(str(v)) for v in values if v is not None and str(v).strip()]
    return sum(1 for a, b in zip(present, present[1:], strict=False) if a != b)


def escalated(events: Sequence[Event], rule: Rule | None, has_level: bool) -> bool | None:
    """The escalated label of a case (None when nothing says)."""
    if rule is not None:
        return any(rule.matches(e.escalation_value) for e in events)
    if has_level:
        opening = next((e.level for e in events if e.level is not None), None)
        return any(e.level is not None and fold(str(e.level)) != fold(str(opening)) for e in events)
    return None


def resolution(events: Sequence[Event], resolved: frozenset[str]) -> tuple[datetime | None, int]:
    """(resolved_at, reopen_count) from the status history."""
    resolved_at: datetime | None = None
    reopens = 0
    was_resolved = False
    for event in events:
        if event.status is None or not str(event.status).strip():
            continue
        now = fold(str(event.status)) in resolved
        if now and not was_resolved:
            resolved_at = event.at
        if was_resolved and not now:
            reopens += 1
        was_resolved = now
    return (resolved_at if was_resolved else None), reopens
