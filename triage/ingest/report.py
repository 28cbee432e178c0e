"""The import report: what an import read, wrote, skipped and decided, and why.

Nothing an importer decides is silent. The report names every column and the field it
filled and how (`preset`, `map`, `same name`, `derived`), which fields became labels
(what the trainer learns to predict), what was left out, the blank rows skipped, the rows
rejected or deduplicated, values kept aside with a warning, the time range, and the split
the trainer will use (`triage.splits.plan_split`, the trainer's own rule).

`lines()` is the text `triage data import` prints; `provenance()` is what is stored in the
output file's Parquet metadata under `triage.import`, so training can say where each
label came from (`read_provenance`).
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.contract import LABEL_FIELDS
from triage.errors import RowError
from triage.splits import SplitPlan, plan_split

METADATA_KEY = b"triage.import"


@dataclass
class ColumnUse:
    """One field of the output and where it came from."""

    field: str
    columns: list[str]
    how: str  # "preset", "map", "same name" or "derived"
    note: str = ""

    @property
    def is_label(self) -> bool:
        """Whether the field is one the trainer learns to predict."""
        return self.field in LABEL_FIELDS

    def source(self) -> str:
        """The columns as the user sees them: `'Labels' x4`, `'Created'`."""
        counts = Counter(self.columns)
        return ", ".join(f"{c!r} x{n}" if n > 1 else repr(c) for c, n in counts.items())


@dataclass
class ImportReport:
    """What an import did: rows written, skipped (and why), fields, labels, time range."""

    source: str
    format: str
    out: Path | None = None
    rows_written: int = 0
    kb_out: Path | None = None
    kb_written: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    detected: str | None = None
    columns: list[ColumnUse] = field(default_factory=list)
    # columns not imported, as shown: "'Watchers' x10", "'Project url'"; None when the
    # importer has a fixed mapping (a shared dataset) and does not list them
    unmapped: list[str] | None = None
    blank_rows: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejects_out: Path | None = None
    duplicates: int = 0
    dedupe: str | None = None
    warnings: list[str] = field(default_factory=list)
    derivations: list[str] = field(default_factory=list)
    dry_run: bool = False
    # every written ticket's created_at (POSIX seconds; NaN where it has none), compact:
    # 8 bytes a ticket
    created: array[float] = field(default_factory=lambda: array("d"), repr=False)
    split: SplitPlan | None = None
    reject_sink: Callable[[RowError], None] | None = field(default=None, repr=False)

    def drop(self, reason: str) -> None:
        """Count one row left out on purpose, for a reason the dataset's README documents."""
        self.dropped[reason] += 1

    def reject(self, error: RowError) -> None:
        """One bad row: raised (fail-fast, the default), or counted and handed to the
        rejects file (`--on-error skip`)."""
        if self.reject_sink is None:
            raise error
        self.rejected[error.field or "(row)"] += 1
        self.reject_sink(error)

    def use(self, fld: str, columns: list[str], how: str, note: str = "") -> None:
        """Record that `fld` is filled from `columns`."""
        self.columns.append(ColumnUse(fld, list(columns), how, note))

    def warn(self, message: str) -> None:
        """A warning printed with the report (values kept aside, suspicious columns)."""
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def rows_dropped(self) -> int:
        """How many rows were left out, over all reasons."""
        return sum(self.dropped.values())

    @property
    def rows_rejected(self) -> int:
        """How many rows `--on-error skip` wrote to the rejects file."""
        return sum(self.rejected.values())

    @property
    def labels(self) -> list[ColumnUse]:
        """The fields that became labels, with their sources."""
        return [c for c in self.columns if c.is_label]

    def finish(self, split: str = "auto") -> None:
        """Decide the split line from the created_at values seen (the trainer's rule)."""
        self.split = plan_split(self.created, split)  # type: ignore[arg-type]

    def time_range(self) -> tuple[str, str, int] | None:
        """(first, last, tickets with a created_at), or None when none has one."""
        known = [t for t in self.created if not math.isnan(t)]
        if not known:
            return None
        first, last = (
            datetime.fromtimestamp(t, UTC).isoformat(timespec="minutes")
            for t in (min(known), max(known))
        )
        return first, last, len(known)

    def provenance(self) -> dict[str, Any]:
        """The column -> field decisions, stored with the output for training to read."""
        return {
            "format": self.format,
            "detected": self.detected,
            "fields": {c.field: {"columns": c.columns, "how": c.how} for c in self.columns},
            "labels": {
                c.field: {"columns": c.columns, "how": c.how, "note": c.note} for c in self.labels
            },
            "derivations": list(self.derivations),
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary."""
        span = self.time_range()
        return {
            "source": self.source,
            "format": self.format,
            "detected": self.detected,
            "out": str(self.out) if self.out else None,
            "dry_run": self.dry_run,
            "rows_written": self.rows_written,
            "rows_dropped": self.rows_dropped,
            "dropped": dict(self.dropped),
            "blank_rows": self.blank_rows,
            "rows_rejected": self.rows_rejected,
            "rejected": dict(self.rejected),
            "rejects_out": str(self.rejects_out) if self.rejects_out else None,
            "duplicates": self.duplicates,
            "kb_out": str(self.kb_out) if self.kb_out else None,
            "kb_written": self.kb_written,
            "columns": [
                {"field": c.field, "columns": c.columns, "how": c.how, "note": c.note}
                for c in self.columns
            ],
            "labels": [c.field for c in self.labels],
            "not_imported": None if self.unmapped is None else list(self.unmapped),
            "derivations": list(self.derivations),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "time_range": None if span is None else {"first": span[0], "last": span[1]},
            "split": None
            if self.split is None
            else {"kind": self.split.kind, "reason": self.split.reason},
        }

    def lines(self) -> list[str]:
        """The report as text, one line per item (what the CLI prints)."""
        from triage.ingest.report_text import report_lines

        return report_lines(self)


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The import decisions stored in a ticket file (None for files from elsewhere)."""
    import pyarrow.parquet as pq

    metadata = pq.read_schema(path).metadata or {}
    raw = metadata.get(METADATA_KEY)
    return json.loads(raw) if raw else None
