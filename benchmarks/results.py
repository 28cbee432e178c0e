"""The results folder: one folder per run under `benchmarks/results/`, JSON beside arrays.

A run folder holds `accuracy.json` (+ one `<dataset>.npz` per dataset) and/or
`latency.json` (+ `latency.npz`); `triage bench report` adds `report.html`,
`summary.md` and `plots/`. Paths are relative to the working directory, like `models/`
and `mlflow.db`, so running from the repository root puts them in the git-ignored
`benchmarks/results/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage import files
from triage.errors import InputFileError

RESULTS_ROOT = Path("benchmarks") / "results"
ACCURACY_FILE = "accuracy.json"
LATENCY_FILE = "latency.json"
LATENCY_SAMPLES_FILE = "latency.npz"


@dataclass
class BenchmarkRun:
    """What a benchmark wrote (the JSON file and its content) and what went wrong on the side."""

    path: Path
    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def new_run_dir(kind: str, root: Path = RESULTS_ROOT) -> Path:
    """`benchmarks/results/<kind>-<UTC timestamp>`."""
    return root / f"{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write `data` as indented UTF-8 JSON, atomically; values JSON lacks (paths, dates)
    as their `str`."""
    return files.write_json(path, data, default=str)


def has_results(folder: Path) -> bool:
    """Whether `folder` holds an accuracy or a latency result."""
    return (folder / ACCURACY_FILE).is_file() or (folder / LATENCY_FILE).is_file()


def newest_results(root: Path = RESULTS_ROOT) -> Path:
    """The most recently modified run folder under `root` that holds results."""
    runs = [p for p in root.iterdir() if p.is_dir() and has_results(p)] if root.is_dir() else []
    if not runs:
        raise InputFileError(
            f"{root}: no benchmark results (run `triage bench accuracy` or `triage bench latency` "
            "first, or pass --results DIR)"
        )
    return max(
        runs,
        key=lambda p: max(
            (p / name).stat().st_mtime
            for name in (ACCURACY_FILE, LATENCY_FILE)
            if (p / name).is_file()
        ),
    )


def read_json(path: Path) -> dict[str, Any]:
    """A result JSON, or an `InputFileError` naming the file and what is wrong with it."""
    return files.read_json_object(path, InputFileError, missing="no such result file")
