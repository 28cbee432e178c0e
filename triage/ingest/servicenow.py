"""Importer for `servicenow_assignment`: incidents with their assignment group (XLSX)."""

from __future__ import annotations

import re
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
from triage.ingest.tables import open_xlsx

# Excel's escape for a carriage return, left literally in the cells by the export.
_CR_ESCAPE = re.compile(r"_x000[dD]_")
# Mail headers pasted into the description: "received from: someone@x.com", and the
# from/sent/to/cc block of forwarded mails. They name people and add no meaning.
_MAIL_HEADER = re.compile(
    r"^\s*(received from|from|sent|to|cc|bcc)\s*:.*$", re.IGNORECASE | re.MULTILINE
)
_BLANK_LINES = re.compile(r"\n\s*\n+")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def clean_text(text: str) -> str:
    """Strip the `_x000D_` escapes and e-mail header lines; collapse blank lines and spaces."""
    text = _CR_ESCAPE.sub("", text)
    text = _MAIL_HEADER.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def iter_servicenow_assignment(
    source: Path, options: ImportOptions, report: ImportReport
) -> Iterator[Ticket]:
    """`Short description` -> subject, `Description` -> body (both cleaned), `Caller` ->
    requester, `Assignment group` -> team. Ids are `servicenow-<data row>`."""
    with open_xlsx(one_file(source, "*.xlsx")) as table:
        short, desc = table.index("Short description"), table.index("Description")
        caller, group = table.index("Caller"), table.index("Assignment group")
        columns = {
            "subject": "Short description",
            "body": "Description",
            "requester": "Caller",
            "team": "Assignment group",
        }
        declare(report, columns)
        for rec in table:
            data = {
                "id": f"servicenow-{rec.row}",
                "subject": clean_text(text_of(rec.values[short])),
                "body": clean_text(text_of(rec.values[desc])),
                "requester": optional_text(rec.values[caller]),
                "team": optional_text(rec.values[group]),
            }
            yield validate_ticket(data, table.name, rec.row, rec.position, columns)
