"""The importer registry and `import_source`, which streams any source into Parquet.

A format NAME is one of the shared dataset folder names (their own importers and
quirks), a generic table format (`csv`, `parquet`, `jsonl`, `xlsx`: columns through
`--map`), or a help-desk preset (`zendesk`, `jira`, `servicenow`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from triage.dataset import ArticleWriter, TicketWriter, kb_path_for
from triage.errors import InputFileError
from triage.ingest.base import ArticleSource, ImportOptions, ImportReport, TicketSource
from triage.ingest.endava import iter_endava_all_labels, iter_endava_it_tickets
from triage.ingest.generic import PRESETS, iter_generic
from triage.ingest.rutube import iter_rutube_articles, iter_rutube_cases
from triage.ingest.servicenow import iter_servicenow_assignment
from triage.ingest.synthetic import iter_synthetic_multilingual
from triage.ingest.tables import TABLE_FORMATS
from triage.ingest.uci import iter_uci_incidents


@dataclass(frozen=True)
class Importer:
    """One registered importer: its tickets, its KB articles if any, and whether it maps columns."""

    name: str
    description: str
    tickets: TicketSource
    articles: ArticleSource | None = None
    takes_mapping: bool = False


def _generic(fmt: str | None, preset: str | None) -> TicketSource:
    return partial(iter_generic, fmt=fmt, preset=PRESETS[preset] if preset else None)


IMPORTERS: dict[str, Importer] = {
    imp.name: imp
    for imp in (
        Importer(
            "endava_it_tickets",
            "Endava IT tickets (zip of one CSV), 8 topic groups",
            iter_endava_it_tickets,
        ),
        Importer(
            "endava_all_labels_sample",
            "Endava all_tickets sample with 7 coded labels",
            iter_endava_all_labels,
        ),
        Importer(
            "servicenow_assignment",
            "ServiceNow incidents with assignment group (XLSX)",
            iter_servicenow_assignment,
        ),
        Importer(
            "rutube_support_ru",
            "RUTUBE support cases + FAQ knowledge base (Russian)",
            iter_rutube_cases,
            iter_rutube_articles,
        ),
        Importer(
            "uci_incident_log",
            "UCI ServiceNow event log, one ticket per incident",
            iter_uci_incidents,
        ),
        Importer(
            "synthetic_multilingual",
            "synthetic multilingual tickets with answers (2 CSVs)",
            iter_synthetic_multilingual,
        ),
        *(
            Importer(
                fmt,
                f"generic {fmt.upper()} with --map FIELD=COLUMN",
                _generic(fmt, None),
                takes_mapping=True,
            )
            for fmt in TABLE_FORMATS
        ),
        *(
            Importer(
                p.name,
                p.description + " (preset columns; --map overrides)",
                _generic(None, p.name),
                takes_mapping=True,
            )
            for p in PRESETS.values()
        ),
    )
}


def importer_for(name: str) -> Importer:
    """The registered importer called `name`, or an `InputFileError` listing the names."""
    try:
        return IMPORTERS[name]
    except KeyError:
        raise InputFileError(
            f"unknown format {name!r}; expected one of {', '.join(IMPORTERS)}"
        ) from None


def import_source(
    source: str | Path,
    name: str,
    out: str | Path,
    options: ImportOptions | None = None,
    on_progress: Callable[[int], None] | None = None,
    progress_every: int = 1_000,
) -> ImportReport:
    """Import `source` with importer `name` into `out` (Parquet), streaming and atomically.

    Every row is validated; the first bad row raises `RowError` and no output file
    (tickets or KB) is left behind. Rows dropped as documented dataset quirks are
    counted in the returned report. An importer with a knowledge base also writes
    `kb_path_for(out)`; an import without one removes a stale KB file left there.
    """
    importer = importer_for(name)
    options = options or ImportOptions()
    if options.mapping and not importer.takes_mapping:
        raise InputFileError(
            f"format {name!r} has a fixed column mapping; --map applies to {', '.join(n for n, i in IMPORTERS.items() if i.takes_mapping)}"
        )
    source, out = Path(source), Path(out)
    if not source.exists():
        raise InputFileError(f"{source}: no such file or folder")
    if out.suffix != ".parquet":
        raise InputFileError(f"{out}: the output must be a .parquet file")
    report = ImportReport(source=str(source), format=name, out=out)
    kb_out = kb_path_for(out)
    if importer.articles is not None:
        with ArticleWriter(kb_out) as articles, TicketWriter(out) as writer:
            articles.write_all(importer.articles(source, options, report))
            _write(writer, importer.tickets(source, options, report), on_progress, progress_every)
        report.kb_out, report.kb_written = kb_out, articles.rows_written
    else:
        with TicketWriter(out) as writer:
            _write(writer, importer.tickets(source, options, report), on_progress, progress_every)
        if kb_out.exists():
            kb_out.unlink()
            report.notes.append(f"removed stale {kb_out.name} from an earlier import")
    report.rows_written = writer.rows_written
    return report


def _write(writer: TicketWriter, tickets, on_progress, every: int) -> None:
    for n, ticket in enumerate(tickets, start=1):
        writer.write(ticket)
        if on_progress is not None and n % every == 0:
            on_progress(n)
