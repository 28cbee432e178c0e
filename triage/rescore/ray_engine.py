"""The Ray engine: the local engine's `ChunkScorer` in a Ray Data actor pool.

The dataset is the list of chunk numbers still to score, one block per chunk, mapped
by `map_batches` over an `ActorPoolStrategy` of `workers` actors that each load the
bundle once and write their chunks' parts. Results therefore do not flow back through
the object store (only `{chunk, rows}` does, for the progress bar), and a killed run
resumes exactly like a local one.

On a cluster (`--ray-address`), every node must reach the bundle and the checkpoint
folder at the same path (a shared file system), as Ray batch inference expects of its
inputs and outputs. Ray is imported here only, when `--engine ray` asks for it.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from triage.errors import TriageError
from triage.rescore.engines import ChunkScorer, OnChunk, ScoringJob


class _RayChunkScorer:
    """A Ray Data actor: one `ChunkScorer`, fed batches of chunk numbers."""

    def __init__(self, bundle: str, checkpoint: str, threads: int, spinning: bool | None) -> None:
        from pathlib import Path

        self.scorer = ChunkScorer(Path(bundle), Path(checkpoint), threads, spinning)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        chunks = batch["chunk"]
        rows = [self.scorer.score(int(chunk)) for chunk in chunks]
        return {"chunk": chunks, "rows": np.asarray(rows, dtype=np.int64)}


def run_ray(
    job: ScoringJob, chunks: list[int], on_chunk: OnChunk, address: str | None = None
) -> None:
    """Score `chunks` on Ray: a local instance (`workers × threads` CPUs), or the cluster
    at `address`. A Ray already initialised in this process is used as it is."""
    if not chunks:
        return
    try:
        import ray
        import ray.data
    except ImportError:
        raise TriageError(
            "--engine ray needs Ray: pip install 'ticket-triage[ray]' (or use --engine local)"
        ) from None
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "include_dashboard": False,
        }
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=job.workers * job.threads, **options)
        started = True
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the CLI draws its own
        context.print_on_execution_start = False
        # Ray Data logs every execution's start, plan and end at INFO on the console.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        dataset = ray.data.from_items(
            [{"chunk": chunk} for chunk in chunks], override_num_blocks=len(chunks)
        ).map_batches(
            _RayChunkScorer,
            fn_constructor_kwargs={
                "bundle": str(job.bundle.resolve()),
                "checkpoint": str(job.checkpoint.resolve()),
                "threads": job.threads,
                "spinning": job.spinning,
            },
            batch_size=1,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=job.workers),
            num_cpus=job.threads,
        )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            for chunk, rows in zip(batch["chunk"], batch["rows"], strict=True):
                on_chunk(int(chunk), int(rows))
    finally:
        if started:
            ray.shutdown()
