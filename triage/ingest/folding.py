"""Folding one case's events into a ticket's fields, and saying how it was done.

See `triage.ingest.eventlog` for what a folded ticket holds and
`triage.ingest.history` for the derived labels' rules.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from triage.contract import LABEL_FIELDS
from triage.ingest.base import EventLogOptions, ImportReport
from triage.ingest.dates import DateReader, fold
from triage.ingest.generic import RowBuilder
from triage.ingest.history import (
    DEFAULT_RESOLVED,
    Event,
    Rule,
    changes,
    escalated,
    parse_rule,
    resolution,
)
from triage.ingest.mapping import Plan
from triage.ingest.report_text import plural
from triage.ingest.rows import Record, clean_cell

# Fields taken from the history (the last non-empty value) instead of the first event.
_HISTORY_FIELDS = frozenset(LABEL_FIELDS) | {"resolved_at"}


class Folding:
    """Builds the fields of one case's ticket and counts what the derivations decided."""

    def __init__(
        self,
        spec: EventLogOptions,
        plan: Plan,
        header: list[str],
        report: ImportReport,
        unmapped: set[str] | None = None,
    ) -> None:
        self.spec, self.plan, self.report = spec, plan, report
        self.pos = {c: header.index(c) for c in (spec.status, spec.level) if c}
        roles = {"level": spec.level, "status": spec.status}
        self.rule: Rule | None = None
        if spec.escalated_when:
            self.rule = parse_rule("--escalated-when", spec.escalated_when, roles, header)
            self.pos[self.rule.column] = header.index(self.rule.column)
        self.resolved = DEFAULT_RESOLVED
        self.status = spec.status
        if spec.resolved_when:
            rule = parse_rule("--resolved-when", spec.resolved_when, roles, header)
            self.resolved, self.status = rule.values, rule.column
            self.pos[rule.column] = header.index(rule.column)
        skip = unmapped or set()
        self.history_targets = {t for t in plan.steps if t in _HISTORY_FIELDS}
        self.first_targets = set(plan.steps) - self.history_targets
        owner = plan.steps.get("team") or plan.steps.get("assignee")
        self.owner = owner.target if owner else None
        # What is read from every event: the history fields and the owner.
        self.event_targets = self.history_targets | (
            {self.owner} if self.owner is not None else set()
        )
        self.derive_escalated = (
            "escalated" not in plan.steps
            and "escalated" not in skip
            and (self.rule is not None or spec.level is not None)
        )
        self.derive_resolved = (
            self.status is not None
            and "resolved_at" not in plan.steps
            and "resolved_at" not in skip
        )
        self.stats: Counter[str] = Counter()
        self.seen_resolved: set[str] = set()
        self._record_uses()

    def _resolved(self, status: object) -> bool:
        return fold(str(status)) in self.resolved

    def _record_uses(self) -> None:
        spec, report = self.spec, self.report
        report.use("id", [spec.case], "--case", "one ticket per case")
        report.use("created_at", [spec.time], "--time", "the case's first event")
        if self.derive_escalated:
            source = [self.rule.column] if self.rule else [spec.level or ""]
            report.use("escalated", source, "derived", "from the history, see below")
        if self.derive_resolved and self.status:
            report.use("resolved_at", [self.status], "derived", "from the history, see below")

    def _cell(self, rec: Record, column: str | None) -> Any:
        return clean_cell(rec.values[self.pos[column]]) if column else None

    def ticket_data(
        self, case: str, history: list[tuple[datetime, Record]], builder: RowBuilder
    ) -> dict[str, Any]:
        """The ticket fields of one case (RowError from a bad cell of its events)."""
        first = history[0][1]
        data, extra = builder.fields(first, only=self.first_targets)
        per_event = [builder.fields(rec, only=self.event_targets)[0] for _, rec in history]
        for target in sorted(self.history_targets):
            values = [d[target] for d in per_event if d.get(target) is not None]
            if values:
                data[target] = values[-1]
            if per_event[0].get(target) is not None and target != "resolved_at":
                extra[f"open_{target}"] = per_event[0][target]
        events = [
            Event(
                at,
                status=self._cell(rec, self.status),
                level=self._cell(rec, self.spec.level),
                owner=d.get(self.owner) if self.owner else None,
                escalation_value=self._cell(rec, self.rule.column) if self.rule else None,
            )
            for (at, rec), d in zip(history, per_event, strict=True)
        ]
        data["id"], data["created_at"] = case, history[0][0]
        extra["event_count"] = len(events)
        self._derive(events, data, extra)
        if extra:
            data["extra"] = extra
        return data

    def _derive(self, events: list[Event], data: dict[str, Any], extra: dict[str, Any]) -> None:
        self.stats["cases"] += 1
        if self.status:
            extra["first_status"], extra["last_status"] = _ends([e.status for e in events])
            resolved_at, extra["reopen_count"] = resolution(events, self.resolved)
            self.seen_resolved.update(
                str(e.status) for e in events if e.status is not None and self._resolved(e.status)
            )
            self.stats["reopened"] += bool(extra["reopen_count"])
            if self.derive_resolved:
                data["resolved_at"] = resolved_at
                self.stats["resolved"] += resolved_at is not None
        if self.spec.level:
            extra["first_level"], extra["last_level"] = _ends([e.level for e in events])
        if self.owner:
            extra["reassignment_count"] = changes([e.owner for e in events])
            self.stats["reassigned"] += bool(extra["reassignment_count"])
        if self.derive_escalated:
            data["escalated"] = escalated(events, self.rule, self.spec.level is not None)
            self.stats["escalated"] += bool(data["escalated"])

    def finish(self, dates: DateReader) -> None:
        """Print every derivation with how many cases it applied to."""
        n, say = self.stats["cases"], self.report.derivations.append
        say(
            f"{n:,} cases folded from their events (ordered by {self.spec.time!r}, then file order)"
        )
        at_open = sorted(self.first_targets)
        if at_open:
            say(f"known at open, from each case's first event: {', '.join(at_open)}")
        if self.history_targets:
            names = ", ".join(sorted(self.history_targets))
            say(
                f"{names}: the last non-empty value of the history "
                "(the first kept as extra.open_FIELD)"
            )
        if self.derive_escalated:
            rule = (
                f"some event matches --escalated-when {self.rule.text!r}"
                if self.rule
                else f"the level ({self.spec.level!r}) moved away from the opening level"
            )
            say(f"escalated = {rule}: {self.stats['escalated']:,} of {n:,} cases")
        if self.status:
            seen = ", ".join(sorted(self.seen_resolved)) or "none"
            rule = (
                f"--resolved-when {self.spec.resolved_when!r}"
                if self.spec.resolved_when
                else f"the usual resolved/closed words; values of {self.status!r} that matched: "
                f"{seen}; choose with --resolved-when"
            )
            if self.derive_resolved:
                say(
                    f"resolved_at = the last move into a resolved status ({rule}), when the "
                    f"case ends there: {self.stats['resolved']:,} of {n:,} cases"
                )
            else:
                say(f"resolved statuses: {rule}")
            say(
                f"extra.reopen_count = moves from a resolved status back to another: "
                f"{plural(self.stats['reopened'], 'case')} reopened"
            )
        if self.owner:
            column = self.plan.steps[self.owner].column
            say(
                f"extra.reassignment_count = changes of {column!r} between consecutive events: "
                f"{plural(self.stats['reassigned'], 'case')} reassigned"
            )
        if dates.forms:
            say(f"event times read as {', '.join(sorted(dates.forms))}")


def _ends(values: list[Any]) -> tuple[Any, Any]:
    present = [v for v in values if v is not None]
    return (present[0], present[-1]) if present else (None, None)
