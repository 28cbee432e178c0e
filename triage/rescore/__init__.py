"""Batch rescoring of a backlog with a model bundle: `triage rescore`.

`rescore(RescoreOptions(...))` scores every ticket of a file (`FileSource`) or every
open ticket of the desk's store (`StoreSource`) and writes one results row per ticket
(`triage.rescore.results`), streaming through a checkpoint folder that makes a killed
run resumable with each ticket scored exactly once (`triage.rescore.checkpoint`), on
worker processes (`triage.rescore.engines`) or a Ray Data actor pool
(`triage.rescore.ray_engine`). It reports what the new predictions change
(`triage.rescore.diff`) and, asked to, writes them to the store
(`triage.rescore.writeback`). docs/rescoring.md has the operator's view.
"""

from triage.rescore.pipeline import (
    DEFAULT_CHUNK_ROWS,
    ENGINES,
    RescoreOptions,
    RescoreReport,
    checkpoint_dir_for,
    diff_path_for,
    rescore,
)
from triage.rescore.sources import FileSource, StoreSource
from triage.rescore.writeback import ApplyReport

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ENGINES",
    "ApplyReport",
    "FileSource",
    "RescoreOptions",
    "RescoreReport",
    "StoreSource",
    "checkpoint_dir_for",
    "diff_path_for",
    "rescore",
]
