"""The desk's own tickets as training data (`triage data export-desk`, `triage train
--from-store`): `rules` decides which values are labels (only what people decided, and
outcomes), `export` streams one snapshot of the store to Parquet."""

from triage.labels.export import BATCH_ROWS, check_schema, desk_training_tickets, export_desk
from triage.labels.rules import DeskExportReport, is_person

__all__ = [
    "BATCH_ROWS",
    "DeskExportReport",
    "check_schema",
    "desk_training_tickets",
    "export_desk",
    "is_person",
]
