"""What a preset knows about one help desk's export: its column names and its values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from triage.ingest.dates import DateReader


@dataclass(frozen=True)
class RowContext:
    """What a derivation sees of one row: its role cells and the fields read so far."""

    roles: dict[str, list[Any]]
    data: dict[str, Any]
    dates: DateReader


@dataclass(frozen=True)
class Derivation:
    """A field computed from other columns (Jira comments -> first_response_at).

    It runs only when its field is not filled by a column and the user did not unmap it;
    every role it reads must be present in the file.
    """

    target: str
    roles: tuple[str, ...]
    describe: str
    compute: Callable[[RowContext], Any]
    optional: tuple[str, ...] = ()  # roles read when the file has them

    def reads(self, present: dict[str, list[int]]) -> list[str]:
        """The roles this derivation reads from a file with the `present` roles."""
        return [r for r in (*self.roles, *self.optional) if r in present]


@dataclass(frozen=True)
class Preset:
    """Column names of one help desk's exports and how their values read.

    `fields` maps a ticket field (or `extra.NAME`) to the header names that fill it, in
    order of preference, across the tool's export variants and languages; names compare
    without case, accents or a trailing dot. `roles` are columns derivations read.
    """

    name: str
    title: str  # what the report calls the export: "Jira CSV export"
    description: str
    fields: dict[str, tuple[str, ...]]
    date_formats: tuple[str, ...] = ()
    loose_dates: bool = True
    tag_separator: str | None = None
    channel_values: dict[str, str] = field(default_factory=dict)
    # field -> {folded cell value: field value}; a value not listed is a row error.
    value_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    value_notes: dict[str, str] = field(default_factory=dict)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    derivations: tuple[Derivation, ...] = ()
    # column prefix -> extra key prefix: Zendesk's `custom_fields.123` -> extra.custom_field_123
    extra_prefixes: dict[str, str] = field(default_factory=dict)
    # language -> the header names of that language, to say which one the file uses
    languages: dict[str, frozenset[str]] = field(default_factory=dict)
