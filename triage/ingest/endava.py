"""Importers for the two Endava IT service-desk datasets (see the shared datasets README)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from triage.contract import Ticket
from triage.ingest.archives import one_file
from triage.ingest.base import (
    ImportOptions,
    ImportReport,
    declare,
    optional_text,
    text_of,
    validate_ticket,
)
from triage.ingest.tables import open_csv


def iter_endava_it_tickets(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """`endava_it_tickets`: the zipped, pre-processed text (`Document`) and its `Topic_group`.

    The data has no ids and no timestamps; ids are `endava-<data row>`, stable for this file.
    The text is already normalised (lower-cased, stop-words removed) and goes to `body`.
    """
    with open_csv(one_file(source, "*.zip")) as table:
        doc, topic = table.index("Document"), table.index("Topic_group")
        columns = {"body": "Document", "category": "Topic_group"}
        declare(report, columns)
        for rec in table:
            data = {
                "id": f"endava-{rec.row}",
                "body": text_of(rec.values[doc]),
                "category": optional_text(rec.values[topic]),
            }
            yield validate_ticket(data, table.name, rec.row, rec.position, columns)


# The original all_tickets.csv publishes integer codes only; their names were never
# released, so labels are the codes as strings ("4"), as the README quotes them.
_CODED = (
    "ticket_type",
    "category",
    "sub_category1",
    "sub_category2",
    "business_service",
    "urgency",
    "impact",
)


def iter_endava_all_labels(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """`endava_all_labels_sample`: title/body with seven integer-coded labels.

    category <- category, subcategory <- sub_category1, priority <- urgency; the other
    codes (ticket_type, impact, sub_category2, business_service) go to `extra`. Rows with
    an empty title are kept when the body has text. urgency=3 / impact=4 mark requests
    (ticket_type=1), so priority carries information only for incidents.
    """
    with open_csv(one_file(source, "*.csv")) as table:
        title, body = table.index("title"), table.index("body")
        pos = {name: table.index(name) for name in _CODED}
        columns = {
            "subject": "title",
            "body": "body",
            "category": "category",
            "subcategory": "sub_category1",
            "priority": "urgency",
        }
        declare(report, columns | {f"extra.{n}": n for n in _CODED if n not in columns.values()})
        for rec in table:
            code = {name: optional_text(rec.values[i]) for name, i in pos.items()}
            data = {
                "id": f"endava-all-{rec.row}",
                "subject": text_of(rec.values[title]),
                "body": text_of(rec.values[body]),
                "category": code["category"],
                "subcategory": code["sub_category1"],
                "priority": code["urgency"],
                "extra": {
                    name: code[name]
                    for name in ("ticket_type", "impact", "sub_category2", "business_service")
                    if code[name] is not None
                },
            }
            yield validate_ticket(data, table.name, rec.row, rec.position, columns)
