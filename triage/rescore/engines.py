"""Scoring a staged backlog: `ChunkScorer` (one bundle per process) and the local engine.

A worker process loads the bundle once (one onnxruntime session per graph) and is
handed chunk numbers only: it reads its chunk from the staged file, scores it with
`heads_triager(...).triage_batch` (length-sorted micro-batches) and writes the chunk's part
itself, so tickets and results never travel between processes. The local engine runs
one worker in-process, or several in a process pool; `triage.rescore.ray_engine` runs
the same `ChunkScorer` in a Ray Data actor pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from triage.encoder import DEFAULT_SPINNING
from triage.errors import TriageError
from triage.rescore.checkpoint import Checkpoint
from triage.rescore.results import head_names, heads_triager, results_table

# Chunks queued per worker process beyond the one it scores: keeps every worker busy
# without the driver holding the whole list of futures.
QUEUED_PER_WORKER = 2

OnChunk = Callable[[int, int], None]


@dataclass(frozen=True)
class ScoringJob:
    """What every worker needs: the bundle, the checkpoint folder and its onnxruntime
    thread count and spinning (`settings.onnx_allow_spinning`)."""

    bundle: Path
    checkpoint: Path
    workers: int
    threads: int
    spinning: bool | None = DEFAULT_SPINNING


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_layout(workers: int | None, threads: int | None) -> tuple[int, int]:
    """Worker processes and onnxruntime threads per worker.

    One single-threaded worker per CPU by default: the encoder runs each ticket
    unpadded (batch 1), a short sequence that two threads split badly, and the
    non-encoder work of one worker overlaps the encoder of the other
    (benchmarks/rescore.py --layouts compares the layouts).
    """
    cpus = usable_cpus()
    workers = workers or cpus
    threads = threads or max(1, cpus // workers)
    return workers, threads


class ChunkScorer:
    """Scores chunks of a staged backlog and writes their parts (one bundle per process)."""

    def __init__(
        self,
        bundle: Path,
        checkpoint: Path,
        threads: int,
        spinning: bool | None = DEFAULT_SPINNING,
    ) -> None:
        import pyarrow.parquet as pq

        from triage.bundle import load_bundle

        self.triager = heads_triager(load_bundle(bundle, threads=threads, spinning=spinning))
        self.heads = head_names(self.triager.manifest)
        self.checkpoint = Checkpoint(checkpoint)
        self._staged = pq.ParquetFile(self.checkpoint.tickets_path)

    def score(self, chunk: int) -> int:
        """Score chunk `chunk` and write its part; returns its number of tickets."""
        tickets = self.checkpoint.read_chunk(self._staged, chunk)
        results = self.triager.triage_batch(tickets)
        self.checkpoint.write_part(chunk, results_table(results, self.heads))
        return len(tickets)


def run_local(job: ScoringJob, chunks: list[int], on_chunk: OnChunk) -> None:
    """Score `chunks` in this process (one worker) or in a pool of `job.workers` processes."""
    if not chunks:
        return
    if job.workers == 1:
        scorer = ChunkScorer(job.bundle, job.checkpoint, job.threads, job.spinning)
        for chunk in chunks:
            on_chunk(chunk, scorer.score(chunk))
        return
    import multiprocessing

    # spawn, not fork: onnxruntime's thread pools do not survive a fork.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=job.workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), job.bundle, job.checkpoint, job.threads, job.spinning),
    )
    limit = job.workers * (1 + QUEUED_PER_WORKER)
    in_flight: dict[Future[int], int] = {}
    queue = iter(chunks)
    try:
        while True:
            for chunk in queue:
                in_flight[pool.submit(_score, chunk)] = chunk
                if len(in_flight) >= limit:
                    break
            if not in_flight:
                break
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                chunk = in_flight.pop(future)
                on_chunk(chunk, future.result())
    except BrokenProcessPool:
        raise TriageError(
            "a scoring worker died (out of memory, or killed); rerun the same command: it "
            "resumes from the chunks already written"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_scorer: ChunkScorer | None = None


def _start_worker(
    parent: int, bundle: Path, checkpoint: Path, threads: int, spinning: bool | None
) -> None:
    global _scorer
    _die_with_parent(parent)
    _scorer = ChunkScorer(bundle, checkpoint, threads, spinning)


def _score(chunk: int) -> int:
    assert _scorer is not None, "worker not initialised"
    return _scorer.score(chunk)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the rescore that started it dies.

    A SIGKILLed rescore cannot stop its pool; without this its workers would go on
    scoring beside the resumed run.
    """
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # it died before the request above was in place
        os._exit(1)
