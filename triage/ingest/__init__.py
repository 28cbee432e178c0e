"""Importers: bring help-desk exports and the shared datasets into the `Ticket` contract.

`import_source(source, name, out)` streams a source through the importer registered as
`name` into the common Parquet format; see `triage.ingest.registry`.
"""

from triage.ingest.base import ImportOptions, ImportReport
from triage.ingest.generic import PRESETS, parse_mapping
from triage.ingest.registry import IMPORTERS, Importer, import_source, importer_for

__all__ = [
    "IMPORTERS",
    "PRESETS",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "import_source",
    "importer_for",
    "parse_mapping",
]
