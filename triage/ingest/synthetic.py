"""Importer for `synthetic_multilingual`: two generated multilingual CSVs with answers.

Both files were cut at 2,000,000 bytes when published, so each ends in an incomplete
record. That last record, and only that one, is dropped and counted in the report; an
incomplete record anywhere else is still an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from triage.contract import Ticket
from triage.errors import InputFileError
from triage.ingest.archives import files_in
from triage.ingest.base import (
    ImportOptions,
    ImportReport,
    declare,
    optional_text,
    text_of,
    validate_ticket,
)
from triage.ingest.tables import open_csv

TRUNCATED_REASON = "truncated last record (file cut at 2,000,000 bytes when published)"


def _files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    files = files_in(source, "*.csv")
    if not files:
        raise InputFileError(f"{source}: no CSV files")
    return files


def iter_synthetic_multilingual(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """subject/body; `type` -> category, `queue` -> team, priority, language, `answer` ->
    agent_answer, tag_1..tag_9 -> tags, business_type -> extra. Ids are
    `<file stem>-<data row>`."""
    for path in _files(source):
        stem = path.stem.removeprefix("tickets_multilang_").removesuffix("_truncated")

        def dropped(row: int, why: str, name: str = path.name) -> None:
            report.drop(TRUNCATED_REASON)
            report.notes.append(f"{name}: dropped data row {row}: {why}")

        with open_csv(path, on_truncated_tail=dropped) as table:
            col = {
                c: table.index(c)
                for c in ("subject", "body", "answer", "type", "queue", "priority", "language")
            }
            tag_cols = [i for i, c in enumerate(table.columns) if c.startswith("tag_")]
            business = (
                table.columns.index("business_type") if "business_type" in table.columns else None
            )
            columns = {"category": "type", "team": "queue", "agent_answer": "answer"}
            if path == _files(source)[0]:
                declare(
                    report,
                    {"subject": "subject", "body": "body", **columns, "priority": "priority"}
                    | {"language": "language", "tags": "tag_1..tag_9"},
                )
            for rec in table:
                v = rec.values
                data = {
                    "id": f"synthetic-{stem}-{rec.row}",
                    "subject": text_of(v[col["subject"]]),
                    "body": text_of(v[col["body"]]),
                    "agent_answer": optional_text(v[col["answer"]]),
                    "category": optional_text(v[col["type"]]),
                    "team": optional_text(v[col["queue"]]),
                    "priority": optional_text(v[col["priority"]]),
                    "language": optional_text(v[col["language"]]),
                    "tags": [v[i] for i in tag_cols if v[i].strip()],
                    "extra": {"business_type": v[business]}
                    if business is not None and v[business]
                    else {},
                }
                yield validate_ticket(data, table.name, rec.row, rec.position, columns)
