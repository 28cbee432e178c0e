"""Benchmark runs in MLflow, beside the training runs, so they can be compared there.

Same store and conventions as `training.tracking` (`settings.mlflow_tracking_uri`, the
default `sqlite:///mlflow.db` with artifacts beside it, dotted metric names), in an
experiment of their own (`ticket-triage-benchmarks`). A benchmark has already measured
what it measured when it logs, so an MLflow failure is returned as a warning and never
costs the results on disk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from triage.settings import Settings

log = logging.getLogger(__name__)

BENCHMARK_EXPERIMENT = "ticket-triage-benchmarks"


@dataclass(frozen=True)
class LoggedRun:
    """Where a benchmark run landed in MLflow (recorded in its result JSON)."""

    tracking_uri: str
    experiment: str
    run_id: str

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form."""
        return asdict(self)


def _client(tracking_uri: str):  # type: ignore[no-untyped-def]
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


def log_benchmark_run(
    settings: Settings,
    *,
    run_name: str,
    source: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: Iterable[Path] = (),
    experiment: str | None = None,
) -> LoggedRun:
    """Log one benchmark run: params, metrics and result files; raises what MLflow raises."""
    from training.tracking import log_values, start_run

    tracking_uri = settings.mlflow_tracking_uri
    experiment = experiment or BENCHMARK_EXPERIMENT
    client = _client(tracking_uri)
    run = start_run(client, tracking_uri, experiment, run_name, {"mlflow.source.name": source})
    run_id = run.info.run_id
    try:
        log_values(client, run, params, metrics)
        for path in artifacts:
            client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return LoggedRun(tracking_uri, experiment, run_id)


def try_log_benchmark_run(settings: Settings, **kwargs: Any) -> tuple[LoggedRun | None, str | None]:
    """`log_benchmark_run`, with any failure turned into a warning: (run or None, warning)."""
    try:
        return log_benchmark_run(settings, **kwargs), None
    except Exception as exc:  # the results are on disk already; tracking is best effort
        log.warning("MLflow logging of the benchmark failed: %s", exc, exc_info=True)
        return None, f"benchmark not logged to MLflow ({type(exc).__name__}: {exc})"


def attach_artifacts(run: Mapping[str, str], files: Iterable[Path]) -> str | None:
    """Add files (the report) to a run logged earlier; returns a warning instead of raising."""
    files = list(files)
    try:
        client = _client(run["tracking_uri"])
        for path in files:
            client.log_artifact(run["run_id"], str(path))
    except Exception as exc:  # the report is on disk already
        log.warning(
            "attaching %s to MLflow run %s failed: %s", files, run.get("run_id"), exc, exc_info=True
        )
        run_id = run.get("run_id")
        return f"report not attached to MLflow run {run_id} ({type(exc).__name__}: {exc})"
    return None
