"""The importer registry: every `--format NAME` and the function that reads it.

A format NAME is one of the shared dataset folder names (their own importers and
quirks), a generic table format (`csv`, `parquet`, `jsonl`, `json`, `xlsx`: columns through
`--map`), a help-desk preset (`zendesk`, `jira`, `servicenow`, `freshdesk`), or
`eventlog` (one row per event, folded into one ticket per case).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from triage.errors import InputFileError
from triage.ingest.base import ArticleSource, TicketSource
from triage.ingest.endava import iter_endava_all_labels, iter_endava_it_tickets
from triage.ingest.eventlog import iter_eventlog
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
    folds_events: bool = False


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
        Importer(
            "eventlog",
            "an event log (CSV/XLSX/JSON/Parquet) folded into one ticket per case: "
            "--case COL --time COL [--status COL] [--level COL] [--escalated-when RULE]",
            iter_eventlog,
            takes_mapping=True,
            folds_events=True,
        ),
    )
}
# Importers that read through a column mapping take --dedupe and --on-error skip too.
MAPPED = tuple(n for n, i in IMPORTERS.items() if i.takes_mapping)


def importer_for(name: str) -> Importer:
    """The registered importer called `name`, or an `InputFileError` listing the names."""
    try:
        return IMPORTERS[name]
    except KeyError:
        raise InputFileError(
            f"unknown format {name!r}; expected one of {', '.join(IMPORTERS)}"
        ) from None
