"""`import_source`: run an importer, stream its tickets into Parquet, and report.

Writes are atomic: a failed import leaves no output (tickets, KB, rejects). A dry run
reads and validates everything and writes nothing. Every ticket's `created_at` is
collected for the report's time range and split line; the import's column decisions are
stored in the output's Parquet metadata (`triage.ingest.report.read_provenance`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from triage.contract import Ticket
from triage.dataset import ArticleWriter, TicketWriter, kb_path_for
from triage.errors import InputFileError
from triage.ingest.base import ImportOptions
from triage.ingest.registry import IMPORTERS, MAPPED, Importer, importer_for
from triage.ingest.rejects import RejectsFile, rejects_path_for
from triage.ingest.report import METADATA_KEY, ImportReport


class _Discard:
    """A writer that counts and keeps nothing (`--dry-run`)."""

    def __init__(self) -> None:
        self.rows_written = 0
        self.schema = None

    def write(self, item: Any) -> None:
        self.rows_written += 1

    def write_all(self, items: Iterable[Any]) -> None:
        for item in items:
            self.write(item)

    def __enter__(self) -> _Discard:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _check(importer: Importer, name: str, options: ImportOptions) -> None:
    if importer.takes_mapping:
        if options.eventlog is not None and not importer.folds_events:
            raise InputFileError("--case/--time/--status/--level apply to --format eventlog only")
        return
    mapped = ", ".join(MAPPED)
    if options.mapping:
        raise InputFileError(
            f"format {name!r} has a fixed column mapping; --map applies to {mapped}"
        )
    if options.dedupe or options.on_error != "fail" or options.eventlog is not None:
        raise InputFileError(
            f"format {name!r} is a shared dataset with its own rules; --dedupe, --on-error "
            f"and the event-log options apply to {mapped}"
        )


def _tap(tickets: Iterator[Ticket], report: ImportReport, writer: Any) -> Iterator[Ticket]:
    """Collect what the report needs from every ticket; label the output with the plan
    (known once the importer has read the header, i.e. before its first ticket)."""
    labelled = False
    for ticket in tickets:
        if not labelled:
            _label(writer, report)
            labelled = True
        report.created.append(ticket.created_at.timestamp() if ticket.created_at else math.nan)
        yield ticket
    if not labelled:
        _label(writer, report)


def _label(writer: Any, report: ImportReport) -> None:
    if getattr(writer, "schema", None) is not None:
        meta = dict(writer.schema.metadata or {})
        meta[METADATA_KEY] = json.dumps(report.provenance(), ensure_ascii=False)
        writer.schema = writer.schema.with_metadata(meta)


def _write(writer: Any, tickets: Iterable[Ticket], on_progress, every: int) -> None:
    for n, ticket in enumerate(tickets, start=1):
        writer.write(ticket)
        if on_progress is not None and n % every == 0:
            on_progress(n)


def import_source(
    source: str | Path,
    name: str,
    out: str | Path | None,
    options: ImportOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 1_000,
    *,
    dry_run: bool = False,
    split: str = "auto",
) -> ImportReport:
    """Import `source` with importer `name` into `out` (Parquet), streaming and atomically.

    Every row is validated. By default the first bad row raises `RowError` and no output
    file (tickets, KB, rejects) is left behind; with `options.on_error == "skip"` bad rows
    go to `NAME.rejects.csv` beside `out`. An importer with a knowledge base also writes
    `kb_path_for(out)`; an import without one removes a stale KB file left there. With
    `dry_run`, nothing is written (`out` may be None). `split` is what the trainer will
    be asked for (the report's split line).
    """
    importer = importer_for(name)
    options = options or ImportOptions()
    _check(importer, name, options)
    source = Path(source)
    if not source.exists():
        raise InputFileError(f"{source}: no such file or folder")
    if out is None and not dry_run:
        raise InputFileError("--out is required unless --dry-run")
    out = Path(out) if out is not None else None
    if out is not None and out.suffix != ".parquet":
        raise InputFileError(f"{out}: the output must be a .parquet file")
    report = ImportReport(source=str(source), format=name, out=None if dry_run else out)
    report.dry_run = dry_run
    rejects = None
    if options.on_error == "skip":
        target = rejects_path_for(out if out is not None else source.with_suffix(".parquet"))
        rejects = RejectsFile(target, write=not dry_run)
        report.reject_sink = rejects
    try:
        _run(importer, source, out, options, report, on_progress, progress_every, dry_run)
    except BaseException:
        if rejects is not None:
            rejects.discard()
        raise
    if rejects is not None:
        report.rejects_out = rejects.commit()
    elif out is not None and not dry_run and rejects_path_for(out).exists():
        rejects_path_for(out).unlink()
        report.notes.append(f"removed stale {rejects_path_for(out).name} from an earlier import")
    report.finish(split)
    return report


def _run(
    importer: Importer,
    source: Path,
    out: Path | None,
    options: ImportOptions,
    report: ImportReport,
    on_progress: Callable[[int], None] | None,
    every: int,
    dry_run: bool,
) -> None:
    if dry_run or out is None:
        with _Discard() as discard:
            if importer.articles is not None:
                articles = _Discard()
                articles.write_all(importer.articles(source, options, report))
                report.kb_written = articles.rows_written
            tickets = _tap(importer.tickets(source, options, report), report, discard)
            _write(discard, tickets, on_progress, every)
        report.rows_written = discard.rows_written
        return
    kb_out = kb_path_for(out)
    if importer.articles is not None:
        with ArticleWriter(kb_out) as article_writer, TicketWriter(out) as writer:
            article_writer.write_all(importer.articles(source, options, report))
            tickets = _tap(importer.tickets(source, options, report), report, writer)
            _write(writer, tickets, on_progress, every)
        report.kb_out, report.kb_written = kb_out, article_writer.rows_written
    else:
        with TicketWriter(out) as writer:
            tickets = _tap(importer.tickets(source, options, report), report, writer)
            _write(writer, tickets, on_progress, every)
        if kb_out.exists():
            kb_out.unlink()
            report.notes.append(f"removed stale {kb_out.name} from an earlier import")
    report.rows_written = writer.rows_written


__all__ = ["IMPORTERS", "import_source"]
