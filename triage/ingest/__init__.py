"""Importers: bring help-desk exports and the shared datasets into the `Ticket` contract.

`import_source(source, name, out)` streams a source through the importer registered as
`name` into the common Parquet format and returns an `ImportReport` (see
`triage.ingest.pipeline`, `triage.ingest.registry` and docs/importing.md).
"""

from triage.ingest.base import EventLogOptions, ImportOptions, ImportReport
from triage.ingest.mapping import parse_mapping
from triage.ingest.outcomes import OUTCOME_EXTRA_KEYS
from triage.ingest.pipeline import import_source
from triage.ingest.presets import PRESETS
from triage.ingest.registry import IMPORTERS, Importer, importer_for
from triage.ingest.rejects import rejects_path_for
from triage.ingest.report import read_provenance

__all__ = [
    "IMPORTERS",
    "OUTCOME_EXTRA_KEYS",
    "PRESETS",
    "EventLogOptions",
    "ImportOptions",
    "ImportReport",
    "Importer",
    "import_source",
    "importer_for",
    "parse_mapping",
    "read_provenance",
    "rejects_path_for",
]
