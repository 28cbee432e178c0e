"""`rescore`: stage the backlog, score what is not scored yet, write results, diff, apply.

1. Staging (skipped when the checkpoint already holds this run): the input is read
   once, every row validated, into the checkpoint's `tickets.parquet` in chunks.
2. Scoring: the chunks without a part, on the local or the Ray engine.
3. The results file: the parts concatenated in input order, then the diff report
   (`NAME.diff.json`), computed chunk by chunk.
4. With `apply`, the predictions go to the store (`triage.rescore.writeback`).
5. The checkpoint folder is removed: the same command run again is a new rescore.

Killed anywhere, the same command resumes: staging restarts if it had not finished;
scoring goes on with the chunks not written yet; steps 3 to 5 are repeatable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage.bundle import MANIFEST, read_manifest, served_version, verify_files
from triage.encoder import DEFAULT_SPINNING
from triage.errors import InputFileError, TriageError
from triage.files import sha256_file, write_json
from triage.progress import Progress, Silent
from triage.rescore.checkpoint import Checkpoint
from triage.rescore.diff import DiffCounter
from triage.rescore.engines import ScoringJob, default_layout, run_local
from triage.rescore.results import head_names, results_schema
from triage.rescore.sources import FileSource, StoreSource
from triage.rescore.writeback import ApplyReport, apply_results

ENGINES = ("local", "ray")
# Tickets per chunk: the unit of checkpointing and of work handed to a worker (a few
# seconds of encoder time, well under a second for a TF-IDF-only bundle).
DEFAULT_CHUNK_ROWS = 256


@dataclass
class RescoreOptions:
    """One rescore: the bundle, the tickets, where the results go, and how to score."""

    bundle: Path
    source: FileSource | StoreSource
    out: Path
    engine: str = "local"
    workers: int | None = None
    threads: int | None = None
    # onnxruntime's allow_spinning in every worker (`settings.onnx_allow_spinning`).
    spinning: bool | None = DEFAULT_SPINNING
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    checkpoint_dir: Path | None = None
    ray_address: str | None = None
    # The configured escalation risk threshold (`TRIAGE_ESCALATION_RISK_THRESHOLD`), which
    # wins; None: each prediction's model's threshold, else the default (the worker's rule,
    # `EscalationPolicy.threshold_for`).
    risk_threshold: float | None = None
    apply: bool = False


@dataclass
class RescoreReport:
    """What a rescore did and found."""

    out: Path
    diff_path: Path
    model_version: str
    tickets: int
    scored: int
    resumed_tickets: int
    scoring_s: float
    engine: str
    workers: int
    threads: int
    diff: dict[str, Any]
    applied: ApplyReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def tickets_per_s(self) -> float | None:
        """Tickets scored by this run per second of scoring (worker start-up included)."""
        return self.scored / self.scoring_s if self.scored and self.scoring_s > 0 else None


def checkpoint_dir_for(out: Path) -> Path:
    """The default checkpoint folder of results file `out`: `OUT.checkpoint` beside it."""
    return out.with_name(f"{out.name}.checkpoint")


def diff_path_for(out: Path) -> Path:
    """Where the diff report of results file `out` goes: `NAME.diff.json` beside it."""
    return out.with_name(f"{out.name.removesuffix('.parquet')}.diff.json")


def rescore(options: RescoreOptions, progress: Progress | None = None) -> RescoreReport:
    """Rescore the tickets of `options.source` with the bundle; see the module docstring."""
    progress = progress or Silent()
    out = Path(options.out)
    if out.suffix != ".parquet":
        raise InputFileError(f"{out}: the results file must be a .parquet file")
    if options.engine not in ENGINES:
        raise TriageError(
            f"unknown engine {options.engine!r}; expected one of {', '.join(ENGINES)}"
        )
    if options.apply and not isinstance(options.source, StoreSource):
        raise TriageError("--apply writes to the desk's store: it needs --db, not --input")
    if options.chunk_rows < 1:
        raise TriageError(f"chunk size {options.chunk_rows}: expected at least 1")
    bundle = Path(options.bundle).resolve()
    manifest = read_manifest(bundle)
    # Verified here once, before anything is staged or any worker starts.
    verify_files(bundle, manifest)
    digest = sha256_file(bundle / MANIFEST)
    bundle_record = {
        "path": str(bundle),
        # the name the service gives this bundle's answers (the content's digest included)
        "model_version": served_version(str(manifest["model_version"]), digest),
        "manifest_sha256": digest,
    }
    heads = head_names(manifest)
    source_record = options.source.fingerprint()
    workers, threads = default_layout(options.workers, options.threads)
    checkpoint = Checkpoint(options.checkpoint_dir or checkpoint_dir_for(out))
    notes: list[str] = []

    with checkpoint.locked():
        run = checkpoint.run()
        if run is not None:
            checkpoint.check(run, source_record, bundle_record)
        else:
            progress.stage("reading tickets")
            staged = [0]

            def on_rows(total: int) -> None:
                progress.advance(total - staged[0])
                staged[0] = total

            run = checkpoint.stage(
                options.source.tickets(),
                options.chunk_rows,
                {
                    "source": source_record,
                    "bundle": bundle_record,
                    "heads": heads,
                    "started_at": datetime.now(UTC).isoformat(),
                },
                on_rows,
            )
        if options.source.ignored_columns:
            notes.append(f"columns not read: {', '.join(options.source.ignored_columns)}")
        chunks, tickets, chunk_rows = run["chunks"], run["tickets"], run["chunk_rows"]
        done = checkpoint.done()
        pending = [c for c in range(chunks) if c not in done]
        remaining = sum(min(chunk_rows, tickets - c * chunk_rows) for c in pending)
        resumed = tickets - remaining
        if done:
            notes.append(f"resumed: {resumed:,} of {tickets:,} tickets were already scored")

        progress.stage("scoring", total=tickets, completed=resumed)
        job = ScoringJob(bundle, checkpoint.folder.resolve(), workers, threads, options.spinning)
        started = time.perf_counter()
        scored = [0]

        def on_chunk(chunk: int, rows: int) -> None:
            scored[0] += rows
            progress.advance(rows)

        if options.engine == "ray":
            from triage.rescore.ray_engine import run_ray

            run_ray(job, pending, on_chunk, options.ray_address)
        else:
            run_local(job, pending, on_chunk)
        scoring_s = time.perf_counter() - started

        progress.stage("writing results", total=chunks)
        schema = results_schema(heads)
        written = checkpoint.merge(out, chunks, schema)
        if written != tickets:  # pragma: no cover - a part lost between runs
            raise TriageError(
                f"{checkpoint.folder}: {written} results for {tickets} tickets; delete the "
                "folder and rescore"
            )
        counter = DiffCounter(heads, options.risk_threshold, options.source.baseline_name)
        for baseline, results in checkpoint.baseline_chunks(chunks):
            counter.add(baseline, results)
            progress.advance(1)
        diff = {"model_version": bundle_record["model_version"], **counter.report()}
        diff_path = diff_path_for(out)
        write_json(diff_path, diff)

        applied = None
        if options.apply:
            assert isinstance(options.source, StoreSource)
            progress.stage("applying", total=tickets)
            applied = apply_results(options.source.database_url, out, on_rows=progress.advance)
            diff["applied"] = applied.as_dict()
            write_json(diff_path, diff)
        checkpoint.remove()

    return RescoreReport(
        out=out,
        diff_path=diff_path,
        model_version=bundle_record["model_version"],
        tickets=tickets,
        scored=scored[0],
        resumed_tickets=resumed,
        scoring_s=scoring_s,
        engine=options.engine,
        workers=workers,
        threads=threads,
        diff=diff,
        applied=applied,
        notes=notes,
    )
