"""A rescore's checkpoint folder: what makes a killed run resumable, and exactly once.

    run.json              the run: input and bundle fingerprints, chunk size, counts
    tickets.parquet       the backlog, staged: row group i is chunk i (scoring columns
                          and the diff's baseline columns)
    parts/000042.parquet  the results of chunk 42
    .lock                 held (flock) by the run using the folder

Staging reads the input once, validating every row, before anything is scored; it
writes `run.json` last, so a folder without it is restaged from scratch. Every part
is written to a temporary name and renamed: a part exists complete or not at all,
whenever the process dies. A resumed run scores the chunks without a part, so each
ticket ends up in exactly one part; the results file is their concatenation in
chunk order (input order). The lock is the kernel's: it goes when the process dies,
however it dies, so a SIGKILLed run never leaves the folder locked.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from triage.contract import Ticket
from triage.dataset import TICKET_SCHEMA
from triage.errors import TriageError
from triage.files import atomic_path, write_atomically
from triage.rescore.sources import BASELINE_FIELDS, Baseline

# 2: the baseline's risk threshold is staged (and results carry the model's).
FORMAT_VERSION = 2
RUN_FILE = "run.json"
TICKETS_FILE = "tickets.parquet"
PARTS_DIR = "parts"
LOCK_FILE = ".lock"

# The Ticket fields the predictor reads (labels and outcomes are left out of staging).
SCORING_COLUMNS: tuple[str, ...] = (
    "id",
    "created_at",
    "channel",
    "subject",
    "body",
    "requester",
    "customer_tier",
    "language",
    "tags",
    "extra",
)
BASELINE_COLUMNS: tuple[str, ...] = (
    *(f"baseline_{f}" for f in BASELINE_FIELDS),
    "baseline_risk",
    "baseline_risk_threshold",
    "baseline_at_risk",
    "baseline_model_version",
)
STAGE_SCHEMA = pa.schema(
    [TICKET_SCHEMA.field(name) for name in SCORING_COLUMNS]
    + [pa.field(f"baseline_{f}", pa.string()) for f in BASELINE_FIELDS]
    + [
        pa.field("baseline_risk", pa.float64()),
        pa.field("baseline_risk_threshold", pa.float64()),
        pa.field("baseline_at_risk", pa.bool_()),
        pa.field("baseline_model_version", pa.string()),
    ]
)


class CheckpointError(TriageError):
    """A checkpoint folder that belongs to another run, or is in use by one."""


class Checkpoint:
    """The checkpoint folder of one rescore run."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / PARTS_DIR
        self.tickets_path = self.folder / TICKETS_FILE

    # -- the run ----------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[Checkpoint]:
        """Hold the folder for this process; `CheckpointError` when another run holds it."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / LOCK_FILE, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CheckpointError(
                    f"{self.folder}: another rescore is using this checkpoint folder"
                ) from None
            try:
                yield self
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def run(self) -> dict[str, Any] | None:
        """The staged run's record, or None when nothing (complete) was staged yet."""
        path = self.folder / RUN_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise CheckpointError(f"{path}: unreadable ({exc}); delete the folder") from None

    def check(self, run: dict[str, Any], source: dict[str, Any], bundle: dict[str, Any]) -> None:
        """Refuse to resume a run of another input or another model: it would mix results."""
        problems = []
        if run.get("format_version") != FORMAT_VERSION:
            problems.append(f"checkpoint format {run.get('format_version')!r}")
        if run.get("source") != source:
            problems.append(f"input {run.get('source')} (now {source})")
        theirs = run.get("bundle", {})
        if theirs.get("manifest_sha256") != bundle["manifest_sha256"]:
            problems.append(
                f"model {theirs.get('model_version')!r} (now {bundle['model_version']!r})"
            )
        if problems:
            raise CheckpointError(
                f"{self.folder} holds a rescore of another run ({'; '.join(problems)}); "
                "delete it to start over, or pass another --checkpoint-dir"
            )

    def stage(
        self,
        tickets: Iterable[tuple[Ticket, Baseline]],
        chunk_rows: int,
        record: dict[str, Any],
        on_rows: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Write the backlog in chunks of `chunk_rows`, then `run.json`; returns the run."""
        self.clear()
        rows: list[dict[str, Any]] = []
        total = 0
        with (
            atomic_path(self.tickets_path) as tmp,
            pq.ParquetWriter(tmp, STAGE_SCHEMA, compression="zstd") as writer,
        ):
            for ticket, baseline in tickets:
                rows.append(_stage_row(ticket, baseline))
                if len(rows) == chunk_rows:
                    # One row group per chunk: a worker reads its chunk and nothing else.
                    writer.write_table(pa.Table.from_pylist(rows, schema=STAGE_SCHEMA))
                    total += len(rows)
                    rows.clear()
                    if on_rows is not None:
                        on_rows(total)
            if rows:
                writer.write_table(pa.Table.from_pylist(rows, schema=STAGE_SCHEMA))
                total += len(rows)
                if on_rows is not None:
                    on_rows(total)
        self.parts.mkdir(exist_ok=True)
        run = {
            **record,
            "format_version": FORMAT_VERSION,
            "chunk_rows": chunk_rows,
            "tickets": total,
            "chunks": pq.ParquetFile(self.tickets_path).num_row_groups,
        }
        write_atomically(self.folder / RUN_FILE, json.dumps(run, indent=2) + "\n")
        return run

    def clear(self) -> None:
        """Remove whatever an earlier (unfinished or foreign) staging left; keep the lock."""
        if not self.folder.exists():
            return
        for child in self.folder.iterdir():
            if child.name == LOCK_FILE:
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()

    def remove(self) -> None:
        """Delete the whole folder (the run is complete and its results written)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- parts ------------------------------------------------------------------------

    def done(self) -> set[int]:
        """Chunks whose part is written; leftovers of killed writers are removed."""
        done: set[int] = set()
        if not self.parts.is_dir():
            self.parts.mkdir(parents=True)
            return done
        for path in self.parts.iterdir():
            if path.name.startswith("."):
                path.unlink(missing_ok=True)  # a part a killed process was writing
            elif path.suffix == ".parquet" and path.stem.isdigit():
                done.add(int(path.stem))
        return done

    def part_path(self, chunk: int) -> Path:
        """Where chunk `chunk`'s results live."""
        return self.parts / f"{chunk:06d}.parquet"

    def write_part(self, chunk: int, table: pa.Table) -> None:
        """Write chunk `chunk`'s results: complete under its name, or not at all."""
        with atomic_path(self.part_path(chunk)) as tmp:
            pq.write_table(table, tmp, compression="zstd")

    def read_chunk(self, staged: pq.ParquetFile, chunk: int) -> list[Ticket]:
        """The tickets of chunk `chunk` from the open staged file."""
        table = staged.read_row_group(chunk, columns=list(SCORING_COLUMNS))
        tickets = []
        for row in table.to_pylist():
            extra = row.get("extra")
            row["extra"] = json.loads(extra) if extra else {}
            tickets.append(Ticket.model_validate(row))
        return tickets

    def merge(self, out: Path, chunks: int, schema: pa.Schema) -> int:
        """Concatenate the parts into `out` in chunk order (one part in memory at a time)."""
        rows = 0
        with atomic_path(out) as tmp, pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for chunk in range(chunks):
                table = pq.read_table(self.part_path(chunk), schema=schema)
                writer.write_table(table)
                rows += table.num_rows
        return rows

    def baseline_chunks(self, chunks: int) -> Iterator[tuple[pa.Table, pa.Table]]:
        """(baseline columns, results) of every chunk, in order."""
        staged = pq.ParquetFile(self.tickets_path)
        for chunk in range(chunks):
            baseline = staged.read_row_group(chunk, columns=list(BASELINE_COLUMNS))
            yield baseline, pq.read_table(self.part_path(chunk))


def _stage_row(ticket: Ticket, baseline: Baseline) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ticket.id,
        "created_at": ticket.created_at,
        "channel": ticket.channel.value if ticket.channel else None,
        "subject": ticket.subject,
        "body": ticket.body,
        "requester": ticket.requester,
        "customer_tier": ticket.customer_tier,
        "language": ticket.language,
        "tags": ticket.tags,
        "extra": json.dumps(ticket.extra, ensure_ascii=False, sort_keys=True)
        if ticket.extra
        else None,
        "baseline_risk": baseline.risk,
        "baseline_risk_threshold": baseline.risk_threshold,
        "baseline_at_risk": baseline.at_risk,
        "baseline_model_version": baseline.model_version,
    }
    for name in BASELINE_FIELDS:
        row[f"baseline_{name}"] = baseline.labels.get(name)
    return row
