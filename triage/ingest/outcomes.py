"""Extra keys that record what happened after a ticket was opened.

A model that predicts at open time must not learn from them (they leak the outcome):
the UCI log's counters and closing values, an event log's derived counts and last
states, and the presets' status/resolution columns (the state at export time).
"""

from __future__ import annotations

# The UCI log's outcomes (triage.ingest.uci, which folds them from the events): counters
# (the maximum over events) and closing values (the last event's).
UCI_COUNTERS: tuple[str, ...] = ("reassignment_count", "reopen_count", "sys_mod_count")
UCI_CLOSING_COLUMNS: tuple[str, ...] = (
    "closed_code",
    "resolved_by",
    "knowledge",
    "u_priority_confirmation",
    "problem_id",
    "rfc",
    "vendor",
    "caused_by",
)
UCI_OUTCOME_KEYS: tuple[str, ...] = (
    *UCI_COUNTERS,
    "event_count",
    "last_state",
    "closed_at",
    *UCI_CLOSING_COLUMNS,
)

OUTCOME_EXTRA_KEYS: frozenset[str] = frozenset(UCI_OUTCOME_KEYS) | {
    # triage.ingest.folding (event logs)
    "event_count",
    "reopen_count",
    "reassignment_count",
    "last_status",
    "last_level",
    # presets: state at export time, satisfaction, closing codes
    "status",
    "state",
    "resolution",
    "reopens",
    "satisfaction",
    "close_code",
    "first_response_status",
}
